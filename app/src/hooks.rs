//! Hooks.

use std::rc::Rc;

use gloo_worker::{Spawnable, WorkerBridge};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use distillate_protocol::{Request, Response};

use crate::state::{Action, State};
use crate::timeline::Milestone;
use crate::worker_link::{Given, Inference};

/// Worker script emitted by Trunk next to the page (`data-type="worker"`, no-modules target).
pub const WORKER_SCRIPT: &str = "worker.js";
/// The same worker built with relaxed SIMD (scripts/build), for browsers that support it.
pub const RELAXED_WORKER_SCRIPT: &str = "worker-relaxed.js";

/// Starts the inference worker, and a fresh one whenever `generation` changes (after a
/// crash), routing its answers — and its last words if it panics — into the reducer. A
/// pair's `Loaded` is recorded in `given` first (what a restarted worker must get).
#[hook]
pub fn use_worker(
    dispatch: UseReducerDispatcher<State>,
    generation: usize,
    given: Rc<std::cell::RefCell<Given>>,
) -> Rc<WorkerBridge<Inference>> {
    let channel = {
        let dispatch = dispatch.clone();
        use_memo((), move |_| watch_for_panics(dispatch))
    };
    // Milestones already reported: the reducer keeps only the first time anyway, but every
    // dispatch re-renders the page, and each of the gallery's predictions would dispatch one.
    let seen = use_mut_ref(std::collections::BTreeSet::<Milestone>::new);
    let dispatch_spawned = dispatch.clone();
    use_memo(generation, move |_| {
        let bridge = Inference::spawner()
            .callback(move |response| {
                if let Response::Loaded { pair, .. } = &response {
                    given.borrow_mut().confirm(*pair);
                }
                if let Some(milestone) = Milestone::of_response(&response)
                    && seen.borrow_mut().insert(milestone)
                {
                    reach(&dispatch, milestone);
                    // NaN when the worker has no clock: then there is no such milestone.
                    if let (Response::Ready(info), Some(origin)) = (&response, crate::browser::time_origin_ms())
                        && info.started_epoch_ms.is_finite()
                    {
                        dispatch.dispatch(Action::Milestone(Milestone::WorkerRunning, info.started_epoch_ms - origin));
                    }
                }
                dispatch.dispatch(Action::Worker(response))
            })
            .as_module(false)
            .spawn(&worker_script());
        reach(&dispatch_spawned, Milestone::WorkerSpawned);
        bridge.send(Request::Watch { channel: (*channel).clone() });
        bridge
    })
}

/// Records that the page's first load reached `milestone` now.
pub fn reach(dispatch: &UseReducerDispatcher<State>, milestone: Milestone) {
    if let Some(at_ms) = crate::browser::now_ms() {
        dispatch.dispatch(Action::Milestone(milestone, at_ms));
    }
}

/// The worker script's URL: the relaxed-SIMD build where the browser supports it.
pub fn worker_script() -> String {
    let script = if crate::browser::supports_relaxed_simd() { RELAXED_WORKER_SCRIPT } else { WORKER_SCRIPT };
    crate::loader::resolve(&crate::loader::page_url(), script).unwrap_or_else(|_| script.into())
}

/// Opens a `BroadcastChannel` with a name unique to this page and reports every message on
/// it as a worker crash. A panicking worker cannot answer through gloo-worker any more (its
/// module has trapped), so it posts here from its panic hook instead.
fn watch_for_panics(dispatch: UseReducerDispatcher<State>) -> String {
    let name = format!("distillate-worker-{:016x}", (js_sys::Math::random() * 2f64.powi(53)) as u64);
    match web_sys::BroadcastChannel::new(&name) {
        Ok(channel) => {
            let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                let message = e.data().as_string().unwrap_or_else(|| "an unknown panic".into());
                dispatch.dispatch(Action::WorkerCrashed(message));
            });
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            // Both live as long as the page: the channel must stay open to hear a crash.
            on_message.forget();
            std::mem::forget(channel);
        }
        Err(_) => dispatch.dispatch(Action::Error(
            "this browser has no BroadcastChannel: a crashed worker cannot be detected and restarted".into(),
        )),
    }
    name
}
