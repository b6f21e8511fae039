//! Training one model: cross-entropy or distillation, cosine learning rate, early stop on
//! validation loss with the best checkpoint restored, and a hard wall-clock budget.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use distillate_engine::onnx_build::SplitMix64;
pub use distillate_engine::training::{EpochRecord, StopReason, TrainLog};

use crate::config::{KdConfig, TrainConfig};
use crate::data::{Augment, Batch, Split, shuffle};
use crate::model::{Arch, Cnn, values};
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

/// Where the early-stop rule would have ended a run that went on.
struct RuleCut {
    /// Epochs the rule would have run.
    epochs: usize,
    /// Its checkpoint: epoch and weights.
    best: (usize, Cnn),
    /// Seconds since the start when it would have stopped.
    seconds: f64,
}

fn run(job: &Job<'_>, follow_rule: bool) -> anyhow::Result<(Cnn, TrainLog, Option<Trained>)> {
    let Job { arch, config, objective, train, val, val_teacher, seed, log_prefix } = *job;
    if let Objective::Distill(targets, _) = objective {
        anyhow::ensure!(
            targets.covers(config.max_shift, config.hflip),
            "{log_prefix}: the soft targets were computed for other views than this training draws"
        );
    }
    let started = Instant::now();
    let device = Device::flex().autodiff();
    let mut model = init(arch, seed, &device);
    let mut optim = AdamWConfig::new().with_weight_decay(config.weight_decay).init();
    let ce = CrossEntropyLossConfig::new().init(&device);
    let mut rng = SplitMix64(seed ^ 0x5EED);
    let steps_per_epoch = train.len().div_ceil(config.batch_size);
    let total_steps = (steps_per_epoch * config.max_epochs) as f64;
    let mut step = 0usize;

    let mut epochs: Vec<EpochRecord> = Vec::new();
    // Lowest validation loss so far: the early-stop rule's checkpoint.
    let mut best: Option<(f64, usize, Cnn)> = None;
    let mut cut: Option<RuleCut> = None;
    let mut train_seconds = 0.0;
    let mut trained_images = 0usize;
    let stop_reason = loop {
        let epoch = epochs.len() + 1;
        if epoch > config.max_epochs {
            break StopReason::MaxEpochs;
        }
        // Budget: do not start an epoch that the last one's duration says would overrun.
        let last = epochs.last().map(|e| e.seconds).unwrap_or(0.0);
        if started.elapsed().as_secs_f64() + last > config.budget_secs && !epochs.is_empty() {
            break StopReason::Budget;
        }
        let epoch_start = Instant::now();
        let mut order: Vec<usize> = (0..train.len()).collect();
        shuffle(&mut order, &mut rng);
        let mut loss_sum = 0.0;
        let mut lr = config.learning_rate;
        for chunk in order.chunks(config.batch_size) {
            // Cosine decay from the peak to 0 over max_epochs.
            lr = config.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total_steps).cos());
            let augment = Augment {
                rng: &mut rng,
                max_shift: config.max_shift,
                hflip: config.hflip,
                erase_prob: config.erase_prob,
            };
            let batch = train.batch(chunk, Some(augment));
            let n = chunk.len();
            let x = Tensor::<4>::from_data(TensorData::new(batch.x.clone(), [n, 1, 28, 28]), &device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(batch.labels.clone(), [n]), &device);
            let logits = model.forward(x);
            let loss = match objective {
                Objective::CrossEntropy => ce.forward(logits, y),
                Objective::Distill(targets, kd) => {
                    let t = teacher_batch(targets, chunk, &batch, &device);
                    kd_loss(logits, t, y, kd, &ce)
                }
            };
            loss_sum += f64::from(values(loss.clone().detach())?[0]) * n as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            step += 1;
        }
        let epoch_train_seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += epoch_train_seconds;
        trained_images += train.len();
        let Scores { loss: val_loss, accuracy: val_accuracy, agreement: val_agreement } =
            score(&model.valid(), val, val_teacher)?;
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
        epochs.push(record);
        if cut.is_none() && best.as_ref().is_none_or(|(loss, _, _)| val_loss < *loss) {
            best = Some((val_loss, epoch, model.valid()));
        }
        let best_epoch = best.as_ref().map(|b| b.1).unwrap_or(epoch);
        if cut.is_none() && epoch >= config.early_stop_from && epoch - best_epoch >= config.patience {
            if config.restore_best {
                break StopReason::EarlyStop;
            }
            if let Some((_, e, m)) = best.take() {
                cut = Some(RuleCut { epochs: epoch, best: (e, m), seconds: started.elapsed().as_secs_f64() });
            }
        }
    };
    let images_per_second = trained_images as f64 / train_seconds.max(1e-9);
    let log = |epochs: Vec<EpochRecord>, best_epoch, stop_reason, wall_seconds| TrainLog {
        epochs,
        best_epoch,
        stop_reason,
        wall_seconds,
        train_images_per_second: images_per_second,
    };
    // The rule's result: its checkpoint where it fired, or at the end if it never did.
    let rule = match cut {
        Some(RuleCut { epochs: n, best: (e, m), seconds }) => {
            Some((m, log(epochs[..n].to_vec(), e, StopReason::EarlyStop, seconds)))
        }
        None => best.map(|(_, e, m)| (m, log(epochs.clone(), e, stop_reason, started.elapsed().as_secs_f64()))),
    };
    let (model, best_epoch, rule) = if config.restore_best {
        let (m, l) = rule.ok_or_else(|| anyhow::anyhow!("no epoch completed"))?;
        (m, l.best_epoch, None)
    } else {
        anyhow::ensure!(!epochs.is_empty(), "no epoch completed");
        (model.valid(), epochs.len(), rule)
    };
    let model = refresh_batch_norm(model, train, config.batch_size, &mut rng, &device)?;
    let rule = match rule.filter(|_| follow_rule) {
        Some((m, l)) => Some((refresh_batch_norm(m, train, config.batch_size, &mut rng, &device)?, l)),
        None => None,
    };
    let wall_seconds = started.elapsed().as_secs_f64();
    Ok((model, log(epochs, best_epoch, stop_reason, wall_seconds), rule))
}

/// Teacher logits for a batch: each image's row for the view it was drawn in.
fn teacher_batch(targets: &SoftTargets, indices: &[usize], batch: &Batch, device: &Device) -> Tensor<2> {
    let k = targets.classes();
    let mut rows = Vec::with_capacity(indices.len() * k);
    for (&i, &view) in indices.iter().zip(&batch.views) {
        rows.extend_from_slice(targets.logits(i, view));
    }
    Tensor::<2>::from_data(TensorData::new(rows, [indices.len(), k]), device)
}

/// `α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y)`, batch mean.
pub fn kd_loss(
    student: Tensor<2>,
    teacher: Tensor<2>,
    labels: Tensor<1, Int>,
    kd: &KdConfig,
    ce: &burn::nn::loss::CrossEntropyLoss,
) -> Tensor<1> {
    let t = kd.temperature;
    let log_p_t = log_softmax(teacher / t, 1);
    let log_p_s = log_softmax(student.clone() / t, 1);
    let kl = (log_p_t.clone().exp() * (log_p_t - log_p_s)).sum_dim(1).mean();
    kl * (kd.alpha * t * t) + ce.forward(student, labels) * (1.0 - kd.alpha)
}

fn init(arch: &Arch, seed: u64, device: &Device) -> Cnn {
    Cnn::seeded(arch, seed, device)
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
pub fn score(model: &Cnn, split: &Split, teacher: Option<&[f32]>) -> anyhow::Result<Scores> {
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
pub fn predict(model: &Cnn, split: &Split) -> anyhow::Result<Vec<f32>> {
    let device = Device::flex();
    let mut out = Vec::new();
    let indices: Vec<usize> = (0..split.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        let batch = split.batch(chunk, None);
        let x = Tensor::<4>::from_data(TensorData::new(batch.x, [chunk.len(), 1, 28, 28]), &device);
        out.extend(values(model.forward(x))?);
    }
    Ok(out)
}

/// Recomputes BatchNorm running statistics for the kept weights: training-mode forward
/// passes, no updates. The statistics recorded during training trail the weights.
fn refresh_batch_norm(
    model: Cnn,
    train: &Split,
    batch_size: usize,
    rng: &mut SplitMix64,
    device: &Device,
) -> anyhow::Result<Cnn> {
    let model = model.train();
    let mut order: Vec<usize> = (0..train.len()).collect();
    shuffle(&mut order, rng);
    for chunk in order.chunks(batch_size).take(BN_REFRESH_BATCHES) {
        let batch = train.batch(chunk, None);
        let x = Tensor::<4>::from_data(TensorData::new(batch.x, [chunk.len(), 1, 28, 28]), device);
        let _ = model.forward(x.detach());
    }
    Ok(model.valid())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::PipelineConfig;
    use crate::data::Dataset;

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
        let job = Job {
            arch: &arch,
            config: &config,
            objective: &Objective::CrossEntropy,
            train: &data.train,
            val: &data.val,
            val_teacher: None,
            seed: 3,
            log_prefix: "alone",
        };
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

    /// A student and its baseline train in two threads; each must start from the weights
    /// its seed gives, whatever the other thread draws meanwhile.
    #[test]
    fn parallel_trainings_start_from_their_own_seeds() {
        let arch = Arch { stages: vec![vec![4], vec![8]], classes: 10 };
        let device = Device::flex();
        let weights = |seed| init(&arch, seed, &device).to_onnx("").expect("export");
        let alone: Vec<Vec<u8>> = (0..32).map(weights).collect();
        let together: Vec<Vec<Vec<u8>>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..2).map(|_| s.spawn(|| (0..32).map(weights).collect::<Vec<_>>())).collect();
            threads.into_iter().map(|t| t.join().expect("thread")).collect()
        });
        for run in together {
            assert_eq!(run, alone);
        }
    }
}
