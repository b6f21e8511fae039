//! # distillate-worker
//!
//! The inference worker the page spawns (`bin/worker.rs` registers [`agent::InferenceWorker`]):
//! it owns the loaded models and the sample set, and answers the page's
//! [`distillate_app::protocol::Request`]s. A crate of its own because it is the only part
//! of the site that links tract.

pub mod agent;
