//! The figures that describe a scenario's memory, per process: what it holds after
//! the measured iterations, its peak, and its growth per iteration. Baselines store
//! and compare these. All are integers, so stored values round-trip exactly.

use crate::growth::process_growth;
use crate::probe::Measurement;
use crate::scenario::Metric;
use crate::schedule;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Figure {
    /// Live Python blocks after the measured iterations, minus those before setup.
    HeldBlocks,
    /// Native heap bytes after the measured iterations, minus those before setup.
    HeldNative,
    /// Peak RSS of the measured phase (VmHWM after a reset).
    PeakRss,
    /// tracemalloc's peak traced bytes (when the `tracemalloc` metric is on).
    TracemallocPeak,
    /// Growth of Python blocks per 1000 iterations (second-half Theil-Sen slope).
    GrowthBlocks,
    /// Growth of native heap bytes per 1000 iterations.
    GrowthNative,
}

impl Figure {
    pub const ALL: [Figure; 6] = [
        Figure::HeldBlocks,
        Figure::HeldNative,
        Figure::PeakRss,
        Figure::TracemallocPeak,
        Figure::GrowthBlocks,
        Figure::GrowthNative,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Figure::HeldBlocks => "held_blocks",
            Figure::HeldNative => "held_native",
            Figure::PeakRss => "peak_rss",
            Figure::TracemallocPeak => "tracemalloc_peak",
            Figure::GrowthBlocks => "growth_blocks",
            Figure::GrowthNative => "growth_native",
        }
    }

    pub fn from_key(key: &str) -> Option<Figure> {
        Figure::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The unit of stored values.
    pub fn unit(self) -> &'static str {
        match self {
            Figure::HeldBlocks => "blocks",
            Figure::GrowthBlocks => "blocks per 1000 iterations",
            Figure::GrowthNative => "bytes per 1000 iterations",
            _ => "bytes",
        }
    }

    pub fn is_blocks(self) -> bool {
        matches!(self, Figure::HeldBlocks | Figure::GrowthBlocks)
    }

    pub fn is_growth(self) -> bool {
        matches!(self, Figure::GrowthBlocks | Figure::GrowthNative)
    }
}

/// One process's figures. Figures whose counter was not read are absent.
pub fn of_measurement(m: &Measurement, iterations: u64) -> BTreeMap<Figure, i64> {
    let mut out = BTreeMap::new();
    let positions = schedule::positions(iterations);
    let last = |metric: Metric| m.series.get(&metric).and_then(|v| v.last().copied());
    if let (Some(end), Some(start)) = (last(Metric::Blocks), m.start.blocks) {
        out.insert(Figure::HeldBlocks, end - start);
    }
    if let (Some(end), Some(start)) = (last(Metric::Native), m.start.native) {
        out.insert(Figure::HeldNative, end - start);
    }
    if let Some(p) = m.peak_rss {
        out.insert(Figure::PeakRss, p as i64);
    }
    if let Some(p) = m.tracemalloc_peak {
        out.insert(Figure::TracemallocPeak, p as i64);
    }
    for (figure, metric) in [
        (Figure::GrowthBlocks, Metric::Blocks),
        (Figure::GrowthNative, Metric::Native),
    ] {
        if let Some(values) = m.series.get(&metric) {
            let slope = process_growth(&positions, values, 0.0).slope;
            out.insert(figure, (slope * 1000.0).round() as i64);
        }
    }
    out
}
