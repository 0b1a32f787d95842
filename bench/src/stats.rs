//! Small statistics helpers and the shape of a repeated measurement.

use serde::{Deserialize, Serialize};

/// One quantity measured several times: every sample (operations per
/// second) and their median, which is the number the report quotes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repeated {
    /// Operations per second, one per repeat, in the order they were taken.
    pub samples: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Repeated {
    pub fn new(samples: Vec<f64>) -> Self {
        let median = median(&samples);
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Self {
            samples,
            median,
            // An empty sample set has no extremes; report 0 rather than ±inf
            // (which JSON cannot carry).
            min: if min.is_finite() { min } else { 0.0 },
            max: if max.is_finite() { max } else { 0.0 },
        }
    }

    /// `(max - min) / median`: how much the repeats disagree. A spread of a
    /// few percent is normal; tens of percent means the machine was busy.
    pub fn spread(&self) -> f64 {
        if self.median > 0.0 {
            (self.max - self.min) / self.median
        } else {
            0.0
        }
    }
}

/// The median of `values` (mean of the middle two for an even count); 0 for
/// none. NaNs sort last and so cannot crash the comparison.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The `p`-th percentile (0–100, nearest rank) of already sorted values; 0
/// for none.
pub fn percentile_sorted(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `a / b`, or 0 when `b` is 0 (a phase that measured nothing).
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The whole machine's CPU time so far, in clock ticks: the first line of
/// Linux `/proc/stat` (user nice system idle iowait irq softirq steal).
/// `None` where that file does not exist.
pub fn cpu_fields() -> Option<[u64; 8]> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .take(8)
        .map(|f| f.parse::<u64>().ok())
        .collect::<Option<Vec<_>>>()?;
    fields.try_into().ok()
}

/// The steal ticks (time the hypervisor gave to other guests) and all
/// ticks so far.
pub fn steal_ticks() -> Option<(u64, u64)> {
    let fields = cpu_fields()?;
    Some((fields[7], fields.iter().sum()))
}

/// The share of CPU time stolen between two [`steal_ticks`] readings.
pub fn steal_share(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((s0, t0), (s1, t1)) = (before?, after?);
    (t1 > t0).then(|| s1.saturating_sub(s0) as f64 / (t1 - t0) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile_sorted(&v, 50.0), 50);
        assert_eq!(percentile_sorted(&v, 99.0), 99);
        assert_eq!(percentile_sorted(&v, 100.0), 100);
        assert_eq!(percentile_sorted(&v, 0.0), 1);
        assert_eq!(percentile_sorted(&[], 50.0), 0);
    }

    #[test]
    fn steal_is_a_share_of_the_ticks_between_readings() {
        assert_eq!(steal_share(Some((10, 100)), Some((20, 200))), Some(0.1));
        assert_eq!(steal_share(Some((10, 100)), Some((10, 100))), None);
        assert_eq!(steal_share(None, Some((1, 2))), None);
    }

    #[test]
    fn repeated_summarises() {
        let r = Repeated::new(vec![10.0, 12.0, 11.0]);
        assert_eq!(r.median, 11.0);
        assert_eq!(r.min, 10.0);
        assert_eq!(r.max, 12.0);
        assert!((r.spread() - 2.0 / 11.0).abs() < 1e-12);
        assert_eq!(Repeated::new(vec![]).min, 0.0);
    }
}
