//! A 2×2, stride-2 max pool for NCHW `f32` maps, swapped in for tract's own once a plan is
//! optimised ([`MaxPool2x2::swap_into`]).
//!
//! Why: tract 0.23 vectorises its 2×2 max pool only at stride 1. At stride 2 — the
//! down-sampling step of most small CNNs, both demo models included — it walks one output
//! at a time with `f32::max`, which wasm32 compiles to a call to `fmaxf` (Rust's `max`
//! ignores NaN; wasm's `f32.max` instruction propagates it). Profiled in Chromium (the
//! engine built as the worker is), that walk was 8 % of the demo student's inference and
//! 3 % of the teacher's; this op takes 2 % and 1 %. Natively, tract's stride-2 pool cost
//! more still: the demo pair ran 0.55 / 0.16 ms per image before the swap, 0.45 / 0.10 ms
//! after (bench-native, one thread).
//!
//! Here four outputs are computed per step with `f32x4.pmax` (`a < b ? b : a`), folding
//! each window in the order tract's generic pool does (`acc < v` starting from `f32::MIN`),
//! so the results are tract's, bit for bit, NaN included (a NaN is skipped; a window of
//! NaN gives `f32::MIN`). Elsewhere than wasm32 the same fold runs as scalar code.

use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::OptMaxPool;
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Max pool, kernel 2×2, stride 2, no padding, over an `[N, C, H, W]` `f32` tensor; output
/// `[N, C, H / 2, W / 2]` (a last odd row or column is dropped, as with valid padding).
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
pub struct MaxPool2x2;

impl MaxPool2x2 {
    /// Replaces every tract max pool in `model` that this op computes identically: NCHW,
    /// f32, concrete shape, kernel 2×2, stride 2, dilation 1, nothing padded before, output
    /// `H / 2 × W / 2`, no index output. Returns how many it replaced.
    pub fn swap_into(model: &mut TypedModel) -> TractResult<usize> {
        let mut swapped = 0;
        for id in 0..model.nodes().len() {
            let node = &model.nodes()[id];
            let Some(pool) = node.op_as::<OptMaxPool>() else { continue };
            if node.inputs.len() != 1
                || pool.with_index_outputs.is_some()
                || pool.pool_spec.data_format != DataFormat::NCHW
            {
                continue;
            }
            let fact = model.outlet_fact(node.inputs[0])?;
            let Some(shape) = fact.shape.as_concrete() else { continue };
            if fact.datum_type != f32::datum_type() || shape.len() != 4 {
                continue;
            }
            // A pool whose geometry does not resolve is tract's to run (or to refuse).
            let Ok(geo) = pool.geometry.to_concrete(shape) else { continue };
            let patch = &geo.patch;
            let fits = patch.spec.kernel_shape[..] == [2, 2]
                && patch.spec.strides[..] == [2, 2]
                && patch.spec.dilations[..] == [1, 1]
                && patch.pad_before[..] == [0, 0]
                && patch.output_shape[..] == [shape[2] / 2, shape[3] / 2];
            if fits {
                model.node_mut(id).op = Box::new(MaxPool2x2);
                swapped += 1;
            }
        }
        Ok(swapped)
    }
}

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "MaxPool2x2".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let &[n, c, h, w] = input.shape() else { bail!("MaxPool2x2 expects a rank-4 input, got {:?}", input.shape()) };
        let (oh, ow) = (h / 2, w / 2);
        let plain = input.try_as_plain_ram()?;
        let src = plain.as_slice::<f32>()?;
        let mut output = Tensor::zero::<f32>(&[n, c, oh, ow])?;
        {
            let mut out_plain = output.try_as_plain_ram_mut()?;
            let dst = out_plain.as_slice_mut::<f32>()?;
            if oh > 0 && ow > 0 {
                for (plane, out) in src.chunks_exact(h * w).zip(dst.chunks_exact_mut(oh * ow)) {
                    for (y, out_row) in out.chunks_exact_mut(ow).enumerate() {
                        let top = &plane[2 * y * w..][..2 * ow];
                        let bottom = &plane[(2 * y + 1) * w..][..2 * ow];
                        pool_rows(top, bottom, out_row);
                    }
                }
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for MaxPool2x2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = &inputs[0].shape;
        if shape.rank() != 4 {
            bail!("MaxPool2x2 expects a rank-4 input, got {shape:?}");
        }
        let half = |d: &TDim| d.clone() / 2u64;
        let out = [shape[0].clone(), shape[1].clone(), half(&shape[2]), half(&shape[3])];
        Ok(tvec!(inputs[0].datum_type.fact(&out)))
    }

    as_op!();
}

/// `out[x]` = max of `top[2x]`, `top[2x + 1]`, `bottom[2x]`, `bottom[2x + 1]`, folded as
/// `acc < v ? v : acc` from `f32::MIN` (tract's order and NaN handling).
fn pool_rows(top: &[f32], bottom: &[f32], out: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = simd128::pool_rows(top, bottom, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for x in done..out.len() {
        out[x] = [top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]]
            .into_iter()
            .fold(f32::MIN, |acc, v| if acc < v { v } else { acc });
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use std::arch::wasm32::*;

    /// The first `4 * (out.len() / 4)` outputs of [`super::pool_rows`], four per step;
    /// returns how many it wrote.
    pub(super) fn pool_rows(top: &[f32], bottom: &[f32], out: &mut [f32]) -> usize {
        let steps = out.len() / 4;
        let (top, bottom) = (&top[..8 * steps], &bottom[..8 * steps]);
        let start = f32x4_splat(f32::MIN);
        for (i, (t, b)) in top.chunks_exact(8).zip(bottom.chunks_exact(8)).enumerate() {
            let (t0, t1, b0, b1) = (load(&t[..4]), load(&t[4..]), load(&b[..4]), load(&b[4..]));
            // Even and odd columns of each row: the two taps of four windows.
            let t_even = i32x4_shuffle::<0, 2, 4, 6>(t0, t1);
            let t_odd = i32x4_shuffle::<1, 3, 5, 7>(t0, t1);
            let b_even = i32x4_shuffle::<0, 2, 4, 6>(b0, b1);
            let b_odd = i32x4_shuffle::<1, 3, 5, 7>(b0, b1);
            // pmax(acc, v) is `acc < v ? v : acc`, lane by lane.
            let m = f32x4_pmax(f32x4_pmax(f32x4_pmax(f32x4_pmax(start, t_even), t_odd), b_even), b_odd);
            let dst = &mut out[4 * i..][..4];
            // SAFETY: `dst` is 4 f32 = 16 bytes; v128_store has no alignment requirement.
            unsafe { v128_store(dst.as_mut_ptr().cast(), m) };
        }
        4 * steps
    }

    fn load(four: &[f32]) -> v128 {
        assert_eq!(four.len(), 4);
        // SAFETY: 4 f32 = 16 readable bytes, checked above; v128_load has no alignment requirement.
        unsafe { v128_load(four.as_ptr().cast()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_build::{RandomCnn, SplitMix64};
    use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec, PoolSpec};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn values(t: &TValue) -> Vec<f32> {
        t.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// tract's own max pool (MaxPool, OptMaxPool once optimised) over an NCHW `shape`.
    fn tract_pool(shape: &[usize], kernel: usize, stride: usize, padding: PaddingSpec) -> TypedModel {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(shape)).unwrap();
        let spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(kernel, kernel),
            padding,
            dilations: None,
            strides: Some(tvec!(stride, stride)),
            input_channels: shape[1],
            output_channels: shape[1],
        };
        let y = model.wire_node("pool", MaxPool { pool_spec: spec, with_index_outputs: None }, &[x]).unwrap();
        model.select_output_outlets(&y).unwrap();
        model.into_optimized().unwrap()
    }

    /// Runs `input` through tract's own 2×2/2 pool and through the same plan with
    /// [`MaxPool2x2`] swapped in; asserts both give the same shape and bits, and returns
    /// the values.
    fn pool_both_ways(input: &Tensor) -> Vec<f32> {
        let theirs = tract_pool(input.shape(), 2, 2, PaddingSpec::Valid);
        let mut ours = theirs.clone();
        assert_eq!(MaxPool2x2::swap_into(&mut ours).unwrap(), 1, "the pool should be swapped");
        let run = |m: TypedModel| m.into_runnable().unwrap().run(tvec!(input.clone().into_tvalue())).unwrap();
        let (ours, theirs) = (run(ours), run(theirs));
        assert_eq!(ours[0].shape(), theirs[0].shape());
        let (ours, theirs) = (values(&ours[0]), values(&theirs[0]));
        assert_eq!(bits(&ours), bits(&theirs), "ours and tract's differ for shape {:?}", input.shape());
        ours
    }

    /// Values in [-1, 1) from the engine's test generator.
    fn pseudo_random(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = SplitMix64(seed);
        let values: Vec<f32> = (0..shape.iter().product()).map(|_| 2.0 * rng.next_f32() - 1.0).collect();
        Tensor::from_shape(shape, &values).unwrap()
    }

    #[test]
    fn matches_tracts_pool_bit_for_bit_on_even_odd_and_batched_shapes() {
        // Widths around the four-at-a-time step (tails of 0–3) and odd sizes (a row and a
        // column dropped), batch 1 and 3.
        for (i, shape) in
            [[1, 16, 28, 28], [1, 32, 14, 14], [3, 2, 7, 7], [1, 1, 2, 2], [2, 3, 9, 17], [1, 4, 6, 10], [1, 1, 3, 5]]
                .iter()
                .enumerate()
        {
            pool_both_ways(&pseudo_random(shape, i as u64 + 1));
        }
    }

    #[test]
    fn skips_nan_like_tract_and_returns_f32_min_for_an_all_nan_window() {
        let mut values = vec![0.5f32; 16];
        values[0] = f32::NAN; // window (0, 0): NaN, 0.5, 0.5, 0.5 → 0.5
        for v in [2, 3, 6, 7] {
            values[v] = f32::NAN; // window (0, 1): all NaN → f32::MIN
        }
        let out = pool_both_ways(&Tensor::from_shape(&[1, 1, 4, 4], &values).unwrap());
        assert_eq!(out, vec![0.5, f32::MIN, 0.5, 0.5]);
    }

    #[test]
    fn a_whole_cnn_gives_the_same_logits_with_the_pool_swapped() {
        use tract_onnx::prelude::InferenceModelExt;
        let bytes = RandomCnn { filters: 8, seed: 3, ..RandomCnn::default() }.build();
        let theirs = tract_onnx::onnx().model_for_read(&mut &bytes[..]).unwrap().into_optimized().unwrap();
        let mut ours = theirs.clone();
        assert_eq!(MaxPool2x2::swap_into(&mut ours).unwrap(), 1);
        let input = pseudo_random(&[1, 1, 28, 28], 9);
        let run = |m: TypedModel| m.into_runnable().unwrap().run(tvec!(input.clone().into_tvalue())).unwrap();
        assert_eq!(bits(&values(&run(ours)[0])), bits(&values(&run(theirs)[0])));
    }

    #[test]
    fn leaves_pools_it_would_compute_differently() {
        let swapped = |kernel: usize, stride: usize, padding: PaddingSpec| {
            MaxPool2x2::swap_into(&mut tract_pool(&[1, 2, 8, 8], kernel, stride, padding)).unwrap()
        };
        assert_eq!(swapped(2, 2, PaddingSpec::Valid), 1);
        assert_eq!(swapped(3, 2, PaddingSpec::Valid), 0);
        assert_eq!(swapped(2, 1, PaddingSpec::Valid), 0);
        assert_eq!(swapped(2, 2, PaddingSpec::ExplicitOnnxPool(tvec!(1, 1), tvec!(0, 0), false)), 0);
    }
}
