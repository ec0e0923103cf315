//! Client spec §4.4: the log entry's body must describe this bundle — the same signature, the
//! same key or certificate, and the same artifact (or DSSE payload). One comparison per entry
//! kind and version:
//!
//! | body | content | compared |
//! |---|---|---|
//! | hashedrekord 0.0.1 | message signature | digest and its algorithm, signature, key or certificate |
//! | hashedrekord 0.0.2 | message signature | digest, signature, verifier, and the key's own scheme as `keyDetails` and digest algorithm |
//! | hashedrekord 0.0.2 | DSSE envelope | Hash(PAE) under the key's scheme (client spec §4.4; sigstore-python's Rekor v2 encoding), signature, verifier, `keyDetails` |
//! | dsse 0.0.1 / 0.0.2 | DSSE envelope | SHA-256 payload hash, every signature and its verifier |
//! | intoto 0.0.2 | DSSE envelope | payload type, SHA-256 payload hash (and payload if kept), every signature and its key |
//!
//! dsse 0.0.1's `envelopeHash` and intoto's `hash` are hashes of the envelope JSON exactly as
//! the client submitted it, which the bundle does not keep; they cannot be recomputed, and the
//! fields they cover are compared one by one instead (as sigstore-go and sigstore-python do).
//!
//! A Rekor v2 hashedrekord is held to exactly the body the bundle implies (Rekor v2 spec
//! §6.1.4; sigstore-go rebuilds it from the bundle and hashes that): `keyDetails` is the
//! signer key's default scheme (Ed25519: Ed25519ph) and the digest is under that scheme's hash.
//! intoto 0.0.1 entries are refused: they record no signature, so the entry cannot be shown to
//! record this one (client spec §4.4 check 1; neither sigstore-go nor sigstore-python accepts
//! them). Payload hashes are SHA-256, the only algorithm either reference accepts.

use signet_crypto::{HashAlgorithm, KeyKind, PublicKey, PublicKeyDetails};
use signet_formats::bundle::{BundleContent, MessageSignature};
use signet_formats::common::HashOutput;
use signet_formats::dsse::Envelope;
use signet_formats::rekor_v1::RekorV1Entry;
use signet_formats::rekor_v2::{self, Entry, Spec, TransparencyLogEntry, VerifierKey};
use thiserror::Error;

use crate::artifact::ArtifactDigests;
use crate::describe;
use crate::policy::to_hex;
use crate::signature::signing_hashes;

/// Who the bundle says signed: a certificate (DER) or a key (DER SPKI).
#[derive(Debug, Clone, Copy)]
pub enum SignerMaterial<'a> {
    Certificate(&'a [u8]),
    PublicKey(&'a [u8]),
}

/// Why an entry body does not match the bundle.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    #[error("the entry body does not parse: {0}")]
    Parse(String),
    #[error("the entry's kindVersion says {entry_kind} {entry_version}, but its body is {body_kind} {body_version}")]
    KindVersionMismatch {
        entry_kind: String,
        entry_version: String,
        body_kind: String,
        body_version: String,
    },
    #[error("a {kind} {version} entry cannot record a {content}")]
    ContentMismatch {
        kind: String,
        version: String,
        content: &'static str,
    },
    #[error("{what}: the entry records {found}, the bundle gives {expected}")]
    DigestMismatch {
        what: &'static str,
        expected: String,
        found: String,
    },
    #[error("the entry records a {found} digest, but the artifact is given as a {given} digest")]
    DigestAlgorithm {
        given: &'static str,
        found: &'static str,
    },
    #[error("{what}: the signature in the entry is not the bundle's")]
    SignatureMismatch { what: &'static str },
    #[error("{what}: the key or certificate in the entry is not the bundle's signer")]
    VerifierMismatch { what: &'static str },
    #[error("{what}: the entry has {found} signatures, the envelope {expected}")]
    SignatureCount {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("payload type: the entry records {found:?}, the envelope has {expected:?}")]
    PayloadType { expected: String, found: String },
    #[error("{what}: the entry records no {field}")]
    Missing { what: &'static str, field: &'static str },
    #[error("{what}: the entry records keyDetails {found}; a {key} signer's entry records {expected}")]
    KeyDetails {
        what: &'static str,
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{what}: the entry records a {found} digest; a {key} signer's is {expected}")]
    EntryDigestAlgorithm {
        what: &'static str,
        key: String,
        expected: String,
        found: &'static str,
    },
    #[error("{kind} {version} entries are not accepted: {why}")]
    Unsupported {
        kind: &'static str,
        version: &'static str,
        why: &'static str,
    },
}

/// Checks that `entry`'s body records this bundle's signature by `signer` (whose public key is
/// `key`) over the artifact.
pub fn check_entry_body(
    entry: &TransparencyLogEntry,
    content: &BundleContent,
    signer: SignerMaterial<'_>,
    key: &PublicKey,
    artifact: &ArtifactDigests<'_>,
) -> Result<(), BodyError> {
    let (kind, version) = (&entry.kind_version.kind, &entry.kind_version.version);
    let body = &entry.canonicalized_body;
    let content_name = match content {
        BundleContent::MessageSignature(_) => "message signature",
        BundleContent::DsseEnvelope(_) => "DSSE envelope",
    };
    let mismatch = || BodyError::ContentMismatch {
        kind: kind.clone(),
        version: version.clone(),
        content: content_name,
    };
    if version == "0.0.2" && matches!(kind.as_str(), "hashedrekord" | "dsse") {
        let parsed = Entry::from_json(body).map_err(|e| BodyError::Parse(e.to_string()))?;
        check_kind(kind, version, parsed.kind(), parsed.api_version())?;
        return match (&parsed.spec, content) {
            (Spec::HashedRekordV002(h), BundleContent::MessageSignature(m)) => {
                let what = "hashedrekord data";
                check_v2_scheme(what, &h.signature.verifier.key_details, &h.data, key)?;
                check_digest(what, &h.data, artifact)?;
                check_message_digest_hint(m, &h.data)?;
                same_signature("hashedrekord signature", &h.signature.content, &m.signature)?;
                same_v2_verifier("hashedrekord verifier", &h.signature.verifier.key, signer)
            }
            (Spec::HashedRekordV002(h), BundleContent::DsseEnvelope(env)) => {
                // Client spec §4.4: a DSSE envelope on Rekor v2 is a hashedrekord over
                // Hash(PAE), the hash being that of the key's signing scheme (how
                // sigstore-python logs attestations).
                let what = "hashedrekord data (the DSSE PAE's digest)";
                check_v2_scheme(what, &h.signature.verifier.key_details, &h.data, key)?;
                let sig = single_signature(env)?;
                let pae_digest = h.data.algorithm.digest(&env.pae());
                if pae_digest != h.data.digest {
                    return Err(BodyError::DigestMismatch {
                        what,
                        expected: to_hex(&pae_digest),
                        found: to_hex(&h.data.digest),
                    });
                }
                same_signature("hashedrekord signature", &h.signature.content, sig)?;
                same_v2_verifier("hashedrekord verifier", &h.signature.verifier.key, signer)
            }
            (Spec::DsseV002(d), BundleContent::DsseEnvelope(env)) => {
                check_payload_hash(
                    "dsse payloadHash",
                    d.payload_hash.algorithm,
                    &d.payload_hash.digest,
                    env,
                )?;
                for s in &d.signatures {
                    key.check_details(s.verifier.key_details)
                        .map_err(|_| BodyError::KeyDetails {
                            what: "dsse verifier",
                            key: key.kind().to_string(),
                            expected: key.default_details().as_str(),
                            found: s.verifier.key_details.as_str(),
                        })?;
                }
                same_signature_set(
                    "dsse signatures",
                    env,
                    d.signatures
                        .iter()
                        .map(|s| (s.content.as_slice(), Verifier::V2(&s.verifier.key))),
                    d.signatures.len(),
                    signer,
                )
            }
            (Spec::DsseV002(_), BundleContent::MessageSignature(_)) => Err(mismatch()),
        };
    }

    let parsed = RekorV1Entry::from_json(body).map_err(|e| BodyError::Parse(e.to_string()))?;
    check_kind(kind, version, parsed.kind(), parsed.api_version())?;
    match (&parsed, content) {
        (RekorV1Entry::HashedRekordV001(h), BundleContent::MessageSignature(m)) => {
            let recorded = HashOutput {
                algorithm: h.data_hash.algorithm,
                digest: h.data_hash.digest.clone(),
            };
            // The signature is checked under the bundle's digest algorithm, which must be the
            // one the log recorded (sigstore-go compares them) and one the key signs with.
            if !signing_hashes(key).contains(&recorded.algorithm) {
                return Err(BodyError::EntryDigestAlgorithm {
                    what: "hashedrekord data.hash",
                    key: key.kind().to_string(),
                    expected: scheme_names(signing_hashes(key)),
                    found: hash_label(recorded.algorithm),
                });
            }
            if let Some(hint) = m
                .message_digest
                .as_ref()
                .filter(|d| d.algorithm != recorded.algorithm)
            {
                return Err(BodyError::DigestAlgorithm {
                    given: hash_label(hint.algorithm),
                    found: hash_label(recorded.algorithm),
                });
            }
            check_digest("hashedrekord data.hash", &recorded, artifact)?;
            check_message_digest_hint(m, &recorded)?;
            same_signature("hashedrekord signature", &h.signature, &m.signature)?;
            same_pem_verifier("hashedrekord publicKey", &h.public_key_pem, signer)
        }
        (RekorV1Entry::DsseV001(d), BundleContent::DsseEnvelope(env)) => {
            let payload_hash = d.payload_hash.as_ref().ok_or(BodyError::Missing {
                what: "dsse 0.0.1",
                field: "payloadHash",
            })?;
            check_payload_hash(
                "dsse payloadHash",
                payload_hash.algorithm,
                &payload_hash.digest,
                env,
            )?;
            same_signature_set(
                "dsse signatures",
                env,
                d.signatures
                    .iter()
                    .map(|s| (s.signature.as_slice(), Verifier::Pem(&s.verifier_pem))),
                d.signatures.len(),
                signer,
            )
        }
        (RekorV1Entry::IntotoV002(i), BundleContent::DsseEnvelope(env)) => {
            if i.payload_type != env.payload_type {
                return Err(BodyError::PayloadType {
                    expected: env.payload_type.clone(),
                    found: i.payload_type.clone(),
                });
            }
            let payload_hash = i.payload_hash.as_ref().ok_or(BodyError::Missing {
                what: "intoto 0.0.2",
                field: "payloadHash",
            })?;
            check_payload_hash(
                "intoto payloadHash",
                payload_hash.algorithm,
                &payload_hash.digest,
                env,
            )?;
            if i.payload.as_ref().is_some_and(|p| *p != env.payload) {
                return Err(BodyError::DigestMismatch {
                    what: "intoto envelope payload",
                    expected: to_hex(&signet_crypto::sha256(&env.payload)),
                    found: to_hex(&signet_crypto::sha256(i.payload.as_deref().unwrap_or_default())),
                });
            }
            same_signature_set(
                "intoto signatures",
                env,
                i.signatures
                    .iter()
                    .map(|s| (s.sig.as_slice(), Verifier::Pem(&s.public_key_pem))),
                i.signatures.len(),
                signer,
            )
        }
        (RekorV1Entry::IntotoV001(_), BundleContent::DsseEnvelope(_)) => Err(BodyError::Unsupported {
            kind: "intoto",
            version: "0.0.1",
            why: "the entry records no signature, so it cannot be shown to record this one",
        }),
        _ => Err(mismatch()),
    }
}

/// The artifact digest a hashedrekord entry records (0.0.1 `data.hash`, 0.0.2 `data`), for
/// [`crate::artifact::check_signed_digest`]; `None` for other kinds and for bodies that do not
/// parse, which [`check_entry_body`] refuses.
pub(crate) fn recorded_artifact_digest(entry: &TransparencyLogEntry) -> Option<HashOutput> {
    let body = &entry.canonicalized_body;
    match (
        entry.kind_version.kind.as_str(),
        entry.kind_version.version.as_str(),
    ) {
        ("hashedrekord", "0.0.2") => match Entry::from_json(body).ok()?.spec {
            Spec::HashedRekordV002(h) => Some(h.data),
            _ => None,
        },
        ("hashedrekord", "0.0.1") => match RekorV1Entry::from_json(body).ok()? {
            RekorV1Entry::HashedRekordV001(h) => Some(HashOutput {
                algorithm: h.data_hash.algorithm,
                digest: h.data_hash.digest,
            }),
            _ => None,
        },
        _ => None,
    }
}

fn check_kind(
    entry_kind: &str,
    entry_version: &str,
    body_kind: &str,
    body_version: &str,
) -> Result<(), BodyError> {
    if entry_kind == body_kind && entry_version == body_version {
        return Ok(());
    }
    Err(BodyError::KindVersionMismatch {
        entry_kind: entry_kind.into(),
        entry_version: entry_version.into(),
        body_kind: body_kind.into(),
        body_version: body_version.into(),
    })
}

fn hash_label(a: HashAlgorithm) -> &'static str {
    describe::hash(a)
}

/// The recorded artifact digest must be the artifact's.
fn check_digest(
    what: &'static str,
    recorded: &HashOutput,
    artifact: &ArtifactDigests<'_>,
) -> Result<(), BodyError> {
    let actual = artifact
        .digest(recorded.algorithm)
        .ok_or_else(|| BodyError::DigestAlgorithm {
            given: hash_label(artifact.given_algorithm().unwrap_or(recorded.algorithm)),
            found: hash_label(recorded.algorithm),
        })?;
    if actual != recorded.digest.as_slice() {
        return Err(BodyError::DigestMismatch {
            what,
            expected: to_hex(actual),
            found: to_hex(&recorded.digest),
        });
    }
    Ok(())
}

/// The bundle's `messageDigest` (a hint) must agree with what the log recorded.
fn check_message_digest_hint(m: &MessageSignature, recorded: &HashOutput) -> Result<(), BodyError> {
    match &m.message_digest {
        Some(d) if d.algorithm == recorded.algorithm && d.digest != recorded.digest => {
            Err(BodyError::DigestMismatch {
                what: "bundle messageDigest against the entry",
                expected: to_hex(&d.digest),
                found: to_hex(&recorded.digest),
            })
        }
        _ => Ok(()),
    }
}

/// A DSSE payload hash: SHA-256 of the payload (the only algorithm sigstore-go and
/// sigstore-python compare against).
fn check_payload_hash(
    what: &'static str,
    algorithm: HashAlgorithm,
    recorded: &[u8],
    env: &Envelope,
) -> Result<(), BodyError> {
    if algorithm != HashAlgorithm::Sha2_256 {
        return Err(BodyError::DigestAlgorithm {
            given: hash_label(HashAlgorithm::Sha2_256),
            found: hash_label(algorithm),
        });
    }
    let actual = algorithm.digest(&env.payload);
    if actual != recorded {
        return Err(BodyError::DigestMismatch {
            what,
            expected: to_hex(&actual),
            found: to_hex(recorded),
        });
    }
    Ok(())
}

/// The scheme a Rekor v2 hashedrekord entry by `key` records: the key's default, with Ed25519
/// prehashed (Ed25519ph), the only Ed25519 scheme a hashedrekord can carry.
fn v2_scheme(key: &PublicKey) -> PublicKeyDetails {
    match key.kind() {
        KeyKind::Ed25519 => PublicKeyDetails::PKIX_ED25519_PH,
        _ => key.default_details(),
    }
}

/// A Rekor v2 hashedrekord records the signer key's scheme and a digest under its hash.
fn check_v2_scheme(
    what: &'static str,
    recorded_details: &PublicKeyDetails,
    data: &HashOutput,
    key: &PublicKey,
) -> Result<(), BodyError> {
    let expected = v2_scheme(key);
    if *recorded_details != expected {
        return Err(BodyError::KeyDetails {
            what,
            key: key.kind().to_string(),
            expected: expected.as_str(),
            found: recorded_details.as_str(),
        });
    }
    if data.algorithm != expected.hash_algorithm() {
        return Err(BodyError::EntryDigestAlgorithm {
            what,
            key: key.kind().to_string(),
            expected: hash_label(expected.hash_algorithm()).to_string(),
            found: hash_label(data.algorithm),
        });
    }
    Ok(())
}

fn scheme_names(hashes: &[HashAlgorithm]) -> String {
    hashes
        .iter()
        .map(|h| describe::hash(*h))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn same_signature(what: &'static str, recorded: &[u8], given: &[u8]) -> Result<(), BodyError> {
    if recorded == given {
        Ok(())
    } else {
        Err(BodyError::SignatureMismatch { what })
    }
}

fn single_signature(env: &Envelope) -> Result<&[u8], BodyError> {
    match env.signatures.as_slice() {
        [s] => Ok(&s.sig),
        other => Err(BodyError::SignatureCount {
            what: "DSSE envelope",
            expected: 1,
            found: other.len(),
        }),
    }
}

/// A verifier as an entry records it.
enum Verifier<'a> {
    V2(&'a VerifierKey),
    Pem(&'a [u8]),
}

impl Verifier<'_> {
    fn is(&self, signer: SignerMaterial<'_>) -> bool {
        match self {
            Verifier::V2(k) => v2_matches(k, signer),
            Verifier::Pem(p) => pem_matches(p, signer),
        }
    }
}

fn v2_matches(key: &VerifierKey, signer: SignerMaterial<'_>) -> bool {
    match (key, signer) {
        (rekor_v2::VerifierKey::X509Certificate(der), SignerMaterial::Certificate(c)) => der == c,
        (rekor_v2::VerifierKey::PublicKey(der), SignerMaterial::PublicKey(k)) => der == k,
        _ => false,
    }
}

/// Rekor v1 stores keys and certificates as PEM: compare the DER inside.
fn pem_matches(pem_bytes: &[u8], signer: SignerMaterial<'_>) -> bool {
    let Ok(block) = pem::parse(pem_bytes) else {
        return false;
    };
    match (block.tag(), signer) {
        ("CERTIFICATE", SignerMaterial::Certificate(c)) => block.contents() == c,
        ("PUBLIC KEY", SignerMaterial::PublicKey(k)) => block.contents() == k,
        _ => false,
    }
}

fn same_v2_verifier(
    what: &'static str,
    key: &VerifierKey,
    signer: SignerMaterial<'_>,
) -> Result<(), BodyError> {
    if v2_matches(key, signer) {
        Ok(())
    } else {
        Err(BodyError::VerifierMismatch { what })
    }
}

fn same_pem_verifier(
    what: &'static str,
    pem_bytes: &[u8],
    signer: SignerMaterial<'_>,
) -> Result<(), BodyError> {
    if pem_matches(pem_bytes, signer) {
        Ok(())
    } else {
        Err(BodyError::VerifierMismatch { what })
    }
}

/// Every envelope signature is recorded, by the bundle's signer, and nothing else is.
fn same_signature_set<'a>(
    what: &'static str,
    env: &Envelope,
    recorded: impl Iterator<Item = (&'a [u8], Verifier<'a>)>,
    recorded_len: usize,
    signer: SignerMaterial<'_>,
) -> Result<(), BodyError> {
    if recorded_len != env.signatures.len() {
        return Err(BodyError::SignatureCount {
            what,
            expected: env.signatures.len(),
            found: recorded_len,
        });
    }
    let mut recorded_sigs = Vec::with_capacity(recorded_len);
    for (sig, verifier) in recorded {
        if !env.signatures.iter().any(|s| s.sig == sig) {
            return Err(BodyError::SignatureMismatch { what });
        }
        if !verifier.is(signer) {
            return Err(BodyError::VerifierMismatch { what });
        }
        recorded_sigs.push(sig);
    }
    if env
        .signatures
        .iter()
        .any(|s| !recorded_sigs.contains(&s.sig.as_slice()))
    {
        return Err(BodyError::SignatureMismatch { what });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Artifact;
    use signet_crypto::{KeyKind, PublicKeyDetails, SigningKey};
    use signet_formats::common::LogId;
    use signet_formats::rekor_v2::{HashedRekordRequestV002, KindVersion, Signature, Verifier as V2Verifier};

    fn entry(key: &SigningKey, artifact: &[u8]) -> (TransparencyLogEntry, MessageSignature) {
        let digest = signet_crypto::sha256(artifact).to_vec();
        let sig = key.sign_digest(&digest).unwrap();
        let request = HashedRekordRequestV002 {
            digest: digest.clone(),
            signature: Signature {
                content: sig.clone(),
                verifier: V2Verifier {
                    key: VerifierKey::PublicKey(key.public_key().spki_der().to_vec()),
                    key_details: PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
                },
            },
        };
        let body = request.to_entry().unwrap().canonical_json();
        let e = TransparencyLogEntry {
            log_index: 1,
            log_id: LogId { key_id: vec![0; 32] },
            kind_version: KindVersion {
                kind: "hashedrekord".into(),
                version: "0.0.2".into(),
            },
            integrated_time: None,
            inclusion_promise: None,
            inclusion_proof: None,
            canonicalized_body: body,
        };
        (
            e,
            MessageSignature {
                message_digest: None,
                signature: sig,
            },
        )
    }

    #[test]
    fn hashedrekord_v002_body_matches_or_says_why() {
        let k = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let (e, m) = entry(&k, b"artifact");
        let spki = k.public_key().spki_der().to_vec();
        let signer = SignerMaterial::PublicKey(&spki);
        let a = Artifact::Bytes(b"artifact");
        let content = BundleContent::MessageSignature(m.clone());
        check_entry_body(&e, &content, signer, k.public_key(), &ArtifactDigests::new(&a)).unwrap();

        let other = Artifact::Bytes(b"other");
        assert!(matches!(
            check_entry_body(
                &e,
                &content,
                signer,
                k.public_key(),
                &ArtifactDigests::new(&other)
            ),
            Err(BodyError::DigestMismatch { .. })
        ));
        let mut tampered = m.clone();
        tampered.signature[4] ^= 1;
        assert!(matches!(
            check_entry_body(
                &e,
                &BundleContent::MessageSignature(tampered),
                signer,
                k.public_key(),
                &ArtifactDigests::new(&a)
            ),
            Err(BodyError::SignatureMismatch { .. })
        ));
        let k2 = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let spki2 = k2.public_key().spki_der().to_vec();
        assert!(matches!(
            check_entry_body(
                &e,
                &content,
                SignerMaterial::PublicKey(&spki2),
                k2.public_key(),
                &ArtifactDigests::new(&a)
            ),
            Err(BodyError::VerifierMismatch { .. })
        ));
        assert!(matches!(
            check_entry_body(
                &e,
                &content,
                SignerMaterial::Certificate(&spki),
                k.public_key(),
                &ArtifactDigests::new(&a)
            ),
            Err(BodyError::VerifierMismatch { .. })
        ));
        let mut wrong_kind = e.clone();
        wrong_kind.kind_version.kind = "dsse".into();
        assert!(matches!(
            check_entry_body(
                &wrong_kind,
                &content,
                signer,
                k.public_key(),
                &ArtifactDigests::new(&a)
            ),
            Err(BodyError::KindVersionMismatch { .. })
        ));
        let envelope = BundleContent::DsseEnvelope(signet_formats::dsse::Envelope {
            payload: b"{}".to_vec(),
            payload_type: "application/vnd.in-toto+json".into(),
            signatures: vec![signet_formats::dsse::Signature {
                sig: m.signature.clone(),
                keyid: String::new(),
            }],
        });
        assert!(matches!(
            check_entry_body(&e, &envelope, signer, k.public_key(), &ArtifactDigests::new(&a)),
            Err(BodyError::DigestMismatch { .. })
        ));
    }
}
