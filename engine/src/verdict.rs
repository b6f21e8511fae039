//! The readiness verdict: is the student ready to replace the teacher?
//!
//! Three axes, each passing only when all its checks pass:
//! - **Data Fidelity**: does the student decide like the teacher? (top-1 agreement, mean KL)
//! - **Compute Budget**: is it worth it? (latency cut; params, MACs and bytes against the teacher)
//! - **Accuracy Tolerance**: what does it cost in accuracy? (teacher − student top-1, in points)

use serde::{Deserialize, Serialize};

use crate::card::ModelCard;
use crate::error::{Error, Result};

/// Editable thresholds. The defaults are the project's acceptance criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Minimum teacher–student top-1 agreement, in [0, 1].
    pub min_agreement: f64,
    /// Maximum mean KL(teacher ‖ student), nats.
    pub max_mean_kl: f64,
    /// Minimum latency cut, (teacher − student) / teacher, in [0, 1].
    pub min_latency_cut: f64,
    /// Maximum student/teacher parameter ratio.
    pub max_params_ratio: f64,
    /// Maximum student/teacher MACs ratio.
    pub max_macs_ratio: f64,
    /// Maximum student/teacher file-size ratio.
    pub max_bytes_ratio: f64,
    /// Maximum accuracy drop, teacher − student, in percentage points.
    pub max_accuracy_drop_points: f64,
    /// Largest share of the device's sustained FLOP/s the student may need at the peak rate.
    pub max_compute_share: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_agreement: 0.97,
            max_mean_kl: 0.10,
            min_latency_cut: 0.30,
            max_params_ratio: 0.5,
            max_macs_ratio: 0.5,
            max_bytes_ratio: 0.5,
            max_accuracy_drop_points: 1.0,
            max_compute_share: 1.0,
        }
    }
}

impl Thresholds {
    /// Refuses NaN and negative thresholds, and shares above 1.
    pub fn check(&self) -> Result<()> {
        let all = [
            ("minimum agreement", self.min_agreement, Some(1.0)),
            ("maximum mean KL", self.max_mean_kl, None),
            ("minimum latency cut", self.min_latency_cut, Some(1.0)),
            ("maximum params ratio", self.max_params_ratio, None),
            ("maximum MACs ratio", self.max_macs_ratio, None),
            ("maximum bytes ratio", self.max_bytes_ratio, None),
            ("maximum accuracy drop", self.max_accuracy_drop_points, Some(100.0)),
            ("maximum compute share", self.max_compute_share, None),
        ];
        for (name, v, max) in all {
            if !v.is_finite() || v < 0.0 || max.is_some_and(|m| v > m) {
                return Err(Error::Input(format!("threshold '{name}' = {v} is out of range")));
            }
        }
        Ok(())
    }
}

/// One measured number against its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
    /// `"≥"` or `"≤"`: how value must compare to threshold.
    pub comparison: String,
    /// Whether it holds.
    pub pass: bool,
}

impl Check {
    fn at_least(name: &str, value: f64, threshold: f64) -> Check {
        Check { name: name.into(), value, threshold, comparison: "≥".into(), pass: value >= threshold }
    }
    fn at_most(name: &str, value: f64, threshold: f64) -> Check {
        Check { name: name.into(), value, threshold, comparison: "≤".into(), pass: value <= threshold }
    }
}

/// One axis of the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Axis name.
    pub name: String,
    /// All checks pass.
    pub pass: bool,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Axis {
    fn new(name: &str, checks: Vec<Check>) -> Axis {
        Axis { name: name.into(), pass: checks.iter().all(|c| c.pass), checks }
    }
}

/// The three axes and the overall answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Agreement and KL.
    pub data_fidelity: Axis,
    /// Latency and size.
    pub compute_budget: Axis,
    /// Accuracy drop.
    pub accuracy_tolerance: Axis,
    /// All three pass.
    pub ready: bool,
}

impl Verdict {
    /// "ready", or "not ready (the failing axes)".
    pub fn summary(&self) -> String {
        if self.ready {
            return "ready".into();
        }
        let failed: Vec<&str> = self.axes().iter().filter(|a| !a.pass).map(|a| a.name.as_str()).collect();
        format!("not ready ({})", failed.join(", "))
    }

    /// The axes in display order.
    pub fn axes(&self) -> [&Axis; 3] {
        [&self.data_fidelity, &self.compute_budget, &self.accuracy_tolerance]
    }
}

/// The measurements the verdict is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictInputs<'a> {
    /// Teacher card.
    pub teacher: &'a ModelCard,
    /// Student card.
    pub student: &'a ModelCard,
    /// Teacher median latency, ms.
    pub teacher_latency_ms: f64,
    /// Student median latency, ms.
    pub student_latency_ms: f64,
    /// Teacher top-1 accuracy in [0, 1].
    pub teacher_accuracy: f64,
    /// Student top-1 accuracy in [0, 1].
    pub student_accuracy: f64,
    /// Top-1 agreement in [0, 1].
    pub agreement: f64,
    /// Mean KL(teacher ‖ student).
    pub mean_kl: f64,
    /// The rate the student must sustain and the device's ceiling, where both are known.
    pub compute: Option<ComputeDemand>,
}

/// The seed's Compute Budget: "the target hardware's FLOPs ceiling" against what the
/// operation asks of the student.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ComputeDemand {
    /// Inferences a second at the peak hour (from the cost inputs).
    pub peak_inferences_per_s: f64,
    /// The device's sustained GFLOP/s, measured on the pair.
    pub ceiling_gflops: f64,
}

impl ComputeDemand {
    /// GFLOP/s the student needs at the peak rate.
    pub fn required_gflops(&self, student: &ModelCard) -> f64 {
        student.flops as f64 * self.peak_inferences_per_s / 1e9
    }
}

/// Judges the student against `thresholds`.
pub fn judge(m: &VerdictInputs<'_>, thresholds: &Thresholds) -> Result<Verdict> {
    thresholds.check()?;
    let numbers =
        [m.teacher_latency_ms, m.student_latency_ms, m.teacher_accuracy, m.student_accuracy, m.agreement, m.mean_kl];
    if numbers.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::Input("verdict inputs must be non-negative numbers".into()));
    }
    if m.teacher_latency_ms <= 0.0 {
        return Err(Error::Input("teacher latency must be positive".into()));
    }
    if let Some(c) = m.compute
        && (!c.peak_inferences_per_s.is_finite()
            || c.peak_inferences_per_s < 0.0
            || !c.ceiling_gflops.is_finite()
            || c.ceiling_gflops <= 0.0)
    {
        return Err(Error::Input("the compute demand needs a non-negative rate and a positive ceiling".into()));
    }
    let ratio = |s: u64, t: u64| if t == 0 { f64::INFINITY } else { s as f64 / t as f64 };
    let t = thresholds;
    let data_fidelity = Axis::new(
        "Data Fidelity",
        vec![
            Check::at_least("top-1 agreement", m.agreement, t.min_agreement),
            Check::at_most("mean KL(teacher ‖ student)", m.mean_kl, t.max_mean_kl),
        ],
    );
    let compute_budget = Axis::new(
        "Compute Budget",
        vec![
            Check::at_least(
                "latency cut",
                (m.teacher_latency_ms - m.student_latency_ms) / m.teacher_latency_ms,
                t.min_latency_cut,
            ),
            Check::at_most("params ratio", ratio(m.student.params, m.teacher.params), t.max_params_ratio),
            Check::at_most("MACs ratio", ratio(m.student.macs, m.teacher.macs), t.max_macs_ratio),
            Check::at_most("bytes ratio", ratio(m.student.bytes, m.teacher.bytes), t.max_bytes_ratio),
        ]
        .into_iter()
        .chain(m.compute.map(|c| {
            Check::at_most(
                "device FLOP/s used at peak",
                c.required_gflops(m.student) / c.ceiling_gflops,
                t.max_compute_share,
            )
        }))
        .collect(),
    );
    let accuracy_tolerance = Axis::new(
        "Accuracy Tolerance",
        vec![Check::at_most(
            "accuracy drop (points)",
            (m.teacher_accuracy - m.student_accuracy) * 100.0,
            t.max_accuracy_drop_points,
        )],
    );
    let ready = data_fidelity.pass && compute_budget.pass && accuracy_tolerance.pass;
    Ok(Verdict { data_fidelity, compute_budget, accuracy_tolerance, ready })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::BatchDim;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn card(params: u64, macs: u64, bytes: u64) -> ModelCard {
        ModelCard {
            channels: 1,
            height: 28,
            width: 28,
            batch: BatchDim::Fixed(1),
            classes: 10,
            params,
            macs,
            flops: 2 * macs,
            bytes,
            operators: Default::default(),
            producer: String::new(),
            channels_last: false,
            output_probabilities: false,
            sha256: None,
        }
    }

    fn inputs<'a>(t: &'a ModelCard, s: &'a ModelCard) -> VerdictInputs<'a> {
        VerdictInputs {
            teacher: t,
            student: s,
            teacher_latency_ms: 112.0,
            student_latency_ms: 78.0,
            teacher_accuracy: 0.940,
            student_accuracy: 0.932,
            agreement: 0.975,
            mean_kl: 0.05,
            compute: None,
        }
    }

    #[test]
    fn compute_budget_checks_the_peak_rate_against_the_device_ceiling() {
        let (t, s) = (card(1_000_000, 50_000_000, 4_000_000), card(90_000, 5_000_000, 400_000));
        // The student: 10 MFLOP an inference; 400/s at peak needs 4 GFLOP/s.
        let fits = ComputeDemand { peak_inferences_per_s: 400.0, ceiling_gflops: 8.0 };
        let v = judge(&VerdictInputs { compute: Some(fits), ..inputs(&t, &s) }, &Thresholds::default()).expect("valid");
        let check = v.compute_budget.checks.last().expect("a check");
        assert!(check.name.contains("FLOP/s") && (check.value - 0.5).abs() < 1e-12 && v.ready, "{check:?}");
        let too_busy = ComputeDemand { peak_inferences_per_s: 1_000.0, ..fits };
        let v =
            judge(&VerdictInputs { compute: Some(too_busy), ..inputs(&t, &s) }, &Thresholds::default()).expect("valid");
        assert!(!v.compute_budget.pass && v.data_fidelity.pass && v.accuracy_tolerance.pass);
        // Without a known demand, no check is invented.
        let v = judge(&inputs(&t, &s), &Thresholds::default()).expect("valid");
        assert!(v.compute_budget.checks.iter().all(|c| !c.name.contains("FLOP/s")));
        let broken = ComputeDemand { ceiling_gflops: 0.0, ..fits };
        assert!(judge(&VerdictInputs { compute: Some(broken), ..inputs(&t, &s) }, &Thresholds::default()).is_err());
    }

    #[test]
    fn mission_numbers_pass_every_axis() {
        let (t, s) = (card(1_000_000, 50_000_000, 4_000_000), card(90_000, 5_000_000, 400_000));
        let v = judge(&inputs(&t, &s), &Thresholds::default()).expect("valid");
        assert!(v.ready, "{v:#?}");
        let cut = &v.compute_budget.checks[0];
        assert!((cut.value - 34.0 / 112.0).abs() < 1e-12);
    }

    #[test]
    fn each_axis_fails_on_its_own_numbers() {
        let (t, s) = (card(1_000_000, 50_000_000, 4_000_000), card(90_000, 5_000_000, 400_000));
        let low_agreement = VerdictInputs { agreement: 0.96, ..inputs(&t, &s) };
        let v = judge(&low_agreement, &Thresholds::default()).expect("valid");
        assert!(!v.data_fidelity.pass && v.compute_budget.pass && v.accuracy_tolerance.pass && !v.ready);

        let slow = VerdictInputs { student_latency_ms: 90.0, ..inputs(&t, &s) };
        let v = judge(&slow, &Thresholds::default()).expect("valid");
        assert!(v.data_fidelity.pass && !v.compute_budget.pass && v.accuracy_tolerance.pass);

        let big = card(900_000, 5_000_000, 400_000);
        let v = judge(&inputs(&t, &big), &Thresholds::default()).expect("valid");
        assert!(!v.compute_budget.checks[1].pass);

        let worse = VerdictInputs { student_accuracy: 0.925, ..inputs(&t, &s) };
        let v = judge(&worse, &Thresholds::default()).expect("valid");
        assert!(v.data_fidelity.pass && v.compute_budget.pass && !v.accuracy_tolerance.pass);
    }

    #[test]
    fn thresholds_are_editable_and_checked() {
        let (t, s) = (card(10, 10, 10), card(9, 9, 9));
        let lenient =
            Thresholds { max_params_ratio: 1.0, max_macs_ratio: 1.0, max_bytes_ratio: 1.0, ..Default::default() };
        assert!(judge(&inputs(&t, &s), &lenient).expect("valid").compute_budget.pass);
        let bad = Thresholds { min_agreement: 1.5, ..Default::default() };
        assert!(judge(&inputs(&t, &s), &bad).is_err());
        let nan = VerdictInputs { mean_kl: f64::NAN, ..inputs(&t, &s) };
        assert!(judge(&nan, &Thresholds::default()).is_err());
    }
}
