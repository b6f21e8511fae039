//! Reports of one pair from several devices side by side: the table `distillate compare`
//! prints, so a Pi, a Graviton instance and a laptop can be read in one place.

use std::fmt::Write as _;

use crate::energy::EnergyReport;
use crate::error::{Error, Result};
use crate::report::{ModelReport, Report};

/// Whether two reports measured the same models: the same files (SHA-256) where both
/// reports name them; for older reports without hashes, the same shapes, parameters, MACs,
/// file size and operators for the teacher and for the student.
pub fn same_pair(a: &Report, b: &Report) -> bool {
    let same = |x: &ModelReport, y: &ModelReport| {
        let (x, y) = (&x.card, &y.card);
        let shape = (x.channels, x.height, x.width, x.classes, x.params, x.macs, x.bytes, &x.operators)
            == (y.channels, y.height, y.width, y.classes, y.params, y.macs, y.bytes, &y.operators);
        match (&x.sha256, &y.sha256) {
            (Some(hx), Some(hy)) => hx == hy,
            _ => shape,
        }
    };
    same(&a.teacher, &b.teacher) && same(&a.student, &b.student)
}

/// A Markdown table with one row per report (`(label, report)`, e.g. the file name), or why
/// the reports cannot share one: none given, or one measured another pair than the first.
pub fn compare_markdown(reports: &[(String, Report)]) -> Result<String> {
    let Some((first_label, first)) = reports.first() else {
        return Err(Error::Input("give at least one report to compare".into()));
    };
    if let Some((label, _)) = reports.iter().find(|(_, r)| !same_pair(first, r)) {
        return Err(Error::Input(format!(
            "{label} measured another pair than {first_label} (the models' files differ); compare reports of one pair"
        )));
    }
    let mut md = String::new();
    let _ = writeln!(md, "# {} on {} devices\n", first.title, reports.len());
    let _ = writeln!(
        md,
        "{} (teacher) vs {} (student). Latency is the median per image, one thread; throughput is 1 / median.\n",
        first.teacher.name, first.student.name
    );
    md.push_str("| report | device | teacher ms | student ms | speed-up | student /s | accuracy Δ (pts) | agreement | saving / order | energy | verdict |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for (label, r) in reports {
        let lat = r.latency.as_ref();
        let num = |v: Option<f64>, digits: usize| v.map_or("—".to_string(), |v| format!("{v:.digits$}"));
        let eval = r.evaluation.as_ref();
        let verdict = r.verdict.as_ref().map_or("—".into(), crate::verdict::Verdict::summary);
        let _ = writeln!(
            md,
            "| {} | {} · {} | {} | {} | {} | {} | {} | {} | {} | {} | {verdict} |",
            label.replace('|', "\\|"),
            r.environment.target,
            r.environment.describe().replace('|', "\\|"),
            num(lat.map(|l| l.teacher.median), 3),
            num(lat.map(|l| l.student.median), 3),
            num(lat.map(|l| l.speedup), 2),
            num(lat.map(|l| 1e3 / l.student.median), 0),
            num(eval.map(|e| e.delta_points), 2),
            eval.map_or("—".into(), |e| format!("{:.2} %", e.agreement * 100.0)),
            num(r.cost.as_ref().map(|c| c.saving_per_order), 4),
            EnergyReport::label(r.energy.as_ref()),
        );
    }
    Ok(md)
}

#[cfg(all(test, feature = "runtime"))]
mod tests {
    use super::*;
    use crate::report::tests::report;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn one_row_per_device_with_its_latency_and_verdict() {
        let laptop = report();
        let mut pi = report();
        pi.environment.host = "Arm Cortex-A76".into();
        pi.environment.board = Some("Raspberry Pi 5 Model B".into());
        let md = compare_markdown(&[("laptop.json".into(), laptop), ("pi|5.json".into(), pi)]).expect("same pair");
        assert!(md.contains("| laptop.json | test · "), "{md}");
        assert!(md.contains("| pi\\|5.json | test · Arm Cortex-A76 · Raspberry Pi 5 Model B"), "{md}");
        assert!(md.contains("| 112.000 | 78.000 | 1.44 |"), "{md}");
        assert_eq!(md.lines().filter(|l| l.contains("not measured")).count(), 2);
    }

    #[test]
    fn reports_of_another_pair_are_refused_by_name() {
        let a = report();
        let mut b = report();
        b.student.card.sha256 = Some("0".repeat(64));
        let err = compare_markdown(&[("a.json".into(), a), ("b.json".into(), b)]).unwrap_err();
        assert!(err.to_string().contains("b.json measured another pair than a.json"), "{err}");
        assert!(compare_markdown(&[]).is_err());
    }

    #[test]
    fn the_files_hashes_decide_where_both_reports_carry_them() {
        let a = report();
        assert!(a.student.card.sha256.is_some(), "reports name their files");
        // Same shapes, another file (retrained weights): another pair.
        let mut retrained = report();
        retrained.student.card.sha256 = Some("0".repeat(64));
        assert!(!same_pair(&a, &retrained));
        // A report from before hashes existed still matches by its cards.
        let mut older = report();
        older.teacher.card.sha256 = None;
        older.student.card.sha256 = None;
        assert!(same_pair(&a, &older));
    }
}
