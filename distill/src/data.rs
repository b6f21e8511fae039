//! Fashion-MNIST from its IDX files: split, normalise, augment, batch.

use std::path::Path;

use anyhow::Context;
use distillate_engine::idx::LabelledImages;
use distillate_engine::onnx_build::SplitMix64;

/// Mean pixel of the Fashion-MNIST training set on [0, 1] (0.2860; a test below recomputes it).
pub const FASHION_MNIST_MEAN: f32 = 0.2860;
/// Standard deviation of those pixels (0.3530).
pub const FASHION_MNIST_STD: f32 = 0.3530;
/// Image side.
pub const SIDE: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// Fashion-MNIST's classes, in label order (Zalando's README).
pub const CLASS_NAMES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// Images and labels as stored (8-bit), with the normalisation applied per batch.
#[derive(Debug, Clone)]
pub struct Split {
    /// Row-major 28×28 images, one after another.
    pub pixels: Vec<u8>,
    /// Class per image.
    pub labels: Vec<usize>,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }

    fn select(&self, indices: &[usize]) -> Split {
        Split {
            pixels: indices.iter().flat_map(|&i| self.image(i).iter().copied()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Normalised NCHW batch of `indices`, with optional augmentation, plus labels and
    /// the view (shift and mirroring) each image was drawn in.
    pub fn batch(&self, indices: &[usize], mut augment: Option<Augment<'_>>) -> Batch {
        let mut x = vec![0.0; indices.len() * PIXELS];
        let mut views = Vec::with_capacity(indices.len());
        for (&i, out) in indices.iter().zip(x.chunks_mut(PIXELS)) {
            let view = match augment.as_mut() {
                Some(a) => a.draw_view(),
                None => View::IDENTITY,
            };
            self.render(i, view, out);
            if let Some(a) = augment.as_mut()
                && a.erase_prob > 0.0
                && f64::from(a.rng.next_f32()) < a.erase_prob
            {
                erase(out, a.rng);
            }
            views.push(view);
        }
        Batch { x, labels: indices.iter().map(|&i| self.labels[i] as i64).collect(), views }
    }

    /// Writes image `i` as seen in `view`, normalised, into `out` (`PIXELS` long). Pixels
    /// shifted in from outside are background (0).
    pub fn render(&self, i: usize, view: View, out: &mut [f32]) {
        let img = self.image(i);
        let fill = normalise(0);
        let (dx, dy) = (i64::from(view.dx), i64::from(view.dy));
        for (y, row) in out.chunks_mut(SIDE).enumerate() {
            for (xx, v) in row.iter_mut().enumerate() {
                // Output pixel (xx, y) reads source (sx, sy).
                let sx = if view.flip { SIDE as i64 - 1 - xx as i64 } else { xx as i64 } - dx;
                let sy = y as i64 - dy;
                let inside = (0..SIDE as i64).contains(&sx) && (0..SIDE as i64).contains(&sy);
                *v = if inside { normalise(img[(sy as usize) * SIDE + sx as usize]) } else { fill };
            }
        }
    }
}

/// How an image is shown to a model: shifted by (dx, dy) pixels, then mirrored or not.
/// Students learn from the teacher's logits for the very view they see (Beyer et al. 2022,
/// "consistent teaching"), so views are enumerable and the teacher's logits are cached per
/// view ([`crate::soft::SoftTargets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Horizontal shift, pixels.
    pub dx: i8,
    /// Vertical shift, pixels.
    pub dy: i8,
    /// Mirrored left–right.
    pub flip: bool,
}

impl View {
    /// The image as stored.
    pub const IDENTITY: View = View { dx: 0, dy: 0, flip: false };

    /// Every view with shifts up to `max_shift` and, with `hflip`, mirrored ones: the set
    /// [`Augment`] draws from, uniformly, in the order [`View::index`] numbers them.
    pub fn all(max_shift: usize, hflip: bool) -> Vec<View> {
        let s = max_shift as i8;
        let flips: &[bool] = if hflip { &[false, true] } else { &[false] };
        let mut views = Vec::new();
        for dy in -s..=s {
            for dx in -s..=s {
                for &flip in flips {
                    views.push(View { dx, dy, flip });
                }
            }
        }
        views
    }

    /// Position of this view in [`View::all`]`(max_shift, hflip)`.
    pub fn index(self, max_shift: usize, hflip: bool) -> usize {
        let s = max_shift as i64;
        let side = (2 * s + 1) as usize;
        let flips = if hflip { 2 } else { 1 };
        let (dx, dy) = ((i64::from(self.dx) + s) as usize, (i64::from(self.dy) + s) as usize);
        (dy * side + dx) * flips + usize::from(self.flip && hflip)
    }
}

/// Training-time augmentation of a batch.
#[derive(Debug)]
pub struct Augment<'a> {
    /// The pipeline's generator (augmentation is seeded like everything else).
    pub rng: &'a mut SplitMix64,
    /// Random shifts of up to this many pixels in x and y.
    pub max_shift: usize,
    /// Mirror left–right with probability 1/2.
    pub hflip: bool,
    /// Probability of random erasing.
    pub erase_prob: f64,
    /// Probability of the image as it is ([`View::IDENTITY`]) instead of a drawn view.
    pub clean_share: f64,
}

impl Augment<'_> {
    /// The image as it is with probability `clean_share`; otherwise a uniformly drawn view:
    /// shifts in [−max_shift, max_shift], mirrored with probability 1/2.
    fn draw_view(&mut self) -> View {
        if self.clean_share > 0.0 && f64::from(self.rng.next_f32()) < self.clean_share {
            return View::IDENTITY;
        }
        let s = self.max_shift as i64;
        let mut offset = || if s == 0 { 0 } else { (self.rng.next_u64() % (2 * s as u64 + 1)) as i64 - s };
        let (dx, dy) = (offset() as i8, offset() as i8);
        View { dx, dy, flip: self.hflip && self.rng.next_u64() & 1 == 1 }
    }
}

/// Random erasing (Zhong et al., 2017, "Random Erasing Data Augmentation", whose defaults
/// these are): a rectangle covering 2–40 % of the image, aspect ratio 0.3–3.3, filled with
/// random pixel values.
const ERASE_AREA: (f64, f64) = (0.02, 0.4);
/// Smallest aspect ratio (height / width) of the erased rectangle; the largest is its inverse.
const ERASE_MIN_ASPECT: f64 = 0.3;
/// Attempts at a rectangle that fits before giving up (the paper's loop, bounded).
const ERASE_ATTEMPTS: usize = 10;

/// Erases one random rectangle of a normalised 28×28 image in place.
fn erase(image: &mut [f32], rng: &mut SplitMix64) {
    for _ in 0..ERASE_ATTEMPTS {
        let area = (PIXELS as f64) * (ERASE_AREA.0 + f64::from(rng.next_f32()) * (ERASE_AREA.1 - ERASE_AREA.0));
        let log_aspect = ERASE_MIN_ASPECT.ln() * (1.0 - 2.0 * f64::from(rng.next_f32()));
        let aspect = log_aspect.exp();
        let h = (area * aspect).sqrt().round() as usize;
        let w = (area / aspect).sqrt().round() as usize;
        if h == 0 || w == 0 || h >= SIDE || w >= SIDE {
            continue;
        }
        let top = (rng.next_u64() % (SIDE - h + 1) as u64) as usize;
        let left = (rng.next_u64() % (SIDE - w + 1) as u64) as usize;
        for row in image.chunks_mut(SIDE).skip(top).take(h) {
            for v in &mut row[left..left + w] {
                *v = normalise((rng.next_u64() & 0xFF) as u8);
            }
        }
        return;
    }
}

/// One batch, ready for tensors.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[n, 1, 28, 28]` normalised pixels.
    pub x: Vec<f32>,
    /// Class per image.
    pub labels: Vec<i64>,
    /// The view each image was drawn in.
    pub views: Vec<View>,
}

/// The pixel as the models see it: `(p/255 − mean) / std`.
pub fn normalise(p: u8) -> f32 {
    (f32::from(p) / 255.0 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD
}

/// Train, validation and test splits.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Training images (after the validation hold-out).
    pub train: Split,
    /// Held-out validation images.
    pub val: Split,
    /// The test set.
    pub test: Split,
}

fn load_pair(dir: &Path, prefix: &str) -> anyhow::Result<Split> {
    let images = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
    let labels = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
    let read = |p: &Path| {
        std::fs::read(p)
            .with_context(|| format!("cannot read {} (install the Debian package dataset-fashion-mnist)", p.display()))
    };
    let set = LabelledImages::from_idx(&read(&images)?, &read(&labels)?)
        .with_context(|| format!("cannot read {}", images.display()))?;
    anyhow::ensure!(set.width as usize == SIDE && set.height as usize == SIDE, "expected 28×28 images");
    Ok(Split { pixels: set.pixels, labels: set.labels })
}

impl Dataset {
    /// Loads the IDX files, keeps `train_limit` (0 = all) training images, and holds out
    /// `validation_size` of them, chosen by `seed`.
    pub fn load(
        dir: &Path,
        validation_size: usize,
        train_limit: usize,
        test_limit: usize,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let all = load_pair(dir, "train")?;
        let mut test = load_pair(dir, "t10k")?;
        let n = if train_limit == 0 { all.len() } else { train_limit.min(all.len()) };
        anyhow::ensure!(validation_size < n, "validation_size {validation_size} leaves no training images of {n}");
        let mut order: Vec<usize> = (0..all.len()).collect();
        shuffle(&mut order, &mut SplitMix64(seed));
        order.truncate(n);
        let (val_idx, train_idx) = order.split_at(validation_size);
        if test_limit > 0 && test_limit < test.len() {
            test.labels.truncate(test_limit);
            test.pixels.truncate(test_limit * PIXELS);
        }
        Ok(Dataset { train: all.select(train_idx), val: all.select(val_idx), test })
    }
}

/// Fisher–Yates with the pipeline's generator.
pub fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Split {
        Split { pixels: (0..PIXELS).map(|i| (i % 256) as u8).collect(), labels: vec![3] }
    }

    #[test]
    fn batch_without_augmentation_is_the_normalised_image() {
        let b = tiny().batch(&[0], None);
        assert_eq!(b.x.len(), PIXELS);
        assert_eq!(b.x[5], normalise(5));
        assert_eq!((b.labels, b.views), (vec![3], vec![View::IDENTITY]));
    }

    #[test]
    fn flip_mirrors_rows() {
        let split = tiny();
        let mut rng = SplitMix64(1);
        // Draw until a flip happens (probability 1/2 each time).
        let b = (0..64)
            .map(|_| {
                split.batch(
                    &[0],
                    Some(Augment { rng: &mut rng, max_shift: 0, hflip: true, erase_prob: 0.0, clean_share: 0.0 }),
                )
            })
            .find(|b| b.views[0].flip)
            .expect("a flip");
        assert_eq!(b.x[0], normalise(27));
        assert_eq!(b.x[SIDE + 27], normalise(SIDE as u8));
    }

    #[test]
    fn views_are_numbered_in_the_order_they_are_listed() {
        for (shift, flip) in [(0, false), (0, true), (2, false), (2, true)] {
            let all = View::all(shift, flip);
            assert_eq!(all.len(), (2 * shift + 1).pow(2) * if flip { 2 } else { 1 });
            for (i, v) in all.iter().enumerate() {
                assert_eq!(v.index(shift, flip), i, "{v:?}");
            }
        }
    }

    #[test]
    fn every_drawn_view_is_one_of_the_listed_views_and_renders_as_drawn() {
        let split = tiny();
        let mut rng = SplitMix64(5);
        let all = View::all(2, true);
        let mut seen = vec![false; all.len()];
        for _ in 0..2_000 {
            let b = split.batch(
                &[0],
                Some(Augment { rng: &mut rng, max_shift: 2, hflip: true, erase_prob: 0.0, clean_share: 0.0 }),
            );
            let v = b.views[0];
            seen[v.index(2, true)] = true;
            let mut again = vec![0.0; PIXELS];
            split.render(0, v, &mut again);
            assert_eq!(b.x, again, "{v:?}");
        }
        assert!(seen.iter().all(|s| *s), "every view is drawn");
    }

    #[test]
    fn a_clean_share_draws_the_image_as_it_is_that_often_and_other_views_as_before() {
        let split = tiny();
        let mut rng = SplitMix64(9);
        let draws = 4_000;
        let clean = (0..draws)
            .filter(|_| {
                let a = Augment { rng: &mut rng, max_shift: 2, hflip: true, erase_prob: 0.0, clean_share: 0.5 };
                split.batch(&[0], Some(a)).views[0] == View::IDENTITY
            })
            .count();
        // Half forced, plus a fiftieth of the other half drawn uniformly: 51 %, ± 2.4 (3 σ).
        let share = clean as f64 / draws as f64;
        assert!((share - 0.51).abs() < 0.024, "{share}");
        let mut rng = SplitMix64(9);
        let always = Augment { rng: &mut rng, max_shift: 2, hflip: true, erase_prob: 0.0, clean_share: 1.0 };
        assert_eq!(split.batch(&[0], Some(always)).views, vec![View::IDENTITY]);
    }

    #[test]
    fn a_shift_moves_pixels_and_fills_with_background() {
        let split = tiny();
        let mut out = vec![0.0; PIXELS];
        split.render(0, View { dx: 1, dy: 2, flip: false }, &mut out);
        // Output (x, y) reads source (x − 1, y − 2).
        assert_eq!(out[2 * SIDE + 1], normalise(0));
        assert_eq!(out[3 * SIDE + 5], normalise(((SIDE + 4) % 256) as u8));
        assert_eq!(out[0], normalise(0));
    }

    #[test]
    fn erasing_changes_one_rectangle_and_nothing_else() {
        // A uniform image: every changed pixel belongs to the erased rectangle.
        let split = Split { pixels: vec![7; PIXELS], labels: vec![1] };
        let mut rng = SplitMix64(3);
        let b = split.batch(
            &[0],
            Some(Augment { rng: &mut rng, max_shift: 0, hflip: false, erase_prob: 1.0, clean_share: 0.0 }),
        );
        let changed: Vec<(usize, usize)> =
            (0..PIXELS).filter(|&i| b.x[i] != normalise(7)).map(|i| (i / SIDE, i % SIDE)).collect();
        assert!(changed.len() >= (PIXELS as f64 * ERASE_AREA.0 * 0.5) as usize, "{} pixels", changed.len());
        let (rows, cols): (Vec<usize>, Vec<usize>) = changed.iter().copied().unzip();
        let (h, w) = (
            rows.iter().max().unwrap() - rows.iter().min().unwrap() + 1,
            cols.iter().max().unwrap() - cols.iter().min().unwrap() + 1,
        );
        assert!(h < SIDE && w < SIDE, "{h}×{w} covers the image");
        assert!(changed.len() <= h * w);
        assert!(h * w <= (PIXELS as f64 * ERASE_AREA.1 * 1.3) as usize, "{h}×{w} is larger than the area limit");
        let without = split.batch(
            &[0],
            Some(Augment { rng: &mut rng, max_shift: 0, hflip: false, erase_prob: 0.0, clean_share: 0.0 }),
        );
        assert!(without.x.iter().all(|v| *v == normalise(7)));
    }

    #[test]
    fn normalisation_constants_match_the_training_set() {
        let dir = Path::new(&crate::config::PipelineConfig::default().data_dir).to_path_buf();
        let Ok(train) = load_pair(&dir, "train") else {
            panic!("Fashion-MNIST is missing: scripts/setup installs dataset-fashion-mnist");
        };
        let n = train.pixels.len() as f64;
        let mean = train.pixels.iter().map(|p| f64::from(*p) / 255.0).sum::<f64>() / n;
        let var = train.pixels.iter().map(|p| (f64::from(*p) / 255.0 - mean).powi(2)).sum::<f64>() / n;
        assert!((mean - f64::from(FASHION_MNIST_MEAN)).abs() < 5e-4, "mean {mean}");
        assert!((var.sqrt() - f64::from(FASHION_MNIST_STD)).abs() < 5e-4, "std {}", var.sqrt());
        assert_eq!(train.len(), 60_000);
    }
}
