//! Hooks.

use std::rc::Rc;

use gloo_worker::{Spawnable, WorkerBridge};
use yew::prelude::*;

use crate::agent::InferenceWorker;
use crate::state::{Action, State};

/// Worker script emitted by Trunk next to the page (`data-type="worker"`, no-modules target).
pub const WORKER_SCRIPT: &str = "worker.js";

/// Starts the inference worker once, routing its answers into the reducer.
#[hook]
pub fn use_worker(dispatch: UseReducerDispatcher<State>) -> Rc<WorkerBridge<InferenceWorker>> {
    use_memo((), move |_| {
        let url =
            crate::loader::resolve(&crate::loader::page_url(), WORKER_SCRIPT).unwrap_or_else(|_| WORKER_SCRIPT.into());
        InferenceWorker::spawner()
            .callback(move |response| dispatch.dispatch(Action::Worker(response)))
            .as_module(false)
            .spawn(&url)
    })
}
