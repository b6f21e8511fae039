//! The engine's own convolution op, swapped in for tract's on the decluttered graph
//! ([`EngineConv::swap_into`]), with the ReLU / ReLU6 that follows fused into it.
//!
//! Why: in the browser, 83–86 % of each demo inference was tract's im2col + 8×8 GEMM, a
//! tile that spills on x86-64 under V8 (see [`crate::conv_kernel`] for the kernel and the
//! measurements in docs/benchmarks.md). tract also leaves the ReLU after each conv as a
//! separate pass over the output.
//!
//! What it covers: `f32` NCHW convolutions with constant weights (OIHW) and bias, stride 1,
//! dilation 1, one group, any kernel size and explicit or "same" padding, on a concrete
//! input shape. Everything else — strides, dilations, groups, quantized convs, symbolic
//! shapes — stays tract's, so every model that loaded before still runs.
//!
//! Invariant: the outputs are the convolution's to within float rounding (the sum runs in
//! another order than tract's); the tests compare against tract on random layers and whole
//! models.

use crate::conv_kernel::{ConvGeometry, PackedConv, Scratch, Tile};
use crate::winograd::{Winograd, WinogradScratch};
use std::cell::RefCell;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::math::{Max, Min};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// A convolution (plus its clamp) computed by the engine: directly ([`PackedConv`]) or,
/// for 3×3 kernels over enough input channels, the Winograd way ([`Winograd`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConv {
    kernel: Kernel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kernel {
    Direct(Arc<PackedConv>),
    Winograd(Arc<Winograd>),
}

/// Input channels from which a 3×3 stride-1 conv goes the Winograd way: below, the
/// transforms cost more than the multiplies they save (bench/tiles.mjs, docs/benchmarks.md).
pub const WINOGRAD_MIN_CIN: usize = 8;

thread_local! {
    /// One set of buffers per thread, shared by every conv: a worker runs one op at a time.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    static WINOGRAD_SCRATCH: RefCell<WinogradScratch> = RefCell::new(WinogradScratch::default());
}

impl EngineConv {
    /// The engine's kernel for `geo`: Winograd for 3×3 over ≥ [`WINOGRAD_MIN_CIN`] input
    /// channels, else direct.
    pub fn new(geo: ConvGeometry, weights: &[f32], bias: Option<&[f32]>, clamp: (f32, f32)) -> EngineConv {
        let kernel = if geo.kh == 3 && geo.kw == 3 && geo.cin >= WINOGRAD_MIN_CIN {
            Kernel::Winograd(Arc::new(Winograd::new(geo, weights, bias, clamp)))
        } else {
            Kernel::Direct(Arc::new(PackedConv::new(geo, weights, bias, clamp, Tile::DEFAULT)))
        };
        EngineConv { kernel }
    }

    fn geometry(&self) -> &ConvGeometry {
        match &self.kernel {
            Kernel::Direct(k) => k.geometry(),
            Kernel::Winograd(k) => k.geometry(),
        }
    }

    fn run(&self, input: &[f32], output: &mut [f32]) {
        match &self.kernel {
            Kernel::Direct(k) => SCRATCH.with(|s| k.run(input, output, &mut s.borrow_mut())),
            Kernel::Winograd(k) => WINOGRAD_SCRATCH.with(|s| k.run(input, output, &mut s.borrow_mut())),
        }
    }

    /// Replaces every convolution of the decluttered `model` this op computes (see the
    /// module doc), fusing the `max(x, c)` and `min(x, c')` by scalar constants that
    /// follow it, in either order. Returns how many it replaced.
    pub fn swap_into(model: &mut TypedModel) -> TractResult<usize> {
        let mut swapped = 0;
        for id in model.eval_order()? {
            let Some((geo, weights, bias)) = direct_conv(model, id)? else { continue };
            let node = &model.nodes()[id];
            // Fuse max(x, lo) and min(x, hi), in either order, while each is the only
            // reader of what precedes it (ReLU is a max, ReLU6 a max and a min).
            let mut last = id;
            let (mut lo, mut hi) = (None, None);
            while let Some(next) = sole_successor(model, last) {
                match scalar_bound(model, next)? {
                    Some((Bound::Max, c)) if lo.is_none() && hi.is_none_or(|h| c <= h) => lo = Some(c),
                    Some((Bound::Min, c)) if hi.is_none() && lo.is_none_or(|l| l <= c) => hi = Some(c),
                    _ => break,
                }
                last = next;
            }
            let clamp = (lo.unwrap_or(f32::NEG_INFINITY), hi.unwrap_or(f32::INFINITY));
            let op = EngineConv::new(geo, &weights, bias.as_deref(), clamp);
            let mut patch = TypedModelPatch::new("distillate-direct-conv");
            let input = patch.tap_model(model, node.inputs[0])?;
            let out = patch.wire_node(&node.name, op, &[input])?;
            patch.shunt_outside(model, OutletId::new(last, 0), out[0])?;
            patch.apply(model)?;
            swapped += 1;
        }
        if swapped > 0 {
            // The replaced nodes and their constants are no longer wired to the output.
            model.compact()?;
        }
        Ok(swapped)
    }
}

/// Geometry, OIHW weights and bias of node `id` if it is a convolution [`EngineConv`]
/// computes.
#[allow(clippy::type_complexity)]
fn direct_conv(model: &TypedModel, id: usize) -> TractResult<Option<(ConvGeometry, Vec<f32>, Option<Vec<f32>>)>> {
    let node = &model.nodes()[id];
    let Some(conv) = node.op_as::<Conv>() else { return Ok(None) };
    let spec = &conv.pool_spec;
    if conv.q_params.is_some()
        || conv.group != 1
        || conv.kernel_fmt != KernelFormat::OIHW
        || spec.data_format != DataFormat::NCHW
        || spec.kernel_shape.len() != 2
        || spec.strides().iter().any(|&s| s != 1)
        || spec.dilations().iter().any(|&d| d != 1)
        || node.inputs.len() != 3
    {
        return Ok(None);
    }
    let input = model.outlet_fact(node.inputs[0])?;
    let Some(shape) = input.shape.as_concrete() else { return Ok(None) };
    if input.datum_type != f32::datum_type() || shape.len() != 4 {
        return Ok(None);
    }
    let (cin, h, w) = (shape[1], shape[2], shape[3]);
    let padding = spec.computed_padding(&shape[2..]);
    let geo = ConvGeometry {
        cin,
        cout: spec.output_channels,
        h,
        w,
        kh: spec.kernel_shape[0],
        kw: spec.kernel_shape[1],
        pad: [padding[0].pad_before, padding[1].pad_before, padding[0].pad_after, padding[1].pad_after],
    };
    // The output must be the shape tract computed for this node.
    let out = model.outlet_fact(OutletId::new(id, 0))?;
    if out.shape.as_concrete() != Some(&[shape[0], geo.cout, geo.oh(), geo.ow()][..]) || spec.input_channels != cin {
        return Ok(None);
    }
    let Some(weights) = f32_const(model, node.inputs[1], geo.cout * cin * geo.kh * geo.kw)? else { return Ok(None) };
    let bias_fact = model.outlet_fact(node.inputs[2])?;
    let bias = match &bias_fact.konst {
        Some(b) if b.len() == 1 && b.datum_type() == f32::datum_type() => {
            Some(vec![b.cast_to_scalar::<f32>()?; geo.cout])
        }
        _ => match f32_const(model, node.inputs[2], geo.cout)? {
            Some(b) => Some(b),
            None => return Ok(None),
        },
    };
    Ok(Some((geo, weights, bias)))
}

/// The values of a constant `f32` input with `len` values.
fn f32_const(model: &TypedModel, outlet: OutletId, len: usize) -> TractResult<Option<Vec<f32>>> {
    let fact = model.outlet_fact(outlet)?;
    match &fact.konst {
        Some(t) if t.datum_type() == f32::datum_type() && t.len() == len => {
            Ok(Some(t.try_as_plain_ram()?.as_slice::<f32>()?.to_vec()))
        }
        _ => Ok(None),
    }
}

/// The only node reading `id`'s output, if exactly one does and it is not a model output.
fn sole_successor(model: &TypedModel, id: usize) -> Option<usize> {
    let node = &model.nodes()[id];
    let outlet = OutletId::new(id, 0);
    if node.outputs.len() != 1
        || node.outputs[0].successors.len() != 1
        || model.output_outlets().ok()?.contains(&outlet)
    {
        return None;
    }
    Some(node.outputs[0].successors[0].node)
}

enum Bound {
    Max,
    Min,
}

/// `max(x, c)` or `min(x, c)` with `c` one f32 value broadcast over x (ReLU's and ReLU6's
/// decluttered form), as the bound and `c`.
fn scalar_bound(model: &TypedModel, id: usize) -> TractResult<Option<(Bound, f32)>> {
    let node = &model.nodes()[id];
    let Some(bin) = node.op_as::<TypedBinOp>() else { return Ok(None) };
    let bound = if bin.0.is::<Max>() {
        Bound::Max
    } else if bin.0.is::<Min>() {
        Bound::Min
    } else {
        return Ok(None);
    };
    if node.inputs.len() != 2 || bin.1.is_some() {
        return Ok(None);
    }
    // One input is the conv's output (the x), the other the constant.
    let (x, c) = (model.outlet_fact(node.inputs[0])?, model.outlet_fact(node.inputs[1])?);
    let (x, c) = if c.konst.is_some() { (x, c) } else { (c, x) };
    let Some(k) = &c.konst else { return Ok(None) };
    if k.datum_type() != f32::datum_type() || k.len() != 1 || c.shape.rank() > x.shape.rank() {
        return Ok(None);
    }
    let out = model.outlet_fact(OutletId::new(id, 0))?;
    if out.shape != x.shape || out.datum_type != f32::datum_type() {
        return Ok(None);
    }
    let value = k.cast_to_scalar::<f32>()?;
    Ok(if value.is_nan() { None } else { Some((bound, value)) })
}

impl Op for EngineConv {
    fn name(&self) -> StaticName {
        "EngineConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let how = if matches!(self.kernel, Kernel::Winograd(_)) { "Winograd F(2,3)" } else { "direct" };
        Ok(vec![format!("{how} {:?}", self.geometry())])
    }

    op_as_typed_op!();
}

impl EvalOp for EngineConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let g = self.geometry();
        let n = input.shape().first().copied().unwrap_or(0);
        if input.shape() != [n, g.cin, g.h, g.w] {
            bail!("EngineConv for {g:?} got an input of shape {:?}", input.shape());
        }
        let plain = input.try_as_plain_ram()?;
        let src = plain.as_slice::<f32>()?;
        let mut output = Tensor::zero::<f32>(&[n, g.cout, g.oh(), g.ow()])?;
        {
            let mut out_plain = output.try_as_plain_ram_mut()?;
            let dst = out_plain.as_slice_mut::<f32>()?;
            self.run(src, dst);
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for EngineConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let g = self.geometry();
        let n = inputs[0].shape[0].clone();
        Ok(tvec!(f32::fact([n, g.cout.to_dim(), g.oh().to_dim(), g.ow().to_dim()])))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_build::{OnnxBuilder, RandomCnn, SplitMix64};
    use tract_onnx::prelude::{InferenceModelExt, tvec};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn decluttered(bytes: &[u8], shape: [usize; 4]) -> TypedModel {
        use tract_onnx::prelude::{Framework, InferenceFact};
        let mut m = tract_onnx::onnx().model_for_read(&mut &bytes[..]).unwrap();
        m.set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape)).unwrap();
        m.into_typed().unwrap().into_decluttered().unwrap()
    }

    fn run(model: TypedModel, input: &Tensor) -> Vec<f32> {
        let out =
            model.into_optimized().unwrap().into_runnable().unwrap().run(tvec!(input.clone().into_tvalue())).unwrap();
        out[0].try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec()
    }

    fn pseudo_random(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = SplitMix64(seed);
        let values: Vec<f32> = (0..shape.iter().product()).map(|_| 2.0 * rng.next_f32() - 1.0).collect();
        Tensor::from_shape(shape, &values).unwrap()
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn a_whole_cnn_gives_tracts_logits_with_every_conv_and_relu_swapped() {
        let bytes = RandomCnn { filters: 8, seed: 3, ..RandomCnn::default() }.build();
        for batch in [1, 3] {
            let theirs = decluttered(&bytes, [batch, 1, 28, 28]);
            let mut ours = theirs.clone();
            let convs = theirs.nodes().iter().filter(|n| n.op_is::<Conv>()).count();
            assert!(convs > 0);
            assert_eq!(EngineConv::swap_into(&mut ours).unwrap(), convs);
            assert!(
                !ours.nodes().iter().any(|n| n.op_is::<Conv>() || n.op_is::<TypedBinOp>() && n.name.contains("relu"))
            );
            let input = pseudo_random(&[batch, 1, 28, 28], 9);
            let (a, b) = (run(ours, &input), run(theirs, &input));
            assert!(max_abs_diff(&a, &b) < 1e-4, "{a:?} against {b:?}");
        }
    }

    /// One conv layer (`stride`, `group`, `pads`), then a ReLU6 as Clip(0, 6).
    fn layer(cin: usize, cout: usize, side: usize, k: usize, stride: usize, group: usize, pads: [i64; 4]) -> Vec<u8> {
        let mut rng = SplitMix64(11);
        let mut b = OnnxBuilder::image_classifier(cin as i64, side as i64, side as i64);
        let w: Vec<f32> = (0..cout * cin / group * k * k).map(|_| rng.next_normal()).collect();
        let bias: Vec<f32> = (0..cout).map(|_| rng.next_normal()).collect();
        b.conv_pads(
            &w,
            [cout as i64, (cin / group) as i64, k as i64, k as i64],
            &bias,
            stride as i64,
            pads,
            group as i64,
        )
        .clip(0.0, 6.0);
        b.build()
    }

    #[test]
    fn swaps_stride_one_convs_with_any_padding_and_fuses_relu6() {
        for (k, pads) in [(3, [1, 1, 1, 1]), (5, [0, 2, 1, 0]), (2, [1, 0, 0, 1]), (3, [0, 0, 0, 0])] {
            let bytes = layer(5, 7, 9, k, 1, 1, pads);
            let theirs = decluttered(&bytes, [2, 5, 9, 9]);
            let mut ours = theirs.clone();
            assert_eq!(EngineConv::swap_into(&mut ours).unwrap(), 1, "kernel {k} pads {pads:?}");
            assert!(!ours.nodes().iter().any(|n| n.op_is::<TypedBinOp>()), "the clip is fused: {ours}");
            let input = pseudo_random(&[2, 5, 9, 9], k as u64);
            let (a, b) = (run(ours, &input), run(theirs, &input));
            assert!(max_abs_diff(&a, &b) < 1e-4);
            assert!(a.iter().all(|&v| (0.0..=6.0).contains(&v)));
        }
    }

    /// The bundled pair on the first test images (few: unoptimised test builds run the
    /// kernel slowly): the same top-1 as with tract's conv and
    /// logits within 1e-3 (natively the portable fallback computes the same sums as the
    /// simd128 build; the full 10 000 are compared in the browser by the e2e suites).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn the_bundled_models_give_tracts_logits_and_top_1() {
        use crate::{Convolutions, Manifest, Model, Preprocessor};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read = |p: &str| std::fs::read(root.join(p)).expect(p);
        let manifest = Manifest::parse(&read("static/demo.json")).unwrap();
        let images = crate::idx::parse(&read("static/data/t10k-images-idx3-ubyte.gz")).unwrap();
        for (id, count) in [(&manifest.teacher, 3), (&manifest.student, 12)] {
            let entry = manifest.model(id).unwrap();
            let model = Model::load(&read(&format!("static/{}", entry.file))).unwrap();
            let pre = Preprocessor::new(&entry.preprocess, model.card()).unwrap();
            let mut ours = model.classifier_with(1, Convolutions::Engine).unwrap();
            let mut theirs = model.classifier_with(1, Convolutions::Tract).unwrap();
            let mut input = vec![0.0; 784];
            for image in images.data.chunks_exact(784).take(count) {
                pre.luma8_into(28, 28, image, &mut input).unwrap();
                let (a, b) = (ours.run(&input).unwrap(), theirs.run(&input).unwrap());
                assert!(max_abs_diff(&a, &b) <= 1e-3, "{id}: {a:?} against {b:?}");
                assert_eq!(crate::metrics::argmax(&a), crate::metrics::argmax(&b), "{id}");
            }
        }
    }

    #[test]
    fn leaves_strided_grouped_and_depthwise_convs_to_tract() {
        for (stride, group) in [(2, 1), (1, 2), (1, 6)] {
            let bytes = layer(6, 6, 8, 3, stride, group, [1, 1, 1, 1]);
            assert_eq!(EngineConv::swap_into(&mut decluttered(&bytes, [1, 6, 8, 8])).unwrap(), 0);
        }
    }
}
