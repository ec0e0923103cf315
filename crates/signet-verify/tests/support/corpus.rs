//! A corpus of bundles as signet's own stack makes them, for the benchmark and the tests: a
//! P-256 Fulcio root and intermediate, a CT log's SCT embedded in each leaf, a Rekor v2 tree
//! of [`PREFILL`] leaves plus the corpus with one signed checkpoint per [`BATCH`] entries (so
//! the bundles of a batch share it, as a real log's do), and an RFC 3161 token from a TSA
//! whose trusted chain names its leaf. Every bundle has its own signing key, certificate and
//! artifact.

#![allow(dead_code)] // each including target uses part of it

use std::sync::Arc;

use signet_crypto::{sha256, HashAlgorithm, KeyKind, PublicKey, PublicKeyDetails, SigningKey};
use signet_formats::bundle::{
    Bundle, BundleContent, BundleVersion, MessageSignature, TimestampVerificationData, VerificationMaterial,
    VerificationMaterialContent,
};
use signet_formats::common::{
    DistinguishedName, HashOutput, LogId, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::rekor_v2::{
    self, HashedRekordRequestV002, InclusionProof, KindVersion, TransparencyLogEntry, VerifierKey,
};
use signet_formats::trust::{CertificateAuthority as RootCa, TransparencyLogInstance, TrustedRoot};
use signet_tlog::{rekor_log_id, sign_checkpoint, Checkpoint, MemoryTree, NoteSigner};
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate, CertificateParams};
use signet_x509::sct::{precert_tbs, sign_sct, LogEntry};
use signet_x509::{
    fulcio_intermediate_certificate, fulcio_root_certificate, oid, CertificateIdentity, FulcioExtensions,
    FulcioLeaf, ParsedCertificate, SubjectAlternativeName, TimestampRequest, TokenIssuer,
};

pub const T0: i64 = 1_767_225_600; // 2026-01-01
pub const ORIGIN: &str = "log.signet.example";
pub const IDENTITY: &str = "https://github.com/example/release/.github/workflows/release.yml@refs/heads/main";
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Entries per signed checkpoint: bundles of one batch share it, as a Rekor v2 log's do.
pub const BATCH: usize = 64;
/// Leaves already in the log before the corpus in the benchmark, so proofs have a realistic
/// depth (~20).
pub const PREFILL: u64 = 1 << 20;

pub struct Corpus {
    pub root_json: Vec<u8>,
    pub bundles: Vec<Vec<u8>>,
    pub artifacts: Vec<Vec<u8>>,
    /// The TSA, to stamp a signature at another time.
    pub tsa: TokenIssuer,
}

fn dn(cn: &str) -> DistinguishedName {
    DistinguishedName {
        organization: "signet".into(),
        common_name: cn.into(),
    }
}

fn chain(certs: &[&[u8]]) -> X509CertificateChain {
    X509CertificateChain {
        certificates: certs
            .iter()
            .map(|c| X509Certificate {
                raw_bytes: c.to_vec(),
            })
            .collect(),
    }
}

pub fn build_corpus(n: usize, prefill: u64) -> Corpus {
    let p256 = || SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let params = |subject, serial| CertificateParams {
        subject,
        serial,
        not_before: T0 - 86_400,
        not_after: T0 + 365 * 86_400,
    };
    let since = TimeRange::starting(Timestamp::from_unix(T0 - 86_400));

    // Fulcio: root and intermediate, P-256.
    let (ca_root_key, ca_key) = (p256(), p256());
    let (root_dn, inter_dn) = (dn("signet-ca-root"), dn("signet-ca"));
    let ca_root = fulcio_root_certificate(&ca_root_key, &params(&root_dn, &[1; 16])).unwrap();
    let ca_inter = fulcio_intermediate_certificate(
        &ca_root_key,
        &ca_root,
        ca_key.public_key(),
        &params(&inter_dn, &[2; 16]),
    )
    .unwrap();
    let inter_spki_hash = sha256(
        &der::Encode::to_der(
            &ParsedCertificate::from_der(&ca_inter)
                .unwrap()
                .cert
                .tbs_certificate
                .subject_public_key_info,
        )
        .unwrap(),
    );

    // CT log.
    let ct_key = p256();
    let ct_log_id = sha256(ct_key.public_key().spki_der());

    // TSA: root and leaf, P-256; tokens embed the leaf.
    let (tsa_root_key, tsa_key) = (p256(), Arc::new(p256()));
    let (tsa_root_dn, tsa_dn) = (dn("signet-tsa-root"), dn("signet-tsa"));
    let tsa_root = tsa_root_certificate(&tsa_root_key, &params(&tsa_root_dn, &[3; 16])).unwrap();
    let tsa_leaf = tsa_leaf_certificate(
        &tsa_root_key,
        &tsa_root,
        tsa_key.public_key(),
        &params(&tsa_dn, &[4; 16]),
    )
    .unwrap();
    let tsa = TokenIssuer::new(tsa_key, &tsa_leaf, oid::SIGSTORE_TSA_POLICY, 1).unwrap();

    // Rekor v2 log: a tree of `prefill` leaves, then the corpus in batches.
    let log_key = p256();
    let log_public = log_key.public_key().clone();
    let log_id = rekor_log_id(ORIGIN, &log_public).to_vec();
    let note_signer = NoteSigner::new(ORIGIN, log_key).unwrap();
    let mut tree = MemoryTree::new();
    for i in 0..prefill {
        tree.push_leaf_hash(sha256(&i.to_be_bytes()));
    }

    let identity = CertificateIdentity {
        san: SubjectAlternativeName::Uri(IDENTITY.into()),
        extensions: FulcioExtensions {
            issuer: Some(ISSUER.into()),
            ..Default::default()
        },
    };

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
        let key = p256();
        let serial: Vec<u8> = sha256(&(i as u64).to_be_bytes())[..16].to_vec();
        let template = FulcioLeaf {
            issuer_cert_der: &ca_inter,
            subject_key: key.public_key(),
            identity: &identity,
            serial: &serial,
            not_before: t,
            not_after: t + 600,
        };
        let precert = template.precertificate(&ca_key).unwrap();
        let tbs = precert_tbs(&precert).unwrap();
        let entry = LogEntry::Precert {
            issuer_key_hash: inter_spki_hash,
            tbs_certificate: &tbs,
        };
        let sct = sign_sct(&ct_key, ct_log_id, (t * 1000) as u64, &entry, &[]).unwrap();
        let leaf = template.certificate(&ca_key, &[sct]).unwrap();

        // The artifact, its signature, a timestamp over the signature, the log entry.
        let artifact = format!("release artifact {i}\n").repeat(40).into_bytes();
        let digest = sha256(&artifact);
        let signature = key.sign(&artifact).unwrap();
        let token = timestamp(&tsa, &signature, i as u64 + 1, t + 1);
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
                origin: ORIGIN.into(),
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

    let key_entry = |key: &PublicKey| {
        signet_formats::common::PublicKey::new(
            key.spki_der().to_vec(),
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            since.clone(),
        )
    };
    let mut root = TrustedRoot::new();
    root.tlogs.push(TransparencyLogInstance {
        base_url: format!("https://{ORIGIN}"),
        hash_algorithm: "SHA2_256".into(),
        public_key: key_entry(&log_public),
        log_id: LogId { key_id: log_id },
        checkpoint_key_id: None,
        operator: None,
    });
    root.ctlogs.push(TransparencyLogInstance {
        base_url: "https://ct.signet.example".into(),
        hash_algorithm: "SHA2_256".into(),
        public_key: key_entry(ct_key.public_key()),
        log_id: LogId {
            key_id: ct_log_id.to_vec(),
        },
        checkpoint_key_id: None,
        operator: None,
    });
    root.certificate_authorities.push(RootCa {
        subject: inter_dn.clone(),
        uri: Some("https://ca.signet.example".into()),
        cert_chain: chain(&[&ca_inter, &ca_root]),
        valid_for: since.clone(),
        operator: None,
    });
    root.timestamp_authorities.push(RootCa {
        subject: tsa_dn.clone(),
        uri: Some("https://tsa.signet.example".into()),
        cert_chain: chain(&[&tsa_leaf, &tsa_root]),
        valid_for: since,
        operator: None,
    });
    Corpus {
        root_json: root.to_json(),
        bundles,
        artifacts,
        tsa,
    }
}

/// An RFC 3161 response over `signature`, embedding the TSA certificate, as the bundle keeps it.
pub fn timestamp(tsa: &TokenIssuer, signature: &[u8], serial: u64, gen_time: i64) -> Vec<u8> {
    let mut request = TimestampRequest::new(HashAlgorithm::Sha2_256, sha256(signature).to_vec()).unwrap();
    request.cert_req = true;
    tsa.issue(&request, &serial.to_be_bytes(), gen_time).unwrap()
}
