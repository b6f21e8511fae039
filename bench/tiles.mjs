// The convolution micro-benchmark (bench/page/tiles.js) in Debian's headless Chromium;
// prints its JSON. Usage: node bench/tiles.mjs (from the repository root, after bench/run
// has built bench/page/pkg-simd and pkg-relaxed).
import { chromium } from 'playwright-core';
import { serve } from '../e2e/serve.mjs';

const { server, base } = await serve(process.cwd());
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`page: ${m.text()}\n`); });
  await page.goto(`${base}/bench/page/tiles.html`);
  await page.waitForFunction(() => window.tilesResult, null, { timeout: 600_000, polling: 500 });
  const result = await page.evaluate(() => window.tilesResult);
  if (result.error) throw new Error(result.error);
  console.log(JSON.stringify({ chromium: browser.version(), ...result }, null, 1));
} finally {
  await browser.close();
  server.close();
}
