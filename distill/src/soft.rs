//! The teacher's logits for every training image in every view a student can draw.
//!
//! Why: distillation from logits of the clean image, while the student trains on shifted
//! and mirrored copies, teaches the student the teacher's answer to a picture it is not
//! looking at. "Consistent teaching" (Beyer et al. 2022) computes the teacher on the very
//! view the student sees. Shifts of ±2 pixels and mirroring make 50 views per image, few
//! enough to compute them all once through the exported teacher in tract (2.75 M images,
//! minutes on two threads) instead of running the teacher at every training step.
//!
//! Invariant: `logits(i, v)` is what the exported teacher returns for
//! `Split::render(i, v)`, so a student trained on view `v` of image `i` is taught exactly
//! that answer. The cache file is keyed on the teacher's bytes, the views and the images.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use distillate_engine::Model;

use crate::data::{PIXELS, Split, View};

/// Teacher logits `[image][view][class]`.
#[derive(Debug, Clone)]
pub struct SoftTargets {
    logits: Vec<f32>,
    max_shift: usize,
    hflip: bool,
    views: usize,
    classes: usize,
}

impl SoftTargets {
    /// The teacher's logits for image `i` seen in `view`.
    pub fn logits(&self, i: usize, view: View) -> &[f32] {
        let row = i * self.views + view.index(self.max_shift, self.hflip);
        &self.logits[row * self.classes..(row + 1) * self.classes]
    }

    /// Classes per row.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Views per image.
    pub fn views(&self) -> usize {
        self.views
    }

    /// Whether these are the views a model trained with `max_shift` and `hflip` draws.
    pub fn covers(&self, max_shift: usize, hflip: bool) -> bool {
        (self.max_shift, self.hflip) == (max_shift, hflip)
    }

    /// Computes them with `teacher` (ONNX bytes) on `threads` threads, or reads them from
    /// `cache_dir` when an earlier run computed the same ones.
    pub fn compute_or_load(
        teacher: &[u8],
        train: &Split,
        max_shift: usize,
        hflip: bool,
        cache_dir: &Path,
        threads: usize,
    ) -> anyhow::Result<SoftTargets> {
        let views = View::all(max_shift, hflip);
        let path = cache_path(cache_dir, teacher, train, max_shift, hflip);
        let model = Model::load(teacher).context("the teacher's ONNX")?;
        let classes = model.card().classes;
        let expected = train.len() * views.len() * classes;
        if let Ok(bytes) = std::fs::read(&path)
            && bytes.len() == expected * 4
        {
            eprintln!("soft targets: read {} ({} views per image)", path.display(), views.len());
            let logits = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            return Ok(SoftTargets { logits, max_shift, hflip, views: views.len(), classes });
        }
        let started = Instant::now();
        let logits = teacher_logits(&model, train, &views, threads.max(1))?;
        eprintln!(
            "soft targets: {} images × {} views in {:.0} s",
            train.len(),
            views.len(),
            started.elapsed().as_secs_f64()
        );
        std::fs::create_dir_all(cache_dir).with_context(|| format!("cannot create {}", cache_dir.display()))?;
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?,
        );
        for v in &logits {
            file.write_all(&v.to_le_bytes())?;
        }
        file.flush()?;
        Ok(SoftTargets { logits, max_shift, hflip, views: views.len(), classes })
    }
}

/// Runs the teacher on every (image, view), images split across threads.
fn teacher_logits(model: &Model, train: &Split, views: &[View], threads: usize) -> anyhow::Result<Vec<f32>> {
    let classes = model.card().classes;
    let per_image = views.len() * classes;
    let mut logits = vec![0.0f32; train.len() * per_image];
    let chunk_images = train.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut handles = Vec::new();
        for (part, out) in logits.chunks_mut(chunk_images * per_image).enumerate() {
            let first = part * chunk_images;
            handles.push(scope.spawn(move || -> anyhow::Result<()> {
                // One image per call: the exported models fix their batch to 1, and at
                // 28×28 a convolution's GEMM is already 784 columns wide.
                let mut clf = model.classifier(1)?;
                let mut input = vec![0.0f32; PIXELS];
                for (pair, row) in out.chunks_mut(classes).enumerate() {
                    train.render(first + pair / views.len(), views[pair % views.len()], &mut input);
                    clf.run_into(&input, row)?;
                }
                Ok(())
            }));
        }
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a soft-target thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(logits)
}

fn cache_path(dir: &Path, teacher: &[u8], train: &Split, max_shift: usize, hflip: bool) -> PathBuf {
    let mut images = Fnv::default();
    images.write(&train.pixels);
    for l in &train.labels {
        images.write(&(*l as u64).to_le_bytes());
    }
    dir.join(format!(
        "soft-{:016x}-{:016x}-s{max_shift}{}.f32",
        fnv1a64(teacher),
        images.0,
        if hflip { "f" } else { "" }
    ))
}

/// FNV-1a, 64 bits: names cache entries and identifies a stage's teacher. Not a
/// cryptographic hash; a collision would only reuse a stale cache entry.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.write(bytes);
    h.0
}

struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distillate_engine::onnx_build::{RandomCnn, SplitMix64};

    fn split(n: usize) -> Split {
        let mut rng = SplitMix64(9);
        Split { pixels: (0..n * PIXELS).map(|_| (rng.next_u64() & 0xFF) as u8).collect(), labels: vec![1; n] }
    }

    /// The invariant: each cached row is the teacher's answer to that exact view, whichever
    /// thread computed it and wherever the batch boundaries fell.
    #[test]
    fn each_row_is_the_teachers_logits_for_that_view() {
        let teacher = RandomCnn::default().build();
        let train = split(3);
        let dir = tempfile::tempdir().expect("temp dir");
        let soft = SoftTargets::compute_or_load(&teacher, &train, 1, true, dir.path(), 2).expect("computes");
        assert_eq!(soft.views(), 18);
        let model = Model::load(&teacher).expect("loads");
        let mut one = model.classifier(1).expect("compiles");
        let mut image = vec![0.0; PIXELS];
        for i in 0..train.len() {
            for view in View::all(1, true) {
                train.render(i, view, &mut image);
                let expected = one.run(&image).expect("runs");
                for (a, b) in soft.logits(i, view).iter().zip(&expected) {
                    assert!((a - b).abs() < 1e-5, "image {i} {view:?}: {a} vs {b}");
                }
            }
        }
        // A second call reads the cache and returns the same numbers.
        let again = SoftTargets::compute_or_load(&teacher, &train, 1, true, dir.path(), 1).expect("reads");
        assert_eq!(again.logits, soft.logits);
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn the_cache_is_keyed_on_teacher_images_and_views() {
        let dir = Path::new("/cache");
        let (a, b) = (RandomCnn::default().build(), RandomCnn { seed: 2, ..Default::default() }.build());
        let train = split(2);
        let key = cache_path(dir, &a, &train, 2, true);
        assert_ne!(key, cache_path(dir, &b, &train, 2, true));
        assert_ne!(key, cache_path(dir, &a, &split(3), 2, true));
        assert_ne!(key, cache_path(dir, &a, &train, 1, true));
        assert_ne!(key, cache_path(dir, &a, &train, 2, false));
    }
}
