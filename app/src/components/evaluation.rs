//! Accuracy and fidelity on the labelled set, with a progress bar.

use distillate_engine::metrics::EvalSummary;
use yew::prelude::*;

use crate::format::{pct, signed};
use crate::state::EvalState;

/// A model card's test accuracy and how many test images it was measured on.
pub type CardAccuracy = Option<(f64, usize)>;

/// Props of [`Evaluation`].
#[derive(Properties, PartialEq)]
pub struct EvaluationProps {
    /// Current evaluation.
    pub eval: Option<EvalState>,
    /// Images available.
    pub available: usize,
    /// Class names.
    pub labels: Vec<String>,
    /// Start an evaluation of this many images.
    pub on_run: Callback<usize>,
    /// Stop it.
    pub on_cancel: Callback<()>,
    /// Model-card test accuracy and the number of test images it was measured on
    /// (teacher, student), to compare with once the same number of images is evaluated.
    pub card_accuracy: (CardAccuracy, CardAccuracy),
    /// Whether models are ready.
    pub ready: bool,
}

/// The evaluation panel.
#[function_component(Evaluation)]
pub fn evaluation(props: &EvaluationProps) -> Html {
    let running = props.eval.as_ref().is_some_and(|e| !e.finished());
    let quick = props.available.min(1000);
    let all = props.available;
    let run_quick = props.on_run.reform(move |_| quick);
    let run_all = props.on_run.reform(move |_| all);
    let cancel = props.on_cancel.reform(|_| ());
    let body = props.eval.as_ref().map(|e| {
        let fraction = if e.total == 0 { 0.0 } else { e.done as f64 / e.total as f64 };
        html! {
            <>
                <div class="progress"><div style={format!("width:{:.1}%", fraction * 100.0)}></div></div>
                <p class="status">{ status(e) }</p>
                { e.summary.as_ref().map(|s| summary(s, &props.labels, props.card_accuracy, e.done)).unwrap_or_default() }
            </>
        }
    });
    html! {
        <section class="evaluation">
            <h2>{ "Accuracy and fidelity" }</h2>
            if running {
                <button onclick={cancel}>{ "Stop" }</button>
            } else {
                <button class="primary" disabled={!props.ready} onclick={run_quick}>{ format!("Evaluate {quick} images") }</button>
                <button disabled={!props.ready} onclick={run_all}>{ format!("All {all}") }</button>
            }
            { body.unwrap_or_default() }
        </section>
    }
}

/// Images done, time, and once finished the rate and the workers it was split between.
fn status(e: &EvalState) -> String {
    let workers = match e.workers {
        0 => "starting workers".to_string(),
        1 => "1 worker".to_string(),
        n => format!("{n} workers in parallel"),
    };
    let rate = if e.finished() {
        format!(" · {:.0} images/s (both models)", e.done as f64 / (e.elapsed_ms / 1000.0).max(1e-9))
    } else {
        String::new()
    };
    format!("{} / {} images · {:.1} s · {workers}{rate}", e.done, e.total, e.elapsed_ms / 1000.0)
}

fn summary(s: &EvalSummary, labels: &[String], cards: (CardAccuracy, CardAccuracy), done: usize) -> Html {
    let name = |i: usize| labels.get(i).cloned().unwrap_or_else(|| format!("class {i}"));
    // Only the same images make the model card's figure comparable.
    let card_note = |v: CardAccuracy| match v {
        Some((acc, images)) if images == done => format!(" (model card {})", pct(acc)),
        _ => String::new(),
    };
    html! {
        <>
            <div class="metrics">
                <div><span>{ "teacher top-1" }</span><b>{ pct(s.teacher_accuracy) }</b><small>{ card_note(cards.0) }</small></div>
                <div><span>{ "student top-1" }</span><b>{ pct(s.student_accuracy) }</b><small>{ card_note(cards.1) }</small></div>
                <div><span>{ "Δ accuracy" }</span><b>{ format!("{} pts", signed(s.delta_points)) }</b></div>
                <div><span>{ "agreement" }</span><b>{ pct(s.agreement) }</b></div>
                <div><span>{ "mean KL(t‖s)" }</span><b>{ format!("{:.4}", s.mean_kl) }</b></div>
            </div>
            if !s.top_disagreements.is_empty() {
                <p class="note">{ "Where they disagree (teacher → student): " }
                    { s.top_disagreements.iter().map(|(t, st, n)| format!("{} → {} ({n})", name(*t), name(*st))).collect::<Vec<_>>().join(", ") }</p>
            }
        </>
    }
}
