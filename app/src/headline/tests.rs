//! The headline's sources: model cards first, measured figures as they arrive.

use std::collections::BTreeMap;
use std::rc::Rc;

use distillate_engine::bench::Phase;
use distillate_engine::manifest::Manifest;
use distillate_engine::metrics::Evaluation;
use distillate_engine::training::TrainingCard;

use super::*;
use crate::state::{BenchState, EvalState};
use crate::test_support::ab_samples;

fn training(id: &str, accuracy: f64, latency_ms: f64, agreement: Option<f64>) -> Rc<TrainingCard> {
    // A real card, as distill/ writes them, with the figures under test replaced.
    let mut card = TrainingCard::parse(include_bytes!("../../../static/models/teacher.card.json")).expect("parses");
    card.id = id.into();
    card.test_accuracy = accuracy;
    card.test_images = 10_000;
    card.native_latency_ms = latency_ms;
    card.teacher_agreement = agreement;
    card.teacher_mean_kl = agreement.map(|_| 0.03);
    Rc::new(card)
}

/// The manifest's pair loaded, with cards saying: teacher 94 % at 2 ms, student 93.5 % at
/// 0.5 ms agreeing on `agreement` of images.
fn bundled(agreement: f64) -> State {
    let manifest = Manifest::parse(
        br#"{"title": "T", "teacher": "t", "student": "s", "labels": ["a", "b"],
            "models": [{"id": "t", "name": "Teacher", "file": "t.onnx"}, {"id": "s", "name": "Student", "file": "s.onnx"}]}"#,
    )
    .expect("parses");
    let model =
        distillate_engine::Model::load(&distillate_engine::onnx_build::RandomCnn::default().build()).expect("loads");
    let (mut teacher, student) = (model.card().clone(), model.card().clone());
    teacher.params *= 4;
    teacher.macs *= 4;
    teacher.bytes *= 4;
    State {
        training_cards: BTreeMap::from([
            ("t".to_string(), training("t", 0.94, 2.0, None)),
            ("s".to_string(), training("s", 0.935, 0.5, Some(agreement))),
        ]),
        manifest: Some(manifest),
        names: Some(("Teacher".into(), "Student".into())),
        cards: Some((teacher, student)),
        ..State::default()
    }
}

fn benchmarked(mut state: State, teacher_ms: f64, student_ms: f64) -> State {
    let samples = ab_samples(teacher_ms, student_ms, 9);
    state.bench = Some(BenchState { phase: Phase::Done, progress: 1.0, samples });
    state
}

/// An evaluation of 4 images: the teacher right on all, the student on 3, agreeing on 3.
fn evaluated(mut state: State) -> State {
    let mut eval = Evaluation::new(2);
    for (student, label) in [([0.0f32, 5.0], 1), ([0.0, 5.0], 1), ([0.0, 5.0], 1), ([5.0, 0.0], 1)] {
        eval.add(&[0.0, 5.0], &student, label).expect("adds");
    }
    state.eval = Some(EvalState { done: 4, total: 4, summary: eval.summary().ok(), elapsed_ms: 1.0, workers: 1 });
    state
}

#[test]
fn the_bundled_pair_shows_its_model_card_figures_before_anything_is_measured() {
    let h = bundled(0.975).headline();
    let latency = h.latency.expect("card latency");
    assert!(!latency.measured && latency.source.contains("model card"));
    assert_eq!((latency.value.speedup(), latency.value.cut()), (4.0, 0.75));
    let accuracy = h.accuracy.expect("card accuracy");
    assert!(!accuracy.measured && accuracy.source.contains("10,000 test images"), "{}", accuracy.source);
    assert!((accuracy.value.delta_points() + 0.5).abs() < 1e-9);
    let verdict = h.verdict.expect("card verdict");
    assert!(verdict.value.ready && !verdict.measured);
    let saving = h.saving.expect("saving at card latency");
    assert!(saving.value.per_order > 0.0 && !saving.measured);
}

#[test]
fn the_card_verdict_is_judged_by_the_page_thresholds() {
    let h = bundled(0.95).headline();
    let verdict = h.verdict.expect("card verdict").value;
    assert!(!verdict.ready && !verdict.data_fidelity.pass && verdict.accuracy_tolerance.pass);
}

#[test]
fn measured_figures_replace_the_cards_as_they_arrive() {
    let h = benchmarked(bundled(0.975), 3.0, 1.0).headline();
    let latency = h.latency.expect("measured latency");
    assert!(latency.measured && latency.value.speedup() == 3.0);
    assert!(!h.accuracy.as_ref().expect("card accuracy").measured, "no evaluation yet");
    assert!(!h.verdict.as_ref().expect("card verdict").measured, "half measured is not a measured verdict");
    assert!(h.saving.as_ref().expect("saving").measured);

    let h = evaluated(benchmarked(bundled(0.975), 3.0, 1.0)).headline();
    let accuracy = h.accuracy.expect("measured accuracy");
    assert!(accuracy.measured && accuracy.source.contains("4 images"), "{}", accuracy.source);
    assert_eq!((accuracy.value.teacher, accuracy.value.student, accuracy.value.agreement), (1.0, 0.75, 0.75));
    let verdict = h.verdict.expect("measured verdict");
    assert!(verdict.measured && !verdict.value.ready && !verdict.value.data_fidelity.pass);
}

#[test]
fn a_pair_the_person_brought_has_no_card_figures() {
    let mut state = bundled(0.975);
    state.names = Some(("mine.onnx".into(), "theirs.onnx".into()));
    assert_eq!(state.headline(), Headline::default());
    let h = benchmarked(state, 2.0, 1.0).headline();
    assert!(h.latency.expect("measured").measured && h.accuracy.is_none() && h.verdict.is_none());
}

#[test]
fn the_saving_follows_the_latency_the_cost_panel_uses() {
    let mut state = benchmarked(bundled(0.975), 3.0, 1.0);
    state.latency_source = Some(LatencySource::Typed(100.0, 40.0));
    let saving = state.headline().saving.expect("saving");
    assert!(!saving.measured && saving.source.contains("typed in"), "{}", saving.source);
    let at_typed = compare(&state.cost, 100.0, 40.0).expect("prices").saving_per_order;
    assert_eq!(saving.value.per_order, at_typed);
}
