//! Presentation mode: full-screen slides for a projector — the two models, the latency
//! cut, the accuracy delta, the saving, the verdict — in large type, driven by keys.

use distillate_engine::ModelCard;
use distillate_engine::bench::AbSamples;
use distillate_engine::cost::CostComparison;
use distillate_engine::devices::DeviceFigures;
use distillate_engine::metrics::EvalSummary;
use distillate_engine::report::LatencyReport;
use distillate_engine::verdict::Verdict;
use web_sys::{HtmlElement, KeyboardEvent};
use yew::prelude::*;

use super::benchmark::histogram_svg;
use super::disagreement_grid::DisagreementGrid;
use crate::format::{bytes, group, money, ms, pct, si, signed};

/// Slide titles, in order.
pub const SLIDES: [&str; 5] = ["The models", "Latency", "Accuracy", "Cost", "Verdict"];

/// Props of [`Presentation`].
#[derive(Properties, PartialEq)]
pub struct PresentationProps {
    /// Names of teacher and student.
    pub names: (String, String),
    /// Cards of the loaded pair.
    pub cards: Option<(ModelCard, ModelCard)>,
    /// Finished benchmark.
    pub latency: Option<LatencyReport>,
    /// Its samples, for the histograms.
    pub samples: Option<AbSamples>,
    /// Class names, for the disagreement grid.
    pub labels: Vec<String>,
    /// Other devices' reports of the pair.
    pub devices: Vec<DeviceFigures>,
    /// Benchmark progress in [0, 1] while one runs.
    pub bench_progress: Option<f64>,
    /// Finished evaluation.
    pub eval: Option<EvalSummary>,
    /// Evaluation progress (done, total) while one runs.
    pub eval_progress: Option<(usize, usize)>,
    /// Cost at the latency in use, with where that latency came from, or why there is none.
    pub cost: Result<(CostComparison, String), String>,
    /// The verdict, or what is missing.
    pub verdict: Result<Verdict, String>,
    /// Slide shown.
    pub slide: usize,
    /// Dark theme in use.
    pub dark: bool,
    /// Go to a slide.
    pub on_slide: Callback<usize>,
    /// Leave presentation mode.
    pub on_exit: Callback<()>,
    /// Toggle the theme.
    pub on_theme: Callback<()>,
    /// Run the benchmark.
    pub on_bench: Callback<()>,
    /// Run the full evaluation.
    pub on_eval: Callback<()>,
}

/// What a key does on a slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Go to this slide.
    Go(usize),
    /// Leave presentation mode.
    Exit,
    /// Toggle the theme.
    Theme,
    /// Run the benchmark.
    Bench,
    /// Run the evaluation.
    Eval,
}

/// The key map: arrows, Page Up/Down, space, Home/End and digits move; Esc leaves; `t`
/// switches theme; `b` benchmarks; `e` evaluates.
pub fn key_action(key: &str, slide: usize) -> Option<KeyAction> {
    let last = SLIDES.len() - 1;
    Some(match key {
        "ArrowRight" | "ArrowDown" | "PageDown" | " " | "Enter" => KeyAction::Go((slide + 1).min(last)),
        "ArrowLeft" | "ArrowUp" | "PageUp" | "Backspace" => KeyAction::Go(slide.saturating_sub(1)),
        "Home" => KeyAction::Go(0),
        "End" => KeyAction::Go(last),
        "Escape" => KeyAction::Exit,
        "t" | "T" => KeyAction::Theme,
        "b" | "B" => KeyAction::Bench,
        "e" | "E" => KeyAction::Eval,
        digit => {
            let n: usize = digit.parse().ok()?;
            KeyAction::Go(n.checked_sub(1).filter(|i| *i <= last)?)
        }
    })
}

/// The slides.
#[function_component(Presentation)]
pub fn presentation(props: &PresentationProps) -> Html {
    let root = use_node_ref();
    {
        // Keys go to the slides from the start, without a click first.
        let root = root.clone();
        use_effect_with((), move |_| {
            if let Some(el) = root.cast::<HtmlElement>() {
                let _ = el.focus();
            }
        });
    }
    let slide = props.slide.min(SLIDES.len() - 1);
    let onkeydown = {
        let (on_slide, on_exit, on_theme) = (props.on_slide.clone(), props.on_exit.clone(), props.on_theme.clone());
        let (on_bench, on_eval) = (props.on_bench.clone(), props.on_eval.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            let Some(action) = key_action(&e.key(), slide) else { return };
            e.prevent_default();
            match action {
                KeyAction::Go(n) => on_slide.emit(n),
                KeyAction::Exit => on_exit.emit(()),
                KeyAction::Theme => on_theme.emit(()),
                KeyAction::Bench => on_bench.emit(()),
                KeyAction::Eval => on_eval.emit(()),
            }
        })
    };
    let go = |n: usize| props.on_slide.reform(move |_: MouseEvent| n);
    let (teacher, student) = (&props.names.0, &props.names.1);
    let body = match slide {
        0 => models_slide(props, teacher, student),
        1 => latency_slide(props, teacher, student),
        2 => accuracy_slide(props, teacher, student),
        3 => cost_slide(props),
        _ => verdict_slide(props),
    };
    let exit = props.on_exit.reform(|_: MouseEvent| ());
    let theme = props.on_theme.reform(|_: MouseEvent| ());
    html! {
        <div class="present" tabindex="0" ref={root} {onkeydown} role="region" aria-label="presentation">
            <nav>
                { for SLIDES.iter().enumerate().map(|(i, title)| html! {
                    <button class={classes!(if i == slide { "current" } else { "" })} onclick={go(i)}
                        aria-current={ (i == slide).then_some("step") }>{ format!("{} {title}", i + 1) }</button>
                }) }
                <span class="spacer"></span>
                <button onclick={theme}>{ if props.dark { "light theme (t)" } else { "dark theme (t)" } }</button>
                <button onclick={exit}>{ "exit (Esc)" }</button>
            </nav>
            <div class="slide" data-slide={slide.to_string()}>
                <h1>{ SLIDES[slide] }</h1>
                { body }
            </div>
            <footer>
                <button onclick={go(slide.saturating_sub(1))} disabled={slide == 0}>{ "← previous" }</button>
                <span>{ format!("{} / {}", slide + 1, SLIDES.len()) }</span>
                <button onclick={go((slide + 1).min(SLIDES.len() - 1))} disabled={slide + 1 == SLIDES.len()}>{ "next →" }</button>
            </footer>
        </div>
    }
}

fn models_slide(props: &PresentationProps, teacher: &str, student: &str) -> Html {
    let Some((t, s)) = &props.cards else { return html! { <p class="big-note">{ "Loading the models…" }</p> } };
    let row = |label: &str, a: String, b: String, ratio: String| {
        html! { <tr><th>{ label.to_string() }</th><td>{ a }</td><td>{ b }</td><td class="ratio">{ ratio }</td></tr> }
    };
    let ratio = |a: u64, b: u64| {
        if a == 0 { "—".to_string() } else { format!("{:.1}× smaller", a as f64 / b.max(1) as f64) }
    };
    html! {
        <table class="big-table">
            <tr><th></th><th class="teacher">{ teacher }</th><th class="student">{ student }</th><th></th></tr>
            { row("parameters", group(t.params), group(s.params), ratio(t.params, s.params)) }
            { row("MACs / image", si(t.macs), si(s.macs), ratio(t.macs, s.macs)) }
            { row("file", bytes(t.bytes), bytes(s.bytes), ratio(t.bytes, s.bytes)) }
            { row("input", t.input_label(), s.input_label(), String::new()) }
        </table>
    }
}

fn latency_slide(props: &PresentationProps, teacher: &str, student: &str) -> Html {
    let here = match (&props.latency, props.bench_progress) {
        (Some(l), _) => html! {
            <>
                <p class="hero"><b>{ format!("−{:.0} %", l.cut * 100.0) }</b><span>{ format!("latency ({:.2}× faster)", l.speedup) }</span></p>
                <p class="pair-line">
                    <span class="teacher">{ format!("{teacher}: {}", ms(l.teacher.median)) }</span>
                    <span class="student">{ format!("{student}: {}", ms(l.student.median)) }</span>
                </p>
                { props.samples.as_ref().map(|s| histogram_svg(&s.a, &s.b)).unwrap_or_default() }
                <p class="big-note">{ format!("Median per image, measured in this browser now ({} interleaved samples each; the histograms are every sample).", l.teacher.n) }</p>
            </>
        },
        (None, Some(p)) => html! { <p class="big-note">{ format!("Measuring… {:.0} %", p * 100.0) }</p> },
        (None, None) => html! { <p class="big-note">{ "Not measured yet — press b to run the benchmark." }</p> },
    };
    let devices = (!props.devices.is_empty()).then(|| {
        html! {
            <ul class="device-lines">{ for props.devices.iter().map(|d| html! {
                <li>{ format!("{}: {} → {} ({:.2}× faster), its own report", d.name(),
                    ms(d.latency.teacher.median), ms(d.latency.student.median), d.latency.speedup) }</li>
            }) }</ul>
        }
    });
    html! { <>{ here }{ for devices }</> }
}

fn accuracy_slide(props: &PresentationProps, teacher: &str, student: &str) -> Html {
    match (&props.eval, props.eval_progress) {
        (Some(e), _) => html! {
            <div class="split">
                <div>
                    <p class="hero"><b>{ signed(e.delta_points) }</b><span>{ "points of top-1 accuracy" }</span></p>
                    <p class="pair-line">
                        <span class="teacher">{ format!("{teacher}: {}", pct(e.teacher_accuracy)) }</span>
                        <span class="student">{ format!("{student}: {}", pct(e.student_accuracy)) }</span>
                    </p>
                    <p class="big-note">{ format!("On {} labelled images, measured in this browser; the student agrees with the teacher on {}.", group(e.images), pct(e.agreement)) }</p>
                </div>
                <DisagreementGrid grid={e.teacher_vs_student.clone()} labels={props.labels.clone()} />
            </div>
        },
        (None, Some((done, total))) => {
            html! { <p class="big-note">{ format!("Evaluating… {} of {}", group(done as u64), group(total as u64)) }</p> }
        }
        (None, None) => {
            html! { <p class="big-note">{ "Not evaluated yet — press e to evaluate on every labelled image." }</p> }
        }
    }
}

fn cost_slide(props: &PresentationProps) -> Html {
    match &props.cost {
        Ok((c, source)) => html! {
            <>
                <p class="hero"><b>{ money(c.saving_per_year) }</b><span>{ "saved per year" }</span></p>
                <p class="pair-line"><span>{ format!("{} per order ({:.1} % of the teacher's cost)", money(c.saving_per_order), c.saving_share * 100.0) }</span></p>
                <p class="big-note">{ format!("{} orders/day × {} items × {} inferences; latency {source}.",
                    group(c.inputs.orders_per_day.round() as u64), c.inputs.items_per_order, c.inputs.inferences_per_item) }</p>
            </>
        },
        Err(why) => html! { <p class="big-note">{ why.clone() }</p> },
    }
}

fn verdict_slide(props: &PresentationProps) -> Html {
    match &props.verdict {
        Ok(v) => html! {
            <>
                <p class={classes!("hero", "verdict", if v.ready { "ok" } else { "bad" })}>
                    <b>{ if v.ready { "Ready to ship" } else { "Not ready" } }</b></p>
                <div class="big-axes">{ for v.axes().into_iter().map(|a| html! {
                    <div class={classes!("axis", if a.pass { "ok" } else { "bad" })}>
                        <h2>{ &a.name }</h2><b>{ if a.pass { "PASS" } else { "FAIL" } }</b>
                        <ul>{ for a.checks.iter().map(|c| html! {
                            <li class={ if c.pass { "ok" } else { "bad" } }>
                                { format!("{} {}: {:.3} {} {:.3}", if c.pass { "✓" } else { "✗" }, c.name, c.value, c.comparison, c.threshold) }</li>
                        }) }</ul>
                    </div>
                }) }</div>
            </>
        },
        Err(why) => html! { <p class="big-note">{ why.clone() }</p> },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_within_the_slides() {
        assert_eq!(key_action("ArrowRight", 0), Some(KeyAction::Go(1)));
        assert_eq!(key_action("ArrowRight", SLIDES.len() - 1), Some(KeyAction::Go(SLIDES.len() - 1)));
        assert_eq!(key_action("ArrowLeft", 0), Some(KeyAction::Go(0)));
        assert_eq!(key_action("End", 0), Some(KeyAction::Go(SLIDES.len() - 1)));
        assert_eq!(key_action("3", 0), Some(KeyAction::Go(2)));
        assert_eq!(key_action("0", 2), None);
        assert_eq!(key_action("9", 2), None);
        assert_eq!(key_action("Escape", 2), Some(KeyAction::Exit));
        assert_eq!(key_action("x", 2), None);
    }
}
