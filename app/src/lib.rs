//! # distillate-app
//!
//! The web page: a Yew front end (`app`, `components`, `state`) and an inference worker
//! (`agent`) that owns the models, both compiled from this crate. The main thread fetches
//! bytes; the worker parses, runs and times; messages are in `protocol`.

pub mod agent;
pub mod app;
pub mod browser;
pub mod components;
pub mod format;
pub mod hooks;
pub mod loader;
pub mod pool;
pub mod protocol;
pub mod state;

/// Engine build features of this compilation, shown on the environment card.
pub fn build_features() -> String {
    format!("wasm32 · {}", distillate_engine::SIMD_FEATURES)
}
