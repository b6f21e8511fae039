//! The compression ladder as a Pareto plot: latency (log) × accuracy of every model from
//! its model card, with gridlines, the Pareto front, and the region where a student passes
//! the verdict's latency and accuracy thresholds against the teacher. Points are numbered
//! and named in a legend: with six models inside a few tenths of a millisecond and two
//! points of accuracy, labels beside the points printed on top of each other.

use yew::prelude::*;

use crate::format::{bytes, group, ms, pct};
use crate::rungs::RungStatus;

/// One point.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderPoint {
    /// Model name.
    pub name: String,
    /// Role: teacher, student, baseline.
    pub role: String,
    /// Parameters.
    pub params: u64,
    /// ONNX file size, bytes (what an int8 rung saves).
    pub bytes: u64,
    /// Latency per image, ms: the model card's native figure, or this browser's once timed.
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
    /// The verdict's minimum latency cut (0–1) and maximum accuracy drop (points).
    pub thresholds: (f64, f64),
    /// Where timing the models in this browser is; `Done` means the points carry its figures.
    pub rungs: RungStatus,
    /// Time every model in this browser.
    pub on_measure: Callback<()>,
}

const W: f64 = 900.0;
const H: f64 = 340.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 48.0;

/// Ticks at 1, 2 and 5 per decade inside `[lo, hi]` (ms).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (first..=last)
        .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
        .filter(|t| *t >= lo * 0.9999 && *t <= hi * 1.0001)
        .collect()
}

/// Accuracy ticks every 0.5 or 1 point (or more) inside `[lo, hi]` (shares).
fn accuracy_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo) * 100.0;
    let step = [0.5, 1.0, 2.0, 5.0, 10.0].into_iter().find(|s| span / s <= 6.0).unwrap_or(10.0) / 100.0;
    let (first, last) = ((lo / step - 1e-9).ceil() as i64, (hi / step + 1e-9).floor() as i64);
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Indices of the points no other point beats on both latency and accuracy, fastest first.
fn pareto_front(points: &[LadderPoint]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| points[a].latency_ms.total_cmp(&points[b].latency_ms));
    let mut best = f64::NEG_INFINITY;
    order
        .into_iter()
        .filter(|&i| {
            let keep = points[i].accuracy > best;
            best = best.max(points[i].accuracy);
            keep
        })
        .collect()
}

/// Latency (x, log scale) against accuracy (y).
#[function_component(LadderPlot)]
pub fn ladder_plot(props: &LadderPlotProps) -> Html {
    if props.points.is_empty() {
        return html! {};
    }
    let pts = &props.points;
    let teacher = pts.iter().find(|p| p.role == "teacher");
    let (min_cut, max_drop) = props.thresholds;
    // The pass region's corner: the latency and accuracy a student must beat.
    let corner = teacher.map(|t| (t.latency_ms * (1.0 - min_cut), t.accuracy - max_drop / 100.0));

    let fold = |f: fn(f64, f64) -> f64, start: f64, v: &mut dyn Iterator<Item = f64>| v.fold(start, f);
    let lat_lo = fold(f64::min, f64::INFINITY, &mut pts.iter().map(|p| p.latency_ms.max(1e-6)));
    let lat_hi = fold(f64::max, 0.0, &mut pts.iter().map(|p| p.latency_ms.max(1e-6)));
    let mut acc_lo = fold(f64::min, f64::INFINITY, &mut pts.iter().map(|p| p.accuracy));
    let mut acc_hi = fold(f64::max, f64::NEG_INFINITY, &mut pts.iter().map(|p| p.accuracy));
    if let Some((_, a)) = corner {
        acc_lo = acc_lo.min(a);
        acc_hi = acc_hi.max(a);
    }
    // A little room around the points, so none sits on an axis.
    let (lx0, lx1) = ((lat_lo * 0.8).ln(), (lat_hi * 1.25).ln());
    let pad_acc = ((acc_hi - acc_lo) * 0.08).max(0.002);
    let (ay0, ay1) = (acc_lo - pad_acc, acc_hi + pad_acc);
    let x = |ms: f64| LEFT + (ms.max(1e-6).ln() - lx0) / (lx1 - lx0) * (W - LEFT - RIGHT);
    let y = |a: f64| H - BOTTOM - (a - ay0) / (ay1 - ay0) * (H - TOP - BOTTOM);
    let f = |v: f64| format!("{v:.1}");

    let x_grid = log_ticks(lx0.exp(), lx1.exp()).into_iter().map(|t| {
        html! { <g class="grid">
            <line x1={f(x(t))} x2={f(x(t))} y1={f(TOP)} y2={f(H - BOTTOM)} />
            <text x={f(x(t))} y={f(H - BOTTOM + 16.0)} text-anchor="middle">{ ms(t) }</text>
        </g> }
    });
    let y_grid = accuracy_ticks(ay0, ay1).into_iter().map(|t| {
        html! { <g class="grid">
            <line x1={f(LEFT)} x2={f(W - RIGHT)} y1={f(y(t))} y2={f(y(t))} />
            <text x={f(LEFT - 6.0)} y={f(y(t) + 4.0)} text-anchor="end">{ format!("{:.1} %", t * 100.0) }</text>
        </g> }
    });
    let pass_region = corner.map(|(max_ms, min_acc)| {
        let (x1, y0) = (x(max_ms).clamp(LEFT, W - RIGHT), y(min_acc).clamp(TOP, H - BOTTOM));
        html! { <g class="pass-region">
            <rect x={f(LEFT)} y={f(TOP)} width={f((x1 - LEFT).max(0.0))} height={f((y0 - TOP).max(0.0))} />
            <text x={f(LEFT + 6.0)} y={f(TOP + 14.0)}>
                { format!("verdict's pass region: ≥ {:.0} % faster, ≤ {max_drop} point below the teacher", min_cut * 100.0) }</text>
        </g> }
    });
    let front: Vec<String> = pareto_front(pts)
        .into_iter()
        .map(|i| format!("{},{}", f(x(pts[i].latency_ms)), f(y(pts[i].accuracy))))
        .collect();
    let markers = pts.iter().enumerate().map(|(i, p)| {
        let (cx, cy) = (x(p.latency_ms), y(p.accuracy));
        html! {
            <g class={classes!("point", p.role.clone(), p.chosen.then_some("chosen"))}>
                <circle cx={f(cx)} cy={f(cy)} r={ if p.chosen { "9" } else { "7" } } />
                <text class="n" x={f(cx)} y={f(cy + 4.0)} text-anchor="middle">{ i + 1 }</text>
            </g>
        }
    });
    let legend = pts.iter().enumerate().map(|(i, p)| {
        html! {
            <li class={classes!(p.role.clone(), p.chosen.then_some("chosen"))}>
                <b>{ i + 1 }</b>{ format!(" {} — {} · {} · {} params · {}{}", p.name, ms(p.latency_ms), pct(p.accuracy),
                    group(p.params), bytes(p.bytes), if p.chosen { " · chosen" } else { "" }) }
            </li>
        }
    });
    let measured = matches!(props.rungs, RungStatus::Done(_));
    let x_title = if measured {
        "latency per image in this browser (log scale) →"
    } else {
        "native latency per image, model cards (log scale) →"
    };
    let source = if measured {
        "Latency measured in this browser now: each model benchmarked interleaved with the teacher in a worker of its own. \
         Accuracy from the model cards (all test images through the same engine)."
    } else {
        "Model-card figures from training (native tract on the training machine, the whole test set), not measured in this browser."
    };
    let running = matches!(props.rungs, RungStatus::Running(..));
    let status = match &props.rungs {
        RungStatus::Idle => String::new(),
        RungStatus::Running(done, total) => format!("timing… {done} of {total} models beside the teacher"),
        RungStatus::Done(times) => format!("{} models timed in this browser", times.len()),
        RungStatus::Failed(why) => why.clone(),
    };
    let measure = props.on_measure.reform(|_: MouseEvent| ());
    html! {
        <section class="ladder">
            <h2>{ "Compression ladder" }</h2>
            <svg viewBox={format!("0 0 {W} {H}")} role="img"
                aria-label="latency against accuracy of every model, with the verdict's pass region">
                { for x_grid }{ for y_grid }
                { for pass_region }
                <line class="axis" x1={f(LEFT)} y1={f(H - BOTTOM)} x2={f(W - RIGHT)} y2={f(H - BOTTOM)} />
                <line class="axis" x1={f(LEFT)} y1={f(TOP)} x2={f(LEFT)} y2={f(H - BOTTOM)} />
                <polyline class="front" points={front.join(" ")} />
                <text x={f((LEFT + W - RIGHT) / 2.0)} y={f(H - 8.0)} text-anchor="middle">{ x_title }</text>
                { for markers }
            </svg>
            <ul class="legend">{ for legend }</ul>
            <div class="rungs">
                <button onclick={measure} disabled={running}>{ "Time every model in this browser" }</button>
                <span class="status">{ status }</span>
            </div>
            <p class="note">{ source }{ " The line joins the Pareto front: no other model is both faster and more accurate." }</p>
            if let Some(reason) = &props.reason { <p class="note">{ "Chosen: " }{ reason.clone() }</p> }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(latency_ms: f64, accuracy: f64) -> LadderPoint {
        LadderPoint {
            name: String::new(),
            role: "student".into(),
            params: 0,
            bytes: 0,
            latency_ms,
            accuracy,
            chosen: false,
        }
    }

    #[test]
    fn the_front_keeps_only_models_nothing_beats_on_both_axes() {
        let pts = [point(1.0, 0.936), point(0.25, 0.924), point(0.22, 0.93), point(0.1, 0.895), point(0.3, 0.92)];
        assert_eq!(pareto_front(&pts), vec![3, 2, 0]);
    }

    #[test]
    fn ticks_fall_on_round_values_inside_the_range() {
        let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
        let lat = log_ticks(0.08, 1.3);
        assert!(close(&lat, &[0.1, 0.2, 0.5, 1.0]), "{lat:?}");
        // 5.2 points: one tick a point.
        let acc = accuracy_ticks(0.889, 0.941);
        assert!(close(&acc, &[0.89, 0.90, 0.91, 0.92, 0.93, 0.94]), "{acc:?}");
        // 2 points: every half point.
        let acc = accuracy_ticks(0.921, 0.941);
        assert!(close(&acc, &[0.925, 0.93, 0.935, 0.94]), "{acc:?}");
    }
}
