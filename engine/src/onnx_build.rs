//! Writing ONNX image classifiers from Rust: a small graph builder over `tract_onnx::pb`.
//!
//! Used by the training pipeline to export trained networks (BatchNorm already folded into
//! the convolutions) and by tests to make models of any shape without downloading files.
//! Only the operators a CNN classifier needs are covered; [`OnnxBuilder::node`] adds any
//! other (tests use it to write models tract cannot run).

use prost::Message;
use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};

/// ONNX opset written; tract is tested against opsets 9 to 18.
pub const OPSET: i64 = 13;
/// ONNX IR version matching [`OPSET`].
pub const IR_VERSION: i64 = 7;

/// One dimension of the declared graph input.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A named symbolic size (for example a dynamic batch `"N"`).
    Symbol(String),
}

/// An attribute value for [`OnnxBuilder::node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// A single integer.
    Int(i64),
    /// A list of integers.
    Ints(Vec<i64>),
    /// A single float.
    Float(f32),
}

/// Builds a single-input, single-output ONNX graph node by node.
///
/// Each op consumes the previous op's output, so a sequential CNN is a chain of calls.
#[derive(Debug, Clone)]
pub struct OnnxBuilder {
    input_dims: Vec<Dim>,
    input_elem_type: i32,
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    current: String,
    counter: usize,
    doc: String,
}

impl OnnxBuilder {
    /// A graph whose input `input` has shape `[1, c, h, w]`, float.
    pub fn image_classifier(c: i64, h: i64, w: i64) -> Self {
        Self::with_input(vec![Dim::Fixed(1), Dim::Fixed(c), Dim::Fixed(h), Dim::Fixed(w)])
    }

    /// A graph with an arbitrary declared float input shape.
    pub fn with_input(dims: Vec<Dim>) -> Self {
        OnnxBuilder {
            input_dims: dims,
            input_elem_type: pb::tensor_proto::DataType::Float as i32,
            nodes: vec![],
            initializers: vec![],
            current: "input".to_string(),
            counter: 0,
            doc: String::new(),
        }
    }

    /// Declares the input with another element type (tests write `uint8` inputs with it).
    pub fn input_elem_type(mut self, data_type: pb::tensor_proto::DataType) -> Self {
        self.input_elem_type = data_type as i32;
        self
    }

    /// Sets the model's doc string (the training pipeline puts the model card's summary here).
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = doc.into();
        self
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    fn initializer(&mut self, prefix: &str, dims: &[i64], data: &[f32]) -> String {
        let name = self.fresh(prefix);
        let expected: i64 = dims.iter().product();
        assert_eq!(expected as usize, data.len(), "initializer {name}: shape {dims:?} vs {} values", data.len());
        self.initializers.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.to_vec(),
            data_type: pb::tensor_proto::DataType::Float as i32,
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    /// Appends any operator fed by the current output plus `extra_inputs`.
    pub fn node(&mut self, op_type: &str, extra_inputs: &[String], attrs: &[(&str, Attr)]) -> &mut Self {
        let output = self.fresh(&op_type.to_lowercase());
        let mut inputs = vec![self.current.clone()];
        inputs.extend(extra_inputs.iter().cloned());
        let attribute = attrs
            .iter()
            .map(|(name, value)| {
                use pb::attribute_proto::AttributeType;
                let mut a = pb::AttributeProto { name: name.to_string(), ..Default::default() };
                match value {
                    Attr::Int(i) => {
                        a.i = *i;
                        a.r#type = AttributeType::Int as i32;
                    }
                    Attr::Ints(v) => {
                        a.ints = v.clone();
                        a.r#type = AttributeType::Ints as i32;
                    }
                    Attr::Float(f) => {
                        a.f = *f;
                        a.r#type = AttributeType::Float as i32;
                    }
                }
                a
            })
            .collect();
        self.nodes.push(pb::NodeProto {
            input: inputs,
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op_type.to_string(),
            attribute,
            ..Default::default()
        });
        self.current = output;
        self
    }

    /// 2-D convolution; `weight` is `[out, in/group, kh, kw]` row-major, square padding `pad`.
    pub fn conv(
        &mut self,
        weight: &[f32],
        shape: [i64; 4],
        bias: &[f32],
        stride: i64,
        pad: i64,
        group: i64,
    ) -> &mut Self {
        self.conv_pads(weight, shape, bias, stride, [pad; 4], group)
    }

    /// [`OnnxBuilder::conv`] with ONNX's `pads` order: top, left, bottom, right.
    pub fn conv_pads(
        &mut self,
        weight: &[f32],
        shape: [i64; 4],
        bias: &[f32],
        stride: i64,
        pads: [i64; 4],
        group: i64,
    ) -> &mut Self {
        let w = self.initializer("conv_w", &shape, weight);
        let b = self.initializer("conv_b", &[shape[0]], bias);
        self.node(
            "Conv",
            &[w, b],
            &[
                ("kernel_shape", Attr::Ints(vec![shape[2], shape[3]])),
                ("strides", Attr::Ints(vec![stride, stride])),
                ("pads", Attr::Ints(pads.to_vec())),
                ("group", Attr::Int(group)),
            ],
        )
    }

    /// `Clip` with its bounds as scalar inputs (ReLU6 as torch.onnx exports it).
    pub fn clip(&mut self, lo: f32, hi: f32) -> &mut Self {
        let lo = self.initializer("clip_lo", &[], &[lo]);
        let hi = self.initializer("clip_hi", &[], &[hi]);
        self.node("Clip", &[lo, hi], &[])
    }

    /// Rectified linear unit.
    pub fn relu(&mut self) -> &mut Self {
        self.node("Relu", &[], &[])
    }

    /// Max pooling with a square window.
    pub fn max_pool(&mut self, kernel: i64, stride: i64) -> &mut Self {
        self.node(
            "MaxPool",
            &[],
            &[("kernel_shape", Attr::Ints(vec![kernel, kernel])), ("strides", Attr::Ints(vec![stride, stride]))],
        )
    }

    /// Global average pooling to `[N, C, 1, 1]`.
    pub fn global_avg_pool(&mut self) -> &mut Self {
        self.node("GlobalAveragePool", &[], &[])
    }

    /// Flatten to `[N, rest]`.
    pub fn flatten(&mut self) -> &mut Self {
        self.node("Flatten", &[], &[("axis", Attr::Int(1))])
    }

    /// Fully connected layer `y = x·Wᵀ + b`; `weight` is `[out, in]` row-major (PyTorch layout).
    pub fn gemm(&mut self, weight: &[f32], out_features: i64, in_features: i64, bias: &[f32]) -> &mut Self {
        let w = self.initializer("fc_w", &[out_features, in_features], weight);
        let b = self.initializer("fc_b", &[out_features], bias);
        self.node("Gemm", &[w, b], &[("transB", Attr::Int(1))])
    }

    /// The finished ONNX `ModelProto`; the graph output is named `logits`.
    pub fn build_proto(&self) -> pb::ModelProto {
        let tensor_type = |elem_type: i32, dims: &[Dim]| pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Dim::Fixed(v) => dimension::Value::DimValue(*v),
                                Dim::Symbol(s) => dimension::Value::DimParam(s.clone()),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        };
        let mut nodes = self.nodes.clone();
        // Rename the last output to a stable name so callers can find it.
        let output_name = "logits".to_string();
        if let Some(last) = nodes.last_mut() {
            last.output = vec![output_name.clone()];
        } else {
            nodes.push(pb::NodeProto {
                input: vec!["input".into()],
                output: vec![output_name.clone()],
                name: "identity".into(),
                op_type: "Identity".into(),
                ..Default::default()
            });
        }
        pb::ModelProto {
            ir_version: IR_VERSION,
            producer_name: "distillate".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            doc_string: self.doc.clone(),
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: OPSET }],
            graph: Some(pb::GraphProto {
                name: "classifier".into(),
                node: nodes,
                initializer: self.initializers.clone(),
                input: vec![pb::ValueInfoProto {
                    name: "input".into(),
                    r#type: Some(tensor_type(self.input_elem_type, &self.input_dims)),
                    ..Default::default()
                }],
                output: vec![pb::ValueInfoProto { name: output_name, ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The finished model as ONNX bytes.
    pub fn build(&self) -> Vec<u8> {
        self.build_proto().encode_to_vec()
    }
}

/// A small random-weight CNN, for tests and for trying the tools on a new input shape.
///
/// conv3×3(c→f) · ReLU · maxpool2 · conv3×3(f→2f) · ReLU · global average pool · linear(2f→K).
#[derive(Debug, Clone, PartialEq)]
pub struct RandomCnn {
    /// Input channels (1 gray, 3 RGB).
    pub channels: i64,
    /// Input height.
    pub height: i64,
    /// Input width.
    pub width: i64,
    /// Number of classes K.
    pub classes: i64,
    /// Filters in the first convolution.
    pub filters: i64,
    /// Seed of the weights.
    pub seed: u64,
    /// Declare the batch dimension as the symbol `N` instead of 1.
    pub dynamic_batch: bool,
}

impl Default for RandomCnn {
    fn default() -> Self {
        RandomCnn { channels: 1, height: 28, width: 28, classes: 10, filters: 8, seed: 1, dynamic_batch: false }
    }
}

impl RandomCnn {
    /// ONNX bytes of this network with He-initialised weights drawn from `seed`.
    pub fn build(&self) -> Vec<u8> {
        let mut rng = SplitMix64(self.seed);
        let mut he = |fan_in: i64, n: i64| -> Vec<f32> {
            let scale = (2.0 / fan_in as f32).sqrt();
            (0..n).map(|_| rng.next_normal() * scale).collect()
        };
        let (c, f, k) = (self.channels, self.filters, self.classes);
        let batch = if self.dynamic_batch { Dim::Symbol("N".into()) } else { Dim::Fixed(1) };
        let mut b =
            OnnxBuilder::with_input(vec![batch, Dim::Fixed(c), Dim::Fixed(self.height), Dim::Fixed(self.width)]);
        let w1 = he(c * 9, f * c * 9);
        let w2 = he(f * 9, 2 * f * f * 9);
        let w3 = he(2 * f, k * 2 * f);
        let bias = |n: i64| vec![0.01f32; n as usize];
        b.conv(&w1, [f, c, 3, 3], &bias(f), 1, 1, 1)
            .relu()
            .max_pool(2, 2)
            .conv(&w2, [2 * f, f, 3, 3], &bias(2 * f), 1, 1, 1)
            .relu()
            .global_avg_pool()
            .flatten()
            .gemm(&w3, k, 2 * f, &bias(k));
        b.build()
    }
}

pub use distillate_kernels::SplitMix64;

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn built_model_decodes_back_to_the_same_proto() {
        let bytes = RandomCnn::default().build();
        let proto = pb::ModelProto::decode(bytes.as_slice()).expect("decodes");
        let graph = proto.graph.expect("graph");
        let ops: Vec<_> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Conv", "Relu", "MaxPool", "Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm"]);
        assert_eq!(graph.output[0].name, "logits");
        assert_eq!(graph.node.last().map(|n| n.output[0].as_str()), Some("logits"));
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = RandomCnn::default().build();
        let b = RandomCnn::default().build();
        let c = RandomCnn { seed: 2, ..Default::default() }.build();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
