//! Messages between the page and the inference worker. The page fetches bytes; the worker
//! owns the loaded models; errors cross the boundary as strings. Byte buffers are marked
//! `serde_bytes`: gloo-worker's codec (bincode) then copies them whole instead of encoding
//! and decoding them one element at a time (megabytes of models and samples at start-up).

use distillate_engine::bench::{AbSamples, BenchConfig, Phase};
use distillate_engine::metrics::EvalSummary;
use distillate_engine::{ModelCard, PreprocessSpec};
use gloo_worker::{HandlerId, Worker, WorkerScope};
use serde::{Deserialize, Serialize};

/// The inference worker as the page knows it: its messages. gloo-worker names a bridge by
/// the worker type at its other end but only uses that type's `Input` and `Output`; the
/// worker itself (`distillate-worker`'s `InferenceWorker`) is compiled into its own bundle,
/// so that the page's bundle never links tract. Uninhabited: the page never creates one.
#[derive(Debug)]
pub enum Inference {}

impl Worker for Inference {
    type Message = std::convert::Infallible;
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        // Only gloo-worker's registrar calls this, and only in the worker's bundle.
        unreachable!("the page does not run the inference worker")
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {
        match *self {}
    }

    fn received(&mut self, _scope: &WorkerScope<Self>, _msg: Request, _id: HandlerId) {
        match *self {}
    }
}

/// A model to load: its bytes and how to preprocess for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelBlob {
    /// Display name.
    pub name: String,
    /// ONNX bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
    /// Preprocessing.
    pub preprocess: PreprocessSpec,
}

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Load a teacher and a student scoring the classes named by `labels`. On failure the
    /// models loaded before stay in place.
    LoadPair { teacher: ModelBlob, student: ModelBlob, labels: Vec<String> },
    /// Classify an encoded image (PNG/JPEG) the person supplied.
    ClassifyImage {
        name: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// The labelled evaluation set (IDX images and labels, optionally gzip; the page sends
    /// the images uncompressed, having decoded them once already for the thumbnails).
    LoadSamples {
        #[serde(with = "serde_bytes")]
        images: Vec<u8>,
        #[serde(with = "serde_bytes")]
        labels: Vec<u8>,
    },
    /// Classify sample `index` with both models.
    Classify { index: usize },
    /// Run the interleaved benchmark.
    Benchmark { config: BenchConfig },
    /// Evaluate both models on the first `limit` samples.
    Evaluate { limit: usize },
    /// Stop the running benchmark or evaluation.
    Cancel,
    /// Announce a panic on this `BroadcastChannel` before the worker dies, so the page can
    /// report it and start a new worker (sent first to every worker).
    Watch { channel: String },
    /// Panic on purpose: how the end-to-end suite tests recovery (`?debug=worker-panic`).
    Panic,
    /// Classify sample images with one model back to back: `warmup_ms` untimed (the
    /// browser optimises wasm in the background), then count for `duration_ms`. What each
    /// worker of the throughput pool runs; the worker is busy until it answers.
    Throughput { model: Role, warmup_ms: f64, duration_ms: f64 },
}

/// Which model of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// The teacher.
    Teacher,
    /// The student.
    Student,
}

/// One model's answer for one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Best three (class, probability).
    pub top3: Vec<(usize, f32)>,
    /// Milliseconds per inference (several timed together: the browser clock is coarse).
    pub latency_ms: f64,
}

/// What the worker knows about where it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Engine build features, e.g. `simd128`.
    pub build: String,
    /// Measured resolution of `performance.now()` in the worker, ms.
    pub timer_resolution_ms: f64,
    /// When the worker's module started running (after its script and wasm were fetched,
    /// compiled and instantiated), as epoch ms: `performance.timeOrigin + now()` on the
    /// worker's clock, which the page converts to its own.
    pub started_epoch_ms: f64,
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The worker started.
    Ready(WorkerInfo),
    /// A pair loaded (names and labels as given in the request).
    Loaded { names: (String, String), labels: Vec<String>, teacher: ModelCard, student: ModelCard, load_ms: f64 },
    /// Both models' answers for an image the person supplied.
    ClassifiedImage { name: String, teacher: Prediction, student: Prediction },
    /// The sample set loaded.
    SamplesLoaded { count: usize, width: u32, height: u32 },
    /// Both models' answers for sample `index`.
    Classified { index: usize, label: usize, teacher: Prediction, student: Prediction },
    /// Benchmark progress with the samples so far (for the live histogram).
    BenchProgress { phase: Phase, progress: f64, samples: AbSamples },
    /// Evaluation progress with the numbers so far.
    EvalProgress { done: usize, total: usize, summary: Option<EvalSummary>, elapsed_ms: f64 },
    /// Images classified (preprocessing included) in `elapsed_ms` after the warm-up.
    Throughput { model: Role, images: usize, elapsed_ms: f64 },
    /// A request failed; `context` says which.
    Error { context: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages cross the worker boundary through gloo-worker's codec (bincode 1.3), which
    /// cannot carry internally tagged enums or skipped fields: round-trip every shape.
    #[test]
    fn every_response_survives_the_worker_codec() {
        let card = distillate_engine::Model::load(
            &distillate_engine::onnx_build::RandomCnn { dynamic_batch: true, ..Default::default() }.build(),
        )
        .expect("loads")
        .card()
        .clone();
        let mut eval = distillate_engine::metrics::Evaluation::new(10);
        eval.add(&[1.0; 10], &[0.5; 10], 3).expect("adds");
        let responses = vec![
            Response::Loaded {
                names: ("t".into(), "s".into()),
                labels: vec!["a".into(), "b".into()],
                teacher: card.clone(),
                student: card,
                load_ms: 3.0,
            },
            Response::EvalProgress { done: 1, total: 2, summary: eval.summary().ok(), elapsed_ms: 1.0 },
            Response::BenchProgress {
                phase: Phase::Measure,
                progress: 0.5,
                samples: AbSamples {
                    a: vec![1.0],
                    b: vec![0.5],
                    calls_per_sample_a: 1,
                    calls_per_sample_b: 2,
                    warmup_calls: 3,
                    measured_ms: 4.0,
                    clock_resolution_ms: 0.1,
                },
            },
            Response::Error { context: "x".into(), message: "y".into() },
        ];
        for r in responses {
            let back: Response = bincode::deserialize(&bincode::serialize(&r).expect("encodes")).expect("decodes");
            assert_eq!(back, r);
        }
        let requests = vec![
            Request::LoadPair {
                teacher: ModelBlob { name: "t".into(), bytes: vec![1, 2], preprocess: PreprocessSpec::imagenet() },
                student: ModelBlob { name: "s".into(), bytes: vec![3], preprocess: PreprocessSpec::default() },
                labels: vec!["a".into(), "b".into()],
            },
            Request::LoadSamples { images: vec![0, 0, 8, 1, 0, 0, 0, 1, 7], labels: vec![] },
            Request::ClassifyImage { name: "a.png".into(), bytes: vec![137, 80, 78, 71] },
            Request::Watch { channel: "distillate-1".into() },
            Request::Panic,
        ];
        for request in requests {
            let back: Request = bincode::deserialize(&bincode::serialize(&request).expect("encodes")).expect("decodes");
            assert_eq!(back, request);
        }
    }
}
