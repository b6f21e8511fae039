//! Where the numbers come from: browser, cores, engine build, isolation, clock.

use yew::prelude::*;

use crate::timeline::{LoadTimeline, Milestone};
use distillate_protocol::WorkerInfo;

/// Props of [`EnvironmentCard`].
#[derive(Properties, PartialEq)]
pub struct EnvironmentProps {
    /// Worker facts, once it has started.
    pub worker: Option<WorkerInfo>,
    /// This page's first load, measured.
    pub timeline: LoadTimeline,
}

/// Facts read from the browser.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserFacts {
    /// `navigator.userAgent`.
    pub user_agent: String,
    /// `navigator.hardwareConcurrency`.
    pub cores: Option<usize>,
    /// `crossOriginIsolated`.
    pub isolated: bool,
}

/// Reads the browser facts.
pub fn browser_facts() -> BrowserFacts {
    let window = web_sys::window();
    let navigator = window.as_ref().map(|w| w.navigator());
    let isolated = window
        .as_ref()
        .and_then(|w| js_sys::Reflect::get(w, &"crossOriginIsolated".into()).ok())
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    BrowserFacts {
        user_agent: navigator.as_ref().and_then(|n| n.user_agent().ok()).unwrap_or_default(),
        cores: navigator.as_ref().map(|n| n.hardware_concurrency() as usize).filter(|n| *n > 0),
        isolated,
    }
}

/// The environment card.
#[function_component(EnvironmentCard)]
pub fn environment_card(props: &EnvironmentProps) -> Html {
    let facts = use_memo((), |_| browser_facts());
    html! {
        <section class="environment">
            <h2>{ "Environment" }</h2>
            <dl>
                <dt>{ "browser" }</dt><dd>{ facts.user_agent.clone() }</dd>
                <dt>{ "logical cores" }</dt><dd>{ facts.cores.map(|c| c.to_string()).unwrap_or_else(|| "unknown".into()) }</dd>
                <dt>{ "engine build" }</dt><dd>{ props.worker.as_ref().map(|w| w.build.clone()).unwrap_or_else(|| "starting…".into()) }</dd>
                <dt>{ "cross-origin isolated" }</dt><dd>{ if facts.isolated { "yes" } else { "no" } }</dd>
                <dt>{ "timer resolution (worker)" }</dt>
                <dd>{ props.worker.as_ref().map(|w| format!("{:.3} ms", w.timer_resolution_ms)).unwrap_or_else(|| "…".into()) }</dd>
                <dt>{ "this page's load" }</dt>
                <dd class="load-timeline" data-timeline={props.timeline.to_json()}>{ describe(&props.timeline) }</dd>
            </dl>
        </section>
    }
}

/// The load as one line: the first prediction's time, then every milestone in the order
/// reached, in ms since navigation.
fn describe(timeline: &LoadTimeline) -> String {
    let steps: Vec<String> = timeline.reached().iter().map(|(m, at)| format!("{} {:.0} ms", m.label(), at)).collect();
    match timeline.at(Milestone::FirstPrediction) {
        Some(first) => format!("first prediction {:.0} ms after navigation: {}", first, steps.join(" · ")),
        None if steps.is_empty() => "loading…".into(),
        None => steps.join(" · "),
    }
}
