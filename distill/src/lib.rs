//! # distillate-distill
//!
//! Trains the models the site ships, on the CPU, from Fashion-MNIST: a teacher CNN, a
//! ladder of students distilled from it, and a cross-entropy baseline of the chosen student's
//! architecture so the gain from distillation is measured. Exports each to ONNX with
//! BatchNorm folded, checks tract reproduces the trained network, and writes model cards and
//! the demo manifest.
//!
//! Split like burn's `examples/mnist`: [`data`], [`model`] (held by a PyTorch worker,
//! [`torch`]), [`train`], with one
//! [`config::PipelineConfig`] and the orchestration in [`pipeline`]; [`soft`] caches the
//! teacher's logits per view, [`stage`] reuses models whose inputs did not change,
//! [`choice`] picks the student by the page's readiness verdict, [`export`] writes and
//! scores the ONNX files their training cards (`distillate_engine::training`) describe,
//! [`teacher`] trains the teacher's members and averages them, [`checkpoint`] lets a stopped training go on from its last epoch, [`int8`] adds the chosen student quantized, [`site`] the manifest and sample set.

pub mod checkpoint;
pub mod choice;
pub mod config;
pub mod data;
pub mod export;
pub mod int8;
pub mod model;
pub mod pipeline;
pub mod site;
pub mod soft;
pub mod stage;
pub mod teacher;
pub mod torch;
pub mod train;
