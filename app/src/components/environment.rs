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
    /// Whether a file input can pick a whole folder (`webkitdirectory`).
    pub folder_picker: bool,
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
    let folder_picker = window
        .as_ref()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("input").ok())
        .is_some_and(|input| js_sys::Reflect::has(&input, &"webkitdirectory".into()).unwrap_or(false));
    BrowserFacts {
        user_agent: navigator.as_ref().and_then(|n| n.user_agent().ok()).unwrap_or_default(),
        cores: navigator.as_ref().map(|n| n.hardware_concurrency() as usize).filter(|n| *n > 0),
        isolated,
        folder_picker,
    }
}

/// The browser engine a user agent names. Every iOS browser and Safari are WebKit; Chrome,
/// Edge and Opera are Blink (their agents mention WebKit too, so Blink is checked first).
pub fn engine_of(user_agent: &str) -> &'static str {
    if user_agent.contains("Firefox/") || user_agent.contains("Gecko/") && !user_agent.contains("like Gecko") {
        "Gecko (Firefox)"
    } else if user_agent.contains("Chrome/") || user_agent.contains("Chromium/") {
        "Blink (Chromium)"
    } else if user_agent.contains("AppleWebKit/") {
        "WebKit (Safari's engine)"
    } else {
        "unknown"
    }
}

/// What the page does instead where this browser lacks something, one sentence each.
pub fn fallbacks(build: &str, timer_resolution_ms: f64, folder_picker: bool) -> Vec<String> {
    let mut taken = Vec::new();
    if !build.contains("relaxed-simd") {
        taken.push("no relaxed SIMD: the simd128 build of the engine (no fused multiply-add)".to_string());
    }
    // 0.1 ms is what Chromium gives a page that is not cross-origin isolated.
    if timer_resolution_ms > 0.1 {
        taken.push(format!(
            "a {timer_resolution_ms:.3} ms clock: fast models are timed in batches of calls, and a single \
             prediction's time is that coarse"
        ));
    }
    if !folder_picker {
        taken.push("no folder picker: pick or drop the files themselves".to_string());
    }
    taken
}

/// The environment card.
#[function_component(EnvironmentCard)]
pub fn environment_card(props: &EnvironmentProps) -> Html {
    let facts = use_memo((), |_| browser_facts());
    html! {
        <section class="environment">
            <h2>{ "Environment" }</h2>
            <dl>
                <dt>{ "browser engine" }</dt><dd class="browser-engine">{ engine_of(&facts.user_agent) }</dd>
                <dt>{ "browser" }</dt><dd>{ facts.user_agent.clone() }</dd>
                <dt>{ "logical cores" }</dt><dd>{ facts.cores.map(|c| c.to_string()).unwrap_or_else(|| "unknown".into()) }</dd>
                <dt>{ "engine build" }</dt><dd>{ props.worker.as_ref().map(|w| w.build.clone()).unwrap_or_else(|| "starting…".into()) }</dd>
                <dt>{ "cross-origin isolated" }</dt><dd>{ if facts.isolated { "yes" } else { "no" } }</dd>
                <dt>{ "timer resolution (worker)" }</dt>
                <dd>{ props.worker.as_ref().map(|w| format!("{:.3} ms", w.timer_resolution_ms)).unwrap_or_else(|| "…".into()) }</dd>
                if let Some(w) = &props.worker {
                    <dt>{ "fallbacks taken" }</dt>
                    <dd class="fallbacks">{ match fallbacks(&w.build, w.timer_resolution_ms, facts.folder_picker) {
                        taken if taken.is_empty() => "none: every feature the page uses is here".to_string(),
                        taken => taken.join("; "),
                    } }</dd>
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_told_apart_by_their_user_agents() {
        let chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0";
        let webkit =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/130.0 Mobile/15E148 Safari/604.1";
        assert_eq!(engine_of(chromium), "Blink (Chromium)");
        assert_eq!(engine_of(firefox), "Gecko (Firefox)");
        assert_eq!(engine_of(webkit), "WebKit (Safari's engine)");
        // Chrome on an iPhone is WebKit underneath.
        assert_eq!(engine_of(iphone), "WebKit (Safari's engine)");
        assert_eq!(engine_of(""), "unknown");
    }

    #[test]
    fn fallbacks_name_what_is_missing_and_only_that() {
        assert!(fallbacks("wasm32 · simd128 + relaxed-simd", 0.1, true).is_empty());
        let all = fallbacks("wasm32 · simd128", 1.0, false);
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all[0].contains("simd128 build") && all[1].contains("1.000 ms clock") && all[2].contains("folder"));
    }
}
