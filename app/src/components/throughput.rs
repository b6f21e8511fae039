//! Throughput mode: images per second with one worker per core (see `pool.rs`).

use yew::prelude::*;

use crate::format::group;
use crate::pool::{DURATION_MS, WARMUP_MS};
use crate::state::ThroughputStatus;

/// Props of [`ThroughputPanel`].
#[derive(Properties, PartialEq)]
pub struct ThroughputProps {
    /// Where the measurement is.
    pub status: ThroughputStatus,
    /// Workers a run would start.
    pub workers: usize,
    /// Start a run.
    pub on_run: Callback<()>,
    /// Whether models and samples are ready.
    pub ready: bool,
}

/// The throughput panel.
#[function_component(ThroughputPanel)]
pub fn throughput_panel(props: &ThroughputProps) -> Html {
    let running = matches!(props.status, ThroughputStatus::Running(_));
    let run = props.on_run.reform(|_| ());
    let body = match &props.status {
        ThroughputStatus::Idle => html! {},
        ThroughputStatus::Running(n) => html! {
            <p class="status">{ format!("Measuring on {n} workers: teacher, then student ({:.0} s each)…",
                (WARMUP_MS + DURATION_MS) / 1000.0) }</p>
        },
        ThroughputStatus::Done(t) => html! {
            <p class="result">
                { "Teacher " }<b>{ format!("{} images/s", group(t.teacher_per_s.round() as u64)) }</b>
                { " · student " }<b>{ format!("{} images/s", group(t.student_per_s.round() as u64)) }</b>
                { format!(" with {} worker{} — the student serves {:.2}× as many.", t.workers,
                    if t.workers == 1 { "" } else { "s" }, t.student_per_s / t.teacher_per_s.max(1e-9)) }
            </p>
        },
        ThroughputStatus::Failed(why) => html! { <p class="error">{ why.clone() }</p> },
    };
    html! {
        <section class="throughput">
            <h2>{ "Throughput" }</h2>
            <p class="note">{ format!(
                "Latency is one image at a time. Here {} worker{} — one per logical core — classify sample images \
                 (preprocessing included) with the same model at once: {:.0} s warm-up, then {:.0} s counted.",
                props.workers, if props.workers == 1 { "" } else { "s" }, WARMUP_MS / 1000.0, DURATION_MS / 1000.0) }</p>
            <button class="primary" disabled={!props.ready || running} onclick={run}>{ "Measure throughput" }</button>
            { body }
        </section>
    }
}
