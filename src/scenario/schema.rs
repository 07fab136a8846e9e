//! The YAML shape of a scenario. Every check that can be done while parsing is done
//! here, so that yaml_serde attaches the line and column of the offending value.

use crate::units::{parse_duration, Bytes};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub scenarios: Vec<RawScenario>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Option<Name>,
    pub description: Option<String>,
    pub setup: Option<String>,
    pub run: NonBlank,
    pub teardown: Option<String>,
    pub iterations: Option<AtLeast<{ super::defaults::MIN_ITERATIONS }>>,
    pub warmup: Option<AtLeast<0>>,
    pub processes: Option<AtLeast<1>>,
    pub timeout: Option<DurationValue>,
    pub memory_limit: Option<SizeValue>,
    pub python: Option<NonBlank>,
    pub env: Option<BTreeMap<String, EnvValue>>,
    pub pythonpath: Option<Vec<String>>,
    pub tolerance: Option<SizeValue>,
    pub expect: Option<Expect>,
    pub metrics: Option<Vec<Metric>>,
    pub regression: Option<RawRegression>,
    pub attribution: Option<RawAttribution>,
    pub confirm: Option<RawConfirm>,
}

/// `confirm: {iterations: 32000, time: 20s}`: how much longer a process may measure
/// to tell a leak from a cache still filling.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfirm {
    pub iterations: Option<AtLeast<{ super::defaults::MIN_ITERATIONS }>>,
    pub time: Option<DurationValue>,
}

/// `attribution: {frames: 10, top: 5}`: how leaks are explained.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAttribution {
    pub frames: Option<AtLeast<1>>,
    pub top: Option<AtLeast<1>>,
}

/// `regression: {relative: 10%, absolute: 1 MiB}`: how far a baseline figure may
/// move before it counts as a change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegression {
    pub relative: Option<Percent>,
    pub absolute: Option<SizeValue>,
}

/// `10%` (or a bare number of percent), as a fraction.
#[derive(Debug)]
pub(crate) struct Percent(pub f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage such as `10%`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percent, E> {
                if !(0.0..=1000.0).contains(&v) {
                    return Err(E::custom(format!(
                        "invalid percentage `{v}`: must be between 0% and 1000%"
                    )));
                }
                Ok(Percent(v / 100.0))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percent, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percent, E> {
                self.visit_f64(v as f64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Percent, E> {
                let n = v.trim().strip_suffix('%').unwrap_or(v).trim();
                let f: f64 = n.parse().map_err(|_| {
                    E::custom(format!("invalid percentage `{v}`: expected e.g. `10%`"))
                })?;
                self.visit_f64(f)
            }
        }
        d.deserialize_any(V)
    }
}

/// What the scenario's check expects: no leak (`pass`), or a known leak (`leak`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    #[default]
    Pass,
    Leak,
}

/// The smallest pymalloc block is 16 bytes, so N blocks are at least 16*N bytes: a
/// byte amount is held to a block count by dividing by this.
pub const MIN_BLOCK_BYTES: f64 = 16.0;

/// A counter the probe reads. Peak RSS is always recorded; these are the series.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// `sys.getallocatedblocks()`: live pymalloc blocks.
    Blocks,
    /// Bytes in use by the C allocator (glibc `mallinfo2`, macOS zone statistics).
    Native,
    /// Resident set size.
    Rss,
    /// `tracemalloc.get_traced_memory()` current bytes; slows allocation-heavy code.
    Tracemalloc,
    /// Open file descriptors (files, sockets, pipes): a count.
    Fds,
    /// Live threads (started through Python or by C code): a count.
    Threads,
}

impl Metric {
    pub fn key(self) -> &'static str {
        match self {
            Metric::Blocks => "blocks",
            Metric::Native => "native",
            Metric::Rss => "rss",
            Metric::Tracemalloc => "tracemalloc",
            Metric::Fds => "fds",
            Metric::Threads => "threads",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::Blocks => "Python blocks",
            Metric::Native => "native heap",
            Metric::Rss => "RSS",
            Metric::Tracemalloc => "tracemalloc",
            Metric::Fds => "file descriptors",
            Metric::Threads => "threads",
        }
    }

    /// Whether the counter counts bytes.
    pub fn is_bytes(self) -> bool {
        matches!(self, Metric::Native | Metric::Rss | Metric::Tracemalloc)
    }

    /// Whether the counter counts resources (file descriptors, threads), not
    /// memory: the byte `tolerance` does not apply, any steady growth is a leak.
    pub fn is_count(self) -> bool {
        matches!(self, Metric::Fds | Metric::Threads)
    }

    /// Whether the counter sees memory beyond the Python and C heaps (RSS), where
    /// only a confirmed steady growth is a leak.
    pub fn outside_heaps(self) -> bool {
        self == Metric::Rss
    }
}

/// A string with something other than white space in it.
#[derive(Debug)]
pub(crate) struct NonBlank(pub String);

impl<'de> Deserialize<'de> for NonBlank {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Checks run inside the visitor so the parser attaches the value's position.
        struct V;
        impl Visitor<'_> for V {
            type Value = NonBlank;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-empty string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NonBlank, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("must not be empty"));
                }
                Ok(NonBlank(v.to_owned()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A scenario name: printable, one line, at most 200 characters.
#[derive(Debug)]
pub(crate) struct Name(pub String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scenario name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name, E> {
                check_name(v).map_err(E::custom)?;
                Ok(Name(v.to_owned()))
            }
        }
        d.deserialize_str(V)
    }
}

pub(crate) fn check_name(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    if s.chars().any(char::is_control) {
        return Err("name must not contain control characters or line breaks".into());
    }
    if s.chars().count() > 200 {
        return Err("name must be at most 200 characters".into());
    }
    Ok(())
}

/// A whole number of at least `N`.
#[derive(Debug)]
pub(crate) struct AtLeast<const N: u64>(pub u64);

impl<'de, const N: u64> Deserialize<'de> for AtLeast<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const N: u64>;
        impl<const N: u64> Visitor<'_> for V<N> {
            type Value = AtLeast<N>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a whole number of at least {N}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AtLeast<N>, E> {
                if v < N {
                    return Err(E::custom(format!("must be at least {N}, got {v}")));
                }
                Ok(AtLeast(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AtLeast<N>, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!("must be at least {N}, got {v}"))),
                }
            }
        }
        d.deserialize_u64(V::<N>)
    }
}

/// A size: `64 B`, `2 GiB`, or a number of bytes.
#[derive(Debug)]
pub(crate) struct SizeValue(pub Bytes);

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SizeValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as `64 B`, `1 KiB` or `2 GiB`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SizeValue, E> {
                Ok(SizeValue(Bytes(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SizeValue, E> {
                u64::try_from(v)
                    .map(|v| SizeValue(Bytes(v)))
                    .map_err(|_| E::custom(format!("invalid size `{v}`: must not be negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeValue, E> {
                Bytes::parse(v).map(SizeValue).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration: `60s`, `500ms`, `2m`, or a number of seconds.
#[derive(Debug)]
pub(crate) struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as `60s`, `500ms` or `2m`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationValue, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationValue, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationValue, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationValue, E> {
                parse_duration(v).map(DurationValue).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// An environment value. YAML reads `PYTHONHASHSEED: 0` as a number; environment
/// variables are strings, so scalars are taken as their text.
#[derive(Debug)]
pub(crate) struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
                if v.contains('\0') {
                    return Err(E::custom("environment values must not contain NUL"));
                }
                Ok(EnvValue(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnvValue, E> {
                Ok(EnvValue(if v { "1" } else { "0" }.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}
