//! What the worker does, without the browser: a [`Core`] answers each [`Request`] and
//! runs long jobs (benchmark, evaluation) one slice at a time, on any [`Clock`]. The gloo
//! shell (`agent.rs`) only moves messages and schedules the next slice, so everything here
//! runs and is tested natively with a fake clock.

use distillate_engine::bench::{AbBenchmark, Clock, Phase};
use distillate_engine::idx::LabelledImages;
use distillate_engine::metrics::{Evaluation, softmax, top_k};
use distillate_engine::pair::{Image, Side as PairSide, Source};
use distillate_engine::{Pair, Runner};
use distillate_protocol::{Failure, ModelBlob, PairId, Prediction, Request, Response, Side, Task};

/// Milliseconds of work per slice: short enough that progress looks live and Cancel is
/// honoured quickly, long enough that message overhead stays negligible.
pub const SLICE_MS: f64 = 120.0;
/// A per-image latency is timed over at least this long (the browser clock is coarse).
const MIN_TIMED_MS: f64 = 5.0;

/// What a request leads to. Returned once per message and matched at once, never stored,
/// so the size of the reply does not matter.
#[derive(Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// Answer now.
    Reply(Response),
    /// A job started: run [`Core::step`] until it says it is done.
    Started,
    /// Nothing to answer (a Cancel).
    Quiet,
    /// Announce a panic on this channel (the shell keeps it).
    Watch(String),
    /// Panic, as asked.
    Panic,
}

/// One slice of a job: what to report, and whether more slices follow.
#[derive(Debug, PartialEq)]
pub struct Slice {
    /// Progress (or the result, or a failure).
    pub response: Response,
    /// Run another slice after this one.
    pub more: bool,
}

enum Job {
    Bench(Box<AbBenchmark>),
    Eval { eval: Evaluation, start: usize, next: usize, end: usize, started: f64 },
}

/// The models, the samples and the running job.
#[derive(Default)]
pub struct Core {
    pair: Option<(PairId, Pair)>,
    samples: Option<LabelledImages>,
    job: Option<Job>,
}

impl Core {
    /// Answers `request`; failures come back as [`Response::Failed`] naming the task.
    pub fn handle(&mut self, request: Request, clock: &dyn Clock) -> Outcome {
        let task = request.task();
        match self.try_handle(request, clock) {
            Ok(outcome) => outcome,
            Err(message) => Outcome::Reply(Response::Failed(Failure::new(task, message))),
        }
    }

    /// Runs the current job for one slice; `None` when there is none (it finished, failed
    /// or was cancelled).
    pub fn step(&mut self, clock: &dyn Clock) -> Option<Slice> {
        let job = self.job.take()?;
        let task = match job {
            Job::Bench(_) => Task::Benchmarking,
            Job::Eval { .. } => Task::Evaluating,
        };
        Some(match self.run_slice(job, clock) {
            Ok((response, next)) => {
                self.job = next;
                Slice { response, more: self.job.is_some() }
            }
            Err(message) => Slice { response: Response::Failed(Failure::new(task, message)), more: false },
        })
    }

    fn pair(&mut self) -> Result<&mut (PairId, Pair), String> {
        self.pair.as_mut().ok_or_else(|| "no models are loaded".to_string())
    }

    /// The samples and the pair together (disjoint borrows), for jobs that need both.
    fn loaded(&mut self) -> Result<(&LabelledImages, &mut (PairId, Pair)), String> {
        let samples = self.samples.as_ref().ok_or("no sample set is loaded")?;
        let pair = self.pair.as_mut().ok_or("no models are loaded")?;
        Ok((samples, pair))
    }

    fn samples(&self) -> Result<&LabelledImages, String> {
        self.samples.as_ref().ok_or_else(|| "no sample set is loaded".to_string())
    }

    fn try_handle(&mut self, request: Request, clock: &dyn Clock) -> Result<Outcome, String> {
        let reply = |r: Response| Ok(Outcome::Reply(r));
        match request {
            Request::LoadPair { id, teacher, student, classes } => {
                let start = clock.now_ms();
                // The new pair is complete before it replaces the old one.
                let pair = Pair::load(source(&teacher), source(&student), classes).map_err(|e| e.to_string())?;
                let (t, s) = pair.cards();
                let response = Response::Loaded {
                    pair: id,
                    teacher: t.clone(),
                    student: s.clone(),
                    load_ms: clock.now_ms() - start,
                };
                self.job = None;
                self.pair = Some((id, pair));
                reply(response)
            }
            Request::LoadSamples { images, labels } => {
                let set = LabelledImages::from_idx(&images, &labels).map_err(|e| e.to_string())?;
                if set.is_empty() {
                    return Err("the sample set holds no images".into());
                }
                let response = Response::SamplesLoaded { count: set.len() };
                self.samples = Some(set);
                reply(response)
            }
            Request::ClassifyImage { name, bytes } => {
                let (_, pair) = self.pair()?;
                let (teacher, student) =
                    predict_both(pair, clock, Image::Encoded(&bytes)).map_err(|e| format!("{name}: {e}"))?;
                reply(Response::ClassifiedImage { name, teacher, student })
            }
            Request::Classify { index } => {
                let (samples, (id, pair)) = self.loaded()?;
                if index >= samples.len() {
                    return Err(format!("sample {index} does not exist"));
                }
                let (teacher, student) = predict_both(pair, clock, Image::sample(samples, index))?;
                reply(Response::Classified { pair: *id, index, teacher, student })
            }
            Request::Benchmark { config } => {
                let (samples, (_, pair)) = self.loaded()?;
                // Prime both models with a real image: the benchmark then times inference only.
                pair.classify(Image::sample(samples, 0)).map_err(|e| e.to_string())?;
                let bench = AbBenchmark::new(config).map_err(|e| e.to_string())?;
                self.job = Some(Job::Bench(Box::new(bench)));
                Ok(Outcome::Started)
            }
            Request::Evaluate { start, end } => {
                let end = end.min(self.samples()?.len());
                if start >= end {
                    return Err(format!("samples {start}..{end} hold no images to evaluate"));
                }
                let eval = self.pair()?.1.evaluation();
                self.job = Some(Job::Eval { eval, start, next: start, end, started: clock.now_ms() });
                Ok(Outcome::Started)
            }
            Request::Cancel => {
                self.job = None;
                Ok(Outcome::Quiet)
            }
            Request::Watch { channel } => Ok(Outcome::Watch(channel)),
            Request::Panic => Ok(Outcome::Panic),
            Request::Throughput { model, warmup_ms, duration_ms } => {
                let (samples, (_, pair)) = self.loaded()?;
                let side = match model {
                    Side::Teacher => PairSide::Teacher,
                    Side::Student => PairSide::Student,
                };
                let (images, elapsed_ms) = throughput(pair.runner(side), samples, clock, warmup_ms, duration_ms)?;
                reply(Response::Throughput { model, images, elapsed_ms })
            }
        }
    }

    /// One slice of `job`: what to report and the job to continue with, if any.
    fn run_slice(&mut self, job: Job, clock: &dyn Clock) -> Result<(Response, Option<Job>), String> {
        let (samples, (_, pair)) = self.loaded()?;
        match job {
            Job::Bench(mut bench) => {
                let (t, s) = pair.runners();
                let phase = bench
                    .step(clock, SLICE_MS, &mut || t.run_current().map(|_| ()), &mut || s.run_current().map(|_| ()))
                    .map_err(|e| e.to_string())?;
                let response =
                    Response::BenchProgress { phase, progress: bench.progress(), samples: bench.samples().clone() };
                Ok((response, (phase != Phase::Done).then_some(Job::Bench(bench))))
            }
            Job::Eval { mut eval, start, mut next, end, started } => {
                let slice_start = clock.now_ms();
                while next < end && clock.now_ms() - slice_start < SLICE_MS {
                    pair.observe(&mut eval, Image::sample(samples, next), samples.labels[next])
                        .map_err(|e| format!("image {next}: {e}"))?;
                    next += 1;
                }
                let response = Response::EvalProgress {
                    done: next - start,
                    total: end - start,
                    summary: eval.summary().ok(),
                    elapsed_ms: clock.now_ms() - started,
                };
                Ok((response, (next < end).then_some(Job::Eval { eval, start, next, end, started })))
            }
        }
    }
}

/// A model of a load request, as the engine's pair takes it.
fn source(blob: &ModelBlob) -> Source<'_> {
    Source { name: &blob.name, bytes: &blob.bytes, preprocess: &blob.preprocess }
}

/// Top-3 and warmed latency of both models on `image`.
fn predict_both(pair: &mut Pair, clock: &dyn Clock, image: Image<'_>) -> Result<(Prediction, Prediction), String> {
    let (t, s) = pair.classify(image).map_err(|e| e.to_string())?;
    let (teacher, student) = pair.runners();
    Ok((timed(teacher, clock, &t)?, timed(student, clock, &s)?))
}

/// Times inference on the runner's current input, for the prediction of `logits`.
fn timed(runner: &mut Runner, clock: &dyn Clock, logits: &[f32]) -> Result<Prediction, String> {
    let start = clock.now_ms();
    let mut runs = 0u32;
    while clock.now_ms() - start < MIN_TIMED_MS || runs < 3 {
        runner.run_current().map_err(|e| e.to_string())?;
        runs += 1;
    }
    let latency_ms = (clock.now_ms() - start) / f64::from(runs);
    Ok(Prediction { top3: top_k(&softmax(logits), 3), latency_ms })
}

/// Images `runner` classifies back to back, cycling through `samples`: `warmup_ms`
/// untimed, then counted for `duration_ms`. Returns (images, elapsed ms).
fn throughput(
    runner: &mut Runner,
    samples: &LabelledImages,
    clock: &dyn Clock,
    warmup_ms: f64,
    duration_ms: f64,
) -> Result<(usize, f64), String> {
    let (w, h, n) = (samples.width, samples.height, samples.len());
    let mut next = 0;
    let mut classify = |next: &mut usize| -> Result<(), String> {
        runner.classify_luma8(w, h, samples.image(*next % n)).map_err(|e| e.to_string())?;
        *next += 1;
        Ok(())
    };
    let start = clock.now_ms();
    while clock.now_ms() - start < warmup_ms {
        classify(&mut next)?;
    }
    let (start, warm) = (clock.now_ms(), next);
    while clock.now_ms() - start < duration_ms {
        classify(&mut next)?;
    }
    Ok((next - warm, clock.now_ms() - start))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use distillate_engine::PreprocessSpec;
    use distillate_engine::metrics::EvalSummary;
    use distillate_engine::onnx_build::RandomCnn;

    use super::*;

    /// A clock that moves 0.25 ms every time it is read, so loops over it always end.
    struct FakeClock(Cell<f64>);

    impl Clock for FakeClock {
        fn now_ms(&self) -> f64 {
            let t = self.0.get() + 0.25;
            self.0.set(t);
            t
        }
        fn resolution_ms(&self) -> f64 {
            0.25
        }
    }

    fn clock() -> FakeClock {
        FakeClock(Cell::new(0.0))
    }

    fn blob(name: &str, seed: u64) -> ModelBlob {
        ModelBlob {
            name: name.into(),
            bytes: RandomCnn { seed, ..Default::default() }.build(),
            preprocess: PreprocessSpec::default(),
        }
    }

    fn load(id: u64) -> Request {
        Request::LoadPair { id: PairId(id), teacher: blob("t", 1), student: blob("s", 2), classes: 10 }
    }

    /// `n` 28×28 images with labels `i % 10`, as IDX files.
    fn samples(n: u32) -> Request {
        let mut images = vec![0, 0, 8, 3];
        for d in [n, 28, 28] {
            images.extend(d.to_be_bytes());
        }
        images.extend((0..n as usize * 784).map(|i| (i * 7 % 256) as u8));
        let mut labels = vec![0, 0, 8, 1];
        labels.extend(n.to_be_bytes());
        labels.extend((0..n).map(|i| (i % 10) as u8));
        Request::LoadSamples { images, labels }
    }

    fn reply(outcome: Outcome) -> Response {
        match outcome {
            Outcome::Reply(r) => r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn failure(outcome: Outcome) -> Failure {
        match reply(outcome) {
            Response::Failed(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn ready(n: u32) -> Core {
        let mut core = Core::default();
        assert!(matches!(reply(core.handle(load(1), &clock())), Response::Loaded { pair: PairId(1), .. }));
        assert_eq!(reply(core.handle(samples(n), &clock())), Response::SamplesLoaded { count: n as usize });
        core
    }

    #[test]
    fn loads_a_pair_and_echoes_its_id_in_every_classification() {
        let mut core = ready(4);
        let Response::Classified { pair, index, teacher, .. } =
            reply(core.handle(Request::Classify { index: 2 }, &clock()))
        else {
            panic!("not a classification")
        };
        assert_eq!((pair, index, teacher.top3.len()), (PairId(1), 2, 3));
        assert!(teacher.latency_ms > 0.0);
        // The same files again under a new id: answers now carry the new id.
        assert!(matches!(reply(core.handle(load(2), &clock())), Response::Loaded { pair: PairId(2), .. }));
        assert!(matches!(
            reply(core.handle(Request::Classify { index: 0 }, &clock())),
            Response::Classified { pair: PairId(2), .. }
        ));
    }

    #[test]
    fn a_failed_load_names_the_model_and_keeps_the_old_pair() {
        let mut core = ready(2);
        let broken = Request::LoadPair {
            id: PairId(9),
            teacher: blob("t", 1),
            student: ModelBlob {
                name: "bad.onnx".into(),
                bytes: b"junk".to_vec(),
                preprocess: PreprocessSpec::default(),
            },
            classes: 10,
        };
        let f = failure(core.handle(broken, &clock()));
        assert_eq!(f.task, Task::LoadingModels);
        assert!(f.message.starts_with("student 'bad.onnx': not an ONNX model"), "{}", f.message);
        assert!(matches!(
            reply(core.handle(Request::Classify { index: 1 }, &clock())),
            Response::Classified { pair: PairId(1), .. }
        ));
    }

    #[test]
    fn requests_before_their_inputs_fail_with_the_reason() {
        let mut core = Core::default();
        assert_eq!(failure(core.handle(Request::Classify { index: 0 }, &clock())).message, "no sample set is loaded");
        reply(core.handle(samples(1), &clock()));
        assert_eq!(
            failure(core.handle(Request::Evaluate { start: 0, end: 1 }, &clock())).message,
            "no models are loaded"
        );
        reply(core.handle(load(1), &clock()));
        let f = failure(core.handle(Request::Classify { index: 5 }, &clock()));
        assert_eq!((f.task, f.message.as_str()), (Task::Classifying, "sample 5 does not exist"));
        let f = failure(core.handle(Request::ClassifyImage { name: "x.png".into(), bytes: vec![1, 2] }, &clock()));
        assert!(f.message.starts_with("x.png: cannot decode image"), "{}", f.message);
        let empty = Request::LoadSamples {
            images: vec![0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28],
            labels: vec![0, 0, 8, 1, 0, 0, 0, 0],
        };
        assert_eq!(failure(core.handle(empty, &clock())).message, "the sample set holds no images");
    }

    // Native only: the real clock this test needs is `InstantClock`, which wasm32 lacks.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_benchmark_runs_in_slices_until_done() {
        let mut core = ready(2);
        assert_eq!(
            core.handle(Request::Benchmark { config: distillate_engine::bench::BenchConfig::quick() }, &clock()),
            Outcome::Started
        );
        // The benchmark sizes its batches to the clock, so it needs one that moves while the
        // models run: the real one (the quick schedule takes a fraction of a second).
        let c = distillate_engine::bench::InstantClock::default();
        let mut slices = Vec::new();
        while let Some(slice) = core.step(&c) {
            let more = slice.more;
            slices.push(slice.response);
            if !more {
                break;
            }
        }
        assert!(slices.len() > 1, "the benchmark took {} slice(s)", slices.len());
        let Some(Response::BenchProgress { phase: Phase::Done, progress, samples }) = slices.last() else {
            panic!("last slice: {:?}", slices.last())
        };
        assert_eq!(*progress, 1.0);
        assert!(samples.a.len() >= 10 && samples.a.len() == samples.b.len());
        assert!(core.step(&c).is_none(), "nothing runs after the end");
    }

    #[test]
    fn cancel_stops_a_job_between_slices_and_says_nothing() {
        let mut core = ready(3000);
        assert_eq!(core.handle(Request::Evaluate { start: 0, end: 3000 }, &clock()), Outcome::Started);
        let first = core.step(&clock()).expect("a slice");
        assert!(first.more);
        assert_eq!(core.handle(Request::Cancel, &clock()), Outcome::Quiet);
        assert!(core.step(&clock()).is_none());
    }

    /// Runs an evaluation of `start..end` to its end; its last progress report.
    fn evaluate(core: &mut Core, start: usize, end: usize) -> Response {
        assert_eq!(core.handle(Request::Evaluate { start, end }, &clock()), Outcome::Started);
        let mut last = None;
        while let Some(slice) = core.step(&clock()) {
            last = Some(slice.response);
            if !slice.more {
                break;
            }
        }
        last.expect("a slice")
    }

    #[test]
    fn evaluation_reports_progress_then_the_pairs_numbers() {
        let mut core = ready(30);
        let last = evaluate(&mut core, 0, 100);
        let Response::EvalProgress { done, total, summary: Some(summary), .. } = last else { panic!("{last:?}") };
        // The end is cut at the samples there are.
        assert_eq!((done, total, summary.images), (30, 30, 30));
        assert!((0.0..=1.0).contains(&summary.agreement));
    }

    #[test]
    fn evaluations_of_parts_merge_into_the_evaluation_of_the_whole() {
        let mut core = ready(30);
        let summary = |r: Response| match r {
            Response::EvalProgress { done, total, summary: Some(s), .. } if done == total => s,
            other => panic!("{other:?}"),
        };
        let whole = summary(evaluate(&mut core, 0, 30));
        let parts = [summary(evaluate(&mut core, 0, 11)), summary(evaluate(&mut core, 11, 30))];
        assert_eq!((parts[0].images, parts[1].images), (11, 19));
        let merged = EvalSummary::merge(&parts).expect("merges");
        assert!((merged.mean_kl - whole.mean_kl).abs() < 1e-9);
        assert_eq!(EvalSummary { mean_kl: whole.mean_kl, ..merged }, whole);
    }

    #[test]
    fn an_evaluation_without_images_is_refused() {
        let mut core = ready(30);
        for (start, end) in [(5, 5), (30, 40), (9, 3)] {
            let message = failure(core.handle(Request::Evaluate { start, end }, &clock())).message;
            assert!(message.contains("no images to evaluate"), "{message}");
        }
    }

    #[test]
    fn throughput_counts_images_after_the_warm_up() {
        let mut core = ready(5);
        let r = reply(
            core.handle(Request::Throughput { model: Side::Student, warmup_ms: 2.0, duration_ms: 5.0 }, &clock()),
        );
        let Response::Throughput { model: Side::Student, images, elapsed_ms } = r else { panic!("{r:?}") };
        assert!(images > 0 && elapsed_ms >= 5.0, "{images} in {elapsed_ms} ms");
    }

    #[test]
    fn watch_and_panic_go_to_the_shell() {
        let mut core = Core::default();
        assert_eq!(core.handle(Request::Watch { channel: "c".into() }, &clock()), Outcome::Watch("c".into()));
        assert_eq!(core.handle(Request::Panic, &clock()), Outcome::Panic);
    }
}
