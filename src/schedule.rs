//! The sampling schedule: after which measured iterations the probe reads its
//! counters. Shared by the probe's configuration, the growth estimate (x of every
//! sample) and the reports (charts).
//!
//! A window of `w` iterations is read at `samples(iterations)` + 1 points, sample `i`
//! after `floor(i * w / S)` iterations. The count `S` is fixed by the user's
//! `iterations` and stays the same when the probe extends its window (to confirm a
//! growth, docs/statistics.md §1): keeping every other sample of window `w` gives
//! exactly the first half of window `2w`.

/// Most samples taken in one process. The probe keeps sample indices below 257 (the
/// cached small ints) so that counting samples allocates nothing (docs/measuring.md §1).
pub const MAX_SAMPLES: u64 = 200;

/// Chunks of a window of the user's `iterations`: at most [`MAX_SAMPLES`], an even
/// number (so a window can be halved), as many as there are iterations up to that.
pub fn chunk_count(iterations: u64) -> u64 {
    let s = iterations.min(MAX_SAMPLES);
    s - s % 2
}

/// Iterations between samples: `iterations` split into [`chunk_count`] chunks whose
/// sizes differ by at most one.
pub fn chunks(iterations: u64) -> Vec<u64> {
    let s = chunk_count(iterations);
    (0..s)
        .map(|j| (j + 1) * iterations / s - j * iterations / s)
        .collect()
}

/// Iteration count at each sample of the user's window, starting with 0 (the
/// baseline read).
pub fn positions(iterations: u64) -> Vec<u64> {
    window_positions(iterations, chunk_count(iterations))
}

/// Iteration count at each sample of a window of `window` iterations read in
/// `chunks` chunks (an extended window keeps the user's chunk count).
pub fn window_positions(window: u64, chunks: u64) -> Vec<u64> {
    (0..=chunks).map(|i| i * window / chunks).collect()
}

/// Samples in a process's series: the baseline read plus one per chunk.
pub fn samples(iterations: u64) -> usize {
    chunk_count(iterations) as usize + 1
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
        assert_eq!(chunk_count(17), 16, "even, so a window can be halved");
    }

    #[test]
    fn every_other_sample_of_a_window_is_the_first_half_of_twice_the_window() {
        for w in [16, 100, 2000, 2001, 4000, 123_456] {
            let s = chunk_count(w);
            let now = window_positions(w, s);
            let doubled = window_positions(2 * w, s);
            for i in 0..=(s as usize / 2) {
                assert_eq!(now[2 * i], doubled[i], "w={w} i={i}");
            }
        }
        assert_eq!(window_positions(2000, 200), positions(2000));
    }
}
