//! The whole run: teacher → soft targets → student ladder (distilled, each exported with a
//! parity check, scored in tract and timed natively against the teacher) → choice → CE
//! baselines of the chosen architecture (one run for both) →
//! model cards, ladder summary, sample set and demo manifest.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use distillate_engine::bench::{AbBenchmark, BenchConfig, InstantClock};
use distillate_engine::manifest::{Manifest, ModelEntry, SampleSet};
use distillate_engine::metrics::argmax;
use distillate_engine::preprocess::PreprocessSpec;
use distillate_engine::{Model, Runner};
use serde::{Deserialize, Serialize};

use crate::config::{PipelineConfig, TrainConfig};
use crate::data::{CLASS_NAMES, Dataset, FASHION_MNIST_MEAN, FASHION_MNIST_STD, PIXELS, Split};
use crate::model::{Arch, Cnn};
use crate::train::{Job, Objective, SoftTargets, TrainLog, predict, predict_with, train, train_last_and_early_stopped};

/// Largest |burn − tract| logit difference accepted after export.
pub const PARITY_TOLERANCE: f32 = 1e-4;
/// Test images compared between burn and tract after export.
const PARITY_IMAGES: usize = 256;

/// Everything known about one trained model: its model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCard {
    /// Identifier in the manifest.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `teacher`, `student` (distilled) or `baseline` (same architecture, CE only).
    pub role: String,
    /// Architecture label.
    pub architecture: String,
    /// Architecture.
    pub arch: Arch,
    /// Parameters in the exported ONNX (BatchNorm folded).
    pub params: u64,
    /// MACs per image (tract's cost model).
    pub macs: u64,
    /// ONNX file size.
    pub bytes: u64,
    /// Top-1 accuracy on the test images, run through the exported ONNX in tract.
    pub test_accuracy: f64,
    /// Test images evaluated.
    pub test_images: usize,
    /// Best validation accuracy.
    pub val_accuracy: f64,
    /// Top-1 agreement with the teacher on the test images (students).
    pub teacher_agreement: Option<f64>,
    /// Max |burn − tract| logit difference on the parity images.
    pub export_max_abs_diff: f32,
    /// Native tract median latency per image, ms, on the training machine.
    pub native_latency_ms: f64,
    /// Training record.
    pub training: TrainLog,
    /// Loss: `cross_entropy` or `distillation`.
    pub loss: String,
    /// α of the distillation loss (students).
    pub kd_alpha: Option<f64>,
    /// T of the distillation loss (students).
    pub kd_temperature: Option<f64>,
    /// Training settings.
    pub config: TrainConfig,
    /// Seed.
    pub seed: u64,
}

/// The ladder summary: which student was chosen and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderSummary {
    /// Teacher id.
    pub teacher: String,
    /// Ladder ids, smallest first.
    pub ladder: Vec<String>,
    /// The chosen student.
    pub chosen: String,
    /// The rule that chose it, with its numbers.
    pub reason: String,
    /// The CE-only baseline of the chosen architecture.
    pub baseline: String,
    /// Test accuracy gained by distillation over the baseline, points.
    pub distillation_gain_points: f64,
    /// The same architecture trained with cross-entropy for every epoch (no early stop,
    /// last weights kept), if the config asked for it.
    pub full_length_baseline: Option<String>,
    /// Test accuracy gained by distillation over the full-length baseline, points.
    pub distillation_gain_full_length_points: Option<f64>,
    /// Native teacher latency ÷ chosen student latency, on the training machine.
    pub speedup: f64,
    /// All cards, teacher first.
    pub cards: Vec<TrainingCard>,
    /// Wall-clock seconds of the whole pipeline.
    pub pipeline_seconds: f64,
    /// Where the time went: (stage, seconds).
    pub time_by_stage: Vec<(String, f64)>,
}

/// The preprocessing every model of the pipeline was trained with.
pub fn preprocess_spec() -> PreprocessSpec {
    PreprocessSpec { mean: vec![FASHION_MNIST_MEAN], std: vec![FASHION_MNIST_STD], ..Default::default() }
}

/// Runs the pipeline and writes everything under `out`.
pub fn run(config: &PipelineConfig, out: &Path) -> anyhow::Result<LadderSummary> {
    config.check()?;
    let started = Instant::now();
    let mut stages: Vec<(String, f64)> = Vec::new();
    let mut lap = Instant::now();
    let mut mark = |name: &str, lap: &mut Instant| {
        stages.push((name.to_string(), lap.elapsed().as_secs_f64()));
        *lap = Instant::now();
    };

    let data = Dataset::load(
        Path::new(&config.data_dir),
        config.validation_size,
        config.train_limit,
        config.test_limit,
        config.seed,
    )?;
    eprintln!("data: {} train, {} validation, {} test", data.train.len(), data.val.len(), data.test.len());
    std::fs::create_dir_all(out.join("models")).with_context(|| format!("cannot create {}", out.display()))?;
    mark("load data", &mut lap);

    let classes = CLASS_NAMES.len();
    let teacher_arch = Arch { stages: config.teacher_stages.clone(), classes };
    let (teacher, log) = train(&Job {
        arch: &teacher_arch,
        config: &config.teacher,
        objective: &Objective::CrossEntropy,
        train: &data.train,
        val: &data.val,
        seed: config.seed,
        log_prefix: "teacher",
    })?;
    mark("train teacher", &mut lap);
    let teacher_test = predict(&teacher, &data.test)?;
    let mut teacher_card = export(ExportJob {
        id: "teacher",
        name: "Teacher CNN",
        role: "teacher",
        model: &teacher,
        arch: &teacher_arch,
        log,
        config: &config.teacher,
        kd: None,
        seed: config.seed,
        data: &data,
        burn_test_logits: &teacher_test,
        teacher_test_logits: None,
        out,
    })?;
    mark("export teacher", &mut lap);

    let targets = SoftTargets {
        plain: predict(&teacher, &data.train)?,
        mirrored: predict_with(&teacher, &data.train, true)?,
        classes,
    };
    mark("teacher soft targets", &mut lap);

    // Native latency of every model, each interleaved with the teacher: measured as each
    // student is exported, because the choice of student depends on it.
    let teacher_bytes = std::fs::read(out.join("models/teacher.onnx"))?;
    let mut teacher_latencies = Vec::new();
    let measure = |card: &mut TrainingCard, teacher_latencies: &mut Vec<f64>| -> anyhow::Result<()> {
        let bytes = std::fs::read(out.join(format!("models/{}.onnx", card.id)))?;
        let (t, s) = native_latency(&teacher_bytes, &bytes, &data.test)?;
        card.native_latency_ms = s;
        teacher_latencies.push(t);
        Ok(())
    };

    let mut ladder_cards = Vec::new();
    for (i, spec) in config.students.iter().enumerate() {
        let arch = Arch { stages: spec.stages.clone(), classes };
        let id = format!("student-{}", spec.name);
        let objective = Objective::Distill(&targets, config.kd.clone());
        let seed = config.seed + 1 + i as u64;
        let (model, log) = train(&Job {
            arch: &arch,
            config: &config.student,
            objective: &objective,
            train: &data.train,
            val: &data.val,
            seed,
            log_prefix: &id,
        })?;
        let burn_logits = predict(&model, &data.test)?;
        let mut card = export(ExportJob {
            id: &id,
            name: &format!("Student {} (distilled)", spec.name),
            role: "student",
            model: &model,
            arch: &arch,
            log,
            config: &config.student,
            kd: Some((config.kd.alpha, config.kd.temperature)),
            seed,
            data: &data,
            burn_test_logits: &burn_logits,
            teacher_test_logits: Some(&teacher_test),
            out,
        })?;
        measure(&mut card, &mut teacher_latencies)?;
        ladder_cards.push(card);
        mark(&format!("train + export {id}"), &mut lap);
    }

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (chosen_index, reason) = choose(&teacher_card, mean(&teacher_latencies), &ladder_cards, config);
    let spec = &config.students[chosen_index];
    let arch = Arch { stages: spec.stages.clone(), classes };
    // Same seed as the distilled student: the only difference is the loss.
    let seed = config.seed + 1 + chosen_index as u64;
    // With the full-length baseline, one run gives both: its last weights, and the
    // checkpoint the early-stop rule would have kept from the same run.
    let full_length = TrainConfig { restore_best: false, ..config.student.clone() };
    let early_id = format!("baseline-{}", spec.name);
    let full_id = format!("baseline-{}-full", spec.name);
    let job = Job {
        arch: &arch,
        config: &config.student,
        objective: &Objective::CrossEntropy,
        train: &data.train,
        val: &data.val,
        seed,
        log_prefix: &full_id,
    };
    let trained = if config.full_length_baseline {
        let (full, early) = train_last_and_early_stopped(&job)?;
        vec![
            (early_id, "cross-entropy only", &config.student, early),
            (full_id, "cross-entropy, every epoch", &full_length, full),
        ]
    } else {
        let early = train(&Job { log_prefix: &early_id, ..job })?;
        vec![(early_id, "cross-entropy only", &config.student, early)]
    };
    mark("train baselines", &mut lap);
    let mut baseline_cards = Vec::new();
    for (id, how, train_config, (model, log)) in trained {
        let burn_logits = predict(&model, &data.test)?;
        let mut card = export(ExportJob {
            id: &id,
            name: &format!("Student {} ({how})", spec.name),
            role: "baseline",
            model: &model,
            arch: &arch,
            log,
            config: train_config,
            kd: None,
            seed,
            data: &data,
            burn_test_logits: &burn_logits,
            teacher_test_logits: Some(&teacher_test),
            out,
        })?;
        measure(&mut card, &mut teacher_latencies)?;
        baseline_cards.push(card);
        mark(&format!("export {id}"), &mut lap);
    }
    teacher_card.native_latency_ms = mean(&teacher_latencies);

    let chosen = &ladder_cards[chosen_index];
    let mut cards = vec![teacher_card.clone()];
    cards.extend(ladder_cards.iter().cloned());
    cards.extend(baseline_cards.iter().cloned());
    for card in &cards {
        let path = out.join(format!("models/{}.card.json", card.id));
        std::fs::write(&path, serde_json::to_string_pretty(card)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    write_samples(config, out)?;
    let manifest = manifest(&cards, &chosen.id, &reason);
    manifest.check()?;
    std::fs::write(out.join("demo.json"), serde_json::to_string_pretty(&manifest)?)?;
    mark("cards, samples, manifest", &mut lap);

    let summary = LadderSummary {
        teacher: teacher_card.id.clone(),
        ladder: ladder_cards.iter().map(|c| c.id.clone()).collect(),
        chosen: chosen.id.clone(),
        reason,
        baseline: baseline_cards[0].id.clone(),
        distillation_gain_points: (chosen.test_accuracy - baseline_cards[0].test_accuracy) * 100.0,
        full_length_baseline: baseline_cards.get(1).map(|c| c.id.clone()),
        distillation_gain_full_length_points: baseline_cards
            .get(1)
            .map(|c| (chosen.test_accuracy - c.test_accuracy) * 100.0),
        speedup: teacher_card.native_latency_ms / chosen.native_latency_ms,
        cards,
        pipeline_seconds: started.elapsed().as_secs_f64(),
        time_by_stage: stages,
    };
    std::fs::write(out.join("models/ladder.json"), serde_json::to_string_pretty(&summary)?)?;
    Ok(summary)
}

/// The smallest student under the parameter ceiling and at least `min_speedup` × faster than
/// the teacher whose validation accuracy is within `max_drop_points` of the teacher's;
/// failing that, the most accurate of those. A constraint no student meets is dropped (the
/// reason says so). Chosen on validation accuracy and native latency, never on test numbers.
fn choose(
    teacher: &TrainingCard,
    teacher_ms: f64,
    ladder: &[TrainingCard],
    config: &PipelineConfig,
) -> (usize, String) {
    let all: Vec<usize> = (0..ladder.len()).collect();
    let mut required = Vec::new();
    let mut dropped = Vec::new();
    let small: Vec<usize> = all.iter().copied().filter(|&i| ladder[i].params <= config.max_student_params).collect();
    let small = if small.is_empty() {
        dropped.push(format!("none has ≤ {} parameters", config.max_student_params));
        all
    } else {
        required.push(format!("≤ {} parameters", config.max_student_params));
        small
    };
    let speedup = |i: usize| teacher_ms / ladder[i].native_latency_ms;
    let fast: Vec<usize> = small.iter().copied().filter(|&i| speedup(i) >= config.min_speedup).collect();
    let candidates = if fast.is_empty() {
        dropped.push(format!("none runs ≥ {:.1}× faster than the teacher", config.min_speedup));
        small
    } else {
        required.push(format!("≥ {:.1}× faster than the teacher", config.min_speedup));
        fast
    };
    let limits = match (required.is_empty(), dropped.is_empty()) {
        (false, true) => format!("with {}", required.join(" and ")),
        (false, false) => format!("with {} ({}, so that was not required)", required.join(" and "), dropped.join("; ")),
        (true, _) => format!("({}, so nothing was required)", dropped.join("; ")),
    };
    let describe = |i: usize| {
        let c = &ladder[i];
        format!(
            "{} parameters, {:.2}× faster, {:.2} % validation accuracy",
            c.params,
            speedup(i),
            c.val_accuracy * 100.0
        )
    };
    let floor = teacher.val_accuracy * 100.0 - config.max_drop_points;
    if let Some(&i) = candidates.iter().find(|&&i| ladder[i].val_accuracy * 100.0 >= floor) {
        return (
            i,
            format!(
                "smallest student {limits} within {} point(s) of the teacher's {:.2} %: {}",
                config.max_drop_points,
                teacher.val_accuracy * 100.0,
                describe(i)
            ),
        );
    }
    let &best = candidates
        .iter()
        .max_by(|&&a, &&b| ladder[a].val_accuracy.total_cmp(&ladder[b].val_accuracy))
        .expect("the ladder is not empty");
    (
        best,
        format!(
            "no student {limits} came within {} point(s) of the teacher's {:.2} % validation accuracy; the most accurate of them: {}",
            config.max_drop_points,
            teacher.val_accuracy * 100.0,
            describe(best)
        ),
    )
}

struct ExportJob<'a> {
    id: &'a str,
    name: &'a str,
    role: &'a str,
    model: &'a Cnn,
    arch: &'a Arch,
    log: TrainLog,
    config: &'a TrainConfig,
    kd: Option<(f64, f64)>,
    seed: u64,
    data: &'a Dataset,
    burn_test_logits: &'a [f32],
    teacher_test_logits: Option<&'a [f32]>,
    out: &'a Path,
}

/// Writes the ONNX, checks tract reproduces burn's logits, measures test accuracy in tract.
fn export(job: ExportJob<'_>) -> anyhow::Result<TrainingCard> {
    let doc = format!("Distillate {} {}: {} on Fashion-MNIST", job.role, job.id, job.arch.label());
    let bytes = job.model.to_onnx(&doc)?;
    let path = job.out.join(format!("models/{}.onnx", job.id));
    std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    let model = Model::load(&bytes).with_context(|| format!("tract cannot load the exported {}", job.id))?;
    let mut runner = Runner::new(&model, &preprocess_spec())?;
    let classes = job.arch.classes;
    let test = &job.data.test;
    let mut tract_logits = Vec::with_capacity(test.len() * classes);
    for i in 0..test.len() {
        tract_logits.extend_from_slice(runner.classify_luma8(28, 28, &test.pixels[i * PIXELS..(i + 1) * PIXELS])?);
    }
    let max_diff = parity(job.burn_test_logits, &tract_logits, classes);
    anyhow::ensure!(
        max_diff <= PARITY_TOLERANCE,
        "{}: exported ONNX differs from the trained network by {max_diff} (> {PARITY_TOLERANCE})",
        job.id
    );
    let accuracy = top1(&tract_logits, &test.labels, classes);
    let agreement = job.teacher_test_logits.map(|t| agreement(t, &tract_logits, classes));
    let val_accuracy = job.log.epochs.get(job.log.best_epoch - 1).map(|e| e.val_accuracy).unwrap_or(0.0);
    eprintln!(
        "{}: test accuracy {:.2} % (tract), {} params, {} MACs, export max |diff| {max_diff:.2e}",
        job.id,
        accuracy * 100.0,
        model.card().params,
        model.card().macs
    );
    Ok(TrainingCard {
        id: job.id.into(),
        name: job.name.into(),
        role: job.role.into(),
        architecture: job.arch.label(),
        arch: job.arch.clone(),
        params: model.card().params,
        macs: model.card().macs,
        bytes: bytes.len() as u64,
        test_accuracy: accuracy,
        test_images: test.len(),
        val_accuracy,
        teacher_agreement: agreement,
        export_max_abs_diff: max_diff,
        native_latency_ms: 0.0,
        training: job.log,
        loss: if job.kd.is_some() { "distillation".into() } else { "cross_entropy".into() },
        kd_alpha: job.kd.map(|k| k.0),
        kd_temperature: job.kd.map(|k| k.1),
        config: job.config.clone(),
        seed: job.seed,
    })
}

/// Max |a − b| over the first [`PARITY_IMAGES`] images.
fn parity(a: &[f32], b: &[f32], classes: usize) -> f32 {
    a.iter().zip(b).take(PARITY_IMAGES * classes).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn top1(logits: &[f32], labels: &[usize], classes: usize) -> f64 {
    let correct = logits.chunks(classes).zip(labels).filter(|(row, l)| argmax(row) == **l).count();
    correct as f64 / labels.len() as f64
}

fn agreement(a: &[f32], b: &[f32], classes: usize) -> f64 {
    let same = a.chunks(classes).zip(b.chunks(classes)).filter(|(x, y)| argmax(x) == argmax(y)).count();
    same as f64 / (a.len() / classes) as f64
}

/// Median ms per image of (teacher, other), interleaved, native tract, single thread.
fn native_latency(teacher: &[u8], other: &[u8], test: &Split) -> anyhow::Result<(f64, f64)> {
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

/// Ships the test set as the site's labelled samples: the IDX files as Zalando publish them.
fn write_samples(config: &PipelineConfig, out: &Path) -> anyhow::Result<()> {
    let dir = out.join("data");
    std::fs::create_dir_all(&dir)?;
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        let from = Path::new(&config.data_dir).join(name);
        std::fs::copy(&from, dir.join(name)).with_context(|| format!("cannot copy {}", from.display()))?;
    }
    Ok(())
}

fn manifest(cards: &[TrainingCard], chosen: &str, reason: &str) -> Manifest {
    let models = cards
        .iter()
        .map(|c| ModelEntry {
            id: c.id.clone(),
            name: c.name.clone(),
            file: format!("models/{}.onnx", c.id),
            preprocess: preprocess_spec(),
            card: Some(format!("models/{}.card.json", c.id)),
        })
        .collect();
    Manifest {
        title: "Fashion-MNIST: a distilled CNN for warehouse item recognition".into(),
        description: "Zalando's Fashion-MNIST product images (the item types a fulfilment centre picks and packs); \
                      a CNN teacher and students distilled from it, trained on CPU by distill/."
            .into(),
        labels: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        models,
        teacher: "teacher".into(),
        student: chosen.into(),
        ladder: cards.iter().filter(|c| c.role == "student").map(|c| c.id.clone()).collect(),
        choice: Some(reason.to_string()),
        samples: Some(SampleSet {
            images: "data/t10k-images-idx3-ubyte.gz".into(),
            labels: "data/t10k-labels-idx1-ubyte.gz".into(),
        }),
        gallery: vec![],
        cost: Default::default(),
        thresholds: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::StopReason;

    fn card(id: &str, params: u64, val_accuracy: f64, native_latency_ms: f64) -> TrainingCard {
        TrainingCard {
            id: id.into(),
            name: id.into(),
            role: "student".into(),
            architecture: String::new(),
            arch: Arch { stages: vec![vec![1]], classes: 10 },
            params,
            macs: 0,
            bytes: 0,
            test_accuracy: 0.0,
            test_images: 0,
            val_accuracy,
            teacher_agreement: None,
            export_max_abs_diff: 0.0,
            native_latency_ms,
            training: TrainLog {
                epochs: vec![],
                best_epoch: 1,
                stop_reason: StopReason::MaxEpochs,
                wall_seconds: 0.0,
                train_images_per_second: 0.0,
            },
            loss: String::new(),
            kd_alpha: None,
            kd_temperature: None,
            config: TrainConfig::default(),
            seed: 0,
        }
    }

    #[test]
    fn choice_skips_students_slower_than_the_speedup_floor() {
        let teacher = card("teacher", 300_000, 0.945, 0.6);
        // The most accurate small student is only 2.4× faster: not eligible.
        let ladder = [card("a", 10_000, 0.89, 0.08), card("b", 86_000, 0.925, 0.17), card("c", 74_000, 0.93, 0.25)];
        let (i, reason) = choose(&teacher, 0.6, &ladder, &PipelineConfig::default());
        assert_eq!(ladder[i].id, "b", "{reason}");
        assert!(reason.contains("≥ 3.0× faster"), "{reason}");
    }

    #[test]
    fn choice_takes_the_smallest_student_close_enough_to_the_teacher() {
        let teacher = card("teacher", 300_000, 0.94, 0.6);
        let ladder = [card("a", 10_000, 0.925, 0.08), card("b", 30_000, 0.935, 0.1), card("c", 60_000, 0.938, 0.15)];
        let (i, reason) = choose(&teacher, 0.6, &ladder, &PipelineConfig::default());
        assert_eq!(ladder[i].id, "b", "{reason}");
        assert!(reason.starts_with("smallest student"), "{reason}");
    }

    #[test]
    fn choice_drops_a_constraint_no_student_meets_and_says_so() {
        let teacher = card("teacher", 300_000, 0.94, 0.2);
        let ladder = [card("a", 10_000, 0.90, 0.1), card("b", 50_000, 0.92, 0.15), card("c", 200_000, 0.95, 0.18)];
        let (i, reason) = choose(&teacher, 0.2, &ladder, &PipelineConfig::default());
        assert_eq!(ladder[i].id, "b", "{reason}");
        assert!(reason.contains("none runs ≥ 3.0× faster"), "{reason}");
    }
}
