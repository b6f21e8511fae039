//! The page's state, the actions that change it, and the reducer (yew's function_todomvc
//! pattern). Derived numbers (cost, verdict) are computed from it in the view, not stored.

use std::collections::BTreeMap;
use std::rc::Rc;

use distillate_engine::bench::{AbSamples, Phase};
use distillate_engine::cost::CostInputs;
use distillate_engine::metrics::EvalSummary;
use distillate_engine::report::LatencyReport;
use distillate_engine::verdict::Thresholds;
use distillate_engine::{Manifest, ModelCard};
use yew::Reducible;

use crate::protocol::{Prediction, Response, WorkerInfo};

/// Which latency the cost panel uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencySource {
    /// The medians measured in this browser.
    Measured,
    /// Latencies typed in for the user's target device (teacher ms, student ms).
    Typed(f64, f64),
}

/// A running or finished benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchState {
    /// Phase reached.
    pub phase: Phase,
    /// Fraction done.
    pub progress: f64,
    /// Samples so far.
    pub samples: AbSamples,
}

/// A running or finished evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalState {
    /// Images done.
    pub done: usize,
    /// Images to do.
    pub total: usize,
    /// Numbers so far.
    pub summary: Option<EvalSummary>,
    /// Milliseconds since it started.
    pub elapsed_ms: f64,
}

impl EvalState {
    /// Finished.
    pub fn finished(&self) -> bool {
        self.done >= self.total
    }
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// Where the manifest came from (its directory resolves relative files).
    pub manifest_url: String,
    /// The loaded manifest.
    pub manifest: Option<Manifest>,
    /// Training model cards by model id (JSON, as written by distill/).
    pub training_cards: BTreeMap<String, serde_json::Value>,
    /// What is loading now, if anything.
    pub loading: Option<String>,
    /// Messages for the person, newest last.
    pub errors: Vec<String>,
    /// Worker facts.
    pub worker: Option<WorkerInfo>,
    /// Class names of the loaded pair.
    pub labels: Vec<String>,
    /// The person's own images and both models' answers, newest first.
    pub own_images: Vec<(String, Prediction, Prediction)>,
    /// Names of the loaded teacher and student.
    pub names: Option<(String, String)>,
    /// Cards of the loaded models (computed in the worker from the files).
    pub cards: Option<(ModelCard, ModelCard)>,
    /// Milliseconds the worker took to load both models.
    pub load_ms: Option<f64>,
    /// Sample images (gray, `width × height` each) for thumbnails.
    pub samples: Option<Rc<distillate_engine::idx::LabelledImages>>,
    /// Sample being shown.
    pub selected: usize,
    /// Predictions by sample index: (label, teacher, student).
    pub predictions: BTreeMap<usize, (usize, Prediction, Prediction)>,
    /// Benchmark.
    pub bench: Option<BenchState>,
    /// Evaluation.
    pub eval: Option<EvalState>,
    /// Cost inputs.
    pub cost: CostInputs,
    /// Latency used for cost.
    pub latency_source: Option<LatencySource>,
    /// Verdict thresholds.
    pub thresholds: Thresholds,
}

impl State {
    /// Latency statistics of a finished benchmark.
    pub fn latency(&self) -> Option<LatencyReport> {
        let bench = self.bench.as_ref().filter(|b| b.phase == Phase::Done)?;
        LatencyReport::from_samples(&bench.samples).ok()
    }

    /// Teacher and student latency for the cost panel, with where it came from.
    pub fn cost_latency(&self) -> Option<(f64, f64, LatencySource)> {
        match self.latency_source {
            Some(typed @ LatencySource::Typed(t, s)) => Some((t, s, typed)),
            _ => self.latency().map(|l| (l.teacher.median, l.student.median, LatencySource::Measured)),
        }
    }
}

/// Everything that changes the state.
#[derive(Debug, Clone)]
pub enum Action {
    /// A manifest (and its training cards) arrived.
    ManifestLoaded { url: String, manifest: Manifest, cards: BTreeMap<String, serde_json::Value> },
    /// The sample set was parsed on the main thread (for thumbnails).
    SamplesParsed(Rc<distillate_engine::idx::LabelledImages>),
    /// Something started loading.
    Loading(Option<String>),
    /// Something failed; the previous state stays.
    Error(String),
    /// Dismiss the messages.
    ClearErrors,
    /// The worker said something.
    Worker(Response),
    /// The person picked a sample.
    Select(usize),
    /// A benchmark or evaluation was requested.
    StartBench,
    /// Evaluation of `total` images was requested.
    StartEval(usize),
    /// Cost inputs edited.
    Cost(CostInputs),
    /// Latency source for cost.
    LatencySource(LatencySource),
    /// Thresholds edited.
    Thresholds(Thresholds),
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::ManifestLoaded { url, manifest, cards } => {
                s.cost = manifest.cost.clone();
                s.thresholds = manifest.thresholds.clone();
                s.manifest_url = url;
                s.manifest = Some(manifest);
                s.training_cards = cards;
            }
            Action::SamplesParsed(set) => {
                s.samples = Some(set);
                s.selected = 0;
                s.predictions.clear();
            }
            Action::Loading(what) => s.loading = what,
            Action::Error(message) => {
                s.loading = None;
                s.errors.push(message);
            }
            Action::ClearErrors => s.errors.clear(),
            Action::Select(i) => s.selected = i,
            Action::StartBench => s.bench = None,
            Action::StartEval(total) => {
                s.eval = Some(EvalState { done: 0, total, summary: None, elapsed_ms: 0.0 });
            }
            Action::Cost(c) => s.cost = c,
            Action::LatencySource(l) => s.latency_source = Some(l),
            Action::Thresholds(t) => s.thresholds = t,
            Action::Worker(response) => match response {
                Response::Ready(info) => s.worker = Some(info),
                Response::Loaded { names, labels, teacher, student, load_ms } => {
                    s.names = Some(names);
                    s.labels = labels;
                    s.own_images.clear();
                    s.cards = Some((teacher, student));
                    s.load_ms = Some(load_ms);
                    s.loading = None;
                    // New models: old measurements no longer describe them.
                    s.predictions.clear();
                    s.bench = None;
                    s.eval = None;
                }
                Response::SamplesLoaded { .. } => {}
                Response::ClassifiedImage { name, teacher, student } => {
                    s.own_images.insert(0, (name, teacher, student));
                }
                Response::Classified { index, label, teacher, student } => {
                    s.predictions.insert(index, (label, teacher, student));
                }
                Response::BenchProgress { phase, progress, samples } => {
                    s.bench = Some(BenchState { phase, progress, samples });
                }
                Response::EvalProgress { done, total, summary, elapsed_ms } => {
                    s.eval = Some(EvalState { done, total, summary, elapsed_ms });
                }
                Response::Error { context, message } => {
                    s.loading = None;
                    s.errors.push(format!("Error while {context}: {message}"));
                }
            },
        }
        Rc::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_keeps_the_loaded_models() {
        let card = distillate_engine::Model::load(&distillate_engine::onnx_build::RandomCnn::default().build())
            .expect("loads")
            .card()
            .clone();
        let state = Rc::new(State::default()).reduce(Action::Worker(Response::Loaded {
            names: ("T".into(), "S".into()),
            labels: vec!["a".into(), "b".into()],
            teacher: card.clone(),
            student: card.clone(),
            load_ms: 5.0,
        }));
        let state = state.reduce(Action::Worker(Response::Error {
            context: "loading the models".into(),
            message: "not an ONNX model".into(),
        }));
        assert!(state.cards.is_some());
        assert_eq!(state.errors, vec!["Error while loading the models: not an ONNX model".to_string()]);
    }
}
