//! An A/B latency benchmark over an injectable clock.
//!
//! Natively the clock is `Instant`; in a browser it is `performance.now()`, whose
//! resolution is coarsened to 100 µs (5 µs with cross-origin isolation). A sample is
//! therefore a *batch* of calls timed together, long enough that the clock's resolution is
//! under 5 % of it, divided by the number of calls. Models run interleaved, A B A B …, so
//! thermal or background drift hits both alike. [`AbBenchmark::step`] runs for a bounded
//! slice of time and returns, so a UI can draw a live histogram between slices.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Upper bound on calls per sample, for a clock that never seems to move.
const MAX_CALLS_PER_SAMPLE: usize = 1 << 16;

/// A monotonic clock in milliseconds.
pub trait Clock {
    /// Current time in milliseconds from an arbitrary origin.
    fn now_ms(&self) -> f64;
    /// Smallest step the clock can show, in milliseconds.
    fn resolution_ms(&self) -> f64;
}

/// `std::time::Instant` (not available on wasm32-unknown-unknown).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy)]
pub struct InstantClock(std::time::Instant);

#[cfg(not(target_arch = "wasm32"))]
impl Default for InstantClock {
    fn default() -> Self {
        InstantClock(std::time::Instant::now())
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Clock for InstantClock {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }
    fn resolution_ms(&self) -> f64 {
        1e-6
    }
}

/// How long and how often to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BenchConfig {
    /// Warm-up time before any sample counts (caches, JIT tiers, allocator), in ms.
    pub warmup_ms: f64,
    /// Warm-up calls per model, at least.
    pub warmup_min_calls: usize,
    /// Samples per model, at least.
    pub min_samples: usize,
    /// Measuring time, at least, in ms (after warm-up).
    pub min_duration_ms: f64,
    /// Samples per model, at most (bounds memory and time for very fast models).
    pub max_samples: usize,
    /// A sample must span at least this many clock ticks (20 → resolution error ≤ 5 %).
    pub min_ticks_per_sample: f64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            warmup_ms: 500.0,
            warmup_min_calls: 5,
            min_samples: 50,
            min_duration_ms: 3000.0,
            max_samples: 5000,
            min_ticks_per_sample: 20.0,
        }
    }
}

impl BenchConfig {
    /// A short run for smoke tests and quick looks.
    pub fn quick() -> Self {
        BenchConfig {
            warmup_ms: 50.0,
            warmup_min_calls: 2,
            min_samples: 10,
            min_duration_ms: 200.0,
            ..Default::default()
        }
    }

    fn check(&self) -> Result<()> {
        let finite = [self.warmup_ms, self.min_duration_ms, self.min_ticks_per_sample];
        if finite.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(Error::Input("benchmark times must be non-negative numbers".into()));
        }
        if self.min_samples == 0 || self.max_samples < self.min_samples {
            return Err(Error::Input("benchmark needs 1 ≤ min_samples ≤ max_samples".into()));
        }
        Ok(())
    }
}

/// Where a benchmark is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Running calls that do not count.
    Warmup,
    /// Collecting samples.
    Measure,
    /// Finished.
    Done,
}

/// The samples of an A/B run: per-call milliseconds, one value per sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbSamples {
    /// Per-call time of model A in each sample, ms.
    pub a: Vec<f64>,
    /// Per-call time of model B in each sample, ms.
    pub b: Vec<f64>,
    /// Calls of A per sample.
    pub calls_per_sample_a: usize,
    /// Calls of B per sample.
    pub calls_per_sample_b: usize,
    /// Warm-up calls made of each model.
    pub warmup_calls: usize,
    /// Measuring time, ms.
    pub measured_ms: f64,
    /// The clock's resolution, ms.
    pub clock_resolution_ms: f64,
}

/// A steppable A/B benchmark.
#[derive(Debug, Clone)]
pub struct AbBenchmark {
    config: BenchConfig,
    phase: Phase,
    started: Option<f64>,
    measure_started: f64,
    samples: AbSamples,
}

impl AbBenchmark {
    /// A benchmark that has not started.
    pub fn new(config: BenchConfig) -> Result<Self> {
        config.check()?;
        Ok(AbBenchmark {
            config,
            phase: Phase::Warmup,
            started: None,
            measure_started: 0.0,
            samples: AbSamples {
                a: vec![],
                b: vec![],
                calls_per_sample_a: 1,
                calls_per_sample_b: 1,
                warmup_calls: 0,
                measured_ms: 0.0,
                clock_resolution_ms: 0.0,
            },
        })
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Samples so far (complete once the phase is [`Phase::Done`]).
    pub fn samples(&self) -> &AbSamples {
        &self.samples
    }

    /// Fraction done in [0, 1], by samples and time.
    pub fn progress(&self) -> f64 {
        match self.phase {
            Phase::Warmup => 0.0,
            Phase::Done => 1.0,
            Phase::Measure => {
                let by_samples = self.samples.a.len() as f64 / self.config.min_samples as f64;
                let by_time = if self.config.min_duration_ms > 0.0 {
                    self.samples.measured_ms / self.config.min_duration_ms
                } else {
                    1.0
                };
                by_samples.min(by_time).clamp(0.0, 0.99)
            }
        }
    }

    /// Runs for about `slice_ms` (at least one sample pair) and returns the phase reached.
    /// `a` and `b` each perform one inference.
    pub fn step<C: Clock + ?Sized>(
        &mut self,
        clock: &C,
        slice_ms: f64,
        a: &mut dyn FnMut() -> Result<()>,
        b: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Phase> {
        let slice_start = clock.now_ms();
        let started = *self.started.get_or_insert(slice_start);
        self.samples.clock_resolution_ms = clock.resolution_ms();
        loop {
            match self.phase {
                Phase::Done => return Ok(Phase::Done),
                Phase::Warmup => {
                    time_calls(clock, 1, a)?;
                    time_calls(clock, 1, b)?;
                    self.samples.warmup_calls += 1;
                    let warm_enough = clock.now_ms() - started >= self.config.warmup_ms
                        && self.samples.warmup_calls >= self.config.warmup_min_calls;
                    if warm_enough {
                        let min_sample = self.config.min_ticks_per_sample * clock.resolution_ms();
                        self.samples.calls_per_sample_a = calibrate(clock, min_sample, a)?;
                        self.samples.calls_per_sample_b = calibrate(clock, min_sample, b)?;
                        self.phase = Phase::Measure;
                        self.measure_started = clock.now_ms();
                    }
                }
                Phase::Measure => {
                    let (na, nb) = (self.samples.calls_per_sample_a, self.samples.calls_per_sample_b);
                    self.samples.a.push(time_calls(clock, na, a)? / na as f64);
                    self.samples.b.push(time_calls(clock, nb, b)? / nb as f64);
                    self.samples.measured_ms = clock.now_ms() - self.measure_started;
                    let n = self.samples.a.len();
                    let enough =
                        n >= self.config.min_samples && self.samples.measured_ms >= self.config.min_duration_ms;
                    if enough || n >= self.config.max_samples {
                        self.phase = Phase::Done;
                    }
                }
            }
            if clock.now_ms() - slice_start >= slice_ms {
                return Ok(self.phase);
            }
        }
    }

    /// Runs to the end.
    pub fn run<C: Clock + ?Sized>(
        mut self,
        clock: &C,
        a: &mut dyn FnMut() -> Result<()>,
        b: &mut dyn FnMut() -> Result<()>,
    ) -> Result<AbSamples> {
        while self.step(clock, f64::INFINITY, a, b)? != Phase::Done {}
        Ok(self.samples)
    }
}

fn time_calls<C: Clock + ?Sized>(clock: &C, calls: usize, f: &mut dyn FnMut() -> Result<()>) -> Result<f64> {
    let t0 = clock.now_ms();
    for _ in 0..calls {
        f()?;
    }
    Ok(clock.now_ms() - t0)
}

/// Calls per sample: the smallest power of two whose batch, timed as a whole, spans
/// `min_sample_ms`. Timing single calls would not do: under a coarse clock a fast call
/// reads as 0 ms.
fn calibrate<C: Clock + ?Sized>(clock: &C, min_sample_ms: f64, f: &mut dyn FnMut() -> Result<()>) -> Result<usize> {
    let mut calls = 1usize;
    while calls < MAX_CALLS_PER_SAMPLE && time_calls(clock, calls, f)? < min_sample_ms {
        calls *= 2;
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A clock that only moves when the fake models "run", quantised to `tick` ms.
    struct FakeClock {
        now: Cell<f64>,
        tick: f64,
    }

    impl Clock for FakeClock {
        fn now_ms(&self) -> f64 {
            (self.now.get() / self.tick).floor() * self.tick
        }
        fn resolution_ms(&self) -> f64 {
            self.tick
        }
    }

    #[test]
    fn interleaves_and_measures_true_per_call_time_under_a_coarse_clock() {
        // 0.1 ms ticks, like a browser; A takes 0.03 ms, B 0.012 ms per call.
        let clock = FakeClock { now: Cell::new(0.0), tick: 0.1 };
        let order = RefCell::new(Vec::new());
        let mut a = || {
            clock.now.set(clock.now.get() + 0.03);
            order.borrow_mut().push('A');
            Ok(())
        };
        let mut b = || {
            clock.now.set(clock.now.get() + 0.012);
            order.borrow_mut().push('B');
            Ok(())
        };
        let config = BenchConfig { warmup_ms: 5.0, min_duration_ms: 50.0, min_samples: 20, ..Default::default() };
        let samples = AbBenchmark::new(config).expect("valid").run(&clock, &mut a, &mut b).expect("runs");
        assert!(samples.a.len() >= 20 && samples.a.len() == samples.b.len());
        // 20 ticks = 2 ms per sample → A needs ≥ 67 calls (128), B ≥ 167 (256).
        assert_eq!((samples.calls_per_sample_a, samples.calls_per_sample_b), (128, 256));
        let median = |v: &[f64]| crate::stats::LatencyStats::from_samples(v).expect("stats").median;
        assert!((median(&samples.a) - 0.03).abs() < 0.03 * 0.05);
        assert!((median(&samples.b) - 0.012).abs() < 0.012 * 0.05);
        // The warm-up alternates A, B, A, B.
        assert_eq!(&order.borrow()[..4], &['A', 'B', 'A', 'B']);
    }

    #[test]
    fn stops_at_max_samples_and_step_returns_between_slices() {
        let clock = FakeClock { now: Cell::new(0.0), tick: 1e-6 };
        let mut a = || {
            clock.now.set(clock.now.get() + 1.0);
            Ok(())
        };
        let mut b = || {
            clock.now.set(clock.now.get() + 1.0);
            Ok(())
        };
        let config = BenchConfig {
            warmup_ms: 0.0,
            warmup_min_calls: 1,
            min_samples: 5,
            min_duration_ms: 1e9,
            max_samples: 40,
            ..Default::default()
        };
        let mut bench = AbBenchmark::new(config).expect("valid");
        let mut slices = 0;
        while bench.step(&clock, 10.0, &mut a, &mut b).expect("runs") != Phase::Done {
            slices += 1;
            assert!(bench.progress() < 1.0);
        }
        assert!(slices > 3, "ran in slices");
        assert_eq!(bench.samples().a.len(), 40);
        assert_eq!(bench.samples().calls_per_sample_a, 1);
    }

    #[test]
    fn an_error_in_a_model_stops_the_run() {
        let clock = FakeClock { now: Cell::new(0.0), tick: 1e-6 };
        let mut a = || Err(Error::Model("boom".into()));
        let mut b = || Ok(());
        let result = AbBenchmark::new(BenchConfig::quick()).expect("valid").run(&clock, &mut a, &mut b);
        assert_eq!(result, Err(Error::Model("boom".into())));
    }

    #[test]
    fn invalid_configs_are_refused() {
        assert!(AbBenchmark::new(BenchConfig { min_samples: 0, ..Default::default() }).is_err());
        assert!(AbBenchmark::new(BenchConfig { warmup_ms: f64::NAN, ..Default::default() }).is_err());
    }
}
