//! The figures that describe a scenario's memory, per process: what it holds after
//! the measured iterations, its peak, and its growth per iteration. Baselines store
//! and compare these. All are integers, so stored values round-trip exactly. Every
//! figure is read over the user's window, before any extension the probe made to
//! confirm a growth, so figures do not depend on whether a process looked longer.

use crate::growth::process_growth;
use crate::probe::Measurement;
use crate::scenario::Metric;
use crate::schedule;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Figure {
    /// Live Python blocks after the measured iterations, minus those before setup.
    /// Informational: stored and shown, never compared (blocks are not bytes: the
    /// byte floors would mean a different thing for every scenario; held_python is
    /// the same memory in bytes).
    HeldBlocks,
    /// Bytes in pymalloc's allocated blocks after the measured iterations, minus
    /// those before setup: the Python heap in bytes.
    HeldPython,
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
    pub const ALL: [Figure; 7] = [
        Figure::HeldBlocks,
        Figure::HeldPython,
        Figure::HeldNative,
        Figure::PeakRss,
        Figure::TracemallocPeak,
        Figure::GrowthBlocks,
        Figure::GrowthNative,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Figure::HeldBlocks => "held_blocks",
            Figure::HeldPython => "held_python",
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

    /// Whether a change of this figure can regress (or improve) a scenario.
    pub fn compared(self) -> bool {
        self != Figure::HeldBlocks
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
    let series = m.user_window();
    let last = |metric: Metric| series.get(&metric).and_then(|v| v.last().copied());
    if let (Some(end), Some(start)) = (last(Metric::Blocks), m.start.blocks) {
        out.insert(Figure::HeldBlocks, end - start);
    }
    if let (Some(end), Some(start)) = (m.end.python, m.start.python) {
        out.insert(Figure::HeldPython, end - start);
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
        if let Some(values) = series.get(&metric) {
            let slope = process_growth(&positions, values, 0.0).slope;
            out.insert(figure, (slope * 1000.0).round() as i64);
        }
    }
    out
}
