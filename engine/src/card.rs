//! What the page shows about a model, separate from the code that computes it
//! ([`crate::model`], which needs tract): the web page's own bundle deserialises cards
//! without linking the runtime.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How the model declares its batch dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchDim {
    /// A fixed number (usually 1): only that batch size can run.
    Fixed(usize),
    /// A symbol: any batch size can be compiled.
    Dynamic,
}

/// What a person needs to know about a model before comparing it: the "model card"
/// computed from the file itself (not from any claim inside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// Channels of the input image (1 gray, 3 RGB).
    pub channels: usize,
    /// Input height in pixels.
    pub height: usize,
    /// Input width in pixels.
    pub width: usize,
    /// Declared batch dimension.
    pub batch: BatchDim,
    /// Number of classes K of the `[1, K]` output.
    pub classes: usize,
    /// Trainable parameters: elements of all floating-point initializers and constants.
    pub params: u64,
    /// Multiply–accumulates for one image, summed from tract's per-operator cost model:
    /// convolutions, matrix products, and the accumulations of average pooling.
    pub macs: u64,
    /// Floating-point operations for one image (2 × MACs, the usual convention).
    pub flops: u64,
    /// Size of the ONNX file in bytes.
    pub bytes: u64,
    /// Operator types and how often each occurs.
    pub operators: BTreeMap<String, usize>,
    /// The exporter that wrote the file, when it says.
    pub producer: String,
    /// The model's input was channels-last (`[N, H, W, C]`, as Keras exports); the engine
    /// feeds it NCHW through a Transpose it adds (see `channels_last.rs`). False in cards
    /// written before it existed.
    #[serde(default)]
    pub channels_last: bool,
    /// The model ends in Softmax: its outputs are probabilities, which the engine hands on
    /// as log-probabilities (see `probabilities.rs`). False in cards written before it existed.
    #[serde(default)]
    pub output_probabilities: bool,
    /// SHA-256 of the file, lowercase hex: which model this is, exactly. Reports carry it,
    /// so numbers from another device are matched to the very files measured here. Absent
    /// in reports written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl ModelCard {
    /// `"1×28×28"`: the per-image input shape.
    pub fn input_label(&self) -> String {
        format!("{}×{}×{}", self.channels, self.height, self.width)
    }
}
