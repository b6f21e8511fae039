//! Winograd F(2×2, 3×3) for 3×3, stride-1 convolutions: 16 multiplies per 2×2 output tile
//! and input channel instead of 36, so 2.25× fewer multiply-adds where the channel count
//! makes the transforms cheap beside them.
//!
//! Per image: the input, padded once, is cut into 4×4 tiles overlapping by 2; each is
//! transformed (`V = Bᵀ d B`, additions only) into 16 planes of `cin × tiles`; each of the
//! 16 planes is multiplied by its transformed weights (`U = G g Gᵀ`, computed when the op
//! is built) with the direct convolution's 1×1 micro-kernel ([`PackedConv`]); each 4×4
//! result is transformed back (`Y = Aᵀ M A`) into a 2×2 output tile, bias and clamp added.
//! The transforms handle four horizontally adjacent tiles per step: a tile's columns are
//! 2 apart, so four tiles' column `c` are the even or odd lanes of eight consecutive
//! inputs, one shuffle away.
//!
//! F(2,3) rather than F(4,3): its transforms have coefficients 0 and ±1 (±½ in `G` only,
//! applied once to the weights), so the rounding error stays that of the direct sum;
//! F(4,3) would cut multiplies 4× but scales inputs by up to 8 and needs 36 planes.

use crate::conv_kernel::{ConvGeometry, PackedConv, Tile, copy_padded};
use crate::simd4 as v4;
use std::ops::Range;

/// A 3×3 stride-1 convolution computed the Winograd way. Equality is bitwise, as
/// [`PackedConv`]'s.
#[derive(Debug, Clone)]
pub struct Winograd {
    geo: ConvGeometry,
    /// One `cin → cout` 1×1 product per transformed position (ξ, ν), row-major.
    products: Vec<PackedConv>,
    bias: Vec<f32>,
    clamp: (f32, f32),
    /// Tile rows, and tiles per row rounded up to a multiple of 4.
    tiles_y: usize,
    tiles_x: usize,
    /// Tile rows per block: the transforms and products run on a block of tile rows at a
    /// time, so that their 16 planes stay in cache (all of them at once, 16× the input,
    /// did not: a 28×28×32 layer ran at 11 GMAC/s against the direct kernel's 19).
    block_rows: usize,
    /// Columns of a block's transformed planes: `block_rows · tiles_x` rounded up to the
    /// micro-kernel's width, so that the products run on them in place.
    columns: usize,
}

/// About how many tiles a block holds (per plane: 16 planes × channels × this × 4 bytes
/// stay within a core's L2 for the bundled layers).
const BLOCK_TILES: usize = 64;

impl PartialEq for Winograd {
    fn eq(&self, other: &Winograd) -> bool {
        let bits =
            |w: &Winograd| w.bias.iter().chain([&w.clamp.0, &w.clamp.1]).map(|v| v.to_bits()).collect::<Vec<_>>();
        self.geo == other.geo && self.products == other.products && bits(self) == bits(other)
    }
}

impl Eq for Winograd {}

/// Reusable buffers: padded input, transformed input, products, output tiles.
#[derive(Debug, Default)]
pub struct WinogradScratch {
    padded: Vec<f32>,
    transformed: Vec<f32>,
    products: Vec<f32>,
    tiles: Vec<f32>,
}

impl Winograd {
    /// For a 3×3 geometry (`geo.kh == geo.kw == 3`); `weights` OIHW, `bias` `cout` values.
    pub fn new(geo: ConvGeometry, weights: &[f32], bias: Option<&[f32]>, clamp: (f32, f32)) -> Winograd {
        assert!(geo.kh == 3 && geo.kw == 3, "Winograd F(2,3) is for 3×3 kernels, not {geo:?}");
        assert_eq!(weights.len(), geo.cout * geo.cin * 9, "weights for {geo:?}");
        let (cin, cout) = (geo.cin, geo.cout);
        let tiles_y = geo.oh().div_ceil(2);
        let tiles_x = geo.ow().div_ceil(2).next_multiple_of(4);
        // U = G g Gᵀ for every (co, ci), scattered into 16 [cout, cin] matrices.
        let mut planes = vec![vec![0.0f32; cout * cin]; 16];
        for co in 0..cout {
            for ci in 0..cin {
                let g = &weights[(co * cin + ci) * 9..][..9];
                let u = transform_kernel(g);
                for (p, plane) in planes.iter_mut().enumerate() {
                    plane[co * cin + ci] = u[p];
                }
            }
        }
        let block_rows = (BLOCK_TILES / tiles_x).clamp(1, tiles_y.max(1));
        let columns = (block_rows * tiles_x).next_multiple_of(Tile::DEFAULT.shape().1);
        let product = ConvGeometry { cin, cout, h: 1, w: columns, kh: 1, kw: 1, pad: [0; 4] };
        let products = planes
            .iter()
            .map(|plane| PackedConv::new(product, plane, None, (f32::NEG_INFINITY, f32::INFINITY), Tile::DEFAULT))
            .collect();
        let bias = bias.map(<[f32]>::to_vec).unwrap_or_else(|| vec![0.0; cout]);
        assert_eq!(bias.len(), cout, "bias for {geo:?}");
        Winograd { geo, products, bias, clamp, tiles_y, tiles_x, block_rows, columns }
    }

    pub fn geometry(&self) -> &ConvGeometry {
        &self.geo
    }

    /// Convolves `input` (`n` images) into `output`, as [`PackedConv::run`] does.
    pub fn run(&self, input: &[f32], output: &mut [f32], s: &mut WinogradScratch) {
        let g = &self.geo;
        let n = input.len() / g.input_len().max(1);
        assert_eq!(input.len(), n * g.input_len(), "input length for {g:?}");
        assert_eq!(output.len(), n * g.output_len(), "output length for {g:?}");
        let (oh, ow) = (g.oh(), g.ow());
        if n == 0 || oh == 0 || ow == 0 || g.cout == 0 {
            return;
        }
        let (ty, tx, columns) = (self.tiles_y, self.tiles_x, self.columns);
        let rows_out = self.products[0].padded_cout();
        // Padded planes cover every tile's 4×4 window: 2·tiles + 2 rows and columns.
        let (ph, pw) = (2 * ty + 2, 2 * tx + 2);
        s.padded.clear();
        s.padded.resize(g.cin * ph * pw, 0.0);
        // A block's columns past its last tile are never written by the transform; their
        // products are never read.
        s.transformed.clear();
        s.transformed.resize(16 * g.cin * columns, 0.0);
        s.products.resize(16 * rows_out * columns, 0.0);
        s.tiles.resize(g.cout * 2 * ty * 2 * tx, 0.0);
        for (image, out) in input.chunks_exact(g.input_len()).zip(output.chunks_exact_mut(g.output_len())) {
            copy_padded(g, image, &mut s.padded, ph, pw);
            let plane_in = g.cin * columns;
            let plane_out = rows_out * columns;
            for y0 in (0..ty).step_by(self.block_rows) {
                let rows = self.block_rows.min(ty - y0);
                self.transform_input(&s.padded, &mut s.transformed, ph, pw, y0..y0 + rows);
                for (p, product) in self.products.iter().enumerate() {
                    product.gemm(
                        &s.transformed[p * plane_in..][..plane_in],
                        &mut s.products[p * plane_out..][..plane_out],
                    );
                }
                self.transform_output(&s.products, &mut s.tiles, y0..y0 + rows);
            }
            // The tiles cover 2·ty × 2·tx outputs per channel; keep oh × ow of them.
            let tw = 2 * tx;
            for co in 0..g.cout {
                for y in 0..oh {
                    out[(co * oh + y) * ow..][..ow].copy_from_slice(&s.tiles[(co * 2 * ty + y) * tw..][..ow]);
                }
            }
        }
    }

    /// `V = Bᵀ d B` for every channel and the tiles of tile rows `rows`, four tiles per step,
    /// into the block's planes.
    fn transform_input(&self, padded: &[f32], transformed: &mut [f32], ph: usize, pw: usize, rows: Range<usize>) {
        let (tx, columns) = (self.tiles_x, self.columns);
        let cin = self.geo.cin;
        for ci in 0..cin {
            let plane = &padded[ci * ph * pw..][..ph * pw];
            for y in rows.clone() {
                for x in (0..tx).step_by(4) {
                    // Columns c of four tiles, rows r: d[r][c].
                    let mut d = [[v4::splat(0.0); 4]; 4];
                    for (r, row) in d.iter_mut().enumerate() {
                        let at = &plane[(2 * y + r) * pw + 2 * x..][..10];
                        // SAFETY: `at` holds 10 values: loads at 0, 4 (8 values) and 2, 6 (to 10).
                        let (a, b, a2, b2) = unsafe {
                            (
                                v4::load(at.as_ptr()),
                                v4::load(at[4..].as_ptr()),
                                v4::load(at[2..].as_ptr()),
                                v4::load(at[6..].as_ptr()),
                            )
                        };
                        *row = [v4::even(a, b), v4::odd(a, b), v4::even(a2, b2), v4::odd(a2, b2)];
                    }
                    let e = d.map(b_transform);
                    let v = b_transform(e);
                    let t = (y - rows.start) * tx + x;
                    for (xi, row) in v.iter().enumerate() {
                        for (nu, &value) in row.iter().enumerate() {
                            let dst = &mut transformed[((xi * 4 + nu) * cin + ci) * columns + t..][..4];
                            // SAFETY: `dst` is 4 writable values.
                            unsafe { v4::store(dst.as_mut_ptr(), value) };
                        }
                    }
                }
            }
        }
    }

    /// `Y = Aᵀ M A` plus bias, clamped, for every output channel and the tiles of tile rows
    /// `rows`, into the tile grid (`cout × 2·ty × 2·tx`).
    fn transform_output(&self, products: &[f32], grid: &mut [f32], rows: Range<usize>) {
        let (ty, tx, columns) = (self.tiles_y, self.tiles_x, self.columns);
        let (cout, rows_out) = (self.geo.cout, self.products[0].padded_cout());
        let tw = 2 * tx;
        let (lo, hi) = (v4::splat(self.clamp.0), v4::splat(self.clamp.1));
        for co in 0..cout {
            let bias = v4::splat(self.bias[co]);
            for y in rows.clone() {
                for x in (0..tx).step_by(4) {
                    let t = (y - rows.start) * tx + x;
                    let m: [[v4::V; 4]; 4] = std::array::from_fn(|xi| {
                        std::array::from_fn(|nu| {
                            let src = &products[((xi * 4 + nu) * rows_out + co) * columns + t..][..4];
                            // SAFETY: `src` is 4 readable values.
                            unsafe { v4::load(src.as_ptr()) }
                        })
                    });
                    let r = m.map(a_transform);
                    let [y0, y1] = a_transform(r);
                    for (i, [left, right]) in [y0, y1].into_iter().enumerate() {
                        let (left, right) = (v4::add(left, bias), v4::add(right, bias));
                        let (left, right) = (v4::clamp(left, lo, hi), v4::clamp(right, lo, hi));
                        // Four tiles' left and right outputs interleaved: 8 outputs in a row.
                        let row = &mut grid[(co * 2 * ty + 2 * y + i) * tw + 2 * x..][..8];
                        // SAFETY: `row` is 8 writable values.
                        unsafe {
                            v4::store(row.as_mut_ptr(), v4::zip_low(left, right));
                            v4::store(row[4..].as_mut_ptr(), v4::zip_high(left, right));
                        }
                    }
                }
            }
        }
    }
}

/// `Bᵀ` applied along the first index: `[d0 − d2, d1 + d2, d2 − d1, d1 − d3]` (rows or, on a
/// transposed view, columns: the map over rows applies it per row to the columns).
#[inline(always)]
fn b_transform<T: Copy + BTransform>(d: [T; 4]) -> [T; 4] {
    [T::sub(d[0], d[2]), T::add(d[1], d[2]), T::sub(d[2], d[1]), T::sub(d[1], d[3])]
}

/// `Aᵀ` applied along the first index: `[m0 + m1 + m2, m1 − m2 − m3]`.
#[inline(always)]
fn a_transform<T: Copy + BTransform>(m: [T; 4]) -> [T; 2] {
    [T::add(T::add(m[0], m[1]), m[2]), T::sub(T::sub(m[1], m[2]), m[3])]
}

/// Addition and subtraction of vectors and of rows of vectors, so one transform serves
/// both passes.
trait BTransform {
    fn add(a: Self, b: Self) -> Self;
    fn sub(a: Self, b: Self) -> Self;
}

impl BTransform for v4::V {
    #[inline(always)]
    fn add(a: Self, b: Self) -> Self {
        v4::add(a, b)
    }
    #[inline(always)]
    fn sub(a: Self, b: Self) -> Self {
        v4::sub(a, b)
    }
}

impl<const N: usize> BTransform for [v4::V; N] {
    #[inline(always)]
    fn add(a: Self, b: Self) -> Self {
        std::array::from_fn(|i| v4::add(a[i], b[i]))
    }
    #[inline(always)]
    fn sub(a: Self, b: Self) -> Self {
        std::array::from_fn(|i| v4::sub(a[i], b[i]))
    }
}

/// `U = G g Gᵀ` of one 3×3 kernel `g` (row-major), as 16 values row-major, with
/// `G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]`.
fn transform_kernel(g: &[f32]) -> [f32; 16] {
    let gm = |row: [f32; 3]| [row[0], 0.5 * (row[0] + row[1] + row[2]), 0.5 * (row[0] - row[1] + row[2]), row[2]];
    // G g: transform each column (over rows of g), then each row of the result.
    let cols: [[f32; 4]; 3] = std::array::from_fn(|c| gm([g[c], g[3 + c], g[6 + c]]));
    let mut u = [0.0; 16];
    for xi in 0..4 {
        let row = gm([cols[0][xi], cols[1][xi], cols[2][xi]]);
        u[xi * 4..][..4].copy_from_slice(&row);
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SplitMix64;
    use crate::conv_kernel::tests::{random, reference};
    use proptest::prelude::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn check(g: ConvGeometry, n: usize, clamp: (f32, f32), seed: u64) {
        let mut rng = SplitMix64(seed);
        let x = random(n * g.input_len(), &mut rng);
        let w = random(g.cout * g.cin * 9, &mut rng);
        let bias = random(g.cout, &mut rng);
        let expected = reference(&g, &x, &w, &bias, clamp);
        let conv = Winograd::new(g, &w, Some(&bias), clamp);
        let mut out = vec![f32::NAN; n * g.output_len()];
        let mut scratch = WinogradScratch::default();
        // Twice with the same buffers: stale scratch must not leak into the second call.
        for _ in 0..2 {
            conv.run(&x, &mut out, &mut scratch);
            let tolerance = 2e-5 * (g.cin * 9) as f32;
            for (i, (a, b)) in out.iter().zip(&expected).enumerate() {
                assert!((a - b).abs() <= tolerance, "{g:?} n={n}: value {i}: {a} against {b}");
            }
        }
    }

    #[test]
    fn computes_the_demo_models_layer_shapes() {
        let g = |cin, cout, side| ConvGeometry { cin, cout, h: side, w: side, kh: 3, kw: 3, pad: [1; 4] };
        for (i, geo) in [g(18, 18, 28), g(32, 64, 14), g(36, 72, 7), g(128, 128, 7)].into_iter().enumerate() {
            check(geo, 1, (0.0, f32::INFINITY), i as u64);
        }
    }

    #[test]
    fn the_kernel_transform_is_g_g_g_transposed() {
        // A kernel with a single 1 at (r, c) transforms to the outer product of G's columns.
        let gcol = [[1.0, 0.5, 0.5, 0.0], [0.0, 0.5, -0.5, 0.0], [0.0, 0.5, 0.5, 1.0]];
        for r in 0..3 {
            for c in 0..3 {
                let mut g = [0.0; 9];
                g[r * 3 + c] = 1.0;
                let u = transform_kernel(&g);
                for xi in 0..4 {
                    for nu in 0..4 {
                        assert_eq!(u[xi * 4 + nu], gcol[r][xi] * gcol[c][nu], "({r}, {c}) at ({xi}, {nu})");
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        /// Odd sizes down to one pixel (partial tiles, tile rows not a multiple of 4),
        /// asymmetric, none and more than the kernel's padding, channel counts off the micro-kernel's tile, batches, ReLU6's clamp.
        #[test]
        fn matches_the_definition(
            cin in 1usize..12, cout in 1usize..11, h in 1usize..16, w in 1usize..16,
            pad in proptest::array::uniform4(0usize..3), n in 1usize..3, relu6 in any::<bool>(), seed in any::<u64>(),
        ) {
            let g = ConvGeometry { cin, cout, h, w, kh: 3, kw: 3, pad };
            prop_assume!(g.oh() > 0 && g.ow() > 0);
            let clamp = if relu6 { (0.0, 6.0) } else { (f32::NEG_INFINITY, f32::INFINITY) };
            check(g, n, clamp, seed);
        }
    }
}
