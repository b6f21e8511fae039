//! Latency statistics from raw samples (milliseconds).
//!
//! Percentiles interpolate linearly between order statistics (numpy's default, "type 7").
//! The 95 % confidence interval of the median is distribution-free: the order statistics
//! at ranks n/2 ∓ 1.96·√n/2 (normal approximation to the binomial; Conover, *Practical
//! Nonparametric Statistics*, §3.2), which suits skewed latency data where a mean ± sd
//! interval would not.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// z for a two-sided 95 % interval.
const Z_95: f64 = 1.959_963_985;
/// Bins in the histogram attached to [`LatencyStats`].
pub const DEFAULT_BINS: usize = 24;

/// Summary of one model's latency samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Number of samples.
    pub n: usize,
    /// Fastest sample.
    pub min: f64,
    /// Median (p50).
    pub median: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest sample.
    pub max: f64,
    /// Sample standard deviation (n − 1).
    pub std: f64,
    /// 95 % confidence interval of the median, (low, high).
    pub median_ci95: (f64, f64),
    /// Histogram over [min, max].
    pub histogram: Histogram,
}

impl LatencyStats {
    /// Computes the statistics; refuses an empty sample or one with a non-finite or
    /// negative value.
    pub fn from_samples(samples: &[f64]) -> Result<LatencyStats> {
        if samples.is_empty() {
            return Err(Error::Input("no latency samples".into()));
        }
        if let Some(bad) = samples.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(Error::Input(format!("latency sample {bad} is not a non-negative number")));
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let var = if n > 1 { sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
        Ok(LatencyStats {
            n,
            min: sorted[0],
            median: percentile_sorted(&sorted, 50.0),
            mean,
            p90: percentile_sorted(&sorted, 90.0),
            p99: percentile_sorted(&sorted, 99.0),
            max: sorted[n - 1],
            std: var.sqrt(),
            median_ci95: median_ci95_sorted(&sorted),
            histogram: Histogram::new(&sorted, sorted[0], sorted[n - 1], DEFAULT_BINS),
        })
    }
}

/// The `p`-th percentile (0–100) of sorted data, linearly interpolated.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Distribution-free 95 % interval for the median of sorted data.
pub fn median_ci95_sorted(sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let half_width = Z_95 * (n as f64).sqrt() / 2.0;
    // 1-based ranks j and k, clamped to the sample.
    let j = ((n as f64 / 2.0 - half_width).floor() as isize).max(1) as usize;
    let k = ((1.0 + n as f64 / 2.0 + half_width).ceil() as usize).min(n);
    (sorted[j - 1], sorted[k - 1])
}

/// Equal-width bins over [lo, hi].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub lo: f64,
    /// Right edge of the last bin.
    pub hi: f64,
    /// Samples per bin; values outside [lo, hi] go to the nearest end bin.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// Bins `samples` into `bins` equal bins over [lo, hi] (give two models the same range
    /// to draw them on one axis).
    pub fn new(samples: &[f64], lo: f64, hi: f64, bins: usize) -> Histogram {
        let bins = bins.max(1);
        let mut counts = vec![0u64; bins];
        let width = (hi - lo) / bins as f64;
        for v in samples {
            let i = if width > 0.0 { ((v - lo) / width).floor() } else { 0.0 };
            counts[(i.max(0.0) as usize).min(bins - 1)] += 1;
        }
        Histogram { lo, hi, counts }
    }

    /// Width of one bin.
    pub fn bin_width(&self) -> f64 {
        (self.hi - self.lo) / self.counts.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn known_sample() {
        let s = LatencyStats::from_samples(&[5.0, 1.0, 4.0, 2.0, 3.0]).expect("stats");
        assert_eq!((s.n, s.min, s.median, s.mean, s.max), (5, 1.0, 3.0, 3.0, 5.0));
        assert!((s.p90 - 4.6).abs() < 1e-12);
        assert!((s.std - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.histogram.counts.iter().sum::<u64>(), 5);
    }

    #[test]
    fn median_interval_matches_the_binomial_ranks() {
        // n = 100: ranks 40 and 61 (Conover's table gives 40 and 61 for 95 %).
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median_ci95_sorted(&sorted), (40.0, 61.0));
        // Tiny samples fall back to the whole range.
        assert_eq!(median_ci95_sorted(&[1.0, 2.0, 3.0]), (1.0, 3.0));
    }

    #[test]
    fn refuses_empty_and_nan() {
        assert!(LatencyStats::from_samples(&[]).is_err());
        assert!(LatencyStats::from_samples(&[1.0, f64::NAN]).is_err());
        assert!(LatencyStats::from_samples(&[-1.0]).is_err());
    }

    #[test]
    fn histogram_clamps_out_of_range_values() {
        let h = Histogram::new(&[-5.0, 0.5, 1.5, 99.0], 0.0, 2.0, 2);
        assert_eq!(h.counts, vec![2, 2]);
        let flat = Histogram::new(&[3.0, 3.0], 3.0, 3.0, 4);
        assert_eq!(flat.counts, vec![2, 0, 0, 0]);
    }

    proptest! {
        #[test]
        fn order_statistics_are_ordered(samples in proptest::collection::vec(0f64..1e4, 1..300)) {
            let s = LatencyStats::from_samples(&samples).unwrap();
            prop_assert!(s.min <= s.median && s.median <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max);
            prop_assert!(s.median_ci95.0 <= s.median && s.median <= s.median_ci95.1);
            let eps = 1e-9 * s.max.max(1.0);
            prop_assert!(s.min <= s.mean + eps && s.mean <= s.max + eps);
            prop_assert_eq!(s.histogram.counts.iter().sum::<u64>(), samples.len() as u64);
        }
    }
}
