// Turns bench/run's JSON (native-ours, native-ort, browser, cross-browser) into docs/benchmarks.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execSync } from 'node:child_process';

const dir = process.argv[2] || 'bench/artifacts';
const read = (name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
// A part of the run that may be missing (run alone, or an older run's artifacts).
const readIf = (name) => (fs.existsSync(path.join(dir, name)) ? read(name) : null);
const browser = read('browser.json');
const nativeOurs = read('native-ours.json');
const nativeOrt = read('native-ort.json');
const f = (v, digits = 3) => (v == null || Number.isNaN(v) ? '—' : v.toFixed(digits));
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const sh = (cmd) => { try { return execSync(cmd, { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } };

const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.cpus()[0]?.model;
const lines = [];
const out = (s = '') => lines.push(s);
out('# Benchmarks');
out();
out(`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`bench/run\` at commit ${sh('git rev-parse --short HEAD')}` +
  // The file this writes does not count: the previous run's copy is usually uncommitted.
  `${sh("git status --porcelain --untracked-files=no -- . ':!docs/benchmarks.md'") ? ' (with uncommitted changes)' : ''}.`);
out(`Machine: ${cpu}, ${os.cpus().length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${sh('uname -sr')}; ` +
  `headless Chromium ${browser.chromium}. Models: the bundled demo pair (\`static/demo.json\`).`);
const s = browser.engines.schedule;
out(`Schedule (\`bench/schedule.json\`, the same for every runner): ${s.warmup_ms} ms warm-up, then samples of as many ` +
  `back-to-back single-image calls as last ≥ ${s.batch_min_ms} ms, for ${s.duration_ms} ms per runner; the first test image as input. ` +
  'In the browser the runners\' samples are interleaved in one page.');
out();

out('## Browser: Distillate engine vs onnxruntime-web and TensorFlow.js');
out();
out('Runners: our two wasm builds; TensorFlow.js with its wasm backend (XNNPACK), running the same ONNX graph mapped ' +
  'op by op onto TF.js ops (`bench/page/tfjs-runner.js`: NHWC, weights transposed once, Conv + Relu as one fused ' +
  'conv2d, as tfjs-converter would make it); onnxruntime-web, the reference for the logits. All on one thread.');
out();
out('| model | runner | load ms | first inference ms | median ms | p90 ms | ours / ORT | ours / TF.js | max \\|Δ logit\\| vs ORT |');
out('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const m of browser.engines.models) {
  const ort = m.results[m.results.length - 1];
  const tfjs = m.results.find((r) => r.runner.startsWith('TensorFlow.js') && !r.error);
  for (const r of m.results) {
    if (r.error) { out(`| ${m.id} | ${r.runner} | — | — | — | — | — | — | could not run: ${r.error.replace(/\|/g, '/')} |`); continue; }
    const ours = r.runner.startsWith('Distillate');
    const ratio = (peer) => (ours && peer ? f(r.medianMs / peer.medianMs, 2) : '—');
    out(`| ${m.id} | ${r.runner} | ${f(r.loadMs, 1)} | ${f(r.firstMs, 2)} | ${f(r.medianMs)} | ${f(r.p90Ms)} | ${ratio(ort)} | ${ratio(tfjs)} | ${r === ort ? '—' : r.maxAbsDiffVsOrt.toExponential(1)} |`);
  }
}
out();
out('| runner | wasm | raw | gzip -9 | instantiate ms |');
out('|---|---|---:|---:|---:|');
for (const r of browser.engines.runners) {
  if (!fs.existsSync(path.join('bench/page', r.wasm))) continue;
  const bytes = fs.readFileSync(path.join('bench/page', r.wasm));
  const gz = zlib.gzipSync(bytes, { level: 9 }).length;
  out(`| ${r.name} | \`${r.wasm}\` | ${mb(bytes.length)} | ${mb(gz)} | ${r.instantiateMs == null ? 'in first load' : f(r.instantiateMs, 1)} |`);
}
out();
out('Our modules are built as the site\'s worker is: profile `wasm-release` (Cargo.toml), bindings without the ' +
  '`name` and `producers` sections. `bench/profiles` compares release profiles (docs/release-profiles.md).');
out();
out(`Relaxed SIMD supported by this browser: ${browser.engines.relaxedSimd ? 'yes' : 'no'}.`);
out();

if (browser.site) {
  out('## The site (`dist/`, as `scripts/build` makes it)');
  out();
  const site = browser.site;
  const files = fs.readdirSync('dist').filter((n) => n.endsWith('.wasm'));
  out('| file | raw | gzip -9 |');
  out('|---|---:|---:|');
  for (const n of files) {
    const bytes = fs.readFileSync(path.join('dist', n));
    out(`| \`${n}\` | ${mb(bytes.length)} | ${mb(zlib.gzipSync(bytes, { level: 9 }).length)} |`);
  }
  out();
  if (site.firstPredictionShownMs) {
    out(`- Cold load to first prediction (fresh browser context, localhost, ${site.firstPredictionShownMs.length} runs; on the page's clock, from navigation start until the first prediction is in the DOM): ${site.firstPredictionShownMs.map((v) => `${Math.round(v)} ms`).join(', ')}.`);
  }
  out(`- The same loads on the harness's wall clock (from Playwright's \`goto\` until its locator sees the prediction; adds its navigation and polling): ${site.coldLoadMs.map((v) => `${v} ms`).join(', ')}.`);
  if (site.timelines && site.timelines.some((t) => Object.keys(t).length)) {
    // Median of each milestone over the runs, in the order reached.
    const keys = [...new Set(site.timelines.flatMap((t) => Object.keys(t)))];
    const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
    const rows = keys.map((k) => [k, median(site.timelines.map((t) => t[k]).filter((v) => v !== undefined))]).sort((a, b) => a[1] - b[1]);
    out('');
    out('Where a cold load spends its time (the page\'s own timeline, ms since navigation, median of the runs):');
    out('');
    out('| milestone | ms | since the previous |');
    out('|---|---:|---:|');
    rows.forEach(([k, v], i) => out(`| ${k.replace(/_/g, ' ')} | ${v.toFixed(0)} | ${i ? (v - rows[i - 1][1]).toFixed(0) : ''} |`));
    out('');
  }
  out(`- Full evaluation, 10 000 test images through both models: ${(site.fullEvaluationMs / 1000).toFixed(1)} s (page says: “${site.fullEvaluationStatus.replace(/\s+/g, ' ')}”).`);
  if (site.throughput) out(`- Throughput mode: ${site.throughput.replace(/\s+/g, ' ').replace(/\.$/, '')}.`);
  if (site.environment) out(`- Environment card: ${site.environment.replace(/\s+/g, ' ')}.`);
  out();
}

const cross = readIf('cross-browser.json');
if (cross) {
  out('## Every browser: Chromium, Firefox and WebKit');
  out();
  out('The same engine page in each browser, one after another, each through its WebDriver (`bench/cross_browser.mjs`): ' +
    'Debian\'s Chromium, Firefox ESR and WebKitGTK\'s MiniBrowser (Safari\'s engine). Where the clock is coarse a sample ' +
    'lasts at least 50 clock steps. Median ms per image; the ratios are our faster build over the peer.');
  out();
  out('| model | browser | clock step | relaxed SIMD | ours, simd128 | ours, relaxed | TF.js wasm | onnxruntime-web | ours / ORT | ours / TF.js |');
  out('|---|---|---:|---|---:|---:|---:|---:|---:|---:|');
  const engine = (ua) => (/Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chromium' : 'WebKit');
  const rows = [];
  for (const [name, e] of Object.entries(cross)) {
    if (e.error) { out(`| — | ${name} | — | — | could not run: ${String(e.error).replace(/\|/g, '/').slice(0, 160)} | | | |`); continue; }
    const version = (e.userAgent.match(/(?:Firefox|Chrome|Version)\/([\d.]+)/) || [])[1] || '';
    e.models.forEach((m) => {
      const by = (prefix) => m.results.find((r) => r.runner.startsWith(prefix));
      const [simd, relaxed, tfjs, ort] = [by('Distillate simd'), by('Distillate relaxed'), by('TensorFlow.js'), by('onnxruntime-web')];
      const best = Math.min(simd?.medianMs ?? Infinity, relaxed?.medianMs ?? Infinity);
      const tfjsMs = tfjs && !tfjs.error ? tfjs.medianMs : null;
      rows.push([m.id, `| ${m.id} | ${engine(e.userAgent)} ${version} | ${f(e.clockStepMs, 1)} ms | ${e.relaxedSimd ? 'yes' : 'no'} | ` +
        `${f(simd?.medianMs)} | ${relaxed ? f(relaxed.medianMs) : '—'} | ${f(tfjsMs)} | ${f(ort?.medianMs)} | ` +
        `${ort ? f(best / ort.medianMs, 2) : '—'} | ${tfjsMs ? f(best / tfjsMs, 2) : '—'} |`]);
    });
  }
  // Grouped by model, in the order the page times them (teacher, student, int8).
  const order = [...new Set(rows.map(([id]) => id))];
  rows.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).forEach(([, row]) => out(row));
  out();
}

const tiles = readIf('tiles.json');
if (tiles) {
  const native = readIf('tiles-native.json');
  out('## Convolution kernels (the engine\'s direct tiles and Winograd, `bench/tiles.mjs`)');
  out();
  out('GMAC/s (the layer\'s direct multiply-adds per second, for Winograd too) of each micro-kernel tile (output channels × pixels) and of the Winograd F(2,3) path on each 3×3 layer of the bundled models, random ' +
    'weights, one image, best of five samples of ≥ 100 ms after 100 ms of warm-up (`bench/src/tiles.rs`). *Peak* is a ' +
    'loop of 12 independent 4-lane multiply-adds with no memory access in the same build: what one core gives wasm ' +
    'SIMD at most here. The op uses Winograd from 8 input channels (`WINOGRAD_MIN_CIN`), else the direct kernel with 4×8 tiles in the simd128 build and 6×8 with relaxed SIMD (`Tile::DEFAULT`; Winograd\'s products use them too).');
  const table = (label, v) => {
    out();
    out(`${label}${v.peakGmacs ? ` — peak ${f(v.peakGmacs, 1)} GMAC/s` : ''}:`);
    out();
    out(`| layer | MACs | ${v.tiles.join(' | ')} |`);
    out(`|---|---:|${v.tiles.map(() => '---:').join('|')}|`);
    v.layers.forEach((l, i) => {
      const best = Math.max(...v.gmacs[i]);
      out(`| ${l.model} ${l.shape} | ${(l.macs / 1e6).toFixed(2)} M | ${v.gmacs[i].map((g) => (g === best ? `**${f(g, 1)}**` : f(g, 1))).join(' | ')} |`);
    });
  };
  for (const v of tiles.variants) table(`Chromium ${tiles.chromium}, ${v.variant} build (${v.simd})`, v);
  if (native) table(`Natively, ${native.runner}`, native);
  out();
}

const fidelity = readIf('fidelity.json');
if (fidelity) {
  out('## Fidelity: the engine\'s convolutions against tract\'s');
  out();
  out('Every test image through each bundled model twice, natively: with the engine\'s own convolutions (the portable ' +
    'build of the kernels the browser runs: the same sums in the same order, without fused multiply-add) and with ' +
    'tract\'s (`bench-native --fidelity`).');
  out();
  out('| model | images | max \\|Δ logit\\| | images whose top-1 differs |');
  out('|---|---:|---:|---:|');
  for (const m of fidelity.models) {
    out(`| ${m.id} | ${m.images} | ${m.max_abs_logit_diff.toExponential(1)} | ${m.top1_differs.length} |`);
  }
  out();
}

out('## Native: Distillate engine (tract) vs onnxruntime (PyPI)');
out();
out('| model | runner | load ms | first inference ms | median ms | p90 ms | ours / ORT (median) |');
out('|---|---|---:|---:|---:|---:|---:|');
nativeOurs.models.forEach((m, i) => {
  const o = nativeOrt.models[i];
  out(`| ${m.id} | ${nativeOurs.runner} | ${f(m.load_ms, 1)} | ${f(m.first_ms, 2)} | ${f(m.median_ms)} | ${f(m.p90_ms)} | ${f(m.median_ms / o.median_ms, 2)} |`);
  out(`| ${o.id} | ${nativeOrt.runner} | ${f(o.load_ms, 1)} | ${f(o.first_ms, 2)} | ${f(o.median_ms)} | ${f(o.p90_ms)} | — |`);
});
out();
console.log(lines.join('\n'));
