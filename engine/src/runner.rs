//! A model with its preprocessing and reusable buffers: what the CLI and the web worker
//! hold for each of the teacher and the student.

use crate::error::Result;
use crate::model::{Classifier, Model, ModelCard};
use crate::preprocess::{PreprocessSpec, Preprocessor};

/// One model ready to classify images, one at a time.
#[derive(Debug)]
pub struct Runner {
    card: ModelCard,
    pre: Preprocessor,
    classifier: Classifier,
    input: Vec<f32>,
    logits: Vec<f32>,
}

impl Runner {
    /// Compiles `model` for single images and checks `spec` against it.
    pub fn new(model: &Model, spec: &PreprocessSpec) -> Result<Runner> {
        let pre = Preprocessor::new(spec, model.card())?;
        let classifier = model.classifier(model_batch(model))?;
        Ok(Runner {
            card: model.card().clone(),
            input: vec![0.0; pre.len() * classifier.batch()],
            logits: vec![0.0; classifier.classes() * classifier.batch()],
            pre,
            classifier,
        })
    }

    /// Loads ONNX bytes and compiles them.
    pub fn from_bytes(bytes: &[u8], spec: &PreprocessSpec) -> Result<Runner> {
        Runner::new(&Model::load(bytes)?, spec)
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Classifies an encoded PNG/JPEG; returns the logits.
    pub fn classify_bytes(&mut self, bytes: &[u8]) -> Result<&[f32]> {
        let n = self.pre.len();
        self.pre.bytes_into(bytes, &mut self.input[..n])?;
        self.run_current()
    }

    /// Classifies raw 8-bit gray pixels; returns the logits.
    pub fn classify_luma8(&mut self, width: u32, height: u32, pixels: &[u8]) -> Result<&[f32]> {
        let n = self.pre.len();
        self.pre.luma8_into(width, height, pixels, &mut self.input[..n])?;
        self.run_current()
    }

    /// Runs the model again on the last input (what a latency benchmark times: inference
    /// alone, without decoding or preprocessing).
    pub fn run_current(&mut self) -> Result<&[f32]> {
        self.classifier.run_into(&self.input, &mut self.logits)?;
        let scores = &mut self.logits[..self.card.classes];
        if self.card.output_probabilities {
            crate::probabilities::to_log_probabilities(scores);
        }
        Ok(scores)
    }
}

/// Batch size to compile: 1, or the fixed size a model insists on (its extra slots stay
/// zero and their scores are ignored).
fn model_batch(model: &Model) -> usize {
    match model.card().batch {
        crate::model::BatchDim::Fixed(n) => n,
        crate::model::BatchDim::Dynamic => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_build::RandomCnn;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn classifies_raw_pixels_and_reruns_identically() {
        let mut r = Runner::from_bytes(&RandomCnn::default().build(), &PreprocessSpec::default()).expect("loads");
        let first = r.classify_luma8(28, 28, &[128; 784]).expect("runs").to_vec();
        assert_eq!(first.len(), 10);
        assert_eq!(r.run_current().expect("runs"), first.as_slice());
    }
}
