//! Direct convolution for NCHW `f32`, stride 1: the arithmetic behind the engine's `conv` op.
//!
//! Why not an im2col buffer and a GEMM (tract's way): every input value would be copied
//! `kh·kw` times before the multiply, and tract's wasm GEMM tile (8×8, 16 accumulators plus
//! operands, about 19 live `v128`) does not fit the 15 `xmm` registers V8 allocates on
//! x86-64, so it spills on every step of its inner loop.
//!
//! How: the input is copied once into a zero-bordered buffer whose rows are `wp` (input
//! width plus left and right padding) wide. At stride 1, output pixel `q = y·wp + x` then
//! reads tap `(ci, dy, dx)` at `q + ci·plane + dy·wp + dx`: the same offset for every pixel,
//! so `NR` consecutive pixels are one contiguous load per tap, with no gather. The output is
//! computed on that `wp`-wide grid (the last `kw − 1` columns of each row are thrown away)
//! in tiles of `MR` output channels × `NR` pixels: per tap, `NR / 4` loads of pixels,
//! `MR` broadcast loads of weights, `MR · NR / 4` multiply-adds (fused under
//! `+relaxed-simd`). Bias starts the accumulators, and the activation's clamp is applied
//! before the one store.
//!
//! The tile shape is a parameter ([`Tile`]) so that `bench/` can measure each; the op uses
//! [`Tile::DEFAULT`], the fastest one there.

use crate::simd4 as v4;

/// Shape of one convolution: input `[cin, h, w]`, weights `[cout, cin, kh, kw]`, padding
/// `[top, left, bottom, right]`, stride 1, dilation 1, one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvGeometry {
    pub cin: usize,
    pub cout: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub pad: [usize; 4],
}

impl ConvGeometry {
    fn hp(&self) -> usize {
        self.h + self.pad[0] + self.pad[2]
    }

    fn wp(&self) -> usize {
        self.w + self.pad[1] + self.pad[3]
    }

    /// Output height; 0 if the kernel is taller than the padded input.
    pub fn oh(&self) -> usize {
        (self.hp() + 1).saturating_sub(self.kh)
    }

    /// Output width; 0 if the kernel is wider than the padded input.
    pub fn ow(&self) -> usize {
        (self.wp() + 1).saturating_sub(self.kw)
    }

    /// Multiply-adds per image.
    pub fn macs(&self) -> usize {
        self.cout * self.oh() * self.ow() * self.cin * self.kh * self.kw
    }

    /// Values of one input image.
    pub fn input_len(&self) -> usize {
        self.cin * self.h * self.w
    }

    /// Values of one output image.
    pub fn output_len(&self) -> usize {
        self.cout * self.oh() * self.ow()
    }
}

/// A micro-kernel's tile: output channels × pixels per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tile {
    R2x8,
    R4x8,
    R6x8,
    R8x8,
    R4x12,
    R3x16,
}

impl Tile {
    /// Every tile, for the micro-benchmark.
    #[cfg(feature = "all-tiles")]
    pub const ALL: &[Tile] = &[Tile::R2x8, Tile::R4x8, Tile::R6x8, Tile::R8x8, Tile::R4x12, Tile::R3x16];
    /// Every tile this build compiles: the two the op uses (without the `all-tiles`
    /// feature, which only the micro-benchmark needs, the others are left out of the wasm).
    #[cfg(not(feature = "all-tiles"))]
    pub const ALL: &[Tile] = &[Tile::R4x8, Tile::R6x8];

    /// The op's tile, the fastest in `bench/tiles.mjs` (docs/benchmarks.md): with fused
    /// multiply-add 6×8 (15 live vectors) edges out 4×8; without, the separate multiply
    /// needs a temporary register and 6×8 spills.
    #[cfg(target_feature = "relaxed-simd")]
    pub const DEFAULT: Tile = Tile::R6x8;
    /// See above.
    #[cfg(not(target_feature = "relaxed-simd"))]
    pub const DEFAULT: Tile = Tile::R4x8;

    /// (output channels, pixels).
    pub fn shape(self) -> (usize, usize) {
        match self {
            Tile::R2x8 => (2, 8),
            Tile::R4x8 => (4, 8),
            Tile::R6x8 => (6, 8),
            Tile::R8x8 => (8, 8),
            Tile::R4x12 => (4, 12),
            Tile::R3x16 => (3, 16),
        }
    }

    /// "4×8".
    pub fn label(self) -> String {
        let (mr, nr) = self.shape();
        format!("{mr}×{nr}")
    }
}

/// Weights packed for one tile shape, bias, activation clamp and tap offsets: everything a
/// call needs besides the input and two scratch buffers. Equality is bitwise (tract
/// compares ops to merge identical nodes; a NaN weight must equal itself there).
#[derive(Debug, Clone)]
pub struct PackedConv {
    geo: ConvGeometry,
    tile: Tile,
    /// `[block][k][MR]`, `k = (ci·kh + dy)·kw + dx`; output channels past `cout` are zero.
    weights: Vec<f32>,
    /// `blocks · MR` values, zero past `cout`.
    bias: Vec<f32>,
    /// Per `k`: the tap's offset in the padded input, from the output pixel's grid index.
    offsets: Vec<u32>,
    /// Applied to every output: `min(max(v, lo), hi)` (ReLU is `(0, ∞)`).
    clamp: (f32, f32),
}

/// Reusable buffers for [`PackedConv::run`]: the padded input and one block's output grid.
#[derive(Debug, Default)]
pub struct Scratch {
    padded: Vec<f32>,
    grid: Vec<f32>,
}

impl PackedConv {
    /// Packs OIHW `weights` (`cout · cin · kh · kw` values) and `bias` (`cout`, or none).
    pub fn new(geo: ConvGeometry, weights: &[f32], bias: Option<&[f32]>, clamp: (f32, f32), tile: Tile) -> PackedConv {
        assert!(Tile::ALL.contains(&tile), "{tile:?} is not compiled in (feature all-tiles)");
        let (mr, _) = tile.shape();
        let k = geo.cin * geo.kh * geo.kw;
        assert_eq!(weights.len(), geo.cout * k, "weights for {geo:?}");
        let blocks = geo.cout.div_ceil(mr);
        let mut packed = vec![0.0; blocks * k * mr];
        for co in 0..geo.cout {
            let (b, r) = (co / mr, co % mr);
            for (i, &w) in weights[co * k..][..k].iter().enumerate() {
                packed[(b * k + i) * mr + r] = w;
            }
        }
        let mut padded_bias = vec![0.0; blocks * mr];
        if let Some(bias) = bias {
            assert_eq!(bias.len(), geo.cout, "bias for {geo:?}");
            padded_bias[..geo.cout].copy_from_slice(bias);
        }
        let (wp, plane) = (geo.wp(), geo.hp() * geo.wp());
        let mut offsets = Vec::with_capacity(k);
        for ci in 0..geo.cin {
            for dy in 0..geo.kh {
                for dx in 0..geo.kw {
                    let offset = ci * plane + dy * wp + dx;
                    offsets.push(u32::try_from(offset).expect("a convolution input under 4 G values"));
                }
            }
        }
        PackedConv { geo, tile, weights: packed, bias: padded_bias, offsets, clamp }
    }

    pub fn geometry(&self) -> &ConvGeometry {
        &self.geo
    }

    /// Output rows [`PackedConv::gemm`] writes: `cout` rounded up to the tile's rows.
    pub fn padded_cout(&self) -> usize {
        self.geo.cout.next_multiple_of(self.tile.shape().0)
    }

    /// For a 1×1, unpadded, one-row geometry — a matrix product, `output[co][t] =
    /// Σ_ci W[co][ci] · input[ci][t]` plus bias, clamped — without the copies [`run`]
    /// makes: `input` is `cin × w`, `output` [`padded_cout`] `× w` (rows past `cout` are
    /// scratch), and `w` a multiple of the tile's pixels. Winograd's 16 products are these.
    ///
    /// [`run`]: PackedConv::run
    /// [`padded_cout`]: PackedConv::padded_cout
    pub fn gemm(&self, input: &[f32], output: &mut [f32]) {
        let g = &self.geo;
        assert!(g.kh == 1 && g.kw == 1 && g.h == 1 && g.pad == [0; 4], "gemm is for 1×1 one-row geometries: {g:?}");
        let (mr, nr) = self.tile.shape();
        let cols = g.w;
        assert_eq!(cols % nr, 0, "columns {cols} not a multiple of the tile's {nr}");
        assert_eq!(input.len(), g.cin * cols, "gemm input for {g:?}");
        assert_eq!(output.len(), self.padded_cout() * cols, "gemm output for {g:?}");
        let k = self.offsets.len();
        for b in 0..g.cout.div_ceil(mr) {
            let weights = &self.weights[b * k * mr..][..k * mr];
            let bias = &self.bias[b * mr..][..mr];
            for t in 0..cols / nr {
                // SAFETY: offsets are ci·cols (ci < cin), so reads end at (cin − 1)·cols +
                // t·nr + nr ≤ cin·cols; writes at (b·mr + r)·cols + t·nr + (0..nr) with
                // b·mr + r < padded_cout.
                unsafe {
                    tile(
                        self.tile,
                        weights.as_ptr(),
                        &self.offsets,
                        input.as_ptr().add(t * nr),
                        bias,
                        self.clamp,
                        output.as_mut_ptr().add(b * mr * cols + t * nr),
                        cols,
                    )
                };
            }
        }
    }

    fn bits(&self) -> impl Iterator<Item = u32> + '_ {
        let (lo, hi) = self.clamp;
        self.weights.iter().chain(&self.bias).copied().chain([lo, hi]).map(f32::to_bits)
    }

    /// Convolves `input` (`n` images, [`ConvGeometry::input_len`] values each) into
    /// `output` (`n` × [`ConvGeometry::output_len`]).
    pub fn run(&self, input: &[f32], output: &mut [f32], scratch: &mut Scratch) {
        let g = &self.geo;
        let n = if g.input_len() == 0 { 0 } else { input.len() / g.input_len() };
        assert_eq!(input.len(), n * g.input_len(), "input length for {g:?}");
        assert_eq!(output.len(), n * g.output_len(), "output length for {g:?}");
        let (oh, ow) = (g.oh(), g.ow());
        if n == 0 || oh == 0 || ow == 0 || g.cout == 0 {
            return;
        }
        let (mr, nr) = self.tile.shape();
        let (hp, wp) = (g.hp(), g.wp());
        let plane = hp * wp;
        // Grid pixels computed: whole tiles covering the oh rows of wp columns.
        let tiles = (oh * wp).div_ceil(nr);
        let grid_len = tiles * nr;
        // The last tile reads up to its last pixel plus the largest tap offset.
        let max_offset = self.offsets.iter().copied().max().unwrap_or(0) as usize;
        let padded_len = (g.cin * plane).max(grid_len + max_offset);
        scratch.padded.clear();
        scratch.padded.resize(padded_len, 0.0);
        scratch.grid.clear();
        scratch.grid.resize(mr * grid_len, 0.0);
        let k = self.offsets.len();
        for (image, out) in input.chunks_exact(g.input_len()).zip(output.chunks_exact_mut(g.output_len())) {
            copy_padded(g, image, &mut scratch.padded, hp, wp);
            for b in 0..g.cout.div_ceil(mr) {
                let weights = &self.weights[b * k * mr..][..k * mr];
                let bias = &self.bias[b * mr..][..mr];
                for t in 0..tiles {
                    // SAFETY: `weights` holds k·mr values and `offsets` k; every read of
                    // `padded` is below t·nr + nr + max_offset ≤ padded_len, and every write
                    // of `grid` at r·grid_len + t·nr + (0..nr) with r < mr is inside it.
                    unsafe {
                        tile(
                            self.tile,
                            weights.as_ptr(),
                            &self.offsets,
                            scratch.padded.as_ptr().add(t * nr),
                            bias,
                            self.clamp,
                            scratch.grid.as_mut_ptr().add(t * nr),
                            grid_len,
                        )
                    };
                }
                for r in 0..mr.min(g.cout - b * mr) {
                    let plane_out = &mut out[(b * mr + r) * oh * ow..][..oh * ow];
                    let grid = &scratch.grid[r * grid_len..];
                    for (y, row) in plane_out.chunks_exact_mut(ow).enumerate() {
                        row.copy_from_slice(&grid[y * wp..][..ow]);
                    }
                }
            }
        }
    }
}

impl PartialEq for PackedConv {
    fn eq(&self, other: &PackedConv) -> bool {
        self.geo == other.geo
            && self.tile == other.tile
            && self.offsets == other.offsets
            && self.weights.len() == other.weights.len()
            && self.bits().eq(other.bits())
    }
}

impl Eq for PackedConv {}

/// Copies one image of `g`'s input into `planes` (`cin` planes of `rows × cols`, zero where
/// nothing is copied), each row `g.pad[1]` columns in and `g.pad[0]` rows down: the padded
/// input both the direct kernel and Winograd read.
pub(crate) fn copy_padded(g: &ConvGeometry, image: &[f32], planes: &mut [f32], rows: usize, cols: usize) {
    for ci in 0..g.cin {
        for y in 0..g.h {
            let src = &image[(ci * g.h + y) * g.w..][..g.w];
            planes[(ci * rows + y + g.pad[0]) * cols + g.pad[1]..][..g.w].copy_from_slice(src);
        }
    }
}

/// One tile of `tile`'s shape at the grid pixel `x` points to.
///
/// # Safety
/// `weights` must hold `offsets.len() · MR` values; `x + offset + NR` must stay inside the
/// padded input for every offset; `dst + r · dst_stride + (0..NR)` inside the grid for
/// every `r < MR`.
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    tile: Tile,
    weights: *const f32,
    offsets: &[u32],
    x: *const f32,
    bias: &[f32],
    clamp: (f32, f32),
    dst: *mut f32,
    dst_stride: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match tile {
            #[cfg(feature = "all-tiles")]
            Tile::R2x8 => micro_2x8(weights, offsets, x, bias, clamp, dst, dst_stride),
            Tile::R4x8 => micro_4x8(weights, offsets, x, bias, clamp, dst, dst_stride),
            Tile::R6x8 => micro_6x8(weights, offsets, x, bias, clamp, dst, dst_stride),
            #[cfg(not(feature = "all-tiles"))]
            _ => unreachable!("{tile:?} needs the all-tiles feature (PackedConv::new checks)"),
            #[cfg(feature = "all-tiles")]
            Tile::R8x8 => micro_8x8(weights, offsets, x, bias, clamp, dst, dst_stride),
            #[cfg(feature = "all-tiles")]
            Tile::R4x12 => micro_4x12(weights, offsets, x, bias, clamp, dst, dst_stride),
            #[cfg(feature = "all-tiles")]
            Tile::R3x16 => micro_3x16(weights, offsets, x, bias, clamp, dst, dst_stride),
        }
    }
}

/// A micro-kernel of `MR` output channels × `4 · NV` pixels, written out: one named
/// accumulator per (channel, four pixels), so that they stay in registers for the whole `k`
/// loop (`MR · NV + NV + 1` live vectors; V8 on x86-64 has 15). Loops over arrays of
/// accumulators would do the same only where the compiler unrolls them, and the wasm
/// profile's opt-level "s" does not: they stayed in memory, a load and a store around every
/// multiply-add (measured: 1.6× slower than tract's GEMM on the teacher in Chromium).
///
/// `micro!(name, MR, [(x, lane offset), …], [(row, [(accumulator, x, lane offset), …]), …])`.
macro_rules! micro {
    ($name:ident, $mr:literal, [$(($x:ident, $lane:literal)),+], [$(($r:literal, [$(($acc:ident, $xa:ident, $al:literal)),+])),+]) => {
        /// # Safety
        /// See [`tile`].
        #[inline(always)]
        unsafe fn $name(
            weights: *const f32,
            offsets: &[u32],
            x: *const f32,
            bias: &[f32],
            (lo, hi): (f32, f32),
            dst: *mut f32,
            dst_stride: usize,
        ) {
            // SAFETY: the caller's contract (see `tile`).
            unsafe {
                $($(let mut $acc = v4::splat(bias[$r]);)+)+
                let mut w = weights;
                for &offset in offsets {
                    let p = x.add(offset as usize);
                    $(let $x = v4::load(p.add($lane));)+
                    $(
                        let s = v4::splat_load(w.add($r));
                        $($acc = v4::madd($acc, $xa, s);)+
                    )+
                    w = w.add($mr);
                }
                let (lo, hi) = (v4::splat(lo), v4::splat(hi));
                $(
                    let row = dst.add($r * dst_stride);
                    $(v4::store(row.add($al), v4::clamp($acc, lo, hi));)+
                )+
            }
        }
    };
}

#[cfg(feature = "all-tiles")]
micro!(micro_2x8, 2, [(x0, 0), (x1, 4)], [(0, [(a00, x0, 0), (a01, x1, 4)]), (1, [(a10, x0, 0), (a11, x1, 4)])]);
micro!(
    micro_4x8,
    4,
    [(x0, 0), (x1, 4)],
    [
        (0, [(a00, x0, 0), (a01, x1, 4)]),
        (1, [(a10, x0, 0), (a11, x1, 4)]),
        (2, [(a20, x0, 0), (a21, x1, 4)]),
        (3, [(a30, x0, 0), (a31, x1, 4)])
    ]
);
micro!(
    micro_6x8,
    6,
    [(x0, 0), (x1, 4)],
    [
        (0, [(a00, x0, 0), (a01, x1, 4)]),
        (1, [(a10, x0, 0), (a11, x1, 4)]),
        (2, [(a20, x0, 0), (a21, x1, 4)]),
        (3, [(a30, x0, 0), (a31, x1, 4)]),
        (4, [(a40, x0, 0), (a41, x1, 4)]),
        (5, [(a50, x0, 0), (a51, x1, 4)])
    ]
);
#[cfg(feature = "all-tiles")]
micro!(
    micro_8x8,
    8,
    [(x0, 0), (x1, 4)],
    [
        (0, [(a00, x0, 0), (a01, x1, 4)]),
        (1, [(a10, x0, 0), (a11, x1, 4)]),
        (2, [(a20, x0, 0), (a21, x1, 4)]),
        (3, [(a30, x0, 0), (a31, x1, 4)]),
        (4, [(a40, x0, 0), (a41, x1, 4)]),
        (5, [(a50, x0, 0), (a51, x1, 4)]),
        (6, [(a60, x0, 0), (a61, x1, 4)]),
        (7, [(a70, x0, 0), (a71, x1, 4)])
    ]
);
#[cfg(feature = "all-tiles")]
micro!(
    micro_4x12,
    4,
    [(x0, 0), (x1, 4), (x2, 8)],
    [
        (0, [(a00, x0, 0), (a01, x1, 4), (a02, x2, 8)]),
        (1, [(a10, x0, 0), (a11, x1, 4), (a12, x2, 8)]),
        (2, [(a20, x0, 0), (a21, x1, 4), (a22, x2, 8)]),
        (3, [(a30, x0, 0), (a31, x1, 4), (a32, x2, 8)])
    ]
);
#[cfg(feature = "all-tiles")]
micro!(
    micro_3x16,
    3,
    [(x0, 0), (x1, 4), (x2, 8), (x3, 12)],
    [
        (0, [(a00, x0, 0), (a01, x1, 4), (a02, x2, 8), (a03, x3, 12)]),
        (1, [(a10, x0, 0), (a11, x1, 4), (a12, x2, 8), (a13, x3, 12)]),
        (2, [(a20, x0, 0), (a21, x1, 4), (a22, x2, 8), (a23, x3, 12)])
    ]
);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::SplitMix64;
    use proptest::prelude::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The definition, in f64: what every tile (and Winograd) must agree with.
    pub(crate) fn reference(g: &ConvGeometry, x: &[f32], w: &[f32], bias: &[f32], clamp: (f32, f32)) -> Vec<f32> {
        let (oh, ow) = (g.oh(), g.ow());
        let n = x.len() / g.input_len();
        let mut out = vec![0.0; n * g.output_len()];
        for i in 0..n {
            for co in 0..g.cout {
                for y in 0..oh {
                    for xo in 0..ow {
                        let mut s = bias[co] as f64;
                        for ci in 0..g.cin {
                            for dy in 0..g.kh {
                                for dx in 0..g.kw {
                                    let (iy, ix) =
                                        ((y + dy) as isize - g.pad[0] as isize, (xo + dx) as isize - g.pad[1] as isize);
                                    if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                        continue;
                                    }
                                    let xv = x[i * g.input_len() + (ci * g.h + iy as usize) * g.w + ix as usize];
                                    s += xv as f64 * w[((co * g.cin + ci) * g.kh + dy) * g.kw + dx] as f64;
                                }
                            }
                        }
                        out[i * g.output_len() + (co * oh + y) * ow + xo] = (s as f32).max(clamp.0).min(clamp.1);
                    }
                }
            }
        }
        out
    }

    pub(crate) fn random(n: usize, rng: &mut SplitMix64) -> Vec<f32> {
        (0..n).map(|_| 2.0 * rng.next_f32() - 1.0).collect()
    }

    fn check(g: ConvGeometry, n: usize, clamp: (f32, f32), seed: u64) {
        let mut rng = SplitMix64(seed);
        let x = random(n * g.input_len(), &mut rng);
        let w = random(g.cout * g.cin * g.kh * g.kw, &mut rng);
        let bias = random(g.cout, &mut rng);
        let expected = reference(&g, &x, &w, &bias, clamp);
        let mut scratch = Scratch::default();
        for &tile in Tile::ALL {
            let conv = PackedConv::new(g, &w, Some(&bias), clamp, tile);
            let mut out = vec![f32::NAN; n * g.output_len()];
            conv.run(&x, &mut out, &mut scratch);
            let tolerance = 1e-5 * (g.cin * g.kh * g.kw) as f32;
            for (i, (a, b)) in out.iter().zip(&expected).enumerate() {
                assert!((a - b).abs() <= tolerance, "{g:?} {tile:?} n={n}: value {i}: {a} against {b}");
            }
        }
    }

    #[test]
    fn every_tile_computes_the_demo_models_layer_shapes() {
        let g = |cin, cout, side| ConvGeometry { cin, cout, h: side, w: side, kh: 3, kw: 3, pad: [1; 4] };
        for (i, geo) in
            [g(1, 18, 28), g(18, 18, 28), g(36, 72, 7), g(64, 64, 14), g(128, 128, 7)].into_iter().enumerate()
        {
            check(geo, 1, (0.0, f32::INFINITY), i as u64);
        }
    }

    #[test]
    fn bias_is_optional_and_clamp_bounds_both_sides() {
        let g = ConvGeometry { cin: 3, cout: 5, h: 6, w: 5, kh: 3, kw: 3, pad: [1; 4] };
        check(g, 2, (0.0, 6.0), 7);
        let mut rng = SplitMix64(3);
        let (x, w) = (random(g.input_len(), &mut rng), random(g.cout * 27, &mut rng));
        let conv = PackedConv::new(g, &w, None, (f32::NEG_INFINITY, f32::INFINITY), Tile::DEFAULT);
        let mut out = vec![0.0; g.output_len()];
        conv.run(&x, &mut out, &mut Scratch::default());
        let expected = reference(&g, &x, &w, &[0.0; 5], (f32::NEG_INFINITY, f32::INFINITY));
        assert!(out.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-4));
        assert!(out.iter().any(|&v| v < 0.0), "without a clamp negative outputs survive");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Odd sizes, kernels of 1 to 5, asymmetric padding, channel counts that are not
        /// multiples of any tile, batches of one to three.
        #[test]
        fn every_tile_matches_the_definition(
            cin in 1usize..7, cout in 1usize..11, h in 1usize..12, w in 1usize..12,
            kh in 1usize..6, kw in 1usize..6, pad in proptest::array::uniform4(0usize..3),
            n in 1usize..4, seed in any::<u64>(),
        ) {
            let g = ConvGeometry { cin, cout, h, w, kh, kw, pad };
            prop_assume!(g.oh() > 0 && g.ow() > 0);
            check(g, n, (f32::NEG_INFINITY, f32::INFINITY), seed);
        }
    }
}
