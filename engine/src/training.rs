//! The training model card (`models/<id>.card.json`): what `distill/` writes beside each
//! ONNX file and the page reads for its model cards and compression ladder. One type for
//! both, so renaming a field breaks the build, not the ladder plot.

use serde::{Deserialize, Serialize};

/// What a model is in the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The model distilled from.
    Teacher,
    /// Distilled from the teacher.
    Student,
    /// A student's architecture trained with cross-entropy only: the reference for the gain.
    Baseline,
    /// A student's weights stored as int8 after training (post-training quantization).
    Quantized,
}

impl Role {
    /// As the page labels it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Teacher => "teacher",
            Role::Student => "student",
            Role::Baseline => "baseline",
            Role::Quantized => "int8",
        }
    }
}

/// Convolution widths per stage of the pipeline's CNN family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arch {
    /// Widths of the convolutions of each stage (a 2×2 max-pool between stages).
    pub stages: Vec<Vec<usize>>,
    /// Output classes.
    pub classes: usize,
}

impl Arch {
    /// `c32-c32-pool-c64-…-gap-fc10`.
    pub fn label(&self) -> String {
        let stages: Vec<String> =
            self.stages.iter().map(|s| s.iter().map(|w| format!("c{w}")).collect::<Vec<_>>().join("-")).collect();
        format!("{}-gap-fc{}", stages.join("-pool-"), self.classes)
    }
}

/// How one model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Maximum epochs (the cosine learning-rate schedule spans this many).
    pub max_epochs: usize,
    /// Hard wall-clock budget in seconds: no epoch starts that would end past it.
    pub budget_secs: f64,
    /// Stop when validation loss has not improved for this many consecutive epochs.
    pub patience: usize,
    /// The early-stop rule fires from this epoch on (0: from the first). At the peak of a
    /// long cosine schedule validation loss is noise: the rule stopped a 40-epoch student at
    /// epoch 9, with the learning rate still 87 % of its peak, 2.2 points short.
    #[serde(skip_serializing_if = "is_zero")]
    pub early_stop_from: usize,
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
    /// Probability of random erasing per image (Zhong et al., 2017; 0: none). Only for
    /// the teacher: a student's soft targets are cached per shift and flip, not per erasure.
    pub erase_prob: f64,
    /// Keep the weights of the epoch with the best validation loss (true) or of the last
    /// epoch (false, which also turns early stopping off: the last epoch is always kept).
    pub restore_best: bool,
    /// Share of training draws that show the image as it is — unshifted, unmirrored: the
    /// view every test image is — instead of a uniformly drawn view (0: every view alike,
    /// and the key of a stage trained before this setting existed).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub clean_view_share: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            max_epochs: 15,
            budget_secs: 1_200.0,
            patience: 3,
            early_stop_from: 0,
            learning_rate: 2e-3,
            weight_decay: 5e-4,
            batch_size: 128,
            max_shift: 0,
            hflip: true,
            erase_prob: 0.0,
            restore_best: true,
            clean_view_share: 0.0,
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

/// One epoch's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation cross-entropy.
    pub val_loss: f64,
    /// Validation top-1 accuracy.
    pub val_accuracy: f64,
    /// Validation top-1 agreement with the teacher, for models trained against one: how
    /// fidelity grows over the schedule (whether more epochs would still buy some).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_agreement: Option<f64>,
    /// Learning rate at the epoch's end.
    pub learning_rate: f64,
    /// Seconds the epoch took.
    pub seconds: f64,
}

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Validation loss did not improve for `patience` epochs.
    EarlyStop,
    /// Reached `max_epochs`.
    MaxEpochs,
    /// The next epoch would have overrun the wall-clock budget.
    Budget,
}

/// A finished training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainLog {
    /// Per-epoch records.
    pub epochs: Vec<EpochRecord>,
    /// Epoch whose weights were kept (best validation loss, or the last with
    /// `restore_best: false`).
    pub best_epoch: usize,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Wall-clock seconds, including evaluation.
    pub wall_seconds: f64,
    /// Training images per second (forward + backward + update).
    pub train_images_per_second: f64,
    /// Epochs after which the run was stopped and later resumed from its checkpoint
    /// (empty for a run in one go).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_after_epochs: Vec<usize>,
}

/// When a pipeline stage ran, for how long, and the inputs it ran from (its cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// UTC start, RFC 3339 (or, for a stage older than these records, what is known).
    pub started: String,
    /// Wall-clock seconds of the stage (training, export, scoring).
    pub seconds: f64,
    /// Everything the result depends on: architecture, settings, seed, data split, the
    /// teacher's content hash and the loss.
    pub key: serde_json::Value,
}

/// Everything known about one trained model: its model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCard {
    /// Identifier in the manifest.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Teacher, student or baseline.
    pub role: Role,
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
    /// Mean KL(teacher ‖ model) on the test images, nats (students).
    #[serde(default)]
    pub teacher_mean_kl: Option<f64>,
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
    /// The pipeline stage that made this model: when, how long, from which inputs.
    #[serde(default)]
    pub stage: Option<StageRecord>,
    /// How an int8 model was made from its float one (absent for trained models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<Quantization>,
    /// The models whose mean logits this one is (an ensemble teacher); empty for a
    /// network trained on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// Post-training quantization of a model: from what, how, and what it cost and bought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    /// Id of the float model quantized.
    pub from: String,
    /// Scheme, as a sentence (weights per channel, activations per tensor, …).
    pub scheme: String,
    /// Conv and Gemm layers whose weights are int8.
    pub layers: usize,
    /// Training images whose activations set the ranges.
    pub calibration_images: usize,
    /// Top-1 agreement with the float model on the test images.
    pub float_agreement: f64,
    /// Largest |int8 − float| logit on the test images.
    pub max_abs_logit_change: f32,
    /// Test accuracy minus the float model's, points.
    pub accuracy_change_points: f64,
    /// File size as a share of the float model's.
    pub bytes_ratio: f64,
    /// Native latency as a multiple of the float model's (in the same run; > 1 is slower).
    pub native_latency_ratio: f64,
    /// What the rung is for, from the measurement: a faster model, or a size point only.
    pub use_as: String,
}

impl TrainingCard {
    /// Parses a card file.
    pub fn parse(bytes: &[u8]) -> crate::Result<TrainingCard> {
        serde_json::from_slice(bytes).map_err(|e| crate::Error::invalid("model card", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn architecture_label() {
        let arch = Arch { stages: vec![vec![8], vec![16, 16], vec![32]], classes: 10 };
        assert_eq!(arch.label(), "c8-pool-c16-c16-pool-c32-gap-fc10");
    }

    #[test]
    fn a_card_with_a_renamed_field_is_refused_with_the_reason() {
        let err = TrainingCard::parse(br#"{"id": "x"}"#).expect_err("refused").to_string();
        assert!(err.starts_with("invalid model card: missing field"), "{err}");
    }

    /// Every card the site ships parses as this type, and names the file it describes.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn every_shipped_card_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/models");
        let mut cards = 0;
        for entry in std::fs::read_dir(&dir).expect("static/models") {
            let path = entry.expect("entry").path();
            if path.to_string_lossy().ends_with(".card.json") {
                let card = TrainingCard::parse(&std::fs::read(&path).expect("readable"))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let onnx = dir.join(format!("{}.onnx", card.id));
                assert_eq!(std::fs::metadata(&onnx).map(|m| m.len()).ok(), Some(card.bytes), "{}", onnx.display());
                cards += 1;
            }
        }
        assert!(cards >= 3, "only {cards} cards in {}", dir.display());
    }
}
