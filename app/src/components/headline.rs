//! The headline strip at the top of the page: verdict, speed-up, accuracy delta and
//! agreement, saving — each labelled model card or measured (see [`crate::headline`]).

use yew::prelude::*;

use crate::format::{money, ms, signed};
use crate::headline::{Figure, Headline};

/// Props of [`HeadlineStrip`].
#[derive(Properties, PartialEq)]
pub struct HeadlineStripProps {
    /// The figures.
    pub headline: Headline,
    /// What the page is measuring by itself now, if anything ("benchmark 40 %").
    pub measuring: Option<String>,
}

/// One tile: a big value, a line under it and where it came from; pass/fail in words, not
/// only in colour.
fn tile<T>(
    class: &str,
    title: &str,
    figure: Option<&Figure<T>>,
    big: impl Fn(&T) -> String,
    small: impl Fn(&T) -> String,
) -> Html {
    match figure {
        None => html! {
            <div class={classes!("tile", class.to_string())}>
                <h2>{ title }</h2><p class="big pending">{ "—" }</p><p class="src">{ "not measured yet" }</p>
            </div>
        },
        Some(f) => html! {
            <div class={classes!("tile", class.to_string(), if f.measured { "measured" } else { "card" })}>
                <h2>{ title }</h2>
                <p class="big">{ big(&f.value) }</p>
                <p class="small">{ small(&f.value) }</p>
                <p class="src">{ &f.source }</p>
            </div>
        },
    }
}

/// The strip.
#[function_component(HeadlineStrip)]
pub fn headline_strip(props: &HeadlineStripProps) -> Html {
    let h = &props.headline;
    let verdict = match &h.verdict {
        Some(f) => {
            let failed: Vec<&str> = f.value.axes().iter().filter(|a| !a.pass).map(|a| a.name.as_str()).collect();
            let status = if f.value.ready { "ok" } else { "bad" };
            html! {
                <div class={classes!("tile", "verdict", status, if f.measured { "measured" } else { "card" })}>
                    <h2>{ "Readiness verdict" }</h2>
                    <p class="big">{ if f.value.ready { "✓ Ready" } else { "✗ Not ready" } }</p>
                    <p class="small">{ if failed.is_empty() {
                        "passes Data Fidelity, Compute Budget and Accuracy Tolerance".to_string()
                    } else {
                        format!("fails {}", failed.join(", "))
                    } }</p>
                    <p class="src">{ &f.source }</p>
                </div>
            }
        }
        None => tile::<()>("verdict", "Readiness verdict", None, |_| String::new(), |_| String::new()),
    };
    html! {
        <section class="headline-strip" aria-label="Headline figures">
            { verdict }
            { tile("speed", "Speed-up", h.latency.as_ref(),
                |l| format!("{:.1}× faster", l.speedup()),
                |l| format!("latency cut {:.0} % · {} → {}", l.cut() * 100.0, ms(l.teacher_ms), ms(l.student_ms))) }
            { tile("accuracy", "Accuracy", h.accuracy.as_ref(),
                |a| format!("{} points", signed(a.delta_points())),
                |a| format!("{:.2} % vs teacher {:.2} % · agreement {:.2} %", a.student * 100.0, a.teacher * 100.0, a.agreement * 100.0)) }
            { tile("saving", "Saving", h.saving.as_ref(),
                |s| money(s.per_order),
                |s| format!("per order · {} per year", money(s.per_year))) }
            if let Some(what) = &props.measuring {
                <p class="measuring" role="status">{ format!("Measuring in this browser: {what}") }</p>
            }
        </section>
    }
}
