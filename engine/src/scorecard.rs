//! The readiness scorecard as a standalone SVG image (1200 × 630, the size link previews
//! and slides use): headline numbers, the three axes with every check, and the verdict.
//! Written by the CLI next to its report and downloaded from the page.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::report::{CostLatency, Report, group};

/// Image width, px.
pub const WIDTH: u32 = 1200;
/// Image height, px.
pub const HEIGHT: u32 = 630;

// The page's light-theme colours, which keep 4.5:1 contrast on white.
const OK: &str = "#267a4b";
const BAD: &str = "#c0392b";
const FG: &str = "#1d1d1f";
const MUTED: &str = "#6b6b70";

/// The scorecard of a report that has both latency and evaluation (and so a verdict).
pub fn scorecard_svg(report: &Report) -> Result<String> {
    let (Some(latency), Some(eval), Some(verdict)) = (&report.latency, &report.evaluation, &report.verdict) else {
        return Err(Error::Input("the scorecard needs a benchmark and an evaluation; run both first".into()));
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif">"##
    );
    let _ = write!(svg, r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#f7f7f5"/>"##);
    // Title and subtitle are cut to stay clear of the verdict banner on the right.
    text(&mut svg, 48, 72, 30, FG, "700", &truncate(&report.title, 46));
    let when = report.created.get(..16).map(|s| s.replace('T', " ")).unwrap_or_else(|| report.created.clone());
    let subtitle = format!(
        "{} vs {} · {} · {when}",
        truncate(&report.teacher.name, 28),
        truncate(&report.student.name, 28),
        report.environment.target
    );
    text(&mut svg, 48, 106, 16, MUTED, "400", &truncate(&subtitle, 92));

    let color = if verdict.ready { OK } else { BAD };
    let _ = write!(svg, r##"<rect x="900" y="40" width="252" height="64" rx="12" fill="{color}"/>"##);
    let banner = if verdict.ready { "READY TO SHIP" } else { "NOT READY" };
    let _ = write!(
        svg,
        r##"<text x="1026" y="82" font-size="24" font-weight="700" fill="#fff" text-anchor="middle">{banner}</text>"##
    );

    let saving = match &report.cost {
        Some(c) => (
            signed_group(c.saving_per_year),
            format!(
                "{:.6} per order{}",
                c.saving_per_order,
                match report.cost_latency {
                    CostLatency::Measured => String::new(),
                    CostLatency::Typed => " · typed latency".into(),
                    CostLatency::Device =>
                        format!(" · latency of {}", report.cost_device.as_deref().unwrap_or("another device")),
                }
            ),
        ),
        None => ("—".into(), "no cost inputs".into()),
    };
    let tiles = [
        (
            "latency cut",
            format!("{:.1} %", latency.cut * 100.0),
            format!("{:.3} → {:.3} ms ({:.2}×)", latency.teacher.median, latency.student.median, latency.speedup),
        ),
        (
            "accuracy Δ",
            format!("{:+.2} pts", eval.delta_points),
            format!(
                "{:.2} → {:.2} % · {} images",
                eval.teacher_accuracy * 100.0,
                eval.student_accuracy * 100.0,
                group(eval.images)
            ),
        ),
        ("agreement", format!("{:.2} %", eval.agreement * 100.0), format!("mean KL {:.4} nats", eval.mean_kl)),
        ("saving per year", saving.0, saving.1),
    ];
    for (i, (label, value, detail)) in tiles.iter().enumerate() {
        let x = 48 + i as u32 * 282;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="140" width="262" height="150" rx="12" fill="#fff" stroke="#e3e3e0" stroke-width="2"/>"##
        );
        text(&mut svg, x + 20, 176, 18, MUTED, "400", label);
        text(&mut svg, x + 20, 232, 44, FG, "700", value);
        text(&mut svg, x + 20, 268, 15, MUTED, "400", detail);
    }

    for (i, axis) in verdict.axes().into_iter().enumerate() {
        let x = 48 + i as u32 * 376;
        let color = if axis.pass { OK } else { BAD };
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="318" width="356" height="264" rx="12" fill="#fff" stroke="{color}" stroke-width="3"/>"##
        );
        text(&mut svg, x + 20, 356, 22, FG, "700", &axis.name);
        let _ = write!(
            svg,
            r##"<text x="{}" y="356" font-size="22" font-weight="700" fill="{color}" text-anchor="end">{}</text>"##,
            x + 336,
            if axis.pass { "PASS" } else { "FAIL" }
        );
        // Five checks (Compute Budget with the device ceiling) fit the box at a tighter pitch.
        let pitch = if axis.checks.len() > 4 { 38 } else { 44 };
        for (j, check) in axis.checks.iter().enumerate() {
            let y = 396 + j as u32 * pitch;
            let mark = if check.pass { OK } else { BAD };
            text(
                &mut svg,
                x + 20,
                y,
                16,
                mark,
                "600",
                &format!("{} {}", if check.pass { "✓" } else { "✗" }, check.name),
            );
            text(
                &mut svg,
                x + 40,
                y + 20,
                14,
                MUTED,
                "400",
                &format!("{:.4} {} {:.4}", check.value, check.comparison, check.threshold),
            );
        }
    }
    text(
        &mut svg,
        48,
        614,
        14,
        MUTED,
        "400",
        &format!("Distillate · {} · {}", report.environment.engine_build, report.environment.host),
    );
    svg.push_str("</svg>");
    Ok(svg)
}

/// A whole amount with thousands separators and a real minus sign.
fn signed_group(v: f64) -> String {
    let whole = group(v.abs().round() as u64);
    if v.round() < 0.0 { format!("−{whole}") } else { whole }
}

/// One `<text>` element; `content` is escaped (model names come from users).
fn text(svg: &mut String, x: u32, y: u32, size: u32, fill: &str, weight: &str, content: &str) {
    let _ = write!(
        svg,
        r##"<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" fill="{fill}">{}</text>"##,
        escape(&truncate(content, 120))
    );
}

/// At most `max` characters, with an ellipsis when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max - 1).chain(['…']).collect() }
}

/// XML text escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::report;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn scorecard_shows_the_headline_numbers_and_every_check() {
        let r = report();
        let svg = scorecard_svg(&r).expect("renders");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("30.4 %"), "latency cut");
        let checks: usize = r.verdict.as_ref().expect("verdict").axes().iter().map(|a| a.checks.len()).sum();
        assert_eq!(svg.matches('✓').count() + svg.matches('✗').count(), checks);
    }

    #[test]
    fn long_titles_are_cut_and_amounts_grouped() {
        let mut r = report();
        r.title = "x".repeat(200);
        let svg = scorecard_svg(&r).expect("renders");
        assert!(svg.contains(&format!("{}…", "x".repeat(45))) && !svg.contains(&"x".repeat(47)));
        assert_eq!(signed_group(24_861.37), "24,861");
        assert_eq!(signed_group(-1_500.0), "−1,500");
    }

    #[test]
    fn model_names_are_escaped() {
        let mut r = report();
        r.teacher.name = "<script>alert('x')</script> & co".into();
        let svg = scorecard_svg(&r).expect("renders");
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"));
        r.teacher.name = "A & B".into();
        assert!(scorecard_svg(&r).expect("renders").contains("A &amp; B vs"));
    }

    #[test]
    fn a_report_without_measurements_has_no_scorecard() {
        let mut r = report();
        r.evaluation = None;
        r.verdict = None;
        assert!(scorecard_svg(&r).unwrap_err().to_string().contains("evaluation"));
    }
}
