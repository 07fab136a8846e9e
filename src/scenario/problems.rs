//! Every problem of a scenario that does not parse, not just the first.
//!
//! serde stops at the first error, and yaml_serde's values carry no positions. So
//! when a scenario fails to parse, each of its keys is parsed again alone, from the
//! file's text: the other keys are skipped, so only that key's error can come out,
//! and it carries yaml_serde's line, column and path like any other. Files are small
//! and this runs only for scenarios that already failed.

use super::schema::{check_field, RawScenario, FIELDS};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Scenario `index` of a `scenarios:` list, or the file's only scenario (`None`):
/// parsed, or every error found in it.
pub(crate) fn parse(
    text: &str,
    index: Option<usize>,
    keys: &[String],
) -> Result<RawScenario, Vec<yaml_serde::Error>> {
    let whole = match at(text, index, Whole) {
        Ok(Some(raw)) => return Ok(raw),
        Ok(None) => return Err(vec![]), // cannot happen: the item exists
        Err(e) => e,
    };
    let mut errors: Vec<yaml_serde::Error> = keys
        .iter()
        .filter_map(|k| at(text, index, OneKey::new(k, FIELDS)).err())
        .collect();
    if !keys.iter().any(|k| k == "run" || k == "pytest") {
        errors.extend(at(text, index, HasRun).err());
    }
    if errors.is_empty() {
        errors.push(whole); // not about one key: the scenario is not a mapping, say
    }
    errors.sort_by_key(|e| e.location().map(|l| (l.line(), l.column())));
    errors.dedup_by(|a, b| a.to_string() == b.to_string());
    Err(errors)
}

/// An error for each top-level key of a `scenarios:` file other than `scenarios`.
pub(crate) fn unknown_top_keys(text: &str, keys: &[String]) -> Vec<yaml_serde::Error> {
    keys.iter()
        .filter(|k| *k != "scenarios")
        .filter_map(|k| {
            OneKey::new(k, &["scenarios"])
                .deserialize(yaml_serde::Deserializer::from_str(text))
                .err()
        })
        .collect()
}

fn at<'de, S>(
    text: &'de str,
    index: Option<usize>,
    inner: S,
) -> Result<Option<S::Value>, yaml_serde::Error>
where
    S: DeserializeSeed<'de>,
{
    let d = yaml_serde::Deserializer::from_str(text);
    match index {
        None => inner.deserialize(d).map(Some),
        Some(index) => d.deserialize_map(InList { index, inner }),
    }
}

/// The whole scenario.
struct Whole;

impl<'de> DeserializeSeed<'de> for Whole {
    type Value = RawScenario;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawScenario, D::Error> {
        serde::Deserialize::deserialize(d)
    }
}

/// Only `run`, which every scenario needs: its absence, at the mapping's position.
struct HasRun;

impl<'de> DeserializeSeed<'de> for HasRun {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct OnlyRun {
            run: IgnoredAny,
        }
        <OnlyRun as serde::Deserialize>::deserialize(d).map(drop)
    }
}

/// One key of a mapping whose keys are `known`, the others skipped: its value's
/// error, or (at the key) that it is unknown.
#[derive(Clone, Copy)]
struct OneKey<'k> {
    key: &'k str,
    known: &'static [&'static str],
}

impl<'k> OneKey<'k> {
    fn new(key: &'k str, known: &'static [&'static str]) -> Self {
        OneKey { key, known }
    }
}

impl<'de> DeserializeSeed<'de> for OneKey<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneKey<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeyOf(self))? {
            if key == self.key {
                map.next_value_seed(Field(self.key))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// As a key seed: the key as text, an error (at the key) when it is the one being
/// checked and unknown. The error is made inside the visitor, where yaml_serde
/// attaches the key's position.
#[derive(Clone, Copy)]
struct KeyOf<'k>(OneKey<'k>);

impl<'de> DeserializeSeed<'de> for KeyOf<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyOf<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        let OneKey { key: wanted, known } = self.0;
        if key == wanted && !known.contains(&key) {
            return Err(E::unknown_field(key, known));
        }
        Ok(key.to_owned())
    }
}

struct Field<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for Field<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        check_field(self.0, d).unwrap_or(Ok(()))
    }
}

/// Item `index` of the `scenarios:` list, with `inner`; everything else skipped.
struct InList<S> {
    index: usize,
    inner: S,
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for InList<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping with `scenarios:`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut inner = Some(self.inner);
        let mut found = None;
        while let Some(key) = map.next_key::<yaml_serde::Value>()? {
            match inner.take() {
                Some(seed) if key.as_str() == Some("scenarios") => {
                    found = map.next_value_seed(Nth {
                        index: self.index,
                        inner: seed,
                    })?;
                }
                other => {
                    inner = other;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

struct Nth<S> {
    index: usize,
    inner: S,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nth<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nth<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of scenarios")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        for _ in 0..self.index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(None);
            }
        }
        let found = seq.next_element_seed(self.inner)?;
        // yaml_serde wants every element visited.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(found)
    }
}
