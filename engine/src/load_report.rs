//! A load test's report: the runs of one model on one device, as JSON, a Markdown table
//! and an SVG plot of throughput and p99 latency against offered load (one line per worker
//! count), the two curves that show where a service saturates.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::load::{Arrival, LoadResult};
use crate::report::{Environment, ModelReport};
use crate::scorecard::escape;

/// Plot width, px.
const WIDTH: f64 = 1000.0;
/// Plot height, px.
const HEIGHT: f64 = 420.0;
/// One colour per worker count, cycling.
const COLOURS: [&str; 6] = ["#2563eb", "#d97706", "#059669", "#9333ea", "#dc2626", "#0891b2"];

/// Every run of one load test invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Report format version.
    pub version: u32,
    /// When it ran, RFC 3339 UTC.
    pub created: String,
    /// Where it ran.
    pub environment: Environment,
    /// The model under load.
    pub model: ModelReport,
    /// One entry per (workers, arrival) run, in the order they ran.
    pub runs: Vec<LoadResult>,
}

impl LoadReport {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a report, refusing other versions and reports without runs.
    pub fn parse(bytes: &[u8]) -> Result<LoadReport> {
        let report: LoadReport =
            serde_json::from_slice(bytes).map_err(|e| Error::Input(format!("not a load-test report: {e}")))?;
        if report.version != 1 || report.runs.is_empty() {
            return Err(Error::Input("a load-test report must be version 1 and have runs".into()));
        }
        Ok(report)
    }

    /// A Markdown table, one row per run.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let env = &self.environment;
        let _ = writeln!(md, "# Load test: {}\n", self.model.name);
        let _ = writeln!(md, "{} on {} — {} · {}\n", env.engine_build, env.target, env.describe(), self.created);
        md.push_str("| workers | arrival | offered /s | achieved /s | p50 ms | p90 ms | p99 ms | max ms | service p50 ms | late | dropped | CPU |\n");
        md.push_str("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.runs {
            let (arrival, offered) = match r.config.arrival {
                Arrival::Closed => ("closed".to_string(), "—".to_string()),
                Arrival::Open { rate_per_s } => ("open".to_string(), format!("{rate_per_s:.0}")),
            };
            let ms = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.3}"));
            let l = r.latency_ms;
            let _ = writeln!(
                md,
                "| {} | {arrival} | {offered} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.config.workers,
                r.achieved_per_s,
                ms(l.map(|l| l.p50)),
                ms(l.map(|l| l.p90)),
                ms(l.map(|l| l.p99)),
                ms(l.map(|l| l.max)),
                ms(r.service_ms.map(|s| s.p50)),
                r.late,
                r.dropped,
                r.cpu_percent.map_or("not measured".into(), |c| format!("{c:.0} %")),
            );
        }
        let first = &self.runs[0].config;
        let _ = writeln!(
            md,
            "\nEach run: {:.0} ms warm-up, {:.0} ms measured. Open loop: requests arrive on a fixed schedule and \
             latency counts from each request's scheduled time, so queueing shows; a request not started {:.0} ms \
             after its time is dropped, one slower than {:.1} ms is late. Closed loop: each worker sends its next \
             request when the last ends (capacity; latency = service time).",
            first.warmup_ms, first.duration_ms, first.deadline_ms, first.slo_ms
        );
        md
    }

    /// Throughput (left) and p99 latency (right) against offered load, open-loop runs only,
    /// one line per worker count; closed-loop capacity as a dashed level on the left.
    pub fn to_svg(&self) -> String {
        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="system-ui, sans-serif" font-size="13"><rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
        );
        let _ = write!(
            svg,
            r##"<text x="24" y="28" font-size="17" font-weight="700" fill="#111">Load test: {} — {}</text>"##,
            escape(&self.model.name),
            escape(&self.environment.host)
        );
        let open: Vec<(usize, f64, &LoadResult)> = self
            .runs
            .iter()
            .filter_map(|r| match r.config.arrival {
                Arrival::Open { rate_per_s } => Some((r.config.workers, rate_per_s, r)),
                Arrival::Closed => None,
            })
            .collect();
        let mut workers: Vec<usize> = self.runs.iter().map(|r| r.config.workers).collect();
        workers.sort_unstable();
        workers.dedup();
        let max_offered = open.iter().map(|o| o.1).fold(0.0, f64::max);
        let max_rate = self.runs.iter().map(|r| r.achieved_per_s).fold(max_offered, f64::max).max(1.0);
        let p99s: Vec<f64> = open.iter().filter_map(|o| o.2.latency_ms.map(|l| l.p99)).collect();
        let slo = self.runs[0].config.slo_ms;
        let max_p99 = p99s.iter().copied().fold(slo, f64::max);
        let min_p99 = p99s.iter().copied().fold(slo, f64::min).max(1e-3);
        let panels = [
            Panel { left: 70.0, title: "achieved inferences/s", y_max: max_rate * 1.1, y_min: None },
            Panel {
                left: 560.0,
                title: "p99 latency, ms, log scale (from scheduled time)",
                y_max: max_p99 * 1.5,
                y_min: Some(min_p99 / 1.5),
            },
        ];
        for (k, panel) in panels.iter().enumerate() {
            panel.axes(&mut svg, max_offered.max(1.0));
            for (wi, &w) in workers.iter().enumerate() {
                let colour = COLOURS[wi % COLOURS.len()];
                let points: Vec<(f64, f64)> = open
                    .iter()
                    .filter(|o| o.0 == w)
                    .filter_map(|o| {
                        let y = if k == 0 { Some(o.2.achieved_per_s) } else { o.2.latency_ms.map(|l| l.p99) };
                        y.map(|y| (o.1, y))
                    })
                    .collect();
                panel.line(&mut svg, max_offered.max(1.0), &points, colour);
                let closed = self.runs.iter().find(|r| r.config.workers == w && r.config.arrival == Arrival::Closed);
                if k == 1 && wi == 0 {
                    let y = panel.y(slo);
                    let _ = write!(
                        svg,
                        r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#dc2626" stroke-dasharray="2 3"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#dc2626">SLO {slo} ms</text>"##,
                        panel.left,
                        panel.left + PANEL_W,
                        panel.left + PANEL_W - 4.0,
                        y - 4.0
                    );
                }
                if let (0, Some(c)) = (k, closed) {
                    let y = panel.y(c.achieved_per_s);
                    let _ = write!(
                        svg,
                        r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-dasharray="5 4"/>"##,
                        panel.left,
                        panel.left + PANEL_W
                    );
                }
            }
        }
        for (wi, &w) in workers.iter().enumerate() {
            let x = 70.0 + wi as f64 * 150.0;
            let colour = COLOURS[wi % COLOURS.len()];
            let _ = write!(
                svg,
                r##"<rect x="{x}" y="{}" width="14" height="4" fill="{colour}"/><text x="{}" y="{}" fill="#333">{w} worker{}</text>"##,
                HEIGHT - 22.0,
                x + 20.0,
                HEIGHT - 16.0,
                if w == 1 { "" } else { "s" }
            );
        }
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" fill="#555">dashed: closed-loop capacity</text></svg>"##,
            70.0 + workers.len() as f64 * 150.0,
            HEIGHT - 16.0
        );
        svg
    }
}

const PANEL_W: f64 = 380.0;
const PANEL_TOP: f64 = 60.0;
const PANEL_H: f64 = 280.0;

/// One of the two plots: offered load on a linear x from 0; y linear from 0, or (`y_min`
/// set) logarithmic, since p99 jumps by orders of magnitude once a queue forms.
struct Panel {
    left: f64,
    title: &'static str,
    y_max: f64,
    y_min: Option<f64>,
}

impl Panel {
    fn x(&self, v: f64, x_max: f64) -> f64 {
        self.left + v / x_max * PANEL_W
    }

    /// Where `v` sits between the bottom (0) and the top (1) of the panel.
    fn fraction(&self, v: f64) -> f64 {
        match self.y_min {
            None => v / self.y_max,
            Some(lo) => (v.max(lo) / lo).log10() / (self.y_max / lo).log10(),
        }
        .clamp(0.0, 1.0)
    }

    fn y(&self, v: f64) -> f64 {
        PANEL_TOP + PANEL_H - self.fraction(v) * PANEL_H
    }

    /// Gridline values: quarters on a linear axis, 1-2-5 steps on a log one.
    fn y_ticks(&self) -> Vec<f64> {
        match self.y_min {
            None => (0..=4).map(|i| f64::from(i) / 4.0 * self.y_max).collect(),
            Some(lo) => {
                let mut ticks = Vec::new();
                let mut decade = 10f64.powf(lo.log10().floor());
                while decade <= self.y_max {
                    ticks.extend(
                        [1.0, 2.0, 5.0].map(|m| m * decade).into_iter().filter(|&v| v >= lo && v <= self.y_max),
                    );
                    decade *= 10.0;
                }
                ticks
            }
        }
    }

    fn axes(&self, svg: &mut String, x_max: f64) {
        let (l, t, b) = (self.left, PANEL_TOP, PANEL_TOP + PANEL_H);
        let _ = write!(svg, r##"<text x="{l}" y="{}" fill="#111" font-weight="600">{}</text>"##, t - 10.0, self.title);
        for v in self.y_ticks() {
            let y = self.y(v);
            let _ = write!(
                svg,
                r##"<line x1="{l}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
                l + PANEL_W,
                l - 6.0,
                y + 4.0,
                tick(v)
            );
        }
        for i in 0..=4 {
            let f = f64::from(i) / 4.0;
            let x = l + f * PANEL_W;
            let _ = write!(
                svg,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{t}" y2="{b}" stroke="#f1f5f9"/><text x="{x:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
                b + 18.0,
                tick(f * x_max)
            );
        }
        let _ = write!(
            svg,
            r##"<rect x="{l}" y="{t}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#9ca3af"/><text x="{}" y="{}" text-anchor="middle" fill="#333">offered load, requests/s</text>"##,
            l + PANEL_W / 2.0,
            b + 38.0
        );
    }

    fn line(&self, svg: &mut String, x_max: f64, points: &[(f64, f64)], colour: &str) {
        if points.is_empty() {
            return;
        }
        let path: Vec<String> =
            points.iter().map(|&(x, y)| format!("{:.1},{:.1}", self.x(x, x_max), self.y(y))).collect();
        let _ =
            write!(svg, r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"##, path.join(" "));
        for &(x, y) in points {
            let _ = write!(
                svg,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"/>"##,
                self.x(x, x_max),
                self.y(y)
            );
        }
    }
}

/// A short tick label: 0, 2.5, 1.2k, 12k.
fn tick(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1_000.0 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{BatchDim, ModelCard};
    use crate::load::{LoadConfig, Spread};

    fn run(workers: usize, arrival: Arrival, achieved: f64, p99: f64) -> LoadResult {
        let spread = Spread { p50: p99 / 2.0, p90: p99 * 0.8, p99, max: p99 * 1.5 };
        LoadResult {
            config: LoadConfig { workers, arrival, warmup_ms: 1e3, duration_ms: 5e3, deadline_ms: 100.0, slo_ms: 2.0 },
            completed: 10,
            dropped: 0,
            late: 0,
            achieved_per_s: achieved,
            latency_ms: Some(spread),
            service_ms: Some(spread),
            cpu_percent: Some(98.0),
        }
    }

    fn report() -> LoadReport {
        LoadReport {
            version: 1,
            created: "2026-12-02T02:00:00Z".into(),
            environment: Environment {
                target: "x86_64-linux (native)".into(),
                host: "Test <CPU> & co".into(),
                cores: Some(2),
                engine_build: "distillate-engine".into(),
                timer_resolution_ms: 1e-6,
                ..Default::default()
            },
            model: ModelReport {
                name: "student".into(),
                card: ModelCard {
                    channels: 1,
                    height: 28,
                    width: 28,
                    batch: BatchDim::Fixed(1),
                    classes: 10,
                    params: 1,
                    macs: 1,
                    flops: 2,
                    bytes: 1,
                    operators: Default::default(),
                    producer: String::new(),
                    channels_last: false,
                    output_probabilities: false,
                    sha256: None,
                },
            },
            runs: vec![
                run(1, Arrival::Closed, 6000.0, 0.2),
                run(1, Arrival::Open { rate_per_s: 2000.0 }, 2000.0, 0.3),
                run(1, Arrival::Open { rate_per_s: 8000.0 }, 6000.0, 90.0),
                run(2, Arrival::Open { rate_per_s: 8000.0 }, 8000.0, 0.6),
            ],
        }
    }

    #[test]
    fn markdown_has_a_row_per_run_with_offered_and_achieved_load() {
        let md = report().to_markdown();
        assert_eq!(md.lines().filter(|l| l.starts_with("| 1 ") || l.starts_with("| 2 ")).count(), 4, "{md}");
        assert!(md.contains("| 1 | open | 8000 | 6000 |"), "{md}");
        assert!(md.contains("| 1 | closed | — | 6000 |"), "{md}");
    }

    #[test]
    fn svg_is_well_formed_escapes_the_host_and_draws_a_line_per_worker_count() {
        let svg = report().to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Test &lt;CPU&gt; &amp; co"), "host escaped");
        // Two worker counts × two panels.
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("stroke-dasharray=\"5 4\""), "closed-loop capacity drawn");
        assert!(svg.contains("SLO 2 ms"), "the SLO drawn on the p99 panel");
    }

    #[test]
    fn reports_round_trip_and_foreign_json_is_refused() {
        let r = report();
        assert_eq!(LoadReport::parse(r.to_json().as_bytes()).expect("parses"), r);
        assert!(LoadReport::parse(b"{\"version\":1}").is_err());
        assert!(LoadReport::parse(b"not json").is_err());
        let empty = LoadReport { runs: vec![], ..r };
        assert!(LoadReport::parse(empty.to_json().as_bytes()).is_err());
    }
}
