//! [`Report::to_markdown`]: the report as tables ready for a README or a pull request.

use std::fmt::Write as _;

use super::{CostLatency, Report, group};

impl Report {
    /// Markdown: tables ready for a README or a pull request.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let (t, s) = (&self.teacher, &self.student);
        let _ = writeln!(md, "# {}\n", self.title);
        let _ = writeln!(
            md,
            "Measured {} on {} — {}.\n",
            self.created,
            self.environment.target,
            self.environment.describe()
        );
        if let Some(v) = &self.verdict {
            let _ = writeln!(md, "**Verdict: {}**\n", if v.ready { "ready to ship" } else { "not ready" });
        }
        let _ = writeln!(md, "## Models\n");
        let _ = writeln!(md, "| | {} (teacher) | {} (student) | student / teacher |", t.name, s.name);
        let _ = writeln!(md, "|---|---:|---:|---:|");
        let _ = writeln!(md, "| input | {} | {} | |", t.card.input_label(), s.card.input_label());
        for (name, a, b) in [
            ("parameters", t.card.params, s.card.params),
            ("MACs / image", t.card.macs, s.card.macs),
            ("file bytes", t.card.bytes, s.card.bytes),
        ] {
            let _ = writeln!(md, "| {name} | {} | {} | {} |", group(a), group(b), ratio(b, a));
        }
        if let (Some(ht), Some(hs)) = (&t.card.sha256, &s.card.sha256) {
            // 16 hex digits name a file among any collection a person compares.
            let short = |h: &str| format!("`{}`", h.get(..16).unwrap_or(h));
            let _ = writeln!(md, "| SHA-256 | {} | {} | |", short(ht), short(hs));
        }
        if let Some(l) = &self.latency {
            let _ = writeln!(md, "\n## Latency (ms per image, interleaved)\n");
            let _ = writeln!(md, "| | median | 95 % CI of median | mean | p90 | p99 | min | max | samples |");
            let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (name, st) in [(&t.name, &l.teacher), (&s.name, &l.student)] {
                let _ = writeln!(
                    md,
                    "| {name} | {:.3} | {:.3}–{:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
                    st.median, st.median_ci95.0, st.median_ci95.1, st.mean, st.p90, st.p99, st.min, st.max, st.n
                );
            }
            let _ = writeln!(md, "\nLatency cut **{:.1} %** ({:.2}× faster).", l.cut * 100.0, l.speedup);
            let _ = match &self.energy {
                Some(e) => writeln!(
                    md,
                    "\nEnergy per inference above idle ({}, idle {:.1} W, {:.1} s per model): teacher **{:.3} mJ**, \
                     student **{:.3} mJ**.",
                    e.source,
                    e.idle_watts,
                    e.seconds_per_model,
                    e.teacher_j * 1e3,
                    e.student_j * 1e3
                ),
                None => writeln!(md, "\nEnergy: not measured on this device (no readable energy counter)."),
            };
        }
        md.push_str(&crate::devices::markdown(&self.devices));
        if let Some(e) = &self.evaluation {
            let _ = writeln!(md, "\n## Accuracy and fidelity ({} labelled images)\n", e.images);
            let _ = writeln!(md, "| metric | value |\n|---|---:|");
            let _ = writeln!(md, "| teacher top-1 | {:.2} % |", e.teacher_accuracy * 100.0);
            let _ = writeln!(md, "| student top-1 | {:.2} % |", e.student_accuracy * 100.0);
            let _ = writeln!(md, "| Δ accuracy (student − teacher) | {:+.2} points |", e.delta_points);
            let _ = writeln!(md, "| top-1 agreement | {:.2} % |", e.agreement * 100.0);
            let _ = writeln!(md, "| mean KL(teacher ‖ student) | {:.4} nats |", e.mean_kl);
            if !e.top_disagreements.is_empty() {
                let label = |i: usize| self.labels.get(i).cloned().unwrap_or_else(|| format!("class {i}"));
                let list: Vec<String> = e
                    .top_disagreements
                    .iter()
                    .map(|(a, b, n)| format!("{} → {} ({n})", label(*a), label(*b)))
                    .collect();
                let _ = writeln!(md, "\nMost frequent disagreements (teacher → student): {}.", list.join(", "));
            }
        }
        if let Some(c) = &self.cost {
            let i = &c.inputs;
            let _ = writeln!(md, "\n## Cost per order\n");
            let _ = writeln!(
                md,
                "{} orders/day × {} items × {} inferences/item; robot {}/h with {:.0} % of inference on its critical path; compute {}/core-hour; {} days/year.\n",
                i.orders_per_day,
                i.items_per_order,
                i.inferences_per_item,
                i.robot_cost_per_hour,
                i.critical_path_share * 100.0,
                i.compute_cost_per_core_hour,
                i.operating_days_per_year
            );
            let _ = writeln!(
                md,
                "{}\n",
                match self.cost_latency {
                    CostLatency::Measured => "Priced at the median latencies measured above.".to_string(),
                    CostLatency::Typed =>
                        "Priced at latencies typed in for the target device, not measured by this run.".into(),
                    CostLatency::Device => format!(
                        "Priced at the median latencies measured on {}, from its own report.",
                        self.cost_device.as_deref().unwrap_or("another device")
                    ),
                }
            );
            if let Some(j) = c.teacher.energy_j_per_inference {
                let _ = writeln!(
                    md,
                    "Includes electricity at {} per kWh for the measured energy (teacher {:.3} mJ per inference).\n",
                    i.energy_price_per_kwh,
                    j * 1e3
                );
            }
            let _ = writeln!(md, "| | latency ms | cost / order | cost / year |\n|---|---:|---:|---:|");
            for (name, m) in [(&t.name, &c.teacher), (&s.name, &c.student)] {
                let _ =
                    writeln!(md, "| {name} | {:.3} | {:.6} | {:.2} |", m.latency_ms, m.cost_per_order, m.cost_per_year);
            }
            let _ = writeln!(
                md,
                "\nSaving **{:.6} per order**, **{:.2} per year** ({:.1} %).",
                c.saving_per_order,
                c.saving_per_year,
                c.saving_share * 100.0
            );
        }
        if let Some(v) = &self.verdict {
            let _ = writeln!(md, "\n## Readiness\n");
            let _ = writeln!(md, "| axis | check | value | threshold | |\n|---|---|---:|---:|---|");
            for axis in v.axes() {
                for c in &axis.checks {
                    let _ = writeln!(
                        md,
                        "| {} | {} | {:.4} | {} {:.4} | {} |",
                        axis.name,
                        c.name,
                        c.value,
                        c.comparison,
                        c.threshold,
                        if c.pass { "pass" } else { "FAIL" }
                    );
                }
            }
            if let Some(c) = &self.compute {
                let _ = writeln!(
                    md,
                    "\nAt the busiest hour the operation asks {:.1} inferences/s: the student needs {:.3} GFLOP/s of \
                     the {:.2} GFLOP/s this device sustained on the pair ({} core(s) × the better model's single-thread rate).",
                    c.peak_inferences_per_s,
                    c.required_gflops(&s.card),
                    c.ceiling_gflops,
                    self.environment.cores.unwrap_or(1)
                );
            }
        }
        md
    }
}

fn ratio(a: u64, b: u64) -> String {
    if b == 0 { "—".into() } else { format!("{:.3}", a as f64 / b as f64) }
}
