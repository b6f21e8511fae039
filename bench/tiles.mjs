// The convolution micro-benchmark (bench/page/tiles.js) in Debian's headless Chromium;
// prints its JSON. Usage: node bench/tiles.mjs (from the repository root, after bench/run
// has built bench/page/pkg-simd and pkg-relaxed).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = process.cwd();
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const server = http.createServer((req, res) => {
  const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404); res.end(); return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`page: ${m.text()}\n`); });
  await page.goto(`http://127.0.0.1:${server.address().port}/bench/page/tiles.html`);
  await page.waitForFunction(() => window.tilesResult, null, { timeout: 600_000, polling: 500 });
  const result = await page.evaluate(() => window.tilesResult);
  if (result.error) throw new Error(result.error);
  console.log(JSON.stringify({ chromium: browser.version(), ...result }, null, 1));
} finally {
  await browser.close();
  server.close();
}
