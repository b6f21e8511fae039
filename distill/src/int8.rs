//! The compression rung past distillation: the chosen student's weights stored as int8
//! (post-training quantization, `distillate_engine::quantize`), calibrated on training
//! images, scored on the test images and timed against the float model in the same run.
//!
//! The card says what the rung is for by measurement: if tract runs it slower than the
//! float student (it dequantizes to f32 and back around every layer), it is a size point on
//! the ladder, not a model to deploy for speed.

use std::path::Path;

use anyhow::Context;
use distillate_engine::Model;
use distillate_engine::metrics::{accuracy, argmax};
use distillate_engine::preprocess::Preprocessor;
use distillate_engine::quantize::quantize_int8;
use distillate_engine::training::{Quantization, Role, TrainingCard};
use serde_json::json;

use crate::data::{PIXELS, Split};
use crate::export::{Exporter, evaluate, native_latency, preprocess_spec, tract_logits};
use crate::soft::fnv1a64;
use crate::stage::StageRecord;

/// Training images whose activations set the int8 ranges, spread evenly over the split.
pub const CALIBRATION_IMAGES: usize = 1000;

/// How the weights and activations are stored, for the card.
const SCHEME: &str = "QDQ int8: Conv/Gemm weights per output channel, symmetric; \
    their inputs per tensor, uint8, min–max range over the calibration images; biases f32";

/// The id of `float`'s int8 rung.
pub fn id(float: &TrainingCard) -> String {
    format!("{}-int8", float.id)
}

/// The int8 stage's cache key: the float model's content and how it is quantized (a
/// retrained float model with the same inputs is other weights, so its hash, not its key).
pub fn key(float: &TrainingCard, float_bytes: &[u8]) -> serde_json::Value {
    json!({
        "quantized": float.id,
        "float_model": format!("{:016x}", fnv1a64(float_bytes)),
        "scheme": SCHEME,
        "calibration_images": CALIBRATION_IMAGES,
    })
}

/// The ONNX file the exporter wrote for `float`.
pub fn float_bytes(out: &Path, float: &TrainingCard) -> anyhow::Result<Vec<u8>> {
    std::fs::read(out.join(format!("models/{}.onnx", float.id))).with_context(|| format!("the ONNX of {}", float.id))
}

/// Quantizes `float` (a card the exporter wrote, its file `float_bytes`), writes `<id>-int8.onnx` and returns its
/// card, with its native latency measured beside the float model's. The card keeps the
/// float model's training record and export check (the weights came through that export).
pub fn rung(
    exporter: &Exporter<'_>,
    float: &TrainingCard,
    float_bytes: &[u8],
    stage: StageRecord,
) -> anyhow::Result<TrainingCard> {
    let out = exporter.out;
    let calibration = calibration_inputs(&exporter.data.train, CALIBRATION_IMAGES)?;
    let quantized = quantize_int8(float_bytes, &calibration).with_context(|| format!("quantizing {}", float.id))?;
    let id = id(float);
    let path = out.join(format!("models/{id}.onnx"));
    std::fs::write(&path, &quantized.bytes).with_context(|| format!("cannot write {}", path.display()))?;

    let model = Model::load(&quantized.bytes).with_context(|| format!("tract cannot load {id}"))?;
    let float_model = Model::load(float_bytes)?;
    let test = &exporter.data.test;
    let logits = tract_logits(&model, test)?;
    let float_logits = tract_logits(&float_model, test)?;
    let classes = model.card().classes;
    let predictions: Vec<usize> = logits.chunks(classes).map(argmax).collect();
    let float_predictions: Vec<usize> = float_logits.chunks(classes).map(argmax).collect();
    let test_accuracy = accuracy(&predictions, &test.labels)?;
    let float_agreement = accuracy(&predictions, &float_predictions)?;
    let max_diff = logits.iter().zip(&float_logits).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    let against_teacher = exporter.teacher_test.map(|t| evaluate(t, &logits, test)).transpose()?;
    let val = &exporter.data.val;
    let val_accuracy =
        accuracy(&tract_logits(&model, val)?.chunks(classes).map(argmax).collect::<Vec<_>>(), &val.labels)?;
    let (float_ms, int8_ms) = native_latency(float_bytes, &quantized.bytes, test)?;
    let latency_ratio = int8_ms / float_ms;
    let bytes_ratio = quantized.bytes.len() as f64 / float_bytes.len() as f64;
    let use_as = if latency_ratio < 1.0 {
        format!("a faster model: {:.2}× the float model's native latency", latency_ratio)
    } else {
        format!(
            "a size point only: {:.0} % of the float file, but {:.2}× its native latency in tract, which runs \
             int8 weights as DequantizeLinear → f32 convolution; deploy the float student for speed",
            bytes_ratio * 100.0,
            latency_ratio
        )
    };
    eprintln!(
        "{id}: test accuracy {:.2} % (float {:.2} %), {:.2} % agreement with the float model, {} bytes ({:.0} %), \
         native {int8_ms:.3} ms against {float_ms:.3} ms",
        test_accuracy * 100.0,
        float.test_accuracy * 100.0,
        float_agreement * 100.0,
        quantized.bytes.len(),
        bytes_ratio * 100.0
    );
    let quantization = Quantization {
        from: float.id.clone(),
        scheme: SCHEME.into(),
        layers: quantized.layers,
        calibration_images: quantized.calibration_inputs,
        float_agreement,
        max_abs_logit_change: max_diff,
        accuracy_change_points: (test_accuracy - float.test_accuracy) * 100.0,
        bytes_ratio,
        native_latency_ratio: latency_ratio,
        use_as,
    };
    Ok(TrainingCard {
        id: id.clone(),
        name: format!("{} (int8)", float.name.trim_end_matches(" (distilled)")),
        role: Role::Quantized,
        params: model.card().params,
        macs: model.card().macs,
        bytes: quantized.bytes.len() as u64,
        test_accuracy,
        test_images: test.len(),
        val_accuracy,
        teacher_agreement: against_teacher.as_ref().map(|e| e.agreement),
        teacher_mean_kl: against_teacher.as_ref().map(|e| e.mean_kl),
        native_latency_ms: int8_ms,
        stage: Some(stage),
        quantization: Some(quantization),
        ..float.clone()
    })
}

/// `n` training images (every `len / n`-th), preprocessed as the models read them.
fn calibration_inputs(train: &Split, n: usize) -> anyhow::Result<Vec<Vec<f32>>> {
    let pre = Preprocessor::for_shape(&preprocess_spec(), 1, 28, 28)?;
    let step = (train.len() / n.max(1)).max(1);
    (0..train.len())
        .step_by(step)
        .take(n)
        .map(|i| {
            let mut input = vec![0.0; pre.len()];
            pre.luma8_into(28, 28, &train.pixels[i * PIXELS..(i + 1) * PIXELS], &mut input)?;
            Ok(input)
        })
        .collect()
}
