// End-to-end tests of the built site (dist/) in Debian's headless Chromium.
// Run by scripts/test after `trunk build --release`; screenshots go to e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '..', process.env.DIST_DIR || 'dist');
const artifacts = path.join(here, 'artifacts');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css',
  '.json': 'application/json', '.gz': 'application/octet-stream', '.onnx': 'application/octet-stream' };

let server, base, browser;

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = path.join(dist, decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname));
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404); res.end('not found'); return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
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
  assert.match(await page.locator('.card.teacher h3').innerText(), /Teacher/);
  assert.equal(await page.locator('.thumb').count(), manifest.labels.length * 2);
  assert.equal(await page.locator('.ladder .point').count(), manifest.models.length);
  await page.screenshot({ path: path.join(artifacts, 'loaded.png'), fullPage: true });
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

test('evaluating all test images reproduces the model cards within 0.5 point', async () => {
  const { page, problems } = await open();
  const all = page.locator('.evaluation button', { hasText: 'All' });
  await page.locator('.evaluation button.primary:not([disabled])').waitFor({ timeout: 30_000 });
  await all.click();
  // The page stays responsive while the worker evaluates: a main-thread round trip is quick.
  await page.locator('.evaluation .progress').waitFor({ timeout: 10_000 });
  const t0 = Date.now();
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
  assert.ok(Date.now() - t0 < 1_000, `main thread blocked for ${Date.now() - t0} ms during evaluation`);
  await page.locator('.evaluation .status', { hasText: 'images/s' }).waitFor({ timeout: 180_000 });
  const values = await page.locator('.evaluation .metrics b').allInnerTexts();
  const [teacherAcc, studentAcc] = values.slice(0, 2).map((v) => parseFloat(v));
  const expected = [card(manifest.teacher).test_accuracy * 100, card(manifest.student).test_accuracy * 100];
  assert.ok(Math.abs(teacherAcc - expected[0]) <= 0.5, `teacher ${teacherAcc} vs card ${expected[0]}`);
  assert.ok(Math.abs(studentAcc - expected[1]) <= 0.5, `student ${studentAcc} vs card ${expected[1]}`);
  await page.screenshot({ path: path.join(artifacts, 'evaluation.png'), fullPage: true });
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
