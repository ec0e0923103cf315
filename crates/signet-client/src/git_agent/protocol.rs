//! The agent's wire protocol, pure: bytes in, typed values out, and back. One request per
//! connection, one JSON line each way (the module documentation of [`super`] lists them).
//! No sockets and no clock here, so the parser can be unit-tested and fuzzed
//! (`fuzz/fuzz_targets/git_agent_request.rs`).
//!
//! Key material is kept in [`Zeroizing`] buffers from the JSON string to the decoded PKCS#8
//! bytes, and [`Request`]'s `Debug` never prints it.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

/// The longest request line the agent reads, newline included. A store request (a PKCS#8
/// key and a Fulcio chain of two or three certificates, in base64) is about 3 KiB.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The longest response line a client reads: a status lists up to 64 scopes (the most the
/// agent holds) of up to 1 KiB each.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The longest scope, in bytes.
pub const MAX_SCOPE_BYTES: usize = 1024;

/// The most certificates a stored chain may hold (Fulcio's is leaf, intermediate, root).
pub const MAX_CHAIN_LEN: usize = 8;

/// One request, as a client sends it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// Sign a SHA-256 digest with the credential held for `scope`.
    Sign {
        /// The caller's name for the credential.
        scope: String,
        /// The SHA-256 digest to sign.
        digest: [u8; 32],
    },
    /// Keep a key and its certificate chain for `scope` until the leaf expires.
    Store {
        /// The caller's name for the credential.
        scope: String,
        /// The private key, PKCS#8 DER. Wiped when dropped.
        key: Zeroizing<Vec<u8>>,
        /// DER certificates, leaf first.
        chain: Vec<Vec<u8>>,
    },
    /// List the credentials held (scope, identity, expiry; never keys).
    Status,
    /// Drop every credential.
    Forget,
    /// Stop the agent.
    Stop,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Sign { scope, digest } => f
                .debug_struct("Sign")
                .field("scope", scope)
                .field("digest", &hex::encode(digest))
                .finish(),
            // Never print key material.
            Request::Store { scope, chain, .. } => f
                .debug_struct("Store")
                .field("scope", scope)
                .field("chain_len", &chain.len())
                .finish_non_exhaustive(),
            Request::Status => f.write_str("Status"),
            Request::Forget => f.write_str("Forget"),
            Request::Stop => f.write_str("Stop"),
        }
    }
}

/// Why a request or response line was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The line is longer than the protocol allows.
    #[error("the line is {len} bytes; the limit is {limit}")]
    TooLong {
        /// Bytes seen (at least).
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or not an object with the protocol's fields and types.
    #[error("not a JSON object of the agent protocol: {0}")]
    Json(#[from] serde_json::Error),
    /// `op` names no operation.
    #[error("unknown op {0:?}; expected sign, store, status, forget or stop")]
    UnknownOp(String),
    /// A field the operation needs is missing.
    #[error("{op} needs the field {field:?}")]
    MissingField {
        /// The operation.
        op: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A field the operation does not take is present.
    #[error("{op} does not take the field {field:?}")]
    UnexpectedField {
        /// The operation.
        op: &'static str,
        /// The field present.
        field: &'static str,
    },
    /// The scope is empty.
    #[error("the scope is empty")]
    EmptyScope,
    /// The scope is longer than [`MAX_SCOPE_BYTES`].
    #[error("the scope is {len} bytes; the limit is {MAX_SCOPE_BYTES}")]
    ScopeTooLong {
        /// The scope's length in bytes.
        len: usize,
    },
    /// A field is not standard, padded base64.
    #[error("{field} is not base64: {error}")]
    Base64 {
        /// The field (`chain[i]` for a certificate).
        field: String,
        /// What the decoder found.
        error: base64::DecodeError,
    },
    /// The digest is not 32 bytes.
    #[error("the digest is {0} bytes; a SHA-256 digest is 32")]
    DigestLength(usize),
    /// The chain is empty or longer than [`MAX_CHAIN_LEN`].
    #[error("the chain has {0} certificates; expected 1 to {MAX_CHAIN_LEN}, leaf first")]
    ChainLength(usize),
    /// A response line that is valid JSON but says nothing a client can act on.
    #[error("malformed response: {0}")]
    MalformedResponse(&'static str),
}

/// The request as it is on the wire: every field optional, so that what is missing or extra
/// for an op is reported by name, and unknown fields refused (a typo is not ignored).
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRequest {
    op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<Zeroizing<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chain: Option<Vec<String>>,
}

impl Request {
    /// Parses one request line (the trailing newline is optional).
    pub fn parse(line: &[u8]) -> Result<Request, ProtocolError> {
        let wire: WireRequest = from_json_line(line, MAX_REQUEST_BYTES)?;
        let op = wire.op.as_str();
        match op {
            "sign" => {
                only(&wire, "sign", &["scope", "digest"])?;
                let digest = decode("digest", required(wire.digest.as_deref(), "sign", "digest")?)?;
                let digest = <[u8; 32]>::try_from(digest.as_slice())
                    .map_err(|_| ProtocolError::DigestLength(digest.len()))?;
                Ok(Request::Sign {
                    scope: scope(wire.scope, "sign")?,
                    digest,
                })
            }
            "store" => {
                only(&wire, "store", &["scope", "key", "chain"])?;
                let key = required(wire.key.as_deref().map(String::as_str), "store", "key")?;
                let key = Zeroizing::new(decode("key", key)?);
                let chain = required(wire.chain.as_deref(), "store", "chain")?;
                if chain.is_empty() || chain.len() > MAX_CHAIN_LEN {
                    return Err(ProtocolError::ChainLength(chain.len()));
                }
                let chain = decode_chain(chain)?;
                Ok(Request::Store {
                    scope: scope(wire.scope, "store")?,
                    key,
                    chain,
                })
            }
            "status" => only(&wire, "status", &[]).map(|()| Request::Status),
            "forget" => only(&wire, "forget", &[]).map(|()| Request::Forget),
            "stop" => only(&wire, "stop", &[]).map(|()| Request::Stop),
            other => Err(ProtocolError::UnknownOp(other.chars().take(64).collect())),
        }
    }

    /// The request as one JSON line, newline included. Wiped when dropped, as a store
    /// request carries the key.
    pub fn to_line(&self) -> Zeroizing<Vec<u8>> {
        let wire = match self {
            Request::Sign { scope, digest } => WireRequest {
                op: "sign".into(),
                scope: Some(scope.clone()),
                digest: Some(B64.encode(digest)),
                ..WireRequest::default()
            },
            Request::Store { scope, key, chain } => WireRequest {
                op: "store".into(),
                scope: Some(scope.clone()),
                key: Some(Zeroizing::new(B64.encode(key.as_slice()))),
                chain: Some(chain.iter().map(|c| B64.encode(c)).collect()),
                ..WireRequest::default()
            },
            Request::Status => op_only("status"),
            Request::Forget => op_only("forget"),
            Request::Stop => op_only("stop"),
        };
        json_line(&wire)
    }
}

fn op_only(op: &str) -> WireRequest {
    WireRequest {
        op: op.into(),
        ..WireRequest::default()
    }
}

/// Refuses the fields `op` does not take.
fn only(wire: &WireRequest, op: &'static str, allowed: &[&str]) -> Result<(), ProtocolError> {
    let present = [
        ("scope", wire.scope.is_some()),
        ("digest", wire.digest.is_some()),
        ("key", wire.key.is_some()),
        ("chain", wire.chain.is_some()),
    ];
    match present
        .iter()
        .find(|(name, here)| *here && !allowed.contains(name))
    {
        Some((field, _)) => Err(ProtocolError::UnexpectedField { op, field }),
        None => Ok(()),
    }
}

fn required<T>(value: Option<T>, op: &'static str, field: &'static str) -> Result<T, ProtocolError> {
    value.ok_or(ProtocolError::MissingField { op, field })
}

fn scope(scope: Option<String>, op: &'static str) -> Result<String, ProtocolError> {
    let scope = required(scope, op, "scope")?;
    check_scope(&scope)?;
    Ok(scope)
}

/// A scope is 1 to [`MAX_SCOPE_BYTES`] bytes of any text.
pub(crate) fn check_scope(scope: &str) -> Result<(), ProtocolError> {
    match scope.len() {
        0 => Err(ProtocolError::EmptyScope),
        len if len > MAX_SCOPE_BYTES => Err(ProtocolError::ScopeTooLong { len }),
        _ => Ok(()),
    }
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, ProtocolError> {
    B64.decode(text).map_err(|error| ProtocolError::Base64 {
        field: field.to_owned(),
        error,
    })
}

fn decode_chain(chain: &[String]) -> Result<Vec<Vec<u8>>, ProtocolError> {
    chain
        .iter()
        .enumerate()
        .map(|(i, c)| decode(&format!("chain[{i}]"), c))
        .collect()
}

/// One JSON line of at most `limit` bytes.
fn from_json_line<T: serde::de::DeserializeOwned>(line: &[u8], limit: usize) -> Result<T, ProtocolError> {
    if line.len() > limit {
        return Err(ProtocolError::TooLong {
            len: line.len(),
            limit,
        });
    }
    Ok(serde_json::from_slice(line)?)
}

fn json_line<T: Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    // Serialising these structs (strings, numbers, lists) cannot fail; an empty line, which
    // the other side refuses, would be the answer if it ever did.
    let mut line = Zeroizing::new(serde_json::to_vec(value).unwrap_or_default());
    line.push(b'\n');
    line
}

/// What a credential held by the agent is, as `status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialStatus {
    /// The caller's name for it.
    pub scope: String,
    /// The leaf certificate's subject alternative name (an email, a URI, ...).
    pub identity: String,
    /// The leaf's notAfter, Unix seconds.
    pub not_after: i64,
}

/// Why the agent did not do what was asked, as the `error` field names it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// `no-credential`: nothing unexpired is held for the scope.
    NoCredential,
    /// `bad-request`: the line did not parse.
    BadRequest,
    /// `bad-credential`: a stored key or chain failed validation.
    BadCredential,
    /// `sign-failed`: the key did not sign.
    SignFailed,
    /// A code this version does not know (a newer agent).
    Other(String),
}

impl Refusal {
    /// The wire code.
    pub fn code(&self) -> &str {
        match self {
            Refusal::NoCredential => "no-credential",
            Refusal::BadRequest => "bad-request",
            Refusal::BadCredential => "bad-credential",
            Refusal::SignFailed => "sign-failed",
            Refusal::Other(code) => code,
        }
    }

    fn from_code(code: String) -> Refusal {
        match code.as_str() {
            "no-credential" => Refusal::NoCredential,
            "bad-request" => Refusal::BadRequest,
            "bad-credential" => Refusal::BadCredential,
            "sign-failed" => Refusal::SignFailed,
            _ => Refusal::Other(code),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One response, as the agent sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// `sign`: the DER ECDSA signature and the credential's chain, leaf first.
    Signature {
        /// The signature over the digest.
        signature: Vec<u8>,
        /// DER certificates, leaf first.
        chain: Vec<Vec<u8>>,
    },
    /// `status`: the credentials held.
    Status(Vec<CredentialStatus>),
    /// `store`, `forget`, `stop`: done.
    Done,
    /// Not done: why, and for all but `no-credential` a message that says what failed.
    Refused {
        /// The code.
        error: Refusal,
        /// What failed, for a person.
        message: Option<String>,
    },
}

#[derive(Default, Serialize, Deserialize)]
struct WireResponse {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chain: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credentials: Option<Vec<CredentialStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl Response {
    /// A refusal with a message.
    pub(crate) fn refused(error: Refusal, message: impl std::fmt::Display) -> Response {
        Response::Refused {
            error,
            message: Some(message.to_string()),
        }
    }

    /// Parses one response line. Fields a newer agent may add are ignored.
    pub fn parse(line: &[u8]) -> Result<Response, ProtocolError> {
        let wire: WireResponse = from_json_line(line, MAX_RESPONSE_BYTES)?;
        if !wire.ok {
            let error = wire.error.ok_or(ProtocolError::MalformedResponse(
                "ok is false and error is missing",
            ))?;
            return Ok(Response::Refused {
                error: Refusal::from_code(error),
                message: wire.message,
            });
        }
        match (wire.signature, wire.chain, wire.credentials) {
            (Some(signature), Some(chain), None) => Ok(Response::Signature {
                signature: decode("signature", &signature)?,
                chain: decode_chain(&chain)?,
            }),
            (None, None, Some(credentials)) => Ok(Response::Status(credentials)),
            (None, None, None) => Ok(Response::Done),
            _ => Err(ProtocolError::MalformedResponse(
                "expected signature and chain, credentials, or neither",
            )),
        }
    }

    /// The response as one JSON line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let wire = match self {
            Response::Signature { signature, chain } => WireResponse {
                ok: true,
                signature: Some(B64.encode(signature)),
                chain: Some(chain.iter().map(|c| B64.encode(c)).collect()),
                ..WireResponse::default()
            },
            Response::Status(credentials) => WireResponse {
                ok: true,
                credentials: Some(credentials.clone()),
                ..WireResponse::default()
            },
            Response::Done => WireResponse {
                ok: true,
                ..WireResponse::default()
            },
            Response::Refused { error, message } => WireResponse {
                ok: false,
                error: Some(error.code().to_owned()),
                message: message.clone(),
                ..WireResponse::default()
            },
        };
        json_line(&wire).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Request, ProtocolError> {
        Request::parse(text.as_bytes())
    }

    #[test]
    fn requests_round_trip() {
        let requests = [
            Request::Sign {
                scope: "ca=https://fulcio.example id=me@example.com".into(),
                digest: [7; 32],
            },
            Request::Store {
                scope: "s".into(),
                key: Zeroizing::new(vec![1, 2, 3]),
                chain: vec![vec![4, 5], vec![6]],
            },
            Request::Status,
            Request::Forget,
            Request::Stop,
        ];
        for request in requests {
            let line = request.to_line();
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            assert_eq!(Request::parse(&line).unwrap(), request);
        }
    }

    #[test]
    fn the_brief_s_lines_parse() {
        let digest = B64.encode([0xab; 32]);
        let sign = parse(&format!(r#"{{"op":"sign","scope":"S","digest":"{digest}"}}"#)).unwrap();
        assert_eq!(
            sign,
            Request::Sign {
                scope: "S".into(),
                digest: [0xab; 32]
            }
        );
        assert_eq!(parse(r#"{"op":"status"}"#).unwrap(), Request::Status);
        assert_eq!(parse("{\"op\":\"forget\"}\n").unwrap(), Request::Forget);
        assert_eq!(parse(r#" { "op" : "stop" } "#).unwrap(), Request::Stop);
    }

    #[test]
    fn bad_json_is_refused() {
        for line in [
            "",
            "{",
            "null",
            "[]",
            r#"{"op":1}"#,
            "{\"op\":\"status\"}x",
            "\u{0}",
        ] {
            assert!(matches!(parse(line), Err(ProtocolError::Json(_))), "{line:?}");
        }
        assert!(matches!(
            Request::parse(&[0xff, 0xfe]),
            Err(ProtocolError::Json(_))
        ));
        // Duplicate and unknown fields are errors, not silently resolved.
        assert!(matches!(
            parse(r#"{"op":"status","op":"stop"}"#),
            Err(ProtocolError::Json(_))
        ));
        assert!(matches!(
            parse(r#"{"op":"status","keys":true}"#),
            Err(ProtocolError::Json(_))
        ));
    }

    #[test]
    fn oversize_line_is_refused() {
        let pad = " ".repeat(MAX_REQUEST_BYTES);
        let line = format!(r#"{{"op":"status"}}{pad}"#);
        assert!(matches!(
            parse(&line),
            Err(ProtocolError::TooLong {
                limit: MAX_REQUEST_BYTES,
                ..
            })
        ));
        let scope = "s".repeat(MAX_SCOPE_BYTES + 1);
        let digest = B64.encode([0; 32]);
        assert!(matches!(
            parse(&format!(r#"{{"op":"sign","scope":"{scope}","digest":"{digest}"}}"#)),
            Err(ProtocolError::ScopeTooLong { len }) if len == MAX_SCOPE_BYTES + 1
        ));
        assert!(matches!(
            parse(&format!(r#"{{"op":"sign","scope":"","digest":"{digest}"}}"#)),
            Err(ProtocolError::EmptyScope)
        ));
    }

    #[test]
    fn unknown_op_and_misplaced_fields_are_named() {
        assert!(matches!(parse(r#"{"op":"export"}"#), Err(ProtocolError::UnknownOp(op)) if op == "export"));
        assert!(matches!(
            parse(r#"{"op":"sign","scope":"s"}"#),
            Err(ProtocolError::MissingField {
                op: "sign",
                field: "digest"
            })
        ));
        assert!(matches!(
            parse(r#"{"op":"status","scope":"s"}"#),
            Err(ProtocolError::UnexpectedField {
                op: "status",
                field: "scope"
            })
        ));
        let digest = B64.encode([0; 32]);
        assert!(matches!(
            parse(&format!(
                r#"{{"op":"sign","scope":"s","digest":"{digest}","key":"AA=="}}"#
            )),
            Err(ProtocolError::UnexpectedField {
                op: "sign",
                field: "key"
            })
        ));
        assert!(matches!(
            parse(r#"{"op":"store","scope":"s","key":"AA=="}"#),
            Err(ProtocolError::MissingField {
                op: "store",
                field: "chain"
            })
        ));
    }

    #[test]
    fn bad_base64_and_lengths_are_refused() {
        assert!(matches!(
            parse(r#"{"op":"sign","scope":"s","digest":"not base64!"}"#),
            Err(ProtocolError::Base64 { field, .. }) if field == "digest"
        ));
        let short = B64.encode([0; 31]);
        assert!(matches!(
            parse(&format!(r#"{{"op":"sign","scope":"s","digest":"{short}"}}"#)),
            Err(ProtocolError::DigestLength(31))
        ));
        assert!(matches!(
            parse(r#"{"op":"store","scope":"s","key":"AA==","chain":["AA==","%%"]}"#),
            Err(ProtocolError::Base64 { field, .. }) if field == "chain[1]"
        ));
        assert!(matches!(
            parse(r#"{"op":"store","scope":"s","key":"A","chain":["AA=="]}"#),
            Err(ProtocolError::Base64 { field, .. }) if field == "key"
        ));
        assert!(matches!(
            parse(r#"{"op":"store","scope":"s","key":"AA==","chain":[]}"#),
            Err(ProtocolError::ChainLength(0))
        ));
    }

    #[test]
    fn store_requests_do_not_print_the_key() {
        let request = Request::Store {
            scope: "s".into(),
            key: Zeroizing::new(vec![0x5e; 4]),
            chain: vec![],
        };
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("94") && !shown.contains("5e") && !shown.contains("Xl5"),
            "{shown}"
        );
    }

    #[test]
    fn responses_round_trip() {
        let responses = [
            Response::Signature {
                signature: vec![0x30, 1, 2],
                chain: vec![vec![1], vec![2, 3]],
            },
            Response::Status(vec![CredentialStatus {
                scope: "s".into(),
                identity: "me@example.com".into(),
                not_after: 1_800_000_000,
            }]),
            Response::Status(vec![]),
            Response::Done,
            Response::Refused {
                error: Refusal::NoCredential,
                message: None,
            },
            Response::refused(Refusal::BadRequest, "the scope is empty"),
            Response::refused(Refusal::Other("newer".into()), "x"),
        ];
        for response in responses {
            assert_eq!(Response::parse(&response.to_line()).unwrap(), response);
        }
        assert_eq!(
            Response::Refused {
                error: Refusal::NoCredential,
                message: None
            }
            .to_line(),
            b"{\"ok\":false,\"error\":\"no-credential\"}\n"
        );
        assert_eq!(Response::Done.to_line(), b"{\"ok\":true}\n");
    }

    #[test]
    fn malformed_responses_are_errors() {
        for line in [r#"{"ok":false}"#, r#"{"ok":true,"signature":"AA=="}"#, "{}", "1"] {
            assert!(Response::parse(line.as_bytes()).is_err(), "{line}");
        }
        // A newer agent's extra field is ignored.
        assert_eq!(
            Response::parse(br#"{"ok":true,"version":2}"#).unwrap(),
            Response::Done
        );
    }
}
