// The engine page (bench/page: our wasm builds and onnxruntime-web, one schedule) in each
// browser a visitor may have: Chromium, Firefox and WebKit (Safari's engine), each through
// its WebDriver (e2e/webdriver.mjs), one after another on the same machine. Prints JSON:
// { browser: window.benchResult | { error } }. A browser that cannot run it is reported, not
// fatal. Usage: node bench/cross_browser.mjs (from the repository root; bench/run prepares
// the page). BENCH_BROWSERS=firefox,webkit picks some.
import { launchers } from '../e2e/webdriver.mjs';
import { serve } from '../e2e/serve.mjs';

const root = process.cwd();
const names = (process.env.BENCH_BROWSERS || 'chromium,firefox,webkit').split(',');
const { server, base } = await serve(root);
const result = {};
try {
  for (const name of names) {
    process.stderr.write(`${name}…\n`);
    let browser;
    try {
      browser = await launchers[name]();
      const s = browser.session;
      await s.goto(`${base}/bench/page/index.html`);
      const engines = await s.waitFor('the benchmark result', 600_000, () => window.benchResult);
      result[name] = engines;
    } catch (e) {
      result[name] = { error: String(e.message || e) };
    } finally {
      await browser?.session.quit();
      browser?.stop();
    }
  }
} finally {
  server.close();
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
