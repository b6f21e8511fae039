//! # distillate-engine
//!
//! Everything Distillate measures, as a pure library that runs natively and in wasm32:
//! load an ONNX image classifier from bytes ([`model`]), preprocess images
//! ([`preprocess`], [`idx`]), run them ([`runner`]), score them ([`metrics`]), time them
//! ([`bench`], [`stats`]), price them ([`cost`]), judge the student ([`verdict`]) and write
//! it all up ([`report`]). A demo is described by a [`manifest`]; a page's settings travel
//! in a link ([`share`]).
//!
//! The engine takes bytes and slices, never paths or browser objects: the CLI reads files,
//! the web app fetches them, and both hand the bytes here.
//!
//! Feature `runtime` (default) is tract: [`model`], [`maxpool`], [`runner`], [`pair`], [`ensemble`] and [`onnx_build`]. Without
//! it the engine is the measuring, scoring and reporting half only — what the web page's
//! main thread needs, so that its bundle does not carry an inference runtime it never runs
//! (the worker has its own).

pub mod bench;
pub mod card;
#[cfg(feature = "runtime")]
mod channels_last;
pub mod compare;
#[cfg(feature = "runtime")]
pub mod conv;
pub mod cost;
pub mod devices;
pub mod energy;
#[cfg(feature = "runtime")]
pub mod ensemble;
pub mod error;
#[cfg(feature = "runtime")]
mod exporters;
pub mod idx;
pub mod limits;
pub mod load;
pub mod load_report;
pub mod manifest;
#[cfg(feature = "runtime")]
pub mod maxpool;
pub mod metrics;
#[cfg(feature = "runtime")]
pub mod model;
#[cfg(feature = "runtime")]
pub mod onnx_build;
#[cfg(feature = "runtime")]
pub mod pair;
pub mod preprocess;
#[cfg(feature = "runtime")]
mod probabilities;
#[cfg(feature = "runtime")]
pub mod quantize;
pub mod report;
#[cfg(feature = "runtime")]
pub mod runner;
pub mod scorecard;
pub mod share;
pub mod stats;
pub mod training;
pub mod utc;
#[cfg(feature = "runtime")]
mod validate;
pub mod verdict;
pub use distillate_kernels::{conv_kernel, simd4, winograd};

pub use error::{Error, Result};

/// The SIMD this build of the engine was compiled with (its kernels follow the same
/// target features), as the web app and the benchmark show it.
pub const SIMD_FEATURES: &str = if cfg!(target_feature = "relaxed-simd") {
    "simd128 + relaxed-simd"
} else if cfg!(target_feature = "simd128") {
    "simd128"
} else {
    "scalar"
};
/// The instruction-set features tract probed here and picks its kernels by, e.g.
/// `x86_64,avx,avx2,fma,f16c` or `aarch64,fp16,dotprod`. (Its one-word rung names a level,
/// not a feature — an AVX-512 VNNI machine is "fp16" — so the list is what reports show.)
#[cfg(feature = "runtime")]
pub fn kernel_isa() -> String {
    format!("{:?}", tract_onnx::tract_core::tract_linalg::isa::native())
}

pub use card::{BatchDim, ModelCard};
pub use manifest::Manifest;
#[cfg(feature = "runtime")]
pub use model::{Classifier, Convolutions, Model};
#[cfg(feature = "runtime")]
pub use pair::Pair;
pub use preprocess::{PreprocessSpec, Preprocessor};
pub use report::Report;
#[cfg(feature = "runtime")]
pub use runner::Runner;

// The same unit tests run natively and, through wasm-bindgen-test, in headless Chromium.
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
