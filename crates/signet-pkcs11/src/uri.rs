//! PKCS#11 URIs (RFC 7512): which module, which token, which object, and how to log in.
//!
//! `pkcs11:token=signet;object=ca;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin`
//!
//! Path attributes (RFC 7512 §2.3) are separated by `;`, query attributes by `&`; values are
//! percent-decoded (§2.3: `id` is raw bytes, the others UTF-8). An attribute this parser does
//! not know, or one given twice, is an error rather than ignored: a typo in `objct=` must not
//! silently select another key. The PIN (`pin-value`) is kept out of [`Pkcs11Uri`]'s `Display`
//! and `Debug`, so a URI can be named in any message or log.

use std::fmt;

use thiserror::Error;
use zeroize::Zeroizing;

/// Longest URI accepted: a URI is configuration, never bulk data.
pub const MAX_URI_LEN: usize = 4096;

/// Why a PKCS#11 URI was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant's message says what it is
pub enum UriError {
    #[error("a PKCS#11 URI starts with \"pkcs11:\"")]
    Scheme,
    #[error("the PKCS#11 URI is {0} bytes long; at most {MAX_URI_LEN} are accepted")]
    TooLong(usize),
    #[error("PKCS#11 URI attribute {0:?} has no \"=\"")]
    NoValue(String),
    #[error("PKCS#11 URI attribute {0:?} is not one RFC 7512 defines (or signet supports)")]
    Unknown(String),
    #[error("PKCS#11 URI attribute {0:?} belongs in the {1} part")]
    WrongPart(String, &'static str),
    #[error("PKCS#11 URI attribute {0:?} is given twice")]
    Duplicate(String),
    #[error("PKCS#11 URI has an empty attribute (two separators in a row, or a trailing one)")]
    Empty,
    #[error("PKCS#11 URI attribute {attribute:?}: {reason}")]
    BadValue { attribute: String, reason: String },
    #[error("PKCS#11 URI gives both pin-value and pin-source; give one")]
    TwoPins,
}

/// The object class a URI selects (RFC 7512 `type`): `public`, `private`, `cert`,
/// `secret-key`, `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ObjectType {
    Public,
    Private,
    Cert,
    SecretKey,
    Data,
}

impl ObjectType {
    fn parse(value: &str) -> Option<ObjectType> {
        Some(match value {
            "public" => ObjectType::Public,
            "private" => ObjectType::Private,
            "cert" => ObjectType::Cert,
            "secret-key" => ObjectType::SecretKey,
            "data" => ObjectType::Data,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            ObjectType::Public => "public",
            ObjectType::Private => "private",
            ObjectType::Cert => "cert",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        }
    }
}

/// A parsed PKCS#11 URI. Absent attributes match anything (RFC 7512 §3.3). Each field is the
/// RFC 7512 attribute of the same name (`object_type` is `type`), percent-decoded.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub struct Pkcs11Uri {
    pub token: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub library_manufacturer: Option<String>,
    pub library_description: Option<String>,
    pub library_version: Option<String>,
    pub object: Option<String>,
    pub object_type: Option<ObjectType>,
    pub id: Option<Vec<u8>>,
    pub slot_description: Option<String>,
    pub slot_manufacturer: Option<String>,
    pub slot_id: Option<u64>,
    pub module_name: Option<String>,
    pub module_path: Option<String>,
    pub pin_source: Option<String>,
    pin_value: Option<Zeroizing<String>>,
}

/// Where an attribute goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Path,
    Query,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Path => "path (before \"?\", separated by \";\")",
            Part::Query => "query (after \"?\", separated by \"&\")",
        }
    }
}

/// The attributes signet knows, with the part each belongs in.
const ATTRIBUTES: &[(&str, Part)] = &[
    ("token", Part::Path),
    ("manufacturer", Part::Path),
    ("serial", Part::Path),
    ("model", Part::Path),
    ("library-manufacturer", Part::Path),
    ("library-description", Part::Path),
    ("library-version", Part::Path),
    ("object", Part::Path),
    ("type", Part::Path),
    ("id", Part::Path),
    ("slot-description", Part::Path),
    ("slot-manufacturer", Part::Path),
    ("slot-id", Part::Path),
    ("module-name", Part::Query),
    ("module-path", Part::Query),
    ("pin-source", Part::Query),
    ("pin-value", Part::Query),
];

impl Pkcs11Uri {
    /// Parses `text` (RFC 7512 §2.3), refusing unknown and repeated attributes.
    pub fn parse(text: &str) -> Result<Pkcs11Uri, UriError> {
        if text.len() > MAX_URI_LEN {
            return Err(UriError::TooLong(text.len()));
        }
        let rest = match text.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("pkcs11:") => &text[7..],
            _ => return Err(UriError::Scheme),
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri::default();
        let mut seen: Vec<&str> = Vec::new();
        for (part, text, separator) in [(Part::Path, Some(path), ';'), (Part::Query, query, '&')] {
            let Some(text) = text else { continue };
            // "pkcs11:" alone, or "pkcs11:?module-path=…": an empty part is allowed.
            if text.is_empty() {
                continue;
            }
            for attribute in text.split(separator) {
                if attribute.is_empty() {
                    return Err(UriError::Empty);
                }
                let (name, raw) = attribute
                    .split_once('=')
                    .ok_or_else(|| UriError::NoValue(attribute.to_string()))?;
                let Some(&(known, expected)) = ATTRIBUTES.iter().find(|(n, _)| *n == name) else {
                    return Err(UriError::Unknown(name.to_string()));
                };
                if expected != part {
                    return Err(UriError::WrongPart(name.to_string(), expected.name()));
                }
                if seen.contains(&known) {
                    return Err(UriError::Duplicate(name.to_string()));
                }
                seen.push(known);
                let bytes = percent_decode(known, raw, part)?;
                uri.set(known, bytes)?;
            }
        }
        if uri.pin_value.is_some() && uri.pin_source.is_some() {
            return Err(UriError::TwoPins);
        }
        Ok(uri)
    }

    fn set(&mut self, name: &'static str, bytes: Vec<u8>) -> Result<(), UriError> {
        let bad = |reason: &str| UriError::BadValue {
            attribute: name.to_string(),
            reason: reason.to_string(),
        };
        if name == "id" {
            self.id = Some(bytes);
            return Ok(());
        }
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 after percent-decoding"))?;
        let slot = match name {
            "token" => &mut self.token,
            "manufacturer" => &mut self.manufacturer,
            "serial" => &mut self.serial,
            "model" => &mut self.model,
            "library-manufacturer" => &mut self.library_manufacturer,
            "library-description" => &mut self.library_description,
            "library-version" => {
                let ok = match text.split_once('.') {
                    Some((major, minor)) => is_decimal(major) && is_decimal(minor),
                    None => is_decimal(&text),
                };
                if !ok {
                    return Err(bad("expected M or M.N (decimal)"));
                }
                &mut self.library_version
            }
            "object" => &mut self.object,
            "type" => {
                self.object_type = Some(
                    ObjectType::parse(&text)
                        .ok_or_else(|| bad("expected public, private, cert, secret-key or data"))?,
                );
                return Ok(());
            }
            "slot-description" => &mut self.slot_description,
            "slot-manufacturer" => &mut self.slot_manufacturer,
            "slot-id" => {
                if !is_decimal(&text) {
                    return Err(bad("expected a decimal number"));
                }
                self.slot_id = Some(text.parse().map_err(|_| bad("number too large"))?);
                return Ok(());
            }
            "module-name" => &mut self.module_name,
            "module-path" => &mut self.module_path,
            "pin-source" => &mut self.pin_source,
            "pin-value" => {
                self.pin_value = Some(Zeroizing::new(text));
                return Ok(());
            }
            _ => return Err(UriError::Unknown(name.to_string())),
        };
        *slot = Some(text);
        Ok(())
    }

    /// The PIN given inline (`pin-value`), if any. Never log it.
    pub fn pin_value(&self) -> Option<&str> {
        self.pin_value.as_deref().map(String::as_str)
    }

    /// Sets or clears the inline PIN.
    pub fn set_pin_value(&mut self, pin: Option<String>) {
        self.pin_value = pin.map(Zeroizing::new);
    }

    /// Whether the URI carries a PIN inline (shown as `pin-value=***` when displayed).
    pub fn has_pin_value(&self) -> bool {
        self.pin_value.is_some()
    }
}

fn is_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Characters allowed unencoded in a value (RFC 7512 §2.3): unreserved characters and
/// `pk11-res-avail`, plus `&` in the path and `/ ? |` in the query (so module paths are plain).
fn allowed_raw(b: u8, part: Part) -> bool {
    b.is_ascii_alphanumeric()
        || b"-._~:[]@!$'()*+,=".contains(&b)
        || match part {
            Part::Path => b == b'&',
            Part::Query => b"/?|".contains(&b),
        }
}

fn percent_decode(name: &str, raw: &str, part: Part) -> Result<Vec<u8>, UriError> {
    let bad = |reason: String| UriError::BadValue {
        attribute: name.to_string(),
        reason,
    };
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or_else(|| bad("\"%\" must be followed by two hex digits".into()))?;
            let value = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .filter(|_| hex.iter().all(u8::is_ascii_hexdigit))
                .ok_or_else(|| bad("\"%\" must be followed by two hex digits".into()))?;
            out.push(value);
            i += 3;
        } else if allowed_raw(b, part) {
            out.push(b);
            i += 1;
        } else {
            return Err(bad(format!(
                "character {:?} must be percent-encoded",
                char::from(b).escape_default().to_string()
            )));
        }
    }
    Ok(out)
}

fn percent_encode(bytes: &[u8], part: Part, out: &mut String) {
    for &b in bytes {
        if allowed_raw(b, part) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The URI in canonical form, with `pin-value` shown as `***`: safe to log.
impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |v: &Option<String>| v.as_ref().map(|s| s.as_bytes().to_vec());
        let path: [(&str, Option<Vec<u8>>); 13] = [
            ("token", text(&self.token)),
            ("manufacturer", text(&self.manufacturer)),
            ("serial", text(&self.serial)),
            ("model", text(&self.model)),
            ("library-manufacturer", text(&self.library_manufacturer)),
            ("library-description", text(&self.library_description)),
            ("library-version", text(&self.library_version)),
            ("object", text(&self.object)),
            ("type", self.object_type.map(|t| t.as_str().as_bytes().to_vec())),
            ("id", self.id.clone()),
            ("slot-description", text(&self.slot_description)),
            ("slot-manufacturer", text(&self.slot_manufacturer)),
            ("slot-id", self.slot_id.map(|n| n.to_string().into_bytes())),
        ];
        let query: [(&str, Option<Vec<u8>>); 4] = [
            ("module-name", text(&self.module_name)),
            ("module-path", text(&self.module_path)),
            ("pin-source", text(&self.pin_source)),
            ("pin-value", self.pin_value.as_ref().map(|_| b"***".to_vec())),
        ];
        let mut out = String::from("pkcs11:");
        for (part, attributes, separator) in [(Part::Path, &path[..], ';'), (Part::Query, &query[..], '&')] {
            let mut first = true;
            for (name, value) in attributes {
                let Some(value) = value else { continue };
                if first && part == Part::Query {
                    out.push('?');
                } else if !first {
                    out.push(separator);
                }
                first = false;
                out.push_str(name);
                out.push('=');
                percent_encode(value, part, &mut out);
            }
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pkcs11Uri({self})")
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pkcs11Uri::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7512_examples_parse() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(uri.manufacturer.as_deref(), Some("Snake Oil, Inc."));
        assert_eq!(uri.object_type, Some(ObjectType::Cert));
        assert_eq!(
            uri.id.as_deref(),
            Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
        );
        assert_eq!(uri.serial.as_deref(), Some(""));
        assert_eq!(uri.pin_source.as_deref(), Some("file:/etc/token_pin"));
        assert!(Pkcs11Uri::parse("pkcs11:").unwrap() == Pkcs11Uri::default());
        let uri = Pkcs11Uri::parse("pkcs11:slot-description=Sun%20Metaslot;slot-id=7").unwrap();
        assert_eq!(uri.slot_id, Some(7));
        let uri = Pkcs11Uri::parse("PKCS11:library-version=2.40?module-name=softhsm2").unwrap();
        assert_eq!(uri.library_version.as_deref(), Some("2.40"));
        assert_eq!(uri.module_name.as_deref(), Some("softhsm2"));
    }

    #[test]
    fn the_pin_is_never_displayed() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=signet;object=ca?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=s3cr%65t",
        )
        .unwrap();
        assert_eq!(uri.pin_value(), Some("s3cret"));
        let shown = format!("{uri} {uri:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(
            uri.to_string(),
            "pkcs11:token=signet;object=ca?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=***"
        );
    }

    #[test]
    fn bad_uris_are_refused_with_the_reason() {
        let err = |s: &str| Pkcs11Uri::parse(s).unwrap_err();
        assert_eq!(err("pkcs12:token=a"), UriError::Scheme);
        assert_eq!(err("pkcs11:objct=ca"), UriError::Unknown("objct".into()));
        assert_eq!(
            err("pkcs11:object=a;object=b"),
            UriError::Duplicate("object".into())
        );
        assert!(matches!(err("pkcs11:module-path=/x"), UriError::WrongPart(..)));
        assert!(matches!(err("pkcs11:?token=x"), UriError::WrongPart(..)));
        assert_eq!(err("pkcs11:token=a;;object=b"), UriError::Empty);
        assert_eq!(err("pkcs11:token"), UriError::NoValue("token".into()));
        assert!(matches!(err("pkcs11:id=%0"), UriError::BadValue { .. }));
        assert!(matches!(err("pkcs11:id=%zz"), UriError::BadValue { .. }));
        assert!(matches!(err("pkcs11:id=%+1"), UriError::BadValue { .. }));
        assert!(matches!(err("pkcs11:object=a b"), UriError::BadValue { .. }));
        assert!(matches!(err("pkcs11:object=%FF"), UriError::BadValue { .. }));
        assert!(matches!(err("pkcs11:slot-id=-1"), UriError::BadValue { .. }));
        assert!(matches!(err("pkcs11:type=key"), UriError::BadValue { .. }));
        assert_eq!(err("pkcs11:?pin-value=1&pin-source=file:/p"), UriError::TwoPins);
        assert!(matches!(
            err(&format!("pkcs11:object={}", "a".repeat(MAX_URI_LEN))),
            UriError::TooLong(_)
        ));
    }

    proptest::proptest! {
        /// Display gives a URI that parses back to the same attributes (the PIN aside).
        #[test]
        fn display_round_trips(
            object in proptest::option::of("\\PC{0,12}"),
            token in proptest::option::of("[ -~]{0,12}"),
            id in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..8)),
            slot in proptest::option::of(proptest::num::u64::ANY),
            module in proptest::option::of("[ -~]{0,20}"),
        ) {
            let uri = Pkcs11Uri { object, token, id, slot_id: slot, module_path: module, ..Default::default() };
            let back = Pkcs11Uri::parse(&uri.to_string()).unwrap();
            proptest::prop_assert_eq!(back, uri);
        }
    }
}
