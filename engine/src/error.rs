//! The engine's typed error: everything a user can get wrong, named precisely.
//!
//! Binaries wrap these with context (anyhow); the web app shows `to_string()` as is,
//! so every message is a complete sentence a person can act on.

use thiserror::Error;

/// Result alias used across the engine.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong with data a user supplied (model, image, manifest, labels, inputs).
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are empty or are not an ONNX protobuf at all.
    #[error("not an ONNX model: {0}")]
    NotOnnx(String),
    /// The model file is larger than [`crate::limits::MAX_MODEL_BYTES`].
    #[error("model is {size} bytes, over the {limit}-byte limit")]
    ModelTooLarge {
        /// Size of the file.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// One or more operators have no implementation in tract.
    #[error("unsupported ONNX operator(s): {0}")]
    UnsupportedOperator(String),
    /// The model's input is not usable as an NCHW float image.
    #[error("unusable model input: {0}")]
    BadInput(String),
    /// A dimension is symbolic and cannot be fixed to a number.
    #[error("cannot fix model dimension: {0}")]
    DynamicDimension(String),
    /// The model's output is not `[1, K]` class scores.
    #[error("unusable model output: {0}")]
    BadOutput(String),
    /// tract could not analyse, optimise or run the model.
    #[error("model cannot be prepared: {0}")]
    Model(String),
    /// The image could not be decoded.
    #[error("cannot decode image: {0}")]
    ImageDecode(String),
    /// The image has more pixels than [`crate::limits::MAX_IMAGE_PIXELS`].
    #[error("image is {width}×{height} pixels, over the {limit}-pixel limit")]
    ImageTooLarge {
        /// Width from the header.
        width: u64,
        /// Height from the header.
        height: u64,
        /// The limit it broke.
        limit: u64,
    },
    /// The preprocessing spec does not fit the model or is invalid.
    #[error("invalid preprocessing: {0}")]
    Preprocess(String),
    /// A manifest, labels or report file could not be parsed or is inconsistent.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// What was being read ("manifest", "labels file", "IDX file", ...).
        what: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Teacher and student cannot be compared.
    #[error("models are not comparable: {0}")]
    Incompatible(String),
    /// Inputs to a computation are out of range (empty sample set, negative cost, NaN, ...).
    #[error("invalid input: {0}")]
    Input(String),
    /// One model of a pair failed: which one, and why.
    #[error("{role} '{name}': {source}")]
    InModel {
        /// `teacher` or `student`.
        role: &'static str,
        /// The model's name as the person supplied it.
        name: String,
        /// What is wrong with it.
        source: Box<Error>,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { what, message: message.into() }
    }
}
