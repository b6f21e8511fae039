//! The headline strip's figures: the verdict, the speed-up, the accuracy delta with the
//! agreement, and the saving — the four things a visitor opens the page for — each from the
//! best source the page has. Model-card figures (training's test set, latency measured
//! natively on the training machine) stand in from the moment the pair loads, so the strip
//! is never empty for the bundled models; figures measured in this browser replace them as
//! they arrive, and every figure says which it is. The verdict counts as measured only when
//! both its latency and its accuracy were measured here: a verdict half from the cards
//! would be neither the page's nor training's.

use std::rc::Rc;

use distillate_engine::cost::compare;
use distillate_engine::report::group;
use distillate_engine::training::TrainingCard;
use distillate_engine::verdict::{Verdict, VerdictInputs, judge};

use crate::state::{LatencySource, State};

/// One figure and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure<T> {
    /// The value.
    pub value: T,
    /// Measured in this browser (as opposed to a model card, or a latency typed or
    /// imported for the cost).
    pub measured: bool,
    /// Where it came from, for the label under it.
    pub source: String,
}

/// Teacher and student accuracy, and how often they agree, in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    /// Teacher top-1 accuracy.
    pub teacher: f64,
    /// Student top-1 accuracy.
    pub student: f64,
    /// Top-1 agreement.
    pub agreement: f64,
}

impl Accuracy {
    /// Student − teacher, in percentage points.
    pub fn delta_points(&self) -> f64 {
        (self.student - self.teacher) * 100.0
    }
}

/// Median latency per image, ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Teacher.
    pub teacher_ms: f64,
    /// Student.
    pub student_ms: f64,
}

impl Latency {
    /// How many times faster the student is.
    pub fn speedup(&self) -> f64 {
        self.teacher_ms / self.student_ms
    }

    /// Share of the teacher's latency the student saves.
    pub fn cut(&self) -> f64 {
        (self.teacher_ms - self.student_ms) / self.teacher_ms
    }
}

/// Saving of the student over the teacher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Saving {
    /// Per order.
    pub per_order: f64,
    /// Per year.
    pub per_year: f64,
}

/// The strip's four figures; `None` where nothing can stand for it yet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headline {
    /// Readiness.
    pub verdict: Option<Figure<Verdict>>,
    /// Latency of both models.
    pub latency: Option<Figure<Latency>>,
    /// Accuracy and agreement.
    pub accuracy: Option<Figure<Accuracy>>,
    /// Cost saving.
    pub saving: Option<Figure<Saving>>,
}

const CARD_LATENCY: &str = "model card: native, on the training machine";
const MEASURED_LATENCY: &str = "measured in this browser";

impl State {
    /// The training cards of the loaded pair, when it is the manifest's teacher and student
    /// (a pair the person brought has none).
    pub fn pair_training_cards(&self) -> Option<(Rc<TrainingCard>, Rc<TrainingCard>)> {
        let m = self.manifest.as_ref()?;
        let (teacher, student) = (m.model(&m.teacher)?, m.model(&m.student)?);
        let names = self.names.as_ref()?;
        if (names.0.as_str(), names.1.as_str()) != (teacher.name.as_str(), student.name.as_str()) {
            return None;
        }
        Some((self.training_cards.get(&teacher.id)?.clone(), self.training_cards.get(&student.id)?.clone()))
    }

    /// The headline's figures from what the page has now.
    pub fn headline(&self) -> Headline {
        let training = self.pair_training_cards();
        let card_images = |t: &TrainingCard| format!("model card: {} test images", group(t.test_images as u64));

        let measured_latency =
            self.latency().map(|l| Latency { teacher_ms: l.teacher.median, student_ms: l.student.median });
        let card_latency = training.as_ref().and_then(|(t, s)| {
            (t.native_latency_ms > 0.0 && s.native_latency_ms > 0.0)
                .then(|| Latency { teacher_ms: t.native_latency_ms, student_ms: s.native_latency_ms })
        });
        let latency = match (measured_latency, card_latency) {
            (Some(value), _) => Some(Figure { value, measured: true, source: MEASURED_LATENCY.into() }),
            (None, Some(value)) => Some(Figure { value, measured: false, source: CARD_LATENCY.into() }),
            (None, None) => None,
        };

        let evaluated = self.eval.as_ref().filter(|e| e.finished()).and_then(|e| e.summary.as_ref());
        let accuracy = match (evaluated, &training) {
            (Some(e), _) => Some(Figure {
                value: Accuracy { teacher: e.teacher_accuracy, student: e.student_accuracy, agreement: e.agreement },
                measured: true,
                source: format!("measured in this browser on {} images", group(e.images)),
            }),
            (None, Some((t, s))) => s.teacher_agreement.map(|agreement| Figure {
                value: Accuracy { teacher: t.test_accuracy, student: s.test_accuracy, agreement },
                measured: false,
                source: card_images(s),
            }),
            (None, None) => None,
        };

        let verdict = match (&latency, &accuracy) {
            (Some(l), Some(a)) if l.measured && a.measured => self.verdict().ok().map(|value| Figure {
                value,
                measured: true,
                source: format!("{}; latency {}", a.source, l.source),
            }),
            _ => self.card_verdict(training.as_ref()),
        };

        let saving = self.saving(card_latency);
        Headline { verdict, latency, accuracy, saving }
    }

    /// The verdict on the model cards' figures, judged by the same code and thresholds.
    fn card_verdict(&self, training: Option<&(Rc<TrainingCard>, Rc<TrainingCard>)>) -> Option<Figure<Verdict>> {
        let (t, s) = training?;
        let (teacher, student) = self.cards.as_ref()?;
        let inputs = VerdictInputs {
            teacher,
            student,
            teacher_latency_ms: t.native_latency_ms,
            student_latency_ms: s.native_latency_ms,
            teacher_accuracy: t.test_accuracy,
            student_accuracy: s.test_accuracy,
            agreement: s.teacher_agreement?,
            mean_kl: s.teacher_mean_kl?,
            compute: None,
        };
        let value = judge(&inputs, &self.thresholds).ok()?;
        Some(Figure {
            value,
            measured: false,
            source: format!("model card: {} test images, native latency", group(s.test_images as u64)),
        })
    }

    /// The saving at the cost panel's latency (measured, typed or a device's), else at the
    /// model cards'.
    fn saving(&self, card_latency: Option<Latency>) -> Option<Figure<Saving>> {
        let (t, s, measured, source) = match self.cost_latency() {
            Some((t, s, from)) => {
                (t, s, from == LatencySource::Measured, format!("latency {}", from.describe(&self.device_names())))
            }
            None => {
                let l = card_latency?;
                (l.teacher_ms, l.student_ms, false, format!("latency from the {CARD_LATENCY}"))
            }
        };
        let c = compare(&self.cost, t, s).ok()?;
        Some(Figure { value: Saving { per_order: c.saving_per_order, per_year: c.saving_per_year }, measured, source })
    }
}

#[cfg(test)]
mod tests;
