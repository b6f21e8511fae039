//! The compression ladder: latency × accuracy of every model, from the model cards.

use yew::prelude::*;

use crate::format::{group, ms, pct};

/// One point.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderPoint {
    /// Model name.
    pub name: String,
    /// Role: teacher, student, baseline.
    pub role: String,
    /// Parameters.
    pub params: u64,
    /// Native latency from the model card, ms.
    pub latency_ms: f64,
    /// Test accuracy from the model card.
    pub accuracy: f64,
    /// The chosen student.
    pub chosen: bool,
}

/// Props of [`LadderPlot`].
#[derive(Properties, PartialEq)]
pub struct LadderPlotProps {
    /// The points.
    pub points: Vec<LadderPoint>,
    /// Why the student was chosen.
    pub reason: Option<String>,
}

/// Latency (x, log scale) against accuracy (y).
#[function_component(LadderPlot)]
pub fn ladder_plot(props: &LadderPlotProps) -> Html {
    if props.points.is_empty() {
        return html! {};
    }
    let (w, h, pad) = (900.0, 300.0, 56.0);
    let lat: Vec<f64> = props.points.iter().map(|p| p.latency_ms.max(1e-6).ln()).collect();
    let acc: Vec<f64> = props.points.iter().map(|p| p.accuracy).collect();
    let (lx0, lx1) =
        (lat.iter().copied().fold(f64::INFINITY, f64::min), lat.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let (ay0, ay1) =
        (acc.iter().copied().fold(f64::INFINITY, f64::min), acc.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let span = |a: f64, b: f64| if b - a < 1e-9 { 1.0 } else { b - a };
    let x = |l: f64| pad + (l - lx0) / span(lx0, lx1) * (w - 2.0 * pad);
    let y = |a: f64| h - pad - (a - ay0) / span(ay0, ay1) * (h - 2.0 * pad);
    let points = props.points.iter().zip(&lat).map(|(p, l)| {
        let (cx, cy) = (x(*l), y(p.accuracy));
        html! {
            <g class={classes!("point", p.role.clone(), p.chosen.then_some("chosen"))}>
                <circle cx={format!("{cx:.1}")} cy={format!("{cy:.1}")} r={ if p.chosen { "8" } else { "5" } } />
                <text x={format!("{:.1}", if cx > w / 2.0 { cx - 12.0 } else { cx + 12.0 })} y={format!("{:.1}", cy + 4.0)}
                      text-anchor={ if cx > w / 2.0 { "end" } else { "start" } }>
                    { format!("{} · {} · {} params", p.name, pct(p.accuracy), group(p.params)) }</text>
            </g>
        }
    });
    html! {
        <section class="ladder">
            <h2>{ "Compression ladder" }</h2>
            <svg viewBox={format!("0 0 {w} {h}")} role="img" aria-label="latency against accuracy">
                <line x1={pad.to_string()} y1={(h - pad).to_string()} x2={(w - pad).to_string()} y2={(h - pad).to_string()} class="axis" />
                <line x1={pad.to_string()} y1={pad.to_string()} x2={pad.to_string()} y2={(h - pad).to_string()} class="axis" />
                <text x={pad.to_string()} y={(h - pad + 18.0).to_string()}>{ ms(lx0.exp()) }</text>
                <text x={(w - pad).to_string()} y={(h - pad + 18.0).to_string()} text-anchor="end">{ ms(lx1.exp()) }</text>
                <text x={(w / 2.0).to_string()} y={(h - 8.0).to_string()} text-anchor="middle">{ "native latency per image (log scale) →" }</text>
                <text x={pad.to_string()} y={(pad - 24.0).to_string()}>{ format!("↑ test accuracy ({} – {})", pct(ay0), pct(ay1)) }</text>
                { for points }
            </svg>
            <p class="note">{ "Model-card figures from training (native tract on the training machine, the whole test set), not measured in this browser." }</p>
            if let Some(reason) = &props.reason { <p class="note">{ "Chosen: " }{ reason.clone() }</p> }
        </section>
    }
}
