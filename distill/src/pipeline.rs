//! The whole run, in stages, each cached by its inputs (see [`crate::stage`]): teacher →
//! soft targets for every view → student ladder (distilled, exported with a parity check,
//! scored in tract, timed natively against the teacher) → choice by the readiness verdict
//! → cross-entropy baselines of the chosen architecture (one run for both) → the chosen
//! student quantized to int8 ([`crate::int8`]) → model cards, ladder summary, sample set and
//! demo manifest ([`crate::site`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use distillate_engine::Model;
use distillate_engine::verdict::Thresholds;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::checkpoint::Checkpoint;
use crate::choice::{Candidate, StudentVerdict, choose};
use crate::config::{KdConfig, PipelineConfig, StudentSpec, TrainConfig};
use crate::data::{CLASS_NAMES, Dataset};
use crate::export::{Exporter, Trained, evaluate, native_latency, tract_logits};
use crate::int8;
use crate::model::Arch;
use crate::site::{manifest, write_samples};
use crate::soft::{SoftTargets, fnv1a64};
use crate::stage::{Rebuild, StageRecord, cached};
use crate::train::{Job, Objective, train, train_last_and_early_stopped};
use distillate_engine::training::{Role, TrainingCard};

/// How to run the stages.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stages to run again even if cached.
    pub rebuild: Rebuild,
    /// Where the soft targets are cached (hundreds of MB; not shipped).
    pub cache_dir: PathBuf,
    /// Threads for the teacher's soft targets.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rebuild: Rebuild::Nothing,
            cache_dir: PathBuf::from("target/distill-cache"),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        }
    }
}

/// The ladder summary: which student was chosen and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderSummary {
    /// Teacher id.
    pub teacher: String,
    /// Ladder ids, in training order.
    pub ladder: Vec<String>,
    /// The chosen student.
    pub chosen: String,
    /// The rule that chose it, with its numbers.
    pub reason: String,
    /// Every ladder student's readiness verdict on the validation images.
    pub verdicts: Vec<StudentVerdict>,
    /// The CE-only baseline of the chosen architecture (early-stop rule).
    pub baseline: String,
    /// Test accuracy gained by distillation over the baseline, points.
    pub distillation_gain_points: f64,
    /// Test top-1 agreement with the teacher gained over the baseline, points.
    pub agreement_gain_points: f64,
    /// The same architecture trained with cross-entropy for every epoch (no early stop,
    /// last weights kept), if the config asked for it.
    pub full_length_baseline: Option<String>,
    /// Test accuracy gained by distillation over the full-length baseline, points.
    pub distillation_gain_full_length_points: Option<f64>,
    /// Test agreement gained over the full-length baseline, points.
    pub agreement_gain_full_length_points: Option<f64>,
    /// Native teacher latency ÷ chosen student latency, on the training machine.
    pub speedup: f64,
    /// All cards, teacher first.
    pub cards: Vec<TrainingCard>,
    /// Wall-clock seconds of this run of the pipeline.
    pub pipeline_seconds: f64,
    /// Where this run's time went: (stage, seconds); a reused stage costs ~0.
    pub time_by_stage: Vec<(String, f64)>,
}

/// Laps of the run, by stage.
struct Laps {
    lap: Instant,
    stages: Vec<(String, f64)>,
}

impl Laps {
    fn mark(&mut self, name: &str) {
        self.stages.push((name.to_string(), self.lap.elapsed().as_secs_f64()));
        self.lap = Instant::now();
    }
}

/// What trained the models: part of every stage's key, so models of another trainer (the
/// burn-trained ones before 2026-12-03) are never reused as if this one had made them.
const TRAINER: &str = "pytorch";

/// Where stage `id` checkpoints its training: named by its key, so a run with other inputs
/// never resumes from it.
pub(crate) fn checkpoint_for(cache_dir: &Path, id: &str, record: &StageRecord) -> Checkpoint {
    let key = fnv1a64(record.key.to_string().as_bytes());
    Checkpoint::new(cache_dir.join("checkpoints").join(format!("{id}-{key:016x}")))
}

/// A stage's cache key: everything its model depends on.
pub(crate) fn key(
    arch: &Arch,
    config: &TrainConfig,
    seed: u64,
    data: &serde_json::Value,
    loss: serde_json::Value,
) -> serde_json::Value {
    json!({ "arch": arch, "config": config, "seed": seed, "data": data, "loss": loss, "trainer": TRAINER })
}

/// Trains (or reuses) one model: `make` runs only when the cache cannot stand for it, and
/// its card gets the stage's record.
pub(crate) fn stage(
    out: &Path,
    id: &str,
    key: serde_json::Value,
    rebuild: &Rebuild,
    make: impl FnOnce(StageRecord) -> anyhow::Result<Vec<TrainingCard>>,
) -> anyhow::Result<Vec<TrainingCard>> {
    if let Some(card) = cached(out, id, &key, rebuild) {
        eprintln!(
            "{id}: reusing the model its stage made at {}",
            card.stage.as_ref().map_or("?", |s| s.started.as_str())
        );
        return Ok(vec![card]);
    }
    let started = Instant::now();
    let record = StageRecord { started: distillate_engine::utc::now_rfc3339(), seconds: 0.0, key };
    let mut cards = make(record)?;
    for card in &mut cards {
        if let Some(s) = card.stage.as_mut() {
            s.seconds = started.elapsed().as_secs_f64();
        }
        // Written as soon as the stage ends, so a run stopped later keeps what it finished.
        write_card(out, card)?;
    }
    Ok(cards)
}

fn write_card(out: &Path, card: &TrainingCard) -> anyhow::Result<()> {
    let path = out.join(format!("models/{}.card.json", card.id));
    std::fs::write(&path, serde_json::to_string_pretty(card)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Runs the pipeline and writes everything under `out`.
pub fn run(config: &PipelineConfig, out: &Path, options: &Options) -> anyhow::Result<LadderSummary> {
    config.check()?;
    let started = Instant::now();
    let mut laps = Laps { lap: Instant::now(), stages: Vec::new() };
    let data = Dataset::load(
        Path::new(&config.data_dir),
        config.validation_size,
        config.train_limit,
        config.test_limit,
        config.seed,
    )?;
    eprintln!("data: {} train, {} validation, {} test", data.train.len(), data.val.len(), data.test.len());
    std::fs::create_dir_all(out.join("models")).with_context(|| format!("cannot create {}", out.display()))?;
    let data_key = json!({
        "validation_size": config.validation_size,
        "train_limit": config.train_limit,
        "test_limit": config.test_limit,
        "split_seed": config.seed,
    });
    laps.mark("load data");

    let mut teacher_card = crate::teacher::teacher(config, &data, &data_key, out, options)?;
    laps.mark("teacher");

    let teacher_bytes = std::fs::read(out.join("models/teacher.onnx")).context("the teacher's ONNX")?;
    let teacher_model = Model::load(&teacher_bytes)?;
    let teacher_test = tract_logits(&teacher_model, &data.test)?;
    let teacher_val = tract_logits(&teacher_model, &data.val)?;
    let teacher_hash = format!("{:016x}", fnv1a64(&teacher_bytes));
    let exporter = Exporter { data: &data, out, teacher_test: Some(&teacher_test) };
    laps.mark("teacher logits (test, validation)");

    // Native latency of every model, each interleaved with the teacher, in this run.
    let mut teacher_latencies = Vec::new();
    let measure = |card: &mut TrainingCard, teacher_latencies: &mut Vec<f64>| -> anyhow::Result<()> {
        let bytes = std::fs::read(out.join(format!("models/{}.onnx", card.id)))?;
        let (t, s) = native_latency(&teacher_bytes, &bytes, &data.test)?;
        card.native_latency_ms = s;
        teacher_latencies.push(t);
        Ok(())
    };

    let rungs: Vec<Rung<'_>> =
        (0..config.students.len()).map(|i| Rung::new(config, i, &data_key, &teacher_hash)).collect();
    let mut soft: Option<SoftTargets> = None;
    let mut ladder = Vec::new();
    for rung in &rungs {
        let needs_training = cached(out, &rung.id, &rung.key, &options.rebuild).is_none();
        if needs_training && soft.is_none() {
            let s = &config.student;
            soft = Some(SoftTargets::compute_or_load(
                &teacher_bytes,
                &data.train,
                s.max_shift,
                s.hflip,
                &options.cache_dir,
                options.threads,
            )?);
            laps.mark("teacher soft targets (every view)");
        }
        let beside = needs_training && config.baseline_beside.as_ref() == Some(&rung.spec.name);
        // Side by side, the student and its baseline get a core each.
        let threads = if beside { 1 } else { options.threads };
        let student = || {
            stage(out, &rung.id, rung.key.clone(), &options.rebuild, |record| {
                let checkpoint = checkpoint_for(&options.cache_dir, &rung.id, &record);
                let targets = soft.as_ref().context("soft targets")?;
                let objective = Objective::Distill(targets, rung.kd.clone());
                let job = Job {
                    arch: &rung.arch,
                    config: rung.train,
                    objective: &objective,
                    train: &data.train,
                    val: &data.val,
                    val_teacher: Some(&teacher_val),
                    seed: rung.seed,
                    log_prefix: &rung.id,
                    threads,
                    checkpoint: Some(&checkpoint),
                    stop_after_epochs: None,
                };
                let (mut model, log) = train(&job)?;
                let trained = Trained {
                    id: &rung.id,
                    name: format!("Student {} (distilled)", rung.spec.name),
                    role: Role::Student,
                    arch: &rung.arch,
                    model: &mut model,
                    log,
                    config: rung.train,
                    kd: Some(rung.kd),
                    seed: rung.seed,
                };
                Ok(vec![exporter.export(trained, record)?])
            })
        };
        let mut card = if beside {
            // The baseline's cards are written as its stage ends; the baselines step after
            // the choice reuses them if this rung is chosen.
            std::thread::scope(|s| {
                let baseline = s.spawn(|| baselines(config, options, &exporter, rung, &teacher_val, threads));
                let card = student();
                baseline.join().map_err(|_| anyhow::anyhow!("{}: the baseline's thread panicked", rung.id))??;
                card
            })?
        } else {
            student()?
        }
        .remove(0);
        measure(&mut card, &mut teacher_latencies)?;
        ladder.push(card);
        laps.mark(&if beside { format!("{} (and its baseline beside it)", rung.id) } else { rung.id.clone() });
    }

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let teacher_ms = mean(&teacher_latencies);
    let mut judged = Vec::new();
    for card in &ladder {
        let model = Model::load(&std::fs::read(out.join(format!("models/{}.onnx", card.id)))?)?;
        let val = evaluate(&teacher_val, &tract_logits(&model, &data.val)?, &data.val)?;
        judged.push((model.card().clone(), val));
    }
    let candidates: Vec<Candidate<'_>> =
        ladder.iter().zip(&judged).map(|(card, (model, val))| Candidate { card, model, val }).collect();
    let choice = choose(teacher_model.card(), teacher_ms, &candidates, config, &Thresholds::default())?;
    eprintln!("chosen: {}", choice.reason);
    laps.mark("choice");

    let mut baseline_cards =
        baselines(config, options, &exporter, &rungs[choice.index], &teacher_val, options.threads)?;
    for card in &mut baseline_cards {
        measure(card, &mut teacher_latencies)?;
    }
    laps.mark("baselines");
    let chosen = &ladder[choice.index];
    let float_bytes = int8::float_bytes(out, chosen)?;
    let mut int8_card = stage(out, &int8::id(chosen), int8::key(chosen, &float_bytes), &options.rebuild, |record| {
        Ok(vec![int8::rung(&exporter, chosen, &float_bytes, record)?])
    })?
    .remove(0);
    measure(&mut int8_card, &mut teacher_latencies)?;
    laps.mark("int8 rung");
    teacher_card.native_latency_ms = mean(&teacher_latencies);

    let mut cards = vec![teacher_card.clone()];
    cards.extend(ladder.iter().cloned());
    cards.push(int8_card);
    cards.extend(baseline_cards.iter().cloned());
    for card in &cards {
        write_card(out, card)?;
    }
    write_samples(config, out)?;
    let manifest = manifest(&cards, &chosen.id, &choice.reason);
    manifest.check()?;
    std::fs::write(out.join("demo.json"), serde_json::to_string_pretty(&manifest)?)?;
    laps.mark("cards, samples, manifest");

    let gain = |b: &TrainingCard| {
        let agreement = chosen.teacher_agreement.unwrap_or(0.0) - b.teacher_agreement.unwrap_or(0.0);
        ((chosen.test_accuracy - b.test_accuracy) * 100.0, agreement * 100.0)
    };
    let (accuracy_gain, agreement_gain) = gain(&baseline_cards[0]);
    let full = baseline_cards.get(1);
    let summary = LadderSummary {
        teacher: teacher_card.id.clone(),
        ladder: ladder.iter().map(|c| c.id.clone()).collect(),
        chosen: chosen.id.clone(),
        reason: choice.reason,
        verdicts: choice.verdicts,
        baseline: baseline_cards[0].id.clone(),
        distillation_gain_points: accuracy_gain,
        agreement_gain_points: agreement_gain,
        full_length_baseline: full.map(|c| c.id.clone()),
        distillation_gain_full_length_points: full.map(|c| gain(c).0),
        agreement_gain_full_length_points: full.map(|c| gain(c).1),
        speedup: teacher_card.native_latency_ms / chosen.native_latency_ms,
        cards,
        pipeline_seconds: started.elapsed().as_secs_f64(),
        time_by_stage: laps.stages,
    };
    std::fs::write(out.join("models/ladder.json"), serde_json::to_string_pretty(&summary)?)?;
    Ok(summary)
}

/// One rung of the ladder with everything its stages depend on.
struct Rung<'a> {
    spec: &'a StudentSpec,
    id: String,
    arch: Arch,
    /// A student's seed follows its place on the ladder; its baseline shares it.
    seed: u64,
    train: &'a TrainConfig,
    kd: &'a KdConfig,
    /// The student stage's cache key.
    key: serde_json::Value,
    data_key: &'a serde_json::Value,
    teacher_hash: &'a str,
}

impl<'a> Rung<'a> {
    fn new(config: &'a PipelineConfig, i: usize, data_key: &'a serde_json::Value, teacher_hash: &'a str) -> Self {
        let spec = &config.students[i];
        let arch = Arch { stages: spec.stages.clone(), classes: CLASS_NAMES.len() };
        let (train, kd) = (spec.train_config(config), spec.kd_config(config));
        let seed = config.seed + 1 + i as u64;
        let loss = json!({ "distillation": kd, "teacher": teacher_hash });
        let key = key(&arch, train, seed, data_key, loss);
        Rung { spec, id: format!("student-{}", spec.name), arch, seed, train, kd, key, data_key, teacher_hash }
    }
}

/// A rung's architecture trained with cross-entropy only, with the student's seed and
/// schedule (the only difference is the loss): with the full-length baseline, one run gives
/// both its last weights and the checkpoint the early-stop rule keeps from the same run.
fn baselines(
    config: &PipelineConfig,
    options: &Options,
    exporter: &Exporter<'_>,
    rung: &Rung<'_>,
    teacher_val: &[f32],
    threads: usize,
) -> anyhow::Result<Vec<TrainingCard>> {
    let out = exporter.out;
    let (spec, arch, seed) = (rung.spec, &rung.arch, rung.seed);
    let full_config = TrainConfig { restore_best: false, ..rung.train.clone() };
    let early_id = format!("baseline-{}", spec.name);
    let full_id = format!("baseline-{}-full", spec.name);
    let loss = |rule: &str| json!({ "cross_entropy": rule, "scored_against": rung.teacher_hash });
    let early_key = key(arch, rung.train, seed, rung.data_key, loss("early_stop_rule"));
    let full_key = key(arch, &full_config, seed, rung.data_key, loss("last_weights"));
    let wanted = if config.full_length_baseline { 2 } else { 1 };
    let reused: Vec<TrainingCard> = [(&early_id, &early_key), (&full_id, &full_key)]
        .into_iter()
        .take(wanted)
        .filter_map(|(id, k)| cached(out, id, k, &options.rebuild))
        .collect();
    if reused.len() == wanted {
        eprintln!("{early_id}: reusing the cached baseline(s)");
        return Ok(reused);
    }
    stage(out, &early_id, early_key.clone(), &Rebuild::All, |record| {
        let checkpoint = checkpoint_for(&options.cache_dir, &early_id, &record);
        let job = Job {
            arch,
            config: rung.train,
            objective: &Objective::CrossEntropy,
            train: &exporter.data.train,
            val: &exporter.data.val,
            val_teacher: Some(teacher_val),
            seed,
            log_prefix: &early_id,
            threads,
            checkpoint: Some(&checkpoint),
            stop_after_epochs: None,
        };
        let trained = if config.full_length_baseline {
            let (full, early) =
                train_last_and_early_stopped(&Job { config: &full_config, log_prefix: &full_id, ..job })?;
            vec![
                (&early_id, "cross-entropy only", rung.train, early, early_key.clone()),
                (&full_id, "cross-entropy, every epoch", &full_config, full, full_key.clone()),
            ]
        } else {
            vec![(&early_id, "cross-entropy only", rung.train, train(&job)?, early_key.clone())]
        };
        let mut cards = Vec::new();
        for (id, how, train_config, (mut model, log), key) in trained {
            let t = Trained {
                id,
                name: format!("Student {} ({how})", spec.name),
                role: Role::Baseline,
                arch,
                model: &mut model,
                log,
                config: train_config,
                kd: None,
                seed,
            };
            cards.push(exporter.export(t, StageRecord { key, ..record.clone() })?);
        }
        Ok(cards)
    })
}
