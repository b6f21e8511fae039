//! # distillate-app
//!
//! The web page: a Yew front end (`app`, `components`, `state`) that talks to the inference
//! worker (crate `distillate-worker`, which owns the models) through `worker_link`, with the
//! messages of crate `distillate-protocol`. The main
//! thread fetches bytes; the worker parses, runs and times. This crate uses the engine
//! without its `runtime` feature: the page's bundle carries no tract.

pub mod app;
pub mod auto_measure;
pub mod browser;
pub mod components;
pub mod demo;
pub mod eval_pool;
pub mod format;
pub mod headline;
pub mod hooks;
pub mod loader;
pub mod pool;
pub mod rungs;
pub mod state;
#[cfg(test)]
mod test_support;
pub mod timeline;
pub mod worker_link;
