//! The inference worker: owns the loaded models and the sample set, runs long jobs in
//! slices so progress streams out and a Cancel can get in between slices.

use distillate_engine::bench::{AbBenchmark, Clock, Phase};
use distillate_engine::idx::LabelledImages;
use distillate_engine::metrics::{Evaluation, softmax, top_k};
use distillate_engine::runner::check_pair;
use distillate_engine::{Model, Runner};
use gloo_worker::{HandlerId, Worker, WorkerScope};
use wasm_bindgen::JsCast;

use distillate_app::protocol::{ModelBlob, Prediction, Request, Response, Role, WorkerInfo};

/// Milliseconds of work per slice: short enough that progress looks live and Cancel is
/// honoured quickly, long enough that message overhead stays negligible.
const SLICE_MS: f64 = 120.0;
/// A per-image latency is timed over at least this long (the browser clock is coarse).
const MIN_TIMED_MS: f64 = 5.0;

/// Clock steps observed to measure the clock's resolution.
const CLOCK_STEPS: u32 = 8;

/// `performance.now()` of the worker's global scope.
#[derive(Debug, Clone)]
pub struct PerfClock {
    performance: web_sys::Performance,
    resolution: f64,
}

impl PerfClock {
    /// The worker's clock, with its resolution measured (smallest non-zero step seen).
    pub fn new() -> Option<PerfClock> {
        let performance = worker_performance()?;
        let mut step = f64::INFINITY;
        let mut last = performance.now();
        // A few steps tell the resolution; reading the clock 20 000 times only delays the
        // worker's first answer, which the page's first prediction waits for.
        let mut steps = 0;
        for _ in 0..20_000 {
            let now = performance.now();
            if now > last {
                step = step.min(now - last);
                last = now;
                steps += 1;
                if steps == CLOCK_STEPS {
                    break;
                }
            }
        }
        Some(PerfClock { performance, resolution: if step.is_finite() { step } else { 0.1 } })
    }
}

impl Clock for PerfClock {
    fn now_ms(&self) -> f64 {
        self.performance.now()
    }
    fn resolution_ms(&self) -> f64 {
        self.resolution
    }
}

/// The worker global scope's `performance`.
fn worker_performance() -> Option<web_sys::Performance> {
    js_sys::global().dyn_into::<web_sys::WorkerGlobalScope>().ok()?.performance()
}

/// Now as epoch ms on the worker's clock (`performance.timeOrigin + performance.now()`).
fn epoch_now_ms() -> Option<f64> {
    let performance = worker_performance()?;
    Some(performance.time_origin() + performance.now())
}

struct Pair {
    teacher: Runner,
    student: Runner,
    classes: usize,
}

enum Job {
    Bench(Box<AbBenchmark>),
    Eval { eval: Evaluation, next: usize, limit: usize, started: f64 },
}

/// Self-messages: continue the current job.
pub enum Tick {
    /// Run the next slice.
    Next,
}

/// The worker.
pub struct InferenceWorker {
    clock: Option<PerfClock>,
    pair: Option<Pair>,
    samples: Option<LabelledImages>,
    job: Option<(Job, HandlerId)>,
    /// When the module started running, epoch ms (for the page's load timeline).
    started_epoch_ms: f64,
}

impl Worker for InferenceWorker {
    type Message = Tick;
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        // First: the module has just started running; measuring the clock takes a moment.
        let started_epoch_ms = epoch_now_ms().unwrap_or(f64::NAN);
        InferenceWorker { clock: PerfClock::new(), pair: None, samples: None, job: None, started_epoch_ms }
    }

    fn connected(&mut self, scope: &WorkerScope<Self>, id: HandlerId) {
        let info = WorkerInfo {
            build: distillate_app::build_features(),
            timer_resolution_ms: self.clock.as_ref().map(|c| c.resolution).unwrap_or(f64::NAN),
            started_epoch_ms: self.started_epoch_ms,
        };
        scope.respond(id, Response::Ready(info));
    }

    fn update(&mut self, scope: &WorkerScope<Self>, Tick::Next: Tick) {
        let Some((job, id)) = self.job.take() else { return };
        match self.step(job) {
            Ok((Some(job), response)) => {
                scope.respond(id, response);
                self.job = Some((job, id));
                // Yield to the event loop (a macrotask) so a Cancel can arrive.
                scope.send_future(async {
                    gloo_timers::future::TimeoutFuture::new(0).await;
                    Tick::Next
                });
            }
            Ok((None, response)) => scope.respond(id, response),
            Err((context, message)) => scope.respond(id, Response::Error { context, message }),
        }
    }

    fn received(&mut self, scope: &WorkerScope<Self>, msg: Request, id: HandlerId) {
        let msg = match msg {
            Request::Watch { channel } => {
                PANIC_CHANNEL.with(|c| *c.borrow_mut() = Some(channel));
                return;
            }
            Request::Panic => panic!("a deliberate panic, requested by the page (?debug=worker-panic)"),
            other => other,
        };
        let context = request_name(&msg);
        match self.handle(msg, id) {
            Ok(Some(response)) => scope.respond(id, response),
            Ok(None) => scope.send_message(Tick::Next),
            Err(message) => scope.respond(id, Response::Error { context: context.into(), message }),
        }
    }
}

fn request_name(r: &Request) -> &'static str {
    match r {
        Request::LoadPair { .. } => "loading the models",
        Request::LoadSamples { .. } => "loading the sample set",
        Request::Classify { .. } | Request::ClassifyImage { .. } => "classifying",
        Request::Benchmark { .. } => "benchmarking",
        Request::Evaluate { .. } => "evaluating",
        Request::Cancel => "cancelling",
        Request::Watch { .. } => "starting",
        Request::Panic => "panicking on request",
        Request::Throughput { .. } => "measuring throughput",
    }
}

thread_local! {
    /// Where [`announce_panic`] posts; set by [`Request::Watch`].
    static PANIC_CHANNEL: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Tells the page this worker panicked, then shuts the worker down. Called from the panic
/// hook: after a panic the module traps and answers nothing more, so the message must leave
/// before that, on a channel that does not go through the (dead) worker's message codec.
/// The worker then closes, so messages still queued for it do not run into the trapped
/// module, and the trap itself is not re-reported to the page: it has been reported once.
pub fn announce_panic(message: &str) {
    let Some(name) = PANIC_CHANNEL.with(|c| c.borrow().clone()) else { return };
    if let Ok(channel) = web_sys::BroadcastChannel::new(&name) {
        let _ = channel.post_message(&message.into());
    }
    if let Ok(scope) = js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() {
        // `onerror` returning true marks the error handled inside the worker.
        let handled = wasm_bindgen::closure::Closure::<dyn Fn(wasm_bindgen::JsValue) -> bool>::new(|_| true);
        scope.set_onerror(Some(handled.as_ref().unchecked_ref()));
        handled.forget();
        scope.close();
    }
}

impl InferenceWorker {
    fn clock(&self) -> Result<&PerfClock, String> {
        self.clock.as_ref().ok_or_else(|| "this browser gives the worker no performance clock".to_string())
    }

    fn pair(&mut self) -> Result<&mut Pair, String> {
        self.pair.as_mut().ok_or_else(|| "no models are loaded".to_string())
    }

    /// Immediate answer, or `None` when a job was queued.
    fn handle(&mut self, msg: Request, id: HandlerId) -> Result<Option<Response>, String> {
        match msg {
            Request::LoadPair { teacher, student, labels } => {
                let classes = labels.len();
                let clock = self.clock()?.clone();
                let start = clock.now_ms();
                let load = |blob: &ModelBlob, role: &str| -> Result<Runner, String> {
                    let model = Model::load(&blob.bytes).map_err(|e| format!("{role} '{}': {e}", blob.name))?;
                    Runner::new(&model, &blob.preprocess).map_err(|e| format!("{role} '{}': {e}", blob.name))
                };
                // Build the new pair completely before replacing the old one.
                let t = load(&teacher, "teacher")?;
                let s = load(&student, "student")?;
                check_pair(t.card(), s.card(), classes).map_err(|e| e.to_string())?;
                let response = Response::Loaded {
                    names: (teacher.name.clone(), student.name.clone()),
                    labels,
                    teacher: t.card().clone(),
                    student: s.card().clone(),
                    load_ms: clock.now_ms() - start,
                };
                self.job = None;
                self.pair = Some(Pair { teacher: t, student: s, classes });
                Ok(Some(response))
            }
            Request::LoadSamples { images, labels } => {
                let set = LabelledImages::from_idx(&images, &labels).map_err(|e| e.to_string())?;
                if set.is_empty() {
                    return Err("the sample set holds no images".into());
                }
                let response = Response::SamplesLoaded { count: set.len(), width: set.width, height: set.height };
                self.samples = Some(set);
                Ok(Some(response))
            }
            Request::ClassifyImage { name, bytes } => {
                let clock = self.clock()?.clone();
                let pair = self.pair()?;
                let teacher = predict_bytes(&mut pair.teacher, &clock, &bytes).map_err(|e| format!("{name}: {e}"))?;
                let student = predict_bytes(&mut pair.student, &clock, &bytes).map_err(|e| format!("{name}: {e}"))?;
                Ok(Some(Response::ClassifiedImage { name, teacher, student }))
            }
            Request::Classify { index } => {
                let clock = self.clock()?.clone();
                let samples = self.samples.as_ref().ok_or("no sample set is loaded")?;
                if index >= samples.len() {
                    return Err(format!("sample {index} does not exist"));
                }
                let (w, h, label) = (samples.width, samples.height, samples.labels[index]);
                let pixels = samples.image(index).to_vec();
                let pair = self.pair()?;
                let teacher = predict(&mut pair.teacher, &clock, w, h, &pixels)?;
                let student = predict(&mut pair.student, &clock, w, h, &pixels)?;
                Ok(Some(Response::Classified { index, label, teacher, student }))
            }
            Request::Benchmark { config } => {
                let samples = self.samples.as_ref().ok_or("no sample set is loaded")?;
                let (w, h) = (samples.width, samples.height);
                let pixels = samples.image(0).to_vec();
                let pair = self.pair()?;
                // Prime both models with a real image: the benchmark then times inference only.
                pair.teacher.classify_luma8(w, h, &pixels).map_err(|e| e.to_string())?;
                pair.student.classify_luma8(w, h, &pixels).map_err(|e| e.to_string())?;
                let bench = AbBenchmark::new(config).map_err(|e| e.to_string())?;
                self.job = Some((Job::Bench(Box::new(bench)), id));
                Ok(None)
            }
            Request::Evaluate { limit } => {
                let started = self.clock()?.now_ms();
                let samples = self.samples.as_ref().ok_or("no sample set is loaded")?;
                let limit = limit.min(samples.len());
                let classes = self.pair()?.classes;
                self.job = Some((Job::Eval { eval: Evaluation::new(classes), next: 0, limit, started }, id));
                Ok(None)
            }
            Request::Cancel => {
                self.job = None;
                Ok(None)
            }
            Request::Throughput { model, warmup_ms, duration_ms } => {
                let clock = self.clock()?.clone();
                let samples = self.samples.as_ref().ok_or("no sample set is loaded")?;
                let pair = self.pair.as_mut().ok_or("no models are loaded")?;
                let runner = match model {
                    Role::Teacher => &mut pair.teacher,
                    Role::Student => &mut pair.student,
                };
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
                Ok(Some(Response::Throughput { model, images: next - warm, elapsed_ms: clock.now_ms() - start }))
            }
            // Answered in `received` before they get here.
            Request::Watch { .. } | Request::Panic => Ok(None),
        }
    }

    /// One slice of `job`: the job to continue (or `None` when finished) and what to report.
    #[allow(clippy::type_complexity)]
    fn step(&mut self, job: Job) -> Result<(Option<Job>, Response), (String, String)> {
        let clock = self.clock().map_err(|e| ("running".to_string(), e))?.clone();
        match job {
            Job::Bench(mut bench) => {
                let pair = self.pair().map_err(|e| ("benchmarking".to_string(), e))?;
                let (t, s) = (&mut pair.teacher, &mut pair.student);
                let phase = bench
                    .step(&clock, SLICE_MS, &mut || t.run_current().map(|_| ()), &mut || s.run_current().map(|_| ()))
                    .map_err(|e| ("benchmarking".to_string(), e.to_string()))?;
                let response =
                    Response::BenchProgress { phase, progress: bench.progress(), samples: bench.samples().clone() };
                Ok((if phase == Phase::Done { None } else { Some(Job::Bench(bench)) }, response))
            }
            Job::Eval { mut eval, mut next, limit, started } => {
                let samples = self.samples.as_ref().ok_or(("evaluating".to_string(), "no sample set".to_string()))?;
                let pair = self.pair.as_mut().ok_or(("evaluating".to_string(), "no models".to_string()))?;
                let slice_start = clock.now_ms();
                let (w, h) = (samples.width, samples.height);
                while next < limit && clock.now_ms() - slice_start < SLICE_MS {
                    let pixels = samples.image(next);
                    let ctx = |e: distillate_engine::Error| ("evaluating".to_string(), format!("image {next}: {e}"));
                    let t = pair.teacher.classify_luma8(w, h, pixels).map_err(ctx)?.to_vec();
                    let s = pair.student.classify_luma8(w, h, pixels).map_err(ctx)?.to_vec();
                    eval.add(&t, &s, samples.labels[next]).map_err(ctx)?;
                    next += 1;
                }
                let response = Response::EvalProgress {
                    done: next,
                    total: limit,
                    summary: eval.summary().ok(),
                    elapsed_ms: clock.now_ms() - started,
                };
                let job = (next < limit).then_some(Job::Eval { eval, next, limit, started });
                Ok((job, response))
            }
        }
    }
}

/// Top-3 and latency of one model on raw gray pixels.
fn predict(runner: &mut Runner, clock: &PerfClock, w: u32, h: u32, pixels: &[u8]) -> Result<Prediction, String> {
    let logits = runner.classify_luma8(w, h, pixels).map_err(|e| e.to_string())?.to_vec();
    timed(runner, clock, &logits)
}

/// Top-3 and latency of one model on an encoded image.
fn predict_bytes(runner: &mut Runner, clock: &PerfClock, bytes: &[u8]) -> Result<Prediction, String> {
    let logits = runner.classify_bytes(bytes).map_err(|e| e.to_string())?.to_vec();
    timed(runner, clock, &logits)
}

/// Times inference on the runner's current input, for the prediction of `logits`.
fn timed(runner: &mut Runner, clock: &PerfClock, logits: &[f32]) -> Result<Prediction, String> {
    let start = clock.now_ms();
    let mut runs = 0u32;
    while clock.now_ms() - start < MIN_TIMED_MS || runs < 3 {
        runner.run_current().map_err(|e| e.to_string())?;
        runs += 1;
    }
    let latency_ms = (clock.now_ms() - start) / f64::from(runs);
    Ok(Prediction { top3: top_k(&softmax(logits), 3), latency_ms })
}
