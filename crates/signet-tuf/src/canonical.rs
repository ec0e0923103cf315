//! OLPC canonical JSON as securesystemslib's `encode_canonical` writes it: the bytes TUF
//! signatures are over (TUF §4.2 "canonical JSON", <http://wiki.laptop.org/go/Canonical_JSON>).
//!
//! - object keys sorted by code point (byte order of their UTF-8, which is the same), no
//!   whitespace anywhere;
//! - strings: only `"` and `\` are escaped; every other character, control characters
//!   included, is written as its raw UTF-8 (so the output is not always RFC 8259 JSON: a
//!   string holding U+000A comes out with a raw newline, exactly as securesystemslib signs it);
//! - numbers: integers only; a float anywhere is an error, not a rounding;
//! - `true`, `false`, `null`.

use serde_json::Value;
use thiserror::Error;

/// Why a value has no canonical encoding.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CanonicalError {
    /// Canonical JSON has integers only (securesystemslib raises on a float), and JSON numbers
    /// beyond 64-bit integers are read as floats.
    #[error("number {value} at {path} is not an integer; canonical JSON allows integers only")]
    NotAnInteger { path: String, value: String },
}

/// The canonical encoding of `value`.
pub fn encode(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write(value, &mut out, &mut String::from("$"))?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>, path: &mut String) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(CanonicalError::NotAnInteger {
                    path: path.clone(),
                    value: n.to_string(),
                });
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write(item, out, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's map may keep insertion order (its `preserve_order` feature is
            // workspace-wide once any crate enables it), so sort here rather than trust it.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(key);
                write(item, out, path)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(v: Value) -> String {
        String::from_utf8(encode(&v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": [true, false, null], "": {"z": -3, "y": "x"}});
        assert_eq!(enc(v), r#"{"":{"y":"x","z":-3},"a":[true,false,null],"b":1}"#);
    }

    #[test]
    fn sorts_by_code_point_not_utf16() {
        // U+FF21 (3 UTF-8 bytes) sorts before U+1F600 (4 bytes) by code point; UTF-16 order
        // would put the surrogate pair of U+1F600 (0xD83D) first.
        let v = json!({"\u{1F600}": 1, "\u{FF21}": 2, "Z": 3, "a": 4, "é": 5});
        assert_eq!(enc(v), "{\"Z\":3,\"a\":4,\"é\":5,\"Ａ\":2,\"😀\":1}");
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        let v = json!("a\"b\\c/é\u{7f}");
        assert_eq!(enc(v), "\"a\\\"b\\\\c/é\u{7f}\"");
        // Control characters are written raw, as securesystemslib does.
        let v = json!("tab\there\nnul\u{0}");
        assert_eq!(encode(&v).unwrap(), b"\"tab\there\nnul\0\"".to_vec());
    }

    #[test]
    fn integers_at_the_edges() {
        assert_eq!(
            enc(json!([0, -1, i64::MIN, u64::MAX])),
            format!("[0,-1,{},{}]", i64::MIN, u64::MAX)
        );
    }

    #[test]
    fn refuses_floats_anywhere() {
        let v = json!({"signed": {"meta": [{"version": 1.5}]}});
        assert_eq!(
            encode(&v),
            Err(CanonicalError::NotAnInteger {
                path: "$.signed.meta[0].version".into(),
                value: "1.5".into()
            })
        );
        // 1.0 is a float in JSON's eyes, and so is an integer too big for 64 bits.
        let v: Value = serde_json::from_str("[1.0]").unwrap();
        assert!(encode(&v).is_err());
        let v: Value = serde_json::from_str("[18446744073709551616]").unwrap();
        assert!(encode(&v).is_err());
    }

    #[test]
    fn nested_structures() {
        let v = json!({"x": [[], {}, [{"b": [1, {"d": null, "c": "é"}]}]]});
        assert_eq!(enc(v), r#"{"x":[[],{},[{"b":[1,{"c":"é","d":null}]}]]}"#);
    }
}
