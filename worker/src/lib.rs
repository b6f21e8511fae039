//! # distillate-worker
//!
//! The inference worker the page spawns (`bin/worker.rs` registers [`agent::InferenceWorker`]):
//! it owns the loaded models and the sample set, and answers the page's
//! [`distillate_protocol::Request`]s. [`core`] does the work and is tested natively;
//! [`agent`] is the browser shell around it. A crate of its own because it is the only part
//! of the site that links tract.

pub mod agent;
pub mod core;
