//! Percentiles and medians over latency samples.

/// The nearest-rank percentile of `sorted` (ascending): the smallest sample such that
/// at least `p` percent of the samples are at or below it. Nearest-rank never
/// interpolates, so every reported number is a latency that was actually observed.
///
/// Returns `None` for an empty slice.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Sorts a copy of `samples` and returns its p50 (nearest rank).
pub fn median<T: Copy + PartialOrd>(samples: &[T]) -> Option<T> {
    let mut v = samples.to_vec();
    sort(&mut v);
    percentile(&v, 50.0)
}

/// Sorts samples that are only partially ordered (floats); NaN never occurs in timings,
/// and treating it as equal keeps the sort total instead of panicking.
pub fn sort<T: PartialOrd>(v: &mut [T]) {
    v.sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&v, 90.5), Some(91));
    }

    #[test]
    fn small_and_empty() {
        assert_eq!(percentile::<u32>(&[], 50.0), None);
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2], 50.0), Some(1));
        assert_eq!(percentile(&[1, 2, 3], 50.0), Some(2));
        // p99 of ten samples is the largest one: only it has 99% at or below it.
        let ten: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&ten, 99.0), Some(10));
    }

    #[test]
    fn median_of_unsorted_floats() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[5.0, 1.0, 4.0, 2.0]), Some(2.0));
    }
}
