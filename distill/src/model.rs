//! The CNN family used for teacher and students, and its ONNX export.
//!
//! Stages of 3×3 convolutions (same padding) with BatchNorm and ReLU, a 2×2 max-pool
//! between stages, global average pooling and one linear layer. The export folds each
//! BatchNorm into its convolution, so the ONNX graph is Conv/Relu/MaxPool/GAP/Gemm only.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::prelude::*;
use distillate_engine::onnx_build::OnnxBuilder;
pub use distillate_engine::training::Arch;

/// Convolution + BatchNorm.
#[derive(Module, Debug)]
pub struct Block {
    conv: Conv2d,
    bn: BatchNorm,
}

/// A CNN of the family.
#[derive(Module, Debug)]
pub struct Cnn {
    stages: Vec<Vec<Block>>,
    pool: MaxPool2d,
    fc: Linear,
    relu: Relu,
}

impl Cnn {
    /// Fresh weights on `device`.
    pub fn new(arch: &Arch, device: &Device) -> Cnn {
        let mut cin = 1;
        let mut stages = Vec::new();
        for widths in &arch.stages {
            let mut blocks = Vec::new();
            for &c in widths {
                blocks.push(Block {
                    conv: Conv2dConfig::new([cin, c], [3, 3])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device),
                    bn: BatchNormConfig::new(c).init(device),
                });
                cin = c;
            }
            stages.push(blocks);
        }
        Cnn {
            stages,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc: LinearConfig::new(cin, arch.classes).init(device),
            relu: Relu::new(),
        }
    }

    /// Fresh weights drawn from `seed`. Initialisation draws from burn's backend RNG, one
    /// process-wide generator: two models made in parallel threads (a student and its
    /// baseline) would otherwise interleave their draws and get weights that depend on
    /// timing, not on their seeds. Everything here that seeds goes through this lock, and
    /// the weights are drawn inside it: burn initialises parameters lazily, on first use.
    pub fn seeded(arch: &Arch, seed: u64, device: &Device) -> Cnn {
        static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _alone = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        device.seed(seed);
        let model = Cnn::new(arch, device);
        model.visit(&mut Materialise);
        model
    }

    /// Logits `[n, classes]` for images `[n, 1, 28, 28]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        let last = self.stages.len() - 1;
        for (i, stage) in self.stages.iter().enumerate() {
            for b in stage {
                x = self.relu.forward(b.bn.forward(b.conv.forward(x)));
            }
            if i < last {
                x = self.pool.forward(x);
            }
        }
        let [n, c, h, w] = x.dims();
        self.fc.forward(x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c]))
    }

    /// ONNX bytes with BatchNorm folded into the convolutions; `doc` goes into the file.
    pub fn to_onnx(&self, doc: &str) -> anyhow::Result<Vec<u8>> {
        let mut b = OnnxBuilder::image_classifier(1, 28, 28).doc(doc);
        let last = self.stages.len() - 1;
        for (i, stage) in self.stages.iter().enumerate() {
            for block in stage {
                let (w, shape, bias) = fold(block)?;
                b.conv(&w, shape, &bias, 1, 1, 1).relu();
            }
            if i < last {
                b.max_pool(2, 2);
            }
        }
        // burn stores Linear weights [in, out]; ONNX Gemm with transB wants [out, in].
        let weight = self.fc.weight.val();
        let [fin, fout] = weight.dims();
        let weight = values(weight.transpose())?;
        let bias = match &self.fc.bias {
            Some(b) => values(b.val())?,
            None => vec![0.0; fout],
        };
        b.global_avg_pool().flatten().gemm(&weight, fout as i64, fin as i64, &bias);
        Ok(b.build())
    }
}

/// Draws every lazily initialised parameter now.
struct Materialise;

impl burn::module::ModuleVisitor for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// `w' = w·γ/√(σ²+ε)`, `b' = (b − μ)·γ/√(σ²+ε) + β`, per output channel.
fn fold(block: &Block) -> anyhow::Result<(Vec<f32>, [i64; 4], Vec<f32>)> {
    let weight = block.conv.weight.val();
    let [o, i, kh, kw] = weight.dims();
    let mut w = values(weight)?;
    let bias = match &block.conv.bias {
        Some(b) => values(b.val())?,
        None => vec![0.0; o],
    };
    let bn = &block.bn;
    let (gamma, beta) = (values(bn.gamma.val())?, values(bn.beta.val())?);
    let (mean, var) = (values(bn.running_mean.value())?, values(bn.running_var.value())?);
    let per_channel = i * kh * kw;
    let mut folded_bias = vec![0.0; o];
    for c in 0..o {
        let scale = gamma[c] / (var[c] + bn.epsilon as f32).sqrt();
        for v in &mut w[c * per_channel..(c + 1) * per_channel] {
            *v *= scale;
        }
        folded_bias[c] = (bias[c] - mean[c]) * scale + beta[c];
    }
    Ok((w, [o as i64, i as i64, kh as i64, kw as i64], folded_bias))
}

/// A tensor's values as f32, row-major.
pub fn values<const D: usize>(t: Tensor<D>) -> anyhow::Result<Vec<f32>> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| anyhow::anyhow!("tensor data: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use distillate_engine::Model;
    use distillate_engine::onnx_build::SplitMix64;

    #[test]
    fn exported_onnx_matches_the_network_with_batch_norm_folded() {
        let device = Device::flex();
        let arch = Arch { stages: vec![vec![4, 6], vec![8]], classes: 10 };
        let model = Cnn::seeded(&arch, 7, &device).train();
        let mut rng = SplitMix64(11);
        let mut random_batch = |n: usize| -> Vec<f32> { (0..n * 784).map(|_| rng.next_normal() * 2.0 + 0.5).collect() };
        // Training-mode passes move the running statistics away from (0, 1), so the fold is
        // exercised with non-trivial means and variances.
        for _ in 0..5 {
            let _ = model.forward(Tensor::<4>::from_data(TensorData::new(random_batch(16), [16, 1, 28, 28]), &device));
        }
        let model = model.valid();
        let inputs = random_batch(4);
        let expected =
            values(model.forward(Tensor::<4>::from_data(TensorData::new(inputs.clone(), [4, 1, 28, 28]), &device)))
                .expect("values");

        let onnx = Model::load(&model.to_onnx("test").expect("exports")).expect("tract loads it");
        assert_eq!(onnx.card().operators.get("BatchNormalization"), None);
        let mut clf = onnx.classifier(1).expect("compiles");
        for (i, image) in inputs.chunks(784).enumerate() {
            let got = clf.run(image).expect("runs");
            for (a, b) in got.iter().zip(&expected[i * 10..(i + 1) * 10]) {
                assert!((a - b).abs() < 1e-4, "image {i}: tract {a} vs burn {b}");
            }
        }
    }
}
