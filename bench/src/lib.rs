//! What the benchmark runs of Distillate's engine, and the schedule every runner follows.
//!
//! In the browser (wasm32) this crate is the engine behind a minimal wasm-bindgen API —
//! load model bytes, run one image — so the page can time it exactly as it times
//! onnxruntime-web's `session.run`: same input, same warm-up, same batched timing
//! (`schedule.json`). Natively, `bench-native` times the engine with the same schedule.

use serde::Deserialize;

pub mod tiles;

/// How every runner warms up and samples (read from `bench/schedule.json` by the page,
/// the native harness and the onnxruntime script alike).
#[derive(Debug, Clone, Deserialize)]
pub struct Schedule {
    /// Run the model this long before timing: V8 tiers wasm up in the background, and
    /// ORT and tract both allocate on their first runs.
    pub warmup_ms: f64,
    /// A sample times as many back-to-back runs as last at least this long (browser clocks
    /// are coarsened to 100 µs without cross-origin isolation).
    pub batch_min_ms: f64,
    /// Sampling time per runner and model.
    pub duration_ms: f64,
    /// IDX images (repository-relative) whose first image is the benchmark input.
    pub image: String,
}

#[cfg(target_arch = "wasm32")]
mod web {
    use distillate_engine::{Classifier, Model};
    use wasm_bindgen::prelude::*;

    /// One loaded model, ready to classify single images.
    #[wasm_bindgen]
    pub struct Session {
        classifier: Classifier,
        logits: Vec<f32>,
    }

    #[wasm_bindgen]
    impl Session {
        /// Loads, checks and compiles ONNX bytes for one image per call.
        #[wasm_bindgen(constructor)]
        pub fn new(bytes: &[u8]) -> Result<Session, String> {
            let model = Model::load(bytes).map_err(|e| e.to_string())?;
            let classifier = model.classifier(1).map_err(|e| e.to_string())?;
            let logits = vec![0.0; classifier.classes()];
            Ok(Session { classifier, logits })
        }

        /// Runs one image (C·H·W floats) and returns the class scores: what a page does
        /// per prediction, including the copies in and out of wasm memory.
        pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, String> {
            self.classifier.run_into(input, &mut self.logits).map_err(|e| e.to_string())?;
            Ok(self.logits.clone())
        }

        /// Which SIMD this module was compiled with.
        pub fn simd() -> String {
            distillate_engine::SIMD_FEATURES.into()
        }
    }

    /// One convolution layer and tile of the micro-benchmark ([`crate::tiles`]).
    #[wasm_bindgen]
    pub struct ConvProbe(crate::tiles::Probe);

    #[wasm_bindgen]
    impl ConvProbe {
        #[wasm_bindgen(constructor)]
        pub fn new(layer: usize, tile: usize) -> Result<ConvProbe, String> {
            crate::tiles::Probe::new(layer, tile)
                .map(ConvProbe)
                .ok_or_else(|| format!("no layer {layer} or tile {tile}"))
        }

        pub fn run(&mut self, times: u32) -> f32 {
            self.0.run(times)
        }

        pub fn macs(&self) -> f64 {
            self.0.macs() as f64
        }
    }

    /// The micro-benchmark's layers and tiles, as JSON: `{"layers": [...], "tiles": [...],
    /// "peak_macs_per_iteration": 48}`.
    #[wasm_bindgen]
    pub fn conv_tables() -> String {
        serde_json::json!({
            "layers": crate::tiles::layers(),
            "tiles": crate::tiles::tiles(),
            "peak_macs_per_iteration": crate::tiles::PEAK_MACS_PER_ITERATION,
        })
        .to_string()
    }

    /// See [`crate::tiles::fma_peak`].
    #[wasm_bindgen]
    pub fn fma_peak(iterations: u32) -> f32 {
        crate::tiles::fma_peak(iterations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_schedule_parses() {
        let s: Schedule = serde_json::from_str(include_str!("../schedule.json")).expect("schedule.json parses");
        assert!(s.warmup_ms >= 0.0 && s.batch_min_ms > 0.0 && s.duration_ms > 0.0);
    }
}
