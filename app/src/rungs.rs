//! Every rung of the compression ladder timed in this browser. The ladder's latencies come
//! from training (native tract on the training machine); a visitor asking "and here?" gets
//! each model benchmarked in a worker of its own, interleaved with the teacher (A B A B …,
//! the page's benchmark), so every rung is timed beside the same reference under the same
//! drift. The page's own worker and its pair are left alone.

use std::collections::BTreeMap;
use std::rc::Rc;

use distillate_engine::Manifest;
use distillate_engine::bench::Phase;
use distillate_engine::stats::LatencyStats;
use distillate_protocol::{PairId, Request, Response};
use futures::channel::mpsc;

use yew::UseReducerDispatcher;

use crate::app::BROWSER_WARMUP_MS;
use crate::auto_measure::auto_bench_config;
use crate::hooks::worker_script;
use crate::loader::{fetch_bytes, resolve};
use crate::pool::{next, spawn};
use crate::state::{Action, State};
use crate::worker_link::{PairLoad, SamplesLoad, SharedBlob, WorkerLink};

/// Warm-up before each rung after the first. The first waits as long as the page's own
/// benchmark (V8 optimises the new worker's wasm in the background); later rungs run the
/// same code, already optimised. Each is timed like the page's short benchmark.
const LATER_WARMUP_MS: f64 = 1_000.0;
/// The worker as errors name it.
const WHO: &str = "timing the ladder";

/// Where the measurement of the rungs is.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RungStatus {
    /// Not run yet.
    #[default]
    Idle,
    /// Rungs timed so far, of how many.
    Running(usize, usize),
    /// Median ms per image in this browser, by model id.
    Done(BTreeMap<String, f64>),
    /// Failed; why.
    Failed(String),
}

/// Times the ladder of `manifest` (loaded from `url`, the page's manifest) in the
/// background, reporting to `dispatch`; the sample set is the one the page's worker was
/// given. Every report names `url`, so that one still arriving after another manifest was
/// loaded is dropped.
pub fn start(dispatch: &UseReducerDispatcher<State>, link: &WorkerLink, url: String, manifest: Option<Manifest>) {
    let report = {
        let (dispatch, url) = (dispatch.clone(), url.clone());
        move |status| dispatch.dispatch(Action::Rungs { manifest_url: url.clone(), status })
    };
    let (Some(manifest), (_, Some(samples))) = (manifest, link.given()) else {
        let why = "Timing the ladder needs the bundled models' manifest and its sample images loaded first.";
        report(RungStatus::Failed(why.into()));
        return;
    };
    report(RungStatus::Running(0, manifest.models.len().saturating_sub(1)));
    wasm_bindgen_futures::spawn_local(async move {
        let progress = |done, total| report(RungStatus::Running(done, total));
        let timed = async {
            let models = fetch_ladder(&url, &manifest).await?;
            measure(&worker_script(), models, manifest.labels.clone(), samples, progress).await
        };
        let status = match timed.await {
            Ok(times) => RungStatus::Done(times),
            Err(e) => RungStatus::Failed(e),
        };
        report(status);
    });
}

/// The manifest's ladder models (the teacher first), fetched; a rung that is the teacher
/// is timed as the reference, not against itself.
pub async fn fetch_ladder(manifest_url: &str, manifest: &Manifest) -> Result<Vec<(String, SharedBlob)>, String> {
    let mut blobs = Vec::new();
    for entry in &manifest.models {
        let url = resolve(manifest_url, &entry.file)?;
        let bytes = fetch_bytes(&url).await?;
        let blob =
            SharedBlob { name: entry.name.clone(), bytes: Rc::from(bytes), preprocess: entry.preprocess.clone() };
        blobs.push((entry.id.clone(), blob));
    }
    let teacher =
        blobs.iter().position(|(id, _)| *id == manifest.teacher).ok_or("the manifest names no teacher file")?;
    blobs.swap(0, teacher);
    Ok(blobs)
}

/// Times every model of `models` (the teacher first) against the teacher, one after
/// another in a new worker from `script`; `progress` hears (done, total) after each.
pub async fn measure(
    script: &str,
    models: Vec<(String, SharedBlob)>,
    labels: Vec<String>,
    samples: SamplesLoad,
    progress: impl Fn(usize, usize),
) -> Result<BTreeMap<String, f64>, String> {
    let Some(((teacher_id, teacher), rungs)) = models.split_first() else { return Ok(BTreeMap::new()) };
    let (tx, mut rx) = mpsc::unbounded();
    let bridge = spawn(script, 0, tx);
    bridge.send(samples.request());
    let (mut times, mut teacher_medians) = (BTreeMap::new(), Vec::new());
    for (k, (id, blob)) in rungs.iter().enumerate() {
        let pair = PairLoad { teacher: teacher.clone(), student: blob.clone(), labels: labels.clone() };
        bridge.send(pair.request(PairId(k as u64)));
        while !matches!(next(&mut rx, WHO).await?, (_, Response::Loaded { pair, .. }) if pair == PairId(k as u64)) {}
        let warmup_ms = if k == 0 { BROWSER_WARMUP_MS } else { LATER_WARMUP_MS };
        bridge.send(Request::Benchmark { config: auto_bench_config(warmup_ms) });
        let samples = loop {
            if let (_, Response::BenchProgress { phase: Phase::Done, samples, .. }) = next(&mut rx, WHO).await? {
                break samples;
            }
        };
        let median = |v: &[f64]| LatencyStats::from_samples(v).map(|s| s.median).map_err(|e| format!("{id}: {e}"));
        teacher_medians.push(median(&samples.a)?);
        times.insert(id.clone(), median(&samples.b)?);
        progress(k + 1, rungs.len());
    }
    // The teacher ran beside every rung: its time is the median of those runs.
    teacher_medians.sort_by(f64::total_cmp);
    if let Some(t) = teacher_medians.get(teacher_medians.len() / 2) {
        times.insert(teacher_id.clone(), *t);
    }
    Ok(times)
}
