//! Scores: softmax, top-k, accuracy, teacher–student agreement, KL divergence, confusion
//! matrices, and [`Evaluation`], which accumulates them image by image so a long run can
//! report progress and a partial result at any point.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Softmax of `logits / temperature`, computed stably (max subtracted first).
pub fn softmax_t(logits: &[f32], temperature: f32) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|v| ((v - max) / temperature).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Softmax at temperature 1.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    softmax_t(logits, 1.0)
}

/// Log-softmax in f64, for divergences that must not underflow.
fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = logits.iter().map(|v| (*v as f64 - max).exp()).sum::<f64>().ln() + max;
    logits.iter().map(|v| *v as f64 - lse).collect()
}

/// Index of the largest score (the first one on ties).
pub fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in scores.iter().enumerate() {
        if *v > scores[best] {
            best = i;
        }
    }
    best
}

/// The `k` best (index, score) pairs, best first; ties keep the lower index first.
pub fn top_k(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut indexed: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    indexed.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    indexed.truncate(k);
    indexed
}

/// KL(p ‖ q) between the softmaxes of two logit vectors, in nats.
pub fn kl_from_logits(p_logits: &[f32], q_logits: &[f32]) -> f64 {
    let lp = log_softmax(p_logits);
    let lq = log_softmax(q_logits);
    lp.iter().zip(&lq).map(|(a, b)| a.exp() * (a - b)).sum::<f64>().max(0.0)
}

/// Share of `predictions` equal to `labels`.
pub fn accuracy(predictions: &[usize], labels: &[usize]) -> Result<f64> {
    agreement(predictions, labels)
}

/// Share of positions where two prediction lists agree.
pub fn agreement(a: &[usize], b: &[usize]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::Input(format!("{} predictions against {} references", a.len(), b.len())));
    }
    if a.is_empty() {
        return Err(Error::Input("no predictions to score".into()));
    }
    Ok(a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64)
}

/// Counts of (reference, predicted) pairs; row = reference, column = prediction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Number of classes.
    pub classes: usize,
    /// `classes × classes` counts, row-major.
    pub counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        ConfusionMatrix { classes, counts: vec![0; classes * classes] }
    }

    /// Records one pair; refuses indices outside the classes.
    pub fn add(&mut self, reference: usize, predicted: usize) -> Result<()> {
        if reference >= self.classes || predicted >= self.classes {
            return Err(Error::Input(format!(
                "class index {} outside the {} classes",
                reference.max(predicted),
                self.classes
            )));
        }
        self.counts[reference * self.classes + predicted] += 1;
        Ok(())
    }

    /// Count at (reference, predicted).
    pub fn get(&self, reference: usize, predicted: usize) -> u64 {
        self.counts[reference * self.classes + predicted]
    }

    /// Total pairs recorded.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Pairs on the diagonal: reference and prediction the same.
    pub fn diagonal(&self) -> u64 {
        (0..self.classes).map(|i| self.get(i, i)).sum()
    }

    /// Share on the diagonal; `None` when empty.
    pub fn accuracy(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| self.diagonal() as f64 / total as f64)
    }

    /// Adds `other`'s counts to these; refuses a matrix over other classes.
    pub fn absorb(&mut self, other: &ConfusionMatrix) -> Result<()> {
        if other.classes != self.classes || other.counts.len() != self.counts.len() {
            return Err(Error::Incompatible(format!(
                "a {}-class confusion matrix cannot join a {}-class one",
                other.classes, self.classes
            )));
        }
        self.counts.iter_mut().zip(&other.counts).for_each(|(a, b)| *a += b);
        Ok(())
    }

    /// Off-diagonal counts per reference class (the row sums without the diagonal).
    pub fn off_diagonal_by_row(&self) -> Vec<u64> {
        (0..self.classes).map(|r| (0..self.classes).filter(|c| *c != r).map(|c| self.get(r, c)).sum()).collect()
    }

    /// The `n` largest off-diagonal cells as (reference, predicted, count), largest first.
    pub fn top_confusions(&self, n: usize) -> Vec<(usize, usize, u64)> {
        let mut cells: Vec<(usize, usize, u64)> = (0..self.classes)
            .flat_map(|r| (0..self.classes).map(move |c| (r, c)))
            .filter(|(r, c)| r != c)
            .map(|(r, c)| (r, c, self.get(r, c)))
            .filter(|cell| cell.2 > 0)
            .collect();
        cells.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
        cells.truncate(n);
        cells
    }
}

/// Running evaluation of a teacher and a student on labelled images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    classes: usize,
    n: u64,
    teacher_correct: u64,
    student_correct: u64,
    agree: u64,
    kl_sum: f64,
    /// Label × teacher prediction.
    teacher_confusion: ConfusionMatrix,
    /// Label × student prediction.
    student_confusion: ConfusionMatrix,
    /// Teacher prediction × student prediction: where the two disagree.
    disagreement: ConfusionMatrix,
}

impl Evaluation {
    /// An empty evaluation over `classes` classes.
    pub fn new(classes: usize) -> Self {
        Evaluation {
            classes,
            n: 0,
            teacher_correct: 0,
            student_correct: 0,
            agree: 0,
            kl_sum: 0.0,
            teacher_confusion: ConfusionMatrix::new(classes),
            student_confusion: ConfusionMatrix::new(classes),
            disagreement: ConfusionMatrix::new(classes),
        }
    }

    /// Adds one image: both models' logits and its label.
    pub fn add(&mut self, teacher_logits: &[f32], student_logits: &[f32], label: usize) -> Result<()> {
        if teacher_logits.len() != self.classes || student_logits.len() != self.classes {
            return Err(Error::Incompatible(format!(
                "teacher gives {} scores, student {}, labels have {} classes",
                teacher_logits.len(),
                student_logits.len(),
                self.classes
            )));
        }
        if label >= self.classes {
            return Err(Error::Input(format!("label {label} outside the {} classes", self.classes)));
        }
        let (t, s) = (argmax(teacher_logits), argmax(student_logits));
        self.teacher_confusion.add(label, t)?;
        self.student_confusion.add(label, s)?;
        self.disagreement.add(t, s)?;
        self.n += 1;
        self.teacher_correct += u64::from(t == label);
        self.student_correct += u64::from(s == label);
        self.agree += u64::from(t == s);
        self.kl_sum += kl_from_logits(teacher_logits, student_logits);
        Ok(())
    }

    /// Images seen so far.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True before the first image.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The numbers so far; refuses an empty evaluation.
    pub fn summary(&self) -> Result<EvalSummary> {
        if self.n == 0 {
            return Err(Error::Input("no images were evaluated".into()));
        }
        let n = self.n as f64;
        let teacher = self.teacher_correct as f64 / n;
        let student = self.student_correct as f64 / n;
        Ok(EvalSummary {
            images: self.n,
            teacher_accuracy: teacher,
            student_accuracy: student,
            delta_points: (student - teacher) * 100.0,
            agreement: self.agree as f64 / n,
            mean_kl: self.kl_sum / n,
            disagreements_by_teacher_class: self.disagreement.off_diagonal_by_row(),
            top_disagreements: self.disagreement.top_confusions(5),
            teacher_confusion: self.teacher_confusion.clone(),
            student_confusion: self.student_confusion.clone(),
            teacher_vs_student: self.disagreement.clone(),
        })
    }
}

impl EvalSummary {
    /// The numbers of all `parts` together: what one evaluation over all their images
    /// gives, for a set split between workers and evaluated apart. The counts add exactly;
    /// the mean KL is the image-weighted mean. Refuses no parts, parts over other classes,
    /// and summaries written before the teacher × student grid (their agreement cannot be
    /// told apart by class).
    pub fn merge<'a>(parts: impl IntoIterator<Item = &'a EvalSummary>) -> Result<EvalSummary> {
        let mut merged: Option<Evaluation> = None;
        for part in parts {
            let grids = [&part.teacher_confusion, &part.student_confusion, &part.teacher_vs_student];
            if grids.iter().any(|g| g.total() != part.images) {
                return Err(Error::Input(format!(
                    "a part of {} images whose confusion matrices count {}, {} and {}",
                    part.images,
                    grids[0].total(),
                    grids[1].total(),
                    grids[2].total()
                )));
            }
            let eval = merged.get_or_insert_with(|| Evaluation::new(part.teacher_confusion.classes));
            eval.teacher_confusion.absorb(grids[0])?;
            eval.student_confusion.absorb(grids[1])?;
            eval.disagreement.absorb(grids[2])?;
            eval.n += part.images;
            eval.teacher_correct += grids[0].diagonal();
            eval.student_correct += grids[1].diagonal();
            eval.agree += grids[2].diagonal();
            eval.kl_sum += part.mean_kl * part.images as f64;
        }
        merged.ok_or_else(|| Error::Input("no evaluations to merge".into()))?.summary()
    }
}

/// The result of an [`Evaluation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Images evaluated.
    pub images: u64,
    /// Teacher top-1 accuracy in [0, 1].
    pub teacher_accuracy: f64,
    /// Student top-1 accuracy in [0, 1].
    pub student_accuracy: f64,
    /// Student − teacher accuracy, in percentage points (negative: the student is worse).
    pub delta_points: f64,
    /// Share of images where the student's top-1 equals the teacher's.
    pub agreement: f64,
    /// Mean KL(teacher ‖ student) over images, in nats.
    pub mean_kl: f64,
    /// Disagreements per class the teacher predicted.
    pub disagreements_by_teacher_class: Vec<u64>,
    /// Most frequent (teacher class, student class, count) disagreements.
    pub top_disagreements: Vec<(usize, usize, u64)>,
    /// Label × teacher prediction.
    pub teacher_confusion: ConfusionMatrix,
    /// Label × student prediction.
    pub student_confusion: ConfusionMatrix,
    /// Teacher prediction × student prediction: the diagonal is agreement, the rest the
    /// disagreement grid the presentation shows. Empty in summaries written before it existed.
    #[serde(default)]
    pub teacher_vs_student: ConfusionMatrix,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[0] < p[1] && p[1] < p[2]);
        assert!((p[2] - 0.665_240_9).abs() < 1e-6);
        // Huge logits do not overflow.
        let q = softmax(&[1000.0, 0.0]);
        assert!((q[0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn temperature_flattens() {
        let cold = softmax_t(&[0.0, 2.0], 1.0);
        let warm = softmax_t(&[0.0, 2.0], 4.0);
        assert!(warm[1] < cold[1] && warm[1] > 0.5);
    }

    #[test]
    fn top_k_is_sorted_with_stable_ties() {
        assert_eq!(top_k(&[0.1, 0.5, 0.5, 0.2], 3), vec![(1, 0.5), (2, 0.5), (3, 0.2)]);
        assert_eq!(top_k(&[0.3], 5).len(), 1);
    }

    #[test]
    fn kl_known_value() {
        // p = softmax(0, ln 3) = (0.25, 0.75); q uniform: KL = 0.25 ln 0.5 + 0.75 ln 1.5.
        let kl = kl_from_logits(&[0.0, 3f32.ln()], &[0.0, 0.0]);
        let expected = 0.25 * (0.5f64).ln() + 0.75 * (1.5f64).ln();
        assert!((kl - expected).abs() < 1e-6);
    }

    #[test]
    fn evaluation_counts_everything() {
        let mut eval = Evaluation::new(3);
        eval.add(&[5.0, 0.0, 0.0], &[5.0, 0.0, 0.0], 0).expect("adds"); // both right, agree
        eval.add(&[0.0, 5.0, 0.0], &[0.0, 0.0, 5.0], 1).expect("adds"); // teacher right, student wrong
        eval.add(&[0.0, 0.0, 5.0], &[0.0, 0.0, 5.0], 1).expect("adds"); // both wrong, agree
        let s = eval.summary().expect("summary");
        assert_eq!(s.images, 3);
        assert!((s.teacher_accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.student_accuracy - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.delta_points + 100.0 / 3.0).abs() < 1e-9);
        assert!((s.agreement - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.disagreements_by_teacher_class, vec![0, 1, 0]);
        assert_eq!(s.top_disagreements, vec![(1, 2, 1)]);
        assert_eq!(s.teacher_confusion.get(1, 2), 1);
        assert_eq!((s.teacher_vs_student.get(0, 0), s.teacher_vs_student.get(2, 2)), (1, 1));
        assert_eq!((s.teacher_vs_student.get(1, 2), s.teacher_vs_student.get(2, 1)), (1, 0));
        assert!(s.mean_kl > 0.0);
    }

    #[test]
    fn a_summary_written_before_the_disagreement_grid_still_reads() {
        let mut eval = Evaluation::new(2);
        eval.add(&[1.0, 0.0], &[0.0, 1.0], 0).expect("adds");
        let mut json = serde_json::to_value(eval.summary().expect("summary")).expect("serialises");
        json.as_object_mut().expect("an object").remove("teacher_vs_student");
        let old: EvalSummary = serde_json::from_value(json).expect("reads without the grid");
        assert_eq!(old.teacher_vs_student, ConfusionMatrix::default());
    }

    /// Logits of `n` made-up images over 4 classes (teacher, student, label), varied enough
    /// that every count and the KL differ between images.
    fn made_up_images(n: usize, seed: u64) -> Vec<([f32; 4], [f32; 4], usize)> {
        let mut rng = distillate_kernels::SplitMix64(seed);
        let mut logits = || std::array::from_fn(|_| rng.next_f32() * 4.0 - 2.0);
        (0..n).map(|i| (logits(), logits(), i % 4)).collect()
    }

    fn evaluate(images: &[([f32; 4], [f32; 4], usize)]) -> Evaluation {
        let mut eval = Evaluation::new(4);
        for (t, s, label) in images {
            eval.add(t, s, *label).expect("adds");
        }
        eval
    }

    proptest! {
        #[test]
        fn parts_evaluated_apart_merge_into_the_whole(n in 1usize..60, cuts in proptest::collection::vec(0usize..60, 0..4), seed in 0u64..1000) {
            let images = made_up_images(n, seed);
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c % (n + 1)).chain([0, n]).collect();
            bounds.sort_unstable();
            // Empty parts are not summaries (a worker with no images sends none).
            let parts: Vec<EvalSummary> = bounds
                .windows(2)
                .filter(|w| w[0] < w[1])
                .map(|w| evaluate(&images[w[0]..w[1]]).summary().expect("summary"))
                .collect();
            let whole = evaluate(&images).summary().expect("summary");
            let merged = EvalSummary::merge(&parts).expect("merges");
            prop_assert!((merged.mean_kl - whole.mean_kl).abs() <= 1e-9 * whole.mean_kl.max(1.0));
            prop_assert_eq!(EvalSummary { mean_kl: whole.mean_kl, ..merged }, whole);
        }
    }

    #[test]
    fn merging_refuses_nothing_other_classes_and_inconsistent_parts() {
        assert!(EvalSummary::merge([]).is_err());
        let four = evaluate(&made_up_images(5, 1)).summary().expect("summary");
        let mut three = Evaluation::new(3);
        three.add(&[1.0, 0.0, 0.0], &[1.0, 0.0, 0.0], 0).expect("adds");
        let three = three.summary().expect("summary");
        assert!(matches!(EvalSummary::merge([&four, &three]), Err(Error::Incompatible(_))));
        // A summary from before the teacher × student grid cannot say where they agreed.
        let old = EvalSummary { teacher_vs_student: ConfusionMatrix::default(), ..four.clone() };
        assert!(matches!(EvalSummary::merge([&four, &old]), Err(Error::Input(_))));
    }

    #[test]
    fn evaluation_refuses_mismatched_classes_and_labels() {
        let mut eval = Evaluation::new(3);
        assert!(matches!(eval.add(&[0.0; 3], &[0.0; 4], 0), Err(Error::Incompatible(_))));
        assert!(matches!(eval.add(&[0.0; 3], &[0.0; 3], 3), Err(Error::Input(_))));
        assert!(eval.summary().is_err());
    }

    proptest! {
        #[test]
        fn accuracy_is_a_share(pairs in proptest::collection::vec((0usize..5, 0usize..5), 1..200)) {
            let (p, l): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
            let acc = accuracy(&p, &l).unwrap();
            prop_assert!((0.0..=1.0).contains(&acc));
        }

        #[test]
        fn a_model_agrees_fully_with_itself(logits in proptest::collection::vec(proptest::collection::vec(-20f32..20.0, 4), 1..50)) {
            let mut eval = Evaluation::new(4);
            for l in &logits {
                eval.add(l, l, 0).unwrap();
            }
            let s = eval.summary().unwrap();
            prop_assert_eq!(s.agreement, 1.0);
            prop_assert!(s.mean_kl.abs() < 1e-9);
            prop_assert_eq!(s.delta_points, 0.0);
        }

        #[test]
        fn kl_is_never_negative(p in proptest::collection::vec(-30f32..30.0, 5), q in proptest::collection::vec(-30f32..30.0, 5)) {
            prop_assert!(kl_from_logits(&p, &q) >= 0.0);
        }
    }
}
