//! The interleaved latency benchmark: live histogram, statistics, latency cut.

use distillate_engine::bench::Phase;
use distillate_engine::stats::{Histogram, LatencyStats, percentile_sorted};
use yew::prelude::*;

use crate::format::ms;
use crate::state::BenchState;

/// Histogram bins.
const BINS: usize = 40;

/// Props of [`Benchmark`].
#[derive(Properties, PartialEq)]
pub struct BenchmarkProps {
    /// Teacher and student names.
    pub names: (String, String),
    /// Current benchmark, if any.
    pub bench: Option<BenchState>,
    /// Start (or restart) it.
    pub on_run: Callback<()>,
    /// Stop it.
    pub on_cancel: Callback<()>,
    /// Whether models are ready.
    pub ready: bool,
}

/// The benchmark panel.
#[function_component(Benchmark)]
pub fn benchmark(props: &BenchmarkProps) -> Html {
    let running = props.bench.as_ref().is_some_and(|b| b.phase != Phase::Done);
    let run = props.on_run.reform(|_| ());
    let cancel = props.on_cancel.reform(|_| ());
    let body = props.bench.as_ref().map(|b| {
        let stats = (LatencyStats::from_samples(&b.samples.a).ok(), LatencyStats::from_samples(&b.samples.b).ok());
        let status = match b.phase {
            Phase::Warmup => "warming up and calibrating…".to_string(),
            Phase::Measure => format!("measuring… {:.0} %", b.progress * 100.0),
            Phase::Done => format!(
                "{} samples each, {} / {} calls per sample, interleaved",
                b.samples.a.len(),
                b.samples.calls_per_sample_a,
                b.samples.calls_per_sample_b
            ),
        };
        html! {
            <>
                <p class="status">{ status }</p>
                { histogram_svg(&b.samples.a, &b.samples.b) }
                if let (Some(t), Some(s)) = stats {
                    <table class="stats" tabindex="0">
                        <tr><th></th><th>{ "median" }</th><th>{ "95 % CI of median" }</th><th>{ "p90" }</th><th>{ "p99" }</th><th>{ "min" }</th></tr>
                        { row(&props.names.0, &t, "teacher") }
                        { row(&props.names.1, &s, "student") }
                    </table>
                    <p class="headline">
                        { "Latency cut " }<b>{ format!("{:.1} %", (t.median - s.median) / t.median * 100.0) }</b>
                        { format!(" — the student is {:.2}× faster", t.median / s.median) }
                        <span class="src">{ if b.phase == Phase::Done { " measured in this browser" } else { " so far" } }</span>
                    </p>
                }
            </>
        }
    });
    html! {
        <section class="benchmark">
            <h2>{ "Latency" }</h2>
            <p class="note">{ "Warm-up, then both models run alternately (A B A B …) in the worker, \
                so drift hits both alike; fast models are timed in batches because the browser clock is coarse." }</p>
            if running {
                <button onclick={cancel}>{ "Stop" }</button>
            } else {
                <button class="primary" disabled={!props.ready} onclick={run}>{ "Run benchmark" }</button>
            }
            { body.unwrap_or_default() }
        </section>
    }
}

fn row(name: &str, s: &LatencyStats, class: &'static str) -> Html {
    html! {
        <tr class={class}>
            <th>{ name }</th><td>{ ms(s.median) }</td>
            <td>{ format!("{} – {}", ms(s.median_ci95.0), ms(s.median_ci95.1)) }</td>
            <td>{ ms(s.p90) }</td><td>{ ms(s.p99) }</td><td>{ ms(s.min) }</td>
        </tr>
    }
}

/// Both models' histograms on one axis, from 0 to the larger p99 (outliers clamp to the
/// last bin).
pub fn histogram_svg(a: &[f64], b: &[f64]) -> Html {
    if a.is_empty() || b.is_empty() {
        return html! {};
    }
    let p99 = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        percentile_sorted(&s, 99.0)
    };
    let hi = p99(a).max(p99(b)) * 1.05;
    let (ha, hb) = (Histogram::new(a, 0.0, hi, BINS), Histogram::new(b, 0.0, hi, BINS));
    let max = ha.counts.iter().chain(&hb.counts).copied().max().unwrap_or(1).max(1) as f64;
    let (w, h) = (600.0, 160.0);
    let bw = w / BINS as f64;
    let bars = |hist: &Histogram, class: &'static str| {
        hist.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(move |(i, c)| {
                let bh = *c as f64 / max * (h - 20.0);
                html! { <rect class={class} x={format!("{:.1}", i as f64 * bw)} y={format!("{:.1}", h - 20.0 - bh)}
                width={format!("{:.1}", bw - 1.0)} height={format!("{:.1}", bh)} /> }
            })
            .collect::<Html>()
    };
    let ticks = (0..=4).map(|i| {
        let x = w * i as f64 / 4.0;
        html! { <text x={format!("{x:.0}")} y={format!("{}", h - 4.0)} text-anchor={ if i == 0 { "start" } else if i == 4 { "end" } else { "middle" } }>
            { if i == 0 { "0".to_string() } else { ms(hi * i as f64 / 4.0) } }</text> }
    });
    html! {
        <svg class="histogram" viewBox={format!("0 0 {w} {h}")} role="img" aria-label="latency histogram">
            { bars(&ha, "teacher") }{ bars(&hb, "student") }
            { for ticks }
        </svg>
    }
}
