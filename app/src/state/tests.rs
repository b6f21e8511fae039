//! The reducer's tests (state.rs holds the reducer).

use super::*;

use distillate_protocol::{Failure, Task};

#[test]
fn an_error_keeps_the_loaded_models() {
    let card = card();
    let state = loaded_pair(Rc::new(State::default()), 1, &card);
    let state = state.reduce(Action::Worker(Response::Failed(Failure::new(Task::LoadingModels, "not an ONNX model"))));
    assert!(state.cards.is_some());
    assert_eq!(state.errors, vec!["Error while loading the models: not an ONNX model".to_string()]);
}

fn card() -> ModelCard {
    distillate_engine::Model::load(&distillate_engine::onnx_build::RandomCnn::default().build())
        .expect("loads")
        .card()
        .clone()
}

fn loaded_pair(state: Rc<State>, id: u64, card: &ModelCard) -> Rc<State> {
    state
        .reduce(Action::PairRequested {
            id: PairId(id),
            names: ("T".into(), "S".into()),
            labels: vec!["a".into(), "b".into()],
        })
        .reduce(Action::Worker(Response::Loaded {
            pair: PairId(id),
            teacher: card.clone(),
            student: card.clone(),
            load_ms: 5.0,
        }))
}

fn prediction() -> Prediction {
    Prediction { top3: vec![(1, 0.9)], latency_ms: 0.5 }
}

fn with_samples(state: Rc<State>) -> Rc<State> {
    let set =
        distillate_engine::idx::LabelledImages { width: 1, height: 1, pixels: vec![0, 0, 0], labels: vec![0, 1, 1] };
    state.reduce(Action::SamplesParsed(Rc::new(set)))
}

/// The bug this guards: effects keyed on the cards never fired for a second pair with
/// the same cards. The pair number tells the two apart, and an answer about the old
/// pair that arrives late is dropped.
#[test]
fn the_same_pair_loaded_twice_is_a_new_pair_and_old_answers_are_dropped() {
    let card = card();
    let state = loaded_pair(with_samples(Rc::new(State::default())), 1, &card);
    let classified = |pair: u64, index: usize| {
        Action::Worker(Response::Classified { pair: PairId(pair), index, teacher: prediction(), student: prediction() })
    };
    let state = state.reduce(classified(1, 2)).reduce(Action::StartEval).reduce(eval(1, 5, 10));
    assert_eq!(state.predictions.get(&2).map(|p| p.0), Some(1), "label from the page's samples");
    let state = loaded_pair(state, 2, &card);
    assert_eq!(state.pair, Some(PairId(2)));
    assert!(state.predictions.is_empty() && state.eval.is_none(), "measurements of pair 1 are gone");
    let state = state.reduce(classified(1, 0)).reduce(eval(1, 10, 10));
    assert!(state.predictions.is_empty(), "a late answer about pair 1 is not pair 2's");
    assert!(state.eval.is_none(), "nor is pair 1's evaluation");
    let state = state.reduce(classified(2, 0));
    assert_eq!(state.predictions.len(), 1);
}

#[test]
fn a_restarted_worker_loading_the_same_pair_keeps_its_measurements() {
    let card = card();
    let state = loaded_pair(with_samples(Rc::new(State::default())), 1, &card).reduce(eval(1, 3, 3));
    let state = state.reduce(Action::WorkerCrashed("boom".into())).reduce(Action::Worker(Response::Loaded {
        pair: PairId(1),
        teacher: card.clone(),
        student: card,
        load_ms: 4.0,
    }));
    assert_eq!((state.pair, state.load_ms), (Some(PairId(1)), Some(4.0)));
    assert!(state.eval.is_some(), "a finished evaluation still describes the same models");
}

fn manifest() -> Manifest {
    Manifest::parse(
        br#"{"title": "T", "teacher": "t", "student": "s", "labels": ["a", "b"],
            "models": [{"id": "t", "name": "T", "file": "t.onnx"}, {"id": "s", "name": "S", "file": "s.onnx"}]}"#,
    )
    .expect("parses")
}

fn loaded(link: &str) -> Rc<State> {
    let link = ShareState::from_query(link).expect("parses");
    Rc::new(State::default())
        .reduce(Action::LinkOpened(link))
        .reduce(Action::ManifestLoaded { url: "http://x/demo.json".into(), manifest: manifest() })
}

#[test]
fn a_link_restores_settings_over_the_manifest() {
    let state = loaded("orders_per_day=500&min_agreement=0.9&teacher_ms=12&student_ms=4&view=present&theme=dark");
    assert_eq!(state.cost.orders_per_day, 500.0);
    assert_eq!(state.thresholds.min_agreement, 0.9);
    assert_eq!(state.latency_source, Some(LatencySource::Typed(12.0, 4.0)));
    assert_eq!((state.view, state.theme), (View::Present, Some(Theme::Dark)));
    assert!(state.from_link() && state.errors.is_empty());
    // The address bar then says the same thing back.
    assert_eq!(
        ShareState::from_query(&state.share_state().to_query()).expect("parses"),
        ShareState::from_query(
            "orders_per_day=500&min_agreement=0.9&teacher_ms=12&student_ms=4&view=present&theme=dark"
        )
        .expect("parses")
    );
}

#[test]
fn a_bad_link_setting_is_named_and_the_manifest_values_stay() {
    let state = loaded("orders_per_day=-1");
    assert_eq!(state.cost, manifest().cost);
    assert!(state.errors[0].contains("cost inputs were not used"), "{:?}", state.errors);
}

#[test]
fn a_worker_crash_starts_a_new_worker_and_drops_only_the_cut_short_benchmark() {
    let state = loaded_pair(with_samples(Rc::new(State::default())), 1, &card()).reduce(bench(Phase::Measure));
    let state = state.reduce(Action::StartEval).reduce(eval(1, 40, 100)).reduce(Action::WorkerCrashed("boom".into()));
    assert_eq!(state.worker_generation, 1);
    assert!(state.bench.is_none(), "the benchmark ran in the crashed worker");
    assert_eq!(state.eval.as_ref().map(|e| e.done), Some(40), "the evaluation runs in workers of its own");
    assert!(state.errors[0].contains("boom") && state.errors[0].contains("new one was started"));
}

/// Progress of pair `pair`'s evaluation: `done` of `total` images, with numbers.
fn eval(pair: u64, done: usize, total: usize) -> Action {
    let mut numbers = distillate_engine::metrics::Evaluation::new(2);
    for _ in 0..done {
        numbers.add(&[1.0, 0.0], &[1.0, 0.0], 0).expect("adds");
    }
    let summary = numbers.summary().ok();
    Action::Eval { pair: PairId(pair), update: Ok(EvalState { done, total, summary, elapsed_ms: 1.0, workers: 2 }) }
}

fn bench(phase: Phase) -> Action {
    Action::Worker(Response::BenchProgress {
        phase,
        progress: 0.5,
        samples: crate::test_support::ab_samples(2.0, 1.0, 1),
    })
}

#[test]
fn a_stopped_evaluation_stands_for_the_images_it_did() {
    let state = loaded_pair(with_samples(Rc::new(State::default())), 1, &card());
    let stopped = state.clone().reduce(eval(1, 0, 100)).reduce(Action::StopEval);
    assert!(stopped.eval.is_none(), "nothing was evaluated");
    let stopped = state.reduce(eval(1, 30, 100)).reduce(Action::StopEval);
    let e = stopped.eval.as_ref().expect("kept");
    assert!(e.finished() && (e.done, e.total) == (30, 30), "{e:?}");
    assert_eq!(e.summary.as_ref().map(|s| s.images), Some(30));
}

#[test]
fn a_failed_evaluation_is_named_and_cleared() {
    let state = loaded_pair(with_samples(Rc::new(State::default())), 1, &card()).reduce(eval(1, 30, 100));
    let state = state.reduce(Action::Eval { pair: PairId(1), update: Err("a worker said no".into()) });
    assert!(state.eval.is_none());
    assert!(state.errors.iter().any(|e| e.contains("a worker said no")), "{:?}", state.errors);
}

#[test]
fn a_plain_page_has_a_clean_address() {
    let state = loaded("");
    assert_eq!(state.share_state().to_query(), "");
    assert!(!state.from_link());
}

fn device_report(card: &ModelCard, board: &str, teacher_ms: f64, student_ms: f64) -> Rc<[u8]> {
    let mut r = Report::new(
        "T",
        "2026-12-02T06:00:00Z",
        Environment {
            target: "aarch64-linux (native)".into(),
            host: "Arm Cortex-A76".into(),
            board: Some(board.into()),
            ..Default::default()
        },
        ModelReport { name: "T".into(), card: card.clone() },
        ModelReport { name: "S".into(), card: card.clone() },
        vec!["a".into(), "b".into()],
    );
    let samples = crate::test_support::ab_samples(teacher_ms, student_ms, 20);
    r.latency = Some(LatencyReport::from_samples(&samples).expect("stats"));
    Rc::from(r.to_json().into_bytes())
}

#[test]
fn device_reports_of_the_loaded_files_stand_beside_the_browser_and_price_the_cost() {
    let card = card();
    let state = loaded_pair(Rc::new(State::default()), 1, &card);
    let state = state.reduce(Action::DeviceReports(vec![
        ("pi.json".into(), device_report(&card, "Raspberry Pi 5", 4.0, 1.0)),
        ("graviton.json".into(), device_report(&card, "m7g.large", 2.0, 0.5)),
    ]));
    assert!(state.errors.is_empty(), "{:?}", state.errors);
    assert_eq!(state.device_names(), ["Raspberry Pi 5 (Arm Cortex-A76)", "m7g.large (Arm Cortex-A76)"]);
    let state = state.reduce(Action::LatencySource(LatencySource::Device(1)));
    let (t, s, source) = state.cost_latency().expect("a device's latency");
    assert_eq!((t, s), (2.0, 0.5));
    assert_eq!(source.describe(&state.device_names()), "measured on m7g.large (Arm Cortex-A76) (its own report)");
    let report = state.report(Environment::default(), "now").expect("report");
    assert_eq!(report.devices.len(), 2);
    assert_eq!(report.cost.as_ref().map(|c| c.teacher.latency_ms), Some(2.0));
    // Removing the first keeps the cost on the same device, which moves up.
    let state = state.reduce(Action::RemoveDevice(0));
    assert_eq!(state.latency_source, Some(LatencySource::Device(0)));
    assert_eq!(state.cost_latency().map(|(t, _, _)| t), Some(2.0));
    let state = state.reduce(Action::RemoveDevice(0));
    assert_eq!((state.devices.len(), state.latency_source), (0, None));
}

#[test]
fn a_report_of_other_files_or_broken_bytes_is_refused_and_changes_nothing() {
    let card = card();
    let state = loaded_pair(Rc::new(State::default()), 1, &card)
        .reduce(Action::DeviceReports(vec![("pi.json".into(), device_report(&card, "Pi", 4.0, 1.0))]));
    let mut other = card.clone();
    other.sha256 = Some("0".repeat(64));
    let before = state.devices.clone();
    let state = state.reduce(Action::DeviceReports(vec![
        ("other.json".into(), device_report(&other, "Pi", 4.0, 1.0)),
        ("broken.json".into(), Rc::from(&b"{\"version\": 1"[..])),
    ]));
    assert_eq!(state.devices, before);
    assert_eq!(state.errors.len(), 2, "{:?}", state.errors);
    assert!(state.errors[0].contains("other.json measured another teacher"), "{:?}", state.errors);
    assert!(state.errors[1].contains("broken.json: "), "{:?}", state.errors);
}

#[test]
fn another_pair_sets_its_predecessors_device_reports_aside() {
    let card = card();
    let state = loaded_pair(Rc::new(State::default()), 1, &card)
        .reduce(Action::DeviceReports(vec![("pi.json".into(), device_report(&card, "Pi", 4.0, 1.0))]))
        .reduce(Action::LatencySource(LatencySource::Device(0)));
    // The same files again (the demo loaded twice) keep their reports.
    let state = loaded_pair(state, 2, &card);
    assert_eq!(state.devices.len(), 1);
    let mut other = card.clone();
    other.sha256 = Some("0".repeat(64));
    let state = loaded_pair(state, 3, &other);
    assert!(state.devices.is_empty() && state.latency_source.is_none());
    assert!(state.errors[0].contains("set aside") && state.errors[0].contains("pi.json"), "{:?}", state.errors);
    // Without a pair there is nothing to match a report to.
    let state = Rc::new(State::default())
        .reduce(Action::DeviceReports(vec![("pi.json".into(), device_report(&card, "Pi", 4.0, 1.0))]));
    assert!(state.devices.is_empty() && state.errors[0].contains("Load the models first"));
}

#[test]
fn a_device_that_measured_energy_adds_it_to_the_cost_it_prices() {
    let card = card();
    let mut report: Report = serde_json::from_slice(&device_report(&card, "Pi", 4.0, 1.0)).expect("json");
    report.energy = Some(distillate_engine::energy::EnergyReport {
        source: "intel-rapl:0 (package-0)".into(),
        idle_watts: 3.0,
        teacher_j: 2e-3,
        student_j: 0.5e-3,
        seconds_per_model: 2.0,
    });
    let state = loaded_pair(Rc::new(State::default()), 1, &card)
        .reduce(Action::DeviceReports(vec![("pi.json".into(), Rc::from(report.to_json().into_bytes()))]));
    assert_eq!(state.cost_energy(), None, "this browser's latency has no energy");
    let state = state.reduce(Action::LatencySource(LatencySource::Device(0)));
    assert_eq!(state.cost_energy(), Some((2e-3, 0.5e-3)));
    let exported = state.report(Environment::default(), "now").expect("report");
    let cost = exported.cost.expect("cost");
    assert_eq!(cost.student.energy_j_per_inference, Some(0.5e-3));
    assert!(cost.student.energy_cost_per_order > 0.0);
}

/// The worker runs one job at a time: a benchmark started during an evaluation ends it, and
/// the page must not show the cut-short one as running forever.
#[test]
fn a_new_job_replaces_the_running_one() {
    let state = loaded_pair(with_samples(Rc::new(State::default())), 1, &card()).reduce(eval(1, 10, 100));
    let state = state.reduce(Action::StartBench);
    assert!(state.eval.is_none(), "the evaluation was cut short");
    let state = state.reduce(bench(Phase::Measure)).reduce(Action::StartEval);
    assert!(state.bench.is_none(), "the benchmark was cut short");
    let state = state.reduce(eval(1, 10, 10)).reduce(Action::StartBench);
    assert!(state.eval.as_ref().is_some_and(EvalState::finished), "a finished evaluation stays");
}

#[test]
fn ladder_timings_of_a_manifest_no_longer_shown_are_dropped() {
    use crate::rungs::RungStatus;
    let times = |ms: f64| RungStatus::Done([("s".to_string(), ms)].into_iter().collect());
    let state = loaded("").reduce(Action::Rungs { manifest_url: "http://x/demo.json".into(), status: times(1.0) });
    assert_eq!(state.rungs, times(1.0), "the shown manifest's timings are kept");
    // The visitor loads another manifest while the first ladder is still being timed.
    let state = state
        .reduce(Action::ManifestLoaded { url: "http://x/other.json".into(), manifest: manifest() })
        .reduce(Action::Rungs { manifest_url: "http://x/demo.json".into(), status: times(2.0) });
    assert_eq!(state.rungs, RungStatus::Idle, "a late report about the old ladder is dropped");
    let state = state.reduce(Action::Rungs { manifest_url: "http://x/other.json".into(), status: times(3.0) });
    assert_eq!(state.rungs, times(3.0));
}
