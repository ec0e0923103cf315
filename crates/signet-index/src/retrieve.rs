//! Rekor v1's `POST /api/v1/index/retrieve` (rekor `openapi.yaml`, `searchIndex`; handler
//! `pkg/api/index.go`) over the Rekor v1 log's index: a `SearchIndex` query in, a JSON array
//! of entry UUIDs out, each in Rekor's sharded form (16 hex digits of the tree ID, then the
//! 64-digit leaf hash), which `GET /api/v1/log/entries/{uuid}` takes back.
//!
//! ```json
//! {"hash": "sha256:<hex>" | "<hex>", "email": "a@example.com", "subject": "<SAN>",
//!  "publicKey": {"format": "x509", "content": "<base64 of PEM or DER>"}, "operator": "and" | "or"}
//! ```
//!
//! As Rekor: every criterion given is looked up; `or` (the default) answers the union, `and`
//! the intersection; no criterion answers `[]`. A value outside the OpenAPI schema (hash
//! pattern, email format, subject length, operator or key format enum) is a 422, as go-swagger's
//! validation answers; a body that is not JSON or a key that does not parse is a 400; errors
//! are `{"code", "message"}` like the log's other routes. Where signet differs, on purpose:
//!
//! - keys are matched by what they are, not by their PEM bytes: an `x509` certificate by the
//!   SHA-256 of its DER, a public key by the SHA-256 of its DER SubjectPublicKeyInfo, which
//!   also finds the entries of certificates for that key (Rekor hashes the PEM text as
//!   submitted, so a re-wrapped PEM misses);
//! - `pgp`, `minisign`, `ssh` and `tuf` are valid formats, but this log accepts x509 keys only,
//!   so no entry can match one: they add nothing (the key is not parsed);
//! - `publicKey.url` is refused: the server fetches nothing on a client's behalf (Rekor dropped
//!   it too);
//! - emails and subjects match the SAN as logged or in lower case (Rekor lower-cases the
//!   query only, so a mixed-case SAN never matches there);
//! - at most [`MAX_RESULTS`] UUIDs, newest first (Rekor's Redis lists are newest first and
//!   unbounded; its API says results "may be incomplete").
//!
//! Parsing is pure ([`SearchIndex::parse`]) and fuzzed by `fuzz/fuzz_targets/index_retrieve.rs`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use der::{Decode, Encode};
use serde_json::{json, Value};
use signet_log::storage::ReaderPool;
use signet_tlog::leaf_hash;

use crate::indexer::LogFormat;
use crate::query::Field;
use crate::sqlite::{IndexDb, IndexReaders};
use crate::IndexError;

/// Largest request body: a query holds at most a certificate chain in PEM.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most UUIDs one answer holds.
pub const MAX_RESULTS: usize = 1000;
/// Longest subject, as the OpenAPI schema says.
pub const MAX_SUBJECT_LEN: usize = 512;
/// Longest email (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// How the criteria combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    And,
    Or,
}

/// One criterion: entries with a posting for any of these terms (a value and its lower-case
/// form, say).
pub type Criterion = Vec<(Field, String)>;

/// A parsed `SearchIndex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchIndex {
    /// In the order Rekor looks them up: hash, publicKey, email, subject. A criterion that no
    /// entry of this log can match (a pgp key, say) is an empty list.
    pub criteria: Vec<Criterion>,
    pub operator: Operator,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetrieveError {
    /// Not JSON, or not the shape of a `SearchIndex` (400).
    #[error("search query: {0}")]
    Body(String),
    /// A value outside the OpenAPI schema (422, as go-swagger's validation).
    #[error("{0}")]
    Schema(String),
    /// The public key does not parse (400, Rekor's `malformedPublicKey`).
    #[error("invalid public key: {0}")]
    PublicKey(String),
}

impl RetrieveError {
    /// The HTTP status Rekor answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            RetrieveError::Schema(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RetrieveError::Body(_) | RetrieveError::PublicKey(_) => StatusCode::BAD_REQUEST,
        }
    }
}

fn string_field<'a>(
    o: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, RetrieveError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(RetrieveError::Body(format!("{name} is not a string"))),
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

impl SearchIndex {
    /// Parses a request body (at most [`MAX_BODY_BYTES`]).
    pub fn parse(body: &[u8]) -> Result<SearchIndex, RetrieveError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(RetrieveError::Body(format!(
                "body is {} bytes; at most {MAX_BODY_BYTES}",
                body.len()
            )));
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| RetrieveError::Body(e.to_string()))?;
        let o = value
            .as_object()
            .ok_or_else(|| RetrieveError::Body("not a JSON object".into()))?;
        let operator = match string_field(o, "operator")? {
            None | Some("") | Some("or") => Operator::Or,
            Some("and") => Operator::And,
            Some(other) => {
                return Err(RetrieveError::Schema(format!(
                    "operator in body should be one of [and or], not {:?}",
                    shorten(other)
                )))
            }
        };
        let mut criteria = Vec::new();
        if let Some(hash) = string_field(o, "hash")?.filter(|h| !h.is_empty()) {
            criteria.push(vec![(Field::Digest, parse_hash(hash)?)]);
        }
        match o.get("publicKey") {
            None | Some(Value::Null) => {}
            Some(Value::Object(k)) => criteria.push(parse_public_key(k)?),
            Some(_) => return Err(RetrieveError::Body("publicKey is not an object".into())),
        }
        if let Some(email) = string_field(o, "email")?.filter(|e| !e.is_empty()) {
            if !is_email(email) {
                return Err(RetrieveError::Schema(format!(
                    "email in body must be of type email: {:?}",
                    shorten(email)
                )));
            }
            criteria.push(either_case(email));
        }
        if let Some(subject) = string_field(o, "subject")? {
            if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN {
                return Err(RetrieveError::Schema(format!(
                    "subject in body should be 1 to {MAX_SUBJECT_LEN} bytes long, not {}",
                    subject.len()
                )));
            }
            criteria.push(either_case(subject));
        }
        Ok(SearchIndex { criteria, operator })
    }
}

/// An identity as logged or in lower case (Rekor lower-cases the query).
fn either_case(value: &str) -> Criterion {
    let mut c = vec![(Field::Identity, value.to_string())];
    let lower = value.to_lowercase();
    if lower != value {
        c.push((Field::Identity, lower));
    }
    c
}

/// Rekor's hash pattern: `(sha512:)?<128 hex>`, `(sha256:)?<64 hex>` or `(sha1:)?<40 hex>`,
/// stored as `<alg>:<lower hex>` (Rekor's `PrefixSHA`, then lower case).
fn parse_hash(hash: &str) -> Result<String, RetrieveError> {
    let (alg, hex) = match hash.split_once(':') {
        Some((alg, hex)) => (Some(alg), hex),
        None => (None, hash),
    };
    let want = match hex.len() {
        128 => "sha512",
        64 => "sha256",
        40 => "sha1",
        _ => "",
    };
    let ok = !want.is_empty() && alg.is_none_or(|a| a == want) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(RetrieveError::Schema(format!(
            "hash in body should match '^(sha512:)?[0-9a-fA-F]{{128}}$|^(sha256:)?[0-9a-fA-F]{{64}}$|^(sha1:)?[0-9a-fA-F]{{40}}$', not {:?}",
            shorten(hash)
        )));
    }
    Ok(format!("{want}:{}", hex.to_ascii_lowercase()))
}

/// An address as go-openapi's `email` format reads one, bounded: a local part, `@`, a domain
/// with a dot-free or dotted name; no spaces, controls or second `@`.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= MAX_EMAIL_LEN
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

const FORMATS: [&str; 5] = ["pgp", "x509", "minisign", "ssh", "tuf"];

fn parse_public_key(k: &serde_json::Map<String, Value>) -> Result<Criterion, RetrieveError> {
    let format = string_field(k, "format")?
        .ok_or_else(|| RetrieveError::Schema("publicKey.format in body is required".into()))?;
    if !FORMATS.contains(&format) {
        return Err(RetrieveError::Schema(format!(
            "publicKey.format in body should be one of [pgp x509 minisign ssh tuf], not {:?}",
            shorten(format)
        )));
    }
    if k.get("url").is_some_and(|u| !u.is_null()) {
        return Err(RetrieveError::Body(
            "publicKey.url is not supported: give the key as publicKey.content".into(),
        ));
    }
    let content = string_field(k, "content")?.unwrap_or("");
    let content = B64
        .decode(content)
        .map_err(|e| RetrieveError::Body(format!("publicKey.content is not base64: {e}")))?;
    if format != "x509" {
        // This log holds x509 verifiers only (hashedrekord, dsse, intoto with PEM keys).
        return Ok(Vec::new());
    }
    x509_key(&content).map(|c| vec![c])
}

/// An x509 key as Rekor's x509 reader takes it: PEM of a certificate (the first, for a chain)
/// or of a public key, or the same in DER.
fn x509_key(content: &[u8]) -> Result<(Field, String), RetrieveError> {
    if content.is_empty() {
        return Err(RetrieveError::PublicKey("publicKey.content is empty".into()));
    }
    let (tag, der) = if content.trim_ascii_start().starts_with(b"-----BEGIN") {
        let block = pem::parse(content).map_err(|e| RetrieveError::PublicKey(e.to_string()))?;
        (Some(block.tag().to_string()), block.into_contents())
    } else {
        (None, content.to_vec())
    };
    let fingerprint = |d: &[u8]| hex::encode(signet_crypto::sha256(d));
    let as_cert = || {
        x509_cert::Certificate::from_der(&der)
            .map(|_| (Field::CertFingerprint, fingerprint(&der)))
            .map_err(|e| RetrieveError::PublicKey(format!("not a DER certificate: {e}")))
    };
    let as_key = || {
        spki::SubjectPublicKeyInfoOwned::from_der(&der)
            .and_then(|k| k.to_der())
            .map(|d| (Field::KeyFingerprint, fingerprint(&d)))
            .map_err(|e| RetrieveError::PublicKey(format!("not a DER SubjectPublicKeyInfo: {e}")))
    };
    match tag.as_deref() {
        Some("CERTIFICATE") => as_cert(),
        Some("PUBLIC KEY") => as_key(),
        Some(other) => Err(RetrieveError::PublicKey(format!(
            "PEM block {:?}; expected CERTIFICATE or PUBLIC KEY",
            shorten(other)
        ))),
        None => as_cert().or_else(|_| as_key()),
    }
}

/// The log indices a query matches, newest first, at most [`MAX_RESULTS`].
pub fn search(index: &IndexDb, query: &SearchIndex) -> Result<Vec<u64>, IndexError> {
    let mut result: Option<BTreeSet<u64>> = None;
    for criterion in &query.criteria {
        let found: BTreeSet<u64> = index.lookup_any(criterion)?.into_iter().collect();
        result = Some(match (result, query.operator) {
            (None, _) => found,
            (Some(r), Operator::And) => r.intersection(&found).copied().collect(),
            (Some(r), Operator::Or) => r.union(&found).copied().collect(),
        });
    }
    Ok(result
        .unwrap_or_default()
        .into_iter()
        .rev()
        .take(MAX_RESULTS)
        .collect())
}

/// An entry UUID in Rekor's sharded form: the tree ID as 16 hex digits, then the leaf hash.
pub fn entry_uuid(tree_id: i64, leaf: &[u8; 32]) -> String {
    format!("{tree_id:016x}{}", hex::encode(leaf))
}

/// What the route needs: the Rekor v1 log's index and store, and its tree ID.
pub struct RetrieveState {
    index: IndexReaders,
    log: Arc<ReaderPool>,
    tree_id: i64,
}

impl RetrieveState {
    /// Over the v1 log's index readers and store, whose tree ID is `tree_id`.
    pub fn new(index: IndexReaders, log: Arc<ReaderPool>, tree_id: i64) -> Arc<Self> {
        Arc::new(RetrieveState { index, log, tree_id })
    }
}

/// `POST /api/v1/index/retrieve`, relative to the Rekor v1 log's base URL.
pub fn router(state: Arc<RetrieveState>) -> Router {
    Router::new()
        .route("/api/v1/index/retrieve", post(retrieve))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({"code": status.as_u16(), "message": message}))).into_response()
}

fn internal(message: String) -> Response {
    tracing::error!(%message, "index/retrieve failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log".into(),
    )
}

async fn retrieve(State(state): State<Arc<RetrieveState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => {
            let status = if r.status().is_client_error() {
                r.status()
            } else {
                StatusCode::BAD_REQUEST
            };
            return error(status, format!("request body: {}", r.body_text()));
        }
    };
    let query = match SearchIndex::parse(&body) {
        Ok(q) => q,
        Err(e) => return error(e.status(), e.to_string()),
    };
    let indices = {
        let state = state.clone();
        match tokio::task::spawn_blocking(move || state.index.with(|db| search(db, &query))).await {
            Ok(Ok(i)) => i,
            Ok(Err(e)) => return internal(e.to_string()),
            Err(e) => return internal(format!("index task failed: {e}")),
        }
    };
    let tree_id = state.tree_id;
    let uuids = state
        .log
        .run(move |store| {
            indices
                .iter()
                .map(|&i| {
                    let stored = store
                        .read_entries(i, 1)
                        .map_err(|e| e.to_string())?
                        .pop()
                        .ok_or_else(|| format!("entry {i} is missing from the log"))?;
                    let leaf = LogFormat::RekorV1.leaf_data(&stored)?;
                    Ok(entry_uuid(tree_id, &leaf_hash(&leaf)))
                })
                .collect::<Result<Vec<String>, String>>()
        })
        .await;
    match uuids {
        Ok(Ok(uuids)) => Json(uuids).into_response(),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(format!("reader task failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SearchIndex, RetrieveError> {
        SearchIndex::parse(s.as_bytes())
    }

    #[test]
    fn reads_rekor_shaped_queries() {
        let h = "AB".repeat(32);
        let q = parse(&format!(
            r#"{{"hash":"{h}","email":"Alice@Example.com","operator":"and"}}"#
        ))
        .unwrap();
        assert_eq!(q.operator, Operator::And);
        assert_eq!(
            q.criteria,
            vec![
                vec![(Field::Digest, format!("sha256:{}", h.to_lowercase()))],
                vec![
                    (Field::Identity, "Alice@Example.com".into()),
                    (Field::Identity, "alice@example.com".into())
                ],
            ]
        );
        let q = parse(&format!(r#"{{"hash":"sha512:{}"}}"#, "0".repeat(128))).unwrap();
        assert_eq!(q.operator, Operator::Or);
        assert_eq!(q.criteria[0][0].1, format!("sha512:{}", "0".repeat(128)));
        assert_eq!(parse("{}").unwrap().criteria, Vec::<Criterion>::new());
        // A pgp key is valid but matches nothing here.
        let q = parse(r#"{"publicKey":{"format":"pgp","content":"AAAA"}}"#).unwrap();
        assert_eq!(q.criteria, vec![Vec::new()]);
    }

    #[test]
    fn x509_keys_by_der_fingerprint() {
        let key = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
        let spki = key.public_key().spki_der().to_vec();
        let pem_text = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.clone()));
        let want = (Field::KeyFingerprint, hex::encode(signet_crypto::sha256(&spki)));
        for content in [pem_text.as_bytes(), &spki] {
            let q = parse(&format!(
                r#"{{"publicKey":{{"format":"x509","content":"{}"}}}}"#,
                B64.encode(content)
            ))
            .unwrap();
            assert_eq!(q.criteria, vec![vec![want.clone()]]);
        }
    }

    #[test]
    fn refuses_what_rekor_refuses() {
        let schema = |s: &str| matches!(parse(s), Err(RetrieveError::Schema(_)));
        let bad_request = |s: &str| {
            matches!(
                parse(s),
                Err(RetrieveError::Body(_)) | Err(RetrieveError::PublicKey(_))
            )
        };
        assert!(schema(r#"{"hash":"sha256:abc"}"#));
        assert!(schema(&format!(r#"{{"hash":"sha512:{}"}}"#, "0".repeat(64))));
        assert!(schema(&format!(r#"{{"hash":"{}zz"}}"#, "0".repeat(62))));
        assert!(schema(r#"{"hash":"x","operator":"xor"}"#));
        assert!(schema(r#"{"operator":"AND"}"#));
        assert!(schema(r#"{"email":"not an email"}"#));
        assert!(schema(r#"{"email":"<script>@"}"#));
        assert!(schema(&format!(r#"{{"subject":"{}"}}"#, "a".repeat(513))));
        assert!(schema(r#"{"subject":""}"#));
        assert!(schema(r#"{"publicKey":{"format":"gpg","content":"AAAA"}}"#));
        assert!(schema(r#"{"publicKey":{}}"#));
        assert!(bad_request("not json"));
        assert!(bad_request("[]"));
        assert!(bad_request(r#"{"hash":7}"#));
        assert!(bad_request(r#"{"publicKey":{"format":"x509","content":"!!"}}"#));
        assert!(bad_request(r#"{"publicKey":{"format":"x509","content":"AAAA"}}"#));
        assert!(bad_request(r#"{"publicKey":{"format":"x509"}}"#));
        assert!(bad_request(
            r#"{"publicKey":{"format":"x509","url":"http://169.254.169.254/"}}"#
        ));
        assert!(bad_request(&" ".repeat(MAX_BODY_BYTES + 1)));
        // SQL-looking text is a value like any other.
        let q = parse(r#"{"subject":"' OR 1=1; --"}"#).unwrap();
        assert_eq!(q.criteria[0][0].1, "' OR 1=1; --");
    }

    #[test]
    fn uuids_carry_the_tree_id() {
        assert_eq!(
            entry_uuid(0x24296fb24b8ad77a, &[0xab; 32]),
            format!("24296fb24b8ad77a{}", "ab".repeat(32))
        );
        assert_eq!(entry_uuid(1, &[0; 32]).len(), 80);
    }
}
