//! Why a token, a key set or an issuer configuration was refused. One variant per cause; each
//! message names the check, the value seen and the value expected.

use thiserror::Error;

/// Why an identity token was refused. [`TokenError::http_status`] gives the status Fulcio
/// answers with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TokenError {
    // ---- 400: not a token at all -----------------------------------------------------------
    #[error("identity token is {len} bytes, the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("identity token is not a JWS compact serialization: {reason}")]
    Malformed { reason: String },
    #[error("identity token's {part} is not valid base64url: {reason}")]
    BadBase64 { part: &'static str, reason: String },
    #[error("identity token's JOSE header is not valid: {reason}")]
    MalformedHeader { reason: String },
    #[error("identity token's claims are not a JSON object: {reason}")]
    MalformedClaims { reason: String },

    // ---- 401: a token, but not one we accept -----------------------------------------------
    #[error("token alg {alg:?} is not accepted (RS256, RS384, RS512, ES256, ES384, EdDSA are)")]
    UnsupportedAlgorithm { alg: String },
    #[error("token header marks {crit:?} critical; no JWS extensions are supported")]
    CriticalHeader { crit: String },
    #[error("token header typ {typ:?} is not a JWT")]
    UnexpectedType { typ: String },
    #[error("issuer {issuer:?} is not configured")]
    UnknownIssuer { issuer: String },
    #[error("issuer {issuer} publishes no key with kid {kid:?} that fits alg {alg}")]
    UnknownKey {
        issuer: String,
        kid: Option<String>,
        alg: &'static str,
    },
    #[error("key {kid:?} is a {key_type} key, but the token's alg is {alg} (needs {expected})")]
    KeyAlgorithmMismatch {
        kid: Option<String>,
        alg: &'static str,
        key_type: &'static str,
        expected: &'static str,
    },
    #[error("key {kid:?} is declared for alg {declared}, but the token's alg is {alg}")]
    KeyDeclaredForOtherAlgorithm {
        kid: Option<String>,
        declared: String,
        alg: &'static str,
    },
    #[error("{alg} signature is {got} bytes; JOSE's r||s form is {expected}")]
    SignatureLength {
        alg: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("token signature does not verify with key {kid:?} of issuer {issuer}")]
    BadSignature { issuer: String, kid: Option<String> },
    #[error("claim {claim} is missing or empty")]
    MissingClaim { claim: String },
    #[error("claim {claim} is {got}, expected {expected}")]
    InvalidClaim {
        claim: String,
        expected: &'static str,
        got: String,
    },
    #[error("aud {audience:?} does not contain client id {client_id:?}")]
    WrongAudience {
        audience: Vec<String>,
        client_id: String,
    },
    #[error("token expired: exp {exp} is before now {now} less the {skew} s allowed skew")]
    Expired { exp: i64, now: i64, skew: i64 },
    #[error("token not yet valid: nbf {nbf} is after now {now} plus the {skew} s allowed skew")]
    NotYetValid { nbf: i64, now: i64, skew: i64 },
    #[error("token issued in the future: iat {iat} is after now {now} plus the {skew} s allowed skew")]
    IssuedInFuture { iat: i64, now: i64, skew: i64 },
    #[error("email_verified is false for {email:?}")]
    EmailNotVerified { email: String },
    #[error("email claim {email:?} is not an email address")]
    InvalidEmail { email: String },
    #[error("subject {subject:?} is not accepted for issuer type {issuer_type}: {reason}")]
    InvalidSubject {
        subject: String,
        issuer_type: &'static str,
        reason: String,
    },
    #[error("SPIFFE ID {subject:?} is in trust domain {got:?}, the issuer is for {expected:?}")]
    SpiffeTrustDomainMismatch {
        subject: String,
        got: String,
        expected: String,
    },
    #[error("subject URI {subject:?} does not match the issuer's subject domain {expected:?}")]
    SubjectDomainMismatch { subject: String, expected: String },

    // ---- 502/503: the issuer's keys could not be had ---------------------------------------
    #[error("keys of issuer {issuer} cannot be fetched: {source}")]
    KeysUnavailable {
        issuer: String,
        #[source]
        source: KeySourceError,
    },
}

impl TokenError {
    /// The HTTP status Fulcio answers with for this error: 400 for input that is not a token,
    /// 401 for a token that is refused, 502 when the issuer answered but not with usable keys,
    /// 503 when it could not be reached.
    pub fn http_status(&self) -> u16 {
        match self {
            TokenError::TooLarge { .. }
            | TokenError::Malformed { .. }
            | TokenError::BadBase64 { .. }
            | TokenError::MalformedHeader { .. }
            | TokenError::MalformedClaims { .. } => 400,
            TokenError::KeysUnavailable { source, .. } => source.http_status(),
            _ => 401,
        }
    }
}

/// Why an issuer's keys could not be fetched.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySourceError {
    #[error("{url} is not https (plain http is allowed only for loopback hosts)")]
    InsecureUrl { url: String },
    #[error("{url} is not a valid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("request to {url} timed out after {millis} ms")]
    Timeout { url: String, millis: u128 },
    #[error("request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} sent more than {max} bytes")]
    BodyTooLarge { url: String, max: usize },
    #[error("{url} did not send a valid {document}: {reason}")]
    InvalidDocument {
        url: String,
        document: &'static str,
        reason: String,
    },
    #[error("discovery document at {url} names issuer {got:?}, expected {expected:?}")]
    IssuerMismatch {
        url: String,
        got: String,
        expected: String,
    },
    #[error("the last fetch failed less than {secs} s ago; not retrying yet")]
    RecentlyFailed { secs: u64 },
    #[error("no keys are known for issuer {issuer}")]
    NoKeysForIssuer { issuer: String },
}

impl KeySourceError {
    /// 503 when the issuer could not be reached (or is being left alone after a failure), 502
    /// when it answered with something unusable.
    pub fn http_status(&self) -> u16 {
        match self {
            KeySourceError::Timeout { .. }
            | KeySourceError::Transport { .. }
            | KeySourceError::RecentlyFailed { .. }
            | KeySourceError::NoKeysForIssuer { .. } => 503,
            _ => 502,
        }
    }
}

/// Why an issuer configuration was refused at load time.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("issuer configuration is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("issuer {key:?}: IssuerURL {url:?} differs from its key")]
    KeyMismatch { key: String, url: String },
    #[error("issuer {issuer:?}: {reason}")]
    InvalidIssuerUrl { issuer: String, reason: String },
    #[error("issuer {issuer:?}: type {issuer_type:?} is not supported (email, github-workflow, gitlab-pipeline, spiffe, kubernetes, uri, username are)")]
    UnsupportedType { issuer: String, issuer_type: String },
    #[error("issuer {issuer:?}: {field} is required for type {issuer_type}")]
    MissingField {
        issuer: String,
        field: &'static str,
        issuer_type: &'static str,
    },
    #[error("issuer {issuer:?}: {field} {value:?} is not valid: {reason}")]
    InvalidField {
        issuer: String,
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("issuer {issuer:?}: {field} is not supported by signet")]
    UnsupportedField { issuer: String, field: &'static str },
    #[error("issuer {issuer:?} is configured twice")]
    Duplicate { issuer: String },
}
