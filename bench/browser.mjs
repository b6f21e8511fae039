// Runs the browser half of the benchmark in Debian's headless Chromium and prints JSON:
//  1. bench/page: Distillate's engine builds vs onnxruntime-web, one page, one schedule;
//  2. the built site (dist/): cold load to first prediction, and the full 10 000-image
//     evaluation of both models.
// Usage: node bench/browser.mjs (from the repository root; bench/run prepares everything).
// BENCH_SKIP_ENGINES=1 or BENCH_SKIP_SITE=1 leaves out part 1 or 2; BENCH_VARIANTS=a,b times
// the builds in bench/page/pkg-a/, pkg-b/ instead of the two the site ships (bench/profiles).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = process.cwd();
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.json': 'application/json' };

// Serves `base` (the repository for the engine page; dist/ for the site, at its root as
// Trunk built it).
const serve = (base) => http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let pathname = decodeURIComponent(url.pathname);
  if (pathname.endsWith('/')) pathname += 'index.html';
  const file = path.join(base, pathname);
  if (!file.startsWith(base) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404); res.end(); return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
  fs.createReadStream(file).pipe(res);
});
const server = serve(root);
const siteServer = serve(path.join(root, 'dist'));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
await new Promise((resolve) => siteServer.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const site = `http://127.0.0.1:${siteServer.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

try {
  const result = { chromium: browser.version() };

  if (!process.env.BENCH_SKIP_ENGINES) {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`page: ${m.text()}\n`); });
    await page.goto(`${base}/bench/page/index.html${process.env.BENCH_VARIANTS ? `?variants=${process.env.BENCH_VARIANTS}` : ''}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 600_000, polling: 500 });
    result.engines = await page.evaluate(() => window.benchResult);
    if (result.engines.error) throw new Error(result.engines.error);
    await page.close();
  }

  if (!process.env.BENCH_SKIP_SITE && fs.existsSync(path.join(root, 'dist', 'index.html'))) {
    result.site = {};
    // Cold load: a fresh context (empty cache) from navigation to the first prediction shown.
    // The page's own load timeline (environment card, data-timeline: ms since navigation
    // for each milestone) says where the time went.
    const loads = [];
    const shown = [];
    const timelines = [];
    const runs = 5;
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      const tab = await context.newPage();
      // When the first prediction became visible, on the page's clock (ms since its
      // navigation started): what a visitor waits. The harness's own wall clock adds
      // Playwright's navigation and polling on top.
      await tab.addInitScript(() => {
        new MutationObserver((_, observer) => {
          if (document.querySelector('.detail .prediction')) {
            window.__firstPredictionShownMs = performance.now();
            observer.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
      });
      const t0 = Date.now();
      await tab.goto(`${site}/`);
      await tab.locator('.detail .prediction').first().waitFor({ timeout: 60_000 });
      loads.push(Date.now() - t0);
      shown.push(await tab.evaluate(() => window.__firstPredictionShownMs));
      const timeline = tab.locator('.load-timeline');
      await tab.waitForFunction(() => JSON.parse(document.querySelector('.load-timeline')?.dataset.timeline || '{}').first_prediction,
        null, { timeout: 10_000 }).catch(() => {});
      timelines.push(JSON.parse((await timeline.getAttribute('data-timeline').catch(() => null)) || '{}'));
      if (i === runs - 1) {
        // Full evaluation: all 10 000 test images through both models in the worker.
        await tab.locator('.evaluation button.primary:not([disabled])').waitFor({ timeout: 30_000 });
        const t1 = Date.now();
        await tab.locator('.evaluation button', { hasText: 'All' }).click();
        await tab.locator('.evaluation .status', { hasText: 'images/s' }).waitFor({ timeout: 600_000 });
        result.site.fullEvaluationMs = Date.now() - t1;
        result.site.fullEvaluationStatus = await tab.locator('.evaluation .status').innerText();
        const throughput = tab.locator('.throughput button');
        if (await throughput.count()) {
          await throughput.first().click();
          await tab.locator('.throughput .result').waitFor({ timeout: 120_000 });
          result.site.throughput = await tab.locator('.throughput .result').innerText();
        }
        result.site.environment = await tab.locator('.environment').innerText().catch(() => null);
      }
      await context.close();
    }
    result.site.coldLoadMs = loads;
    result.site.firstPredictionShownMs = shown;
    result.site.timelines = timelines;
  }
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  server.close();
  siteServer.close();
}
