//! The page measures by itself: once a pair has answered its first prediction, a short
//! interleaved benchmark, then the quick evaluation, in workers, so the headline's
//! model-card figures give way to this browser's without a click. Portfolio links are opened
//! by people who do not scroll or press buttons. Each step runs once per pair and never
//! over something the person started; the full benchmark and the 10 000-image evaluation
//! stay on their buttons.

use distillate_engine::bench::{BenchConfig, Phase};
use distillate_protocol::PairId;

use crate::state::{EvalState, State};

/// Images the page evaluates by itself: enough for the agreement to within about half a
/// point, a few seconds in the worker.
pub const AUTO_EVAL_IMAGES: usize = 1_000;

/// What the page starts by itself next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AutoStep {
    /// A short benchmark of both models.
    Benchmark,
    /// Evaluation of this many images.
    Evaluate(usize),
}

/// The pairs the page has started each step for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AutoMeasured {
    /// Benchmark started for this pair.
    pub bench: Option<PairId>,
    /// Evaluation started for this pair.
    pub eval: Option<PairId>,
}

/// The short benchmark: the page's warm-up (V8's optimised code must arrive first, see
/// `app::browser_bench_config`), half its measuring time.
pub fn auto_bench_config(warmup_ms: f64) -> BenchConfig {
    BenchConfig { warmup_ms, min_duration_ms: 1_500.0, ..BenchConfig::default() }
}

impl State {
    /// The step to start now, if any.
    pub fn auto_step(&self) -> Option<AutoStep> {
        let pair = self.pair?;
        let samples = self.samples.as_ref()?;
        if self.predictions.is_empty() || self.eval.as_ref().is_some_and(|e| !e.finished()) {
            return None;
        }
        match &self.bench {
            None if self.auto.bench != Some(pair) => Some(AutoStep::Benchmark),
            // An evaluation the person ran already gives the accuracy figures.
            Some(b) if b.phase == Phase::Done && self.auto.eval != Some(pair) && self.eval.is_none() => {
                Some(AutoStep::Evaluate(AUTO_EVAL_IMAGES.min(samples.len())))
            }
            _ => None,
        }
    }

    /// An evaluation starts: a benchmark still running in the worker is cancelled (the two
    /// would share the cores). If it was the page's own, the page runs it again once the
    /// evaluation is over.
    pub(crate) fn cut_bench(&mut self) {
        if self.bench.as_ref().is_some_and(|b| b.phase == Phase::Done) {
            return;
        }
        if self.auto.bench == self.pair {
            self.auto.bench = None;
        }
        self.bench = None;
        self.bench_cut = true;
    }

    /// Records `step` as started for the loaded pair and clears what it will fill.
    pub(crate) fn start_auto(&mut self, step: AutoStep) {
        match step {
            AutoStep::Benchmark => {
                self.auto.bench = self.pair;
                self.bench = None;
                self.bench_cut = false;
            }
            AutoStep::Evaluate(total) => {
                self.auto.eval = self.pair;
                self.eval = Some(EvalState::waiting(total));
            }
        }
    }

    /// What the page is measuring by itself now, for the headline ("benchmark 40 %").
    pub fn auto_measuring(&self) -> Option<String> {
        let pair = self.pair?;
        if let Some(e) = self.eval.as_ref().filter(|e| !e.finished() && self.auto.eval == Some(pair)) {
            return Some(format!("evaluating {} of {} images", e.done, e.total));
        }
        if self.auto.bench == Some(pair) {
            return match &self.bench {
                None => Some("benchmark starting".into()),
                Some(b) if b.phase == Phase::Warmup => Some("benchmark warming up".into()),
                Some(b) if b.phase == Phase::Measure => Some(format!("benchmark {:.0} %", b.progress * 100.0)),
                Some(_) => None,
            };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use distillate_engine::idx::LabelledImages;
    use distillate_protocol::Prediction;

    use super::*;
    use crate::state::BenchState;
    use crate::test_support::ab_samples;

    fn answered() -> State {
        let set = LabelledImages { width: 1, height: 1, pixels: vec![0; 3], labels: vec![0, 1, 1] };
        let p = Prediction { top3: vec![(1, 0.9)], latency_ms: 0.5 };
        let mut s = State { pair: Some(PairId(1)), samples: Some(Rc::new(set)), ..State::default() };
        s.predictions.insert(0, (0, p.clone(), p));
        s
    }

    fn bench(phase: Phase) -> Option<BenchState> {
        let samples = ab_samples(2.0, 1.0, 0);
        Some(BenchState { phase, progress: 0.5, samples })
    }

    #[test]
    fn after_the_first_prediction_a_benchmark_then_an_evaluation_each_once_per_pair() {
        let mut s = State { predictions: Default::default(), ..answered() };
        assert_eq!(s.auto_step(), None, "nothing before the first prediction");
        s = answered();
        assert_eq!(s.auto_step(), Some(AutoStep::Benchmark));
        s.start_auto(AutoStep::Benchmark);
        assert_eq!((s.auto_step(), s.auto_measuring().as_deref()), (None, Some("benchmark starting")));
        s.bench = bench(Phase::Measure);
        assert_eq!((s.auto_step(), s.auto_measuring().as_deref()), (None, Some("benchmark 50 %")));
        s.bench = bench(Phase::Done);
        assert_eq!(s.auto_step(), Some(AutoStep::Evaluate(3)), "at most the samples there are");
        s.start_auto(AutoStep::Evaluate(3));
        assert_eq!((s.auto_step(), s.auto_measuring().as_deref()), (None, Some("evaluating 0 of 3 images")));
        s.eval = None;
        assert_eq!(s.auto_step(), None, "never twice for one pair");
        s.pair = Some(PairId(2));
        s.bench = None;
        assert_eq!(s.auto_step(), Some(AutoStep::Benchmark), "a new pair is measured too");
    }

    /// The bug this guards: "All 10 000" clicked while the page's own benchmark warmed up
    /// left the latency panel and the headline saying "warming up" for good — the worker
    /// had cancelled the benchmark, but its last progress, already on the way, came back.
    #[test]
    fn an_evaluation_cuts_the_pages_benchmark_which_runs_again_after_it() {
        use crate::state::Action;
        use distillate_protocol::Response;
        use yew::Reducible;
        let mut s = answered();
        s.start_auto(AutoStep::Benchmark);
        s.bench = bench(Phase::Warmup);
        let s = Rc::new(s).reduce(Action::StartEval);
        let late = Response::BenchProgress { phase: Phase::Warmup, progress: 0.0, samples: ab_samples(2.0, 1.0, 0) };
        let s = s.reduce(Action::Worker(late));
        assert!(s.bench.is_none(), "the cancelled benchmark's progress is dropped");
        let mut s = (*s).clone();
        s.eval = Some(EvalState { done: 1, total: 3, ..EvalState::waiting(3) });
        assert_eq!((s.auto_step(), s.auto_measuring()), (None, None), "nothing runs beside the evaluation");
        s.eval = Some(EvalState { done: 3, ..EvalState::waiting(3) });
        assert_eq!(s.auto_step(), Some(AutoStep::Benchmark), "the page's benchmark runs again after it");
        s.start_auto(AutoStep::Benchmark);
        let s = Rc::new(s).reduce(Action::Worker(Response::BenchProgress {
            phase: Phase::Done,
            progress: 1.0,
            samples: ab_samples(2.0, 1.0, 0),
        }));
        assert_eq!(s.bench.as_ref().map(|b| b.phase), Some(Phase::Done), "a new benchmark's progress counts");
        assert_eq!(s.auto_step(), None, "the person's evaluation stands: none of 1 000 images over it");
    }

    #[test]
    fn nothing_starts_over_what_the_person_started() {
        let mut s = answered();
        s.eval = Some(EvalState::waiting(3));
        assert_eq!(s.auto_step(), None, "an evaluation is running");
        s.eval = None;
        s.bench = bench(Phase::Warmup);
        assert_eq!((s.auto_step(), s.auto_measuring()), (None, None), "their benchmark, not the page's");
        s.bench = bench(Phase::Done);
        assert_eq!(s.auto_step(), Some(AutoStep::Evaluate(3)), "the evaluation follows their benchmark");
    }
}
