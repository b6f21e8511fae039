//! One configuration for the whole pipeline, with documented defaults (burn's
//! `examples/mnist` style). `distill --print-config` shows it as JSON; `--config FILE`
//! overrides any field.

use serde::{Deserialize, Serialize};

/// How one model is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Maximum epochs (the cosine learning-rate schedule spans this many).
    pub max_epochs: usize,
    /// Hard wall-clock budget in seconds: no epoch starts that would end past it.
    pub budget_secs: f64,
    /// Stop when validation loss has not improved for this many consecutive epochs.
    pub patience: usize,
    /// Peak AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Images per step.
    pub batch_size: usize,
    /// Random shifts of up to this many pixels (0: none).
    pub max_shift: usize,
    /// Mirror images left–right with probability 1/2.
    pub hflip: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            max_epochs: 15,
            budget_secs: 1_000.0,
            patience: 3,
            learning_rate: 2e-3,
            weight_decay: 5e-4,
            batch_size: 128,
            max_shift: 0,
            hflip: true,
        }
    }
}

/// Knowledge-distillation loss weights (Hinton et al., 2015):
/// `α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KdConfig {
    /// Weight of the distillation term.
    pub alpha: f64,
    /// Softmax temperature.
    pub temperature: f64,
}

impl Default for KdConfig {
    fn default() -> Self {
        KdConfig { alpha: 0.7, temperature: 4.0 }
    }
}

/// The whole pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineConfig {
    /// Seed for splits, shuffles, augmentation and weight initialisation.
    pub seed: u64,
    /// Directory with the Fashion-MNIST IDX files (Debian package `dataset-fashion-mnist`).
    pub data_dir: String,
    /// Training images held out for validation (early stopping and student choice).
    pub validation_size: usize,
    /// Use only this many training images (before the validation split); 0 = all.
    pub train_limit: usize,
    /// Use only this many test images; 0 = all 10 000.
    pub test_limit: usize,
    /// Teacher convolution widths per stage; a 2×2 max-pool separates stages.
    pub teacher_stages: Vec<Vec<usize>>,
    /// Student ladder, smallest first: base widths `w` of stages `[[w], [2w, 2w], [4w]]`.
    pub student_widths: Vec<usize>,
    /// Parameter ceiling for a student to be chosen.
    pub max_student_params: u64,
    /// A student is good enough within this many validation-accuracy points of the teacher.
    pub max_drop_points: f64,
    /// Teacher training.
    pub teacher: TrainConfig,
    /// Student training (distilled and baseline alike).
    pub student: TrainConfig,
    /// Distillation weights.
    pub kd: KdConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            seed: 20_261_128,
            data_dir: "/usr/share/datasets/fashion-mnist".into(),
            validation_size: 5_000,
            train_limit: 0,
            test_limit: 0,
            teacher_stages: vec![vec![32, 32], vec![64, 64], vec![128, 128]],
            student_widths: vec![8, 16, 24],
            max_student_params: 100_000,
            max_drop_points: 1.0,
            teacher: TrainConfig { budget_secs: 3_300.0, max_shift: 2, ..Default::default() },
            student: TrainConfig::default(),
            kd: KdConfig::default(),
        }
    }
}

impl PipelineConfig {
    /// A run that passes through every stage in about a minute: a few hundred images,
    /// tiny networks, two epochs. What CI runs; never the real training.
    pub fn smoke() -> Self {
        let quick = TrainConfig { max_epochs: 2, budget_secs: 60.0, batch_size: 32, ..Default::default() };
        PipelineConfig {
            validation_size: 100,
            train_limit: 400,
            test_limit: 200,
            teacher_stages: vec![vec![8], vec![16]],
            student_widths: vec![2, 4],
            teacher: TrainConfig { max_shift: 2, ..quick.clone() },
            student: quick,
            ..Default::default()
        }
    }

    /// Refuses settings that cannot run.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.teacher_stages.is_empty(), "teacher_stages is empty");
        anyhow::ensure!(
            self.teacher_stages.iter().all(|s| !s.is_empty() && s.iter().all(|w| *w > 0)),
            "teacher stages need positive widths"
        );
        anyhow::ensure!(self.teacher_stages.len() <= 3, "at most 3 stages fit a 28×28 input");
        anyhow::ensure!(
            !self.student_widths.is_empty() && self.student_widths.iter().all(|w| *w > 0),
            "student_widths needs positive widths"
        );
        anyhow::ensure!((0.0..=1.0).contains(&self.kd.alpha), "kd.alpha must be in [0, 1]");
        anyhow::ensure!(self.kd.temperature > 0.0, "kd.temperature must be positive");
        for t in [&self.teacher, &self.student] {
            anyhow::ensure!(
                t.max_epochs > 0 && t.batch_size > 0 && t.patience > 0,
                "epochs, batch size and patience must be positive"
            );
            anyhow::ensure!(t.budget_secs > 0.0 && t.learning_rate > 0.0, "budget and learning rate must be positive");
        }
        Ok(())
    }
}
