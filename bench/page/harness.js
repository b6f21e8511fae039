// Times Distillate's engine (wasm builds in ./pkg-*/), TensorFlow.js's wasm backend
// (./tfjs/, tfjs-runner.js) and onnxruntime-web (./ort/) on the demo's teacher and
// student, in one page, with one schedule (../schedule.json):
// the same input, warm-up, batched timing and statistics for every runner. Samples of the
// runners are interleaved so that drift (thermal, background work) hits them alike.
// bench/browser.mjs opens this page and reads window.benchResult.
import * as ort from './ort/ort.wasm.min.mjs';
import { relaxedSimdProbe } from './probe.js';
import { tfjsRunner } from './tfjs-runner.js';

const status = (text) => { document.getElementById('status').textContent = text; };
const now = () => performance.now();

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// First image of an IDX file ([n, h, w] u8, big-endian header), preprocessed like the site.
async function firstImage(url, spec) {
  const idx = await gunzip(await fetchBytes(url));
  const view = new DataView(idx.buffer);
  const rank = idx[3];
  const dims = [...Array(rank).keys()].map((i) => view.getUint32(4 + 4 * i));
  const size = dims[1] * dims[2];
  const pixels = idx.subarray(4 + 4 * rank, 4 + 4 * rank + size);
  const input = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const v = (spec.invert ? 255 - pixels[i] : pixels[i]) * spec.scale;
    input[i] = (v - spec.mean[0]) / spec.std[0];
  }
  return { input, dims: [1, 1, dims[1], dims[2]] };
}

// Runner interface: load(bytes) → { run(): Promise<Float32Array>|Float32Array }.
async function oursRunner(variant) {
  const t0 = now();
  const module = await import(`./pkg-${variant}/distillate_bench.js`);
  await module.default({ module_or_path: `./pkg-${variant}/distillate_bench_bg.wasm` });
  const instantiateMs = now() - t0;
  return {
    name: `Distillate ${variant} (${module.Session.simd()})`,
    wasm: `pkg-${variant}/distillate_bench_bg.wasm`,
    instantiateMs,
    async load(bytes, input) {
      const session = new module.Session(bytes);
      return { run: () => session.run(input), sync: true };
    },
  };
}

async function ortRunner() {
  ort.env.wasm.numThreads = 1;
  // Absolute: ORT resolves a relative path against its own module, not the page.
  ort.env.wasm.wasmPaths = new URL('./ort/', location.href).href;
  return {
    name: `onnxruntime-web ${ort.env.versions.web} (wasm, 1 thread)`,
    wasm: 'ort/ort-wasm-simd-threaded.wasm',
    instantiateMs: null, // ORT instantiates its module inside the first session create
    async load(bytes, input, dims) {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, dims) };
      const output = session.outputNames[0];
      return { run: async () => (await session.run(feeds))[output].data, sync: false };
    },
  };
}

async function callN(loaded, n) {
  if (loaded.sync) { for (let i = 0; i < n; i++) loaded.run(); } else { for (let i = 0; i < n; i++) await loaded.run(); }
}

// The clock's step: the smallest non-zero difference between successive readings
// (Chromium 0.1 ms; Firefox and WebKit 1 ms without cross-origin isolation).
function clockStep() {
  let step = Infinity;
  for (let i = 0; i < 20; i++) {
    const t = now();
    let u = now();
    while (u === t) u = now();
    step = Math.min(step, u - t);
  }
  return step;
}

// A batch lasts at least 50 clock steps, so a coarse clock quantises a sample by ≤ 2 %.
const batchMinMs = (schedule, step) => Math.max(schedule.batch_min_ms, 50 * step);

async function timeModel(runners, bytes, image, schedule, minBatchMs) {
  const entries = [];
  const refused = [];
  for (const runner of runners) {
    const t0 = now();
    let loaded;
    try {
      loaded = await runner.load(bytes, image.input, image.dims);
    } catch (error) {
      // A peer that cannot run this model (TF.js and the int8 graph's QDQ ops) is reported,
      // not timed. The reference (the last runner, ORT) must load.
      if (runner === runners[runners.length - 1]) throw error;
      refused.push({ runner: runner.name, error: String(error && error.message || error) });
      continue;
    }
    const loadMs = now() - t0;
    const t1 = now();
    const logits = Array.from(await loaded.run());
    const firstMs = now() - t1;
    entries.push({ runner, loaded, loadMs, firstMs, logits, perCall: [], batch: 1 });
  }
  for (const e of entries) {
    const t0 = now();
    while (now() - t0 < schedule.warmup_ms) await callN(e.loaded, 8);
    for (;;) {
      const t = now();
      await callN(e.loaded, e.batch);
      if (now() - t >= minBatchMs) break;
      e.batch *= 2;
    }
  }
  const end = now() + schedule.duration_ms * entries.length;
  while (now() < end) {
    for (const e of entries) {
      const t = now();
      await callN(e.loaded, e.batch);
      e.perCall.push((now() - t) / e.batch);
    }
  }
  const reference = entries[entries.length - 1].logits;
  return [...refused, ...entries.map((e) => {
    const sorted = [...e.perCall].sort((a, b) => a - b);
    const at = (q) => sorted[Math.round((sorted.length - 1) * q)];
    const maxAbsDiff = Math.max(...e.logits.map((v, i) => Math.abs(v - reference[i])));
    return { runner: e.runner.name, loadMs: e.loadMs, firstMs: e.firstMs, medianMs: at(0.5), p90Ms: at(0.9),
      samples: sorted.length, batch: e.batch, maxAbsDiffVsOrt: maxAbsDiff, argmax: e.logits.indexOf(Math.max(...e.logits)) };
  })];
}

async function main() {
  const schedule = await (await fetch('../schedule.json')).json();
  const manifest = await (await fetch('../../static/demo.json')).json();
  const entry = (id) => manifest.models.find((m) => m.id === id);
  const image = await firstImage(`../../${schedule.image}`, entry(manifest.teacher).preprocess);
  const relaxed = WebAssembly.validate(relaxedSimdProbe());
  // ?variants=a,b picks other builds in ./pkg-a/, ./pkg-b/ (bench/profiles compares release
  // profiles that way); by default the two the site ships.
  const asked = new URLSearchParams(location.search).get('variants');
  const variants = asked ? asked.split(',') : ['simd', ...(relaxed ? ['relaxed'] : [])];
  const runners = [];
  for (const v of variants) runners.push(await oursRunner(v));
  if (globalThis.tf) runners.push(await tfjsRunner());
  runners.push(await ortRunner());
  const step = clockStep();
  const minBatchMs = batchMinMs(schedule, step);
  const models = [];
  // The chosen student's int8 rung too, where the manifest has one: its latency in the
  // browser is what says whether it is a faster model or only a smaller one.
  const int8 = `${manifest.student}-int8`;
  const ids = [manifest.teacher, manifest.student, ...(entry(int8) ? [int8] : [])];
  for (const id of ids) {
    status(`timing ${id}…`);
    const bytes = await fetchBytes(`../../static/${entry(id).file}`);
    models.push({ id, bytes: bytes.length, results: await timeModel(runners, bytes, image, schedule, minBatchMs) });
  }
  return { userAgent: navigator.userAgent, relaxedSimd: relaxed, schedule, clockStepMs: step, batchMinMs: minBatchMs,
    runners: runners.map((r) => ({ name: r.name, wasm: r.wasm, instantiateMs: r.instantiateMs })), models };
}

main().then(
  (result) => { window.benchResult = result; status('done'); },
  (error) => { window.benchResult = { error: String(error && error.stack || error) }; status(`failed: ${error}`); },
);
