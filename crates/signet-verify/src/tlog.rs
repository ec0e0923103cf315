//! Transparency log entries (client spec §4.2.2 and §4.4): the log is trusted, the signed
//! entry timestamp (Rekor v1) verifies, and the inclusion proof leads to a root that a
//! checkpoint signed by the log commits to. Whether the body matches the bundle is
//! [`crate::entry_body`]'s job.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use signet_formats::rekor_v2::TransparencyLogEntry;
use signet_tlog::{leaf_hash, verify_inclusion, Checkpoint, CheckpointError, Hash, ProofError};
use thiserror::Error;

use crate::describe;
use crate::policy::to_hex;
use crate::timestamps::SigningTime;
use crate::trust::TransparencyLog;

/// Why a log entry was refused. Each message names the log by its base URL.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlogError {
    #[error(
        "the bundle's log entry is from a transparency log the trusted root does not list (log ID {log_id})"
    )]
    UnknownLog { log_id: String },
    #[error("the transparency log {log} integrated the entry at {}, after the verification time {}", describe::time(*.integrated_time), describe::time(*.now))]
    IntegratedTimeInFuture {
        log: String,
        integrated_time: i64,
        now: i64,
    },
    #[error("the transparency log {log} is not trusted at {}: the trusted root trusts its key {valid_for}", describe::time(*.time))]
    LogKeyNotValid {
        log: String,
        time: i64,
        valid_for: String,
    },
    #[error("the entry in the transparency log {log} has a signed entry timestamp but no integrated time")]
    MissingIntegratedTime { log: String },
    #[error("the signed entry timestamp of the transparency log {log} does not verify over its entry {log_index}, integrated at {}", describe::time(*.integrated_time))]
    InvalidSignedEntryTimestamp {
        log: String,
        log_index: u64,
        integrated_time: i64,
    },
    #[error("the witness policy requires a cosigned checkpoint, but the entry in the transparency log {log} has none (no inclusion proof with a checkpoint)")]
    NoCheckpointForWitnesses { log: String },
    #[error("the checkpoint of the transparency log {log} (size {tree_size}) is not cosigned as the witness policy requires ({quorum}); cosigned by: {}", if .cosigned_by.is_empty() { "no witness the policy names".to_string() } else { .cosigned_by.join(", ") })]
    WitnessQuorum {
        log: String,
        tree_size: u64,
        quorum: String,
        cosigned_by: Vec<String>,
    },
    #[error("the entry in the transparency log {log} has no inclusion proof; {why}")]
    MissingInclusionProof { log: String, why: &'static str },
    #[error(
        "the inclusion proof from the transparency log {log} has no checkpoint (protobuf-specs requires one)"
    )]
    MissingCheckpoint { log: String },
    #[error(
        "the transparency log {log}'s key cannot verify checkpoints (signed notes need Ed25519 or ECDSA)"
    )]
    NoCheckpointVerifier { log: String },
    #[error("the checkpoint of the transparency log {log} does not verify: {source}")]
    Checkpoint { log: String, source: CheckpointError },
    #[error(
        "the checkpoint of the transparency log {log} names the log {found:?}; expected {expected} (or a Rekor v1 \"<host> - <tree id>\")"
    )]
    CheckpointOrigin {
        log: String,
        found: String,
        expected: String,
    },
    #[error("the checkpoint of the transparency log {log} has {what} {checkpoint}, but the inclusion proof says {proof}")]
    CheckpointMismatch {
        log: String,
        what: &'static str,
        checkpoint: String,
        proof: String,
    },
    #[error(
        "the inclusion proof from the transparency log {log} has a root hash of {got} bytes; expected 32"
    )]
    RootHashLength { log: String, got: usize },
    #[error(
        "the inclusion proof from the transparency log {log} has a hash {index} of {got} bytes; expected 32"
    )]
    ProofHashLength { log: String, index: usize, got: usize },
    #[error("the inclusion proof from the transparency log {log} does not verify: {source}")]
    InclusionProof { log: String, source: ProofError },
    #[error(
        "the entry in the transparency log {log} has logIndex {entry} and its inclusion proof {proof}, which are inconsistent ({why})"
    )]
    LogIndexMismatch {
        log: String,
        entry: u64,
        proof: u64,
        why: &'static str,
    },
    #[error("the bundle has no transparency log entry; at least {required} is needed")]
    Threshold { required: usize },
    #[error("the bundle carries entry {log_index} of the transparency log {log} more than once")]
    DuplicateEntry { log: String, log_index: u64 },
    #[error("the transparency log {log} integrated the entry at {}, outside the signing certificate's validity ({} to {})", describe::time(*.integrated_time), describe::time(*.not_before), describe::time(*.not_after))]
    IntegratedTimeOutsideCertificate {
        log: String,
        integrated_time: i64,
        not_before: i64,
        not_after: i64,
    },
}

/// The fewest verified log entries a bundle must carry.
pub const TLOG_THRESHOLD: usize = 1;

/// Whether an entry kind is one Rekor v2 writes (no SET, no integrated time; proof required).
pub fn is_rekor_v2(entry: &TransparencyLogEntry) -> bool {
    entry.kind_version.version == "0.0.2"
        && matches!(entry.kind_version.kind.as_str(), "hashedrekord" | "dsse")
}

/// Refuses a bundle carrying one entry of one log twice: "multiple entries in the same log"
/// must not count twice towards the threshold (client spec §4.6), and sigstore-go refuses
/// such bundles outright.
pub fn check_no_duplicates(
    entries: &[TransparencyLogEntry],
    logs: &[&TransparencyLog],
) -> Result<(), TlogError> {
    for (i, (a, log)) in entries.iter().zip(logs).enumerate() {
        if entries[..i]
            .iter()
            .any(|b| b.log_id.key_id == a.log_id.key_id && b.log_index == a.log_index)
        {
            return Err(TlogError::DuplicateEntry {
                log: log.base_url.clone(),
                log_index: a.log_index,
            });
        }
    }
    Ok(())
}

/// An entry's integrated time, when it has one, must fall within the signing certificate's
/// validity, SET or not: sigstore-go refuses an entry whose (even unsigned) integrated time
/// lies outside it. Rekor v2 entries have none.
pub fn check_integrated_time_in_validity(
    entry: &TransparencyLogEntry,
    log: &TransparencyLog,
    validity: (i64, i64),
) -> Result<(), TlogError> {
    let Some(t) = entry.integrated_time.filter(|t| *t != 0) else {
        return Ok(());
    };
    let (not_before, not_after) = validity;
    if t < not_before || t > not_after {
        return Err(TlogError::IntegratedTimeOutsideCertificate {
            log: log.base_url.clone(),
            integrated_time: t,
            not_before,
            not_after,
        });
    }
    Ok(())
}

/// The trusted log an entry names, by `logId.keyId`.
pub fn find_log<'a>(
    entry: &TransparencyLogEntry,
    logs: &'a [TransparencyLog],
) -> Result<&'a TransparencyLog, TlogError> {
    logs.iter()
        .find(|l| l.log_id == entry.log_id.key_id)
        .ok_or_else(|| TlogError::UnknownLog {
            log_id: STANDARD.encode(&entry.log_id.key_id),
        })
}

/// Verifies a Rekor v1 signed entry timestamp, if the entry has one, and returns the integrated
/// time it vouches for. The SET is the log's signature over the RFC 8785 form of
/// `{"body","integratedTime","logID","logIndex"}` (rekor `pkg/types/entries.go`).
pub fn verify_inclusion_promise(
    entry: &TransparencyLogEntry,
    log: &TransparencyLog,
    now: i64,
) -> Result<Option<i64>, TlogError> {
    let Some(promise) = &entry.inclusion_promise else {
        return Ok(None);
    };
    let Some(integrated_time) = entry.integrated_time.filter(|t| *t != 0) else {
        return Err(TlogError::MissingIntegratedTime {
            log: log.base_url.clone(),
        });
    };
    // Keys in RFC 8785 order; base64 and hex need no escaping and the integers are exact, so
    // this is the canonical form without a JSON round trip.
    let payload = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        STANDARD.encode(&entry.canonicalized_body),
        integrated_time,
        to_hex(&entry.log_id.key_id),
        entry.log_index
    );
    log.key
        .verify(
            log.key_details,
            payload.as_bytes(),
            &promise.signed_entry_timestamp,
        )
        .map_err(|_| TlogError::InvalidSignedEntryTimestamp {
            log: log.base_url.clone(),
            log_index: entry.log_index,
            integrated_time,
        })?;
    if integrated_time > now {
        return Err(TlogError::IntegratedTimeInFuture {
            log: log.base_url.clone(),
            integrated_time,
            now,
        });
    }
    check_log_valid_at(log, integrated_time)?;
    Ok(Some(integrated_time))
}

/// The log key must be valid (trust root `validFor`, a closed range) at `time`.
pub fn check_log_valid_at(log: &TransparencyLog, time: i64) -> Result<(), TlogError> {
    if log.valid_for.contains(time) {
        return Ok(());
    }
    Err(TlogError::LogKeyNotValid {
        log: log.base_url.clone(),
        time,
        valid_for: describe::trusted_for(&log.valid_for),
    })
}

/// What a verified inclusion proof established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedInclusion {
    pub tree_size: u64,
    pub root_hash: Hash,
    /// The leaf index in the tree the checkpoint describes.
    pub leaf_index: u64,
}

/// Verifies the entry's inclusion proof and its checkpoint, if it has one; `required` says
/// whether a missing proof is an error (bundle v0.2+ and Rekor v2 entries).
pub fn verify_inclusion_proof(
    entry: &TransparencyLogEntry,
    log: &TransparencyLog,
    required: Option<&'static str>,
) -> Result<Option<VerifiedInclusion>, TlogError> {
    verify_inclusion_proof_with(entry, log, required, |envelope| {
        verify_log_checkpoint(envelope, log)
    })
}

/// [`verify_inclusion_proof`], with the checkpoint check ([`verify_log_checkpoint`], a pure
/// function of the envelope and the log) supplied by the caller, so a verifier can answer it
/// from a cache.
pub(crate) fn verify_inclusion_proof_with(
    entry: &TransparencyLogEntry,
    log: &TransparencyLog,
    required: Option<&'static str>,
    verify_checkpoint: impl FnOnce(&str) -> Result<Checkpoint, TlogError>,
) -> Result<Option<VerifiedInclusion>, TlogError> {
    let name = || log.base_url.clone();
    let Some(proof) = &entry.inclusion_proof else {
        return match required {
            Some(why) => Err(TlogError::MissingInclusionProof { log: name(), why }),
            None => Ok(None),
        };
    };
    // Rekor v2 has one tree, so the two indices are the same; a Rekor v1 entry's logIndex is
    // global over its shards and the proof's is within the shard, so it can only be smaller.
    if is_rekor_v2(entry) && entry.log_index != proof.log_index {
        return Err(TlogError::LogIndexMismatch {
            log: name(),
            entry: entry.log_index,
            proof: proof.log_index,
            why: "a Rekor v2 entry's indices must be equal",
        });
    }
    if proof.log_index > entry.log_index {
        return Err(TlogError::LogIndexMismatch {
            log: name(),
            entry: entry.log_index,
            proof: proof.log_index,
            why: "the index within a shard cannot exceed the global index",
        });
    }
    let checkpoint_text = proof
        .checkpoint
        .as_ref()
        .ok_or_else(|| TlogError::MissingCheckpoint { log: name() })?;
    let checkpoint = verify_checkpoint(&checkpoint_text.envelope)?;

    let root_hash: Hash = proof
        .root_hash
        .as_slice()
        .try_into()
        .map_err(|_| TlogError::RootHashLength {
            log: name(),
            got: proof.root_hash.len(),
        })?;
    let hashes = proof
        .hashes
        .iter()
        .enumerate()
        .map(|(index, h)| {
            Hash::try_from(h.as_slice()).map_err(|_| TlogError::ProofHashLength {
                log: name(),
                index,
                got: h.len(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if checkpoint.root_hash != root_hash {
        return Err(TlogError::CheckpointMismatch {
            log: name(),
            what: "root hash",
            checkpoint: STANDARD.encode(checkpoint.root_hash),
            proof: STANDARD.encode(root_hash),
        });
    }
    if checkpoint.size != proof.tree_size {
        return Err(TlogError::CheckpointMismatch {
            log: name(),
            what: "tree size",
            checkpoint: checkpoint.size.to_string(),
            proof: proof.tree_size.to_string(),
        });
    }
    let leaf = leaf_hash(&entry.canonicalized_body);
    verify_inclusion(&leaf, proof.log_index, proof.tree_size, &hashes, &root_hash)
        .map_err(|source| TlogError::InclusionProof { log: name(), source })?;
    Ok(Some(VerifiedInclusion {
        tree_size: proof.tree_size,
        root_hash,
        leaf_index: proof.log_index,
    }))
}

/// Verifies a checkpoint signed note with the log's key. Two kinds of checkpoint exist, told
/// apart by the origin line as sigstore-go tells them apart:
///
/// - Rekor v1's, whose origin is `"<host> - <tree id>"`: a signature line whose key hint is
///   Rekor v1's for the log key (the first 4 bytes of SHA-256 over its DER
///   SubjectPublicKeyInfo) must verify with the key; the line's name and the origin's host are
///   not checked, as neither rekor's `VerifyCheckpointSignature` nor sigstore-python checks
///   them (a Rekor v1 log names itself by its server's hostname, which need not be the host
///   clients reach it by).
/// - C2SP checkpoints (Rekor v2): the origin must be a name of the log (see
///   [`TransparencyLog::note_verifiers`]) and a signature line under that name and the key's
///   C2SP key hint must verify.
///
/// Either way, a signature line with the log's name and hint that does not verify refuses the
/// note; lines by other keys (witness cosignatures) are ignored.
pub fn verify_log_checkpoint(envelope: &str, log: &TransparencyLog) -> Result<Checkpoint, TlogError> {
    let note = signet_tlog::Note::parse(envelope).map_err(|e| TlogError::Checkpoint {
        log: log.base_url.clone(),
        source: e.into(),
    })?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(|source| TlogError::Checkpoint {
        log: log.base_url.clone(),
        source,
    })?;
    if is_rekor_v1_origin(&checkpoint.origin) {
        verify_rekor_v1_note(&note, log)?;
        return Ok(checkpoint);
    }
    if log.note_verifiers.is_empty() {
        return Err(TlogError::NoCheckpointVerifier {
            log: log.base_url.clone(),
        });
    }
    let verifier = log
        .note_verifiers
        .iter()
        .find(|v| v.name() == checkpoint.origin)
        .ok_or_else(|| TlogError::CheckpointOrigin {
            log: log.base_url.clone(),
            found: checkpoint.origin.clone(),
            expected: log
                .note_verifiers
                .iter()
                .map(|v| format!("{:?}", v.name()))
                .collect::<Vec<_>>()
                .join(" or "),
        })?;
    note.verify(std::slice::from_ref(verifier))
        .map_err(|e| TlogError::Checkpoint {
            log: log.base_url.clone(),
            source: e.into(),
        })?;
    Ok(checkpoint)
}

/// Verifies a static-ct-api checkpoint (c2sp.org/static-ct-api): an `RFC6962NoteSignature`
/// line under the checkpoint's origin and the key ID `SHA-256(origin || 0x0A || 0x05 ||
/// LogID)[:4]` of the CT log's key, over the RFC 6962 §3.5 `TreeHeadSignature` of the
/// checkpoint's size and root. A line by that name and key ID that does not verify refuses the
/// note; other lines (witnesses) are ignored.
///
/// The origin is not checked against a base URL: the `TreeHeadSignature` does not cover it, so
/// it adds nothing to what the key proves (a CT log keeps the origin of its first start even
/// when it moves).
pub fn verify_static_ct_checkpoint(
    envelope: &str,
    log_id: &[u8; 32],
    key: &signet_crypto::PublicKey,
) -> Result<Checkpoint, String> {
    use signet_x509::static_ct::{note_key_id, verify_tree_head_signature, Rfc6962NoteSignature};
    let note = signet_tlog::Note::parse(envelope).map_err(|e| e.to_string())?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(|e| e.to_string())?;
    let origin = checkpoint.origin.as_str();
    let key_id = note_key_id(origin, log_id);
    let mut verified = false;
    for line in note
        .signatures()
        .iter()
        .filter(|s| s.name == origin && s.key_hash == key_id)
    {
        let signed = Rfc6962NoteSignature::decode(&line.signature)
            .map_err(|e| format!("RFC6962NoteSignature: {e}"))?;
        verify_tree_head_signature(
            signed.timestamp,
            checkpoint.size,
            &checkpoint.root_hash,
            &signed.signature,
            key,
        )
        .map_err(|e| format!("tree head signature of size {}: {e}", checkpoint.size))?;
        verified = true;
    }
    if !verified {
        return Err(format!(
            "checkpoint has no RFC 6962 signature by {origin} (key ID {key_id:08x})"
        ));
    }
    Ok(checkpoint)
}

/// A Rekor v1 checkpoint origin: `"<anything> - <decimal tree id>"` (sigstore-go's
/// `hasRekorV1STH`).
fn is_rekor_v1_origin(origin: &str) -> bool {
    origin
        .rsplit_once(" - ")
        .is_some_and(|(_, tree)| !tree.is_empty() && tree.bytes().all(|b| b.is_ascii_digit()))
}

/// A Rekor v1 checkpoint's signatures: the log key signs the note text under its trusted-root
/// scheme (as it signs SETs), hinted by the first 4 bytes of SHA-256 of its SPKI.
fn verify_rekor_v1_note(note: &signet_tlog::Note, log: &TransparencyLog) -> Result<(), TlogError> {
    let spki_hash = signet_crypto::sha256(log.key.spki_der());
    let hint = u32::from_be_bytes([spki_hash[0], spki_hash[1], spki_hash[2], spki_hash[3]]);
    let mut verified = false;
    for signature in note.signatures().iter().filter(|s| s.key_hash == hint) {
        log.key
            .verify(log.key_details, note.text().as_bytes(), &signature.signature)
            .map_err(|_| TlogError::Checkpoint {
                log: log.base_url.clone(),
                source: signet_tlog::NoteError::BadSignature {
                    name: signature.name.clone(),
                    key_hash: signature.key_hash,
                }
                .into(),
            })?;
        verified = true;
    }
    if !verified {
        return Err(TlogError::Checkpoint {
            log: log.base_url.clone(),
            source: signet_tlog::NoteError::NoKnownSignature {
                found: note
                    .signatures()
                    .iter()
                    .map(|s| format!("{} {:08x}", s.name, s.key_hash))
                    .collect::<Vec<_>>()
                    .join(", "),
                known: format!("{hint:08x} (the log key's Rekor v1 hint)"),
            }
            .into(),
        });
    }
    Ok(())
}

/// Ties signing times to a Rekor v2 log: with no integrated time, the log key must have been
/// valid at every verified signing time.
pub fn check_log_valid_at_times(log: &TransparencyLog, times: &[SigningTime]) -> Result<(), TlogError> {
    times.iter().try_for_each(|t| check_log_valid_at(log, t.unix))
}

/// The witness policy's check of the entry's checkpoint (see
/// [`crate::TrustedMaterial::witness_policy`]): the checkpoint note must carry cosignatures
/// satisfying the quorum. Applies only to the logs the policy names (all, if it names none).
pub fn check_witnesses(
    entry: &TransparencyLogEntry,
    log: &TransparencyLog,
    policy: &signet_tlog::WitnessPolicy,
) -> Result<Vec<String>, TlogError> {
    let vkeys: Vec<String> = log.note_verifiers.iter().filter_map(|v| v.vkey()).collect();
    if !vkeys.iter().any(|v| policy.applies_to_log(Some(v))) && !policy.applies_to_log(None) {
        return Ok(Vec::new());
    }
    let envelope = entry
        .inclusion_proof
        .as_ref()
        .and_then(|p| p.checkpoint.as_ref())
        .map(|c| c.envelope.as_str())
        .ok_or_else(|| TlogError::NoCheckpointForWitnesses {
            log: log.base_url.clone(),
        })?;
    let note = signet_tlog::Note::parse(envelope).map_err(|e| TlogError::Checkpoint {
        log: log.base_url.clone(),
        source: e.into(),
    })?;
    let check = policy.check(&note);
    if !check.satisfied {
        return Err(TlogError::WitnessQuorum {
            log: log.base_url.clone(),
            tree_size: entry.inclusion_proof.as_ref().map(|p| p.tree_size).unwrap_or(0),
            quorum: policy.describe_quorum(),
            cosigned_by: check.cosigned_by,
        });
    }
    Ok(check.cosigned_by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_crypto::{KeyKind, PublicKeyDetails, SigningKey};
    use signet_formats::common::{LogId, TimeRange, Timestamp};
    use signet_formats::rekor_v2::{InclusionPromise, InclusionProof, KindVersion};
    use signet_tlog::{sign_checkpoint, MemoryTree, NoteSigner};

    pub(crate) fn log_for(signer: &SigningKey, origin: &str) -> TransparencyLog {
        let key = signer.public_key().clone();
        let log_id = signet_crypto::sha256(key.spki_der()).to_vec();
        TransparencyLog::new(
            &format!("https://{origin}"),
            log_id,
            key,
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            TimeRange::starting(Timestamp::from_unix(0)),
        )
    }

    /// A Rekor-v1-style entry at index 1 of a 3-leaf tree, with SET and signed checkpoint.
    fn entry(signer: &SigningKey, log: &TransparencyLog, note_key: &SigningKey) -> TransparencyLogEntry {
        let body = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#.to_vec();
        let mut tree = MemoryTree::new();
        tree.push_data(b"a");
        tree.push_data(&body);
        tree.push_data(b"c");
        let proof = tree.inclusion_proof(1, 3).unwrap();
        let cp = Checkpoint {
            origin: format!("{} - 42", log.origin),
            size: 3,
            root_hash: tree.root(),
            extensions: vec![],
        };
        let ns = NoteSigner::new(&log.origin, note_key.clone_for_test()).unwrap();
        let envelope = sign_checkpoint(&cp, &[&ns]).unwrap();
        let mut e = TransparencyLogEntry {
            log_index: 7,
            log_id: LogId {
                key_id: log.log_id.clone(),
            },
            kind_version: KindVersion {
                kind: "hashedrekord".into(),
                version: "0.0.1".into(),
            },
            integrated_time: Some(1000),
            inclusion_promise: None,
            inclusion_proof: Some(InclusionProof {
                log_index: 1,
                root_hash: tree.root().to_vec(),
                tree_size: 3,
                hashes: proof.iter().map(|h| h.to_vec()).collect(),
                checkpoint: Some(signet_formats::rekor_v2::Checkpoint { envelope }),
            }),
            canonicalized_body: body,
        };
        let payload = format!(
            r#"{{"body":"{}","integratedTime":1000,"logID":"{}","logIndex":7}}"#,
            STANDARD.encode(&e.canonicalized_body),
            to_hex(&log.log_id)
        );
        e.inclusion_promise = Some(InclusionPromise {
            signed_entry_timestamp: signer.sign(payload.as_bytes()).unwrap(),
        });
        e
    }

    trait CloneForTest {
        fn clone_for_test(&self) -> SigningKey;
    }
    impl CloneForTest for SigningKey {
        fn clone_for_test(&self) -> SigningKey {
            SigningKey::from_pkcs8_der(self.pkcs8_der()).unwrap()
        }
    }

    #[test]
    fn a_good_entry_verifies() {
        let k = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let log = log_for(&k, "log.example");
        let e = entry(&k, &log, &k);
        assert_eq!(verify_inclusion_promise(&e, &log, 2000), Ok(Some(1000)));
        let v = verify_inclusion_proof(&e, &log, Some("required"))
            .unwrap()
            .unwrap();
        assert_eq!(v.tree_size, 3);
    }

    #[test]
    fn crafted_failures() {
        let k = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let log = log_for(&k, "log.example");
        let good = entry(&k, &log, &k);

        // Unknown log.
        let other = log_for(&SigningKey::generate(KeyKind::EcdsaP256).unwrap(), "x");
        assert!(matches!(
            find_log(&good, std::slice::from_ref(&other)),
            Err(TlogError::UnknownLog { .. })
        ));
        // Integrated time in the future.
        assert!(matches!(
            verify_inclusion_promise(&good, &log, 999),
            Err(TlogError::IntegratedTimeInFuture { .. })
        ));
        // SET over a changed index.
        let mut e = good.clone();
        e.log_index = 8;
        assert!(matches!(
            verify_inclusion_promise(&e, &log, 2000),
            Err(TlogError::InvalidSignedEntryTimestamp { .. })
        ));
        // Checkpoint signed by a wrong key.
        let stranger = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let e = entry(&k, &log, &stranger);
        assert!(matches!(
            verify_inclusion_proof(&e, &log, None),
            Err(TlogError::Checkpoint { .. })
        ));
        // A flipped proof hash.
        let mut e = good.clone();
        e.inclusion_proof.as_mut().unwrap().hashes[0][0] ^= 1;
        assert!(matches!(
            verify_inclusion_proof(&e, &log, None),
            Err(TlogError::InclusionProof { .. })
        ));
        // A proof without a checkpoint, and a missing required proof.
        let mut e = good.clone();
        e.inclusion_proof.as_mut().unwrap().checkpoint = None;
        assert!(matches!(
            verify_inclusion_proof(&e, &log, None),
            Err(TlogError::MissingCheckpoint { .. })
        ));
        let mut e = good.clone();
        e.inclusion_proof = None;
        assert!(matches!(
            verify_inclusion_proof(&e, &log, Some("v0.2")),
            Err(TlogError::MissingInclusionProof { .. })
        ));
        // A log key whose validity has not started.
        let mut late = log.clone();
        late.valid_for = TimeRange::starting(Timestamp::from_unix(5000));
        assert!(matches!(
            verify_inclusion_promise(&good, &late, 6000),
            Err(TlogError::LogKeyNotValid { .. })
        ));
    }
}
