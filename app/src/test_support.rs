//! Helpers shared by the crate's tests.

use distillate_engine::bench::AbSamples;

/// `n` interleaved samples of one call each: the teacher at `teacher_ms`, the student at
/// `student_ms`.
pub fn ab_samples(teacher_ms: f64, student_ms: f64, n: usize) -> AbSamples {
    AbSamples {
        a: vec![teacher_ms; n],
        b: vec![student_ms; n],
        calls_per_sample_a: 1,
        calls_per_sample_b: 1,
        warmup_calls: 1,
        measured_ms: n as f64 * (teacher_ms + student_ms),
        clock_resolution_ms: 0.005,
    }
}
