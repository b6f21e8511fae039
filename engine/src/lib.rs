//! # distillate-engine
//!
//! Everything Distillate measures, as a pure library that runs natively and in wasm32:
//! load an ONNX image classifier from bytes ([`model`]), preprocess images ([`preprocess`]),
//! run them, score them ([`metrics`]), time them ([`bench`], [`stats`]), price them
//! ([`cost`]), judge the student ([`verdict`]) and write it all up ([`report`]).
//!
//! The engine takes bytes and slices, never paths or browser objects: the CLI reads files,
//! the web app fetches them, and both hand the bytes here.

pub mod error;
pub mod limits;
pub mod model;
pub mod onnx_build;

pub use error::{Error, Result};
pub use model::{BatchDim, Classifier, Model, ModelCard};
