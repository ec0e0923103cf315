//! Attestations: an in-toto Statement v1 about the artifact, with a predicate from a file,
//! signed in a DSSE envelope. Predicate types are named as cosign names them.

use anyhow::{bail, Context};
use serde_json::Value;
use signet_formats::intoto::{ResourceDescriptor, Statement};

/// cosign's `--type` short names and the predicate type URIs they stand for.
pub const PREDICATE_TYPES: &[(&str, &str)] = &[
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("link", "https://in-toto.io/Link/v1"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
];

/// The predicate type URI for `--type`: a short name, or a URI given as is.
pub fn predicate_type_uri(name: &str) -> anyhow::Result<String> {
    if let Some((_, uri)) = PREDICATE_TYPES.iter().find(|(n, _)| *n == name) {
        return Ok((*uri).to_string());
    }
    match url::Url::parse(name) {
        Ok(_) => Ok(name.to_string()),
        Err(_) => bail!(
            "--type {name:?} is neither a predicate type URI nor one of {}",
            PREDICATE_TYPES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A predicate's bytes as the statement carries them, as cosign's `GenerateStatement` makes
/// them: for `custom` (cosign's default type, and its URI), cosign's wrapper
/// `{"Data": "<the file, as text>", "Timestamp": "<now, RFC 3339>"}`, which cosign policies read
/// with `json.unmarshal(input.predicate.Data)`; for `spdx` (tag-value) the file as a JSON
/// string; for another URI a JSON object; for the other names the file's JSON.
pub fn predicate_value(predicate: &[u8], type_name: &str) -> anyhow::Result<Value> {
    predicate_value_at(predicate, type_name, crate::unix_now()?)
}

/// [`predicate_value`] at the time `now` (Unix seconds).
pub fn predicate_value_at(predicate: &[u8], type_name: &str, now: i64) -> anyhow::Result<Value> {
    let custom_uri = PREDICATE_TYPES
        .iter()
        .find(|(n, _)| *n == "custom")
        .map(|(_, uri)| *uri);
    if type_name == "custom" || Some(type_name) == custom_uri {
        return Ok(serde_json::json!({
            "Data": String::from_utf8_lossy(predicate),
            "Timestamp": signet_formats::common::Timestamp::from_unix(now).to_string(),
        }));
    }
    if type_name == "spdx" {
        return Ok(Value::String(
            String::from_utf8(predicate.to_vec()).context("the SPDX predicate is not UTF-8 text")?,
        ));
    }
    let value: Value =
        serde_json::from_slice(predicate).map_err(|e| anyhow::anyhow!("the predicate is not JSON: {e}"))?;
    let named = PREDICATE_TYPES.iter().any(|(n, _)| *n == type_name);
    if !named && !value.is_object() {
        bail!("the predicate for type {type_name} must be a JSON object");
    }
    Ok(value)
}

/// Reads a predicate file (bounded) as [`predicate_value`] takes it.
pub fn read_predicate(path: &std::path::Path, type_name: &str) -> anyhow::Result<Value> {
    let bytes = crate::files::read_limited(path, "predicate", crate::files::MAX_BUNDLE_BYTES)?;
    predicate_value(&bytes, type_name).with_context(|| path.display().to_string())
}

/// The statement `attest-blob` signs: the artifact (its file name and SHA-256) as subject.
pub fn statement(
    artifact_name: &str,
    digest: &[u8; 32],
    type_name: &str,
    predicate: &[u8],
) -> anyhow::Result<Statement> {
    let predicate_type = predicate_type_uri(type_name)?;
    let predicate = predicate_value(predicate, type_name)?;
    Ok(Statement::new(
        vec![ResourceDescriptor::sha256(artifact_name, digest)],
        predicate_type,
        Some(predicate),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(
            predicate_type_uri("slsaprovenance1").unwrap(),
            "https://slsa.dev/provenance/v1"
        );
        assert_eq!(
            predicate_type_uri("https://example.com/p/v1").unwrap(),
            "https://example.com/p/v1"
        );
        assert!(predicate_type_uri("nonsense").is_err());
    }

    #[test]
    fn predicates_are_shaped_as_cosign_shapes_them() {
        let now = 1_765_000_000;
        let custom = predicate_value_at(br#"{"k":1}"#, "custom", now).unwrap();
        assert_eq!(
            custom,
            serde_json::json!({"Data": "{\"k\":1}", "Timestamp": "2025-12-06T05:46:40Z"})
        );
        let by_uri =
            predicate_value_at(b"plain text", "https://cosign.sigstore.dev/attestation/v1", now).unwrap();
        assert_eq!(by_uri["Data"], "plain text");
        // SPDX tag-value is text even when it happens to parse as JSON.
        assert_eq!(
            predicate_value_at(b"{}", "spdx", now).unwrap(),
            Value::String("{}".into())
        );
        assert_eq!(
            predicate_value_at(br#"{"a":1}"#, "spdxjson", now).unwrap()["a"],
            1
        );
        assert!(predicate_value_at(b"not json", "cyclonedx", now).is_err());
        // Another URI: a JSON object, as cosign unmarshals it into a map.
        assert!(predicate_value_at(b"[1]", "https://example.com/p/v1", now).is_err());
        assert!(predicate_value_at(br#"{"x":true}"#, "https://example.com/p/v1", now).is_ok());
    }

    #[test]
    fn statement_names_the_artifact() {
        let s = statement("a.txt", &[0; 32], "custom", br#"{"k":1}"#).unwrap();
        assert_eq!(s.subject[0].name, "a.txt");
        assert_eq!(s.subject[0].digest["sha256"], "0".repeat(64));
        assert_eq!(s.predicate_type, "https://cosign.sigstore.dev/attestation/v1");
    }
}
