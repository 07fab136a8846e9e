//! The YAML shape of a scenario. Every check that can be done while parsing is done
//! here, so that yaml_serde attaches the line and column of the offending value.

use super::bounds;
use crate::units::{format_bytes, parse_duration, Bytes};
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

/// Declares [`RawScenario`] and, from the same list, [`FIELDS`] and [`check_field`],
/// which parse one key alone (so every bad key of a file can be reported, see
/// `problems`).
macro_rules! scenario_fields {
    ($($field:ident: $ty:ty,)*) => {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct RawScenario {
            $(pub $field: $ty,)*
        }

        /// Every key a scenario may have.
        pub(crate) const FIELDS: &[&str] = &[$(stringify!($field)),*];

        /// Parses the value of scenario key `key` as [`RawScenario`] would, and
        /// drops it; `None` for an unknown key.
        pub(crate) fn check_field<'de, D: Deserializer<'de>>(
            key: &str,
            d: D,
        ) -> Option<Result<(), D::Error>> {
            match key {
                $(stringify!($field) => Some(<$ty>::deserialize(d).map(drop)),)*
                _ => None,
            }
        }
    };
}

scenario_fields! {
    name: Option<Name>,
    description: Option<String>,
    setup: Option<String>,
    run: Option<NonBlank>,
    teardown: Option<String>,
    // A pytest test or selection instead of `run:` (see `pytest.rs`).
    pytest: Option<PytestArgs>,
    iterations: Option<Within<{ bounds::MIN_ITERATIONS }, { bounds::MAX_ITERATIONS }>>,
    warmup: Option<Within<0, { bounds::MAX_ITERATIONS }>>,
    processes: Option<Within<1, { bounds::MAX_PROCESSES }>>,
    timeout: Option<DurationValue>,
    memory_limit: Option<MemoryLimit>,
    python: Option<NonBlank>,
    env: Option<BTreeMap<String, EnvValue>>,
    pythonpath: Option<Vec<String>>,
    tolerance: Option<SizeValue>,
    expect: Option<Expect>,
    metrics: Option<Vec<Metric>>,
    regression: Option<RawRegression>,
    attribution: Option<RawAttribution>,
    confirm: Option<RawConfirm>,
}

/// `confirm: {iterations: 32000, time: 20s}`: how much longer a process may measure
/// to tell a leak from a cache still filling.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfirm {
    pub iterations: Option<Within<{ bounds::MIN_ITERATIONS }, { bounds::MAX_CONFIRM_ITERATIONS }>>,
    pub time: Option<DurationValue>,
}

/// `attribution: {frames: 10, top: 5}`: how leaks are explained.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAttribution {
    pub frames: Option<Within<1, { bounds::MAX_SHOWN }>>,
    pub top: Option<Within<1, { bounds::MAX_SHOWN }>>,
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

/// `pytest:`: pytest command-line arguments, as one string (split like a shell
/// splits it: quotes group, a backslash escapes) or a list of strings.
#[derive(Debug)]
pub(crate) struct PytestArgs(pub Vec<String>);

impl<'de> Deserialize<'de> for PytestArgs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PytestArgs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a pytest node id or selection (`tests/ -m memleak`), or a list of arguments",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PytestArgs, E> {
                let args = crate::text::split_args(v).map_err(E::custom)?;
                PytestArgs::checked(args).map_err(E::custom)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<PytestArgs, A::Error> {
                let mut args = Vec::new();
                while let Some(a) = seq.next_element::<String>()? {
                    args.push(a);
                }
                PytestArgs::checked(args).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl PytestArgs {
    fn checked(args: Vec<String>) -> Result<PytestArgs, String> {
        if args.is_empty() {
            return Err(
                "must name a test (`tests/test_x.py::test_a`) or a selection (`tests/ -m memleak`)"
                    .into(),
            );
        }
        if let Some(a) = args.iter().find(|a| a.contains('\0')) {
            return Err(format!("argument {a:?} contains NUL"));
        }
        Ok(PytestArgs(args))
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

/// A whole number from `MIN` to `MAX`.
#[derive(Debug)]
pub(crate) struct Within<const MIN: u64, const MAX: u64>(pub u64);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Within<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u64, const MAX: u64>;
        impl<const MIN: u64, const MAX: u64> Visitor<'_> for V<MIN, MAX> {
            type Value = Within<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a whole number from {MIN} to {MAX}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Within<MIN, MAX>, E> {
                if v < MIN {
                    return Err(E::custom(format!("must be at least {MIN}, got {v}")));
                }
                if v > MAX {
                    return Err(E::custom(format!("must be at most {MAX}, got {v}")));
                }
                Ok(Within(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Within<MIN, MAX>, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!("must be at least {MIN}, got {v}"))),
                }
            }
        }
        d.deserialize_u64(V::<MIN, MAX>)
    }
}

/// `memory_limit`: a size of at least [`bounds::MIN_MEMORY_LIMIT`].
#[derive(Debug)]
pub(crate) struct MemoryLimit(pub Bytes);

impl<'de> Deserialize<'de> for MemoryLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Size {
            min: bounds::MIN_MEMORY_LIMIT,
            why: "the limit covers the whole process, and a Python interpreter alone takes 10 to 20 MiB",
        })
        .map(MemoryLimit)
    }
}

/// A size: `64 B`, `2 GiB`, or a number of bytes, at most [`bounds::MAX_SIZE`].
#[derive(Debug)]
pub(crate) struct SizeValue(pub Bytes);

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Size { min: 0, why: "" }).map(SizeValue)
    }
}

/// Reads a size from `min` to [`bounds::MAX_SIZE`]; `why` explains the minimum.
/// (Checks run inside the visitor so the parser attaches the value's position.)
struct Size {
    min: u64,
    why: &'static str,
}

impl Visitor<'_> for Size {
    type Value = Bytes;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a size such as `64 B`, `1 KiB` or `2 GiB`")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bytes, E> {
        if v > bounds::MAX_SIZE {
            return Err(E::custom(format!(
                "invalid size `{}`: at most {} ({} bytes)",
                format_bytes(v as f64),
                format_bytes(bounds::MAX_SIZE as f64),
                bounds::MAX_SIZE
            )));
        }
        if v < self.min {
            return Err(E::custom(format!(
                "`{}` is too small: at least {} ({})",
                format_bytes(v as f64),
                format_bytes(self.min as f64),
                self.why
            )));
        }
        Ok(Bytes(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bytes, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!(
                "invalid size `{v}`: must not be negative"
            ))),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
        let b = Bytes::parse(v).map_err(E::custom)?;
        self.visit_u64(b.0)
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
                let d = parse_duration(v).map_err(E::custom)?;
                if d > bounds::MAX_TIMEOUT {
                    return Err(E::custom(format!("`{v}` is too long: at most 24h")));
                }
                Ok(DurationValue(d))
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
