//! The orchestrator: runs the checks in the client spec's order (§4.2 time, §4.3 certificate,
//! §4.4 log entries, §4.5 signature) and stops at the first failure, naming the check.

use signet_crypto::PublicKey;
use signet_formats::bundle::{
    Bundle, BundleContent, BundleError, BundleVersion, VerificationMaterialContent,
};
use signet_x509::sct::VerifiedSct;
use signet_x509::{CertificateIdentity, ParsedCertificate};
use thiserror::Error;

use crate::artifact::{self, ArtifactDigests, ArtifactError};
use crate::cache::{self, BoundedCache};
use crate::certificate::VerifiedChain;
use crate::certificate::{self, CertificateError};
use crate::entry_body::{self, BodyError, SignerMaterial};
use crate::identity::{self, IdentityError};
use crate::policy::{Policy, SignerPolicy};
use crate::sct::{self, SctCheckError};
use crate::signature::{self, SignatureError};
use crate::timestamps::{self, SigningTime, TimeSource, TimestampCheckError};
use crate::tlog::{self, TlogError};
use crate::trust::{CertificateAuthority, PreparedTrust, TransparencyLog, TrustedMaterial};
use signet_tlog::Checkpoint;
use signet_x509::sct::CtLogKey;

/// Why a bundle did not verify: which check failed, and (inside) why. The message is a sentence
/// a user can act on: its first words say what failed (the file, the identity, an authority
/// of the trusted root, a log, the signature), times are RFC 3339, and trust material is named
/// by its URI or base URL.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VerificationError {
    #[error("the bundle is malformed: {0}")]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Material(#[from] MaterialError),
    #[error(transparent)]
    SigningTime(#[from] TimestampCheckError),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(transparent)]
    Sct(#[from] SctCheckError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The artifact is not the one the bundle signs (checked before any log entry is compared
    /// with the bundle, so a wrong file is reported as such).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{source}")]
    Tlog { index: usize, source: TlogError },
    #[error(transparent)]
    TlogThreshold(TlogError),
    #[error("transparency log entry {index} does not match the bundle: {source}")]
    EntryBody { index: usize, source: BodyError },
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

impl VerificationError {
    /// True when the bundle relies on a certificate authority, log or timestamp authority the
    /// trust material does not hold (or not for that time). Such a failure may mean the trust
    /// material is older than the bundle, so a caller can say how to refresh it; every other
    /// failure is about the bundle itself.
    pub fn is_unknown_to_trust_material(&self) -> bool {
        use signet_x509::rfc3161::TimestampError as Tsa;
        match self {
            VerificationError::Certificate(e) => matches!(
                e,
                CertificateError::UntrustedIssuer { .. } | CertificateError::AuthorityNotValidAt { .. }
            ),
            VerificationError::Tlog { source, .. } | VerificationError::TlogThreshold(source) => {
                matches!(source, TlogError::UnknownLog { .. })
            }
            VerificationError::Sct(SctCheckError::NoTrustedSct { .. }) => true,
            VerificationError::SigningTime(TimestampCheckError::Rfc3161 { source, .. }) => {
                matches!(source, Tsa::NoAuthorityVerified(_))
            }
            _ => false,
        }
    }
}

/// Why the bundle's signer material does not fit the policy.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MaterialError {
    #[error("the bundle is signed with a public key (hint {hint:?}), not a certificate: verify it with that key rather than a certificate identity")]
    KeyWhereCertificateExpected { hint: String },
    #[error("the bundle is signed with a certificate, not a public key: verify it with a certificate identity and issuer rather than a key")]
    CertificateWhereKeyExpected,
    #[error("the signing certificate does not parse: {0}")]
    Certificate(String),
    #[error("the signing certificate's public key is unusable: {0}")]
    CertificateKey(String),
}

/// Who signed, as verified.
#[derive(Debug, Clone)]
pub enum VerifiedSigner {
    /// A certificate from a trusted authority, and the identity it states.
    Certificate {
        identity: Box<CertificateIdentity>,
        /// DER.
        certificate: Vec<u8>,
        authority: String,
    },
    /// The policy's public key.
    PublicKey(PublicKey),
}

/// A log entry that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLogEntry {
    pub log_base_url: String,
    pub log_index: u64,
    pub kind: String,
    pub version: String,
    /// The integrated time, when a signed entry timestamp vouches for it.
    pub integrated_time: Option<i64>,
    /// The checkpoint the inclusion proof verified against, if there was a proof.
    pub checkpoint: Option<tlog::VerifiedInclusion>,
}

/// What verification established.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub signer: VerifiedSigner,
    /// Every verified signing time (RFC 3161 timestamps, SET-backed integrated times).
    pub signing_times: Vec<SigningTime>,
    pub log_entries: Vec<VerifiedLogEntry>,
    /// The embedded SCTs that verified (certificate signers only).
    pub scts: Vec<VerifiedSct>,
    /// The in-toto statement, for DSSE bundles.
    pub statement: Option<signet_formats::intoto::Statement>,
}

/// Parses `bundle_json` and verifies it (see [`verify`]).
pub fn verify_json(
    bundle_json: &[u8],
    policy: &Policy<'_>,
    trust: &impl TrustedMaterial,
    now: i64,
) -> Result<VerifiedBundle, VerificationError> {
    let bundle = Bundle::from_json(bundle_json)?;
    verify(&bundle, policy, trust, now)
}

/// Verifies `bundle` against `policy` and `trust` at Unix time `now` (seconds), in the client
/// spec's order:
///
/// 1. signer material fits the policy (certificate for an identity, key hint for a key);
/// 2. signing time (§4.2): every RFC 3161 timestamp over the signature verifies; every Rekor
///    v1 entry's log is trusted and its SET verifies (integrated time not in the future, log
///    key valid then); at least one time;
/// 3. certificate (§4.3): leaf profile, no root in the bundle's chain, a path to a trusted CA
///    valid at every signing time, an embedded SCT from a trusted CT log, the identity policy;
/// 4. log entries (§4.4): first, for a message signature, the artifact's digest is one the
///    bundle names (its `messageDigest` or a hashedrekord entry's), so that a wrong file is
///    reported as a wrong file ([`crate::artifact`]); then at least one entry; inclusion proof
///    and signed checkpoint (required from bundle v0.2 and for Rekor v2), Rekor v2 log keys
///    valid at the signing times, and the body records this signature, signer and artifact;
/// 5. signature (§4.5) over the artifact or its digest, or over the DSSE PAE, then the artifact
///    among the in-toto subjects.
///
/// One-shot: nothing is remembered between calls. To verify many bundles, build a
/// [`Verifier`] once and use its methods.
pub fn verify(
    bundle: &Bundle,
    policy: &Policy<'_>,
    trust: &impl TrustedMaterial,
    now: i64,
) -> Result<VerifiedBundle, VerificationError> {
    verify_inner(bundle, policy, trust, None, now)
}

fn verify_inner(
    bundle: &Bundle,
    policy: &Policy<'_>,
    trust: &impl TrustedMaterial,
    caches: Option<&Caches>,
    now: i64,
) -> Result<VerifiedBundle, VerificationError> {
    let material = &bundle.verification_material;

    // 1. Signer material against the policy.
    let leaf_der = match (&material.content, &policy.signer) {
        (VerificationMaterialContent::PublicKey { .. }, SignerPolicy::PublicKey(_)) => None,
        (VerificationMaterialContent::PublicKey { hint }, _) => {
            return Err(MaterialError::KeyWhereCertificateExpected { hint: hint.clone() }.into())
        }
        (_, SignerPolicy::PublicKey(_)) => return Err(MaterialError::CertificateWhereKeyExpected.into()),
        (content, _) => content.leaf_certificate(),
    };
    let leaf = leaf_der
        .map(|der| ParsedCertificate::from_der(der).map_err(|e| MaterialError::Certificate(e.to_string())))
        .transpose()?;
    let signer_key = match (&leaf, &policy.signer) {
        (Some(leaf), _) => leaf.public_key().map_err(MaterialError::CertificateKey)?,
        (None, SignerPolicy::PublicKey(key)) => key.clone(),
        (None, _) => return Err(MaterialError::Certificate("the bundle has no certificate".into()).into()),
    };
    let signature_bytes = bundle
        .content
        .signature_bytes()
        .expect("a parsed bundle has a signature");

    // 2. Signing time.
    let logs = trust.transparency_logs();
    let mut log_of_entry = Vec::with_capacity(material.tlog_entries.len());
    let mut integrated_times = Vec::with_capacity(material.tlog_entries.len());
    let mut signing_times = Vec::new();
    for (index, entry) in material.tlog_entries.iter().enumerate() {
        let tlog_err = |source| VerificationError::Tlog { index, source };
        let log = tlog::find_log(entry, &logs).map_err(tlog_err)?;
        let integrated = tlog::verify_inclusion_promise(entry, log, now).map_err(tlog_err)?;
        if let Some(t) = integrated {
            signing_times.push(SigningTime {
                unix: t,
                source: TimeSource::IntegratedTime {
                    log_base_url: log.base_url.clone(),
                    log_index: entry.log_index,
                },
            });
        }
        log_of_entry.push(log);
        integrated_times.push(integrated);
    }
    let tokens = &material.timestamp_verification_data.rfc3161_timestamps;
    // The TSA chains are checked once per `TsaTrust`, which `PreparedTrust` keeps.
    signing_times.extend(timestamps::verify_rfc3161_timestamps(
        tokens,
        signature_bytes,
        &trust.timestamp_authorities(),
        now,
    )?);
    timestamps::check_threshold(&signing_times)?;

    // 3. Certificate, SCT, identity.
    let mut scts = Vec::new();
    let signer = match &leaf {
        Some(leaf) => {
            certificate::check_leaf_profile(leaf)?;
            if let VerificationMaterialContent::X509CertificateChain(chain) = &material.content {
                certificate::check_bundle_chain(&chain[1..])?;
            }
            let cas = trust.certificate_authorities();
            let (chain, verified_scts) = match caches {
                None => {
                    let chain = certificate::verify_chain(leaf, &cas, &signing_times)?;
                    let scts = sct::verify_scts(&leaf.der, &chain.issuer_spki, &trust.ct_logs())?;
                    (chain, scts)
                }
                Some(c) => c.verify_chain_and_scts(leaf, &cas, &signing_times, &trust.ct_logs())?,
            };
            scts = verified_scts;
            let authority_name = chain.authority_name;
            let identity = signet_x509::fulcio::read_identity_from_certificate(&leaf.cert)
                .map_err(|e| IdentityError::Certificate(e.to_string()))?;
            if let SignerPolicy::Identity(p) = &policy.signer {
                identity::check_identity(p, &identity)?;
            }
            VerifiedSigner::Certificate {
                identity: Box::new(identity),
                certificate: leaf.der.clone(),
                authority: authority_name,
            }
        }
        None => VerifiedSigner::PublicKey(signer_key.clone()),
    };

    // 4. Log entries, after the artifact's digest against those the bundle names.
    let artifact = ArtifactDigests::new(&policy.artifact);
    if let BundleContent::MessageSignature(m) = &bundle.content {
        artifact::check_signed_digest(m, &material.tlog_entries, &artifact)?;
    }
    if material.tlog_entries.len() < tlog::TLOG_THRESHOLD {
        return Err(VerificationError::TlogThreshold(TlogError::Threshold {
            required: tlog::TLOG_THRESHOLD,
        }));
    }
    tlog::check_no_duplicates(&material.tlog_entries, &log_of_entry)
        .map_err(VerificationError::TlogThreshold)?;
    let signer_material = match &leaf {
        Some(leaf) => SignerMaterial::Certificate(&leaf.der),
        None => SignerMaterial::PublicKey(signer_key.spki_der()),
    };
    let mut log_entries = Vec::with_capacity(material.tlog_entries.len());
    for (index, (entry, log)) in material.tlog_entries.iter().zip(&log_of_entry).enumerate() {
        let tlog_err = |source| VerificationError::Tlog { index, source };
        let rekor_v2 = tlog::is_rekor_v2(entry);
        let required = if rekor_v2 {
            Some("Rekor v2 entries are verified by inclusion proof alone")
        } else if bundle.version >= BundleVersion::V0_2 {
            Some("bundles from v0.2 on must carry one")
        } else {
            None
        };
        let checkpoint = match caches {
            None => tlog::verify_inclusion_proof(entry, log, required),
            Some(c) => tlog::verify_inclusion_proof_with(entry, log, required, |envelope| {
                c.verify_checkpoint(envelope, log)
            }),
        }
        .map_err(tlog_err)?;
        if let Some(policy) = trust.witness_policy() {
            tlog::check_witnesses(entry, log, policy).map_err(tlog_err)?;
        }
        if rekor_v2 {
            tlog::check_log_valid_at_times(log, &signing_times).map_err(tlog_err)?;
        }
        if let Some(leaf) = &leaf {
            tlog::check_integrated_time_in_validity(entry, log, leaf.validity()).map_err(tlog_err)?;
        }
        entry_body::check_entry_body(entry, &bundle.content, signer_material, &signer_key, &artifact)
            .map_err(|source| VerificationError::EntryBody { index, source })?;
        log_entries.push(VerifiedLogEntry {
            log_base_url: log.base_url.clone(),
            log_index: entry.log_index,
            kind: entry.kind_version.kind.clone(),
            version: entry.kind_version.version.clone(),
            integrated_time: integrated_times[index],
            checkpoint,
        });
    }

    // 5. Signature.
    let statement = match &bundle.content {
        BundleContent::MessageSignature(m) => {
            signature::verify_message_signature(&signer_key, m, &artifact)?;
            None
        }
        BundleContent::DsseEnvelope(env) => {
            let statement = signature::verify_dsse_envelope(&signer_key, env)?;
            artifact::check_subject(&statement, &artifact)?;
            Some(statement)
        }
    };

    Ok(VerifiedBundle {
        signer,
        signing_times,
        log_entries,
        scts,
        statement,
    })
}

/// A verifier for many bundles: the trust material, prepared once, and bounded memos of the
/// checks that bundles genuinely share.
///
/// Many bundles carry the same inputs to a costly check: every entry of one Rekor v2 batch
/// carries the same signed checkpoint, every artifact a release job signs with one
/// certificate carries the same leaf, and every token from one TSA the same trusted chain.
/// Those checks are pure functions of their input bytes and of the trust material, which a
/// `Verifier` owns and never changes, so it remembers their successes (why that is sound:
/// `cache.rs`): the checkpoint signature, keyed by the log and the exact signed note; the
/// leaf's signature by the CA certificate that issued it and its embedded SCTs, keyed by that
/// certificate (authority and chain position) and the exact leaf DER;
/// the TSA's trusted chain, once. Everything that depends on the bundle or the time — the
/// inclusion proof, validity at the signing times, identity, log entry body, the artifact
/// signature, each timestamp's own signature — is checked for every bundle.
///
/// `Sync`: share one between threads (the memos take a lock only to look up and insert).
#[derive(Debug)]
pub struct Verifier {
    trust: PreparedTrust,
    caches: Caches,
}

impl Verifier {
    /// Checkpoints remembered by default: one per log batch, a few hundred bytes each.
    pub const DEFAULT_CHECKPOINTS: usize = 1024;
    /// Leaf certificates remembered by default, about 1.5 KiB each.
    pub const DEFAULT_LEAVES: usize = 4096;

    /// A verifier for `trust`, with the default memo sizes.
    pub fn new(trust: PreparedTrust) -> Self {
        Self::with_capacity(trust, Self::DEFAULT_CHECKPOINTS, Self::DEFAULT_LEAVES)
    }

    /// A verifier remembering at most `checkpoints` verified checkpoints and `leaves` verified
    /// leaf certificates (0 turns a memo off).
    pub fn with_capacity(trust: PreparedTrust, checkpoints: usize, leaves: usize) -> Self {
        Verifier {
            trust,
            caches: Caches {
                checkpoints: BoundedCache::new(checkpoints),
                leaves: BoundedCache::new(leaves),
            },
        }
    }

    /// The trust material.
    pub fn trust(&self) -> &PreparedTrust {
        &self.trust
    }

    /// Verifies `bundle` as [`verify`] does, with the same checks and the same errors.
    pub fn verify(
        &self,
        bundle: &Bundle,
        policy: &Policy<'_>,
        now: i64,
    ) -> Result<VerifiedBundle, VerificationError> {
        verify_inner(bundle, policy, &self.trust, Some(&self.caches), now)
    }

    /// Parses `bundle_json` and verifies it.
    pub fn verify_json(
        &self,
        bundle_json: &[u8],
        policy: &Policy<'_>,
        now: i64,
    ) -> Result<VerifiedBundle, VerificationError> {
        let bundle = Bundle::from_json(bundle_json)?;
        self.verify(&bundle, policy, now)
    }

    /// How many checkpoints and leaf certificates are remembered now.
    pub fn cached(&self) -> (usize, usize) {
        (self.caches.checkpoints.len(), self.caches.leaves.len())
    }
}

/// The memos of a [`Verifier`].
#[derive(Debug)]
struct Caches {
    /// Key: the log's position in the trust material, then the checkpoint envelope (note text
    /// and every signature line). Value: the checkpoint [`tlog::verify_log_checkpoint`]
    /// returned for exactly those bytes and that log.
    checkpoints: BoundedCache<Checkpoint>,
    /// Key: the authority's position in the trust material and the position in its chain of
    /// the certificate that issued the leaf, then the leaf's DER. Present only when the leaf's
    /// signature verified with that certificate's key AND its embedded SCTs verified with that
    /// certificate as their issuer (CT logs fixed): the value is what the SCT check returned.
    /// The chain position is part of the key because a leaf may be issued by any certificate
    /// of the chain and two of them may share a subject (a re-keyed CA): without it, a success
    /// under one would answer the signature check for the other, and the path and SCT issuer
    /// reported would be those of a certificate that never signed the leaf.
    leaves: BoundedCache<Vec<VerifiedSct>>,
}

impl Caches {
    fn verify_checkpoint(&self, envelope: &str, log: &TransparencyLog) -> Result<Checkpoint, TlogError> {
        // Keyed by the log's ID (unique in the trust material) and the exact note bytes.
        let key = cache::key(&log.log_id, envelope.as_bytes());
        if let Some(checkpoint) = self.checkpoints.get(&key) {
            return Ok(checkpoint);
        }
        let checkpoint = tlog::verify_log_checkpoint(envelope, log)?;
        self.checkpoints.insert(key, checkpoint.clone());
        Ok(checkpoint)
    }

    /// [`certificate::verify_chain`] then [`sct::verify_scts`], each signature check answered
    /// from the leaf memo when this leaf verified under the same authority before. The
    /// validity of every certificate at the signing times is checked every time.
    fn verify_chain_and_scts(
        &self,
        leaf: &ParsedCertificate,
        cas: &[CertificateAuthority],
        times: &[SigningTime],
        ct_logs: &[CtLogKey],
    ) -> Result<(VerifiedChain, Vec<VerifiedSct>), VerificationError> {
        let mut remembered = None;
        let chain = certificate::verify_chain_with(leaf, cas, times, |index, issuer, ca| {
            match self.leaves.get(&leaf_key(index, issuer, &leaf.der)) {
                Some(scts) => {
                    remembered = Some((index, issuer, scts));
                    Ok(())
                }
                None => certificate::verify_leaf_signature(leaf, ca, issuer),
            }
        })?;
        // A hit on a path that then failed (validity at the signing times) does not count:
        // only the issuer the chain verified under names the SCT issuer.
        if let Some((_, _, scts)) =
            remembered.filter(|(index, issuer, _)| (*index, *issuer) == (chain.authority, chain.issuer))
        {
            return Ok((chain, scts));
        }
        let scts = sct::verify_scts(&leaf.der, &chain.issuer_spki, ct_logs)?;
        self.leaves
            .insert(leaf_key(chain.authority, chain.issuer, &leaf.der), scts.clone());
        Ok((chain, scts))
    }
}

/// The leaf memo's key: the authority's index and the issuing certificate's position in its
/// chain (8 bytes each, big-endian), then the leaf's DER.
fn leaf_key(authority: usize, issuer: usize, leaf_der: &[u8]) -> Vec<u8> {
    let mut against = [0u8; 16];
    against[..8].copy_from_slice(&(authority as u64).to_be_bytes());
    against[8..].copy_from_slice(&(issuer as u64).to_be_bytes());
    cache::key(&against, leaf_der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cas::{intermediate, leaf, parse_chain, root, since, CtLog};

    const T0: i64 = 1_767_225_600;

    fn at(t: i64) -> Vec<SigningTime> {
        vec![SigningTime {
            unix: t,
            source: TimeSource::IntegratedTime {
                log_base_url: "https://log.example".into(),
                log_index: 0,
            },
        }]
    }

    fn caches() -> Caches {
        Caches {
            checkpoints: BoundedCache::new(4),
            leaves: BoundedCache::new(4),
        }
    }

    /// A re-keyed CA: the intermediate has the root's subject under its own key, and the leaf
    /// is issued by the root. A memo keyed by the authority alone would answer the
    /// intermediate's signature check with the root's remembered success and report the
    /// intermediate as the issuer (and SCT issuer) on every later bundle.
    #[test]
    fn the_leaf_memo_remembers_which_chain_certificate_issued_the_leaf() {
        let root = root("signet-ca", T0 - 86_400, T0 + 86_400);
        let rekeyed = intermediate(&root, "signet-ca", T0 - 86_400, T0 + 86_400);
        let ct = CtLog::new();
        let cas = [CertificateAuthority::new(
            "signet.test/ca".into(),
            parse_chain(&[&rekeyed.der, &root.der]),
            since(T0 - 86_400),
        )
        .unwrap()];
        let ct_logs = [ct.trusted()];
        let by_root = leaf(&root, &ct, T0, 1);
        let by_rekeyed = leaf(&rekeyed, &ct, T0, 2);

        let c = caches();
        for round in ["cold", "warm"] {
            let (chain, scts) = c
                .verify_chain_and_scts(&by_root, &cas, &at(T0), &ct_logs)
                .unwrap();
            assert_eq!(chain.issuer, 1, "{round}");
            assert_eq!(chain.issuer_spki, root.spki(), "{round}");
            assert_eq!(scts.len(), 1);
            let (chain, _) = c
                .verify_chain_and_scts(&by_rekeyed, &cas, &at(T0), &ct_logs)
                .unwrap();
            assert_eq!(chain.issuer, 0, "{round}");
        }
        assert_eq!(c.leaves.len(), 2);
        assert!(c.leaves.get(&leaf_key(0, 1, &by_root.der)).is_some());
        assert!(c.leaves.get(&leaf_key(0, 0, &by_root.der)).is_none());
    }
}
