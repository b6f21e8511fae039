//! Loading an ONNX image classifier from bytes, describing it, and running it.
//!
//! [`Model::load`] checks everything a user can get wrong before tract sees the graph
//! (size, protobuf, operators, input type and rank, symbolic dimensions) and after (output
//! shape), so a refused model names its problem. [`Model::classifier`] then compiles an
//! optimised plan once for a batch size; [`Classifier::run`] only copies data in and out.

use std::collections::BTreeMap;
use std::sync::Arc;

use prost::Message;
use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::Cost;
use tract_onnx::tract_hir::internal::DimLike;

pub use crate::card::{BatchDim, ModelCard};
use crate::error::{Error, Result};
use crate::limits::MAX_MODEL_BYTES;

/// A checked, parsed model, ready to compile into [`Classifier`]s.
#[derive(Debug, Clone)]
pub struct Model {
    card: ModelCard,
    inference: InferenceModel,
    /// The graph typed and decluttered for one image per call: loading needs it for the
    /// card, and a single-image classifier starts from it instead of analysing the graph
    /// again (loading the demo pair in a cold browser worker: 140–170 → 92–98 ms).
    single: TypedModel,
}

impl Model {
    /// Parses and checks ONNX `bytes`, refusing anything that is not an NCHW float image
    /// classifier with a `[1, K]` output.
    pub fn load(bytes: &[u8]) -> Result<Model> {
        if bytes.is_empty() {
            return Err(Error::NotOnnx("the file is empty".into()));
        }
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(Error::ModelTooLarge { size: bytes.len(), limit: MAX_MODEL_BYTES });
        }
        let proto = pb::ModelProto::decode(bytes)
            .map_err(|e| Error::NotOnnx(format!("the bytes are not an ONNX protobuf ({e})")))?;
        let graph = proto
            .graph
            .as_ref()
            .filter(|g| !g.node.is_empty())
            .ok_or_else(|| Error::NotOnnx("the file has no graph".into()))?;
        if graph.output.is_empty() {
            return Err(Error::NotOnnx("the graph has no output".into()));
        }

        check_operators(graph)?;
        check_outputs_are_produced(graph)?;
        check_arity(graph)?;
        check_window_attributes(graph)?;
        let (channels, height, width, batch) = check_input(graph)?;

        let inference = tract_onnx::onnx().model_for_proto_model(&proto).map_err(|e| Error::Model(format!("{e:#}")))?;
        // A graph that declares more outputs than the one we read would still run them all.
        if inference.outputs.len() != 1 {
            return Err(Error::BadOutput(format!(
                "the model has {} outputs; a classifier has one ([1, K] scores)",
                inference.outputs.len()
            )));
        }
        let typed = fixed_batch_typed(&inference, [1, channels, height, width])?;
        let classes = check_output(&typed)?;
        let macs = count_macs(&typed)?;
        let mut operators = BTreeMap::new();
        for node in &graph.node {
            *operators.entry(node.op_type.clone()).or_insert(0) += 1;
        }

        let card = ModelCard {
            channels,
            height,
            width,
            batch,
            classes,
            params: count_params(graph),
            macs,
            flops: 2 * macs,
            bytes: bytes.len() as u64,
            operators,
            producer: proto.producer_name.clone(),
        };
        Ok(Model { card, inference, single: typed })
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Batch sizes this model can run with: any for a dynamic batch, else the fixed one.
    pub fn supports_batch(&self, batch: usize) -> bool {
        match self.card.batch {
            BatchDim::Dynamic => batch >= 1,
            BatchDim::Fixed(n) => n == batch,
        }
    }

    /// Compiles an optimised plan for `batch` images per call.
    pub fn classifier(&self, batch: usize) -> Result<Classifier> {
        if !self.supports_batch(batch) {
            return Err(Error::Input(format!(
                "this model's batch dimension is fixed to {:?}; it cannot run {batch} images per call",
                self.card.batch
            )));
        }
        let model_err = |e: TractError| Error::Model(format!("{e:#}"));
        let c = &self.card;
        let shape = [batch, c.channels, c.height, c.width];
        let typed = if batch == 1 { self.single.clone() } else { fixed_batch_typed(&self.inference, shape)? };
        let mut optimized = typed.into_optimized().map_err(model_err)?;
        crate::maxpool::MaxPool2x2::swap_into(&mut optimized).map_err(model_err)?;
        let plan: Arc<TypedSimplePlan> = optimized.into_runnable().map_err(model_err)?;
        let state = TypedSimpleState::new(&plan).map_err(model_err)?;
        Ok(Classifier { state, shape, classes: c.classes })
    }
}

/// A compiled plan plus its reusable state, for one fixed batch size.
#[derive(Debug)]
pub struct Classifier {
    state: TypedSimpleState,
    shape: [usize; 4],
    classes: usize,
}

impl Classifier {
    /// Images per call.
    pub fn batch(&self) -> usize {
        self.shape[0]
    }

    /// f32 values per image (C·H·W).
    pub fn image_len(&self) -> usize {
        self.shape[1..].iter().product()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Runs `batch()` preprocessed images (NCHW, concatenated) and returns their logits,
    /// `batch() × classes()` values, image after image.
    pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.batch() * self.classes];
        self.run_into(input, &mut out)?;
        Ok(out)
    }

    /// Like [`Classifier::run`], writing into `logits` (`batch() × classes()` long).
    pub fn run_into(&mut self, input: &[f32], logits: &mut [f32]) -> Result<()> {
        let expected = self.batch() * self.image_len();
        if input.len() != expected {
            return Err(Error::Input(format!(
                "input has {} values; this plan takes {expected} ({:?})",
                input.len(),
                self.shape
            )));
        }
        if logits.len() != self.batch() * self.classes {
            return Err(Error::Input(format!(
                "output buffer has {} values; expected {}",
                logits.len(),
                self.batch() * self.classes
            )));
        }
        let model_err = |e: TractError| Error::Model(format!("{e:#}"));
        let tensor = Tensor::from_shape(&self.shape, input).map_err(model_err)?;
        let outputs = self.state.run(tvec!(tensor.into_tvalue())).map_err(model_err)?;
        let view = outputs[0].to_plain_array_view::<f32>().map_err(model_err)?;
        for (dst, src) in logits.iter_mut().zip(view.iter()) {
            *dst = *src;
        }
        Ok(())
    }
}

/// Operators in `graph` that tract cannot build, refused before parsing so the message
/// names them all at once instead of failing later on the first.
fn check_operators(graph: &pb::GraphProto) -> Result<()> {
    let registry = tract_onnx::onnx().op_register;
    let mut missing: Vec<String> = graph
        .node
        .iter()
        .filter(|n| {
            let standard = n.domain.is_empty() || n.domain == "ai.onnx";
            !standard || !registry.0.contains_key(&n.op_type)
        })
        .map(|n| if n.domain.is_empty() { n.op_type.clone() } else { format!("{}:{}", n.domain, n.op_type) })
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() { Ok(()) } else { Err(Error::UnsupportedOperator(missing.join(", "))) }
}

/// Every graph output must be computed by something in the graph. tract assumes so and
/// panics otherwise (found by fuzzing: `tests/fuzz/model_load-output-without-producer.onnx`).
fn check_outputs_are_produced(graph: &pb::GraphProto) -> Result<()> {
    let produced: std::collections::HashSet<&str> = graph
        .node
        .iter()
        .flat_map(|n| n.output.iter().map(String::as_str))
        .chain(graph.input.iter().map(|i| i.name.as_str()))
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .collect();
    match graph.output.iter().find(|o| !produced.contains(o.name.as_str())) {
        Some(o) => Err(Error::BadOutput(format!("graph output '{}' is not produced by any node", o.name))),
        None => Ok(()),
    }
}

/// Inputs an operator needs at least, for operators whose count does not depend on the
/// opset; every other operator but a source needs one.
const MIN_INPUTS: [(&str, usize); 14] = [
    ("Conv", 2),
    ("ConvTranspose", 2),
    ("Gemm", 2),
    ("MatMul", 2),
    ("Add", 2),
    ("Sub", 2),
    ("Mul", 2),
    ("Div", 2),
    ("Pow", 2),
    ("PRelu", 2),
    ("Gather", 2),
    ("Expand", 2),
    ("Where", 3),
    ("BatchNormalization", 5),
];
/// Operators that take no input.
const SOURCES: [&str; 3] = ["Constant", "RandomNormal", "RandomUniform"];

/// Every node has the inputs its operator reads and at least one output. tract's operators
/// index their inputs without checking and panic on a short list (found by fuzzing:
/// `tests/fuzz/model_load-node-without-input.onnx`).
fn check_arity(graph: &pb::GraphProto) -> Result<()> {
    for node in &graph.node {
        let op = node.op_type.as_str();
        let least =
            MIN_INPUTS.iter().find(|(o, _)| *o == op).map(|(_, n)| *n).unwrap_or(usize::from(!SOURCES.contains(&op)));
        let given = node.input.iter().take(least).filter(|i| !i.is_empty()).count();
        let name = node_label(node);
        if given < least {
            return Err(Error::Model(format!("{name} has {given} of the {least} inputs it needs")));
        }
        if node.output.first().is_none_or(|o| o.is_empty()) {
            return Err(Error::Model(format!("{name} has no output")));
        }
    }
    Ok(())
}

/// A node as messages name it: its operator, and its name when it has one.
fn node_label(node: &pb::NodeProto) -> String {
    if node.name.is_empty() { node.op_type.clone() } else { format!("{} '{}'", node.op_type, node.name) }
}

/// Largest kernel, stride, dilation or padding accepted on a convolution or pooling: far
/// beyond any image model, small enough that shape arithmetic cannot overflow.
const MAX_WINDOW: i64 = 1 << 16;

/// Convolution and pooling window attributes must be positive (pads non-negative) and sane.
/// tract computes output sizes as `(kernel - 1) * dilation + 1` on unsigned integers and
/// overflows on a zero kernel (found by fuzzing: `tests/fuzz/model_load-zero-kernel.onnx`);
/// a zero-sized convolution weight is the same defect in another form.
fn check_window_attributes(graph: &pb::GraphProto) -> Result<()> {
    const WINDOWED: [&str; 5] = ["Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"];
    let weights: std::collections::HashMap<&str, &pb::TensorProto> =
        graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    for node in graph.node.iter().filter(|n| WINDOWED.contains(&n.op_type.as_str())) {
        let name = node_label(node);
        // Spatial rank: from the weight when it is known, else from the first window attribute.
        let weight = node.input.get(1).and_then(|w| weights.get(w.as_str()));
        let mut rank = weight.filter(|_| node.op_type.starts_with("Conv")).map(|w| w.dims.len().saturating_sub(2));
        for attr in &node.attribute {
            let (least, per_axis) = match attr.name.as_str() {
                "kernel_shape" | "strides" | "dilations" => (1, 1),
                "pads" => (0, 2),
                _ => continue,
            };
            if let Some(v) = attr.ints.iter().find(|v| !(least..=MAX_WINDOW).contains(*v)) {
                return Err(Error::Model(format!(
                    "{name} has {} value {v}; it must be from {least} to {MAX_WINDOW}",
                    attr.name
                )));
            }
            // tract indexes these per spatial axis (found by fuzzing: `model_load-pads-length.onnx`).
            let axes = *rank.get_or_insert(attr.ints.len() / per_axis);
            if attr.ints.len() != axes * per_axis || axes == 0 {
                return Err(Error::Model(format!(
                    "{name} has {} {} value(s) for {axes} spatial axes; it needs {}",
                    attr.name,
                    attr.ints.len(),
                    axes * per_axis
                )));
            }
        }
        if node.op_type.starts_with("Conv")
            && let Some(w) = weight
            && w.dims.iter().any(|d| *d < 1)
        {
            return Err(Error::Model(format!(
                "{name} has a weight of shape {:?}; every dimension must be ≥ 1",
                w.dims
            )));
        }
    }
    Ok(())
}

/// The one real input (graph inputs that are not initializers) as (C, H, W, batch).
fn check_input(graph: &pb::GraphProto) -> Result<(usize, usize, usize, BatchDim)> {
    use pb::tensor_shape_proto::dimension::Value;
    let initializers: std::collections::HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> =
        graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())).collect();
    let input = match inputs.as_slice() {
        [one] => *one,
        [] => return Err(Error::BadInput("the model declares no input".into())),
        many => {
            return Err(Error::BadInput(format!(
                "the model has {} inputs ({}); an image classifier takes one",
                many.len(),
                many.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
    };
    let name = &input.name;
    let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(t)) => t,
        None => return Err(Error::BadInput(format!("input '{name}' has no declared type"))),
    };
    if tensor.elem_type != DataType::Float as i32 {
        let ty = DataType::try_from(tensor.elem_type).map(|d| d.as_str_name()).unwrap_or("unknown");
        return Err(Error::BadInput(format!("input '{name}' is {ty}; expected FLOAT (f32) pixels")));
    }
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| &s.dim)
        .ok_or_else(|| Error::DynamicDimension(format!("input '{name}' declares no shape")))?;
    if dims.len() != 4 {
        return Err(Error::BadInput(format!(
            "input '{name}' is {}-D; expected 4-D NCHW [batch, channels, height, width]",
            dims.len()
        )));
    }
    const AXES: [&str; 4] = ["batch", "channels", "height", "width"];
    let mut fixed = [0usize; 4];
    let mut batch = BatchDim::Dynamic;
    for (axis, dim) in dims.iter().enumerate() {
        match &dim.value {
            Some(Value::DimValue(v)) if *v > 0 => {
                fixed[axis] = *v as usize;
                if axis == 0 {
                    batch = BatchDim::Fixed(*v as usize);
                }
            }
            _ if axis == 0 => batch = BatchDim::Dynamic,
            Some(Value::DimValue(v)) => {
                return Err(Error::BadInput(format!("input '{name}' {} is {v}", AXES[axis])));
            }
            Some(Value::DimParam(p)) => {
                return Err(Error::DynamicDimension(format!(
                    "input '{name}' {} is the symbol '{p}'; only the batch may be symbolic, \
                     export the model with a fixed {}",
                    AXES[axis], AXES[axis]
                )));
            }
            None => {
                return Err(Error::DynamicDimension(format!(
                    "input '{name}' {} has no size; export the model with a fixed {}",
                    AXES[axis], AXES[axis]
                )));
            }
        }
    }
    let [_, c, h, w] = fixed;
    if c != 1 && c != 3 {
        return Err(Error::BadInput(format!("input '{name}' has {c} channels; images give 1 (gray) or 3 (RGB)")));
    }
    Ok((c, h, w, batch))
}

/// The inference model typed for `shape` (`[batch, C, H, W]`), decluttered.
fn fixed_batch_typed(inference: &InferenceModel, shape: [usize; 4]) -> Result<TypedModel> {
    let mut model = inference.clone();
    model
        .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape))
        .map_err(|e| Error::Model(format!("{e:#}")))?;
    model
        .into_typed()
        .and_then(|m| m.into_decluttered())
        .map_err(|e| Error::Model(format!("tract cannot analyse the graph: {e:#}")))
}

/// K from a `[1, K]` float output.
fn check_output(typed: &TypedModel) -> Result<usize> {
    let outlet = typed.output_outlets().map_err(|e| Error::Model(format!("{e:#}")))?[0];
    let fact = typed.outlet_fact(outlet).map_err(|e| Error::Model(format!("{e:#}")))?;
    if fact.datum_type != f32::datum_type() {
        return Err(Error::BadOutput(format!("the output is {:?}; expected f32 scores", fact.datum_type)));
    }
    let dims: Option<Vec<usize>> = fact.shape.iter().map(|d| d.to_usize().ok()).collect();
    match dims.as_deref() {
        Some([1, k]) if *k >= 2 => Ok(*k),
        Some(other) => {
            Err(Error::BadOutput(format!("the output shape is {other:?}; expected [1, K] with K ≥ 2 classes")))
        }
        None => Err(Error::BadOutput(format!("the output shape {:?} is not fixed; expected [1, K]", fact.shape))),
    }
}

/// Sum of tract's FMA cost over every node, for one image.
fn count_macs(typed: &TypedModel) -> Result<u64> {
    let mut total = 0u64;
    for node in typed.nodes() {
        let inputs = typed.node_input_facts(node.id).map_err(|e| Error::Model(format!("{e:#}")))?;
        let costs = node.op.cost(&inputs).map_err(|e| Error::Model(format!("{e:#}")))?;
        for (cost, count) in costs {
            if let Cost::FMA(_) = cost {
                let n = count.to_i64().map_err(|e| Error::Model(format!("cost of {} is not fixed: {e}", node.name)))?;
                total += n.max(0) as u64;
            }
        }
    }
    Ok(total)
}

/// Elements of floating-point initializers and `Constant` nodes: the learned weights.
/// Integer tensors (shapes, axes, indices) are not parameters.
fn count_params(graph: &pb::GraphProto) -> u64 {
    let is_float = |t: &pb::TensorProto| {
        [DataType::Float, DataType::Double, DataType::Float16, DataType::Bfloat16]
            .iter()
            .any(|d| *d as i32 == t.data_type)
    };
    let elements = |t: &pb::TensorProto| t.dims.iter().map(|d| (*d).max(0) as u64).product::<u64>();
    let initializers: u64 = graph.initializer.iter().filter(|t| is_float(t)).map(elements).sum();
    let constants: u64 = graph
        .node
        .iter()
        .filter(|n| n.op_type == "Constant")
        .flat_map(|n| n.attribute.iter().filter_map(|a| a.t.as_ref()))
        .filter(|t| is_float(t))
        .map(elements)
        .sum();
    initializers + constants
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_build::{Attr, Dim, OnnxBuilder, RandomCnn};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The error loading the test CNN after `damage` to its graph (it must be refused).
    fn load_broken(damage: impl FnOnce(&mut pb::GraphProto)) -> Error {
        let mut proto = pb::ModelProto::decode(&RandomCnn::default().build()[..]).expect("decodes");
        damage(proto.graph.as_mut().expect("graph"));
        Model::load(&proto.encode_to_vec()).expect_err("refused")
    }

    /// The first node of operator `op` (the test CNN has each one used here).
    fn node<'a>(graph: &'a mut pb::GraphProto, op: &str) -> &'a mut pb::NodeProto {
        graph.node.iter_mut().find(|n| n.op_type == op).expect("the test CNN has this operator")
    }

    /// The attribute `name` of `node`.
    fn attribute<'a>(node: &'a mut pb::NodeProto, name: &str) -> &'a mut pb::AttributeProto {
        node.attribute.iter_mut().find(|a| a.name == name).expect("the node has this attribute")
    }

    fn cnn(channels: i64, size: i64) -> RandomCnn {
        RandomCnn { channels, height: size, width: size, ..Default::default() }
    }

    #[test]
    fn card_counts_params_and_macs_of_a_known_network() {
        let spec = cnn(1, 28);
        let model = Model::load(&spec.build()).expect("loads");
        let card = model.card();
        // conv1 8·1·9+8, conv2 16·8·9+16, fc 10·16+10.
        assert_eq!(card.params, 80 + 1168 + 170);
        // conv1 28·28·8·9, conv2 14·14·16·8·9, fc 16·10, and tract counts global average
        // pooling as 14·14·16 accumulations plus 16 scalings; max pooling costs nothing.
        assert_eq!(card.macs, 28 * 28 * 8 * 9 + 14 * 14 * 16 * 8 * 9 + 160 + 14 * 14 * 16 + 16);
        assert_eq!(card.flops, 2 * card.macs);
        assert_eq!((card.channels, card.height, card.width, card.classes), (1, 28, 28, 10));
        assert_eq!(card.batch, BatchDim::Fixed(1));
        assert_eq!(card.operators.get("Conv"), Some(&2));
        assert_eq!(card.input_label(), "1×28×28");
    }

    #[test]
    fn fuzz_regression_output_without_producer_is_refused_not_a_panic() {
        let bytes = include_bytes!("../tests/fuzz/model_load-output-without-producer.onnx");
        let err = Model::load(bytes).expect_err("refused");
        assert!(err.to_string().contains("is not produced by any node") || matches!(err, Error::NotOnnx(_)), "{err}");
        // The same defect built on purpose: a valid model whose output name dangles.
        let err = load_broken(|graph| graph.output[0].name = "nowhere".into());
        assert_eq!(err, Error::BadOutput("graph output 'nowhere' is not produced by any node".into()));
    }

    #[test]
    fn fuzz_regression_zero_kernel_is_refused_not_an_overflow() {
        let bytes = include_bytes!("../tests/fuzz/model_load-zero-kernel.onnx");
        assert!(Model::load(bytes).is_err());
        // The same defect built on purpose: a max-pool with a 0×0 window.
        let err = load_broken(|graph| attribute(node(graph, "MaxPool"), "kernel_shape").ints = vec![0, 0]);
        assert!(err.to_string().contains("kernel_shape value 0; it must be from 1"), "{err}");
    }

    #[test]
    fn fuzz_regression_pads_of_the_wrong_length_are_refused_not_a_panic() {
        let bytes = include_bytes!("../tests/fuzz/model_load-pads-length.onnx");
        assert!(Model::load(bytes).is_err());
        let err = load_broken(|graph| attribute(node(graph, "Conv"), "pads").ints = vec![1, 1, 1]);
        assert!(err.to_string().contains("pads 3 value(s) for 2 spatial axes; it needs 4"), "{err}");
    }

    #[test]
    fn fuzz_regression_a_node_without_its_inputs_is_refused_not_a_panic() {
        let bytes = include_bytes!("../tests/fuzz/model_load-node-without-input.onnx");
        assert!(Model::load(bytes).is_err());
        let err = load_broken(|graph| node(graph, "Conv").input.truncate(1));
        assert!(err.to_string().contains("has 1 of the 2 inputs it needs"), "{err}");
    }

    #[test]
    fn loads_and_runs_every_supported_input_shape() {
        for (c, s) in [(1, 28), (3, 32), (3, 64), (3, 224)] {
            let model = Model::load(&cnn(c, s).build()).unwrap_or_else(|e| panic!("{c}×{s}: {e}"));
            let mut clf = model.classifier(1).expect("compiles");
            let logits = clf.run(&vec![0.5; clf.image_len()]).expect("runs");
            assert_eq!(logits.len(), 10);
            assert!(logits.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn dynamic_batch_runs_batches_that_match_single_runs() {
        let spec = RandomCnn { dynamic_batch: true, ..Default::default() };
        let model = Model::load(&spec.build()).expect("loads");
        assert_eq!(model.card().batch, BatchDim::Dynamic);
        let mut one = model.classifier(1).expect("batch 1");
        let mut four = model.classifier(4).expect("batch 4");
        let images: Vec<f32> = (0..4 * 784).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
        let batched = four.run(&images).expect("runs");
        for (i, image) in images.chunks(784).enumerate() {
            let single = one.run(image).expect("runs");
            for (a, b) in single.iter().zip(&batched[i * 10..(i + 1) * 10]) {
                assert!((a - b).abs() < 1e-4, "image {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn fixed_batch_refuses_other_batch_sizes() {
        let model = Model::load(&RandomCnn::default().build()).expect("loads");
        assert!(matches!(model.classifier(8), Err(Error::Input(_))));
    }

    #[test]
    fn run_refuses_wrong_input_length() {
        let model = Model::load(&RandomCnn::default().build()).expect("loads");
        let mut clf = model.classifier(1).expect("compiles");
        assert!(matches!(clf.run(&[0.0; 10]), Err(Error::Input(_))));
    }

    #[test]
    fn empty_and_random_bytes_are_not_onnx() {
        assert!(matches!(Model::load(&[]), Err(Error::NotOnnx(_))));
        let mut rng = crate::onnx_build::SplitMix64(7);
        for _ in 0..20 {
            let junk: Vec<u8> = (0..512).map(|_| rng.next_u64() as u8).collect();
            assert!(Model::load(&junk).is_err());
        }
    }

    #[test]
    fn truncated_model_is_refused() {
        let bytes = RandomCnn::default().build();
        for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
            assert!(Model::load(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn unsupported_operator_is_named() {
        let mut b = OnnxBuilder::image_classifier(1, 8, 8);
        b.node("FancyNewOp", &[], &[]).flatten();
        let err = Model::load(&b.build()).expect_err("refused");
        assert_eq!(err, Error::UnsupportedOperator("FancyNewOp".into()));
    }

    #[test]
    fn non_float_input_is_refused() {
        let mut b = OnnxBuilder::image_classifier(1, 8, 8).input_elem_type(DataType::Uint8);
        b.flatten();
        let err = Model::load(&b.build()).expect_err("refused");
        assert!(matches!(&err, Error::BadInput(m) if m.contains("UINT8")), "{err}");
    }

    #[test]
    fn three_d_input_is_refused() {
        let mut b = OnnxBuilder::with_input(vec![Dim::Fixed(1), Dim::Fixed(8), Dim::Fixed(8)]);
        b.flatten();
        let err = Model::load(&b.build()).expect_err("refused");
        assert!(matches!(&err, Error::BadInput(m) if m.contains("3-D")), "{err}");
    }

    #[test]
    fn symbolic_height_is_refused_but_symbolic_batch_is_not() {
        let mut b = OnnxBuilder::with_input(vec![Dim::Fixed(1), Dim::Fixed(1), Dim::Symbol("h".into()), Dim::Fixed(8)]);
        b.flatten();
        let err = Model::load(&b.build()).expect_err("refused");
        assert!(matches!(&err, Error::DynamicDimension(m) if m.contains("height") && m.contains("'h'")), "{err}");
    }

    #[test]
    fn output_that_is_not_two_d_is_refused() {
        // Global pooling without flatten leaves [1, C, 1, 1].
        let mut b = OnnxBuilder::image_classifier(3, 8, 8);
        b.global_avg_pool();
        let err = Model::load(&b.build()).expect_err("refused");
        assert!(matches!(&err, Error::BadOutput(m) if m.contains("[1, 3, 1, 1]")), "{err}");
    }

    #[test]
    fn five_channel_input_is_refused() {
        let mut b = OnnxBuilder::image_classifier(5, 8, 8);
        b.node("Flatten", &[], &[("axis", Attr::Int(1))]);
        assert!(matches!(Model::load(&b.build()), Err(Error::BadInput(_))));
    }
}
