//! From a trained network to what the site ships: the ONNX file, checked against PyTorch in
//! tract, scored on the test images through the same engine the page runs, and timed.

use std::path::Path;

use anyhow::Context;
use distillate_engine::bench::{AbBenchmark, BenchConfig, InstantClock};
use distillate_engine::metrics::{EvalSummary, Evaluation, accuracy, argmax};
use distillate_engine::preprocess::PreprocessSpec;
use distillate_engine::{Model, Runner};

use crate::config::{KdConfig, TrainConfig};
use crate::data::{Dataset, FASHION_MNIST_MEAN, FASHION_MNIST_STD, PIXELS, Split};
use crate::model::{Arch, Cnn};
use crate::stage::StageRecord;
use crate::train::{TrainLog, predict};
use distillate_engine::training::{Role, TrainingCard};

/// Largest |PyTorch − tract| logit difference accepted after export.
pub const PARITY_TOLERANCE: f32 = 1e-4;
/// Test images compared between PyTorch and tract after export.
const PARITY_IMAGES: usize = 256;

/// The preprocessing every model of the pipeline was trained with.
pub fn preprocess_spec() -> PreprocessSpec {
    PreprocessSpec { mean: vec![FASHION_MNIST_MEAN], std: vec![FASHION_MNIST_STD], ..Default::default() }
}

/// A network fresh from training, with what its card needs to say about it.
pub struct Trained<'a> {
    /// Identifier in the manifest (and file name).
    pub id: &'a str,
    /// Display name.
    pub name: String,
    /// Teacher, student or baseline.
    pub role: Role,
    /// Architecture.
    pub arch: &'a Arch,
    /// The weights, in validation mode.
    pub model: &'a mut Cnn,
    /// Its training record.
    pub log: TrainLog,
    /// The settings it trained with.
    pub config: &'a TrainConfig,
    /// The distillation loss, for students.
    pub kd: Option<&'a KdConfig>,
    /// Seed.
    pub seed: u64,
}

/// Where models are written and what they are scored against.
pub struct Exporter<'a> {
    /// The splits.
    pub data: &'a Dataset,
    /// The site's static directory.
    pub out: &'a Path,
    /// The teacher's test logits in tract (absent while exporting the teacher itself).
    pub teacher_test: Option<&'a [f32]>,
}

impl Exporter<'_> {
    /// Writes the ONNX, checks tract reproduces the trained network's logits, scores it in tract.
    pub fn export(&self, t: Trained<'_>, stage: StageRecord) -> anyhow::Result<TrainingCard> {
        let doc = format!("Distillate {} {}: {} on Fashion-MNIST", t.role.as_str(), t.id, t.arch.label());
        let bytes = t.model.to_onnx(&doc)?;
        let path = self.out.join(format!("models/{}.onnx", t.id));
        std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
        let model = Model::load(&bytes).with_context(|| format!("tract cannot load the exported {}", t.id))?;
        let test = &self.data.test;
        let tract = tract_logits(&model, test)?;
        let max_diff = predict(t.model, test)?
            .iter()
            .zip(&tract)
            .take(PARITY_IMAGES * t.arch.classes)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        anyhow::ensure!(
            max_diff <= PARITY_TOLERANCE,
            "{}: exported ONNX differs from the trained network by {max_diff} (> {PARITY_TOLERANCE})",
            t.id
        );
        let classes = t.arch.classes;
        let predictions: Vec<usize> = tract.chunks(classes).map(argmax).collect();
        let test_accuracy = accuracy(&predictions, &test.labels)?;
        let against_teacher = self.teacher_test.map(|teacher| evaluate(teacher, &tract, test)).transpose()?;
        let val_accuracy = t.log.epochs.get(t.log.best_epoch - 1).map(|e| e.val_accuracy).unwrap_or(0.0);
        eprintln!(
            "{}: test accuracy {:.2} % (tract), agreement {}, {} params, {} MACs, export max |diff| {max_diff:.2e}",
            t.id,
            test_accuracy * 100.0,
            against_teacher.as_ref().map_or("—".into(), |e| format!("{:.2} %", e.agreement * 100.0)),
            model.card().params,
            model.card().macs
        );
        Ok(TrainingCard {
            id: t.id.into(),
            name: t.name,
            role: t.role,
            architecture: t.arch.label(),
            arch: t.arch.clone(),
            params: model.card().params,
            macs: model.card().macs,
            bytes: bytes.len() as u64,
            test_accuracy,
            test_images: test.len(),
            val_accuracy,
            teacher_agreement: against_teacher.as_ref().map(|e| e.agreement),
            teacher_mean_kl: against_teacher.as_ref().map(|e| e.mean_kl),
            export_max_abs_diff: max_diff,
            native_latency_ms: 0.0,
            training: t.log,
            loss: if t.kd.is_some() { "distillation".into() } else { "cross_entropy".into() },
            kd_alpha: t.kd.map(|k| k.alpha),
            kd_temperature: t.kd.map(|k| k.temperature),
            config: t.config.clone(),
            seed: t.seed,
            stage: Some(stage),
            quantization: None,
            members: Vec::new(),
        })
    }
}

/// Logits `[n, classes]` of `model` on every image of `split`, through the engine's own
/// preprocessing (what the page and the CLI run).
pub fn tract_logits(model: &Model, split: &Split) -> anyhow::Result<Vec<f32>> {
    let mut runner = Runner::new(model, &preprocess_spec())?;
    let mut logits = Vec::with_capacity(split.len() * model.card().classes);
    for image in split.pixels.chunks(PIXELS) {
        logits.extend_from_slice(runner.classify_luma8(28, 28, image)?);
    }
    Ok(logits)
}

/// Teacher against another model on `split`'s labels: the engine's [`Evaluation`].
pub fn evaluate(teacher: &[f32], other: &[f32], split: &Split) -> anyhow::Result<EvalSummary> {
    let classes = teacher.len() / split.len().max(1);
    let mut eval = Evaluation::new(classes);
    for ((t, s), &label) in teacher.chunks(classes).zip(other.chunks(classes)).zip(&split.labels) {
        eval.add(t, s, label)?;
    }
    Ok(eval.summary()?)
}

/// Median ms per image of (teacher, other), interleaved, native tract, single thread.
pub fn native_latency(teacher: &[u8], other: &[u8], test: &Split) -> anyhow::Result<(f64, f64)> {
    let spec = preprocess_spec();
    let mut t = Runner::from_bytes(teacher, &spec)?;
    let mut s = Runner::from_bytes(other, &spec)?;
    t.classify_luma8(28, 28, &test.pixels[..PIXELS])?;
    s.classify_luma8(28, 28, &test.pixels[..PIXELS])?;
    let config = BenchConfig { warmup_ms: 200.0, min_duration_ms: 1500.0, ..Default::default() };
    let samples =
        AbBenchmark::new(config)?
            .run(&InstantClock::default(), &mut || t.run_current().map(|_| ()), &mut || s.run_current().map(|_| ()))?;
    let report = distillate_engine::report::LatencyReport::from_samples(&samples)?;
    Ok((report.teacher.median, report.student.median))
}
