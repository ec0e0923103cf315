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

/// A predicate's bytes as the statement carries them: JSON, or for `--type spdx` (SPDX
/// tag-value, which is text) a JSON string, as cosign embeds it.
pub fn predicate_value(predicate: &[u8], type_name: &str) -> anyhow::Result<Value> {
    match serde_json::from_slice(predicate) {
        Ok(v) => Ok(v),
        Err(_) if type_name == "spdx" => Ok(Value::String(
            String::from_utf8(predicate.to_vec()).context("the SPDX predicate is not UTF-8 text")?,
        )),
        Err(e) => bail!("the predicate is not JSON: {e}"),
    }
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
    fn statement_names_the_artifact() {
        let s = statement("a.txt", &[0; 32], "custom", br#"{"k":1}"#).unwrap();
        assert_eq!(s.subject[0].name, "a.txt");
        assert_eq!(s.subject[0].digest["sha256"], "0".repeat(64));
        assert_eq!(s.predicate_type, "https://cosign.sigstore.dev/attestation/v1");
    }
}
