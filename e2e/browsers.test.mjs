// The built site in Firefox (Debian's firefox-esr through geckodriver) and WebKit (WebKitGTK,
// Safari's engine, through WebKitWebDriver under Xvfb): what a visitor on an iPhone, a Mac or
// Firefox gets. Each browser loads the bundled pair, classifies the gallery, measures by
// itself (benchmark and the 1 000-image evaluation, checked against the native CLI on the
// same images), benchmarks on request, brings a dropped pair and refuses a broken file,
// recovers from a worker panic and opens presentation mode. Figures and screenshots go to
// e2e/artifacts/browsers/. Run by scripts/test after the Chromium suite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';
import { launchers } from './webdriver.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '..', process.env.DIST_DIR || 'dist');
const out = path.join(here, 'artifacts', 'browsers');
const manifest = JSON.parse(fs.readFileSync(path.join(dist, 'static', 'demo.json'), 'utf8'));
// The native CLI on the same first 1 000 test images (scripts/test writes it).
const nativeReport = path.join(here, 'artifacts', 'native-1000', 'report.json');

let server, base;
before(async () => {
  fs.mkdirSync(out, { recursive: true });
  ({ server, base } = await serve(dist));
});
after(() => server?.close());

const browsers = { firefox: launchers.firefox, webkit: launchers.webkit };

for (const [name, launch] of Object.entries(browsers)) {
  test(`${name}: the page loads, classifies, measures, brings a pair, recovers and presents`, async (t) => {
    const { session: s, stop } = await launch();
    const figures = { browser: name };
    const shot = (what) => s.screenshot(path.join(out, `${name}-${what}.png`));
    try {
      await s.setWindow(1280, 900).catch(() => {});
      await t.test('loads the bundled pair and classifies the gallery', async () => {
        await s.goto(`${base}/`);
        await s.waitFor('a prediction', 90_000, () => document.querySelectorAll('.detail .prediction').length === 2);
        await s.waitFor('the worker facts', 10_000, () => document.querySelector('.environment .fallbacks'));
        assert.equal(await s.run(() => document.querySelectorAll('.thumb').length), manifest.labels.length * 2);
        await s.waitFor('every thumbnail classified', 60_000,
          () => [...document.querySelectorAll('.thumb')].every((e) => /right|wrong|disagree/.test(e.className)));
        Object.assign(figures, await s.run(() => {
          const facts = {};
          document.querySelectorAll('.environment dt').forEach((dt) => { facts[dt.innerText] = dt.nextElementSibling?.innerText; });
          return { user_agent: navigator.userAgent, engine_build: facts['engine build'],
            timer_resolution: facts['timer resolution (worker)'], isolated: facts['cross-origin isolated'],
            engine: facts['browser engine'], fallbacks: facts['fallbacks taken'],
            folder_picker: 'webkitdirectory' in document.createElement('input') };
        }));
        assert.match(figures.engine_build, /simd128/);
        assert.match(figures.engine, { firefox: /^Gecko/, webkit: /^WebKit/ }[name]);
        // Where relaxed SIMD is missing the page runs the simd128 build and says so.
        if (!/relaxed-simd/.test(figures.engine_build)) assert.match(figures.fallbacks, /simd128 build/);
      });

      await t.test('measures by itself: the 1 000-image evaluation matches the native CLI, the gallery shows warmed medians', async () => {
        await s.waitFor('the measured verdict', 300_000, () => document.querySelector('.headline-strip .tile.verdict.measured'));
        const [teacher, student, , agreement] = await s.run(() =>
          [...document.querySelectorAll('.evaluation .metrics b')].map((b) => parseFloat(b.innerText)));
        figures.eval_1000 = { teacher, student, agreement };
        assert.ok(fs.existsSync(nativeReport), 'scripts/test writes the native 1 000-image report with `distillate bench`');
        const native = JSON.parse(fs.readFileSync(nativeReport, 'utf8')).evaluation;
        assert.equal(native.images, 1000);
        // The same engine on the same images; fused multiply-add may move a borderline image.
        assert.ok(Math.abs(teacher - native.teacher_accuracy * 100) <= 0.2, `teacher ${teacher} vs native ${native.teacher_accuracy}`);
        assert.ok(Math.abs(student - native.student_accuracy * 100) <= 0.2, `student ${student} vs native ${native.student_accuracy}`);
        const latencies = await s.run(() => [...document.querySelectorAll('.detail .latency')].map((e) => e.innerText));
        assert.ok(latencies.every((l) => /warmed median/.test(l)), latencies.join(' | '));
        await shot('measured');
      });

      await t.test('benchmarks on request', async () => {
        await s.run(() => document.querySelector('.benchmark button.primary').click());
        await s.waitFor('the benchmark to restart', 10_000,
          () => !/samples each/.test(document.querySelector('.benchmark .status')?.innerText || ''));
        await s.waitFor('the benchmark', 120_000, () => /samples each/.test(document.querySelector('.benchmark .status')?.innerText || ''));
        const rows = await s.run(() => [...document.querySelectorAll('.benchmark table.stats tr')].slice(1)
          .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText)));
        figures.teacher_median = rows[0][0];
        figures.student_median = rows[1][0];
        figures.latency_cut = await s.run(() => document.querySelector('.benchmark .headline b')?.innerText);
        assert.ok(parseFloat(rows[0][0]) > parseFloat(rows[1][0]), `teacher ${rows[0][0]}, student ${rows[1][0]}`);
      });

      await t.test('a dropped pair loads; a broken file is refused and the pair stays', async () => {
        const drop = (files) => s.runAsync(async (files) => {
          const transfer = new DataTransfer();
          for (const [fileName, url, bytes] of files) {
            const body = url ? new Uint8Array(await (await fetch(url)).arrayBuffer()) : new Uint8Array(bytes);
            transfer.items.add(new File([body], fileName));
          }
          const zone = document.querySelector('.byo .dropzone');
          zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
          zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }, files);
        await drop([['teacher-1.onnx', 'static/models/teacher-1.onnx'], ['baseline-h18.onnx', 'static/models/baseline-h18.onnx']]);
        await s.waitFor('both files picked', 10_000,
          () => /baseline-h18\.onnx/.test(document.querySelector('.byo')?.innerText || ''));
        await s.run(() => document.querySelector('.byo button.primary').click());
        await s.waitFor('the dropped pair', 60_000, () => /teacher-1\.onnx/.test(document.querySelector('.card.teacher h3')?.innerText || ''));
        const noise = Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251);
        await drop([['broken.onnx', null, noise]]);
        await s.waitFor('the broken file picked', 10_000, () => /broken\.onnx/.test(document.querySelector('.byo')?.innerText || ''));
        await s.run(() => document.querySelector('.byo button.primary').click());
        await s.waitFor('the refusal', 30_000, () => /not an ONNX model/.test(document.querySelector('.errors')?.innerText || ''));
        assert.match(await s.run(() => document.querySelector('.card.teacher h3').innerText), /teacher-1\.onnx/);
        await shot('bring-your-own');
      });

      await t.test('a worker panic is reported and a new worker takes over', async () => {
        await s.goto(`${base}/?debug=worker-panic`);
        await s.waitFor('the crash report', 60_000, () => /inference worker crashed/.test(document.querySelector('.errors')?.innerText || ''));
        await s.waitFor('predictions from the new worker', 60_000, () => document.querySelectorAll('.detail .prediction').length === 2);
      });

      await t.test('presentation mode opens and its keys move', async () => {
        await s.goto(`${base}/?view=present`);
        await s.waitFor('the models slide', 60_000, () => document.querySelector('.present .big-table'));
        await shot('present');
        await s.run(() => document.querySelector('.present').dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true })));
        await s.waitFor('the latency slide', 5_000, () => document.querySelector('.present .slide')?.dataset.slide === '1');
      });
    } finally {
      fs.writeFileSync(path.join(out, `${name}.json`), JSON.stringify(figures, null, 2));
      await s.quit();
      stop();
    }
  });
}
