//! The CNN family used for teacher and students, and its ONNX export.
//!
//! Stages of 3×3 convolutions (same padding, with bias) with BatchNorm and ReLU, a 2×2
//! max-pool between stages, global average pooling and one linear layer. The network lives
//! in a [`Worker`] (PyTorch, see [`crate::torch`]); the export folds each BatchNorm into its
//! convolution, so the ONNX graph is Conv/Relu/MaxPool/GAP/Gemm only.

use std::path::Path;

use distillate_engine::onnx_build::OnnxBuilder;
pub use distillate_engine::training::Arch;
use serde_json::{Value, json};

use crate::config::{KdConfig, TrainConfig};
use crate::torch::{Worker, bytes_f32, f32_bytes};

/// One network of the family, held by its own worker process.
#[derive(Debug)]
pub struct Cnn {
    arch: Arch,
    worker: Worker,
}

impl Cnn {
    /// Fresh weights drawn from `seed` (PyTorch's default initialisation, which is burn's:
    /// uniform within ±1/√fan-in), with an AdamW optimiser of `config`'s learning rate and
    /// weight decay, computing on `threads` threads. Each network has its own process and
    /// generator, so two made side by side get the weights their seeds give.
    pub fn seeded(arch: &Arch, seed: u64, config: &TrainConfig, threads: usize) -> anyhow::Result<Cnn> {
        let mut worker = Worker::spawn()?;
        let header = json!({
            "op": "init",
            "arch": arch,
            "seed": seed,
            "learning_rate": config.learning_rate,
            "weight_decay": config.weight_decay,
            "threads": threads.max(1),
        });
        worker.request(header, &[])?;
        Ok(Cnn { arch: arch.clone(), worker })
    }

    /// The architecture.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// One optimiser step at learning rate `lr` on images `x` (`[n, 1, 28, 28]`) with
    /// `labels`, on cross-entropy or, given the teacher's logits for these very views,
    /// on the distillation loss; returns the batch's mean loss.
    pub fn step(
        &mut self,
        x: &[f32],
        labels: &[i64],
        teacher: Option<(&[f32], &KdConfig)>,
        lr: f64,
    ) -> anyhow::Result<f64> {
        let n = labels.len();
        anyhow::ensure!(x.len() == n * 784, "{} pixels for {n} images", x.len());
        let labels: Vec<u8> = labels.iter().flat_map(|&l| (l as i32).to_le_bytes()).collect();
        let (kd, logits) = match teacher {
            Some((t, kd)) => {
                anyhow::ensure!(t.len() == n * self.arch.classes, "{} teacher logits for {n} images", t.len());
                (json!({ "alpha": kd.alpha, "temperature": kd.temperature }), f32_bytes(t))
            }
            None => (Value::Null, Vec::new()),
        };
        let header = json!({ "op": "step", "n": n, "lr": lr, "kd": kd });
        let (reply, _) = self.worker.request(header, &[&f32_bytes(x), &labels, &logits])?;
        reply["loss"].as_f64().ok_or_else(|| anyhow::anyhow!("torch worker: step without a loss"))
    }

    /// Logits `[n, classes]` in evaluation mode (BatchNorm on its running statistics).
    pub fn predict(&mut self, x: &[f32]) -> anyhow::Result<Vec<f32>> {
        let n = x.len() / 784;
        let (_, bytes) = self.worker.request(json!({ "op": "predict", "n": n }), &[&f32_bytes(x)])?;
        let logits = bytes_f32(&bytes);
        anyhow::ensure!(logits.len() == n * self.arch.classes, "torch worker: {} logits for {n} images", logits.len());
        Ok(logits)
    }

    /// A training-mode forward pass without gradients: moves only BatchNorm's running
    /// statistics (momentum 0.1).
    pub fn refresh_batch_norm(&mut self, x: &[f32]) -> anyhow::Result<()> {
        self.worker.request(json!({ "op": "refresh_bn", "n": x.len() / 784 }), &[&f32_bytes(x)])?;
        Ok(())
    }

    /// Keeps a copy of the current weights and statistics under `slot`.
    pub fn save(&mut self, slot: &str) -> anyhow::Result<()> {
        self.worker.request(json!({ "op": "save", "slot": slot }), &[])?;
        Ok(())
    }

    /// Goes back to the weights kept under `slot`.
    pub fn load(&mut self, slot: &str) -> anyhow::Result<()> {
        self.worker.request(json!({ "op": "load", "slot": slot }), &[])?;
        Ok(())
    }

    /// Writes everything training goes on from (weights, statistics, optimiser state and
    /// the kept slots) to `path`, atomically.
    pub fn checkpoint(&mut self, path: &Path) -> anyhow::Result<()> {
        self.worker.request(json!({ "op": "checkpoint", "path": path }), &[])?;
        Ok(())
    }

    /// Goes back to what [`Cnn::checkpoint`] wrote to `path`.
    pub fn restore(&mut self, path: &Path) -> anyhow::Result<()> {
        self.worker.request(json!({ "op": "restore", "path": path }), &[])?;
        Ok(())
    }

    /// A second network, in its own worker, with the weights kept under `slot` (the
    /// optimiser state stays behind: the copy is for evaluation and export).
    pub fn fork(&mut self, slot: &str) -> anyhow::Result<Cnn> {
        self.save("fork-current")?;
        self.load(slot)?;
        let (_, state) = self.worker.request(json!({ "op": "state" }), &[])?;
        self.load("fork-current")?;
        let mut copy = Cnn::seeded(&self.arch, 0, &TrainConfig::default(), 1)?;
        copy.worker.request(json!({ "op": "set_state" }), &[&state])?;
        Ok(copy)
    }

    /// ONNX bytes with BatchNorm folded into the convolutions; `doc` goes into the file.
    pub fn to_onnx(&mut self, doc: &str) -> anyhow::Result<Vec<u8>> {
        let (reply, bytes) = self.worker.request(json!({ "op": "weights" }), &[])?;
        let values = bytes_f32(&bytes);
        let eps = reply["bn_eps"].as_f64().unwrap_or(1e-5) as f32;
        let mut at = 0;
        let mut take = |n: usize| -> anyhow::Result<&[f32]> {
            let part = values.get(at..at + n).ok_or_else(|| anyhow::anyhow!("torch worker: weights cut short"))?;
            at += n;
            Ok(part)
        };
        let mut b = OnnxBuilder::image_classifier(1, 28, 28).doc(doc);
        let last = self.arch.stages.len() - 1;
        let mut cin = 1;
        for (i, stage) in self.arch.stages.iter().enumerate() {
            for &o in stage {
                let w = take(o * cin * 9)?.to_vec();
                let bias = take(o)?.to_vec();
                let bn = BatchNorm {
                    gamma: take(o)?.to_vec(),
                    beta: take(o)?.to_vec(),
                    mean: take(o)?.to_vec(),
                    var: take(o)?.to_vec(),
                    eps,
                };
                let (w, bias) = fold(w, &bias, &bn);
                b.conv(&w, [o as i64, cin as i64, 3, 3], &bias, 1, 1, 1).relu();
                cin = o;
            }
            if i < last {
                b.max_pool(2, 2);
            }
        }
        let classes = self.arch.classes;
        // PyTorch stores Linear weights [out, in], what ONNX Gemm with transB wants.
        let weight = take(classes * cin)?.to_vec();
        let bias = take(classes)?.to_vec();
        anyhow::ensure!(at == values.len(), "torch worker: {} weights for an export of {at}", values.len());
        b.global_avg_pool().flatten().gemm(&weight, classes as i64, cin as i64, &bias);
        Ok(b.build())
    }
}

/// One BatchNorm's learned and running values.
struct BatchNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    mean: Vec<f32>,
    var: Vec<f32>,
    eps: f32,
}

/// `w' = w·γ/√(σ²+ε)`, `b' = (b − μ)·γ/√(σ²+ε) + β`, per output channel.
fn fold(mut w: Vec<f32>, bias: &[f32], bn: &BatchNorm) -> (Vec<f32>, Vec<f32>) {
    let o = bias.len();
    let per_channel = w.len() / o;
    let mut folded_bias = vec![0.0; o];
    for c in 0..o {
        let scale = bn.gamma[c] / (bn.var[c] + bn.eps).sqrt();
        for v in &mut w[c * per_channel..(c + 1) * per_channel] {
            *v *= scale;
        }
        folded_bias[c] = (bias[c] - bn.mean[c]) * scale + bn.beta[c];
    }
    (w, folded_bias)
}

#[cfg(test)]
mod tests {
    use super::*;
    use distillate_engine::Model;
    use distillate_engine::onnx_build::SplitMix64;

    fn random_batch(rng: &mut SplitMix64, n: usize) -> Vec<f32> {
        (0..n * 784).map(|_| rng.next_normal() * 2.0 + 0.5).collect()
    }

    #[test]
    fn exported_onnx_matches_the_network_with_batch_norm_folded() {
        let arch = Arch { stages: vec![vec![4, 6], vec![8]], classes: 10 };
        let mut model = Cnn::seeded(&arch, 7, &TrainConfig::default(), 1).expect("worker starts");
        let mut rng = SplitMix64(11);
        // Training-mode passes move the running statistics away from (0, 1), so the fold is
        // exercised with non-trivial means and variances.
        for _ in 0..5 {
            model.refresh_batch_norm(&random_batch(&mut rng, 16)).expect("forward");
        }
        let inputs = random_batch(&mut rng, 4);
        let expected = model.predict(&inputs).expect("predicts");

        let onnx = Model::load(&model.to_onnx("test").expect("exports")).expect("tract loads it");
        assert_eq!(onnx.card().operators.get("BatchNormalization"), None);
        let mut clf = onnx.classifier(1).expect("compiles");
        for (i, image) in inputs.chunks(784).enumerate() {
            let got = clf.run(image).expect("runs");
            for (a, b) in got.iter().zip(&expected[i * 10..(i + 1) * 10]) {
                assert!((a - b).abs() < 1e-4, "image {i}: tract {a} vs torch {b}");
            }
        }
    }

    #[test]
    fn a_seed_gives_the_same_weights_and_another_seed_others() {
        let arch = Arch { stages: vec![vec![4], vec![8]], classes: 10 };
        let weights = |seed| Cnn::seeded(&arch, seed, &TrainConfig::default(), 1).and_then(|mut m| m.to_onnx(""));
        let (a, b, c) = (weights(3).expect("a"), weights(3).expect("b"), weights(4).expect("c"));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_fork_keeps_the_saved_weights_and_the_original_goes_on() {
        let arch = Arch { stages: vec![vec![4], vec![8]], classes: 10 };
        let mut model = Cnn::seeded(&arch, 5, &TrainConfig::default(), 1).expect("worker starts");
        let mut rng = SplitMix64(2);
        let x = random_batch(&mut rng, 8);
        model.save("before").expect("saves");
        let before = model.predict(&x).expect("predicts");
        model.step(&x, &[1; 8], None, 0.05).expect("steps");
        let after = model.predict(&x).expect("predicts");
        assert_ne!(before, after, "a step at a high learning rate moves the logits");
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        let mut fork = model.fork("before").expect("forks");
        assert!(close(&fork.predict(&x).expect("predicts"), &before), "the fork has the saved weights");
        assert!(close(&model.predict(&x).expect("predicts"), &after), "the original kept its own");
    }

    #[test]
    fn a_worker_error_comes_back_as_an_error_naming_the_request() {
        let arch = Arch { stages: vec![vec![4]], classes: 10 };
        let mut model = Cnn::seeded(&arch, 1, &TrainConfig::default(), 1).expect("worker starts");
        let err = model.load("never-saved").expect_err("no such slot");
        assert!(format!("{err:#}").contains("load"), "{err:#}");
        // The worker survives its error and answers the next request.
        assert_eq!(model.predict(&[0.0; 784]).expect("still serves").len(), 10);
    }
}
