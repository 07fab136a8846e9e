//! The sampling schedule: after which measured iterations the probe reads its
//! counters. Shared by the probe's configuration (chunk sizes), the growth estimate
//! (x of every sample) and the reports (charts).

/// Most samples taken in one process. The probe keeps sample indices below 257 (the
/// cached small ints) so that counting samples allocates nothing (docs/measuring.md §1).
pub const MAX_SAMPLES: u64 = 200;

/// Iterations between samples: `iterations` split into at most [`MAX_SAMPLES`] chunks
/// whose sizes differ by at most one.
pub fn chunks(iterations: u64) -> Vec<u64> {
    let s = iterations.min(MAX_SAMPLES);
    (0..s)
        .map(|j| (j + 1) * iterations / s - j * iterations / s)
        .collect()
}

/// Iteration count at each sample, starting with 0 (the baseline read).
pub fn positions(iterations: u64) -> Vec<u64> {
    std::iter::once(0)
        .chain(chunks(iterations).into_iter().scan(0, |acc, c| {
            *acc += c;
            Some(*acc)
        }))
        .collect()
}

/// Samples in a process's series: the baseline read plus one per chunk.
pub fn samples(iterations: u64) -> usize {
    chunks(iterations).len() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_all_iterations_in_at_most_max_samples() {
        for n in [16, 17, 199, 200, 201, 2000, 2001, 123_457] {
            let c = chunks(n);
            assert_eq!(c.iter().sum::<u64>(), n, "{n}");
            assert!(c.len() as u64 <= MAX_SAMPLES);
            let (lo, hi) = (c.iter().min().unwrap(), c.iter().max().unwrap());
            assert!(hi - lo <= 1, "{n}: {lo}..{hi}");
            assert_eq!(samples(n), c.len() + 1);
        }
        assert_eq!(positions(4), vec![0, 1, 2, 3, 4]);
        assert_eq!(*positions(2000).last().unwrap(), 2000);
    }
}
