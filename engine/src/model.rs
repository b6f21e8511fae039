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
use crate::validate;

/// A checked, parsed model, ready to compile into [`Classifier`]s.
#[derive(Debug, Clone)]
pub struct Model {
    card: ModelCard,
    inference: InferenceModel,
    /// The graph typed and decluttered for one image per call: loading needs it for the
    /// card, and a single-image classifier starts from it instead of analysing the graph
    /// a second time (a third of a cold load's model preparation in a browser worker).
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
        let mut proto = pb::ModelProto::decode(bytes)
            .map_err(|e| Error::NotOnnx(format!("the bytes are not an ONNX protobuf ({e})")))?;
        let channels_last = proto.graph.as_mut().is_some_and(crate::channels_last::feed_nchw);
        // Shapes annotated on intermediate values are hints, and a symbolic batch in them
        // ('batch_size', as onnxruntime's quantizer writes after its shape inference) cannot
        // be unified with the batch the engine fixes: tract infers them all again anyway.
        if let Some(graph) = proto.graph.as_mut() {
            graph.value_info.clear();
        }
        let graph = proto
            .graph
            .as_ref()
            .filter(|g| !g.node.is_empty())
            .ok_or_else(|| Error::NotOnnx("the file has no graph".into()))?;
        if graph.output.is_empty() {
            return Err(Error::NotOnnx("the graph has no output".into()));
        }

        validate::check_operators(graph)?;
        validate::check_outputs_are_produced(graph)?;
        validate::check_arity(graph)?;
        validate::check_window_attributes(graph)?;
        let (channels, height, width, batch) = validate::check_input(graph)?;

        let inference = tract_onnx::onnx().model_for_proto_model(&proto).map_err(tract_error)?;
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
        for node in graph.node.iter().filter(|n| n.name != crate::channels_last::ADDED_NODE) {
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
            channels_last,
            output_probabilities: crate::probabilities::ends_in_softmax(graph),
            sha256: Some(sha256_hex(bytes)),
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

    /// Compiles an optimised plan for `batch` images per call, with the platform's
    /// default [`Convolutions`].
    pub fn classifier(&self, batch: usize) -> Result<Classifier> {
        self.classifier_with(batch, Convolutions::default())
    }

    /// [`Model::classifier`] with the convolution code chosen (the benchmarks compare both).
    pub fn classifier_with(&self, batch: usize, convolutions: Convolutions) -> Result<Classifier> {
        if !self.supports_batch(batch) {
            return Err(Error::Input(format!(
                "this model's batch dimension is fixed to {:?}; it cannot run {batch} images per call",
                self.card.batch
            )));
        }
        let c = &self.card;
        let shape = [batch, c.channels, c.height, c.width];
        let mut typed = if batch == 1 { self.single.clone() } else { fixed_batch_typed(&self.inference, shape)? };
        if convolutions == Convolutions::Engine {
            crate::conv::EngineConv::swap_into(&mut typed).map_err(tract_error)?;
        }
        let mut optimized = typed.into_optimized().map_err(tract_error)?;
        crate::maxpool::MaxPool2x2::swap_into(&mut optimized).map_err(tract_error)?;
        let plan: Arc<TypedSimplePlan> = optimized.into_runnable().map_err(tract_error)?;
        let state = TypedSimpleState::new(&plan).map_err(tract_error)?;
        Ok(Classifier { state, shape, classes: c.classes })
    }
}

/// Which code runs a plan's convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convolutions {
    /// The engine's ([`crate::conv`]) wherever it covers a convolution, tract's elsewhere.
    Engine,
    /// tract's for every convolution.
    Tract,
}

impl Default for Convolutions {
    /// The engine's own in wasm32; natively, tract's.
    fn default() -> Convolutions {
        if cfg!(target_arch = "wasm32") { Convolutions::Engine } else { Convolutions::Tract }
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
        let tensor = Tensor::from_shape(&self.shape, input).map_err(tract_error)?;
        let outputs = self.state.run(tvec!(tensor.into_tvalue())).map_err(tract_error)?;
        let view = outputs[0].to_plain_array_view::<f32>().map_err(tract_error)?;
        for (dst, src) in logits.iter_mut().zip(view.iter()) {
            *dst = *src;
        }
        Ok(())
    }
}

/// tract's error, with its chain of causes, as the engine's.
fn tract_error(e: TractError) -> Error {
    Error::Model(format!("{e:#}"))
}

/// The inference model typed for `shape` (`[batch, C, H, W]`), decluttered.
fn fixed_batch_typed(inference: &InferenceModel, shape: [usize; 4]) -> Result<TypedModel> {
    let mut model = inference.clone();
    model.set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape)).map_err(tract_error)?;
    model
        .into_typed()
        .and_then(|m| m.into_decluttered())
        .map_err(|e| Error::Model(format!("tract cannot analyse the graph: {e:#}")))
}

/// K from a `[1, K]` float output.
fn check_output(typed: &TypedModel) -> Result<usize> {
    let outlet = typed.output_outlets().map_err(tract_error)?[0];
    let fact = typed.outlet_fact(outlet).map_err(tract_error)?;
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
        let inputs = typed.node_input_facts(node.id).map_err(tract_error)?;
        let costs = node.op.cost(&inputs).map_err(tract_error)?;
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
    // Weights are float, or int8/uint8 in a quantized model; int64 tensors are shapes and
    // indices. The scales and zero points of QuantizeLinear/DequantizeLinear describe how
    // weights are stored, not what the network learned, so an int8 model counts as many
    // parameters as the float one it came from.
    let quantization: std::collections::HashSet<&str> = graph
        .node
        .iter()
        .filter(|n| matches!(n.op_type.as_str(), "QuantizeLinear" | "DequantizeLinear"))
        .flat_map(|n| n.input.iter().skip(1).map(String::as_str))
        .collect();
    let is_weight = |t: &pb::TensorProto| {
        [DataType::Float, DataType::Double, DataType::Float16, DataType::Bfloat16, DataType::Int8, DataType::Uint8]
            .iter()
            .any(|d| *d as i32 == t.data_type)
    };
    let elements = |t: &pb::TensorProto| t.dims.iter().map(|d| (*d).max(0) as u64).product::<u64>();
    let initializers: u64 = graph
        .initializer
        .iter()
        .filter(|t| is_weight(t) && !quantization.contains(t.name.as_str()))
        .map(elements)
        .sum();
    let constants: u64 = graph
        .node
        .iter()
        .filter(|n| n.op_type == "Constant" && !n.output.iter().any(|o| quantization.contains(o.as_str())))
        .flat_map(|n| n.attribute.iter().filter_map(|a| a.t.as_ref()))
        .filter(|t| is_weight(t))
        .map(elements)
        .sum();
    initializers + constants
}

/// SHA-256 of `bytes` as lowercase hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
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
    fn card_names_the_file_by_its_sha256() {
        // FIPS 180-2's test vector, then a model: one flipped weight byte is another model.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let bytes = cnn(1, 28).build();
        let hash = Model::load(&bytes).expect("loads").card().sha256.clone().expect("hashed");
        assert_eq!(hash, sha256_hex(&bytes));
        let mut changed = bytes.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        if let Ok(other) = Model::load(&changed) {
            assert_ne!(other.card().sha256, Some(hash));
        }
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
