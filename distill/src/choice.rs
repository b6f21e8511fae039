//! Which student ships: judged by the page's own readiness verdict ([`verdict::judge`] at
//! the page's default thresholds), on validation images — never on the test set, whose
//! numbers the cards report.

use distillate_engine::card::ModelCard;
use distillate_engine::metrics::EvalSummary;
use distillate_engine::verdict::{self, Thresholds, Verdict, VerdictInputs};
use serde::{Deserialize, Serialize};

use crate::config::PipelineConfig;
use distillate_engine::training::TrainingCard;

/// One student as the choice sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Its card (id, parameters, native latency).
    pub card: &'a TrainingCard,
    /// What the engine reads from its ONNX (the verdict's size checks).
    pub model: &'a ModelCard,
    /// Teacher and student on the validation images, both through tract.
    pub val: &'a EvalSummary,
}

/// A student's verdict on validation images, and whether it met the hard limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentVerdict {
    /// Student id.
    pub id: String,
    /// Within the parameter ceiling and the speed-up floor (where any student is).
    pub eligible: bool,
    /// The verdict's answer.
    pub ready: bool,
    /// Each failed check: axis, check, value and threshold.
    pub failed: Vec<String>,
    /// The whole verdict.
    pub verdict: Verdict,
}

/// The chosen student, the rule's words, and every student's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Index into the candidates.
    pub index: usize,
    /// Why, with the numbers.
    pub reason: String,
    /// Every candidate's verdict, in ladder order.
    pub verdicts: Vec<StudentVerdict>,
}

/// A hard limit a student must meet to be chosen.
type Rule<'r> = &'r dyn Fn(&Candidate<'_>) -> bool;

/// Among students within the parameter ceiling and at least `min_speedup` × faster than
/// the teacher (a limit no student meets is dropped, and the reason says so), the fastest
/// whose verdict is *ready*; if none is, the closest: fewest failed axes, then the smallest
/// sum of relative shortfalls.
pub fn choose(
    teacher: &ModelCard,
    teacher_ms: f64,
    students: &[Candidate<'_>],
    config: &PipelineConfig,
    thresholds: &Thresholds,
) -> anyhow::Result<Choice> {
    anyhow::ensure!(!students.is_empty(), "no students to choose from");
    let speedup = |c: &Candidate<'_>| teacher_ms / c.card.native_latency_ms;
    let mut limits = Vec::new();
    let mut dropped = Vec::new();
    let mut eligible = vec![true; students.len()];
    let rules: [(&str, Rule<'_>); 2] = [
        (&format!("≤ {} parameters", config.max_student_params), &|c| c.card.params <= config.max_student_params),
        (&format!("≥ {:.1}× faster than the teacher", config.min_speedup), &|c| speedup(c) >= config.min_speedup),
    ];
    for (words, rule) in rules {
        let kept: Vec<bool> = students.iter().zip(&eligible).map(|(c, &e)| e && rule(c)).collect();
        if kept.iter().any(|k| *k) {
            eligible = kept;
            limits.push(words.to_string());
        } else {
            dropped.push(format!("no student has {words}"));
        }
    }
    let mut verdicts = Vec::new();
    for (c, &eligible) in students.iter().zip(&eligible) {
        let verdict = verdict::judge(
            &VerdictInputs {
                teacher,
                student: c.model,
                teacher_latency_ms: teacher_ms,
                student_latency_ms: c.card.native_latency_ms,
                teacher_accuracy: c.val.teacher_accuracy,
                student_accuracy: c.val.student_accuracy,
                agreement: c.val.agreement,
                mean_kl: c.val.mean_kl,
                // The training machine is not the target device: no ceiling to check.
                compute: None,
            },
            thresholds,
        )?;
        let failed = verdict
            .axes()
            .iter()
            .flat_map(|a| {
                a.checks
                    .iter()
                    .filter(|k| !k.pass)
                    .map(|k| format!("{}: {} {:.4} (needs {} {})", a.name, k.name, k.value, k.comparison, k.threshold))
            })
            .collect();
        verdicts.push(StudentVerdict { id: c.card.id.clone(), eligible, ready: verdict.ready, failed, verdict });
    }
    let limits = match (limits.is_empty(), dropped.is_empty()) {
        (false, true) => format!("with {}", limits.join(" and ")),
        (false, false) => format!("with {} ({}, so that was not required)", limits.join(" and "), dropped.join("; ")),
        (true, _) => format!("({}, so nothing was required)", dropped.join("; ")),
    };
    let describe = |i: usize| {
        let c = &students[i];
        format!(
            "{}: {} parameters, {:.2}× faster natively, validation accuracy {:.2} % (teacher {:.2} %), agreement {:.2} %, mean KL {:.3}",
            c.card.id,
            c.card.params,
            speedup(c),
            c.val.student_accuracy * 100.0,
            c.val.teacher_accuracy * 100.0,
            c.val.agreement * 100.0,
            c.val.mean_kl
        )
    };
    let pool: Vec<usize> = (0..students.len()).filter(|&i| eligible[i]).collect();
    let ready = pool.iter().copied().filter(|&i| verdicts[i].ready);
    if let Some(i) =
        ready.min_by(|&a, &b| students[a].card.native_latency_ms.total_cmp(&students[b].card.native_latency_ms))
    {
        let reason = format!(
            "fastest student {limits} that passes all three readiness axes on the validation images: {}",
            describe(i)
        );
        return Ok(Choice { index: i, reason, verdicts });
    }
    let distance = |i: usize| {
        let v = &verdicts[i].verdict;
        let axes = v.axes().iter().filter(|a| !a.pass).count();
        let shortfall: f64 = v
            .axes()
            .iter()
            .flat_map(|a| a.checks.iter().filter(|k| !k.pass))
            .map(|k| (k.value - k.threshold).abs() / k.threshold.abs().max(1e-9))
            .sum();
        (axes, shortfall)
    };
    let i = pool
        .iter()
        .copied()
        .min_by(|&a, &b| {
            let (da, db) = (distance(a), distance(b));
            da.0.cmp(&db.0).then(da.1.total_cmp(&db.1))
        })
        .unwrap_or(0);
    let reason = format!(
        "no student {limits} passes all three readiness axes on the validation images; the closest, {}, fails {}",
        describe(i),
        verdicts[i].failed.join("; ")
    );
    Ok(Choice { index: i, reason, verdicts })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use distillate_engine::card::BatchDim;
    use distillate_engine::metrics::ConfusionMatrix;

    use super::*;
    use crate::config::TrainConfig;
    use crate::model::Arch;
    use crate::train::{StopReason, TrainLog};
    use distillate_engine::training::Role;

    fn model(params: u64) -> ModelCard {
        ModelCard {
            channels: 1,
            height: 28,
            width: 28,
            batch: BatchDim::Fixed(1),
            classes: 10,
            params,
            macs: params * 50,
            flops: params * 100,
            bytes: params * 4,
            operators: BTreeMap::new(),
            producer: String::new(),
            channels_last: false,
            output_probabilities: false,
            sha256: None,
        }
    }

    fn card(id: &str, params: u64, native_latency_ms: f64) -> TrainingCard {
        TrainingCard {
            id: id.into(),
            name: id.into(),
            role: Role::Student,
            architecture: String::new(),
            arch: Arch { stages: vec![vec![1]], classes: 10 },
            params,
            macs: 0,
            bytes: 0,
            test_accuracy: 0.0,
            test_images: 0,
            val_accuracy: 0.0,
            teacher_agreement: None,
            teacher_mean_kl: None,
            export_max_abs_diff: 0.0,
            native_latency_ms,
            training: TrainLog {
                epochs: vec![],
                best_epoch: 1,
                stop_reason: StopReason::MaxEpochs,
                wall_seconds: 0.0,
                train_images_per_second: 0.0,
                resumed_after_epochs: vec![],
            },
            loss: String::new(),
            kd_alpha: None,
            kd_temperature: None,
            config: TrainConfig::default(),
            seed: 0,
            stage: None,
            quantization: None,
            members: Vec::new(),
        }
    }

    fn val(student_accuracy: f64, agreement: f64) -> EvalSummary {
        EvalSummary {
            images: 5000,
            teacher_accuracy: 0.945,
            student_accuracy,
            delta_points: (student_accuracy - 0.945) * 100.0,
            agreement,
            mean_kl: 0.05,
            disagreements_by_teacher_class: vec![],
            top_disagreements: vec![],
            teacher_confusion: ConfusionMatrix::new(10),
            student_confusion: ConfusionMatrix::new(10),
            teacher_vs_student: ConfusionMatrix::new(10),
        }
    }

    fn pick(students: &[(TrainingCard, ModelCard, EvalSummary)], teacher_ms: f64) -> Choice {
        let candidates: Vec<Candidate<'_>> =
            students.iter().map(|(card, model, val)| Candidate { card, model, val }).collect();
        choose(&model(300_000), teacher_ms, &candidates, &PipelineConfig::default(), &Thresholds::default())
            .expect("judges")
    }

    #[test]
    fn the_fastest_student_that_passes_the_verdict_is_chosen() {
        let students = [
            (card("tiny", 9_000, 0.05), model(9_000), val(0.90, 0.93)),
            (card("fast", 60_000, 0.10), model(60_000), val(0.939, 0.975)),
            (card("slow", 90_000, 0.15), model(90_000), val(0.942, 0.98)),
        ];
        let choice = pick(&students, 0.6);
        assert_eq!(choice.index, 1, "{}", choice.reason);
        assert!(choice.reason.starts_with("fastest student"), "{}", choice.reason);
        assert!(!choice.verdicts[0].ready && choice.verdicts[1].ready && choice.verdicts[2].ready);
    }

    #[test]
    fn without_a_pass_the_closest_is_chosen_and_its_failures_named() {
        let students = [
            // Fails two axes.
            (card("a", 9_000, 0.05), model(9_000), val(0.90, 0.93)),
            // Fails only Data Fidelity, narrowly.
            (card("b", 80_000, 0.12), model(80_000), val(0.938, 0.96)),
        ];
        let choice = pick(&students, 0.6);
        assert_eq!(choice.index, 1, "{}", choice.reason);
        assert!(choice.reason.contains("Data Fidelity: top-1 agreement 0.9600 (needs ≥ 0.97)"), "{}", choice.reason);
        assert_eq!(choice.verdicts[0].failed.len(), 2, "{:?}", choice.verdicts[0].failed);
    }

    #[test]
    fn a_student_slower_than_the_speedup_floor_is_not_chosen() {
        let students = [
            (card("quick", 80_000, 0.15), model(80_000), val(0.938, 0.972)),
            // Passes the verdict, but only 2.4× faster than the teacher.
            (card("sluggish", 80_000, 0.25), model(80_000), val(0.944, 0.99)),
        ];
        let choice = pick(&students, 0.6);
        assert_eq!(choice.index, 0, "{}", choice.reason);
        assert!(!choice.verdicts[1].eligible);
        assert!(choice.reason.contains("≥ 3.0× faster"), "{}", choice.reason);
    }

    #[test]
    fn a_limit_no_student_meets_is_dropped_and_said() {
        let students = [(card("a", 200_000, 0.3), model(200_000), val(0.94, 0.98))];
        let choice = pick(&students, 0.6);
        assert_eq!(choice.index, 0);
        assert!(choice.reason.contains("no student has ≤ 100000 parameters"), "{}", choice.reason);
        assert!(choice.reason.contains("no student has ≥ 3.0× faster"), "{}", choice.reason);
    }
}
