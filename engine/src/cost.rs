//! What a model's latency costs per order: a pure function with its formula in the open.
//!
//! For a model with latency `L` seconds per inference:
//!
//! ```text
//! inferences/order   n   = items/order × inferences/item
//! inference time     t   = n × L                                  (s per order)
//! robot cost         r   = t × critical-path share × robot $/h ÷ 3600
//! compute cost       c   = t × compute $/core-hour ÷ 3600         (one core per inference)
//! energy cost        e   = n × J/inference × energy $/kWh ÷ 3 600 000   (where measured)
//! cost per order         = r + c + e
//! saving per order       = cost(teacher) − cost(student)
//! saving per year        = saving per order × orders/day × operating days/year
//! ```
//!
//! The critical-path share is the part of inference time the robot actually waits for
//! (1.0: it stands still while the model runs; 0.0: inference overlaps with motion).
//! Energy enters only where the device measured it (a powercap counter, see
//! [`crate::energy`]): a browser cannot, so its cost has no energy term.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The business inputs of the cost model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostInputs {
    /// Orders fulfilled per day.
    pub orders_per_day: f64,
    /// Items picked per order.
    pub items_per_order: f64,
    /// Model inferences per item (e.g. pick check + pack check).
    pub inferences_per_item: f64,
    /// Fully loaded cost of a robot (or station) per hour, in currency units.
    pub robot_cost_per_hour: f64,
    /// Share of inference time on the robot's critical path, in [0, 1].
    pub critical_path_share: f64,
    /// Compute cost per core-hour, in currency units.
    pub compute_cost_per_core_hour: f64,
    /// Operating days per year.
    pub operating_days_per_year: f64,
    /// Hours a day the site runs (the day's inferences spread over them).
    #[serde(default = "default_operating_hours")]
    pub operating_hours_per_day: f64,
    /// Busiest hour's rate over the day's average: what the hardware must sustain.
    #[serde(default = "default_peak_factor")]
    pub peak_factor: f64,
    /// Electricity price per kWh, applied to the energy a device measured per inference.
    #[serde(default)]
    pub energy_price_per_kwh: f64,
}

fn default_operating_hours() -> f64 {
    20.0
}

fn default_peak_factor() -> f64 {
    2.0
}

impl Default for CostInputs {
    fn default() -> Self {
        CostInputs::mission()
    }
}

impl CostInputs {
    /// The mission's fulfilment-centre scenario: a mid-size site, 40 000 orders a day of
    /// 3 items, each item checked twice (pick and pack), robots at 30/h that wait for every
    /// inference, cloud-class compute at 0.05 per core-hour, open every day.
    pub fn mission() -> Self {
        CostInputs {
            orders_per_day: 40_000.0,
            items_per_order: 3.0,
            inferences_per_item: 2.0,
            robot_cost_per_hour: 30.0,
            critical_path_share: 1.0,
            compute_cost_per_core_hour: 0.05,
            operating_days_per_year: 365.0,
            operating_hours_per_day: 20.0,
            peak_factor: 2.0,
            energy_price_per_kwh: 0.15,
        }
    }

    /// A small e-commerce warehouse with inference partly overlapped by robot motion.
    pub fn small_site() -> Self {
        CostInputs {
            orders_per_day: 2_000.0,
            items_per_order: 2.0,
            inferences_per_item: 1.0,
            robot_cost_per_hour: 20.0,
            critical_path_share: 0.5,
            compute_cost_per_core_hour: 0.05,
            operating_days_per_year: 300.0,
            operating_hours_per_day: 10.0,
            peak_factor: 3.0,
            energy_price_per_kwh: 0.25,
        }
    }

    /// Refuses NaN, infinities, negatives and values past any real operation.
    pub fn check(&self) -> Result<()> {
        let fields: [(&str, f64, f64); 10] = [
            ("orders per day", self.orders_per_day, 1e9),
            ("items per order", self.items_per_order, 1e5),
            ("inferences per item", self.inferences_per_item, 1e4),
            ("robot cost per hour", self.robot_cost_per_hour, 1e6),
            ("critical-path share", self.critical_path_share, 1.0),
            ("compute cost per core-hour", self.compute_cost_per_core_hour, 1e4),
            ("operating days per year", self.operating_days_per_year, 366.0),
            ("operating hours per day", self.operating_hours_per_day, 24.0),
            ("peak factor", self.peak_factor, 1e3),
            ("energy price per kWh", self.energy_price_per_kwh, 1e3),
        ];
        for (name, value, max) in fields {
            if !value.is_finite() {
                return Err(Error::Input(format!("{name} must be a number (got {value})")));
            }
            if value < 0.0 {
                return Err(Error::Input(format!("{name} cannot be negative (got {value})")));
            }
            if value > max {
                return Err(Error::Input(format!("{name} {value} is beyond the supported maximum {max}")));
            }
        }
        if self.operating_hours_per_day <= 0.0 || self.peak_factor < 1.0 {
            return Err(Error::Input("operating hours per day must be above 0 and the peak factor at least 1".into()));
        }
        Ok(())
    }

    /// Inferences a second the hardware must sustain in the busiest hour: the day's
    /// inferences over the operating hours, times the peak factor.
    pub fn peak_inferences_per_s(&self) -> f64 {
        self.orders_per_day * self.items_per_order * self.inferences_per_item / (self.operating_hours_per_day * 3600.0)
            * self.peak_factor
    }
}

/// Costs for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCost {
    /// Latency per inference used, ms.
    pub latency_ms: f64,
    /// Inference seconds per order.
    pub inference_seconds_per_order: f64,
    /// Robot waiting cost per order.
    pub robot_cost_per_order: f64,
    /// Compute cost per order.
    pub compute_cost_per_order: f64,
    /// Energy per inference the device measured, J (none where it cannot measure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j_per_inference: Option<f64>,
    /// Electricity cost per order (0 without a measured energy).
    #[serde(default)]
    pub energy_cost_per_order: f64,
    /// Total cost per order.
    pub cost_per_order: f64,
    /// Total cost per year.
    pub cost_per_year: f64,
}

/// Teacher against student.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostComparison {
    /// Inputs used.
    pub inputs: CostInputs,
    /// The teacher's costs.
    pub teacher: ModelCost,
    /// The student's costs.
    pub student: ModelCost,
    /// Teacher − student cost per order.
    pub saving_per_order: f64,
    /// Teacher − student cost per year.
    pub saving_per_year: f64,
    /// Saving as a share of the teacher's cost, in [−∞, 1] (0 when the teacher costs nothing).
    pub saving_share: f64,
}

/// Costs of one model at `latency_ms` per inference, and `energy_j` per inference where
/// the device measured it.
pub fn model_cost(inputs: &CostInputs, latency_ms: f64, energy_j: Option<f64>) -> Result<ModelCost> {
    inputs.check()?;
    if !latency_ms.is_finite() || latency_ms < 0.0 {
        return Err(Error::Input(format!("latency must be a non-negative number of ms (got {latency_ms})")));
    }
    if let Some(j) = energy_j.filter(|j| !j.is_finite() || *j < 0.0) {
        return Err(Error::Input(format!("energy must be a non-negative number of joules (got {j})")));
    }
    let inferences = inputs.items_per_order * inputs.inferences_per_item;
    let seconds = inferences * latency_ms / 1000.0;
    let robot = seconds * inputs.critical_path_share * inputs.robot_cost_per_hour / 3600.0;
    let compute = seconds * inputs.compute_cost_per_core_hour / 3600.0;
    let energy = energy_j.map_or(0.0, |j| inferences * j * inputs.energy_price_per_kwh / 3.6e6);
    let per_order = robot + compute + energy;
    Ok(ModelCost {
        latency_ms,
        inference_seconds_per_order: seconds,
        robot_cost_per_order: robot,
        compute_cost_per_order: compute,
        energy_j_per_inference: energy_j,
        energy_cost_per_order: energy,
        cost_per_order: per_order,
        cost_per_year: per_order * inputs.orders_per_day * inputs.operating_days_per_year,
    })
}

/// Teacher and student costs and the saving, from latency alone.
pub fn compare(inputs: &CostInputs, teacher_ms: f64, student_ms: f64) -> Result<CostComparison> {
    compare_with_energy(inputs, teacher_ms, student_ms, None)
}

/// Teacher and student costs and the saving, with the energy per inference (teacher J,
/// student J) where the device measured it.
pub fn compare_with_energy(
    inputs: &CostInputs,
    teacher_ms: f64,
    student_ms: f64,
    energy_j: Option<(f64, f64)>,
) -> Result<CostComparison> {
    let teacher = model_cost(inputs, teacher_ms, energy_j.map(|e| e.0))?;
    let student = model_cost(inputs, student_ms, energy_j.map(|e| e.1))?;
    let saving_per_order = teacher.cost_per_order - student.cost_per_order;
    Ok(CostComparison {
        inputs: inputs.clone(),
        saving_per_year: saving_per_order * inputs.orders_per_day * inputs.operating_days_per_year,
        saving_share: if teacher.cost_per_order > 0.0 { saving_per_order / teacher.cost_per_order } else { 0.0 },
        saving_per_order,
        teacher,
        student,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn mission_scenario_teacher_112_ms_student_78_ms() {
        let c = compare(&CostInputs::mission(), 112.0, 78.0).expect("valid");
        // 3 items × 2 inferences = 6 per order.
        assert!(close(c.teacher.inference_seconds_per_order, 0.672));
        assert!(close(c.student.inference_seconds_per_order, 0.468));
        // Robot: 0.672 s × 30/h ÷ 3600 = 0.0056; compute: 0.672 × 0.05 ÷ 3600.
        assert!(close(c.teacher.robot_cost_per_order, 0.0056));
        assert!(close(c.teacher.compute_cost_per_order, 0.672 * 0.05 / 3600.0));
        // Saving: 0.204 s × (30 + 0.05) ÷ 3600 per order = 0.001 702 83…
        let per_order = 0.204 * 30.05 / 3600.0;
        assert!(close(c.saving_per_order, per_order));
        // × 40 000 orders × 365 days = 24 861.37 a year.
        assert!(close(c.saving_per_year, per_order * 40_000.0 * 365.0));
        assert!((c.saving_per_year - 24_861.37).abs() < 0.01);
        assert!(close(c.saving_share, 34.0 / 112.0));
    }

    #[test]
    fn off_critical_path_leaves_only_compute() {
        let inputs = CostInputs { critical_path_share: 0.0, ..CostInputs::mission() };
        let c = model_cost(&inputs, 100.0, None).expect("valid");
        assert_eq!(c.robot_cost_per_order, 0.0);
        assert!(close(c.cost_per_order, 0.6 * 0.05 / 3600.0));
    }

    #[test]
    fn absurd_inputs_are_refused_with_the_field_named() {
        let cases = [
            CostInputs { orders_per_day: -1.0, ..Default::default() },
            CostInputs { robot_cost_per_hour: f64::NAN, ..Default::default() },
            CostInputs { items_per_order: f64::INFINITY, ..Default::default() },
            CostInputs { critical_path_share: 1.5, ..Default::default() },
            CostInputs { orders_per_day: 1e300, ..Default::default() },
        ];
        for inputs in cases {
            let err = compare(&inputs, 10.0, 5.0).expect_err("refused").to_string();
            assert!(
                err.contains("orders") || err.contains("robot") || err.contains("items") || err.contains("share"),
                "{err}"
            );
        }
        assert!(compare(&CostInputs::mission(), f64::NAN, 5.0).is_err());
        assert!(compare(&CostInputs::mission(), 5.0, -1.0).is_err());
    }

    #[test]
    fn the_peak_rate_spreads_the_day_over_its_hours_times_the_peak() {
        // 40 000 orders × 3 items × 2 inferences over 20 h, at twice the average.
        let rate = CostInputs::mission().peak_inferences_per_s();
        assert!(close(rate, 240_000.0 / 72_000.0 * 2.0), "{rate}");
        for bad in [
            CostInputs { operating_hours_per_day: 0.0, ..Default::default() },
            CostInputs { operating_hours_per_day: 25.0, ..Default::default() },
            CostInputs { peak_factor: 0.5, ..Default::default() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        // Manifests written before these fields existed still read, with the defaults.
        let old = r#"{"orders_per_day": 10, "items_per_order": 1, "inferences_per_item": 1, "robot_cost_per_hour": 1,
            "critical_path_share": 1, "compute_cost_per_core_hour": 0.1, "operating_days_per_year": 300}"#;
        let read: CostInputs = serde_json::from_str(old).expect("reads");
        assert_eq!((read.operating_hours_per_day, read.peak_factor, read.energy_price_per_kwh), (20.0, 2.0, 0.0));
    }

    #[test]
    fn measured_energy_adds_its_price_and_unmeasured_adds_nothing() {
        // 6 inferences an order at 2 mJ (teacher) and 0.5 mJ (student), 0.15 per kWh.
        let inputs = CostInputs::mission();
        let with = compare_with_energy(&inputs, 112.0, 78.0, Some((2e-3, 0.5e-3))).expect("valid");
        let without = compare(&inputs, 112.0, 78.0).expect("valid");
        assert!(close(with.teacher.energy_cost_per_order, 6.0 * 2e-3 * 0.15 / 3.6e6));
        assert!(close(
            with.teacher.cost_per_order - without.teacher.cost_per_order,
            with.teacher.energy_cost_per_order
        ));
        assert!(close(with.saving_per_order - without.saving_per_order, 6.0 * 1.5e-3 * 0.15 / 3.6e6));
        assert_eq!((without.student.energy_j_per_inference, without.student.energy_cost_per_order), (None, 0.0));
        assert!(compare_with_energy(&inputs, 112.0, 78.0, Some((f64::NAN, 0.0))).is_err());
    }

    proptest! {
        #[test]
        fn a_faster_student_never_costs_more(t in 0.0f64..1e4, s in 0.0f64..1e4) {
            let c = compare(&CostInputs::mission(), t.max(s), t.min(s)).unwrap();
            prop_assert!(c.saving_per_order >= 0.0);
            prop_assert!(c.saving_per_year >= 0.0);
        }
    }
}
