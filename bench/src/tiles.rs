//! The convolution micro-benchmark: each of the engine's tile shapes
//! ([`distillate_engine::conv_kernel::Tile`]) and its Winograd F(2,3) path on each
//! convolution layer of the bundled teacher and student, timed by whoever drives it (`bench/tiles.mjs` in Chromium,
//! `bench-native --tiles`), plus a register-only multiply-add loop that measures what one
//! core can do at most.

use distillate_engine::conv_kernel::{ConvGeometry, PackedConv, Scratch, Tile};
use distillate_engine::onnx_build::SplitMix64;
use distillate_engine::winograd::{Winograd, WinogradScratch};
use serde::Serialize;

/// A 3×3, pad-1 layer of the bundled models: (model, input channels, output channels, side).
pub const LAYERS: [(&str, usize, usize, usize); 12] = [
    ("teacher", 1, 32, 28),
    ("teacher", 32, 32, 28),
    ("teacher", 32, 64, 14),
    ("teacher", 64, 64, 14),
    ("teacher", 64, 128, 7),
    ("teacher", 128, 128, 7),
    ("student-h18", 1, 18, 28),
    ("student-h18", 18, 18, 28),
    ("student-h18", 18, 36, 14),
    ("student-h18", 36, 36, 14),
    ("student-h18", 36, 72, 7),
    ("student-h18", 72, 72, 7),
];

/// One layer as the JS driver lists it.
#[derive(Debug, Serialize)]
pub struct LayerInfo {
    pub model: &'static str,
    pub shape: String,
    pub macs: usize,
}

pub fn layers() -> Vec<LayerInfo> {
    LAYERS
        .iter()
        .map(|&(model, cin, cout, side)| {
            let g = geometry(cin, cout, side);
            LayerInfo { model, shape: format!("{cin}→{cout} @ {side}×{side}"), macs: g.macs() }
        })
        .collect()
}

fn geometry(cin: usize, cout: usize, side: usize) -> ConvGeometry {
    ConvGeometry { cin, cout, h: side, w: side, kh: 3, kw: 3, pad: [1; 4] }
}

/// One layer with random weights, packed for one kernel, and its buffers.
pub struct Probe {
    kernel: Kernel,
    input: Vec<f32>,
    output: Vec<f32>,
}

enum Kernel {
    Direct(PackedConv, Scratch),
    Winograd(Box<Winograd>, WinogradScratch),
}

impl Probe {
    /// Layer `layer` of [`LAYERS`] with kernel `kernel` of [`tiles`] (the direct tiles of
    /// [`Tile::ALL`], then Winograd); `None` past either.
    pub fn new(layer: usize, kernel: usize) -> Option<Probe> {
        let &(_, cin, cout, side) = LAYERS.get(layer)?;
        let g = geometry(cin, cout, side);
        let mut rng = SplitMix64(layer as u64);
        let mut random = |n: usize| (0..n).map(|_| rng.next_f32() - 0.5).collect::<Vec<f32>>();
        let weights = random(cout * cin * 9);
        let bias = random(cout);
        let input = random(g.input_len());
        let relu = (0.0, f32::INFINITY);
        let kernel = match Tile::ALL.get(kernel) {
            Some(&tile) => Kernel::Direct(PackedConv::new(g, &weights, Some(&bias), relu, tile), Scratch::default()),
            None if kernel == Tile::ALL.len() => {
                Kernel::Winograd(Box::new(Winograd::new(g, &weights, Some(&bias), relu)), WinogradScratch::default())
            }
            None => return None,
        };
        Some(Probe { kernel, input, output: vec![0.0; g.output_len()] })
    }

    /// Runs the layer `times` times; returns an output value so the work is not elided.
    pub fn run(&mut self, times: u32) -> f32 {
        for _ in 0..times {
            match &mut self.kernel {
                Kernel::Direct(conv, scratch) => conv.run(&self.input, &mut self.output, scratch),
                Kernel::Winograd(conv, scratch) => conv.run(&self.input, &mut self.output, scratch),
            }
        }
        self.output[self.output.len() / 2]
    }

    /// The layer's multiply-adds as a direct convolution computes them (Winograd's rate is
    /// quoted in the same unit: the layer's MACs per second).
    pub fn macs(&self) -> usize {
        match &self.kernel {
            Kernel::Direct(conv, _) => conv.geometry().macs(),
            Kernel::Winograd(conv, _) => conv.geometry().macs(),
        }
    }
}

/// Kernel labels in [`Probe::new`] order: the direct tiles, then Winograd.
pub fn tiles() -> Vec<String> {
    Tile::ALL.iter().map(|t| t.label()).chain(["Winograd F(2,3)".to_string()]).collect()
}

/// Multiply-adds that [`fma_peak`] performs per iteration: 12 independent 4-lane
/// accumulators (enough to cover the multiply-add latency on two pipes).
pub const PEAK_MACS_PER_ITERATION: usize = 48;

/// `iterations` × 12 independent 4-lane multiply-adds with everything in registers: the
/// most this build can get from one core (fused under relaxed SIMD).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn fma_peak(iterations: u32) -> f32 {
    use std::arch::wasm32::*;
    #[inline(always)]
    fn madd(acc: v128, a: v128, b: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        return f32x4_relaxed_madd(a, b, acc);
        #[cfg(not(target_feature = "relaxed-simd"))]
        return f32x4_add(acc, f32x4_mul(a, b));
    }
    let (a, b) = (f32x4_splat(0.999_9), f32x4_splat(1e-4));
    let mut acc = [f32x4_splat(0.0); 12];
    for (i, v) in acc.iter_mut().enumerate() {
        *v = f32x4_splat(i as f32);
    }
    let [mut c0, mut c1, mut c2, mut c3, mut c4, mut c5, mut c6, mut c7, mut c8, mut c9, mut c10, mut c11] = acc;
    for _ in 0..iterations {
        c0 = madd(b, c0, a);
        c1 = madd(b, c1, a);
        c2 = madd(b, c2, a);
        c3 = madd(b, c3, a);
        c4 = madd(b, c4, a);
        c5 = madd(b, c5, a);
        c6 = madd(b, c6, a);
        c7 = madd(b, c7, a);
        c8 = madd(b, c8, a);
        c9 = madd(b, c9, a);
        c10 = madd(b, c10, a);
        c11 = madd(b, c11, a);
    }
    let sum =
        [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11].into_iter().fold(f32x4_splat(0.0), |a, b| f32x4_add(a, b));
    f32x4_extract_lane::<0>(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probe_builds_and_runs_and_past_the_tables_there_is_none() {
        for layer in 0..LAYERS.len() {
            for tile in 0..tiles().len() {
                let mut probe = Probe::new(layer, tile).expect("in the tables");
                assert!(probe.run(1).is_finite());
                assert_eq!(probe.macs(), layers()[layer].macs);
            }
        }
        assert!(Probe::new(LAYERS.len(), 0).is_none());
        assert!(Probe::new(0, tiles().len()).is_none());
    }
}
