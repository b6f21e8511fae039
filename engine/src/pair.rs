//! A teacher and its student, loaded together and always used together: what the CLI, the
//! web worker and the throughput pool hold. One place checks that the two can be compared,
//! classifies an image with both, and scores both on labelled images.

use crate::error::{Error, Result};
use crate::idx::LabelledImages;
use crate::metrics::{EvalSummary, Evaluation};
use crate::model::{Model, ModelCard};
use crate::preprocess::PreprocessSpec;
use crate::runner::Runner;

/// One model of a pair as supplied: a name for messages, its bytes, its preprocessing.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// What the person calls it (file or manifest name).
    pub name: &'a str,
    /// ONNX bytes.
    pub bytes: &'a [u8],
    /// How to turn images into its input.
    pub preprocess: &'a PreprocessSpec,
}

/// Which model of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The teacher.
    Teacher,
    /// The student.
    Student,
}

/// An image to classify: raw 8-bit gray pixels, or an encoded PNG/JPEG.
#[derive(Debug, Clone, Copy)]
pub enum Image<'a> {
    /// Row-major gray pixels.
    Luma8 {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `width × height` bytes.
        pixels: &'a [u8],
    },
    /// PNG or JPEG bytes.
    Encoded(&'a [u8]),
}

impl<'a> Image<'a> {
    /// Sample `index` of a labelled set.
    pub fn sample(set: &'a LabelledImages, index: usize) -> Image<'a> {
        Image::Luma8 { width: set.width, height: set.height, pixels: set.image(index) }
    }
}

/// Teacher and student, compiled for one image per call, scoring the same classes.
#[derive(Debug)]
pub struct Pair {
    teacher: Runner,
    student: Runner,
    classes: usize,
}

impl Pair {
    /// Loads and compiles both, and checks they score `classes` classes. Errors name the
    /// model (role and name); nothing is kept from a failed load.
    pub fn load(teacher: Source<'_>, student: Source<'_>, classes: usize) -> Result<Pair> {
        let load = |s: Source<'_>, role: &'static str| {
            Model::load(s.bytes).and_then(|m| Runner::new(&m, s.preprocess)).map_err(|e| Error::InModel {
                role,
                name: s.name.to_string(),
                source: Box::new(e),
            })
        };
        let teacher = load(teacher, "teacher")?;
        let student = load(student, "student")?;
        check_pair(teacher.card(), student.card(), classes)?;
        Ok(Pair { teacher, student, classes })
    }

    /// Classes both models score.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The teacher's and the student's cards.
    pub fn cards(&self) -> (&ModelCard, &ModelCard) {
        (self.teacher.card(), self.student.card())
    }

    /// One model of the pair.
    pub fn runner(&mut self, side: Side) -> &mut Runner {
        match side {
            Side::Teacher => &mut self.teacher,
            Side::Student => &mut self.student,
        }
    }

    /// Both models' logits for `image` (teacher, student).
    pub fn classify(&mut self, image: Image<'_>) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((run(&mut self.teacher, image)?, run(&mut self.student, image)?))
    }

    /// Classifies `image` with both and adds the result, with its label, to `eval`.
    pub fn observe(&mut self, eval: &mut Evaluation, image: Image<'_>, label: usize) -> Result<()> {
        let (t, s) = self.classify(image)?;
        eval.add(&t, &s, label)
    }

    /// An empty evaluation over this pair's classes.
    pub fn evaluation(&self) -> Evaluation {
        Evaluation::new(self.classes)
    }

    /// Both models on the first `limit` images of `set`.
    pub fn evaluate(&mut self, set: &LabelledImages, limit: usize) -> Result<EvalSummary> {
        let mut eval = self.evaluation();
        for i in 0..limit.min(set.len()) {
            self.observe(&mut eval, Image::sample(set, i), set.labels[i])?;
        }
        eval.summary()
    }

    /// Both runners at once (teacher, student): an interleaved benchmark times each on its
    /// last input, alternately.
    pub fn runners(&mut self) -> (&mut Runner, &mut Runner) {
        (&mut self.teacher, &mut self.student)
    }
}

fn run(runner: &mut Runner, image: Image<'_>) -> Result<Vec<f32>> {
    Ok(match image {
        Image::Luma8 { width, height, pixels } => runner.classify_luma8(width, height, pixels)?.to_vec(),
        Image::Encoded(bytes) => runner.classify_bytes(bytes)?.to_vec(),
    })
}

/// Refuses a teacher and student that cannot be compared on `labels` classes. Different
/// input shapes are fine: each model gets its own preprocessing.
pub fn check_pair(teacher: &ModelCard, student: &ModelCard, labels: usize) -> Result<()> {
    if teacher.classes != student.classes {
        return Err(Error::Incompatible(format!(
            "the teacher has {} classes and the student {}; both must score the same classes",
            teacher.classes, student.classes
        )));
    }
    if teacher.classes != labels {
        return Err(Error::Incompatible(format!(
            "the models score {} classes but there are {labels} labels",
            teacher.classes
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_build::RandomCnn;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn source<'a>(name: &'a str, bytes: &'a [u8], spec: &'a PreprocessSpec) -> Source<'a> {
        Source { name, bytes, preprocess: spec }
    }

    #[test]
    fn different_shapes_compare_but_different_classes_do_not() {
        let a = Model::load(&RandomCnn::default().build()).expect("loads");
        let b = Model::load(&RandomCnn { channels: 3, height: 32, width: 32, ..Default::default() }.build())
            .expect("loads");
        let c = Model::load(&RandomCnn { classes: 5, ..Default::default() }.build()).expect("loads");
        assert!(check_pair(a.card(), b.card(), 10).is_ok());
        let err = check_pair(a.card(), c.card(), 10).expect_err("refused").to_string();
        assert!(err.contains("10 classes and the student 5"), "{err}");
        assert!(check_pair(a.card(), b.card(), 9).is_err());
    }

    #[test]
    fn a_broken_model_is_named_by_role_and_name() {
        let spec = PreprocessSpec::default();
        let good = RandomCnn::default().build();
        let err = Pair::load(source("t.onnx", &good, &spec), source("s.onnx", b"junk", &spec), 10)
            .expect_err("refused")
            .to_string();
        assert!(err.starts_with("student 's.onnx': not an ONNX model"), "{err}");
    }

    #[test]
    fn evaluation_scores_both_models_on_every_sample() {
        let spec = PreprocessSpec::default();
        let (t, s) = (RandomCnn::default().build(), RandomCnn { seed: 9, ..Default::default() }.build());
        let mut pair = Pair::load(source("t", &t, &spec), source("s", &s, &spec), 10).expect("loads");
        let set = LabelledImages {
            width: 28,
            height: 28,
            pixels: (0..3 * 784).map(|i| (i % 251) as u8).collect(),
            labels: vec![1, 2, 3],
        };
        let summary = pair.evaluate(&set, 10).expect("evaluates");
        assert_eq!(summary.images, 3);
        // The same images one by one give the same numbers.
        let mut eval = pair.evaluation();
        for i in 0..3 {
            pair.observe(&mut eval, Image::sample(&set, i), set.labels[i]).expect("observes");
        }
        assert_eq!(eval.summary().expect("summary"), summary);
        let (tl, sl) = pair.classify(Image::sample(&set, 0)).expect("classifies");
        assert_eq!((tl.len(), sl.len()), (10, 10));
        assert_ne!(tl, sl, "two different models");
    }
}
