//! The evaluation split across workers: one per logical core, each evaluating a contiguous
//! range of the sample set in a worker of its own, their numbers merged exactly
//! ([`EvalSummary::merge`]).
//!
//! Why: evaluation is inference-bound. A pair of images takes 2.45 ms on one core in
//! Chromium, so the 10 000 test images took 24.6–28.2 s in the page's one worker
//! (bench/run, 2026-12-07). Spread over the visitor's cores it takes less in proportion,
//! and the page's own worker stays free for the visitor's images meanwhile. Measured on a
//! 2-core machine in Chromium: 26.0–27.2 s with one worker, 13.5–18.0 s with two (1.6×:
//! two busy cores run at a lower clock than one, and the page's main thread shares them).
//!
//! Invariant: the ranges cover `0..limit` once each, so the merged numbers are those of one
//! evaluation of the same images (tested here, in `engine::metrics` and in the worker).

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use distillate_engine::metrics::EvalSummary;
use distillate_protocol::{PairId, Request, Response};
use futures::future::{AbortHandle, Abortable};
use yew::UseReducerDispatcher;

use crate::hooks::worker_script;
use crate::pool::{next, start};
use crate::state::{Action, EvalState, State};
use crate::worker_link::{PairLoad, SamplesLoad, WorkerLink};

/// Fewest images a worker is started for: below this, starting a worker and loading the
/// models into it (about 0.2 s for the bundled pair) costs more than it saves.
pub const MIN_IMAGES_PER_WORKER: usize = 250;
/// Fewest milliseconds between two progress reports to the page.
const REPORT_EVERY_MS: f64 = 250.0;
/// The workers as errors name them.
const WHO: &str = "the evaluation workers";

/// Contiguous ranges covering `0..limit`: at most `workers` of them, none shorter than
/// [`MIN_IMAGES_PER_WORKER`] unless there is only one, their lengths differing by at most 1.
pub fn ranges(limit: usize, workers: usize) -> Vec<Range<usize>> {
    if limit == 0 {
        return Vec::new();
    }
    let n = workers.min(limit / MIN_IMAGES_PER_WORKER).max(1);
    let (size, longer) = (limit / n, limit % n);
    let mut start = 0;
    (0..n)
        .map(|k| {
            let end = start + size + usize::from(k < longer);
            let range = start..end;
            start = end;
            range
        })
        .collect()
}

/// What each worker has reported so far.
#[derive(Debug)]
pub struct Parts {
    /// Images in each worker's range.
    totals: Vec<usize>,
    /// Images each worker has done.
    done: Vec<usize>,
    /// Each worker's numbers so far.
    summaries: Vec<Option<EvalSummary>>,
}

impl Parts {
    /// Nothing reported yet by the workers of `ranges`.
    pub fn new(ranges: &[Range<usize>]) -> Parts {
        Parts {
            totals: ranges.iter().map(|r| r.len()).collect(),
            done: vec![0; ranges.len()],
            summaries: vec![None; ranges.len()],
        }
    }

    /// Worker `k` has done `done` images of its range, with these numbers.
    pub fn record(&mut self, k: usize, done: usize, summary: Option<EvalSummary>) {
        if let (Some(d), Some(s)) = (self.done.get_mut(k), self.summaries.get_mut(k)) {
            *d = done;
            *s = summary;
        }
    }

    /// Every worker has done its whole range.
    pub fn finished(&self) -> bool {
        self.done.iter().zip(&self.totals).all(|(d, t)| d >= t)
    }

    /// The evaluation so far, as the page shows it, `elapsed_ms` after it was asked for.
    pub fn state(&self, elapsed_ms: f64) -> Result<EvalState, String> {
        let reported: Vec<&EvalSummary> = self.summaries.iter().flatten().collect();
        let summary = match reported.is_empty() {
            true => None,
            false => Some(EvalSummary::merge(reported).map_err(|e| format!("{WHO}: {e}"))?),
        };
        Ok(EvalState {
            done: self.done.iter().sum(),
            total: self.totals.iter().sum(),
            summary,
            elapsed_ms,
            workers: self.totals.len(),
        })
    }
}

/// The evaluation running in the background, if any: starting another, or stopping it,
/// ends its workers.
#[derive(Clone, Default)]
pub struct EvalRun(Rc<RefCell<Option<AbortHandle>>>);

impl EvalRun {
    /// Evaluates the first `limit` samples of the pair and sample set the page's worker
    /// was given, on up to `workers` new workers, reporting to `dispatch`.
    pub fn start(&self, dispatch: &UseReducerDispatcher<State>, link: &WorkerLink, limit: usize, workers: usize) {
        self.stop();
        let (Some((id, pair)), Some(samples)) = link.given() else {
            dispatch.dispatch(Action::Error("Evaluation needs loaded models and sample images.".into()));
            return;
        };
        let ranges = ranges(limit, workers);
        let report = {
            let dispatch = dispatch.clone();
            move |update| dispatch.dispatch(Action::Eval { pair: id, update })
        };
        report(Parts::new(&ranges).state(0.0));
        let (abort, registration) = AbortHandle::new_pair();
        *self.0.borrow_mut() = Some(abort);
        wasm_bindgen_futures::spawn_local(async move {
            let script = worker_script();
            let run = evaluate(&script, &ranges, (id, &pair), &samples, &report);
            // Aborted: the page started another evaluation or stopped this one.
            if let Ok(Err(e)) = Abortable::new(run, registration).await {
                report(Err(e));
            }
        });
    }

    /// Ends the evaluation started last (its workers, if it is still running); whether there
    /// was one not stopped before. A finished one has nothing left to end: the page's
    /// StopEval then leaves its numbers as they are.
    pub fn stop(&self) -> bool {
        self.0.borrow_mut().take().is_some_and(|abort| {
            let running = !abort.is_aborted();
            abort.abort();
            running
        })
    }
}

/// Evaluates `ranges` of the sample set, a worker each, reporting the merged numbers after
/// every worker's progress; the workers end when this returns or is dropped.
async fn evaluate(
    script: &str,
    ranges: &[Range<usize>],
    pair: (PairId, &PairLoad),
    samples: &SamplesLoad,
    report: &impl Fn(Result<EvalState, String>),
) -> Result<(), String> {
    // The page's clock, from the request: starting the workers and loading them counts.
    let started = crate::browser::now_ms();
    let elapsed = |worker_ms: f64| started.zip(crate::browser::now_ms()).map_or(worker_ms, |(a, b)| b - a);
    let (bridges, mut answers) = start(script, ranges.len(), pair, samples, WHO).await?;
    for (bridge, range) in bridges.iter().zip(ranges) {
        bridge.send(Request::Evaluate { start: range.start, end: range.end });
    }
    let mut parts = Parts::new(ranges);
    let mut reported_at = f64::NEG_INFINITY;
    while !parts.finished() {
        if let (k, Response::EvalProgress { done, summary, elapsed_ms, .. }) = next(&mut answers, WHO).await? {
            parts.record(k, done, summary);
            // Every report re-renders the page on the main thread, which shares the cores
            // with the workers: a few a second look live and cost them nothing measurable.
            let now = elapsed(elapsed_ms);
            if now - reported_at >= REPORT_EVERY_MS || parts.finished() {
                report(parts.state(now));
                reported_at = now;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use distillate_engine::metrics::Evaluation;

    use super::*;

    #[test]
    fn ranges_cover_every_image_once_in_near_equal_parts() {
        for limit in [0, 1, 249, 250, 499, 500, 1000, 1001, 10_000] {
            for workers in [1, 2, 3, 8] {
                let r = ranges(limit, workers);
                let covered: Vec<usize> = r.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(covered, (0..limit).collect::<Vec<_>>(), "{limit} on {workers}");
                assert!(r.len() <= workers);
                let lengths: Vec<usize> = r.iter().map(|r| r.len()).collect();
                let (min, max) = (lengths.iter().min(), lengths.iter().max());
                assert!(max.zip(min).is_none_or(|(a, b)| a - b <= 1), "{lengths:?}");
                if r.len() > 1 {
                    assert!(lengths.iter().all(|l| *l >= MIN_IMAGES_PER_WORKER), "{lengths:?}");
                }
            }
        }
        assert_eq!(ranges(10_000, 2), vec![0..5000, 5000..10_000]);
        assert_eq!(ranges(400, 8), vec![0..400], "too few images to share");
    }

    /// A worker's numbers after `n` images, all right and agreeing except every third.
    fn part(n: usize) -> EvalSummary {
        let mut eval = Evaluation::new(3);
        for i in 0..n {
            let student = if i % 3 == 0 { [0.0, 2.0, 0.0] } else { [2.0, 0.0, 0.0] };
            eval.add(&[2.0, 0.0, 0.0], &student, 0).expect("adds");
        }
        eval.summary().expect("summary")
    }

    #[test]
    fn progress_adds_up_the_workers_and_finishes_with_the_last() {
        let mut parts = Parts::new(&ranges(1000, 2));
        let start = parts.state(0.0).expect("state");
        assert_eq!((start.done, start.total, start.workers, start.summary), (0, 1000, 2, None));
        parts.record(1, 300, Some(part(300)));
        let s = parts.state(5.0).expect("state");
        assert_eq!((s.done, s.summary.as_ref().map(|s| s.images)), (300, Some(300)));
        parts.record(0, 500, Some(part(500)));
        assert!(!parts.finished());
        parts.record(1, 500, Some(part(500)));
        assert!(parts.finished());
        let s = parts.state(9.0).expect("state");
        assert!(s.finished());
        let summary = s.summary.expect("numbers");
        // Images 0, 3, 6, … of each worker's 500 disagree: 167 of them in each.
        assert_eq!(summary.images, 1000);
        assert!((summary.agreement - (1000.0 - 2.0 * 167.0) / 1000.0).abs() < 1e-12);
        // A report from a worker that does not exist changes nothing.
        parts.record(7, 1, None);
        assert_eq!(parts.state(9.0).expect("state").done, 1000);
    }
}
