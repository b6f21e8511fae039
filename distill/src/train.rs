//! Training one model: cross-entropy or distillation, cosine learning rate, early stop on
//! validation loss with the best checkpoint restored, and a hard wall-clock budget.

use std::time::Instant;

use distillate_engine::onnx_build::SplitMix64;
pub use distillate_engine::training::{EpochRecord, StopReason, TrainLog};

use crate::checkpoint::{Checkpoint, Progress, RuleCut};
use crate::config::{KdConfig, TrainConfig};
use crate::data::{Augment, Batch, Split, shuffle};
use crate::model::{Arch, Cnn};
use crate::soft::SoftTargets;

/// Evaluation batch size (no gradients, so larger batches are cheap).
const EVAL_BATCH: usize = 500;
/// Batches of training-mode forward passes that refresh BatchNorm statistics at the end
/// (momentum 0.1: after 50 batches the old statistics weigh 0.9⁵⁰ ≈ 0.5 %).
const BN_REFRESH_BATCHES: usize = 50;

/// What loss a model trains with.
#[derive(Debug, Clone)]
pub enum Objective<'a> {
    /// Cross-entropy on the labels.
    CrossEntropy,
    /// Distillation from the teacher's logits for the view the student sees.
    Distill(&'a SoftTargets, KdConfig),
}

/// A trained model in validation mode and the record of its training.
pub type Trained = (Cnn, TrainLog);

/// One model to train: what, how, on which data, with which seed.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The network.
    pub arch: &'a Arch,
    /// Epochs, budget, optimiser and augmentation.
    pub config: &'a TrainConfig,
    /// Cross-entropy or distillation.
    pub objective: &'a Objective<'a>,
    /// Training images.
    pub train: &'a Split,
    /// Validation images (early stopping, checkpoint choice).
    pub val: &'a Split,
    /// The teacher's logits on `val`, if any: each epoch then logs its agreement.
    pub val_teacher: Option<&'a [f32]>,
    /// Weight initialisation, shuffling and augmentation.
    pub seed: u64,
    /// Prefix of the per-epoch log lines.
    pub log_prefix: &'a str,
    /// Threads the network computes on (1 each when two trainings share the machine).
    pub threads: usize,
    /// Where the run saves itself after every epoch and resumes from (none: in one go).
    pub checkpoint: Option<&'a Checkpoint>,
    /// Stop with an error after this many epochs in this process, the checkpoint saved:
    /// a run split over several sittings (and how the tests stop one).
    pub stop_after_epochs: Option<usize>,
}

/// Trains a fresh `job.arch`, early-stopping on `job.val`; returns the best weights in
/// validation mode (no autodiff, BatchNorm using refreshed running statistics).
pub fn train(job: &Job<'_>) -> anyhow::Result<Trained> {
    let (model, log, _) = run(job, false)?;
    Ok((model, log))
}

/// One run, two results: the last weights after every epoch (`restore_best: false`), and
/// what the early-stop rule (`restore_best: true`) would have returned from the same run —
/// its best checkpoint when the rule fires, with the log cut there. Seeded runs are
/// deterministic, so the second is exactly the run that rule would have made, for the price
/// of one.
pub fn train_last_and_early_stopped(job: &Job<'_>) -> anyhow::Result<(Trained, Trained)> {
    let last = TrainConfig { restore_best: false, ..job.config.clone() };
    let (model, log, early) = run(&Job { config: &last, ..*job }, true)?;
    let early = early.ok_or_else(|| anyhow::anyhow!("no epoch completed"))?;
    Ok(((model, log), early))
}

/// The worker's slot for the early-stop rule's checkpoint.
const BEST: &str = "best";

fn run(job: &Job<'_>, follow_rule: bool) -> anyhow::Result<(Cnn, TrainLog, Option<Trained>)> {
    let Job {
        arch,
        config,
        objective,
        train,
        val,
        val_teacher,
        seed,
        log_prefix,
        threads,
        checkpoint,
        stop_after_epochs,
    } = *job;
    if let Objective::Distill(targets, _) = objective {
        anyhow::ensure!(
            targets.covers(config.max_shift, config.hflip),
            "{log_prefix}: the soft targets were computed for other views than this training draws"
        );
    }
    let mut model = Cnn::seeded(arch, seed, config, threads)?;
    let mut p = match checkpoint.map(|c| c.resume(&mut model)).transpose()?.flatten() {
        Some(mut p) => {
            eprintln!(
                "{log_prefix}: resuming after epoch {} ({:.0} s of training so far)",
                p.epochs.len(),
                p.elapsed_seconds
            );
            p.resumed_after_epochs.push(p.epochs.len());
            p
        }
        None => Progress::fresh(seed ^ 0x5EED),
    };
    // The budget counts the seconds of earlier processes too.
    let started = Instant::now();
    let elapsed = |p: &Progress| p.elapsed_seconds + started.elapsed().as_secs_f64();
    let (base_seconds, base_epochs) = (p.elapsed_seconds, p.epochs.len());
    let mut rng = SplitMix64(p.rng);
    let steps_per_epoch = train.len().div_ceil(config.batch_size);
    let total_steps = (steps_per_epoch * config.max_epochs) as f64;

    let stop_reason = loop {
        let epoch = p.epochs.len() + 1;
        if epoch > config.max_epochs {
            break StopReason::MaxEpochs;
        }
        // Budget: do not start an epoch that the last one's duration says would overrun.
        let last = p.epochs.last().map(|e| e.seconds).unwrap_or(0.0);
        if base_seconds + started.elapsed().as_secs_f64() + last > config.budget_secs && !p.epochs.is_empty() {
            break StopReason::Budget;
        }
        let epoch_start = Instant::now();
        let mut order: Vec<usize> = (0..train.len()).collect();
        shuffle(&mut order, &mut rng);
        let mut loss_sum = 0.0;
        let mut lr = config.learning_rate;
        for chunk in order.chunks(config.batch_size) {
            // Cosine decay from the peak to 0 over max_epochs.
            lr = config.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * p.step as f64 / total_steps).cos());
            let augment = Augment {
                rng: &mut rng,
                max_shift: config.max_shift,
                hflip: config.hflip,
                erase_prob: config.erase_prob,
                clean_share: config.clean_view_share,
            };
            let batch = train.batch(chunk, Some(augment));
            let loss = match objective {
                Objective::CrossEntropy => model.step(&batch.x, &batch.labels, None, lr)?,
                Objective::Distill(targets, kd) => {
                    let t = teacher_batch(targets, chunk, &batch);
                    model.step(&batch.x, &batch.labels, Some((&t, kd)), lr)?
                }
            };
            loss_sum += loss * chunk.len() as f64;
            p.step += 1;
        }
        let epoch_train_seconds = epoch_start.elapsed().as_secs_f64();
        p.train_seconds += epoch_train_seconds;
        p.trained_images += train.len();
        let Scores { loss: val_loss, accuracy: val_accuracy, agreement: val_agreement } =
            score(&mut model, val, val_teacher)?;
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / train.len() as f64,
            val_loss,
            val_accuracy,
            val_agreement,
            learning_rate: lr,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        let agreement = val_agreement.map(|a| format!("  agreement {:.2} %", a * 100.0)).unwrap_or_default();
        eprintln!(
            "{log_prefix} epoch {epoch:>2}: train loss {:.4}  val loss {val_loss:.4}  val acc {:.2} %{agreement}  ({:.0} s, {:.0} img/s)",
            record.train_loss,
            val_accuracy * 100.0,
            record.seconds,
            train.len() as f64 / epoch_train_seconds
        );
        p.epochs.push(record);
        if p.cut.is_none() && p.best.is_none_or(|(loss, _)| val_loss < loss) {
            model.save(BEST)?;
            p.best = Some((val_loss, epoch));
        }
        let best_epoch = p.best.map(|b| b.1).unwrap_or(epoch);
        if p.cut.is_none() && epoch >= config.early_stop_from && epoch - best_epoch >= config.patience {
            if config.restore_best {
                break StopReason::EarlyStop;
            }
            if let Some((_, e)) = p.best.take() {
                p.cut = Some(RuleCut { epochs: epoch, best: e, seconds: elapsed(&p) });
            }
        }
        if let Some(c) = checkpoint {
            p.rng = rng.0;
            let mut saved = p.clone();
            saved.elapsed_seconds = elapsed(&p);
            c.save(&mut model, &saved)?;
        }
        if stop_after_epochs.is_some_and(|n| epoch - base_epochs >= n) {
            anyhow::bail!("{log_prefix}: stopped after epoch {epoch} as asked (its checkpoint is kept)");
        }
    };
    let images_per_second = p.trained_images as f64 / p.train_seconds.max(1e-9);
    let resumed = p.resumed_after_epochs.clone();
    let log = |epochs: Vec<EpochRecord>, best_epoch, stop_reason, wall_seconds| TrainLog {
        epochs,
        best_epoch,
        stop_reason,
        wall_seconds,
        train_images_per_second: images_per_second,
        resumed_after_epochs: resumed.clone(),
    };
    // The rule's result: its checkpoint where it fired, or at the end if it never did.
    let rule = match p.cut {
        Some(RuleCut { epochs: n, best: e, seconds }) => {
            Some(log(p.epochs[..n].to_vec(), e, StopReason::EarlyStop, seconds))
        }
        None => p.best.map(|(_, e)| log(p.epochs.clone(), e, stop_reason, elapsed(&p))),
    };
    let (best_epoch, rule) = if config.restore_best {
        let l = rule.ok_or_else(|| anyhow::anyhow!("no epoch completed"))?;
        model.load(BEST)?;
        (l.best_epoch, None)
    } else {
        anyhow::ensure!(!p.epochs.is_empty(), "no epoch completed");
        (p.epochs.len(), rule)
    };
    // The rule's checkpoint goes to a worker of its own before the statistics of the
    // weights kept here are refreshed.
    let mut rule_model = None;
    if let Some(l) = rule.filter(|_| follow_rule) {
        rule_model = Some((model.fork(BEST)?, l));
    }
    refresh_batch_norm(&mut model, train, config.batch_size, &mut rng)?;
    if let Some((m, _)) = rule_model.as_mut() {
        refresh_batch_norm(m, train, config.batch_size, &mut rng)?;
    }
    let wall_seconds = elapsed(&p);
    let epochs = std::mem::take(&mut p.epochs);
    if let Some(c) = checkpoint {
        c.clear();
    }
    Ok((model, log(epochs, best_epoch, stop_reason, wall_seconds), rule_model))
}

/// Teacher logits for a batch: each image's row for the view it was drawn in.
fn teacher_batch(targets: &SoftTargets, indices: &[usize], batch: &Batch) -> Vec<f32> {
    let mut rows = Vec::with_capacity(indices.len() * targets.classes());
    for (&i, &view) in indices.iter().zip(&batch.views) {
        rows.extend_from_slice(targets.logits(i, view));
    }
    rows
}

/// A validation-mode model's scores on a split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Mean cross-entropy against the labels.
    pub loss: f64,
    /// Top-1 accuracy.
    pub accuracy: f64,
    /// Top-1 agreement with the teacher's logits, when given.
    pub agreement: Option<f64>,
}

/// Scores `model` on `split`; agreement with `teacher` (its logits on `split`) if given.
pub fn score(model: &mut Cnn, split: &Split, teacher: Option<&[f32]>) -> anyhow::Result<Scores> {
    use distillate_engine::metrics::argmax;
    let logits = predict(model, split)?;
    let classes = logits.len() / split.len();
    let mut loss = 0.0;
    let mut correct = 0usize;
    for (row, &label) in logits.chunks(classes).zip(&split.labels) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = row.iter().map(|v| f64::from(v - max).exp()).sum::<f64>().ln() + f64::from(max);
        loss += lse - f64::from(row[label]);
        correct += usize::from(argmax(row) == label);
    }
    let agreement = match teacher {
        Some(t) => {
            anyhow::ensure!(t.len() == logits.len(), "teacher logits for {} values, student {}", t.len(), logits.len());
            let same = logits.chunks(classes).zip(t.chunks(classes)).filter(|(s, t)| argmax(s) == argmax(t)).count();
            Some(same as f64 / split.len() as f64)
        }
        None => None,
    };
    let n = split.len() as f64;
    Ok(Scores { loss: loss / n, accuracy: correct as f64 / n, agreement })
}

/// Logits `[n, classes]` of a validation-mode model on every image of `split`.
pub fn predict(model: &mut Cnn, split: &Split) -> anyhow::Result<Vec<f32>> {
    let mut out = Vec::with_capacity(split.len() * model.arch().classes);
    let indices: Vec<usize> = (0..split.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        out.extend(model.predict(&split.batch(chunk, None).x)?);
    }
    Ok(out)
}

/// Recomputes BatchNorm running statistics for the kept weights: training-mode forward
/// passes, no updates. The statistics recorded during training trail the weights.
fn refresh_batch_norm(model: &mut Cnn, train: &Split, batch_size: usize, rng: &mut SplitMix64) -> anyhow::Result<()> {
    let mut order: Vec<usize> = (0..train.len()).collect();
    shuffle(&mut order, rng);
    for chunk in order.chunks(batch_size).take(BN_REFRESH_BATCHES) {
        model.refresh_batch_norm(&train.batch(chunk, None).x)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::PipelineConfig;
    use crate::data::Dataset;

    /// A cross-entropy run on one thread, in one go.
    fn cross_entropy<'a>(arch: &'a Arch, config: &'a TrainConfig, data: &'a Dataset, seed: u64) -> Job<'a> {
        Job {
            arch,
            config,
            objective: &Objective::CrossEntropy,
            train: &data.train,
            val: &data.val,
            val_teacher: None,
            seed,
            log_prefix: "test",
            threads: 1,
            checkpoint: None,
            stop_after_epochs: None,
        }
    }

    /// The pipeline trains the CE baseline once for both of its results; the early-stopped
    /// one must be the run the early-stop rule would have made on its own.
    #[test]
    fn one_run_cuts_where_a_run_with_early_stopping_stops() {
        let dir = PipelineConfig::default().data_dir;
        let data = Dataset::load(Path::new(&dir), 200, 300, 0, 7).expect("Fashion-MNIST (scripts/setup installs it)");
        let arch = Arch { stages: vec![vec![4], vec![8]], classes: 10 };
        // 100 training images, a high learning rate and patience 1: validation loss soon rises.
        let config = TrainConfig {
            max_epochs: 12,
            patience: 1,
            batch_size: 32,
            learning_rate: 0.05,
            budget_secs: 600.0,
            ..TrainConfig::default()
        };
        let job = Job { log_prefix: "alone", ..cross_entropy(&arch, &config, &data, 3) };
        let (_, alone) = train(&job).expect("runs");
        let ((_, full), (_, cut)) = train_last_and_early_stopped(&Job { log_prefix: "both", ..job }).expect("runs");

        assert_eq!(alone.stop_reason, StopReason::EarlyStop, "the rule must fire for this test to test the cut");
        assert_eq!(
            (cut.stop_reason, cut.best_epoch, cut.epochs.len()),
            (alone.stop_reason, alone.best_epoch, alone.epochs.len())
        );
        for (a, b) in alone.epochs.iter().zip(&cut.epochs) {
            assert!((a.val_loss - b.val_loss).abs() < 1e-6, "epoch {}: {} vs {}", a.epoch, a.val_loss, b.val_loss);
        }
        // The same run went on to the end and kept its last weights.
        assert_eq!((full.epochs.len(), full.best_epoch, full.stop_reason), (12, 12, StopReason::MaxEpochs));
        assert_eq!(full.epochs[..cut.epochs.len()], cut.epochs[..]);
    }

    /// A run stopped part-way and started again must end where the run in one go ends.
    #[test]
    fn a_stopped_run_resumes_from_its_checkpoint_to_the_same_result() {
        let dir = PipelineConfig::default().data_dir;
        let data = Dataset::load(Path::new(&dir), 100, 200, 0, 11).expect("Fashion-MNIST (scripts/setup installs it)");
        let arch = Arch { stages: vec![vec![4], vec![8]], classes: 10 };
        let config =
            TrainConfig { max_epochs: 4, patience: 10, batch_size: 32, budget_secs: 600.0, ..TrainConfig::default() };
        let job = Job { log_prefix: "resume", ..cross_entropy(&arch, &config, &data, 5) };
        let (_, whole) = train(&job).expect("runs");

        let tmp = tempfile::tempdir().expect("tempdir");
        let checkpoint = Checkpoint::new(tmp.path().join("run"));
        let with_checkpoint = Job { checkpoint: Some(&checkpoint), ..job };
        let err = train(&Job { stop_after_epochs: Some(2), ..with_checkpoint }).expect_err("stops after 2 epochs");
        assert!(err.to_string().contains("stopped after epoch 2"), "{err}");
        let (_, resumed) = train(&with_checkpoint).expect("resumes");

        assert_eq!(resumed.resumed_after_epochs, vec![2]);
        assert_eq!(resumed.epochs.len(), whole.epochs.len());
        for (a, b) in whole.epochs.iter().zip(&resumed.epochs) {
            assert!((a.val_loss - b.val_loss).abs() < 1e-6, "epoch {}: {} vs {}", a.epoch, a.val_loss, b.val_loss);
            assert_eq!(a.learning_rate, b.learning_rate, "epoch {}: the schedule went on where it stopped", a.epoch);
        }
        assert_eq!(resumed.best_epoch, whole.best_epoch);
        let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("dir").collect();
        assert!(left.is_empty(), "a finished run leaves no checkpoint: {left:?}");
    }
}
