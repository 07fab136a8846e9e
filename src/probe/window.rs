//! How many iterations an attribution process traces, sized from what detection
//! already measured: enough for the leak to stand clear of one-off allocations, and
//! no more, since tracemalloc slows an allocation-heavy body 10x to 100x.

use crate::scenario::Metric;

/// Most iterations an attribution traces: a leak of a few bytes per iteration shows
/// in far fewer.
pub const MAX_ITERATIONS: u64 = 1000;

/// Fewest iterations an attribution traces (the fewest a scenario may measure), so
/// per-iteration figures are not a single iteration's.
pub const MIN_ITERATIONS: u64 = 16;

/// Python blocks a leak should leave in the traced window: one-off allocations of a
/// window (a dict resized, a cache entry) are tens of blocks, so at 256 the leak's
/// site ranks first by a wide margin.
pub const LEAKED_BLOCKS: f64 = 256.0;

/// Bytes a leak should leave in the traced window (the native heap's leaks, where
/// the Python-side amount that tracemalloc sees must be measured against it).
pub const LEAKED_BYTES: f64 = 64.0 * 1024.0;

/// The iterations that leave [`LEAKED_BLOCKS`] blocks (or [`LEAKED_BYTES`] bytes of
/// the C heap or tracemalloc) at the growth per iteration detection measured in the
/// counters that leak, whichever needs fewer; between [`MIN_ITERATIONS`] and
/// `min(iterations, MAX_ITERATIONS)`. Without a growth to size it by (a regressed
/// baseline figure, a leak only RSS, file descriptors or threads show), the most.
pub fn window(iterations: u64, leaking: impl IntoIterator<Item = (Metric, f64)>) -> u64 {
    let most = iterations.min(MAX_ITERATIONS);
    let fewest = MIN_ITERATIONS.min(most);
    leaking
        .into_iter()
        .filter_map(|(metric, per_iteration)| {
            let target = match metric {
                Metric::Blocks => LEAKED_BLOCKS,
                Metric::Native | Metric::Tracemalloc => LEAKED_BYTES,
                Metric::Rss | Metric::Fds | Metric::Threads => return None,
            };
            (per_iteration.is_finite() && per_iteration > 0.0)
                .then(|| (target / per_iteration).ceil())
        })
        .map(|n| if n >= most as f64 { most } else { n as u64 })
        .min()
        .unwrap_or(most)
        .clamp(fewest, most)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_leak_needs_few_iterations() {
        // The json body of bench/attribution_cost.py: 4 blocks and 8.3 native B per
        // iteration: 64 iterations leave 256 blocks.
        assert_eq!(
            window(2000, [(Metric::Blocks, 4.0), (Metric::Native, 8.3)]),
            64
        );
        // 1 MiB per iteration of the C heap: the fewest.
        assert_eq!(window(2000, [(Metric::Native, 1048576.0)]), MIN_ITERATIONS);
        assert_eq!(window(2000, [(Metric::Blocks, 1000.0)]), MIN_ITERATIONS);
    }

    #[test]
    fn the_counter_that_needs_fewer_iterations_sizes_the_window() {
        // 80 B/it of the C heap alone would need 820 iterations; 3 blocks/it, 86.
        assert_eq!(window(2000, [(Metric::Native, 80.0)]), 820);
        assert_eq!(
            window(2000, [(Metric::Native, 80.0), (Metric::Blocks, 3.0)]),
            86
        );
        assert_eq!(window(2000, [(Metric::Tracemalloc, 1024.0)]), 64);
    }

    #[test]
    fn a_tiny_leak_gets_the_most_and_never_more_than_was_measured() {
        // One object per 100 iterations.
        assert_eq!(window(2000, [(Metric::Blocks, 0.01)]), MAX_ITERATIONS);
        assert_eq!(window(400, [(Metric::Blocks, 0.01)]), 400);
        assert_eq!(window(100, [(Metric::Blocks, 1.0)]), 100);
        assert_eq!(window(16, [(Metric::Blocks, 1e-9)]), 16);
    }

    #[test]
    fn without_a_growth_to_size_by_the_window_is_the_most() {
        assert_eq!(window(2000, []), MAX_ITERATIONS);
        assert_eq!(window(300, []), 300);
        // Counters tracemalloc cannot see, and rates that are no growth.
        assert_eq!(
            window(
                2000,
                [
                    (Metric::Rss, 4096.0),
                    (Metric::Fds, 1.0),
                    (Metric::Threads, 1.0),
                    (Metric::Blocks, 0.0),
                    (Metric::Blocks, -3.0),
                    (Metric::Native, f64::NAN),
                    (Metric::Native, f64::INFINITY),
                ]
            ),
            MAX_ITERATIONS
        );
    }

    #[test]
    fn a_scenario_shorter_than_the_fewest_is_traced_as_measured() {
        // `iterations` is at least 16 in a scenario file, but the window never
        // exceeds what the scenario measured.
        assert_eq!(window(10, [(Metric::Blocks, 100.0)]), 10);
    }
}
