//! Post-training int8 quantization of a float ONNX classifier, in the QDQ form
//! onnxruntime's quantizer writes, so any runtime that reads ONNX reads the result.
//!
//! Why: a model's bytes are what a visitor downloads and what a device stores; int8
//! weights are a quarter of f32 ones. Whether it is also *faster* depends on the runtime:
//! tract runs a QDQ graph as DequantizeLinear → f32 convolution → QuantizeLinear, so the
//! arithmetic stays f32 and the extra casts cost time. The pipeline measures that and says
//! so on the card rather than assuming int8 means fast.
//!
//! What is written: each `Conv` and `Gemm` with a float weight initializer reads that
//! weight from an int8 initializer through `DequantizeLinear`, per output channel,
//! symmetric (zero point 0, ±127); its input goes through a `QuantizeLinear` →
//! `DequantizeLinear` pair, per tensor, uint8, asymmetric, with the range observed on
//! calibration inputs (the range always contains 0, so ReLU outputs and zero padding are
//! exact). Biases stay f32. Everything else in the graph is untouched.
//!
//! Invariant (tested): every dequantized weight is within half a quantization step of the
//! original, and the quantized model's logits follow the float model's.

use std::collections::{HashMap, HashSet};

use prost::Message;
use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::prelude::*;

use crate::error::{Error, Result};

/// The first opset whose `DequantizeLinear` takes a per-axis scale.
const MIN_OPSET: i64 = 13;

/// What [`quantize_int8`] made.
#[derive(Debug, Clone)]
pub struct Quantized {
    /// The QDQ model, ONNX bytes.
    pub bytes: Vec<u8>,
    /// How many Conv and Gemm nodes now read int8 weights.
    pub layers: usize,
    /// How many calibration inputs set the activation ranges.
    pub calibration_inputs: usize,
}

/// Quantizes `onnx` (a float model with one `[n, c, h, w]` input) to int8 QDQ, the
/// activation ranges observed on `calibration`: preprocessed inputs of `c·h·w` values each.
pub fn quantize_int8(onnx: &[u8], calibration: &[Vec<f32>]) -> Result<Quantized> {
    let mut proto = pb::ModelProto::decode(onnx)
        .map_err(|e| Error::NotOnnx(format!("the bytes are not an ONNX protobuf ({e})")))?;
    let opset = proto.opset_import.iter().filter(|o| o.domain.is_empty()).map(|o| o.version).max().unwrap_or(0);
    if opset < MIN_OPSET {
        return Err(Error::invalid(
            "quantization",
            format!("the model uses opset {opset}; per-channel int8 weights need opset {MIN_OPSET} or later"),
        ));
    }
    if calibration.is_empty() {
        return Err(Error::invalid("quantization", "no calibration inputs"));
    }
    let opsets = proto.opset_import.clone();
    let graph = proto.graph.as_mut().ok_or_else(|| Error::NotOnnx("the file has no graph".into()))?;
    let weights: HashMap<String, usize> =
        graph.initializer.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let targets: Vec<usize> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n.op_type.as_str(), "Conv" | "Gemm") && n.input.len() >= 2)
        .filter(|(_, n)| {
            weights.get(&n.input[1]).is_some_and(|&i| graph.initializer[i].data_type == DataType::Float as i32)
        })
        .map(|(i, _)| i)
        .collect();
    if targets.is_empty() {
        return Err(Error::invalid("quantization", "the model has no Conv or Gemm with float weights to quantize"));
    }
    let mut activations: Vec<String> = Vec::new();
    for &t in &targets {
        let name = &graph.node[t].input[0];
        if !activations.contains(name) {
            activations.push(name.clone());
        }
    }
    let ranges = observe_ranges(graph, &opsets, &activations, calibration)?;

    let mut nodes = Vec::with_capacity(graph.node.len() + 3 * targets.len());
    let mut initializers = Vec::new();
    let mut dequantized: HashMap<String, String> = HashMap::new();
    let mut replaced_weights = HashSet::new();
    for (i, node) in std::mem::take(&mut graph.node).into_iter().enumerate() {
        if !targets.contains(&i) {
            nodes.push(node);
            continue;
        }
        let mut node = node;
        let x = node.input[0].clone();
        if !dequantized.contains_key(&x) {
            let (lo, hi) = ranges[activations.iter().position(|a| *a == x).unwrap_or(0)];
            let (scale, zero) = activation_params(lo, hi);
            let (s, z) = (format!("{x}_qscale"), format!("{x}_qzero"));
            initializers.push(float_tensor(&s, &[], &[scale]));
            initializers.push(pb::TensorProto {
                name: z.clone(),
                data_type: DataType::Uint8 as i32,
                raw_data: vec![zero],
                ..Default::default()
            });
            let (q, dq) = (format!("{x}_q"), format!("{x}_dq"));
            nodes.push(plain_node("QuantizeLinear", &[&x, &s, &z], &q, None));
            nodes.push(plain_node("DequantizeLinear", &[&q, &s, &z], &dq, None));
            dequantized.insert(x.clone(), dq);
        }
        node.input[0] = dequantized[&x].clone();

        let w_name = node.input[1].clone();
        let w = &graph.initializer[weights[&w_name]];
        let axis = weight_axis(&node, w)?;
        let (q, scales) = quantize_weights(&float_values(w)?, &w.dims, axis)?;
        let (wq, ws, wz, wdq) =
            (format!("{w_name}_int8"), format!("{w_name}_scale"), format!("{w_name}_zero"), format!("{w_name}_dq"));
        initializers.push(pb::TensorProto {
            name: wq.clone(),
            dims: w.dims.clone(),
            data_type: DataType::Int8 as i32,
            raw_data: q.iter().map(|v| *v as u8).collect(),
            ..Default::default()
        });
        initializers.push(float_tensor(&ws, &[scales.len() as i64], &scales));
        initializers.push(pb::TensorProto {
            name: wz.clone(),
            dims: vec![scales.len() as i64],
            data_type: DataType::Int8 as i32,
            raw_data: vec![0; scales.len()],
            ..Default::default()
        });
        nodes.push(plain_node("DequantizeLinear", &[&wq, &ws, &wz], &wdq, Some(axis as i64)));
        node.input[1] = wdq;
        replaced_weights.insert(w_name);
        nodes.push(node);
    }
    // A float weight read by nothing else any more leaves the file.
    let still_read: HashSet<&String> = nodes.iter().flat_map(|n| n.input.iter()).collect();
    graph.initializer.retain(|t| !replaced_weights.contains(&t.name) || still_read.contains(&t.name));
    graph.initializer.extend(initializers);
    graph.node = nodes;
    Ok(Quantized { bytes: proto.encode_to_vec(), layers: targets.len(), calibration_inputs: calibration.len() })
}

/// The smallest and largest value each of `names` takes over `inputs`, through tract with
/// those tensors as the graph's outputs (the graph input itself is read off `inputs`).
fn observe_ranges(
    graph: &pb::GraphProto,
    opsets: &[pb::OperatorSetIdProto],
    names: &[String],
    inputs: &[Vec<f32>],
) -> Result<Vec<(f32, f32)>> {
    // The engine's own input check: one NCHW float input (a symbolic batch runs as 1).
    let (c, h, w, _) = crate::validate::check_input(graph)?;
    let shape = [1, c, h, w];
    let len: usize = shape.iter().product();
    if let Some(bad) = inputs.iter().find(|i| i.len() != len) {
        return Err(Error::Input(format!("a calibration input has {} values; the model takes {len}", bad.len())));
    }
    // Old exports list initializers among the inputs too; the image is the one that is not.
    let input_name = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .find(|n| !graph.initializer.iter().any(|t| t.name == *n))
        .unwrap_or_default();
    let inner: Vec<&String> = names.iter().filter(|n| n.as_str() != input_name).collect();
    let mut probe = graph.clone();
    probe.output = inner.iter().map(|n| pb::ValueInfoProto { name: n.to_string(), ..Default::default() }).collect();
    let proto = pb::ModelProto {
        ir_version: crate::onnx_build::IR_VERSION,
        opset_import: opsets.to_vec(),
        graph: Some(probe),
        ..Default::default()
    };
    let tract = |e: TractError| Error::Model(format!("calibration: {e:#}"));
    let fact = InferenceFact::dt_shape(f32::datum_type(), shape);
    let plan = tract_onnx::onnx()
        .model_for_proto_model(&proto)
        .and_then(|mut m| {
            m.set_input_fact(0, fact)?;
            m.into_optimized()
        })
        .and_then(|m| m.into_runnable())
        .map_err(tract)?;
    let widen = |range: &mut (f32, f32), values: &mut dyn Iterator<Item = f32>| {
        for v in values {
            range.0 = range.0.min(v);
            range.1 = range.1.max(v);
        }
    };
    let mut observed = vec![(0.0f32, 0.0f32); inner.len()];
    let mut at_input = (0.0f32, 0.0f32);
    for input in inputs {
        widen(&mut at_input, &mut input.iter().copied());
        if inner.is_empty() {
            continue;
        }
        let tensor = Tensor::from_shape(&shape, input).map_err(tract)?;
        let outputs = plan.run(tvec!(tensor.into_tvalue())).map_err(tract)?;
        for (range, out) in observed.iter_mut().zip(&outputs) {
            widen(range, &mut out.to_plain_array_view::<f32>().map_err(tract)?.iter().copied());
        }
    }
    Ok(names
        .iter()
        .map(|n| match inner.iter().position(|i| *i == n) {
            Some(k) => observed[k],
            None => at_input,
        })
        .collect())
}

/// uint8 scale and zero point of a tensor observed in `[lo, hi]`, widened to contain 0.
fn activation_params(lo: f32, hi: f32) -> (f32, u8) {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    (scale, (-lo / scale).round().clamp(0.0, 255.0) as u8)
}

/// The axis of a weight that indexes output channels: Conv's 0; Gemm's 0 with `transB`,
/// else 1.
fn weight_axis(node: &pb::NodeProto, w: &pb::TensorProto) -> Result<usize> {
    let axis = if node.op_type == "Gemm" {
        let trans_b = node.attribute.iter().find(|a| a.name == "transB").is_some_and(|a| a.i != 0);
        usize::from(!trans_b)
    } else {
        0
    };
    if w.dims.len() <= axis {
        return Err(Error::invalid("quantization", format!("weight {} has shape {:?}", w.name, w.dims)));
    }
    Ok(axis)
}

/// Symmetric int8 per slice along `axis`: values and one scale per slice.
fn quantize_weights(values: &[f32], dims: &[i64], axis: usize) -> Result<(Vec<i8>, Vec<f32>)> {
    let dims: Vec<usize> = dims.iter().map(|d| (*d).max(0) as usize).collect();
    if dims.iter().product::<usize>() != values.len() {
        return Err(Error::invalid("quantization", "a weight's data does not match its shape"));
    }
    let channels = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let channel_of = |i: usize| (i / inner) % channels;
    let mut max = vec![0.0f32; channels];
    for (i, v) in values.iter().enumerate() {
        max[channel_of(i)] = max[channel_of(i)].max(v.abs());
    }
    let scales: Vec<f32> = max.iter().map(|m| if *m > 0.0 { m / 127.0 } else { 1.0 }).collect();
    let q = values.iter().enumerate().map(|(i, v)| (v / scales[channel_of(i)]).round().clamp(-127.0, 127.0) as i8);
    Ok((q.collect(), scales))
}

fn float_values(t: &pb::TensorProto) -> Result<Vec<f32>> {
    if !t.raw_data.is_empty() {
        if !t.raw_data.len().is_multiple_of(4) {
            return Err(Error::invalid("quantization", format!("weight {} has a truncated payload", t.name)));
        }
        return Ok(t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect());
    }
    Ok(t.float_data.clone())
}

fn float_tensor(name: &str, dims: &[i64], values: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.to_string(),
        dims: dims.to_vec(),
        data_type: DataType::Float as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

fn plain_node(op: &str, inputs: &[&str], output: &str, axis: Option<i64>) -> pb::NodeProto {
    let attribute = axis
        .map(|a| pb::AttributeProto {
            name: "axis".into(),
            i: a,
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            ..Default::default()
        })
        .into_iter()
        .collect();
    pb::NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        name: output.to_string(),
        op_type: op.to_string(),
        attribute,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;
    use crate::onnx_build::{RandomCnn, SplitMix64};

    fn inputs(n: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = SplitMix64(seed);
        (0..n).map(|_| (0..28 * 28).map(|_| rng.next_f32() * 3.0 - 0.8).collect()).collect()
    }

    fn logits(bytes: &[u8], input: &[f32]) -> Vec<f32> {
        let model = Model::load(bytes).expect("loads");
        let mut classifier = model.classifier(1).expect("compiles");
        classifier.run(input).expect("runs")
    }

    #[test]
    fn quantized_model_loads_and_follows_the_float_logits() {
        let float = RandomCnn { filters: 16, ..Default::default() }.build();
        let q = quantize_int8(&float, &inputs(64, 1)).expect("quantizes");
        assert_eq!(q.layers, 3);
        let card = Model::load(&q.bytes).expect("the QDQ model loads").card().clone();
        assert_eq!(card.operators.get("QuantizeLinear"), Some(&3));
        assert_eq!(card.operators.get("DequantizeLinear"), Some(&6));
        assert_eq!(card.params, Model::load(&float).expect("loads").card().params);
        let (mut worst, mut scale) = (0.0f32, 0.0f32);
        for input in inputs(16, 2) {
            let (a, b) = (logits(&float, &input), logits(&q.bytes, &input));
            for (x, y) in a.iter().zip(&b) {
                worst = worst.max((x - y).abs());
                scale = scale.max(x.abs());
            }
        }
        assert!(worst <= 0.05 * scale, "int8 logits off by {worst} (largest logit {scale})");
        assert!(worst > 0.0, "the quantized model computes exactly the float one: nothing was quantized");
    }

    #[test]
    fn int8_weights_are_a_quarter_of_the_file_and_within_half_a_step() {
        let float = RandomCnn { filters: 32, ..Default::default() }.build();
        let q = quantize_int8(&float, &inputs(8, 3)).expect("quantizes");
        assert!(q.bytes.len() * 3 < float.len(), "{} bytes from {}", q.bytes.len(), float.len());
        let before = pb::ModelProto::decode(float.as_slice()).expect("decodes").graph.expect("graph");
        let after = pb::ModelProto::decode(q.bytes.as_slice()).expect("decodes").graph.expect("graph");
        let find = |name: &str| after.initializer.iter().find(|t| t.name == name).expect(name);
        for w in before.initializer.iter().filter(|t| t.dims.len() >= 2) {
            let q = find(&format!("{}_int8", w.name));
            let scales = float_values(find(&format!("{}_scale", w.name))).expect("scales");
            let inner = w.dims[1..].iter().product::<i64>() as usize;
            for (i, (orig, qv)) in float_values(w).expect("floats").iter().zip(&q.raw_data).enumerate() {
                let back = (*qv as i8) as f32 * scales[i / inner];
                assert!((back - orig).abs() <= scales[i / inner] * 0.5 + 1e-7, "{}[{i}]: {orig} → {back}", w.name);
            }
            assert!(!after.initializer.iter().any(|t| t.name == w.name), "the float {} is still in the file", w.name);
        }
    }

    #[test]
    fn activation_range_always_contains_zero() {
        let (scale, zero) = activation_params(0.0, 2.55);
        assert!((scale - 0.01).abs() < 1e-7 && zero == 0, "({scale}, {zero})");
        let (scale, zero) = activation_params(-1.0, 1.55);
        assert!((scale - 0.01).abs() < 1e-7);
        assert_eq!(zero, 100);
        assert_eq!(activation_params(0.5, 0.5).1, 0, "a positive-only range still starts at 0");
        assert_eq!(activation_params(0.0, 0.0), (1.0, 0), "a constant-zero tensor does not divide by zero");
    }

    #[test]
    fn a_model_without_weights_to_quantize_is_refused_with_a_reason() {
        let mut b = crate::onnx_build::OnnxBuilder::image_classifier(1, 28, 28);
        b.global_avg_pool().flatten();
        let err = quantize_int8(&b.build(), &inputs(1, 4)).expect_err("nothing to quantize");
        assert!(err.to_string().contains("no Conv or Gemm"), "{err}");
    }

    #[test]
    fn calibration_inputs_of_the_wrong_size_are_refused() {
        let float = RandomCnn::default().build();
        let err = quantize_int8(&float, &[vec![0.0; 10]]).expect_err("wrong size");
        assert!(err.to_string().contains("10 values"), "{err}");
        assert!(quantize_int8(&float, &[]).is_err(), "no calibration at all");
        assert!(quantize_int8(b"not onnx", &inputs(1, 5)).is_err());
    }
}
