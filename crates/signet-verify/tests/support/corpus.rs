//! A corpus of bundles as signet's own stack makes them, for the benchmark and the tests: on
//! the private instance of [`pki`] (a P-256 Fulcio root and intermediate, a CT log's SCT
//! embedded in each leaf, an RFC 3161 TSA), a Rekor v2 tree of [`PREFILL`] leaves plus the
//! corpus with one signed checkpoint per [`BATCH`] entries (so the bundles of a batch share
//! it, as a real log's do). Every bundle has its own signing key, certificate and artifact.

#![allow(dead_code)] // each including target uses part of it

#[path = "pki.rs"]
pub mod pki;

use der::Encode as _;
use signet_crypto::{sha256, HashAlgorithm, PublicKeyDetails};
use signet_formats::bundle::{
    Bundle, BundleContent, BundleVersion, MessageSignature, TimestampVerificationData, VerificationMaterial,
    VerificationMaterialContent,
};
use signet_formats::common::{HashOutput, LogId};
use signet_formats::rekor_v2::{
    self, HashedRekordRequestV002, InclusionProof, KindVersion, TransparencyLogEntry, VerifierKey,
};
use signet_tlog::{sign_checkpoint, Checkpoint, MemoryTree, NoteSigner};
use signet_x509::sct::{precert_tbs, sign_sct, LogEntry};
use signet_x509::{FulcioLeaf, ParsedCertificate};

pub use pki::{Pki, IDENTITY, ISSUER, T0};

/// Entries per signed checkpoint: bundles of one batch share it, as a Rekor v2 log's do.
pub const BATCH: usize = 64;
/// Leaves already in the log before the corpus in the benchmark, so proofs have a realistic
/// depth (~20).
pub const PREFILL: u64 = 1 << 20;

pub struct Corpus {
    pub root_json: Vec<u8>,
    pub bundles: Vec<Vec<u8>>,
    pub artifacts: Vec<Vec<u8>>,
    /// The instance, to stamp a signature at another time.
    pub pki: Pki,
}

/// Which certificate of the trusted [intermediate, root] chain issues the corpus's leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafIssuer {
    /// The intermediate, as Fulcio does.
    Intermediate,
    /// The root directly (Go's `Verify`, hence sigstore-go, accepts that too).
    Root,
}

pub fn build_corpus(n: usize, prefill: u64) -> Corpus {
    build_corpus_issued_by(n, prefill, LeafIssuer::Intermediate)
}

/// [`build_corpus`], with the leaves issued by `issuer`.
pub fn build_corpus_issued_by(n: usize, prefill: u64, issuer: LeafIssuer) -> Corpus {
    let pki = Pki::new();
    let (leaf_issuer_der, leaf_issuer_key) = match issuer {
        LeafIssuer::Intermediate => (&pki.ca_inter, &pki.ca_key),
        LeafIssuer::Root => (&pki.ca_root, &pki.ca_root_key),
    };
    let issuer_spki_hash = sha256(
        &ParsedCertificate::from_der(leaf_issuer_der)
            .unwrap()
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap(),
    );
    let ct_key = &pki.ct_keys[0];
    let ct_log_id = sha256(ct_key.public_key().spki_der());

    // Rekor v2 log: a tree of `prefill` leaves, then the corpus in batches.
    let log_id = pki.v2_log_id();
    let note_signer = NoteSigner::new(&pki.v2_origin, pki::copy(&pki.v2_key)).unwrap();
    let mut tree = MemoryTree::new();
    for i in 0..prefill {
        tree.push_leaf_hash(sha256(&i.to_be_bytes()));
    }

    let identity = pki::identity();

    struct Pending {
        leaf: Vec<u8>,
        signature: Vec<u8>,
        digest: [u8; 32],
        token: Vec<u8>,
        body: Vec<u8>,
        index: u64,
    }
    let mut artifacts = Vec::with_capacity(n);
    let mut bundles = Vec::with_capacity(n);
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    for i in 0..n {
        let t = T0 + i as i64;
        // The signer: a fresh key and a 10-minute certificate with an embedded SCT.
        let key = pki::p256();
        let serial: Vec<u8> = sha256(&(i as u64).to_be_bytes())[..16].to_vec();
        let template = FulcioLeaf {
            issuer_cert_der: leaf_issuer_der,
            subject_key: key.public_key(),
            identity: &identity,
            serial: &serial,
            not_before: t,
            not_after: t + 600,
        };
        let precert = template.precertificate(leaf_issuer_key).unwrap();
        let tbs = precert_tbs(&precert).unwrap();
        let entry = LogEntry::Precert {
            issuer_key_hash: issuer_spki_hash,
            tbs_certificate: &tbs,
        };
        let sct = sign_sct(ct_key, ct_log_id, (t * 1000) as u64, &entry, &[]).unwrap();
        let leaf = template.certificate(leaf_issuer_key, &[sct]).unwrap();

        // The artifact, its signature, a timestamp over the signature, the log entry.
        let artifact = format!("release artifact {i}\n").repeat(40).into_bytes();
        let digest = sha256(&artifact);
        let signature = key.sign(&artifact).unwrap();
        let token = pki.token(&signature, t + 1);
        let body = HashedRekordRequestV002 {
            digest: digest.to_vec(),
            signature: rekor_v2::Signature {
                content: signature.clone(),
                verifier: rekor_v2::Verifier {
                    key: VerifierKey::X509Certificate(leaf.clone()),
                    key_details: PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
                },
            },
        }
        .to_entry()
        .unwrap()
        .canonical_json();
        let index = tree.push_data(&body);
        artifacts.push(artifact);
        batch.push(Pending {
            leaf,
            signature,
            digest,
            token,
            body,
            index,
        });

        // End of a batch: one signed checkpoint, then each entry's proof against it.
        if batch.len() == BATCH || i + 1 == n {
            let size = tree.size();
            let checkpoint = Checkpoint {
                origin: pki.v2_origin.clone(),
                size,
                root_hash: tree.root(),
                extensions: vec![],
            };
            let envelope = sign_checkpoint(&checkpoint, &[&note_signer]).unwrap();
            for p in batch.drain(..) {
                let hashes = tree.inclusion_proof(p.index, size).unwrap();
                let entry = TransparencyLogEntry {
                    log_index: p.index,
                    log_id: LogId {
                        key_id: log_id.clone(),
                    },
                    kind_version: KindVersion {
                        kind: "hashedrekord".into(),
                        version: "0.0.2".into(),
                    },
                    integrated_time: None,
                    inclusion_promise: None,
                    inclusion_proof: Some(InclusionProof {
                        log_index: p.index,
                        root_hash: checkpoint.root_hash.to_vec(),
                        tree_size: size,
                        hashes: hashes.iter().map(|h| h.to_vec()).collect(),
                        checkpoint: Some(rekor_v2::Checkpoint {
                            envelope: envelope.clone(),
                        }),
                    }),
                    canonicalized_body: p.body,
                };
                let bundle = Bundle {
                    media_type: BundleVersion::V0_3.media_type().to_string(),
                    version: BundleVersion::V0_3,
                    verification_material: VerificationMaterial {
                        content: VerificationMaterialContent::Certificate(p.leaf),
                        tlog_entries: vec![entry],
                        timestamp_verification_data: TimestampVerificationData {
                            rfc3161_timestamps: vec![p.token],
                        },
                    },
                    content: BundleContent::MessageSignature(MessageSignature {
                        message_digest: Some(HashOutput {
                            algorithm: HashAlgorithm::Sha2_256,
                            digest: p.digest.to_vec(),
                        }),
                        signature: p.signature,
                    }),
                };
                bundles.push(bundle.to_json());
            }
        }
    }

    Corpus {
        root_json: pki.root().to_json(),
        bundles,
        artifacts,
        pki,
    }
}
