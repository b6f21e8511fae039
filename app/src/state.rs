//! The page's state, the actions that change it, and the reducer (yew's function_todomvc
//! pattern). Derived numbers (cost, verdict) are computed from it in the view, not stored.

use std::collections::BTreeMap;
use std::rc::Rc;

use distillate_engine::bench::{AbSamples, Phase};
use distillate_engine::cost::CostInputs;
use distillate_engine::metrics::EvalSummary;
use distillate_engine::report::{Environment, LatencyReport, ModelReport, Report};
use distillate_engine::share::{ShareState, Theme, View};
use distillate_engine::training::TrainingCard;
use distillate_engine::verdict::{Thresholds, Verdict};
use distillate_engine::{Manifest, ModelCard};
use yew::Reducible;

use crate::timeline::{LoadTimeline, Milestone};
use distillate_engine::devices::DeviceFigures;
use distillate_protocol::{PairId, Prediction, Response, WorkerInfo};

/// Which latency the cost panel uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencySource {
    /// The medians measured in this browser.
    Measured,
    /// Latencies typed in for the user's target device (teacher ms, student ms).
    Typed(f64, f64),
    /// The medians of the `n`th imported device report.
    Device(usize),
}

impl LatencySource {
    /// Where the latency came from, as the page says it (`devices`: the imported devices'
    /// names, in order).
    pub fn describe(self, devices: &[String]) -> String {
        match self {
            LatencySource::Measured => "measured in this browser".into(),
            LatencySource::Typed(..) => "typed in for the target device".into(),
            LatencySource::Device(i) => match devices.get(i) {
                Some(name) => format!("measured on {name} (its own report)"),
                None => "of a device report no longer loaded".into(),
            },
        }
    }
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
    /// Workers it is split between (0 before they start).
    pub workers: usize,
}

impl EvalState {
    /// `total` images asked for, the workers not started yet.
    pub fn waiting(total: usize) -> EvalState {
        EvalState { done: 0, total, summary: None, elapsed_ms: 0.0, workers: 0 }
    }

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
    /// Training model cards by model id (as written by distill/).
    pub training_cards: BTreeMap<String, Rc<TrainingCard>>,
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
    /// The pair the worker holds (the number the page gave it).
    pub pair: Option<PairId>,
    /// Pairs asked for and not loaded yet: their names and class names.
    pub requested: BTreeMap<PairId, ((String, String), Vec<String>)>,
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
    /// A benchmark was cut short by an evaluation: its progress still in flight from the
    /// worker is dropped until the next benchmark starts.
    pub bench_cut: bool,
    /// Evaluation.
    pub eval: Option<EvalState>,
    /// Cost inputs.
    pub cost: CostInputs,
    /// Latency used for cost.
    pub latency_source: Option<LatencySource>,
    /// Verdict thresholds.
    pub thresholds: Thresholds,
    /// The link the page was opened with; its settings apply once the manifest is in.
    pub link: ShareState,
    /// Layout shown.
    pub view: View,
    /// Theme chosen; `None` follows the system.
    pub theme: Option<Theme>,
    /// Slide shown in presentation mode.
    pub slide: usize,
    /// A short confirmation (link copied, file saved).
    pub notice: Option<String>,
    /// Workers started so far minus one: bumped when a worker crashes, which starts a new one.
    pub worker_generation: usize,
    /// The throughput pool (throughput mode).
    pub throughput: ThroughputStatus,
    /// When the first load reached each milestone.
    pub timeline: LoadTimeline,
    /// Other devices' reports of the loaded pair (from `distillate bench`), in the order added.
    pub devices: Vec<DeviceFigures>,
    /// What the page measured by itself, for which pair.
    pub auto: crate::auto_measure::AutoMeasured,
    /// The ladder's models timed in this browser.
    pub rungs: crate::rungs::RungStatus,
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
            Some(device @ LatencySource::Device(i)) if i < self.devices.len() => {
                let l = &self.devices[i].latency;
                Some((l.teacher.median, l.student.median, device))
            }
            _ => self.latency().map(|l| (l.teacher.median, l.student.median, LatencySource::Measured)),
        }
    }

    /// Energy per inference (teacher J, student J) for the cost, where the latency in use
    /// comes from a device that measured it.
    pub fn cost_energy(&self) -> Option<(f64, f64)> {
        match self.latency_source {
            Some(LatencySource::Device(i)) => self.devices.get(i)?.energy.as_ref().map(|e| (e.teacher_j, e.student_j)),
            _ => None,
        }
    }

    /// The imported devices' names, in order.
    pub fn device_names(&self) -> Vec<String> {
        self.devices.iter().map(DeviceFigures::name).collect()
    }
}

impl State {
    /// Opened from a link carrying settings: say that latency is measured again here.
    pub fn from_link(&self) -> bool {
        self.link.has_settings()
    }

    /// What the address bar should say: the link's manifest, the settings that differ
    /// from the manifest's, the view and the theme.
    pub fn share_state(&self) -> ShareState {
        let typed = match self.latency_source {
            Some(LatencySource::Typed(t, s)) => Some((t, s)),
            _ => None,
        };
        let link = ShareState::capture(
            self.link.manifest.as_deref(),
            &self.cost,
            &self.thresholds,
            typed,
            self.view,
            self.theme,
        );
        match &self.manifest {
            Some(m) => link.without_defaults(&m.cost, &m.thresholds),
            None => link,
        }
    }

    /// The run as the engine's report (the CLI writes the same type): cards always,
    /// latency and evaluation once measured, cost and verdict derived from them.
    pub fn report(&self, environment: Environment, created: &str) -> Result<Report, String> {
        let mut report = self.measured(environment, created)?;
        report.derive(&self.cost, &self.thresholds).map_err(|e| e.to_string())?;
        match self.latency_source {
            Some(LatencySource::Typed(t, s)) => report.price_at(&self.cost, t, s).map_err(|e| e.to_string())?,
            Some(LatencySource::Device(i)) if i < self.devices.len() => {
                report.price_on(&self.cost, &self.devices[i]).map_err(|e| e.to_string())?
            }
            _ => {}
        }
        report.devices = self.devices.clone();
        Ok(report)
    }

    /// The verdict of [`State::report`]'s measurements, or what is still missing. Judged
    /// on its own so that cost inputs being edited cannot hide it.
    pub fn verdict(&self) -> Result<Verdict, String> {
        let missing = "Run the benchmark and an evaluation to get the verdict.";
        let report = self.measured(Environment::default(), "").map_err(|_| missing.to_string())?;
        if report.latency.is_none() {
            return Err(missing.into());
        }
        // Cost inputs being edited (invalid for a moment) drop the ceiling check, not the
        // verdict: `Report::compute_demand` gives no demand for inputs that fail their check.
        match report.judge(&self.thresholds, Some(&self.cost)) {
            Ok(Some(verdict)) => Ok(verdict),
            Ok(None) => Err("Run an evaluation to get the verdict.".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Cards, and latency and evaluation once finished: the report before anything is
    /// derived from it.
    fn measured(&self, environment: Environment, created: &str) -> Result<Report, String> {
        let (Some((teacher_name, student_name)), Some((teacher, student))) = (&self.names, &self.cards) else {
            return Err("load a pair of models first".into());
        };
        let title = self.manifest.as_ref().map(|m| m.title.clone()).unwrap_or_else(|| "Distillate".into());
        let mut report = Report::new(
            &title,
            created,
            environment,
            ModelReport { name: teacher_name.clone(), card: teacher.clone() },
            ModelReport { name: student_name.clone(), card: student.clone() },
            self.labels.clone(),
        );
        report.latency = self.latency();
        report.evaluation = self.eval.as_ref().filter(|e| e.finished()).and_then(|e| e.summary.clone());
        Ok(report)
    }
}

/// Everything that changes the state.
#[derive(Debug, Clone)]
pub enum Action {
    /// A manifest arrived.
    ManifestLoaded { url: String, manifest: Manifest },
    /// The training cards its models name arrived (by model id).
    TrainingCards(BTreeMap<String, Rc<TrainingCard>>),
    /// The sample set was parsed on the main thread (for thumbnails).
    SamplesParsed(Rc<distillate_engine::idx::LabelledImages>),
    /// Something started loading.
    Loading(Option<String>),
    /// Something failed; the previous state stays.
    Error(String),
    /// Dismiss the messages.
    ClearErrors,
    /// The page asked the worker to load pair `id`, named so, scoring `labels`.
    PairRequested { id: PairId, names: (String, String), labels: Vec<String> },
    /// The worker said something.
    Worker(Response),
    /// The person picked a sample.
    Select(usize),
    /// A benchmark was requested (it ends a running evaluation: the two would share cores).
    StartBench,
    /// An evaluation was requested (it stops a running benchmark: the two would share cores).
    StartEval,
    /// The evaluation of pair `pair` went on, finished or failed (crate::eval_pool).
    Eval { pair: PairId, update: Result<EvalState, String> },
    /// The person stopped the evaluation: it ends with the images done so far.
    StopEval,
    /// Cost inputs edited.
    Cost(CostInputs),
    /// Latency source for cost.
    LatencySource(LatencySource),
    /// Thresholds edited.
    Thresholds(Thresholds),
    /// The page was opened with this link (before the manifest loads).
    LinkOpened(ShareState),
    /// Switch layout.
    View(View),
    /// Choose a theme (`None`: follow the system).
    Theme(Option<Theme>),
    /// Show slide `n` in presentation mode.
    Slide(usize),
    /// Show or clear a short confirmation.
    Notice(Option<String>),
    /// The worker panicked (its message); a new one is started.
    WorkerCrashed(String),
    /// The throughput pool started, finished or failed.
    Throughput(ThroughputStatus),
    /// The page's load reached a milestone (ms since navigation).
    Milestone(Milestone, f64),
    /// Device reports were picked or dropped: (file name, bytes) each.
    DeviceReports(Vec<(String, Rc<[u8]>)>),
    /// Remove the `n`th device report.
    RemoveDevice(usize),
    /// The page started a measurement by itself.
    AutoMeasure(crate::auto_measure::AutoStep),
    /// Timing the ladder of the manifest at `manifest_url` started, went on, finished or
    /// failed (a report about a manifest no longer shown is dropped).
    Rungs { manifest_url: String, status: crate::rungs::RungStatus },
}

/// Where throughput mode is.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ThroughputStatus {
    /// Not run yet.
    #[default]
    Idle,
    /// Running on this many workers.
    Running(usize),
    /// Measured.
    Done(crate::pool::Throughput),
    /// Failed; why.
    Failed(String),
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::ManifestLoaded { url, manifest } => {
                // Another manifest is another ladder: its rungs are not timed yet.
                s.rungs = crate::rungs::RungStatus::Idle;
                s.cost = manifest.cost.clone();
                s.thresholds = manifest.thresholds.clone();
                // A link's settings win over the manifest's; a bad one is named and skipped.
                if !s.link.cost.is_empty() {
                    match s.link.apply_cost(&manifest.cost) {
                        Ok(cost) => s.cost = cost,
                        Err(e) => s.errors.push(format!("The link's cost inputs were not used: {e}")),
                    }
                }
                if !s.link.thresholds.is_empty() {
                    match s.link.apply_thresholds(&manifest.thresholds) {
                        Ok(thresholds) => s.thresholds = thresholds,
                        Err(e) => s.errors.push(format!("The link's thresholds were not used: {e}")),
                    }
                }
                s.manifest_url = url;
                s.manifest = Some(manifest);
                s.training_cards.clear();
            }
            Action::TrainingCards(cards) => s.training_cards = cards,
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
            // A benchmark and an evaluation would share the cores: starting one ends the
            // other (app.rs stops the evaluation's workers and cancels the worker's benchmark).
            Action::StartBench => {
                s.bench = None;
                s.bench_cut = false;
                s.eval = s.eval.take().filter(EvalState::finished);
            }
            Action::AutoMeasure(step) => s.start_auto(step),
            Action::StartEval => s.cut_bench(),
            // An evaluation of the pair before this one would describe other models.
            Action::Eval { pair, update } if s.pair == Some(pair) => match update {
                Ok(eval) => s.eval = Some(eval),
                Err(message) => {
                    s.eval = None;
                    s.errors.push(format!("The evaluation stopped: {message}"));
                }
            },
            Action::Eval { .. } => {}
            Action::StopEval => {
                // What was evaluated stands as an evaluation of those images.
                s.eval = s
                    .eval
                    .take()
                    .filter(|e| e.done > 0 && e.summary.is_some())
                    .map(|e| EvalState { total: e.done, ..e });
            }
            Action::Cost(c) => s.cost = c,
            Action::LatencySource(l) => s.latency_source = Some(l),
            Action::Thresholds(t) => s.thresholds = t,
            Action::LinkOpened(link) => {
                s.view = link.view;
                s.theme = link.theme;
                if let Some((t, st)) = link.typed_latency {
                    s.latency_source = Some(LatencySource::Typed(t, st));
                }
                s.link = link;
            }
            Action::View(v) => {
                s.view = v;
                s.slide = 0;
            }
            Action::Theme(t) => s.theme = t,
            Action::Slide(n) => s.slide = n,
            Action::Notice(n) => s.notice = n,
            Action::Throughput(status) => s.throughput = status,
            Action::Rungs { manifest_url, status } => {
                // Timings of another manifest's ladder, still arriving after the visitor
                // loaded a new one, would be drawn on the wrong models.
                if manifest_url == s.manifest_url {
                    s.rungs = status;
                }
            }
            Action::Milestone(milestone, at_ms) => s.timeline.reach(milestone, at_ms),
            Action::DeviceReports(files) => s.add_device_reports(&files),
            Action::RemoveDevice(i) => s.remove_device(i),
            Action::WorkerCrashed(message) => {
                s.errors.push(format!(
                    "The inference worker crashed ({message}). A new one was started and the models are loaded \
                     again; a benchmark that was running was stopped — run it again."
                ));
                s.worker_generation += 1;
                s.worker = None;
                s.loading = None;
                // A benchmark cut short has no result; a finished one still describes these
                // models. An evaluation runs in workers of its own and goes on.
                if s.bench.as_ref().is_some_and(|b| b.phase != Phase::Done) {
                    s.bench = None;
                }
            }
            Action::PairRequested { id, names, labels } => {
                s.loading = Some(format!("Loading {} and {}…", names.0, names.1));
                s.requested.insert(id, (names, labels));
            }
            Action::Worker(response) => match response {
                Response::Ready(info) => s.worker = Some(info),
                Response::Loaded { pair, teacher, student, load_ms } => {
                    if let Some((names, labels)) = s.requested.remove(&pair) {
                        // Requests older than this one were superseded.
                        s.requested.retain(|id, _| *id > pair);
                        // A measurement of the previous pair no longer describes these models.
                        if !matches!(s.throughput, ThroughputStatus::Running(_)) {
                            s.throughput = ThroughputStatus::Idle;
                        }
                        s.pair = Some(pair);
                        s.names = Some(names);
                        s.labels = labels;
                        s.own_images.clear();
                        s.predictions.clear();
                        s.bench = None;
                        s.eval = None;
                        s.loading = None;
                    } else if s.pair != Some(pair) {
                        // Neither asked for nor current: an answer overtaken by events.
                        return Rc::new(s);
                    }
                    // The same pair again (a restarted worker): its measurements still stand.
                    s.cards = Some((teacher, student));
                    s.load_ms = Some(load_ms);
                    s.set_aside_other_pairs_devices();
                }
                // The pools' answers go to the pools (pool.rs, eval_pool.rs), never through here.
                Response::SamplesLoaded { .. } | Response::Throughput { .. } | Response::EvalProgress { .. } => {}
                Response::ClassifiedImage { name, teacher, student } => {
                    s.own_images.insert(0, (name, teacher, student));
                }
                Response::Classified { pair, index, teacher, student } => {
                    let label = s.samples.as_ref().and_then(|set| set.labels.get(index).copied());
                    if let (true, Some(label)) = (s.pair == Some(pair), label) {
                        s.predictions.insert(index, (label, teacher, student));
                    }
                }
                Response::BenchProgress { .. } if s.bench_cut => {}
                Response::BenchProgress { phase, progress, samples } => {
                    s.bench = Some(BenchState { phase, progress, samples });
                }
                Response::Failed(failure) => {
                    s.loading = None;
                    s.errors.push(failure.to_string());
                }
            },
        }
        Rc::new(s)
    }
}

mod devices;
#[cfg(test)]
mod tests;
