//! A `serde` deserializer over a parsed `serde_json::Value` that refuses a JSON array where a
//! struct (a JSON message) is expected, at every depth. serde's derived structs accept a
//! sequence of their fields in order as well as an object, and `serde_json` offers no switch
//! to turn that off; protobuf-JSON, and every other JSON format signet reads, has only the
//! object form. A verifier that accepted `[...]` where other clients see a malformed message
//! would be less strict than the specification, and would disagree with them about what a
//! bundle says.
//!
//! Everything else is what `serde_json::from_value` does: values are handed to the visitor as
//! they are, and maps, sequences and `Option`s recurse through this deserializer.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};
use serde_json::{Error, Map, Value};

/// Deserializes `value` as `T`, refusing arrays in place of structs anywhere inside it.
pub(crate) fn from_value<'a, T: de::Deserialize<'a>>(value: &'a Value) -> Result<T, Error> {
    T::deserialize(Strict(value))
}

struct Strict<'a>(&'a Value);

use crate::protojson::type_name as kind;

impl<'a> Deserializer<'a> for Strict<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    match n.as_f64() {
                        Some(f) => visitor.visit_f64(f),
                        None => Err(de::Error::custom(format!("number {n} is out of range"))),
                    }
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Seq(items.iter())),
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
        }
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields::new(map)),
            other => Err(de::Error::custom(format!(
                "expected a JSON object for {name}, found {}",
                kind(other)
            ))),
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let Some((variant, value)) = map.iter().next() else {
                    return Err(de::Error::custom(format!("{name}: an empty object")));
                };
                visitor.visit_enum(Variant { variant, value })
            }
            other => Err(de::Error::custom(format!(
                "expected a string or a one-key object for {name}, found {}",
                kind(other)
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct Seq<'a>(std::slice::Iter<'a, Value>);

impl<'a> SeqAccess<'a> for Seq<'a> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|v| seed.deserialize(Strict(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Fields<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>) -> Self {
        Fields {
            entries: map.iter(),
            value: None,
        }
    }
}

impl<'a> MapAccess<'a> for Fields<'a> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Strict(value)),
            None => Err(de::Error::custom("a map value was asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct Variant<'a> {
    variant: &'a str,
    value: &'a Value,
}

impl<'a> EnumAccess<'a> for Variant<'a> {
    type Error = Error;
    type Variant = Strict<'a>;

    fn variant_seed<V: DeserializeSeed<'a>>(self, seed: V) -> Result<(V::Value, Strict<'a>), Error> {
        let variant = seed.deserialize(de::value::BorrowedStrDeserializer::<Error>::new(self.variant))?;
        Ok((variant, Strict(self.value)))
    }
}

impl<'a> VariantAccess<'a> for Strict<'a> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(de::Error::custom(format!(
                "expected null for a unit variant, found {}",
                kind(other)
            ))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_struct("a struct variant", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        a: u64,
        b: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        inner: Inner,
        list: Vec<Inner>,
        maybe: Option<Inner>,
        kind: Kind,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Kind {
        One,
        Two,
    }

    #[test]
    fn objects_parse_as_serde_json_would() {
        let v: Value = serde_json::from_str(
            r#"{"inner":{"a":1,"b":"x"},"list":[{"a":2,"b":null}],"maybe":null,"kind":"Two"}"#,
        )
        .unwrap();
        let strict: Outer = from_value(&v).unwrap();
        let plain: Outer = serde_json::from_value(v).unwrap();
        assert_eq!(strict, plain);
    }

    #[test]
    fn arrays_in_place_of_structs_are_refused_at_every_depth() {
        for json in [
            r#"{"inner":[1,"x"],"list":[],"maybe":null,"kind":"One"}"#,
            r#"{"inner":{"a":1},"list":[[2,null]],"maybe":null,"kind":"One"}"#,
            r#"{"inner":{"a":1},"list":[],"maybe":[3,null],"kind":"One"}"#,
            r#"[{"a":1},[],null,"One"]"#,
        ] {
            let v: Value = serde_json::from_str(json).unwrap();
            // serde_json itself takes them.
            assert!(serde_json::from_value::<Outer>(v.clone()).is_ok(), "{json}");
            let err = from_value::<Outer>(&v).unwrap_err().to_string();
            assert!(err.contains("expected a JSON object"), "{json}: {err}");
        }
    }
}
