//! The probe's configurations in Python's `marshal` format: a measuring process
//! reads its configuration with one `marshal.loads` (a C call) instead of parsing
//! text in Python (an `eval` of JSON cost ~1 M instructions per process, and
//! importing `json` more; docs/measuring.md §11).
//!
//! A serde serializer writing the type codes every Python 3 `marshal` reads (those
//! of marshal version 2, which later versions still load): `N` None, `T`/`F`
//! booleans, `i` 32-bit ints, `l` longer ints in 15-bit digits, `g` binary doubles,
//! `u` UTF-8 strings, `[` lists (sequences and tuples alike, as JSON had them), `{`
//! dicts ended by `0`. Enums are written as serde_json writes them: a unit variant
//! as its name, any other as a one-entry dict.

use serde::ser::{self, Serialize};
use std::fmt;

/// Serialises `value` as Python `marshal` data.
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    value.serialize(&mut Marshal { out: &mut out })?;
    Ok(out)
}

/// A value marshal cannot carry (a sequence or string longer than 2³¹ - 1).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

struct Marshal<'a> {
    out: &'a mut Vec<u8>,
}

impl Marshal<'_> {
    fn len(&mut self, n: usize) -> Result<(), Error> {
        let n = i32::try_from(n).map_err(|_| Error(format!("{n} items: too many for marshal")))?;
        self.out.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    fn int(&mut self, v: i128) {
        if let Ok(small) = i32::try_from(v) {
            self.out.push(b'i');
            self.out.extend_from_slice(&small.to_le_bytes());
            return;
        }
        // Python's long: a signed count of 15-bit digits, least significant first.
        let mut digits = Vec::new();
        let mut m = v.unsigned_abs();
        while m > 0 {
            digits.push((m & 0x7fff) as u16);
            m >>= 15;
        }
        self.out.push(b'l');
        let n = digits.len() as i32;
        self.out
            .extend_from_slice(&(if v < 0 { -n } else { n }).to_le_bytes());
        for d in digits {
            self.out.extend_from_slice(&d.to_le_bytes());
        }
    }

    fn str(&mut self, s: &str) -> Result<(), Error> {
        self.out.push(b'u');
        self.len(s.len())?;
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// A sequence whose length serde may not know: written into a buffer first.
    fn seq(&mut self) -> Seq<'_> {
        Seq {
            parent: self.out,
            items: Vec::new(),
            count: 0,
            close_variant: false,
        }
    }
}

struct Seq<'a> {
    parent: &'a mut Vec<u8>,
    items: Vec<u8>,
    count: usize,
    /// Closes the `{variant: [...]}` dict around an enum's tuple variant.
    close_variant: bool,
}

impl Seq<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut Marshal {
            out: &mut self.items,
        })?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<(), Error> {
        self.parent.push(b'[');
        let n = i32::try_from(self.count)
            .map_err(|_| Error(format!("{} items: too many for marshal", self.count)))?;
        self.parent.extend_from_slice(&n.to_le_bytes());
        self.parent.extend_from_slice(&self.items);
        if self.close_variant {
            self.parent.push(b'0');
        }
        Ok(())
    }
}

/// A dict: entries as they come, then the end mark.
struct Dict<'a> {
    out: &'a mut Vec<u8>,
    /// Closes the `{variant: value}` dict around an enum's struct or tuple variant.
    close_variant: bool,
}

impl Dict<'_> {
    fn end(self) -> Result<(), Error> {
        self.out.push(b'0');
        if self.close_variant {
            self.out.push(b'0');
        }
        Ok(())
    }
}

impl<'a, 'b> ser::Serializer for &'a mut Marshal<'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Dict<'a>;
    type SerializeStruct = Dict<'a>;
    type SerializeStructVariant = Dict<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push(if v { b'T' } else { b'F' });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.int(v.into());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.int(v.into());
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.out.push(b'g');
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.out.push(b's');
        self.len(v.len())?;
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.push(b'N');
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        self.str(variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'0');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple(self, _: usize) -> Result<Seq<'a>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Seq<'a>, Error> {
        Ok(self.seq())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Error> {
        self.out.push(b'{');
        self.str(variant)?;
        let mut seq = self.seq();
        seq.close_variant = true;
        Ok(seq)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Dict<'a>, Error> {
        self.out.push(b'{');
        Ok(Dict {
            out: self.out,
            close_variant: false,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Dict<'a>, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Dict<'a>, Error> {
        self.out.push(b'{');
        self.str(variant)?;
        self.out.push(b'{');
        Ok(Dict {
            out: self.out,
            close_variant: true,
        })
    }
}

/// serde's four sequence kinds are all written as one marshal list.
macro_rules! seq_impl {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for Seq<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    };
}

seq_impl!(SerializeSeq, serialize_element);
seq_impl!(SerializeTuple, serialize_element);
seq_impl!(SerializeTupleStruct, serialize_field);
seq_impl!(SerializeTupleVariant, serialize_field);

impl ser::SerializeMap for Dict<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(&mut Marshal { out: self.out })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut Marshal { out: self.out })
    }
    fn end(self) -> Result<(), Error> {
        Dict::end(self)
    }
}

impl ser::SerializeStruct for Dict<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        Marshal { out: self.out }.str(key)?;
        value.serialize(&mut Marshal { out: self.out })
    }
    fn end(self) -> Result<(), Error> {
        Dict::end(self)
    }
}

impl ser::SerializeStructVariant for Dict<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        Dict::end(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn scalars_are_written_with_the_type_codes_python_reads() {
        assert_eq!(to_bytes(&true).unwrap(), b"T");
        assert_eq!(to_bytes(&Option::<u8>::None).unwrap(), b"N");
        assert_eq!(to_bytes(&7u64).unwrap(), b"i\x07\0\0\0");
        assert_eq!(to_bytes(&-2i64).unwrap(), b"i\xfe\xff\xff\xff");
        // 2^31: two 15-bit digits and a third: 0, 0, 2.
        assert_eq!(
            to_bytes(&(1u64 << 31)).unwrap(),
            b"l\x03\0\0\0\0\0\0\0\x02\0"
        );
        assert_eq!(
            to_bytes(&(-(1i64 << 31) - 1)).unwrap(),
            b"l\xfd\xff\xff\xff\x01\0\0\0\x02\0"
        );
        assert_eq!(to_bytes(&1.5f64).unwrap(), b"g\0\0\0\0\0\0\xf8\x3f");
        assert_eq!(to_bytes("é").unwrap(), b"u\x02\0\0\0\xc3\xa9");
    }

    #[test]
    fn containers_nest() {
        let mut m = BTreeMap::new();
        m.insert("a", vec![(1u8, 2u8)]);
        assert_eq!(
            to_bytes(&m).unwrap(),
            b"{u\x01\0\0\0a[\x01\0\0\0[\x02\0\0\0i\x01\0\0\0i\x02\0\0\x000"
        );
    }
}
