//! The report: one serde type holding everything a run measured, the same from the CLI
//! and the browser, rendered to JSON and Markdown.

use serde::{Deserialize, Serialize};

use crate::bench::AbSamples;
use crate::card::ModelCard;
use crate::cost::{CostComparison, CostInputs, compare, compare_with_energy};
use crate::devices::DeviceFigures;
use crate::energy::EnergyReport;
use crate::error::{Error, Result};
use crate::metrics::EvalSummary;
use crate::stats::LatencyStats;
use crate::verdict::{ComputeDemand, Thresholds, Verdict, VerdictInputs, judge};

/// Schema version of [`Report`]; bumped on incompatible changes.
pub const REPORT_VERSION: u32 = 1;
/// Largest report accepted by [`Report::from_json`].
pub const MAX_REPORT_BYTES: usize = 16 * 1024 * 1024;

/// Where the numbers were measured.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Environment {
    /// Compilation target, e.g. `x86_64-linux (native)` or `wasm32 (browser)`.
    pub target: String,
    /// Host description: OS, CPU model, or the browser's user agent.
    pub host: String,
    /// Logical cores reported by the host.
    pub cores: Option<usize>,
    /// Engine build: version and features (SIMD, relaxed SIMD).
    pub engine_build: String,
    /// Clock resolution used for timing, ms.
    pub timer_resolution_ms: f64,
    /// Board or instance, where the firmware names it (`Raspberry Pi 5 Model B`, `m7g.large`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<String>,
    /// Highest clock the OS reports for a core, MHz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mhz: Option<f64>,
    /// Instruction set the engine's kernels run on (`fma`, `neon`, `simd128 + relaxed-simd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simd: Option<String>,
    /// Operating system and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Threads one inference uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
}

impl Environment {
    /// One line naming the device: host, board, cores, clock, SIMD, OS.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.host.clone()];
        parts.extend(self.board.clone());
        parts.extend(self.cores.map(|c| format!("{c} cores")));
        parts.extend(self.max_mhz.map(|m| format!("up to {:.2} GHz", m / 1e3)));
        parts.extend(self.simd.as_ref().map(|s| format!("SIMD {s}")));
        parts.extend(self.os.clone());
        parts.extend(self.threads.map(|t| format!("{t} thread{} per inference", if t == 1 { "" } else { "s" })));
        parts.join(" · ")
    }
}

/// A model as it appears in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    /// Display name.
    pub name: String,
    /// Card computed from the file.
    pub card: ModelCard,
}

/// Latency of both models from one interleaved run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    /// Teacher statistics, ms per image.
    pub teacher: LatencyStats,
    /// Student statistics, ms per image.
    pub student: LatencyStats,
    /// (teacher − student) / teacher, by medians.
    pub cut: f64,
    /// teacher / student, by medians.
    pub speedup: f64,
    /// Calls per timed sample (teacher, student).
    pub calls_per_sample: (usize, usize),
    /// Warm-up calls per model.
    pub warmup_calls: usize,
}

impl LatencyReport {
    /// Statistics of an A/B run where A is the teacher and B the student.
    pub fn from_samples(samples: &AbSamples) -> Result<LatencyReport> {
        let teacher = LatencyStats::from_samples(&samples.a)?;
        let student = LatencyStats::from_samples(&samples.b)?;
        if teacher.median <= 0.0 || student.median <= 0.0 {
            return Err(Error::Input("a median latency of 0: the clock is too coarse for these models".into()));
        }
        Ok(LatencyReport {
            cut: (teacher.median - student.median) / teacher.median,
            speedup: teacher.median / student.median,
            calls_per_sample: (samples.calls_per_sample_a, samples.calls_per_sample_b),
            warmup_calls: samples.warmup_calls,
            teacher,
            student,
        })
    }
}

/// Which latency priced the cost section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostLatency {
    /// The medians of [`Report::latency`].
    #[default]
    Measured,
    /// Latencies typed in for the target device, not measured by this run.
    Typed,
    /// The medians another device's report measured ([`Report::cost_device`] names it).
    Device,
}

/// Everything one run measured. Sections not measured yet are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// Title (from the manifest).
    pub title: String,
    /// When it was made (RFC 3339, from the caller's clock).
    pub created: String,
    /// Where.
    pub environment: Environment,
    /// The teacher.
    pub teacher: ModelReport,
    /// The student.
    pub student: ModelReport,
    /// Class names.
    pub labels: Vec<String>,
    /// Interleaved latency.
    pub latency: Option<LatencyReport>,
    /// Accuracy and fidelity on the labelled set.
    pub evaluation: Option<EvalSummary>,
    /// Cost per order, at the latency `cost_latency` names.
    pub cost: Option<CostComparison>,
    /// Whether the cost uses the measured latency or one typed in for a target device.
    #[serde(default)]
    pub cost_latency: CostLatency,
    /// Thresholds the verdict used.
    pub thresholds: Thresholds,
    /// The verdict, once latency and evaluation are both in.
    pub verdict: Option<Verdict>,
    /// The device's FLOP/s ceiling against the peak rate, once latency is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<ComputeDemand>,
    /// Other devices' figures of the same files, shown beside this run's (the page imports
    /// them from CLI reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceFigures>,
    /// Energy per inference, where the device has a counter to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<EnergyReport>,
    /// The device whose latency priced the cost section, for [`CostLatency::Device`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_device: Option<String>,
}

impl Report {
    /// A report with cards only; add sections, then [`Report::derive`].
    pub fn new(
        title: &str,
        created: &str,
        environment: Environment,
        teacher: ModelReport,
        student: ModelReport,
        labels: Vec<String>,
    ) -> Report {
        Report {
            version: REPORT_VERSION,
            title: title.into(),
            created: created.into(),
            environment,
            teacher,
            student,
            labels,
            latency: None,
            evaluation: None,
            cost: None,
            cost_latency: CostLatency::Measured,
            thresholds: Thresholds::default(),
            verdict: None,
            compute: None,
            devices: Vec::new(),
            energy: None,
            cost_device: None,
        }
    }

    /// Computes cost (needs latency) and verdict (needs latency and evaluation).
    pub fn derive(&mut self, cost: &CostInputs, thresholds: &Thresholds) -> Result<()> {
        self.thresholds = thresholds.clone();
        self.cost_latency = CostLatency::Measured;
        self.cost_device = None;
        let energy = self.energy.as_ref().map(|e| (e.teacher_j, e.student_j));
        self.cost = match &self.latency {
            Some(l) => Some(compare_with_energy(cost, l.teacher.median, l.student.median, energy)?),
            None => None,
        };
        self.compute = self.compute_demand(cost);
        self.verdict = self.judge(thresholds, Some(cost))?;
        Ok(())
    }

    /// The device's ceiling, as this report measured it: the higher of the two models'
    /// sustained FLOP/s on one thread (the teacher's larger layers usually use the core
    /// better), times the cores — inferences of a service spread over them, as
    /// `distillate load` shows — against the cost inputs' peak rate.
    pub fn compute_demand(&self, cost: &CostInputs) -> Option<ComputeDemand> {
        let l = self.latency.as_ref()?;
        cost.check().ok()?;
        let per_core = |card: &crate::card::ModelCard, ms: f64| card.flops as f64 / (ms * 1e-3) / 1e9;
        let per_core =
            per_core(&self.teacher.card, l.teacher.median).max(per_core(&self.student.card, l.student.median));
        let ceiling_gflops = per_core * self.environment.cores.unwrap_or(1).max(1) as f64;
        (ceiling_gflops > 0.0 && ceiling_gflops.is_finite())
            .then(|| ComputeDemand { peak_inferences_per_s: cost.peak_inferences_per_s(), ceiling_gflops })
    }

    /// The verdict at `thresholds` from this report's latency and evaluation; `None` until
    /// both are in. The one place the verdict's inputs are assembled, for the CLI, the
    /// export and the page alike.
    /// With `cost`, Compute Budget also checks the peak rate against the device's ceiling.
    pub fn judge(&self, thresholds: &Thresholds, cost: Option<&CostInputs>) -> Result<Option<Verdict>> {
        let (Some(l), Some(e)) = (&self.latency, &self.evaluation) else { return Ok(None) };
        let inputs = VerdictInputs {
            teacher: &self.teacher.card,
            student: &self.student.card,
            teacher_latency_ms: l.teacher.median,
            student_latency_ms: l.student.median,
            teacher_accuracy: e.teacher_accuracy,
            student_accuracy: e.student_accuracy,
            agreement: e.agreement,
            mean_kl: e.mean_kl,
            compute: cost.and_then(|c| self.compute_demand(c)),
        };
        judge(&inputs, thresholds).map(Some)
    }

    /// Prices the cost section at latencies typed in for a target device instead of the
    /// measured ones (call after [`Report::derive`]).
    pub fn price_at(&mut self, cost: &CostInputs, teacher_ms: f64, student_ms: f64) -> Result<()> {
        self.cost = Some(compare(cost, teacher_ms, student_ms)?);
        self.cost_latency = CostLatency::Typed;
        Ok(())
    }

    /// Prices the cost section at another device's measured medians (call after
    /// [`Report::derive`]).
    pub fn price_on(&mut self, cost: &CostInputs, device: &DeviceFigures) -> Result<()> {
        let l = &device.latency;
        let energy = device.energy.as_ref().map(|e| (e.teacher_j, e.student_j));
        self.cost = Some(compare_with_energy(cost, l.teacher.median, l.student.median, energy)?);
        self.cost_latency = CostLatency::Device;
        self.cost_device = Some(device.name());
        Ok(())
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// Parses a report written by [`Report::to_json`].
    pub fn from_json(bytes: &[u8]) -> Result<Report> {
        if bytes.len() > MAX_REPORT_BYTES {
            return Err(Error::invalid("report", format!("{} bytes; the limit is {MAX_REPORT_BYTES}", bytes.len())));
        }
        let report: Report = serde_json::from_slice(bytes).map_err(|e| Error::invalid("report", e.to_string()))?;
        if report.version != REPORT_VERSION {
            return Err(Error::invalid(
                "report",
                format!("version {}; this build reads {REPORT_VERSION}", report.version),
            ));
        }
        Ok(report)
    }
}

/// `1234567` → `1,234,567` (thousands separators, for reports and the page).
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

mod markdown;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::Evaluation;
    use crate::model::Model;
    use crate::onnx_build::RandomCnn;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A report with every section, for tests here and in `scorecard`.
    pub(crate) fn report() -> Report {
        let t = Model::load(&RandomCnn { filters: 16, ..Default::default() }.build()).expect("loads");
        let s = Model::load(&RandomCnn { filters: 4, ..Default::default() }.build()).expect("loads");
        let mut r = Report::new(
            "Test",
            "2026-11-28T00:00:00Z",
            Environment { target: "test".into(), ..Default::default() },
            ModelReport { name: "T".into(), card: t.card().clone() },
            ModelReport { name: "S".into(), card: s.card().clone() },
            (0..10).map(|i| format!("c{i}")).collect(),
        );
        let samples = AbSamples {
            a: vec![112.0; 30],
            b: vec![78.0; 30],
            calls_per_sample_a: 1,
            calls_per_sample_b: 1,
            warmup_calls: 5,
            measured_ms: 5700.0,
            clock_resolution_ms: 1e-6,
        };
        r.latency = Some(LatencyReport::from_samples(&samples).expect("stats"));
        let mut eval = Evaluation::new(10);
        eval.add(&[1.0; 10], &[1.0; 10], 0).expect("adds");
        r.evaluation = Some(eval.summary().expect("summary"));
        r.derive(&CostInputs::mission(), &Thresholds::default()).expect("derives");
        r
    }

    #[test]
    fn derive_fills_cost_and_verdict_from_the_measurements() {
        let r = report();
        let cost = r.cost.as_ref().expect("cost");
        assert!((cost.teacher.latency_ms - 112.0).abs() < 1e-12);
        assert!((r.latency.as_ref().expect("latency").cut - 34.0 / 112.0).abs() < 1e-12);
        let verdict = r.verdict.as_ref().expect("verdict");
        assert!(verdict.data_fidelity.pass && verdict.accuracy_tolerance.pass);
    }

    #[test]
    fn json_round_trips() {
        let r = report();
        assert_eq!(Report::from_json(r.to_json().as_bytes()).expect("parses"), r);
        assert!(Report::from_json(b"{}").is_err());
        assert!(Report::from_json(r.to_json().replace("\"version\": 1", "\"version\": 99").as_bytes()).is_err());
    }

    #[test]
    fn markdown_has_every_section() {
        let md = report().to_markdown();
        for needle in [
            "# Test",
            "## Models",
            "## Latency",
            "Latency cut **30.4 %**",
            "## Accuracy",
            "## Cost per order",
            "## Readiness",
            "| parameters |",
            "device FLOP/s used at peak",
            "At the busiest hour the operation asks",
        ] {
            assert!(md.contains(needle), "missing {needle}:\n{md}");
        }
        assert_eq!(group(1234567), "1,234,567");
    }

    #[test]
    fn typed_latency_prices_the_cost_and_says_so() {
        let mut r = report();
        assert!(r.to_markdown().contains("measured above"));
        r.price_at(&CostInputs::mission(), 10.0, 5.0).expect("prices");
        assert_eq!(r.cost_latency, CostLatency::Typed);
        assert!((r.cost.as_ref().expect("cost").teacher.latency_ms - 10.0).abs() < 1e-12);
        assert!(r.to_markdown().contains("typed in for the target device"));
        assert_eq!(Report::from_json(r.to_json().as_bytes()).expect("parses"), r);
    }
}
