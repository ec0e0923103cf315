//! The protobuf-JSON (protojson) mapping rules every wire type here follows.
//!
//! Output: camelCase field names, `bytes` as standard padded base64, 64-bit integers as decimal
//! strings, enums by name. Input, as Go's `protojson.Unmarshal` accepts it: the camelCase or the
//! proto snake_case name, base64 in the standard or URL-safe alphabet with or without padding,
//! 64-bit integers as strings or numbers, `null` meaning "not set".

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::Serializer;
use serde_json::{Map, Value};
use thiserror::Error;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    // Go's decoder does not insist that unused trailing bits are zero; neither do we. The bytes
    // are re-encoded on output, so this cannot make two spellings of one entry differ.
    .with_decode_allow_trailing_bits(true);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Encodes `bytes` as protojson does: standard alphabet, padded.
/// Deserialises a JSON message that must be a JSON object. serde's derived structs also
/// accept a JSON array holding the fields in order; protobuf-JSON (and every JSON format these
/// parsers read) does not, so the top level is checked first, and every message nested inside
/// is held to the same rule ([`crate::strict_value`]).
pub fn from_json_object<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, serde_json::Error> {
    let value: Value = serde_json::from_slice(json)?;
    if !value.is_object() {
        return Err(<serde_json::Error as serde::de::Error>::custom(format!(
            "expected a JSON object, found {}",
            type_name(&value)
        )));
    }
    crate::strict_value::from_value(&value)
}

pub fn encode_bytes(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes a protojson `bytes` value: standard or URL-safe alphabet (chosen, as Go does, by
/// whether `-` or `_` occurs), padding optional.
pub fn decode_bytes(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    if text.contains(['-', '_']) {
        URL_SAFE_LENIENT.decode(text)
    } else {
        STANDARD_LENIENT.decode(text)
    }
}

/// Writes `bytes` as base64 without an intermediate `String`.
fn serialize_base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&base64::display::Base64Display::new(bytes, &STANDARD))
}

/// serde helpers for `bytes` fields.
pub(crate) mod bytes {
    use super::*;

    pub fn serialize<S: Serializer, T: AsRef<[u8]> + ?Sized>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        serialize_base64(v.as_ref(), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        decode_bytes(&text).map_err(|e| de::Error::custom(format!("invalid base64 ({e})")))
    }
}

/// serde helpers for `optional bytes` fields (`null` or absent means unset).
pub(crate) mod opt_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => serialize_base64(b, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        text.map(|t| decode_bytes(&t).map_err(|e| de::Error::custom(format!("invalid base64 ({e})"))))
            .transpose()
    }
}

/// serde helpers for `repeated bytes` fields.
pub(crate) mod bytes_list {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer, T: AsRef<[u8]>>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        struct B<'a>(&'a [u8]);
        impl serde::Serialize for B<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_base64(self.0, s)
            }
        }
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for item in v {
            seq.serialize_element(&B(item.as_ref()))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let items = <Option<Vec<std::borrow::Cow<'de, str>>>>::deserialize(d)?.unwrap_or_default();
        items
            .iter()
            .map(|t| decode_bytes(t).map_err(|e| de::Error::custom(format!("invalid base64 ({e})"))))
            .collect()
    }
}

/// Visits a protojson 64-bit integer: a decimal string or a JSON number.
struct Int64Visitor<T>(std::marker::PhantomData<T>);

impl<T> Visitor<'_> for Int64Visitor<T>
where
    T: TryFrom<u64> + TryFrom<i64> + std::str::FromStr,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 64-bit integer as a decimal string or a number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom(format!("{v} is out of range")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse()
            .map_err(|_| E::custom(format!("{v:?} is not a decimal integer in range")))
    }
}

/// serde helpers for `uint64` fields: written as a decimal string.
pub(crate) mod uint64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(Int64Visitor(std::marker::PhantomData))
    }
}

/// serde helpers for `optional int64` fields.
pub(crate) mod opt_int64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.collect_str(n),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<i64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null or a 64-bit integer")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(Int64Visitor(std::marker::PhantomData))
                    .map(Some)
            }
        }
        d.deserialize_option(V)
    }
}

/// Why a protojson field was refused. `field` is the dotted path from the document root, e.g.
/// `hashedRekordRequestV002.signature.verifier.keyDetails`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldError {
    #[error("{field}: expected {expected}, found {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{field}: unknown field (not in the message definition)")]
    UnknownField { field: String },
    #[error("{field}: given twice (camelCase and snake_case spellings); expected once")]
    DuplicateField { field: String },
    #[error("{field}: missing or empty; expected a value")]
    MissingField { field: String },
    #[error("{field}: invalid base64 ({detail}); expected standard or URL-safe base64")]
    Base64 { field: String, detail: String },
    #[error("{field}: unknown enum value {found:?}; expected one of {expected}")]
    UnknownEnumValue {
        field: String,
        found: String,
        expected: String,
    },
    #[error("{field}: {found} are all set; expected exactly one (a oneof)")]
    OneofConflict { field: String, found: String },
    #[error("{field}: {got} entries; at most {max} allowed")]
    TooMany { field: String, max: usize, got: usize },
}

/// The JSON type name of `v`, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The proto snake_case name of a camelCase JSON name (`rawBytes` → `raw_bytes`,
/// `hashedRekordRequestV002` → `hashed_rekord_request_v002`).
pub(crate) fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A protojson object being read field by field, so that every refusal names its field path.
/// Fields are taken out as they are read; [`Object::finish`] refuses whatever is left.
pub(crate) struct Object {
    path: String,
    map: Map<String, Value>,
}

impl Object {
    /// Reads `value` (at `path`) as an object.
    pub fn new(path: impl Into<String>, value: Value) -> Result<Self, FieldError> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Object { path, map }),
            other => Err(FieldError::WrongType {
                field: path,
                expected: "an object",
                found: type_name(&other),
            }),
        }
    }

    /// The path of a field of this object.
    pub fn path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// Takes the field named `camel` (or its snake_case spelling). `null` counts as unset.
    pub fn take(&mut self, camel: &str) -> Result<Option<Value>, FieldError> {
        let a = self.map.remove(camel);
        let snake = snake_case(camel);
        let b = if snake != camel {
            self.map.remove(&snake)
        } else {
            None
        };
        match (a, b) {
            (Some(_), Some(_)) => Err(FieldError::DuplicateField {
                field: self.path(camel),
            }),
            (Some(v), None) | (None, Some(v)) => Ok((!v.is_null()).then_some(v)),
            (None, None) => Ok(None),
        }
    }

    /// Takes a `bytes` field; unset reads as empty, as in protobuf.
    pub fn bytes(&mut self, camel: &str) -> Result<Vec<u8>, FieldError> {
        match self.take(camel)? {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => decode_bytes(&s).map_err(|e| FieldError::Base64 {
                field: self.path(camel),
                detail: e.to_string(),
            }),
            Some(other) => Err(self.wrong_type(camel, "a base64 string", &other)),
        }
    }

    /// Takes a `bytes` field that must be set and non-empty.
    pub fn required_bytes(&mut self, camel: &str) -> Result<Vec<u8>, FieldError> {
        let b = self.bytes(camel)?;
        if b.is_empty() {
            return Err(FieldError::MissingField {
                field: self.path(camel),
            });
        }
        Ok(b)
    }

    /// Takes a `string` field; unset reads as empty.
    pub fn string(&mut self, camel: &str) -> Result<String, FieldError> {
        match self.take(camel)? {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.wrong_type(camel, "a string", &other)),
        }
    }

    /// Takes an enum field by name, parsed with `parse`; `expected` lists the accepted names.
    pub fn required_enum<T>(
        &mut self,
        camel: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<T, FieldError> {
        let name = self.string(camel)?;
        if name.is_empty() {
            return Err(FieldError::MissingField {
                field: self.path(camel),
            });
        }
        parse(&name).ok_or_else(|| FieldError::UnknownEnumValue {
            field: self.path(camel),
            found: name,
            expected: expected.to_string(),
        })
    }

    /// Takes a message field as an [`Object`], if set.
    pub fn object(&mut self, camel: &str) -> Result<Option<Object>, FieldError> {
        let path = self.path(camel);
        self.take(camel)?.map(|v| Object::new(path, v)).transpose()
    }

    /// Takes a message field that must be set.
    pub fn required_object(&mut self, camel: &str) -> Result<Object, FieldError> {
        self.object(camel)?.ok_or_else(|| FieldError::MissingField {
            field: self.path(camel),
        })
    }

    /// Takes a `repeated` field, refusing more than `max` elements. Unset reads as empty.
    pub fn array(&mut self, camel: &str, max: usize) -> Result<Vec<Value>, FieldError> {
        match self.take(camel)? {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) if items.len() > max => Err(FieldError::TooMany {
                field: self.path(camel),
                max,
                got: items.len(),
            }),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.wrong_type(camel, "an array", &other)),
        }
    }

    /// The (alphabetically first) field not yet taken, if any.
    pub fn remaining_key(&self) -> Option<&str> {
        self.map.keys().min().map(String::as_str)
    }

    /// Refuses any field not yet taken.
    pub fn finish(self) -> Result<(), FieldError> {
        match self.remaining_key() {
            Some(k) => Err(FieldError::UnknownField { field: self.path(k) }),
            None => Ok(()),
        }
    }

    fn wrong_type(&self, camel: &str, expected: &'static str, found: &Value) -> FieldError {
        FieldError::WrongType {
            field: self.path(camel),
            expected,
            found: type_name(found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_flavours_decode_alike() {
        let bytes = [0xfbu8, 0xff, 0xfe, 0x01];
        for text in ["+//+AQ==", "+//+AQ", "-__-AQ==", "-__-AQ"] {
            assert_eq!(decode_bytes(text).unwrap(), bytes, "{text}");
        }
        assert_eq!(encode_bytes(&bytes), "+//+AQ==");
        assert!(decode_bytes("+/_-").is_err(), "mixed alphabets are refused");
        assert!(decode_bytes("not base64!").is_err());
    }

    #[test]
    fn snake_names() {
        assert_eq!(snake_case("rawBytes"), "raw_bytes");
        assert_eq!(snake_case("x509Certificate"), "x509_certificate");
        assert_eq!(
            snake_case("hashedRekordRequestV002"),
            "hashed_rekord_request_v002"
        );
        assert_eq!(snake_case("keyid"), "keyid");
    }

    #[test]
    fn object_reader_paths_and_errors() {
        let v: Value = serde_json::json!({"raw_bytes": "AAE=", "extra": 1});
        let mut o = Object::new("a.b", v).unwrap();
        assert_eq!(o.bytes("rawBytes").unwrap(), vec![0, 1]);
        assert_eq!(
            o.finish(),
            Err(FieldError::UnknownField {
                field: "a.b.extra".into()
            })
        );
        let v: Value = serde_json::json!({"raw_bytes": "AAE=", "rawBytes": "AAE="});
        let mut o = Object::new("", v).unwrap();
        assert!(matches!(
            o.bytes("rawBytes"),
            Err(FieldError::DuplicateField { .. })
        ));
    }
}
