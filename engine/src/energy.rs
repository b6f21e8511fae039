//! Energy per inference from a cumulative energy counter (Linux powercap: Intel and AMD
//! RAPL, `energy_uj`). The counter covers a whole domain — a CPU package, with its idle
//! draw and every other process — so the measurement is: the domain's idle power over a
//! quiet interval, then each model alone for a while; a model's energy per inference is
//! what its run used above idle, over its inferences. Where no counter can be read, there
//! is no figure: reports say "not measured on this device", never an estimate.
//!
//! The engine only does the arithmetic (counters come in as numbers): the CLI reads the
//! files.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Energy of both models on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyReport {
    /// The counter, e.g. `intel-rapl:0 (package-0)`.
    pub source: String,
    /// The domain's power while idle, W.
    pub idle_watts: f64,
    /// Teacher: joules per inference above idle.
    pub teacher_j: f64,
    /// Student: joules per inference above idle.
    pub student_j: f64,
    /// Seconds each model ran for the figure.
    pub seconds_per_model: f64,
}

impl EnergyReport {
    /// "T 1.23 mJ · S 0.31 mJ" as tables print it.
    pub fn summary(&self) -> String {
        format!("T {:.3} mJ · S {:.3} mJ", self.teacher_j * 1e3, self.student_j * 1e3)
    }

    /// [`EnergyReport::summary`], or "not measured" where the device has no counter.
    pub fn label(energy: Option<&EnergyReport>) -> String {
        energy.map_or("not measured".into(), EnergyReport::summary)
    }
}

/// Microjoules between two reads of a counter that wraps at `max_range_uj` (it counts
/// up to that range and starts again from 0).
pub fn counter_delta_uj(before: u64, after: u64, max_range_uj: u64) -> Result<u64> {
    if after >= before {
        return Ok(after - before);
    }
    if max_range_uj == 0 || before > max_range_uj {
        return Err(Error::Input(format!(
            "the energy counter went back from {before} to {after} µJ without a range to wrap at"
        )));
    }
    Ok(max_range_uj - before + after)
}

/// One model's run: the counter's microjoules over `seconds`, for `inferences` calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// Energy the domain used during the run, µJ.
    pub energy_uj: u64,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Inferences made.
    pub inferences: u64,
}

impl Run {
    /// Joules per inference above `idle_watts`; a run that used less than idle (a noisy
    /// domain) counts as 0.
    pub fn joules_per_inference(&self, idle_watts: f64) -> Result<f64> {
        if self.inferences == 0 || self.seconds.is_nan() || self.seconds <= 0.0 {
            return Err(Error::Input("an energy run needs inferences and a positive duration".into()));
        }
        let above_idle = self.energy_uj as f64 * 1e-6 - idle_watts * self.seconds;
        Ok(above_idle.max(0.0) / self.inferences as f64)
    }
}

/// The report from an idle interval and each model's run.
pub fn energy_report(source: &str, idle: Run, teacher: Run, student: Run) -> Result<EnergyReport> {
    if idle.seconds.is_nan() || idle.seconds <= 0.0 {
        return Err(Error::Input("the idle interval needs a positive duration".into()));
    }
    let idle_watts = idle.energy_uj as f64 * 1e-6 / idle.seconds;
    Ok(EnergyReport {
        source: source.to_string(),
        idle_watts,
        teacher_j: teacher.joules_per_inference(idle_watts)?,
        student_j: student.joules_per_inference(idle_watts)?,
        seconds_per_model: teacher.seconds.max(student.seconds),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_wrapping_counter_still_gives_the_energy_used() {
        assert_eq!(counter_delta_uj(100, 350, 1000).expect("forward"), 250);
        assert_eq!(counter_delta_uj(900, 50, 1000).expect("wrapped"), 150);
        assert!(counter_delta_uj(900, 50, 0).is_err(), "no range: a counter that went back is refused");
    }

    #[test]
    fn energy_per_inference_is_what_the_run_used_above_idle() {
        // Idle 5 W; the teacher's 2 s used 30 J (20 J above idle) for 10 000 inferences.
        let idle = Run { energy_uj: 5_000_000, seconds: 1.0, inferences: 0 };
        let teacher = Run { energy_uj: 30_000_000, seconds: 2.0, inferences: 10_000 };
        let student = Run { energy_uj: 12_000_000, seconds: 2.0, inferences: 40_000 };
        let r = energy_report("intel-rapl:0 (package-0)", idle, teacher, student).expect("report");
        assert!((r.idle_watts - 5.0).abs() < 1e-12);
        assert!((r.teacher_j - 2e-3).abs() < 1e-12, "{}", r.teacher_j);
        assert!((r.student_j - 0.05e-3).abs() < 1e-12, "{}", r.student_j);
        assert_eq!(r.summary(), "T 2.000 mJ · S 0.050 mJ");
        // A run below idle (another process went quiet) is 0, not negative.
        let quiet = Run { energy_uj: 1_000_000, seconds: 2.0, inferences: 10 };
        assert_eq!(quiet.joules_per_inference(5.0).expect("runs"), 0.0);
        assert!(Run { energy_uj: 1, seconds: 1.0, inferences: 0 }.joules_per_inference(1.0).is_err());
    }
}
