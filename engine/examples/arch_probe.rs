//! Native latency of CNN shapes with random weights: which student architectures can run
//! 3× faster than the teacher in tract (`cargo run --release -p distillate-engine
//! --example arch_probe`). MACs do not predict tract latency well on small models — a
//! fixed per-operator cost makes wide layers at 28×28 and 14×14 dear — so the student
//! ladder in `distill/src/config.rs` was chosen with these figures. Run it on a quiet
//! machine: it prints medians of 15 samples of ≥ 100 ms each.

use distillate_engine::Model;
use distillate_engine::onnx_build::{OnnxBuilder, SplitMix64};
use std::time::Instant;

/// ONNX bytes, parameters and MACs of a CNN with `stages` (3×3 convolutions, 2×2 pools).
fn build(stages: &[Vec<usize>], rng: &mut SplitMix64) -> (Vec<u8>, u64, u64) {
    let mut b = OnnxBuilder::image_classifier(1, 28, 28);
    let mut cin = 1usize;
    let mut side = 28usize;
    let (mut params, mut macs) = (0u64, 0u64);
    for (i, s) in stages.iter().enumerate() {
        for &c in s {
            let w: Vec<f32> = (0..c * cin * 9).map(|_| rng.next_normal() * (2.0 / (cin * 9) as f32).sqrt()).collect();
            b.conv(&w, [c as i64, cin as i64, 3, 3], &vec![0.01; c], 1, 1, 1).relu();
            params += (c * cin * 9 + c) as u64;
            macs += (side * side * c * cin * 9) as u64;
            cin = c;
        }
        if i + 1 < stages.len() {
            b.max_pool(2, 2);
            side /= 2;
        }
    }
    let w: Vec<f32> = (0..10 * cin).map(|_| rng.next_normal() * 0.1).collect();
    b.global_avg_pool().flatten().gemm(&w, 10, cin as i64, &[0.0; 10]);
    params += (10 * cin + 10) as u64;
    (b.build(), params, macs)
}

/// Median ms per single-image run.
fn time(bytes: &[u8]) -> f64 {
    let model = Model::load(bytes).unwrap();
    let mut clf = model.classifier(1).unwrap();
    let img: Vec<f32> = (0..784).map(|i| (i % 7) as f32 / 7.0).collect();
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < 0.5 {
        clf.run(&img).unwrap();
    }
    let mut best = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let mut n = 0;
        while t.elapsed().as_secs_f64() < 0.1 {
            clf.run(&img).unwrap();
            n += 1;
        }
        best.push(t.elapsed().as_secs_f64() * 1e3 / n as f64);
    }
    best.sort_by(|a, b| a.partial_cmp(b).unwrap());
    best[best.len() / 2]
}

fn main() {
    let mut rng = SplitMix64(1);
    let archs: Vec<(&str, Vec<Vec<usize>>)> = vec![
        ("teacher", vec![vec![32, 32], vec![64, 64], vec![128, 128]]),
        ("d7", vec![vec![16], vec![32], vec![80, 80]]),
        ("a16-32x2-80x2", vec![vec![16], vec![32, 32], vec![80, 80]]),
        ("a16-32x2-72x2", vec![vec![16], vec![32, 32], vec![72, 72]]),
        ("a16-32-64x3", vec![vec![16], vec![32], vec![64, 64, 64]]),
        ("a16-32-56-64x2", vec![vec![16], vec![32], vec![56, 64, 64]]),
        ("a16-48-72x2", vec![vec![16], vec![48], vec![72, 72]]),
        ("a16x2-32x2-64x2", vec![vec![16, 16], vec![32, 32], vec![64, 64]]),
        ("a16x2-32x2-48x2", vec![vec![16, 16], vec![32, 32], vec![48, 48]]),
        ("a16-32x2-48-64x2", vec![vec![16], vec![32, 32], vec![48, 64, 64]]),
    ];
    for (name, a) in archs {
        let (bytes, params, macs) = build(&a, &mut rng);
        let ms = time(&bytes);
        println!("{name:14} params {params:7} MACs {:6.2} M  {ms:.4} ms", macs as f64 / 1e6);
    }
}
