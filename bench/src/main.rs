//! `bench-native MANIFEST_DIR`: times the demo's teacher and student natively with the
//! schedule in `bench/schedule.json`, and prints one JSON object (what `bench/run` turns
//! into the Markdown table next to onnxruntime's numbers).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use distillate_bench::Schedule;
use distillate_engine::{Manifest, Model, Preprocessor};
use serde_json::json;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench-native: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("--tiles") => return tiles(),
        Some("--fidelity") => return fidelity(Path::new(".")),
        _ => {}
    }
    let root = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let schedule: Schedule = serde_json::from_slice(&read(&root.join("bench/schedule.json"))?)?;
    let manifest = Manifest::parse(&read(&root.join("static/demo.json"))?)?;
    let images = distillate_engine::idx::parse(&read(&root.join(&schedule.image))?)?;
    let [_, h, w] = images.dims[..] else { anyhow::bail!("{} is not [n, h, w] images", schedule.image) };
    let first = &images.data[..h * w];
    let mut results = Vec::new();
    // The chosen student's int8 rung too, where the manifest has one (bench/page/harness.js).
    let int8 = format!("{}-int8", manifest.student);
    let mut ids = vec![manifest.teacher.clone(), manifest.student.clone()];
    if manifest.model(&int8).is_some() {
        ids.push(int8);
    }
    for id in &ids {
        let entry = manifest.model(id).with_context(|| format!("manifest has no model {id}"))?;
        let bytes = read(&root.join("static").join(&entry.file))?;
        let started = Instant::now();
        let model = Model::load(&bytes)?;
        let mut classifier = model.classifier(1)?;
        let load_ms = ms(started);
        let card = model.card();
        let mut input = vec![0.0; card.channels * card.height * card.width];
        Preprocessor::new(&entry.preprocess, card)?.luma8_into(w as u32, h as u32, first, &mut input)?;
        let mut logits = vec![0.0; classifier.classes()];
        let mut once = || classifier.run_into(&input, &mut logits);
        let started = Instant::now();
        once()?;
        let first_ms = ms(started);
        let timing = sample(&schedule, &mut once)?;
        results.push(json!({
            "id": id, "file": entry.file, "bytes": bytes.len(), "load_ms": load_ms, "first_ms": first_ms,
            "median_ms": timing.median, "p90_ms": timing.p90, "samples": timing.samples, "batch": timing.batch,
        }));
    }
    let out = json!({ "runner": "distillate (tract, native)", "simd": std::env::consts::ARCH, "models": results });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn read(p: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
}

/// `bench-native --fidelity`: the bundled models on every test image with the engine's own
/// convolutions (the portable build of the kernels the browser runs: the same sums in the
/// same order, without fused multiply-add) and with tract's: the largest logit difference
/// and the images whose top-1 differs, as JSON.
fn fidelity(root: &Path) -> anyhow::Result<()> {
    use distillate_engine::Convolutions;
    use distillate_engine::metrics::argmax;
    let manifest = Manifest::parse(&read(&root.join("static/demo.json"))?)?;
    let images = distillate_engine::idx::parse(&read(&root.join("static/data/t10k-images-idx3-ubyte.gz"))?)?;
    let [n, h, w] = images.dims[..] else { anyhow::bail!("the test images are not [n, h, w]") };
    let mut models = Vec::new();
    for id in [&manifest.teacher, &manifest.student] {
        let entry = manifest.model(id).with_context(|| format!("manifest has no model {id}"))?;
        let model = Model::load(&read(&root.join("static").join(&entry.file))?)?;
        let pre = Preprocessor::new(&entry.preprocess, model.card())?;
        let (mut ours, mut theirs) =
            (model.classifier_with(1, Convolutions::Engine)?, model.classifier_with(1, Convolutions::Tract)?);
        let mut input = vec![0.0; model.card().channels * model.card().height * model.card().width];
        let (mut max_diff, mut top1_differs) = (0.0f32, Vec::new());
        for (i, image) in images.data.chunks_exact(h * w).enumerate() {
            pre.luma8_into(w as u32, h as u32, image, &mut input)?;
            let (a, b) = (ours.run(&input)?, theirs.run(&input)?);
            max_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(max_diff, f32::max);
            if argmax(&a) != argmax(&b) {
                top1_differs.push(i);
            }
        }
        models.push(json!({ "id": id, "images": n, "max_abs_logit_diff": max_diff, "top1_differs": top1_differs }));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({ "compared": "engine convolutions vs tract's, natively", "models": models })
        )?
    );
    Ok(())
}

/// `bench-native --tiles`: the convolution micro-benchmark (bench/src/tiles.rs) natively,
/// GMAC/s per layer and tile, as JSON in the shape `bench/tiles.mjs` prints.
fn tiles() -> anyhow::Result<()> {
    use distillate_bench::tiles::{Probe, layers, tiles};
    let (layers, tiles) = (layers(), tiles());
    let mut gmacs = Vec::new();
    for layer in 0..layers.len() {
        let mut row = Vec::new();
        for tile in 0..tiles.len() {
            let mut probe = Probe::new(layer, tile).context("the layer and tile tables")?;
            let macs = probe.macs();
            row.push(gmacs_of(&mut |times| probe.run(times), macs));
        }
        gmacs.push(row);
    }
    let out = json!({ "runner": "the portable 4-lane fallback", "layers": layers, "tiles": tiles, "gmacs": gmacs });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// GMAC/s of `run(times)` (`macs` each): 100 ms of warm-up, then the best of five samples
/// of at least 100 ms (the same rule as bench/page/tiles.js).
fn gmacs_of(run: &mut impl FnMut(u32) -> f32, macs: usize) -> f64 {
    let mut sink = 0.0;
    let started = Instant::now();
    while ms(started) < 100.0 {
        sink += run(1);
    }
    let mut times = 1;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        loop {
            let t = Instant::now();
            sink += run(times);
            let elapsed = ms(t);
            if elapsed >= 100.0 {
                best = best.min(elapsed / times as f64);
                break;
            }
            times *= 2;
        }
    }
    std::hint::black_box(sink);
    macs as f64 / best / 1e6
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

struct Timing {
    median: f64,
    p90: f64,
    samples: usize,
    batch: usize,
}

/// The schedule `bench/page/harness.js` and `bench/ort_native.py` follow too: warm up,
/// double the calls per sample until a sample lasts `batch_min_ms`, then sample for
/// `duration_ms`; per-call time of each sample; median and p90 over samples.
fn sample<E>(s: &Schedule, run: &mut impl FnMut() -> Result<(), E>) -> Result<Timing, E> {
    let started = Instant::now();
    while ms(started) < s.warmup_ms {
        run()?;
    }
    let mut batch = 1;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            run()?;
        }
        if ms(t) >= s.batch_min_ms {
            break;
        }
        batch *= 2;
    }
    let mut per_call = Vec::new();
    let started = Instant::now();
    while ms(started) < s.duration_ms {
        let t = Instant::now();
        for _ in 0..batch {
            run()?;
        }
        per_call.push(ms(t) / batch as f64);
    }
    per_call.sort_by(f64::total_cmp);
    let at = |q: f64| per_call[((per_call.len() - 1) as f64 * q).round() as usize];
    Ok(Timing { median: at(0.5), p90: at(0.9), samples: per_call.len(), batch })
}
