//! Other devices' figures beside this run's: a person measures the pair with
//! `distillate bench` on a Raspberry Pi or a Graviton instance and drops the report into
//! the page, which shows that device's latency, throughput, verdict and cost beside the
//! browser's and carries them in its export.
//!
//! A device's numbers only mean something for the very files measured here, so a report
//! is matched by the SHA-256 of both models' files (its cards carry them). Close is not the
//! same: a retrained student has the same shapes, parameters and MACs and other numbers.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::card::ModelCard;
use crate::energy::EnergyReport;
use crate::error::{Error, Result};
use crate::report::{Environment, LatencyReport, Report};
use crate::verdict::{ComputeDemand, Verdict};

/// Most device reports one page holds: a table a person can read, and a bound on what a
/// stream of dropped files can make the page keep.
pub const MAX_DEVICES: usize = 8;

/// Another device's measurements of the loaded pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceFigures {
    /// What the person called it: the report's file name.
    pub label: String,
    /// When it was measured (the report's own timestamp).
    pub created: String,
    /// The device.
    pub environment: Environment,
    /// SHA-256 of the teacher file and of the student file it measured.
    pub files: (String, String),
    /// Interleaved latency on that device.
    pub latency: LatencyReport,
    /// That report's verdict, at the thresholds it was judged with.
    pub verdict: Option<Verdict>,
    /// That device's FLOP/s ceiling against the peak rate, as it measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<ComputeDemand>,
    /// Its energy per inference, where it could measure it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<EnergyReport>,
}

impl DeviceFigures {
    /// Reads a CLI report (`label` is its file name) measured on the pair whose cards are
    /// `teacher` and `student`, or says why it cannot stand beside them.
    pub fn from_report(label: &str, bytes: &[u8], teacher: &ModelCard, student: &ModelCard) -> Result<DeviceFigures> {
        let report = Report::from_json(bytes).map_err(|e| Error::Input(format!("{label}: {e}")))?;
        for (role, theirs, ours) in
            [("teacher", &report.teacher.card, teacher), ("student", &report.student.card, student)]
        {
            let (Some(theirs), Some(ours)) = (&theirs.sha256, &ours.sha256) else {
                return Err(Error::Input(format!(
                    "{label} does not name its model files (a report from before reports carried SHA-256 hashes); \
                     measure again with `distillate bench`"
                )));
            };
            if theirs != ours {
                return Err(Error::Input(format!(
                    "{label} measured another {role} (file {}…, the loaded one is {}…); a device's figures \
                     only stand beside the files they were measured on",
                    short(theirs),
                    short(ours)
                )));
            }
        }
        let files = (teacher.sha256.clone().unwrap_or_default(), student.sha256.clone().unwrap_or_default());
        let Some(latency) = report.latency else {
            return Err(Error::Input(format!(
                "{label} has no latency: it was written without a benchmark (`distillate bench` measures one)"
            )));
        };
        Ok(DeviceFigures {
            label: label.to_string(),
            created: report.created,
            environment: report.environment,
            files,
            latency,
            verdict: report.verdict,
            compute: report.compute,
            energy: report.energy,
        })
    }

    /// Whether it measured the files whose cards these are.
    pub fn measured(&self, teacher: &ModelCard, student: &ModelCard) -> bool {
        teacher.sha256.as_ref() == Some(&self.files.0) && student.sha256.as_ref() == Some(&self.files.1)
    }

    /// The device as a person names it: the board if the firmware says, else the host.
    pub fn name(&self) -> String {
        let e = &self.environment;
        match &e.board {
            Some(board) => format!("{board} ({})", e.host),
            None => e.host.clone(),
        }
    }

    /// Student inferences per second on one thread (1 / median).
    pub fn student_per_second(&self) -> f64 {
        1e3 / self.latency.student.median
    }

    /// "ready", "not ready (axes)" or "—" without an evaluation.
    pub fn verdict_label(&self) -> String {
        self.verdict.as_ref().map_or("—".into(), Verdict::summary)
    }
}

/// Adds `figures` to `devices`: a second report with the same label replaces the first;
/// past [`MAX_DEVICES`] it is refused.
pub fn add(devices: &mut Vec<DeviceFigures>, figures: DeviceFigures) -> Result<()> {
    if let Some(same) = devices.iter_mut().find(|d| d.label == figures.label) {
        *same = figures;
        return Ok(());
    }
    if devices.len() >= MAX_DEVICES {
        return Err(Error::Input(format!(
            "{}: the page holds {MAX_DEVICES} device reports; remove one first",
            figures.label
        )));
    }
    devices.push(figures);
    Ok(())
}

/// The export's section for `devices` (empty without any): one table row per device.
pub fn markdown(devices: &[DeviceFigures]) -> String {
    if devices.is_empty() {
        return String::new();
    }
    let cell = |s: &str| s.replace('|', "\\|");
    let mut md = String::from("\n## Other devices (from their own reports of these files)\n\n");
    md.push_str(
        "| device | report | teacher ms | student ms | speed-up | student / s | energy / inference | verdict there |\n",
    );
    md.push_str("|---|---|---:|---:|---:|---:|---|---|\n");
    for d in devices {
        let _ = writeln!(
            md,
            "| {} | {} ({}) | {:.3} | {:.3} | {:.2} | {:.0} | {} | {} |",
            cell(&d.environment.describe()),
            cell(&d.label),
            d.created,
            d.latency.teacher.median,
            d.latency.student.median,
            d.latency.speedup,
            d.student_per_second(),
            EnergyReport::label(d.energy.as_ref()),
            d.verdict_label()
        );
    }
    md
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(all(test, feature = "runtime"))]
mod tests {
    use super::*;
    use crate::report::tests::report;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn pi() -> Report {
        let mut r = report();
        r.environment.host = "Arm Cortex-A76".into();
        r.environment.board = Some("Raspberry Pi 5 Model B".into());
        r
    }

    #[test]
    fn a_report_of_the_loaded_files_gives_its_device_and_latency() {
        let ours = report();
        let d =
            DeviceFigures::from_report("pi.json", pi().to_json().as_bytes(), &ours.teacher.card, &ours.student.card)
                .expect("same files");
        assert_eq!(d.name(), "Raspberry Pi 5 Model B (Arm Cortex-A76)");
        assert_eq!((d.latency.teacher.median, d.latency.student.median), (112.0, 78.0));
        assert!((d.student_per_second() - 1e3 / 78.0).abs() < 1e-9);
        assert_eq!(d.verdict, pi().verdict);
        let mut d = d;
        let verdict = d.verdict.as_mut().expect("the test report has a verdict");
        verdict.ready = true;
        assert_eq!(d.verdict_label(), "ready");
        let verdict = d.verdict.as_mut().expect("verdict");
        verdict.ready = false;
        verdict.data_fidelity.pass = false;
        assert!(d.verdict_label().starts_with("not ready (Data Fidelity"), "{}", d.verdict_label());
        d.verdict = None;
        assert_eq!(d.verdict_label(), "—");
    }

    #[test]
    fn another_pair_an_unhashed_report_and_broken_bytes_are_refused_with_the_reason() {
        let ours = report();
        let (t, s) = (&ours.teacher.card, &ours.student.card);
        let mut retrained = pi();
        retrained.student.card.sha256 = Some("f".repeat(64));
        let err = DeviceFigures::from_report("b.json", retrained.to_json().as_bytes(), t, s).unwrap_err();
        assert!(err.to_string().contains("b.json measured another student (file ffffffffffff…"), "{err}");

        let mut older = pi();
        older.teacher.card.sha256 = None;
        let err = DeviceFigures::from_report("old.json", older.to_json().as_bytes(), t, s).unwrap_err();
        assert!(err.to_string().contains("old.json does not name its model files"), "{err}");

        let mut unmeasured = pi();
        unmeasured.latency = None;
        let err = DeviceFigures::from_report("c.json", unmeasured.to_json().as_bytes(), t, s).unwrap_err();
        assert!(err.to_string().contains("c.json has no latency"), "{err}");

        for bytes in [&b"{ not json"[..], b"", &vec![b' '; crate::report::MAX_REPORT_BYTES + 1]] {
            let err = DeviceFigures::from_report("x.json", bytes, t, s).unwrap_err();
            assert!(err.to_string().contains("x.json: "), "{err}");
        }
    }

    #[test]
    fn a_label_seen_again_replaces_and_the_list_is_bounded() {
        let ours = report();
        let one = |label: &str| {
            DeviceFigures::from_report(label, pi().to_json().as_bytes(), &ours.teacher.card, &ours.student.card)
                .expect("same files")
        };
        let mut devices = Vec::new();
        add(&mut devices, one("pi.json")).expect("room");
        let mut again = one("pi.json");
        again.created = "later".into();
        add(&mut devices, again).expect("replaces");
        assert_eq!((devices.len(), devices[0].created.as_str()), (1, "later"));
        for i in 1..MAX_DEVICES {
            add(&mut devices, one(&format!("{i}.json"))).expect("room");
        }
        let err = add(&mut devices, one("one-too-many.json")).unwrap_err();
        assert!(err.to_string().contains("holds 8 device reports"), "{err}");
        assert_eq!(devices.len(), MAX_DEVICES);
    }

    #[test]
    fn the_export_carries_the_devices_and_says_whose_latency_priced_the_cost() {
        let mut ours = report();
        let d =
            DeviceFigures::from_report("pi.json", pi().to_json().as_bytes(), &ours.teacher.card, &ours.student.card)
                .expect("same files");
        ours.price_on(&crate::cost::CostInputs::mission(), &d).expect("prices");
        ours.devices.push(d);
        let md = ours.to_markdown();
        assert!(md.contains("## Other devices"), "{md}");
        assert!(md.contains("| Arm Cortex-A76 · Raspberry Pi 5 Model B | pi.json (2026-11-28T00:00:00Z) | 112.000 | 78.000 | 1.44 | 13 | not measured |"), "{md}");
        assert!(
            md.contains("Priced at the median latencies measured on Raspberry Pi 5 Model B (Arm Cortex-A76)"),
            "{md}"
        );
        let back = Report::from_json(ours.to_json().as_bytes()).expect("parses");
        assert_eq!(back.devices, ours.devices);
        assert_eq!(back.cost_latency, crate::report::CostLatency::Device);
    }
}
