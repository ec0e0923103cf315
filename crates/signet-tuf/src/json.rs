//! Strict JSON for metadata: serde_json's grammar, but an object with a key given twice is
//! refused. Two parsers that disagree on which duplicate wins (the first, the last) let one
//! file mean two things, and a signature checked over one reading then vouches for the other:
//! a classic signature bypass. serde_json's own `Value` keeps the last one silently.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why bytes are not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrictJsonError {
    /// An object names `key` twice.
    DuplicateKey(String),
    /// Not JSON at all (syntax, bad UTF-8, nesting deeper than serde_json's limit of 128,
    /// trailing bytes).
    Syntax(String),
}

/// Parses `bytes` as one JSON value, refusing duplicate object keys.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = StrictSeed {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (result, duplicate.into_inner()) {
        (_, Some(key)) => Err(StrictJsonError::DuplicateKey(key)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(StrictJsonError::Syntax(e.to_string())),
    }
}

/// Builds a `Value` like serde_json's own, noting the first duplicate key it meets.
#[derive(Clone, Copy)]
struct StrictSeed<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // Kept (as serde_json does) so the canonical encoder can name it; a float is never
        // canonical, so metadata holding one is refused there.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let message = format!("duplicate key {key:?}");
                self.duplicate.borrow_mut().get_or_insert(key);
                return Err(de::Error::custom(message));
            }
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a": [1, -2, "x\u00e9", true, null, {"b": {}}], "c": 18446744073709551615}"#;
        let strict = parse(text).unwrap();
        let loose: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(strict, loose);
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        assert_eq!(
            parse(br#"{"a": 1, "a": 2}"#),
            Err(StrictJsonError::DuplicateKey("a".into()))
        );
        assert_eq!(
            parse(br#"{"signed": {"x": [{"keyid": "k", "keyid": "k"}]}}"#),
            Err(StrictJsonError::DuplicateKey("keyid".into()))
        );
        // The same key spelled with an escape is the same key.
        assert_eq!(
            parse(br#"{"version": 1, "vers\u0069on": 2}"#),
            Err(StrictJsonError::DuplicateKey("version".into()))
        );
        // The same key in two sibling objects is fine.
        assert!(parse(br#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn refuses_what_is_not_one_json_value() {
        for bad in [
            &b""[..],
            b"{",
            b"{} {}",
            b"{\"a\":1,}",
            b"\xff",
            b"[1] x",
            b"{'a': 1}",
        ] {
            assert!(matches!(parse(bad), Err(StrictJsonError::Syntax(_))), "{bad:?}");
        }
        // Deep nesting is an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse(deep.as_bytes()), Err(StrictJsonError::Syntax(_))));
    }
}
