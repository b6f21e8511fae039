//! # distillate-protocol
//!
//! Messages between the page and the inference worker. The page fetches bytes and owns
//! what it showed the person (names, labels, thumbnails); the worker owns the loaded
//! models and the sample set, and answers with what only it knows. Errors cross the
//! boundary typed ([`Failure`]). Byte buffers are marked `serde_bytes`: gloo-worker's
//! codec (bincode) then copies them whole instead of encoding them one element at a time
//! (megabytes of models and samples at start-up).

use distillate_engine::bench::{AbSamples, BenchConfig, Phase};
use distillate_engine::metrics::EvalSummary;
use distillate_engine::{ModelCard, PreprocessSpec};
use serde::{Deserialize, Serialize};

/// Names a pair the page asked the worker to load. The page numbers its requests; the
/// worker echoes the number with every answer about that pair, so an answer that was
/// already on its way when another pair (even one with identical cards) replaced it is
/// recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct PairId(pub u64);

/// A model to load: its bytes and how to preprocess for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelBlob {
    /// Display name (the worker's error messages name the model by it).
    pub name: String,
    /// ONNX bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
    /// Preprocessing.
    pub preprocess: PreprocessSpec,
}

/// Which model of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// The teacher.
    Teacher,
    /// The student.
    Student,
}

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Load a teacher and a student scoring `classes` classes. On failure the models
    /// loaded before stay in place.
    LoadPair { id: PairId, teacher: ModelBlob, student: ModelBlob, classes: usize },
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
    /// Evaluate both models on samples `start..end` (cut at the samples there are): one
    /// worker's share of an evaluation the page splits between several.
    Evaluate { start: usize, end: usize },
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
    Throughput { model: Side, warmup_ms: f64, duration_ms: f64 },
}

impl Request {
    /// The task this request asks for, as failures name it.
    pub fn task(&self) -> Task {
        match self {
            Request::LoadPair { .. } => Task::LoadingModels,
            Request::LoadSamples { .. } => Task::LoadingSamples,
            Request::Classify { .. } | Request::ClassifyImage { .. } => Task::Classifying,
            Request::Benchmark { .. } => Task::Benchmarking,
            Request::Evaluate { .. } => Task::Evaluating,
            Request::Cancel => Task::Cancelling,
            Request::Watch { .. } | Request::Panic => Task::Starting,
            Request::Throughput { .. } => Task::MeasuringThroughput,
        }
    }
}

/// What the worker was doing when something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// Loading a pair.
    LoadingModels,
    /// Loading the sample set.
    LoadingSamples,
    /// Classifying an image.
    Classifying,
    /// Running the benchmark.
    Benchmarking,
    /// Evaluating on samples.
    Evaluating,
    /// Stopping a job.
    Cancelling,
    /// Starting up.
    Starting,
    /// Throughput mode.
    MeasuringThroughput,
}

impl Task {
    /// As the page says it: "Error while {describe}: …".
    pub fn describe(self) -> &'static str {
        match self {
            Task::LoadingModels => "loading the models",
            Task::LoadingSamples => "loading the sample set",
            Task::Classifying => "classifying",
            Task::Benchmarking => "benchmarking",
            Task::Evaluating => "evaluating",
            Task::Cancelling => "cancelling",
            Task::Starting => "starting",
            Task::MeasuringThroughput => "measuring throughput",
        }
    }
}

/// A request that failed: during what, and why (a complete sentence from the engine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What the worker was doing.
    pub task: Task,
    /// Why it failed.
    pub message: String,
}

impl Failure {
    /// A failure of `task` with `message`.
    pub fn new(task: Task, message: impl ToString) -> Failure {
        Failure { task, message: message.to_string() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Error while {}: {}", self.task.describe(), self.message)
    }
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
    /// Engine build features, e.g. `wasm32 · simd128`.
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
    /// Pair `pair` loaded: the cards the worker read from the files.
    Loaded { pair: PairId, teacher: ModelCard, student: ModelCard, load_ms: f64 },
    /// Both models' answers for an image the person supplied.
    ClassifiedImage { name: String, teacher: Prediction, student: Prediction },
    /// The sample set loaded, with this many images.
    SamplesLoaded { count: usize },
    /// Both models of pair `pair` on sample `index`.
    Classified { pair: PairId, index: usize, teacher: Prediction, student: Prediction },
    /// Benchmark progress with the samples so far (for the live histogram).
    BenchProgress { phase: Phase, progress: f64, samples: AbSamples },
    /// Evaluation progress with the numbers so far.
    EvalProgress { done: usize, total: usize, summary: Option<EvalSummary>, elapsed_ms: f64 },
    /// Images classified (preprocessing included) in `elapsed_ms` after the warm-up.
    Throughput { model: Side, images: usize, elapsed_ms: f64 },
    /// A request failed.
    Failed(Failure),
}

/// Engine build features of this compilation, shown on the environment card.
pub fn build_features() -> String {
    format!("{} · {}", std::env::consts::ARCH, distillate_engine::SIMD_FEATURES)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use distillate_engine::BatchDim;
    use distillate_engine::metrics::Evaluation;

    use super::*;

    fn card() -> ModelCard {
        ModelCard {
            channels: 1,
            height: 28,
            width: 28,
            batch: BatchDim::Dynamic,
            classes: 10,
            params: 1234,
            macs: 5678,
            flops: 11_356,
            bytes: 999,
            operators: BTreeMap::from([("Conv".to_string(), 2)]),
            producer: "test".into(),
            channels_last: false,
            output_probabilities: false,
            sha256: Some("ab".repeat(32)),
        }
    }

    fn prediction() -> Prediction {
        Prediction { top3: vec![(1, 0.5), (2, 0.25), (0, 0.125)], latency_ms: 0.25 }
    }

    /// One example of every request. The exhaustive `match` is the point: a new variant
    /// does not compile until it has an example here, so none escapes the codec test.
    fn example_request(shape: &Request) -> Request {
        let blob =
            |name: &str| ModelBlob { name: name.into(), bytes: vec![1, 2, 3], preprocess: PreprocessSpec::imagenet() };
        match shape {
            Request::LoadPair { .. } => {
                Request::LoadPair { id: PairId(7), teacher: blob("t"), student: blob("s"), classes: 10 }
            }
            Request::ClassifyImage { .. } => {
                Request::ClassifyImage { name: "a.png".into(), bytes: vec![137, 80, 78, 71] }
            }
            Request::LoadSamples { .. } => {
                Request::LoadSamples { images: vec![0, 0, 8, 1, 0, 0, 0, 1, 7], labels: vec![0, 0, 8, 3] }
            }
            Request::Classify { .. } => Request::Classify { index: 3 },
            Request::Benchmark { .. } => Request::Benchmark { config: BenchConfig::quick() },
            Request::Evaluate { .. } => Request::Evaluate { start: 500, end: 1000 },
            Request::Cancel => Request::Cancel,
            Request::Watch { .. } => Request::Watch { channel: "distillate-1".into() },
            Request::Panic => Request::Panic,
            Request::Throughput { .. } => {
                Request::Throughput { model: Side::Student, warmup_ms: 1.0, duration_ms: 2.0 }
            }
        }
    }

    /// One example of every response, exhaustive like [`example_request`].
    fn example_response(shape: &Response) -> Response {
        let mut eval = Evaluation::new(10);
        eval.add(&[1.0; 10], &[0.5; 10], 3).expect("adds");
        match shape {
            Response::Ready(_) => {
                Response::Ready(WorkerInfo { build: build_features(), timer_resolution_ms: 0.1, started_epoch_ms: 5.0 })
            }
            Response::Loaded { .. } => {
                Response::Loaded { pair: PairId(2), teacher: card(), student: card(), load_ms: 3.0 }
            }
            Response::ClassifiedImage { .. } => {
                Response::ClassifiedImage { name: "x.jpg".into(), teacher: prediction(), student: prediction() }
            }
            Response::SamplesLoaded { .. } => Response::SamplesLoaded { count: 10_000 },
            Response::Classified { .. } => {
                Response::Classified { pair: PairId(2), index: 4, teacher: prediction(), student: prediction() }
            }
            Response::BenchProgress { .. } => Response::BenchProgress {
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
            Response::EvalProgress { .. } => {
                Response::EvalProgress { done: 1, total: 2, summary: eval.summary().ok(), elapsed_ms: 1.0 }
            }
            Response::Throughput { .. } => {
                Response::Throughput { model: Side::Teacher, images: 500, elapsed_ms: 100.0 }
            }
            Response::Failed(_) => Response::Failed(Failure::new(Task::LoadingModels, "not an ONNX model")),
        }
    }

    /// The variant indices bincode gives `examples`, checked to be every variant: each
    /// index from 0 up, and the next index refused as no variant at all.
    fn assert_every_variant<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(examples: &[T]) {
        let mut seen = std::collections::BTreeSet::new();
        for example in examples {
            let bytes = bincode::serialize(example).expect("encodes");
            // bincode 1 writes an enum as its variant index (u32, little-endian), then the fields.
            seen.insert(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
            let back: T = bincode::deserialize(&bytes).expect("decodes");
            assert_eq!(&back, example);
        }
        let n = seen.len() as u32;
        assert_eq!(seen, (0..n).collect(), "one example per variant");
        assert!(bincode::deserialize::<T>(&n.to_le_bytes()).is_err(), "variant {n} exists but has no example");
    }

    /// Messages cross the worker boundary through gloo-worker's codec (bincode 1.3), which
    /// cannot carry internally tagged enums or skipped fields: every variant round-trips.
    #[test]
    fn every_request_and_response_survives_the_worker_codec() {
        let blob = ModelBlob { name: String::new(), bytes: vec![], preprocess: PreprocessSpec::default() };
        let requests = [
            Request::LoadPair { id: PairId(0), teacher: blob.clone(), student: blob, classes: 0 },
            Request::ClassifyImage { name: String::new(), bytes: vec![] },
            Request::LoadSamples { images: vec![], labels: vec![] },
            Request::Classify { index: 0 },
            Request::Benchmark { config: BenchConfig::quick() },
            Request::Evaluate { start: 0, end: 0 },
            Request::Cancel,
            Request::Watch { channel: String::new() },
            Request::Panic,
            Request::Throughput { model: Side::Teacher, warmup_ms: 0.0, duration_ms: 0.0 },
        ];
        assert_every_variant(&requests.iter().map(example_request).collect::<Vec<_>>());

        let p = prediction();
        let responses = [
            Response::Ready(WorkerInfo { build: String::new(), timer_resolution_ms: 0.0, started_epoch_ms: 0.0 }),
            Response::Loaded { pair: PairId(0), teacher: card(), student: card(), load_ms: 0.0 },
            Response::ClassifiedImage { name: String::new(), teacher: p.clone(), student: p.clone() },
            Response::SamplesLoaded { count: 0 },
            Response::Classified { pair: PairId(0), index: 0, teacher: p.clone(), student: p },
            Response::BenchProgress {
                phase: Phase::Warmup,
                progress: 0.0,
                samples: AbSamples {
                    a: vec![],
                    b: vec![],
                    calls_per_sample_a: 0,
                    calls_per_sample_b: 0,
                    warmup_calls: 0,
                    measured_ms: 0.0,
                    clock_resolution_ms: 0.0,
                },
            },
            Response::EvalProgress { done: 0, total: 0, summary: None, elapsed_ms: 0.0 },
            Response::Throughput { model: Side::Student, images: 0, elapsed_ms: 0.0 },
            Response::Failed(Failure::new(Task::Starting, "")),
        ];
        assert_every_variant(&responses.iter().map(example_response).collect::<Vec<_>>());
    }

    #[test]
    fn a_failure_reads_as_a_sentence() {
        let f = Failure::new(Request::Evaluate { start: 0, end: 1 }.task(), "no sample set is loaded");
        assert_eq!(f.to_string(), "Error while evaluating: no sample set is loaded");
    }
}
