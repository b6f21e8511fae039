//! The teacher: `teacher_members` networks of one architecture and one recipe, each its own
//! cached stage with its own seed, and — with more than one — their ensemble, the mean of
//! their logits in one ONNX graph ([`distillate_engine::ensemble`]), as the `teacher` the
//! students learn from and the page runs.
//!
//! Why an ensemble: one 32-epoch network reached 93.99 % on test and kept its own top-1 on
//! only 97.5–98.1 % of images moved by one pixel (distill/fidelity.py), so a student asked
//! to agree with it on 97 % of images was asked to copy one training run's chance as well as
//! its knowledge. Averaging independently trained members removes part of that chance and
//! adds accuracy, and it is the teacher distillation was first described with (Hinton et al.
//! 2015). Members are trained one after another, each within its stage's budget.

use std::path::Path;

use anyhow::Context;
use distillate_engine::Model;
use distillate_engine::ensemble::average_logits;
use distillate_engine::metrics::{accuracy, argmax};
use distillate_engine::training::{Role, StopReason, TrainLog, TrainingCard};
use serde_json::json;

use crate::config::PipelineConfig;
use crate::data::{Dataset, Split};
use crate::export::{Exporter, Trained, tract_logits};
use crate::model::Arch;
use crate::pipeline::{Options, checkpoint_for, key, stage};
use crate::soft::fnv1a64;
use crate::stage::StageRecord;
use crate::train::{Job, Objective, train};

/// Member `m`'s id: `teacher` when it is the only one, else `teacher-1`, `teacher-2`, …
pub fn member_id(config: &PipelineConfig, m: usize) -> String {
    if config.teacher_members == 1 { "teacher".into() } else { format!("teacher-{}", m + 1) }
}

/// Member `m`'s seed (weights and batches; the split keeps the pipeline's seed). The first
/// member keeps the pipeline seed, so the teacher trained before ensembles is member 1;
/// students take `seed + 1 + rung`, so members step by 100 to stay clear of them.
pub fn member_seed(config: &PipelineConfig, m: usize) -> u64 {
    config.seed + 100 * m as u64
}

/// Trains (or reuses) every member and returns the teacher's card: the member's own when
/// there is one, else the ensemble's, written to `out/models/teacher.onnx`.
pub fn teacher(
    config: &PipelineConfig,
    data: &Dataset,
    data_key: &serde_json::Value,
    out: &Path,
    options: &Options,
) -> anyhow::Result<TrainingCard> {
    let arch = Arch { stages: config.teacher_stages.clone(), classes: crate::data::CLASS_NAMES.len() };
    let exporter = Exporter { data, out, teacher_test: None };
    let mut members = Vec::new();
    for m in 0..config.teacher_members {
        let id = member_id(config, m);
        let seed = member_seed(config, m);
        let member_key = key(&arch, &config.teacher, seed, data_key, json!("cross_entropy"));
        let card = stage(out, &id, member_key, &options.rebuild, |record| {
            let checkpoint = checkpoint_for(&options.cache_dir, &id, &record);
            let job = Job {
                arch: &arch,
                config: &config.teacher,
                objective: &Objective::CrossEntropy,
                train: &data.train,
                val: &data.val,
                val_teacher: None,
                seed,
                log_prefix: &id,
                threads: options.threads,
                checkpoint: Some(&checkpoint),
                stop_after_epochs: None,
            };
            let (mut model, log) = train(&job)?;
            let name =
                if config.teacher_members == 1 { "Teacher CNN".into() } else { format!("Teacher CNN {}", m + 1) };
            let trained = Trained {
                id: &id,
                name,
                role: Role::Teacher,
                arch: &arch,
                model: &mut model,
                log,
                config: &config.teacher,
                kd: None,
                seed,
            };
            Ok(vec![exporter.export(trained, record)?])
        })?
        .remove(0);
        members.push(card);
    }
    if members.len() == 1 {
        return Ok(members.remove(0));
    }
    let mut bytes = Vec::new();
    for card in &members {
        let path = out.join(format!("models/{}.onnx", card.id));
        bytes.push(std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?);
    }
    let hashes: Vec<String> = bytes.iter().map(|b| format!("{:016x}", fnv1a64(b))).collect();
    let ensemble_key = json!({ "ensemble_of": hashes, "combine": "mean_logits" });
    Ok(stage(out, "teacher", ensemble_key, &options.rebuild, |record| {
        Ok(vec![ensemble_card(&members, &bytes, data, out, record)?])
    })?
    .remove(0))
}

/// Writes the ensemble of `members` (their ONNX `bytes`) as `teacher.onnx`, scores it in
/// tract and checks that its logits are the mean of the members' run apart.
fn ensemble_card(
    members: &[TrainingCard],
    bytes: &[Vec<u8>],
    data: &Dataset,
    out: &Path,
    record: StageRecord,
) -> anyhow::Result<TrainingCard> {
    let first = &members[0];
    let n = members.len();
    let doc = format!("Distillate teacher: the mean logits of {n} × {} on Fashion-MNIST", first.architecture);
    let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    let merged = average_logits(&refs, &doc)?;
    let path = out.join("models/teacher.onnx");
    std::fs::write(&path, &merged).with_context(|| format!("cannot write {}", path.display()))?;
    let model = Model::load(&merged).context("tract cannot load the teacher ensemble")?;
    let classes = model.card().classes;
    let logits = |split: &Split| tract_logits(&model, split);
    let (test, val) = (logits(&data.test)?, logits(&data.val)?);
    let mut mean = vec![0.0f32; test.len()];
    for b in bytes {
        for (acc, x) in mean.iter_mut().zip(tract_logits(&Model::load(b)?, &data.test)?) {
            *acc += x / n as f32;
        }
    }
    let max_diff = test.iter().zip(&mean).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    anyhow::ensure!(
        max_diff <= crate::export::PARITY_TOLERANCE,
        "the ensemble differs from its members' mean by {max_diff}"
    );
    let top1 = |l: &[f32], split: &Split| accuracy(&l.chunks(classes).map(argmax).collect::<Vec<_>>(), &split.labels);
    let (test_accuracy, val_accuracy) = (top1(&test, &data.test)?, top1(&val, &data.val)?);
    // The ensemble trains nothing itself: its record is its members' time, their epochs on
    // their own cards, and the stop that cut a member shortest.
    let ran_all = |c: &TrainingCard| c.training.epochs.len() >= c.config.max_epochs;
    let stop_reason = if members.iter().any(|c| c.training.stop_reason == StopReason::Budget) {
        StopReason::Budget
    } else if members.iter().all(ran_all) {
        StopReason::MaxEpochs
    } else {
        StopReason::EarlyStop
    };
    let training = TrainLog {
        epochs: Vec::new(),
        best_epoch: 0,
        stop_reason,
        wall_seconds: members.iter().map(|c| c.training.wall_seconds).sum(),
        train_images_per_second: members.iter().map(|c| c.training.train_images_per_second).sum::<f64>() / n as f64,
        resumed_after_epochs: Vec::new(),
    };
    eprintln!(
        "teacher: ensemble of {n}: test accuracy {:.2} % (members {}), validation {:.2} %, {} MACs, max |diff| from the members' mean {max_diff:.2e}",
        test_accuracy * 100.0,
        members.iter().map(|c| format!("{:.2} %", c.test_accuracy * 100.0)).collect::<Vec<_>>().join(", "),
        val_accuracy * 100.0,
        model.card().macs,
    );
    Ok(TrainingCard {
        id: "teacher".into(),
        name: format!("Teacher: ensemble of {n} CNNs"),
        role: Role::Teacher,
        architecture: format!("{n}× {} (mean logits)", first.architecture),
        arch: first.arch.clone(),
        params: model.card().params,
        macs: model.card().macs,
        bytes: merged.len() as u64,
        test_accuracy,
        test_images: data.test.len(),
        val_accuracy,
        teacher_agreement: None,
        teacher_mean_kl: None,
        export_max_abs_diff: max_diff,
        native_latency_ms: 0.0,
        training,
        loss: "cross_entropy".into(),
        kd_alpha: None,
        kd_temperature: None,
        config: first.config.clone(),
        seed: first.seed,
        stage: Some(record),
        quantization: None,
        members: members.iter().map(|c| c.id.clone()).collect(),
    })
}
