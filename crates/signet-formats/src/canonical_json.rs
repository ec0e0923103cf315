//! RFC 8785 JSON Canonicalization Scheme (JCS): the form Rekor hashes entry bodies in.
//!
//! Object members sorted by their names' UTF-16 code units (RFC 8785 §3.2.3), no whitespace,
//! strings escaped minimally (§3.2.2.2), numbers as ECMAScript's `Number.prototype.toString`
//! prints the IEEE-754 double (§3.2.2.3).

use serde_json::Value;

/// Canonicalizes a JSON document.
pub fn canonicalize(json: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    let value: Value = serde_json::from_slice(json)?;
    Ok(to_canonical(&value))
}

/// The canonical form of `value`.
pub fn to_canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            // JCS numbers are IEEE-754 doubles, as in JavaScript: integers beyond 2^53 round.
            let f = n.as_f64().unwrap_or(0.0);
            out.extend_from_slice(es_number(f).as_bytes());
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

/// serde_json escapes exactly as RFC 8785 §3.2.2.2 asks: `"` and `\`, the short forms
/// `\b \t \n \f \r`, other controls as lowercase `\u00xx`, and nothing else.
fn write_string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing a string to a Vec cannot fail");
}

/// ECMAScript `Number.prototype.toString` for a finite double (ECMA-262 §7.1.12.1).
fn es_number(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return "0".to_string();
    }
    if f < 0.0 {
        return format!("-{}", es_number(-f));
    }
    // Rust's `{:e}` prints the shortest digits that round-trip, as ECMAScript requires.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp.parse::<i32>().expect("{:e} exponent is an integer") + 1;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n - 1 < 0 { '-' } else { '+' };
        let e = (n - 1).abs();
        if k == 1 {
            format!("{digits}e{sign}{e}")
        } else {
            format!("{}.{}e{sign}{e}", &digits[..1], &digits[1..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_ecmascript() {
        // Values from RFC 8785 Appendix B.
        let cases: [(f64, &str); 12] = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (333_333_333.333_333_3, "333333333.3333333"),
            (9007199254740992.0, "9007199254740992"),
            (295147905179352830000.0, "295147905179352830000"),
            (5e-324, "5e-324"),
        ];
        for (f, want) in cases {
            assert_eq!(es_number(f), want, "{f}");
        }
    }

    #[test]
    fn objects_sort_and_strings_escape() {
        let input =
            br#"{ "b": [1, 2.50, true, null], "a": "\u0001\n\u00e9/\"", "\u20ac": 1, "\ud83d\ude00": 2 }"#;
        let out = canonicalize(input).unwrap();
        // In UTF-16, U+20AC (0x20AC) sorts before U+1F600 (surrogates 0xD83D 0xDE00).
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a\":\"\\u0001\\n\u{e9}/\\\"\",\"b\":[1,2.5,true,null],\"\u{20ac}\":1,\"\u{1f600}\":2}"
        );
    }
}
