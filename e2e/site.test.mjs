// End-to-end tests of the built site (dist/) in Debian's headless Chromium.
// Run by scripts/test after `trunk build --release`; screenshots go to e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '..', process.env.DIST_DIR || 'dist');
const artifacts = path.join(here, 'artifacts');
// The same site built with `trunk build --public-url /distillate/` (scripts/test), served
// under that path as a project page on GitHub Pages would be.
const SUB_PATH = '/distillate/';
const distSub = path.join(artifacts, 'dist-sub');
let server, base, browser;

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  ({ server, base } = await serve(dist, { [SUB_PATH]: distSub }));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A page that records uncaught errors and panics. */
async function open(query = '') {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(`${base}/${query}`);
  return { page, problems };
}

async function number(locator) {
  return parseFloat((await locator.innerText()).replace(/[^0-9.+-]/g, ''));
}

const manifest = JSON.parse(fs.readFileSync(path.join(dist, 'static', 'demo.json'), 'utf8'));
const card = (id) => JSON.parse(fs.readFileSync(path.join(dist, 'static', `models/${id}.card.json`), 'utf8'));

test('the page loads both bundled models, the gallery and predictions', async () => {
  const { page, problems } = await open();
  await page.locator('.card.teacher').waitFor({ timeout: 30_000 });
  await page.locator('.detail .prediction').first().waitFor({ timeout: 30_000 });
  // Before the page's own benchmark, a prediction's timing says it is a first call.
  if (await page.locator('.benchmark table.stats').count() === 0) {
    assert.match(await page.locator('.detail .latency').first().innerText(), /first calls, before warm-up/);
  }
  assert.match(await page.locator('.card.teacher h3').innerText(), /Teacher/);
  assert.equal(await page.locator('.thumb').count(), manifest.labels.length * 2);
  assert.equal(await page.locator('.ladder .point').count(), manifest.models.length);
  // Chromium supports relaxed SIMD, so the page picked the worker built with it.
  await page.locator('.environment dd', { hasText: 'relaxed-simd' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('.environment .browser-engine').innerText(), 'Blink (Chromium)');
  // The page timed its own load: every milestone, each after the ones it waits for.
  const timeline = page.locator('.load-timeline');
  await page.waitForFunction(() => JSON.parse(document.querySelector('.load-timeline').dataset.timeline).first_prediction);
  const t = JSON.parse(await timeline.getAttribute('data-timeline'));
  for (const k of ['app_started', 'worker_spawned', 'worker_running', 'worker_ready', 'models_fetched', 'models_loaded',
    'samples_fetched', 'samples_decoded', 'first_prediction']) assert.ok(t[k] > 0, `${k} in ${JSON.stringify(t)}`);
  const before = (a, b) => assert.ok(t[a] <= t[b], `${a} after ${b}: ${JSON.stringify(t)}`);
  before('worker_spawned', 'worker_running');
  before('worker_running', 'worker_ready');
  before('worker_ready', 'models_loaded');
  before('models_fetched', 'models_loaded');
  before('samples_fetched', 'samples_decoded');
  before('models_loaded', 'first_prediction');
  before('samples_decoded', 'first_prediction');
  assert.match(await timeline.innerText(), /^first prediction \d+ ms after navigation: /);
  await page.screenshot({ path: path.join(artifacts, 'loaded.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the headline strip: the verdict and its figures above the fold at once, then measured here without a click', async () => {
  const { page, problems } = await open();
  const strip = page.locator('.headline-strip');
  // Model-card figures the moment the pair is in, labelled as such.
  await strip.locator('.tile.verdict.card').waitFor({ timeout: 30_000 });
  const student = card(manifest.student);
  assert.match(await strip.locator('.tile.verdict .big').innerText(), /Ready/);
  assert.match(await strip.locator('.tile.verdict .src').innerText(), /model card/);
  assert.match(await strip.locator('.tile.accuracy .small').innerText(),
    new RegExp(`agreement ${(student.teacher_agreement * 100).toFixed(2)} %`));
  const box = await strip.boundingBox();
  assert.ok(box.y + box.height <= 900, `the strip ends at ${box.y + box.height} px, below the fold`);
  // The page measures by itself: the latency, then the verdict, from this browser.
  await strip.locator('.tile.speed.measured').waitFor({ timeout: 90_000 });
  assert.ok((await number(strip.locator('.tile.speed .big'))) > 1);
  // One latency per model: the gallery shows the benchmark's warmed medians, not its first calls.
  const latencies = page.locator('.detail .latency');
  assert.deepEqual(await latencies.allInnerTexts(), (await page.locator('.benchmark table.stats tr td:nth-of-type(1)').allInnerTexts())
    .map((median) => `${median} warmed median (benchmark)`));
  await strip.locator('.tile.verdict.measured').waitFor({ timeout: 120_000 });
  assert.match(await strip.locator('.tile.verdict .src').innerText(), /measured in this browser on 1,000 images/);
  assert.match(await strip.locator('.tile.accuracy .src').innerText(), /measured/);
  assert.equal(await strip.locator('.measuring').count(), 0, 'nothing left measuring');
  // The same engine on the same 1 000 images as the native CLI (scripts/test writes its report).
  const native = path.join(artifacts, 'native-1000', 'report.json');
  assert.ok(fs.existsSync(native), 'scripts/test writes the native 1 000-image report with `distillate bench`');
  const { evaluation } = JSON.parse(fs.readFileSync(native, 'utf8'));
  const [teacherAcc, studentAcc] = (await page.locator('.evaluation .metrics b').allInnerTexts()).map(parseFloat);
  assert.ok(Math.abs(teacherAcc - evaluation.teacher_accuracy * 100) <= 0.2, `teacher ${teacherAcc} vs native ${evaluation.teacher_accuracy}`);
  assert.ok(Math.abs(studentAcc - evaluation.student_accuracy * 100) <= 0.2, `student ${studentAcc} vs native ${evaluation.student_accuracy}`);
  await page.screenshot({ path: path.join(artifacts, 'headline.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the ladder: on request every model is timed in this browser and the plot redraws with those figures, labelled', async () => {
  const { page, problems } = await open();
  const ladder = page.locator('.ladder');
  await ladder.locator('.point').first().waitFor({ timeout: 30_000 });
  await page.locator('.gallery .thumb').first().waitFor({ timeout: 30_000 });
  const legendMs = async () => (await ladder.locator('.legend li').allInnerTexts())
    .map((t) => parseFloat(t.match(/— ([\d.]+) ms/)[1]));
  const cards = await legendMs();
  assert.match(await ladder.locator('svg').textContent(), /native latency per image, model cards/);
  await ladder.locator('button', { hasText: 'Time every model' }).click();
  await ladder.locator('.rungs .status', { hasText: 'timing…' }).waitFor({ timeout: 10_000 });
  await ladder.locator('.rungs .status', { hasText: `${manifest.models.length} models timed in this browser` })
    .waitFor({ timeout: 120_000 });
  assert.match(await ladder.locator('svg').textContent(), /latency per image in this browser/);
  assert.match(await ladder.locator('.note').first().innerText(), /measured in this browser now/);
  assert.equal(await ladder.locator('.point').count(), manifest.models.length);
  const timed = await legendMs();
  assert.notDeepEqual(timed, cards);
  // The teacher (first in the manifest) is the slowest model here too.
  assert.ok(timed.every((ms) => ms > 0 && ms <= timed[0]), timed.join(', '));
  await ladder.screenshot({ path: path.join(artifacts, 'ladder-timed.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the benchmark finishes with positive latencies and a latency cut', async () => {
  const { page, problems } = await open();
  await page.locator('.benchmark button.primary:not([disabled])').waitFor({ timeout: 30_000 });
  await page.locator('.benchmark button.primary').click();
  await page.locator('.benchmark .status', { hasText: 'samples each' }).waitFor({ timeout: 60_000 });
  const teacher = await number(page.locator('.benchmark tr.teacher td').first());
  const student = await number(page.locator('.benchmark tr.student td').first());
  assert.ok(teacher > 0 && student > 0, `latencies ${teacher}, ${student}`);
  assert.match(await page.locator('.benchmark .headline').innerText(), /Latency cut/);
  await page.screenshot({ path: path.join(artifacts, 'benchmark.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('throughput mode: one worker per core measures images per second of both models', async () => {
  const { page, problems } = await open();
  const run = page.locator('.throughput button.primary:not([disabled])');
  await run.waitFor({ timeout: 30_000 });
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.match(await page.locator('.throughput .note').innerText(), new RegExp(`${cores} worker`));
  await run.click();
  await page.locator('.throughput .status', { hasText: 'workers' }).waitFor({ timeout: 5_000 });
  await page.locator('.throughput .result').waitFor({ timeout: 120_000 });
  const [teacher, student] = (await page.locator('.throughput .result b').allInnerTexts())
    .map((t) => parseFloat(t.replace(/,/g, '')));
  assert.ok(teacher > 0 && student > teacher, `teacher ${teacher}/s, student ${student}/s`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('evaluating all test images reproduces the model cards within 0.5 point', async () => {
  const { page, problems } = await open();
  const all = page.locator('.evaluation button', { hasText: 'All' });
  await page.locator('.evaluation button.primary:not([disabled])').waitFor({ timeout: 30_000 });
  await all.click();
  // The page stays responsive while the workers evaluate: a main-thread round trip is quick.
  await page.locator('.evaluation .progress').waitFor({ timeout: 10_000 });
  const t0 = Date.now();
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
  assert.ok(Date.now() - t0 < 1_000, `main thread blocked for ${Date.now() - t0} ms during evaluation`);
  await page.locator('.evaluation .status', { hasText: 'images/s' }).waitFor({ timeout: 180_000 });
  // Split between one worker per core (headless Chromium reports the machine's cores).
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const status = await page.locator('.evaluation .status').innerText();
  assert.match(status, cores > 1 ? new RegExp(`${Math.min(cores, 8)} workers in parallel`) : /1 worker/);
  assert.match(status, /^10,?000 \/ 10,?000 images/);
  const values = await page.locator('.evaluation .metrics b').allInnerTexts();
  const [teacherAcc, studentAcc] = values.slice(0, 2).map((v) => parseFloat(v));
  const expected = [card(manifest.teacher).test_accuracy * 100, card(manifest.student).test_accuracy * 100];
  assert.ok(Math.abs(teacherAcc - expected[0]) <= 0.5, `teacher ${teacherAcc} vs card ${expected[0]}`);
  assert.ok(Math.abs(studentAcc - expected[1]) <= 0.5, `student ${studentAcc} vs card ${expected[1]}`);
  await page.screenshot({ path: path.join(artifacts, 'evaluation.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('stopping an evaluation keeps the numbers of the images it did', async () => {
  const { page, problems } = await open();
  await page.locator('.evaluation button.primary:not([disabled])').waitFor({ timeout: 30_000 });
  await page.locator('.evaluation button', { hasText: 'All' }).click();
  await page.locator('.evaluation .metrics b').first().waitFor({ timeout: 30_000 });
  await page.locator('.evaluation button', { hasText: 'Stop' }).click();
  // The buttons are back, the workers are gone, and the status says how many images the
  // numbers stand for: all of those it names, none pending.
  await page.locator('.evaluation button', { hasText: 'All' }).waitFor({ timeout: 5_000 });
  const status = await page.locator('.evaluation .status').innerText();
  const [done, total] = status.match(/^(\d+) \/ (\d+) images/).slice(1).map(Number);
  assert.ok(done > 0 && done === total && done < 10_000, status);
  await page.waitForTimeout(1_000);
  assert.equal(await page.locator('.evaluation .status').innerText(), status, 'nothing arrives after Stop');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a broken manifest URL shows a clear error instead of a blank page', async () => {
  const { page } = await open('?manifest=static/style.css');
  const error = page.locator('.errors');
  await error.waitFor({ timeout: 30_000 });
  assert.match(await error.innerText(), /invalid manifest/);
  const missing = await open('?manifest=nothing-here.json');
  await missing.page.locator('.errors').waitFor({ timeout: 30_000 });
  assert.match(await missing.page.locator('.errors').innerText(), /HTTP 404/);
  await missing.page.screenshot({ path: path.join(artifacts, 'broken-manifest.png'), fullPage: true });
  await page.close();
  await missing.page.close();
});

test('bring your own: a second pair loads, a broken file is refused and the pair stays', async () => {
  const byo = path.join(artifacts, 'byo');
  assert.ok(fs.existsSync(path.join(byo, 'teacher.onnx')), 'scripts/test writes the BYO models with `distillate synth`');
  fs.writeFileSync(path.join(byo, 'broken.onnx'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  const { page, problems } = await open();
  await page.locator('.card.teacher').waitFor({ timeout: 30_000 });
  const inputs = page.locator('.byo .inputs input[type=file]');
  await inputs.nth(0).setInputFiles(path.join(byo, 'teacher.onnx'));
  await inputs.nth(1).setInputFiles(path.join(byo, 'student.onnx'));
  await page.locator('.byo label', { hasText: 'student ONNX: student.onnx' }).waitFor({ timeout: 10_000 });
  await page.locator('.byo button.primary').click();
  await page.locator('.card.teacher h3', { hasText: 'teacher.onnx' }).waitFor({ timeout: 30_000 });
  assert.match(await page.locator('.card.student').innerText(), /3×32×32/);

  await inputs.nth(0).setInputFiles(path.join(byo, 'broken.onnx'));
  await page.locator('.byo label', { hasText: 'teacher ONNX: broken.onnx' }).waitFor({ timeout: 10_000 });
  await page.locator('.byo button.primary').click();
  await page.locator('.errors', { hasText: 'not an ONNX model' }).waitFor({ timeout: 30_000 });
  assert.match(await page.locator('.card.teacher h3').innerText(), /teacher\.onnx/);
  await page.screenshot({ path: path.join(artifacts, 'bring-your-own.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

// The bug this guards: the page keyed its effects on the models' cards, so loading a pair
// whose cards equal the current one's left the gallery on "Classifying…". Pairs are numbered
// now (the page's <main data-pair>): each load is classified, even of the same files.
test('the same pair loaded twice is classified again each time', async () => {
  const byo = path.join(artifacts, 'byo');
  const { page, problems } = await open();
  await page.locator('main[data-pair="1"] .detail .prediction').first().waitFor({ timeout: 30_000 });
  const inputs = page.locator('.byo .inputs input[type=file]');
  for (const pair of [2, 3]) {
    await inputs.nth(0).setInputFiles(path.join(byo, 'teacher.onnx'));
    await inputs.nth(1).setInputFiles(path.join(byo, 'student.onnx'));
    await page.locator('.byo label', { hasText: 'student ONNX: student.onnx' }).waitFor({ timeout: 10_000 });
    await page.locator('.byo button.primary').click();
    await page.locator(`main[data-pair="${pair}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    // Every thumbnail gets this pair's verdict (right, wrong or disagree) again.
    await page.waitForFunction((n) => document.querySelectorAll('.thumb.right, .thumb.wrong, .thumb.disagree').length === n,
      manifest.labels.length * 2, { timeout: 30_000 });
    await page.locator('.gallery .detail .prediction').first().waitFor({ timeout: 10_000 });
  }
  assert.match(await page.locator('.card.teacher h3').innerText(), /teacher\.onnx/);
  assert.deepEqual(problems, []);
  await page.close();
});

/** Clicks `button` and returns the text of the file the page offers for download. */
async function downloaded(page, button, name) {
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  assert.equal(download.suggestedFilename(), name);
  const file = path.join(artifacts, `export-${name}`);
  await download.saveAs(file);
  return fs.readFileSync(file, 'utf8');
}

/** Runs the benchmark and the quick evaluation, so every section has numbers. */
async function measure(page) {
  await page.locator('.benchmark button.primary:not([disabled])').waitFor({ timeout: 30_000 });
  await page.locator('.benchmark button.primary').click();
  await page.locator('.benchmark .status', { hasText: 'samples each' }).waitFor({ timeout: 60_000 });
  await page.locator('.evaluation button.primary').click();
  await page.locator('.evaluation .status', { hasText: 'images/s' }).waitFor({ timeout: 60_000 });
}

test('export: Markdown and JSON reports and the scorecard image hold the measured numbers', async () => {
  const { page, problems } = await open();
  await measure(page);
  const md = await downloaded(page, page.locator('.export button', { hasText: 'Markdown' }), 'report.md');
  for (const section of ['## Models', '## Latency', '## Accuracy and fidelity', '## Cost per order', '## Readiness']) {
    assert.ok(md.includes(section), `report.md lacks ${section}`);
  }
  const json = JSON.parse(await downloaded(page, page.locator('.export button', { hasText: 'JSON' }), 'report.json'));
  assert.equal(json.version, 1);
  assert.equal(json.environment.target, 'wasm32 (browser)');
  assert.equal(json.evaluation.images, 1000);
  assert.ok(json.latency.teacher.median > 0 && json.latency.student.median > 0);
  assert.ok(typeof json.verdict.ready === 'boolean');
  const svg = await downloaded(page, page.locator('.export button', { hasText: 'Scorecard' }), 'scorecard.svg');
  assert.match(svg, /^<svg[^>]+width="1200"/);
  assert.match(svg, /READY TO SHIP|NOT READY/);
  // The image renders: load it into the page and draw it.
  const size = await page.evaluate(async (text) => {
    const img = new Image();
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
    await img.decode();
    return [img.naturalWidth, img.naturalHeight];
  }, svg);
  assert.deepEqual(size, [1200, 630]);
  await page.screenshot({ path: path.join(artifacts, 'export.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('device reports: two devices stand beside the browser, price the cost and go into the export; another pair and a broken file are refused', async () => {
  // The CLI's own reports of the bundled pair, natively and as the aarch64 build under qemu
  // (scripts/cross --check keeps them for this test).
  const dir = path.join(artifacts, 'devices');
  const devices = ['native.json', 'aarch64-qemu.json'].map((f) => path.join(dir, f));
  for (const f of devices) assert.ok(fs.existsSync(f), `${f}: scripts/test writes it (CROSS_REPORTS)`);
  const arm = JSON.parse(fs.readFileSync(devices[1], 'utf8'));
  const { page, problems } = await open();
  const input = page.locator('.devices input[type=file]');
  await page.locator('.devices input[type=file]:not([disabled])').waitFor({ timeout: 30_000 });
  await input.setInputFiles(devices);
  const rows = page.locator('.devices tr.device');
  await rows.nth(1).waitFor({ timeout: 10_000 });
  assert.deepEqual(await page.locator('.devices tr.device td:nth-of-type(1)').allInnerTexts(), ['native.json', 'aarch64-qemu.json']);
  const rowMs = await number(rows.nth(1).locator('td').nth(2));
  assert.ok(Math.abs(rowMs - arm.latency.student.median) <= 0.01 * arm.latency.student.median + 0.001,
    `row shows ${rowMs} ms, the ARM report's student median is ${arm.latency.student.median}`);
  // The cost panel prices with the ARM report's medians and says whose they are.
  await rows.nth(1).locator('button', { hasText: 'price the cost' }).click();
  await page.locator('.cost .src', { hasText: 'its own report' }).waitFor({ timeout: 10_000 });
  const costMs = await number(page.locator('.cost tr.student td').first());
  assert.ok(Math.abs(costMs - arm.latency.student.median) <= 0.01 * arm.latency.student.median + 0.001,
    `cost priced at ${costMs} ms, the ARM report's student median is ${arm.latency.student.median}`);
  assert.equal(await page.locator('.scorecard .device-verdicts li').count(), 2);
  await page.locator('.devices').screenshot({ path: path.join(artifacts, 'devices.png') });

  // Another pair's report (a retrained student: same shapes, other file) and a broken file.
  const other = JSON.parse(fs.readFileSync(devices[0], 'utf8'));
  other.student.card.sha256 = '0'.repeat(64);
  const otherFile = path.join(dir, 'other-pair.json');
  const brokenFile = path.join(dir, 'broken.json');
  fs.writeFileSync(otherFile, JSON.stringify(other));
  fs.writeFileSync(brokenFile, '{ "version": 1, ');
  await input.setInputFiles([otherFile, brokenFile]);
  await page.locator('.errors p', { hasText: 'broken.json' }).waitFor({ timeout: 10_000 });
  const errors = await page.locator('.errors p').allInnerTexts();
  assert.ok(errors.some((e) => e.includes('other-pair.json measured another student')), errors.join('\n'));
  assert.equal(await rows.count(), 2, 'refused reports change nothing');

  // The export carries both devices.
  const md = await downloaded(page, page.locator('.export button', { hasText: 'Markdown' }), 'report.md');
  assert.ok(md.includes('## Other devices') && md.includes('aarch64-qemu.json') && md.includes('native.json'), md);
  assert.match(md, /Priced at the median latencies measured on .+, from its own report\./);
  const json = JSON.parse(await downloaded(page, page.locator('.export button', { hasText: 'JSON' }), 'report.json'));
  assert.deepEqual(json.devices.map((d) => d.label), ['native.json', 'aarch64-qemu.json']);
  assert.equal(json.cost_latency, 'device');

  // The presentation's latency slide names both devices; removing one leaves the other.
  await page.locator('header button', { hasText: 'Present' }).click();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('.present .device-lines li').count(), 2);
  await page.keyboard.press('Escape');
  await rows.nth(0).locator('button', { hasText: 'remove' }).click();
  assert.deepEqual(await page.locator('.devices tr.device td:nth-of-type(1)').allInnerTexts(), ['aarch64-qemu.json']);
  assert.deepEqual(problems, []);
  await page.close();
});

test('no screen from 360 to 2560 px scrolls sideways, light or dark, on the page and in presentation mode; on a touch phone every control is ≥ 44 px and the title is clear', async () => {
  const widths = [360, 390, 768, 1024, 1440, 1920, 2560];
  // The document's width for the page; the slides are a fixed layer, whose overflow never
  // widens the document, so for them the layer's own content width counts.
  const overflow = (page, selector = null) => page.evaluate((selector) => {
    const box = selector ? document.querySelector(selector) : document.documentElement;
    const limit = selector ? box.clientWidth : innerWidth;
    const over = [...box.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > limit + 1)
      .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    return { width: box.scrollWidth, inner: limit, over };
  }, selector);
  for (const theme of ['light', 'dark']) {
    const { page, problems } = await open(`?theme=${theme}`);
    // Measured, so the latency, cost and device tables are there at their widest.
    await measure(page);
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 });
      const o = await overflow(page);
      assert.ok(o.width <= o.inner, `${theme} ${width}px: page is ${o.width}px wide; overflowing: ${o.over.join(', ')}`);
      if (width === 390 || width === 1440) {
        await page.screenshot({ path: path.join(artifacts, `responsive-${width}-${theme}.png`), fullPage: true });
      }
    }
    await page.locator('header button', { hasText: 'Present' }).click();
    for (const width of widths) {
      await page.setViewportSize({ width, height: Math.round(width * 0.5625) });
      for (let slide = 0; slide < 5; slide++) {
        await page.keyboard.press(String(slide + 1));
        const o = await overflow(page, '.present');
        assert.ok(o.width <= o.inner, `${theme} presentation ${width}px slide ${slide + 1}: ${o.width}px; ${o.over.join(', ')}`);
      }
    }
    assert.deepEqual(problems, []);
    await page.close();
  }
  // A phone with a touch screen: every control at least 44 px tall, the header's buttons
  // clear of the title.
  const phone = await browser.newContext({ viewport: { width: 360, height: 780 }, hasTouch: true, isMobile: true });
  const tab = await phone.newPage();
  await tab.goto(`${base}/`);
  await tab.locator('.detail .prediction').first().waitFor({ timeout: 30_000 });
  const small = await tab.evaluate(() => [...document.querySelectorAll('button, input, select, textarea')]
    .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
    .slice(0, 5).map((e) => `${e.tagName.toLowerCase()} "${(e.textContent || e.type).trim().slice(0, 24)}" ${e.getBoundingClientRect().height}px`));
  assert.deepEqual(small, []);
  const covered = await tab.evaluate(() => {
    const title = document.querySelector('header h1').getBoundingClientRect();
    return [...document.querySelectorAll('header button')].map((b) => b.getBoundingClientRect())
      .some((r) => r.left < title.right && r.right > title.left && r.top < title.bottom && r.bottom > title.top);
  });
  assert.equal(covered, false, 'a header button covers the title');
  await tab.screenshot({ path: path.join(artifacts, 'phone-touch.png') });
  await phone.close();
});

test('a shared link restores its settings, measures again and keeps the address in sync', async () => {
  const { page, problems } = await open('?orders_per_day=1234&min_agreement=0.9&theme=dark');
  await page.locator('.from-link').waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
  // The link's values replace the manifest's as soon as the manifest is in.
  await page.waitForFunction(() => document.querySelector('.cost .inputs input')?.value === '1234', null,
    { timeout: 30_000 });
  // Latency is not in the link: the page measures it again by itself. A number typed while
  // it measures survives the progress re-rendering the page until it is committed.
  const field = page.locator('.cost .inputs input').nth(1);
  await field.fill('5');
  await page.locator('.benchmark .status', { hasText: 'samples each' }).waitFor({ timeout: 90_000 });
  assert.equal(await field.inputValue(), '5');
  await field.press('Enter');
  await field.blur();
  await page.waitForFunction(() => location.search.includes('items_per_order=5'), null, { timeout: 10_000 });
  const search = await page.evaluate(() => location.search);
  assert.match(search, /orders_per_day=1234/);
  assert.match(search, /min_agreement=0.9/);
  assert.equal(await page.locator('.export .share input').inputValue(), `${base}/${search}`);
  await page.screenshot({ path: path.join(artifacts, 'shared-link-dark.png'), fullPage: true });

  const bad = await open('?orders_per_day=-3');
  await bad.page.locator('.errors', { hasText: 'cost inputs were not used' }).waitFor({ timeout: 30_000 });
  await bad.page.locator('.card.teacher').waitFor({ timeout: 30_000 });
  assert.equal(await bad.page.locator('.cost .inputs input').first().inputValue(), String(manifest.cost?.orders_per_day ?? 40000));
  assert.deepEqual(problems, []);
  await page.close();
  await bad.page.close();
});

test('presentation mode: ready when opened from a link — it measures by itself; keys move, b and e measure again, t switches theme, Esc leaves', async () => {
  const { page, problems } = await open('?view=present');
  const slide = page.locator('.present .slide');
  await slide.waitFor({ timeout: 30_000 });
  await page.locator('.present .big-table').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(artifacts, 'present-1-models.png') });
  // The page behind the slides has its samples once the gallery exists (hidden while presenting).
  await page.locator('.gallery .thumb').first().waitFor({ state: 'attached', timeout: 30_000 });
  await page.keyboard.press('ArrowRight');
  assert.equal(await slide.getAttribute('data-slide'), '1');
  // No key pressed: the latency and its histograms arrive by themselves.
  await page.locator('.present .hero b').waitFor({ timeout: 90_000 });
  assert.match(await page.locator('.present .hero b').innerText(), /^−\d+ %$/);
  assert.ok(await page.locator('.present .histogram rect.teacher').count() > 0);
  assert.ok(await page.locator('.present .histogram rect.student').count() > 0);
  await page.screenshot({ path: path.join(artifacts, 'present-2-latency.png') });
  await page.keyboard.press('ArrowRight');
  // The quick evaluation, with the teacher × student grid: its cells hold every image.
  await page.locator('.present .hero b').waitFor({ timeout: 90_000 });
  assert.match(await page.locator('.present .hero b').innerText(), /^[+−]\d+\.\d\d$/);
  assert.equal(await page.locator('.present .disagreement-grid rect').count(), 100);
  const counted = (await page.locator('.present .disagreement-grid g text').allTextContents())
    .reduce((sum, t) => sum + Number(t.replace(/,/g, '')), 0);
  assert.equal(counted, 1000);
  await page.screenshot({ path: path.join(artifacts, 'present-3-accuracy.png') });
  await page.keyboard.press('End');
  assert.equal(await slide.getAttribute('data-slide'), '4');
  await page.locator('.present .big-axes').waitFor({ timeout: 10_000 });
  // Every check with its number and a mark, not colour alone.
  const checks = await page.locator('.present .big-axes li').allInnerTexts();
  assert.ok(checks.length >= 3, checks.join(' | '));
  for (const c of checks) assert.match(c, /^[✓✗] .+: -?\d+\.\d{3} \S+ -?\d+\.\d{3}$/);
  await page.screenshot({ path: path.join(artifacts, 'present-5-verdict.png') });
  // b benchmarks again and e evaluates every image: each slide says it is measuring.
  await page.keyboard.press('2');
  await page.keyboard.press('b');
  await page.locator('.present .big-note', { hasText: 'Measuring' }).waitFor({ timeout: 10_000 });
  await page.locator('.present .hero b').waitFor({ timeout: 60_000 });
  await page.keyboard.press('3');
  await page.keyboard.press('e');
  await page.locator('.present .big-note', { hasText: 'Evaluating' }).waitFor({ timeout: 10_000 });
  const before = await page.locator('html').getAttribute('data-theme');
  await page.keyboard.press('t');
  assert.notEqual(await page.locator('html').getAttribute('data-theme'), before);
  await page.keyboard.press('Escape');
  await page.locator('.present').waitFor({ state: 'detached', timeout: 10_000 });
  assert.ok(await page.locator('main').isVisible());
  assert.ok(!(await page.evaluate(() => location.search)).includes('view=present'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a build under a non-root public URL loads its models and samples', async () => {
  assert.ok(fs.existsSync(path.join(distSub, 'index.html')), 'scripts/test builds dist-sub with --public-url');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(`${base}${SUB_PATH}`);
  await page.locator('.card.teacher').waitFor({ timeout: 30_000 });
  await page.locator('.detail .prediction').first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(artifacts, 'public-url.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

/** A `size`×`size` grayscale PNG of a bright square on black; `claim` overrides the
 * header's width and height (the pixel data stays `size`×`size`). */
function png(size, seed, claim = size) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(claim, 0);
  header.writeUInt32BE(claim, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  const rows = [];
  for (let y = 0; y < size; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < size; x++) rows.push(Math.abs(x - size / 2) < 6 + seed && Math.abs(y - size / 2) < 9 ? 220 : 0);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('bring your own: a picked folder classifies its images and skips hidden files', async () => {
  const folder = path.join(artifacts, 'folder');
  fs.rmSync(folder, { recursive: true, force: true });
  fs.mkdirSync(path.join(folder, 'bags'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'one.png'), png(28, 0));
  fs.writeFileSync(path.join(folder, 'bags', 'two.png'), png(40, 3));
  fs.writeFileSync(path.join(folder, '.DS_Store'), 'junk');
  const { page, problems } = await open();
  await page.locator('.detail .prediction').first().waitFor({ timeout: 30_000 });
  await page.locator('.byo input.folder').setInputFiles(folder);
  await page.locator('.byo table.stats tr', { hasText: 'two.png' }).waitFor({ timeout: 30_000 });
  await page.locator('.byo table.stats tr', { hasText: 'one.png' }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('.errors').count(), 0, 'the hidden file is skipped silently');
  await page.locator('.byo').screenshot({ path: path.join(artifacts, 'byo-folder.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the site runs under its Content-Security-Policy: no violation, no request elsewhere, injected script blocked', async () => {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  assert.match(html, /http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  const requests = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`${base}/`);
  await page.locator('.detail .prediction').first().waitFor({ timeout: 30_000 });
  fs.writeFileSync(path.join(artifacts, 'private.png'), png(28, 2));
  await page.locator('.byo .inputs input[type=file]').nth(3).setInputFiles(path.join(artifacts, 'private.png'));
  await page.locator('.byo table.stats tr', { hasText: 'private.png' }).waitFor({ timeout: 30_000 });
  // Nothing left the page but requests to the site itself: a picked file is read in the tab.
  const elsewhere = requests.filter((u) => !u.startsWith(base) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(elsewhere, []);
  // Loading, the worker, wasm and the thumbnails all ran without a policy violation.
  assert.deepEqual(problems, []);
  // An injected inline script (what an XSS would try) does not run.
  const injected = await page.evaluate(() => new Promise((resolve) => {
    document.addEventListener('securitypolicyviolation', (e) => resolve(`blocked by ${e.violatedDirective}`));
    const script = document.createElement('script');
    script.textContent = 'window.__injected = true';
    document.head.appendChild(script);
    setTimeout(() => resolve(window.__injected ? 'ran' : 'did not run'), 2000);
  }));
  assert.match(injected, /^blocked by script-src/);
  await page.close();
});

test('a panic in the worker is reported, and a new worker takes over with the same models', async () => {
  const { page, problems } = await open('?debug=worker-panic');
  const errors = page.locator('.errors', { hasText: 'inference worker crashed' });
  await errors.waitFor({ timeout: 30_000 });
  assert.match(await errors.innerText(), /deliberate panic/);
  await page.locator('.detail .prediction').first().waitFor({ timeout: 30_000 });
  await page.locator('.benchmark button.primary:not([disabled])').click();
  await page.locator('.benchmark .status', { hasText: 'samples each' }).waitFor({ timeout: 60_000 });
  assert.ok((await number(page.locator('.benchmark tr.student td').first())) > 0);
  await page.screenshot({ path: path.join(artifacts, 'worker-restarted.png'), fullPage: true });
  // The page itself never threw; the dead worker's own trap is the only error logged.
  assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), []);
  await page.close();
});

test('hostile input: every bad file or value gets a message naming it, and the loaded pair stays usable', async () => {
  const bad = path.join(artifacts, 'bad');
  fs.rmSync(bad, { recursive: true, force: true });
  fs.mkdirSync(bad, { recursive: true });
  const random = (n, seed) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729) % 251));
  const good = png(28, 1);
  const files = {
    'empty.onnx': Buffer.alloc(0),
    'truncated.onnx': fs.readFileSync(path.join(artifacts, 'byo', 'teacher.onnx')).subarray(0, 300),
    'corrupt.png': Buffer.concat([good.subarray(0, 40), random(200, 1)]),
    'huge.png': png(28, 1, 20_000),
    'notes.bin': random(1000, 2),
    'labels.json': Buffer.from('{"labels": ['),
    'fine.png': good,
  };
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(bad, name), bytes);

  const { page } = await open();
  await page.locator('.detail .prediction').first().waitFor({ timeout: 30_000 });
  const teacherName = await page.locator('.card.teacher h3').innerText();
  const inputs = page.locator('.byo .inputs input[type=file]');
  const expectError = async (pattern) => {
    await page.locator('.errors', { hasText: pattern }).waitFor({ timeout: 30_000 });
    await page.locator('.errors button').click();
  };

  // Models: an empty file, a truncated one, and a pair whose class counts differ.
  for (const [teacher, student, pattern] of [
    ['empty.onnx', path.join(artifacts, 'byo', 'student.onnx'), /not an ONNX model/],
    ['truncated.onnx', path.join(artifacts, 'byo', 'student.onnx'), /teacher 'truncated.onnx'/],
    [path.join(artifacts, 'byo', 'teacher.onnx'), path.join(artifacts, 'byo', 'student5.onnx'), /the teacher has 10 classes and the student 5/],
  ]) {
    await inputs.nth(0).setInputFiles(path.isAbsolute(teacher) ? teacher : path.join(bad, teacher));
    await inputs.nth(1).setInputFiles(student);
    await page.locator('.byo label', { hasText: `teacher ONNX: ${path.basename(teacher)}` }).waitFor({ timeout: 10_000 });
    await page.locator('.byo label', { hasText: `student ONNX: ${path.basename(student)}` }).waitFor({ timeout: 10_000 });
    await page.locator('.byo button.primary').click();
    await expectError(pattern);
  }
  // Images and other files, through the images picker.
  await inputs.nth(3).setInputFiles(path.join(bad, 'corrupt.png'));
  await expectError(/corrupt\.png: cannot decode image/);
  await inputs.nth(3).setInputFiles(path.join(bad, 'huge.png'));
  await expectError(/huge\.png: image is 20000×20000 pixels, over the/);
  await inputs.nth(3).setInputFiles(path.join(bad, 'notes.bin'));
  await expectError(/notes\.bin: not a model/);
  await inputs.nth(2).setInputFiles(path.join(bad, 'labels.json'));
  await expectError(/labels\.json: invalid/);
  // Absurd cost inputs are named where they are typed.
  const orders = page.locator('.cost .inputs input').first();
  for (const value of ['-5', '1e300']) {
    await orders.fill(value);
    await orders.press('Enter');
    await page.locator('.cost .error').waitFor({ timeout: 10_000 });
    assert.match(await page.locator('.cost .error').innerText(), /orders per day/);
  }
  await orders.fill('40000');
  await orders.press('Enter');

  // After all that, the bundled pair is still loaded and still answers.
  assert.equal(await page.locator('.card.teacher h3').innerText(), teacherName);
  await inputs.nth(3).setInputFiles(path.join(bad, 'fine.png'));
  await page.locator('.byo table.stats tr', { hasText: 'fine.png' }).waitFor({ timeout: 30_000 });
  await page.locator('.benchmark button.primary').click();
  await page.locator('.benchmark .status', { hasText: 'samples each' }).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: path.join(artifacts, 'hostile-input.png'), fullPage: true });
  await page.close();
});

const axeSource = fs.readFileSync(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now, one line each. */
async function accessibilityViolations(page) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

test('accessibility: no serious or critical axe-core violation on the page or any slide, light or dark; keyboard focus is visible', async () => {
  for (const theme of ['light', 'dark']) {
    const { page, problems } = await open(`?theme=${theme}`);
    // Measured, so every table, plot and verdict is on the page.
    await measure(page);
    await page.locator('.headline-strip .tile.verdict.measured').waitFor({ timeout: 60_000 });
    assert.deepEqual(await accessibilityViolations(page), [], `${theme} page`);
    // Every control the keyboard reaches shows where the focus is.
    await page.locator('header h1').click();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const focus = await page.evaluate(() => {
        const e = document.activeElement;
        const s = getComputedStyle(e);
        return { what: `${e.tagName.toLowerCase()} ${e.textContent.trim().slice(0, 30)}`,
          visible: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 };
      });
      assert.ok(focus.visible, `${theme}: no visible focus on ${focus.what}`);
    }
    await page.locator('header button', { hasText: 'Present' }).click();
    for (let slide = 0; slide < 5; slide++) {
      await page.keyboard.press(String(slide + 1));
      assert.deepEqual(await accessibilityViolations(page), [], `${theme} slide ${slide + 1}`);
    }
    assert.deepEqual(problems, []);
    await page.close();
  }
});
