//! The in-toto attestation Statement (in-toto/attestation `spec/v1/statement.md`): the
//! payload of a DSSE envelope of type `application/vnd.in-toto+json`, binding a predicate to
//! subjects named by their digests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// The DSSE `payloadType` of in-toto statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// `_type` of a v1 Statement.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of a v0.1 Statement, still written by older tools and read for compatibility.
pub const STATEMENT_V0_1: &str = "https://in-toto.io/Statement/v0.1";

/// Why a statement was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatementError {
    #[error("in-toto statement does not parse: {0}")]
    Json(String),
    #[error("in-toto statement _type is {found:?}; expected {STATEMENT_V1} (or {STATEMENT_V0_1})")]
    Type { found: String },
    #[error("in-toto statement has no subjects; expected at least one")]
    NoSubjects,
    #[error("in-toto statement subject {index} has no digest")]
    SubjectWithoutDigest { index: usize },
    #[error("in-toto statement has an empty predicateType")]
    NoPredicateType,
}

/// A Statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<Value>,
}

/// A subject: a name, its digests by algorithm name (`sha256` → lowercase hex), and
/// annotations (in-toto v1 `ResourceDescriptor.annotations`; cosign 3 puts `sign -a key=value`
/// there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ResourceDescriptor {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Value>,
}

impl Statement {
    /// A v1 statement about `subject`.
    pub fn new(
        subject: Vec<ResourceDescriptor>,
        predicate_type: impl Into<String>,
        predicate: Option<Value>,
    ) -> Self {
        Statement {
            type_: STATEMENT_V1.to_string(),
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// Parses and checks a statement: a known `_type`, at least one subject, each with a
    /// digest, and a predicate type.
    pub fn from_json(json: &[u8]) -> Result<Self, StatementError> {
        let s: Statement =
            crate::protojson::from_json_object(json).map_err(|e| StatementError::Json(e.to_string()))?;
        if s.type_ != STATEMENT_V1 && s.type_ != STATEMENT_V0_1 {
            return Err(StatementError::Type { found: s.type_ });
        }
        if s.subject.is_empty() {
            return Err(StatementError::NoSubjects);
        }
        if let Some(index) = s.subject.iter().position(|d| d.digest.is_empty()) {
            return Err(StatementError::SubjectWithoutDigest { index });
        }
        if s.predicate_type.is_empty() {
            return Err(StatementError::NoPredicateType);
        }
        Ok(s)
    }

    /// The statement as compact JSON (the DSSE payload).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("statement serialisation cannot fail")
    }

    /// Whether a subject has digest `hex` (any case) under `algorithm` (e.g. `sha256`).
    pub fn has_subject_digest(&self, algorithm: &str, hex: &str) -> bool {
        self.subject.iter().any(|s| {
            s.digest
                .get(algorithm)
                .is_some_and(|d| d.eq_ignore_ascii_case(hex))
        })
    }
}

impl ResourceDescriptor {
    /// A subject named `name` with one SHA-256 digest.
    pub fn sha256(name: impl Into<String>, digest: &[u8]) -> Self {
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        ResourceDescriptor {
            name: name.into(),
            digest: BTreeMap::from([("sha256".to_string(), hex)]),
            annotations: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses() {
        let s = Statement::new(
            vec![ResourceDescriptor::sha256("a.txt", &[0xab; 32])],
            "https://slsa.dev/provenance/v1",
            Some(serde_json::json!({"x": 1})),
        );
        let parsed = Statement::from_json(&s.to_json()).unwrap();
        assert_eq!(parsed, s);
        assert!(parsed.has_subject_digest("sha256", &"AB".repeat(32)));
        assert!(!parsed.has_subject_digest("sha256", &"ac".repeat(32)));
        assert!(matches!(
            Statement::from_json(br#"{"_type":"x","subject":[],"predicateType":"p"}"#),
            Err(StatementError::Type { .. })
        ));
        assert!(matches!(
            Statement::from_json(
                br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#
            ),
            Err(StatementError::NoSubjects)
        ));
    }
}
