//! Throughput mode: a pool of inference workers, one per logical core, all classifying
//! sample images with the same model at once. Latency says how fast one image is; this
//! says how many images per second the visitor's machine sustains.

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use gloo_worker::{Spawnable, WorkerBridge};

use distillate_protocol::{PairId, Request, Response, Side};

use crate::worker_link::{Inference, PairLoad, SamplesLoad};

/// Most workers started, whatever the browser reports: beyond this the page only adds
/// memory (every worker holds both models).
pub const MAX_WORKERS: usize = 8;
/// Untimed classification per worker and model first (V8 optimises wasm in the background:
/// see `browser_bench_config` in app.rs).
pub const WARMUP_MS: f64 = 3_000.0;
/// Timed classification per worker and model.
pub const DURATION_MS: f64 = 3_000.0;
/// Longest wait for any one answer before giving up (a worker that crashed never answers).
const ANSWER_TIMEOUT_MS: u32 = 60_000;

/// What the pool measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Throughput {
    /// Workers that ran at once.
    pub workers: usize,
    /// Teacher images per second, all workers together.
    pub teacher_per_s: f64,
    /// Student images per second, all workers together.
    pub student_per_s: f64,
}

/// Workers to start for `cores` logical cores (unknown: 2).
pub fn workers_for(cores: Option<usize>) -> usize {
    cores.unwrap_or(2).clamp(1, MAX_WORKERS)
}

/// Starts `workers` workers from `script`, gives each the pair and the sample set, then
/// measures the teacher and the student in turn; the workers end when this returns.
pub async fn measure(
    script: &str,
    workers: usize,
    (id, pair): (PairId, PairLoad),
    samples: SamplesLoad,
) -> Result<Throughput, String> {
    let (bridges, mut rx) = start(script, workers, (id, &pair), &samples, WHO).await?;
    let mut rates = [0.0; 2];
    for (slot, model) in [Side::Teacher, Side::Student].into_iter().enumerate() {
        for bridge in &bridges {
            bridge.send(Request::Throughput { model, warmup_ms: WARMUP_MS, duration_ms: DURATION_MS });
        }
        let mut answered = 0;
        while answered < workers {
            if let (_, Response::Throughput { images, elapsed_ms, .. }) = next(&mut rx, WHO).await? {
                // Each worker's own rate, summed: they ran over the same wall-clock span.
                rates[slot] += images as f64 / (elapsed_ms / 1e3);
                answered += 1;
            }
        }
    }
    drop(bridges);
    Ok(Throughput { workers, teacher_per_s: rates[0], student_per_s: rates[1] })
}

/// The workers as errors name them.
const WHO: &str = "the throughput workers";

/// Answers of numbered workers: (the worker's number, its answer).
pub(crate) type Answers = mpsc::UnboundedReceiver<(usize, Response)>;

/// Starts `workers` workers from `script`, each given the pair and the sample set, and
/// waits until all of them have loaded both; their answers come numbered `0..workers`.
/// Dropping the bridges ends the workers.
pub(crate) async fn start(
    script: &str,
    workers: usize,
    (id, pair): (PairId, &PairLoad),
    samples: &SamplesLoad,
    who: &str,
) -> Result<(Vec<WorkerBridge<Inference>>, Answers), String> {
    let (tx, mut rx) = mpsc::unbounded();
    let bridges: Vec<_> = (0..workers).map(|k| spawn(script, k, tx.clone())).collect();
    // Only the workers' callbacks hold senders now: if they all go, `next` hears of it.
    drop(tx);
    for bridge in &bridges {
        bridge.send(pair.request(id));
        bridge.send(samples.request());
    }
    let mut loaded = 0;
    while loaded < 2 * workers {
        if let (_, Response::Loaded { .. } | Response::SamplesLoaded { .. }) = next(&mut rx, who).await? {
            loaded += 1;
        }
    }
    Ok((bridges, rx))
}

/// A new inference worker from `script` whose answers go to `tx`, numbered `index`.
pub(crate) fn spawn(
    script: &str,
    index: usize,
    tx: mpsc::UnboundedSender<(usize, Response)>,
) -> WorkerBridge<Inference> {
    Inference::spawner()
        .callback(move |response| {
            // The receiver lives until every answer is in; a send after that is moot.
            let _ = tx.unbounded_send((index, response));
        })
        .as_module(false)
        .spawn(script)
}

/// The next answer from any worker sending to `rx`, with the worker's number; a worker's
/// error, or silence, ends the measurement, with `who` named.
pub(crate) async fn next(rx: &mut Answers, who: &str) -> Result<(usize, Response), String> {
    match select(rx.next(), TimeoutFuture::new(ANSWER_TIMEOUT_MS)).await {
        Either::Left((Some((_, Response::Failed(failure))), _)) => Err(format!("{who}: {failure}")),
        Either::Left((Some(answer), _)) => Ok(answer),
        Either::Left((None, _)) => Err(format!("{who} stopped answering")),
        Either::Right(_) => Err(format!("{who}: no answer for {} s", ANSWER_TIMEOUT_MS / 1000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_worker_per_core_within_bounds() {
        assert_eq!(workers_for(Some(2)), 2);
        assert_eq!(workers_for(None), 2);
        assert_eq!(workers_for(Some(0)), 1);
        assert_eq!(workers_for(Some(64)), MAX_WORKERS);
    }
}
