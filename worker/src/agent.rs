//! The inference worker in the browser: a thin gloo shell over [`Core`], which does the
//! work. The shell gives it the worker's clock, answers the page, and schedules a job's
//! next slice as a macrotask, so progress streams out and a Cancel gets in between slices.

use distillate_engine::bench::Clock;
use distillate_protocol::{Failure, Request, Response, WorkerInfo};
use gloo_worker::{HandlerId, Worker, WorkerScope};
use wasm_bindgen::JsCast;

use crate::core::{Core, Outcome};

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

/// Self-messages: continue the current job.
pub enum Tick {
    /// Run the next slice.
    Next,
}

/// The worker: gloo plumbing around a [`Core`].
pub struct InferenceWorker {
    clock: Option<PerfClock>,
    core: Core,
    /// Who asked for the running job: its slices are answered there.
    job_owner: Option<HandlerId>,
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
        InferenceWorker { clock: PerfClock::new(), core: Core::default(), job_owner: None, started_epoch_ms }
    }

    fn connected(&mut self, scope: &WorkerScope<Self>, id: HandlerId) {
        let info = WorkerInfo {
            build: distillate_protocol::build_features(),
            timer_resolution_ms: self.clock.as_ref().map(|c| c.resolution).unwrap_or(f64::NAN),
            started_epoch_ms: self.started_epoch_ms,
        };
        scope.respond(id, Response::Ready(info));
    }

    fn update(&mut self, scope: &WorkerScope<Self>, Tick::Next: Tick) {
        let (Some(clock), Some(id)) = (&self.clock, self.job_owner) else { return };
        let Some(slice) = self.core.step(clock) else { return };
        scope.respond(id, slice.response);
        if slice.more {
            // Yield to the event loop (a macrotask) so a Cancel can arrive.
            scope.send_future(async {
                gloo_timers::future::TimeoutFuture::new(0).await;
                Tick::Next
            });
        }
    }

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        let Some(clock) = &self.clock else {
            let failure = Failure::new(request.task(), "this browser gives the worker no performance clock");
            scope.respond(id, Response::Failed(failure));
            return;
        };
        match self.core.handle(request, clock) {
            Outcome::Reply(response) => scope.respond(id, response),
            Outcome::Started => {
                self.job_owner = Some(id);
                scope.send_message(Tick::Next);
            }
            Outcome::Quiet => {}
            Outcome::Watch(channel) => PANIC_CHANNEL.with(|c| *c.borrow_mut() = Some(channel)),
            Outcome::Panic => panic!("a deliberate panic, requested by the page (?debug=worker-panic)"),
        }
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
