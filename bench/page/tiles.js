import { relaxedSimdProbe } from './probe.js';

// The convolution micro-benchmark in the browser (bench/src/tiles.rs): every tile of the
// engine's direct convolution on every layer of the bundled models, in both wasm builds
// (simd128; simd128 + relaxed-simd where the browser has it), plus the register-only
// multiply-add loop that bounds what one core can do. Sets window.tilesResult.
const timeIt = (run) => {
  // 100 ms of warm-up, then the best of five samples of at least 100 ms (performance.now
  // is coarsened, so a sample repeats the call until it is long).
  let t0 = performance.now();
  while (performance.now() - t0 < 100) run(1);
  let times = 1;
  let best = Infinity;
  for (let s = 0; s < 5; s++) {
    for (;;) {
      t0 = performance.now();
      run(times);
      const elapsed = performance.now() - t0;
      if (elapsed >= 100) { best = Math.min(best, elapsed / times); break; }
      times *= 2;
    }
  }
  return best; // ms per call
};

const relaxedSimd = WebAssembly.validate(relaxedSimdProbe());

try {
  const variants = [];
  for (const variant of relaxedSimd ? ['simd', 'relaxed'] : ['simd']) {
    const m = await import(`./pkg-${variant}/distillate_bench.js`);
    await m.default({ module_or_path: `./pkg-${variant}/distillate_bench_bg.wasm` });
    const tables = JSON.parse(m.conv_tables());
    const iterations = 1_000_000;
    const peakMs = timeIt((n) => { for (let i = 0; i < n; i++) m.fma_peak(iterations); });
    const peakGmacs = tables.peak_macs_per_iteration * iterations / peakMs / 1e6;
    const gmacs = tables.layers.map((_, layer) => tables.tiles.map((_, tile) => {
      const probe = new m.ConvProbe(layer, tile);
      const ms = timeIt((n) => probe.run(n));
      const rate = probe.macs() / ms / 1e6;
      probe.free();
      return rate;
    }));
    variants.push({ variant, simd: m.Session.simd(), peakGmacs, layers: tables.layers, tiles: tables.tiles, gmacs });
  }
  window.tilesResult = { userAgent: navigator.userAgent, variants };
} catch (e) {
  window.tilesResult = { error: String(e && e.stack || e) };
}
