//! A load test: requests against one model from several workers, closed or open loop,
//! over an injected clock.
//!
//! A closed loop (each worker starts its next request when the last one ends) measures
//! capacity, but it hides queueing: when the model stalls, fewer requests are sent, so the
//! stall is sampled once instead of once per request that would have waited ("coordinated
//! omission", Tene). An open loop is what a service sees: request `i` arrives at
//! `start + i / rate` whatever the workers are doing, and its latency counts from that
//! scheduled time, so a backlog shows up as latency. A request that cannot start within
//! `deadline_ms` of its schedule is dropped (a real queue would time it out); one that
//! completes more than `slo_ms` after its schedule is late.
//!
//! Invariant: in an open loop every scheduled request of the measured window is either
//! completed or dropped, exactly once, whatever the number of workers (the schedule hands
//! out each index once).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::bench::Clock;
use crate::error::{Error, Result};
use crate::stats::percentile_sorted;

/// Most workers a load test may start.
pub const MAX_WORKERS: usize = 256;

/// A clock that can also wait.
pub trait Pace: Clock {
    /// Returns at `t_ms` or soon after (immediately if it has passed).
    fn wait_until(&self, t_ms: f64);
}

#[cfg(not(target_arch = "wasm32"))]
impl Pace for crate::bench::InstantClock {
    fn wait_until(&self, t_ms: f64) {
        // Sleep while far off (the OS wakes a thread 50–100 µs late), then spin: a 4 000/s
        // schedule has 250 µs between requests.
        loop {
            let left = t_ms - self.now_ms();
            if left <= 0.0 {
                return;
            }
            if left > 0.3 {
                std::thread::sleep(std::time::Duration::from_secs_f64((left - 0.2) / 1e3));
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Arrival {
    /// Each worker sends its next request as soon as the last one ends.
    Closed,
    /// Requests arrive on a fixed schedule, `rate_per_s` of them a second.
    Open {
        /// Offered load, requests per second.
        rate_per_s: f64,
    },
}

/// What a load test does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadConfig {
    /// Threads sending requests, each with its own copy of the model.
    pub workers: usize,
    /// Closed or open loop.
    pub arrival: Arrival,
    /// Requests in this first stretch run but are not counted (caches, allocator, clocks).
    pub warmup_ms: f64,
    /// The measured window, after the warm-up.
    pub duration_ms: f64,
    /// A request that cannot start this long after its schedule is dropped.
    pub deadline_ms: f64,
    /// A completed request is late if its latency exceeds this.
    pub slo_ms: f64,
}

impl LoadConfig {
    /// Refuses what cannot run: no workers, non-finite or non-positive times and rates.
    pub fn check(&self) -> Result<()> {
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            return Err(Error::Input(format!("a load test needs 1 to {MAX_WORKERS} workers, not {}", self.workers)));
        }
        let times = [self.duration_ms, self.deadline_ms, self.slo_ms];
        if times.iter().any(|t| !t.is_finite() || *t <= 0.0) || !self.warmup_ms.is_finite() || self.warmup_ms < 0.0 {
            return Err(Error::Input("load test duration, deadline and SLO must be positive numbers".into()));
        }
        if let Arrival::Open { rate_per_s } = self.arrival {
            // Above 10⁷/s the schedule's steps fall below the clock's resolution.
            if !rate_per_s.is_finite() || rate_per_s <= 0.0 || rate_per_s > 1e7 {
                return Err(Error::Input(format!("offered load must be 0 to 10 000 000 per second, not {rate_per_s}")));
            }
        }
        Ok(())
    }

    fn measure_start(&self, start_ms: f64) -> f64 {
        start_ms + self.warmup_ms
    }

    fn end(&self, start_ms: f64) -> f64 {
        start_ms + self.warmup_ms + self.duration_ms
    }
}

/// One request handed to a worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticket {
    /// When it was due, ms on the test's clock.
    pub scheduled_ms: f64,
    /// Whether it falls in the measured window (not the warm-up).
    pub measured: bool,
}

/// The requests of one test, shared by its workers: each index is handed out once.
#[derive(Debug)]
pub struct Schedule {
    config: LoadConfig,
    start_ms: f64,
    next: AtomicU64,
    cancelled: AtomicBool,
}

impl Schedule {
    /// A schedule starting at `start_ms`.
    pub fn new(config: &LoadConfig, start_ms: f64) -> Result<Schedule> {
        config.check()?;
        Ok(Schedule { config: config.clone(), start_ms, next: AtomicU64::new(0), cancelled: AtomicBool::new(false) })
    }

    /// Ends the test: every later [`Schedule::next`] returns `None`.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// The next request, or `None` once the test is over.
    pub fn next(&self, now_ms: f64) -> Option<Ticket> {
        if self.cancelled.load(Ordering::Relaxed) {
            return None;
        }
        let (measure_start, end) = (self.config.measure_start(self.start_ms), self.config.end(self.start_ms));
        let scheduled_ms = match self.config.arrival {
            Arrival::Closed => now_ms,
            Arrival::Open { rate_per_s } => {
                let i = self.next.fetch_add(1, Ordering::Relaxed);
                self.start_ms + i as f64 * 1e3 / rate_per_s
            }
        };
        (scheduled_ms < end).then_some(Ticket { scheduled_ms, measured: scheduled_ms >= measure_start })
    }
}

/// What one worker saw in the measured window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerLog {
    /// From schedule to completion, ms, per completed request.
    pub latencies_ms: Vec<f64>,
    /// From start to completion (the model alone), ms.
    pub service_ms: Vec<f64>,
    /// Requests that could not start before their deadline.
    pub dropped: usize,
}

/// One worker's loop: take a request, wait for its time, run it, record it.
pub fn run_worker<C: Pace + ?Sized>(
    clock: &C,
    schedule: &Schedule,
    infer: &mut dyn FnMut() -> Result<()>,
) -> Result<WorkerLog> {
    let mut log = WorkerLog::default();
    let deadline = schedule.config.deadline_ms;
    while let Some(ticket) = schedule.next(clock.now_ms()) {
        clock.wait_until(ticket.scheduled_ms);
        let began = clock.now_ms();
        if began - ticket.scheduled_ms > deadline {
            log.dropped += usize::from(ticket.measured);
            continue;
        }
        infer()?;
        let ended = clock.now_ms();
        if ticket.measured {
            log.latencies_ms.push(ended - ticket.scheduled_ms);
            log.service_ms.push(ended - began);
        }
    }
    Ok(log)
}

/// Percentiles of one latency sample, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        Some(Spread {
            p50: percentile_sorted(&values, 50.0),
            p90: percentile_sorted(&values, 90.0),
            p99: percentile_sorted(&values, 99.0),
            max: values[values.len() - 1],
        })
    }
}

/// The outcome of one load test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    /// What ran.
    pub config: LoadConfig,
    /// Completed requests in the measured window.
    pub completed: usize,
    /// Requests dropped at their deadline.
    pub dropped: usize,
    /// Completed requests slower than the SLO.
    pub late: usize,
    /// Completed requests of the measured window per second of it (an open loop's stragglers,
    /// scheduled inside the window and finished after it, count for the window).
    pub achieved_per_s: f64,
    /// From schedule to completion: what a caller waits (queueing included in an open loop).
    pub latency_ms: Option<Spread>,
    /// The model alone, from start to completion.
    pub service_ms: Option<Spread>,
    /// Process CPU time over wall time, % (200 % = two cores busy), where the OS says.
    pub cpu_percent: Option<f64>,
}

impl LoadResult {
    /// Merges the workers' logs of one test.
    pub fn from_logs(config: &LoadConfig, logs: &[WorkerLog], cpu_percent: Option<f64>) -> LoadResult {
        let latencies: Vec<f64> = logs.iter().flat_map(|l| l.latencies_ms.iter().copied()).collect();
        let service: Vec<f64> = logs.iter().flat_map(|l| l.service_ms.iter().copied()).collect();
        LoadResult {
            config: config.clone(),
            completed: latencies.len(),
            dropped: logs.iter().map(|l| l.dropped).sum(),
            late: latencies.iter().filter(|&&l| l > config.slo_ms).count(),
            achieved_per_s: latencies.len() as f64 * 1e3 / config.duration_ms,
            latency_ms: Spread::of(latencies),
            service_ms: Spread::of(service),
            cpu_percent,
        }
    }
}

/// Runs a load test on real threads: `make(i)` builds worker `i`'s inference (its own copy
/// of the model) before the clock starts; then all start together. Returns each worker's
/// log; the first error of any worker fails the test (a worker
/// whose model cannot be built ends it before it starts).
#[cfg(not(target_arch = "wasm32"))]
pub fn run_threads<C, F>(clock: &C, config: &LoadConfig, make: F) -> Result<Vec<WorkerLog>>
where
    C: Pace + Sync + ?Sized,
    F: Fn(usize) -> Result<Box<dyn FnMut() -> Result<()>>> + Sync,
{
    config.check()?;
    let ready = std::sync::Barrier::new(config.workers + 1);
    let schedule = std::sync::OnceLock::<Schedule>::new();
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..config.workers)
            .map(|i| {
                let (ready, schedule, make, failed) = (&ready, &schedule, &make, &failed);
                scope.spawn(move || {
                    let built = make(i);
                    failed.fetch_or(built.is_err(), Ordering::Relaxed);
                    ready.wait();
                    ready.wait();
                    let schedule = schedule.get().expect("set between the two barriers");
                    run_worker(clock, schedule, &mut *built?).inspect_err(|_| schedule.cancel())
                })
            })
            .collect();
        ready.wait();
        // Every worker has its model (or one could not build it): the schedule starts now.
        let started = Schedule::new(config, clock.now_ms()).expect("checked above");
        if failed.load(Ordering::Relaxed) {
            started.cancel();
        }
        schedule.set(started).expect("set once");
        ready.wait();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Input("a load-test worker panicked".into()))))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Simulated time: waiting jumps to the target, a model call advances by its service time.
    struct SimClock(Cell<f64>);

    impl Clock for SimClock {
        fn now_ms(&self) -> f64 {
            self.0.get()
        }
        fn resolution_ms(&self) -> f64 {
            1e-6
        }
    }

    impl Pace for SimClock {
        fn wait_until(&self, t_ms: f64) {
            self.0.set(self.0.get().max(t_ms));
        }
    }

    fn config(arrival: Arrival) -> LoadConfig {
        LoadConfig { workers: 1, arrival, warmup_ms: 100.0, duration_ms: 1000.0, deadline_ms: 50.0, slo_ms: 5.0 }
    }

    /// One simulated worker whose model takes `service_ms` a call.
    fn simulate(config: &LoadConfig, service_ms: f64) -> LoadResult {
        let clock = SimClock(Cell::new(0.0));
        let schedule = Schedule::new(config, 0.0).expect("valid");
        let log = run_worker(&clock, &schedule, &mut || {
            clock.0.set(clock.0.get() + service_ms);
            Ok(())
        })
        .expect("runs");
        LoadResult::from_logs(config, &[log], None)
    }

    #[test]
    fn under_capacity_an_open_loop_sees_the_service_time_only() {
        let r = simulate(&config(Arrival::Open { rate_per_s: 100.0 }), 2.0);
        assert_eq!((r.completed, r.dropped, r.late), (100, 0, 0));
        let l = r.latency_ms.expect("completed");
        assert!((l.p50 - 2.0).abs() < 1e-9 && (l.max - 2.0).abs() < 1e-9, "{l:?}");
        assert!((r.achieved_per_s - 100.0).abs() < 0.5, "{}", r.achieved_per_s);
    }

    #[test]
    fn over_capacity_the_backlog_shows_as_latency_and_drops() {
        // 1 000/s offered to a model that serves 500/s: the queue grows until requests pass
        // their 50 ms deadline; from then on about every other one is dropped.
        let r = simulate(&config(Arrival::Open { rate_per_s: 1000.0 }), 2.0);
        assert!((480.0..=520.0).contains(&r.achieved_per_s), "{}", r.achieved_per_s);
        assert!(r.dropped > 400, "dropped {}", r.dropped);
        assert_eq!(r.completed + r.dropped, 1000, "each scheduled request completed or dropped once");
        let l = r.latency_ms.expect("completed");
        assert!(l.p50 > 40.0 && l.max <= 50.0 + 2.0 + 1e-9, "{l:?}");
        assert_eq!(r.late, r.completed, "all queued beyond the 5 ms SLO");
        // The model itself never slowed down: service time stays 2 ms.
        assert!((r.service_ms.expect("completed").max - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_closed_loop_runs_back_to_back_and_reports_service_time() {
        let r = simulate(&config(Arrival::Closed), 2.0);
        assert_eq!((r.completed, r.dropped), (500, 0));
        assert!((r.latency_ms.expect("completed").p99 - 2.0).abs() < 1e-9);
        assert!((r.achieved_per_s - 500.0).abs() < 1.0, "{}", r.achieved_per_s);
    }

    #[test]
    fn warm_up_requests_are_not_counted() {
        let mut c = config(Arrival::Open { rate_per_s: 100.0 });
        c.warmup_ms = 500.0;
        assert_eq!(simulate(&c, 1.0).completed, 100, "1 000 ms measured at 100/s, the 50 warm-up ones left out");
    }

    #[test]
    fn a_failing_model_stops_the_test_with_its_error() {
        let clock = SimClock(Cell::new(0.0));
        let schedule = Schedule::new(&config(Arrival::Closed), 0.0).expect("valid");
        let err = run_worker(&clock, &schedule, &mut || Err(Error::Input("broken".into()))).unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
    }

    #[test]
    fn impossible_configs_are_refused() {
        let good = config(Arrival::Open { rate_per_s: 10.0 });
        let bad = [
            LoadConfig { workers: 0, ..good.clone() },
            LoadConfig { workers: MAX_WORKERS + 1, ..good.clone() },
            LoadConfig { duration_ms: 0.0, ..good.clone() },
            LoadConfig { warmup_ms: f64::NAN, ..good.clone() },
            LoadConfig { arrival: Arrival::Open { rate_per_s: 0.0 }, ..good.clone() },
            LoadConfig { arrival: Arrival::Open { rate_per_s: f64::INFINITY }, ..good.clone() },
        ];
        for c in bad {
            assert!(Schedule::new(&c, 0.0).is_err(), "{c:?}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn threads_share_one_schedule_and_account_for_every_request() {
        let c = LoadConfig {
            workers: 3,
            arrival: Arrival::Open { rate_per_s: 2000.0 },
            warmup_ms: 20.0,
            duration_ms: 200.0,
            deadline_ms: 5.0,
            slo_ms: 2.0,
        };
        let clock = crate::bench::InstantClock::default();
        let logs = run_threads(&clock, &c, |_| Ok(Box::new(|| Ok(())))).expect("runs");
        let r = LoadResult::from_logs(&c, &logs, None);
        // 200 ms at 2 000/s: 400 measured requests, whatever the threads' interleaving.
        assert_eq!(r.completed + r.dropped, 400, "{r:?}");
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_worker_that_cannot_build_its_model_fails_the_test() {
        let c = LoadConfig { workers: 2, ..config(Arrival::Closed) };
        let clock = crate::bench::InstantClock::default();
        let err = run_threads(&clock, &c, |i| {
            if i == 1 { Err(Error::Input("no model".into())) } else { Ok(Box::new(|| Ok(()))) }
        })
        .unwrap_err();
        assert!(err.to_string().contains("no model"), "{err}");
    }
}
