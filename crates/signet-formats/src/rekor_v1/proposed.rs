//! Proposed Rekor v1 entries (the body of `POST /api/v1/log/entries`, and of `entries` in
//! `POST /api/v1/log/entries/retrieve`) turned into the body a Rekor v1 log stores: the
//! structure is checked, every signature verified, and the stored form written in RFC 8785
//! canonical JSON.
//!
//! | proposed | stored |
//! |---|---|
//! | hashedrekord 0.0.1 | the same fields (hash, signature, key or certificate) |
//! | dsse 0.0.1 `proposedContent{envelope, verifiers}` | `envelopeHash`, `payloadHash`, `signatures[{signature, verifier}]` sorted by signature |
//! | intoto 0.0.2 `content{envelope, hash}` | the envelope without its payload, `hash`, and the log's own `payloadHash` |
//!
//! The stored body depends only on what the request means (bytes are decoded and re-encoded,
//! hex lower-cased), so the log can deduplicate by its leaf hash. Keys and certificates are
//! stored as Rekor stores them (`CanonicalValue`): the PEM block re-encoded as Go writes it,
//! 64-column base64 and `\n` line ends, whatever line ends the client sent. Clients such as
//! sigstore-python compare the stored body with one they build from their own PEM of the
//! certificate, which is that form.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};
use signet_crypto::{sha256, CryptoError, HashAlgorithm, KeyKind, PublicKey, PublicKeyDetails};

use super::RekorV1Error;
use crate::canonical_json::to_canonical;
use crate::dsse::{self, Envelope};
use crate::protojson::{decode_bytes, encode_bytes};

/// Most envelope signatures (and dsse verifiers) one entry may carry.
pub const MAX_SIGNATURES: usize = 16;

/// A validated proposed entry: its kind, version and the canonical body the log stores (and
/// hashes into its tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedEntry {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub canonical_body: Vec<u8>,
    /// Artifact digests the entry records (hashedrekord `data.hash`; the DSSE payload's
    /// SHA-256), for search.
    pub digests: Vec<(HashAlgorithm, Vec<u8>)>,
    /// The keys that verified its signatures, for search.
    pub verifiers: Vec<Verifier>,
}

/// A key or certificate that verified an entry's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The PEM text as Rekor stores it (see the module docs).
    pub pem: Vec<u8>,
    /// DER of the certificate, when the verifier is one.
    pub certificate_der: Option<Vec<u8>>,
    pub key: PublicKey,
}

/// Parses, validates and canonicalises a proposed entry. Nothing about the log is needed:
/// the result is a pure function of the request.
pub fn entry_from_proposed(body: &[u8]) -> Result<ProposedEntry, RekorV1Error> {
    let raw: RawProposed = crate::protojson::from_json_object(body).map_err(|e| RekorV1Error::Json {
        kind: "a proposed Rekor v1 entry".into(),
        api_version: String::new(),
        detail: e.to_string(),
    })?;
    let json_err = |detail: serde_json::Error| RekorV1Error::Json {
        kind: raw.kind.clone(),
        api_version: raw.api_version.clone(),
        detail: detail.to_string(),
    };
    if !raw.spec.is_object() {
        return Err(json_err(<serde_json::Error as serde::de::Error>::custom(
            "spec must be a JSON object",
        )));
    }
    match (raw.kind.as_str(), raw.api_version.as_str()) {
        ("hashedrekord", "0.0.1") => {
            hashedrekord(crate::strict_value::from_value(&raw.spec).map_err(json_err)?)
        }
        ("dsse", "0.0.1") => dsse_v001(crate::strict_value::from_value(&raw.spec).map_err(json_err)?),
        ("intoto", "0.0.2") => intoto_v002(crate::strict_value::from_value(&raw.spec).map_err(json_err)?),
        _ => Err(RekorV1Error::UnknownKind {
            kind: raw.kind,
            api_version: raw.api_version,
        }),
    }
}

fn hashedrekord(spec: HashedRekordSpec) -> Result<ProposedEntry, RekorV1Error> {
    let digest = spec.data.hash.decode("spec.data.hash")?;
    let signature = base64_field("spec.signature.content", &spec.signature.content)?;
    let pem = base64_field(
        "spec.signature.publicKey.content",
        &spec.signature.public_key.content,
    )?;
    let verifier = parse_verifier("spec.signature.publicKey.content", pem)?;
    // Rekor v1 verifies over the digest: ECDSA and RSA prehashed; Ed25519 only as Ed25519ph.
    let details = match verifier.key.kind() {
        KeyKind::Ed25519 => PublicKeyDetails::PKIX_ED25519_PH,
        _ => verifier.key.default_details(),
    };
    if details.hash_algorithm() != digest.algorithm {
        return Err(RekorV1Error::InvalidValue {
            field: "spec.data.hash.algorithm",
            reason: format!(
                "{} for a {} key, which signs {} digests",
                hash_name(digest.algorithm),
                verifier.key.kind(),
                hash_name(details.hash_algorithm())
            ),
        });
    }
    verifier
        .key
        .verify_digest(details, &digest.digest, &signature)
        .map_err(|e| signature_error("spec.signature.content", e))?;
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": hex_digest(digest.algorithm, &digest.digest)},
            "signature": {
                "content": encode_bytes(&signature),
                "publicKey": {"content": encode_bytes(&verifier.pem)},
            },
        },
    });
    Ok(ProposedEntry {
        kind: "hashedrekord",
        api_version: "0.0.1",
        canonical_body: to_canonical(&body),
        digests: vec![(digest.algorithm, digest.digest)],
        verifiers: vec![verifier],
    })
}

fn dsse_v001(spec: DsseSpec) -> Result<ProposedEntry, RekorV1Error> {
    // The hashes and signatures are the log's to compute; a proposal carrying them is refused.
    if spec.envelope_hash.is_some() || spec.payload_hash.is_some() || spec.signatures.is_some() {
        return Err(RekorV1Error::InvalidValue {
            field: "spec",
            reason: "envelopeHash, payloadHash and signatures are computed by the log; \
                     propose only proposedContent"
                .into(),
        });
    }
    let proposed = spec.proposed_content.ok_or(RekorV1Error::InvalidValue {
        field: "spec.proposedContent",
        reason: "missing".into(),
    })?;
    let envelope =
        Envelope::from_json(proposed.envelope.as_bytes()).map_err(|e| RekorV1Error::InvalidValue {
            field: "spec.proposedContent.envelope",
            reason: format!("not a DSSE envelope: {e}"),
        })?;
    check_signature_count(
        "spec.proposedContent.envelope.signatures",
        envelope.signatures.len(),
    )?;
    if proposed.verifiers.is_empty() || proposed.verifiers.len() > MAX_SIGNATURES {
        return Err(RekorV1Error::InvalidValue {
            field: "spec.proposedContent.verifiers",
            reason: format!(
                "{} verifiers; expected 1 to {MAX_SIGNATURES}",
                proposed.verifiers.len()
            ),
        });
    }
    let verifiers = proposed
        .verifiers
        .iter()
        .enumerate()
        .map(|(i, b64)| {
            let field = format!("spec.proposedContent.verifiers[{i}]");
            parse_verifier(&field, base64_field(&field, b64)?)
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Every signature must verify with one of the verifiers; each distinct signature is stored
    // once, sorted by its base64 text, with the first verifier that accepts it.
    let pae = envelope.pae();
    let mut by_signature: BTreeMap<String, &Verifier> = BTreeMap::new();
    for (i, s) in envelope.signatures.iter().enumerate() {
        let v = verifiers
            .iter()
            .find(|v| v.key.verify_default(&pae, &s.sig).is_ok())
            .ok_or_else(|| RekorV1Error::UnverifiedSignature {
                field: format!("spec.proposedContent.envelope.signatures[{i}]"),
            })?;
        by_signature.entry(encode_bytes(&s.sig)).or_insert(v);
    }
    let signatures: Vec<Value> = by_signature
        .iter()
        .map(|(sig, v)| json!({"signature": sig, "verifier": encode_bytes(&v.pem)}))
        .collect();
    let payload_hash = sha256(&envelope.payload);
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": hex_digest(HashAlgorithm::Sha2_256, &sha256(proposed.envelope.as_bytes())),
            "payloadHash": hex_digest(HashAlgorithm::Sha2_256, &payload_hash),
            "signatures": signatures,
        },
    });
    let used: Vec<Verifier> = verifiers
        .iter()
        .filter(|v| by_signature.values().any(|u| std::ptr::eq(*u, *v)))
        .cloned()
        .collect();
    Ok(ProposedEntry {
        kind: "dsse",
        api_version: "0.0.1",
        canonical_body: to_canonical(&body),
        digests: vec![(HashAlgorithm::Sha2_256, payload_hash.to_vec())],
        verifiers: used,
    })
}

fn intoto_v002(spec: IntotoSpec) -> Result<ProposedEntry, RekorV1Error> {
    const ENV: &str = "spec.content.envelope";
    let content = spec.content;
    // `hash` (of the envelope as the client serialised it) cannot be recomputed; Rekor
    // requires it and stores it as given.
    let hash = content
        .hash
        .ok_or(RekorV1Error::InvalidValue {
            field: "spec.content.hash",
            reason: "missing".into(),
        })?
        .decode("spec.content.hash")?;
    let env = content.envelope;
    if env.payload_type.is_empty() {
        return Err(RekorV1Error::InvalidValue {
            field: "spec.content.envelope.payloadType",
            reason: "missing".into(),
        });
    }
    // intoto 0.0.2 base64-encodes the payload and signatures twice.
    let payload = match &env.payload {
        Some(p) => twice_base64("spec.content.envelope.payload", p)?,
        None => {
            return Err(RekorV1Error::InvalidValue {
                field: "spec.content.envelope.payload",
                reason: "missing; the log must see the payload to verify the signatures".into(),
            })
        }
    };
    check_signature_count("spec.content.envelope.signatures", env.signatures.len())?;
    let pae = dsse::pae(&env.payload_type, &payload);
    let mut signatures = Vec::with_capacity(env.signatures.len());
    let mut verifiers = Vec::with_capacity(env.signatures.len());
    for (i, s) in env.signatures.iter().enumerate() {
        let at = |f: &str| format!("{ENV}.signatures[{i}].{f}");
        let sig = twice_base64(&at("sig"), &s.sig)?;
        let verifier = parse_verifier(&at("publicKey"), base64_field(&at("publicKey"), &s.public_key)?)?;
        verifier
            .key
            .verify_default(&pae, &sig)
            .map_err(|e| signature_error(&format!("{ENV}.signatures[{i}]"), e))?;
        let mut stored = json!({
            "publicKey": encode_bytes(&verifier.pem),
            "sig": encode_bytes(encode_bytes(&sig).as_bytes()),
        });
        // An empty key ID is left out, as Rekor does (sigstore-js relies on it).
        if let Some(keyid) = s.keyid.as_deref().filter(|k| !k.is_empty()) {
            stored["keyid"] = Value::String(keyid.to_string());
        }
        signatures.push(stored);
        verifiers.push(verifier);
    }
    let payload_hash = sha256(&payload);
    let body = json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {
            "content": {
                "envelope": {"payloadType": env.payload_type, "signatures": signatures},
                "hash": hex_digest(hash.algorithm, &hash.digest),
                "payloadHash": hex_digest(HashAlgorithm::Sha2_256, &payload_hash),
            },
        },
    });
    Ok(ProposedEntry {
        kind: "intoto",
        api_version: "0.0.2",
        canonical_body: to_canonical(&body),
        digests: vec![(HashAlgorithm::Sha2_256, payload_hash.to_vec())],
        verifiers,
    })
}

fn check_signature_count(field: &str, n: usize) -> Result<(), RekorV1Error> {
    if n == 0 || n > MAX_SIGNATURES {
        return Err(RekorV1Error::InvalidField {
            field: field.into(),
            reason: format!("{n} signatures; expected 1 to {MAX_SIGNATURES}"),
        });
    }
    Ok(())
}

fn base64_field(field: &str, text: &str) -> Result<Vec<u8>, RekorV1Error> {
    let bytes = decode_bytes(text).map_err(|e| RekorV1Error::InvalidField {
        field: field.into(),
        reason: format!("not base64: {e}"),
    })?;
    if bytes.is_empty() {
        return Err(RekorV1Error::InvalidField {
            field: field.into(),
            reason: "empty".into(),
        });
    }
    Ok(bytes)
}

/// A field holding base64 of base64 text (intoto 0.0.2's payload and signatures).
fn twice_base64(field: &str, text: &str) -> Result<Vec<u8>, RekorV1Error> {
    let once = base64_field(field, text)?;
    let inner = std::str::from_utf8(&once).map_err(|_| RekorV1Error::InvalidField {
        field: field.into(),
        reason: "must be base64 of base64 text (intoto 0.0.2 encodes twice)".into(),
    })?;
    base64_field(field, inner)
}

/// A verifier as Rekor v1 carries it: PEM of an X.509 certificate or a public key.
fn parse_verifier(field: &str, pem_bytes: Vec<u8>) -> Result<Verifier, RekorV1Error> {
    let bad = |reason: String| RekorV1Error::InvalidField {
        field: field.into(),
        reason,
    };
    let text = std::str::from_utf8(&pem_bytes).map_err(|_| bad("not PEM text".into()))?;
    let block = pem::parse(text).map_err(|e| bad(format!("not PEM: {e}")))?;
    let (key, certificate_der) = match block.tag() {
        "CERTIFICATE" => (
            PublicKey::from_certificate_der(block.contents()).map_err(|e| bad(e.to_string()))?,
            Some(block.contents().to_vec()),
        ),
        "PUBLIC KEY" => (
            PublicKey::from_spki_der(block.contents()).map_err(|e| bad(e.to_string()))?,
            None,
        ),
        other => {
            return Err(bad(format!(
                "a PEM {other} block; expected CERTIFICATE or PUBLIC KEY"
            )))
        }
    };
    Ok(Verifier {
        pem: canonical_pem(&block),
        certificate_der,
        key,
    })
}

/// `block` as Go's `encoding/pem` writes it (Rekor's `CanonicalValue` of a key or
/// certificate): no headers, 64-column base64, `\n` line ends.
fn canonical_pem(block: &pem::Pem) -> Vec<u8> {
    pem::encode_config(
        &pem::Pem::new(block.tag(), block.contents().to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
    .into_bytes()
}

fn signature_error(field: &str, e: CryptoError) -> RekorV1Error {
    match e {
        CryptoError::BadSignature => RekorV1Error::UnverifiedSignature { field: field.into() },
        other => RekorV1Error::InvalidField {
            field: field.into(),
            reason: other.to_string(),
        },
    }
}

fn hash_name(a: HashAlgorithm) -> &'static str {
    match a {
        HashAlgorithm::Sha2_256 => "sha256",
        HashAlgorithm::Sha2_384 => "sha384",
        HashAlgorithm::Sha2_512 => "sha512",
    }
}

fn hex_digest(algorithm: HashAlgorithm, digest: &[u8]) -> Value {
    json!({"algorithm": hash_name(algorithm), "value": super::to_hex(digest)})
}

#[derive(Deserialize)]
struct RawProposed {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    spec: Value,
}

#[derive(Deserialize)]
struct HashedRekordSpec {
    data: HashedRekordData,
    signature: HashedRekordSignature,
}

#[derive(Deserialize)]
struct HashedRekordData {
    hash: super::RawHash,
}

#[derive(Deserialize)]
struct HashedRekordSignature {
    content: String,
    #[serde(rename = "publicKey")]
    public_key: PemContent,
}

#[derive(Deserialize)]
struct PemContent {
    content: String,
}

#[derive(Deserialize)]
struct DsseSpec {
    #[serde(rename = "proposedContent", default)]
    proposed_content: Option<DsseProposedContent>,
    #[serde(rename = "envelopeHash", default)]
    envelope_hash: Option<Value>,
    #[serde(rename = "payloadHash", default)]
    payload_hash: Option<Value>,
    #[serde(default)]
    signatures: Option<Value>,
}

#[derive(Deserialize)]
struct DsseProposedContent {
    /// The envelope JSON, as a string.
    envelope: String,
    /// Base64 of PEM, each.
    verifiers: Vec<String>,
}

#[derive(Deserialize)]
struct IntotoSpec {
    content: IntotoContent,
}

#[derive(Deserialize)]
struct IntotoContent {
    envelope: IntotoEnvelope,
    #[serde(default)]
    hash: Option<super::RawHash>,
}

#[derive(Deserialize)]
struct IntotoEnvelope {
    #[serde(default)]
    payload: Option<String>,
    #[serde(rename = "payloadType", default)]
    payload_type: String,
    signatures: Vec<IntotoSignature>,
}

#[derive(Deserialize)]
struct IntotoSignature {
    #[serde(default)]
    keyid: Option<String>,
    sig: String,
    #[serde(rename = "publicKey")]
    public_key: String,
}

#[cfg(test)]
mod tests;
