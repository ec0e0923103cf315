//! A private Sigstore instance for tests: a P-256 Fulcio root and intermediate, two CT logs,
//! a TSA, a Rekor v1-style log and a Rekor v2 log, with its trusted root. Tests build bundles
//! that differ from a good one in exactly one respect and check what the verifier decides.

#![allow(dead_code)] // each including target uses part of it

use std::sync::Arc;

use base64::Engine as _;
use der::asn1::BitString;
use der::{Decode, Encode};
use signet_crypto::{sha256, HashAlgorithm, KeyKind, PublicKey, PublicKeyDetails, SigningKey};
use signet_formats::bundle::{
    Bundle, BundleContent, BundleVersion, MessageSignature, TimestampVerificationData, VerificationMaterial,
    VerificationMaterialContent,
};
use signet_formats::common::{
    DistinguishedName, HashOutput, LogId, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::dsse::{Envelope, Signature as DsseSignature};
use signet_formats::intoto::{ResourceDescriptor, Statement};
use signet_formats::rekor_v2::{
    self, HashedRekordRequestV002, InclusionPromise, InclusionProof, KindVersion, TransparencyLogEntry,
    VerifierKey,
};
use signet_formats::trust::{CertificateAuthority as RootCa, TransparencyLogInstance, TrustedRoot};
use signet_tlog::{rekor_log_id, sign_checkpoint, Checkpoint, MemoryTree, NoteSigner};
use signet_verify::{Artifact, ArtifactDigest, IdentityPolicy, Policy, PreparedTrust, SignerPolicy};
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate, CertificateParams};
use signet_x509::sct::{precert_tbs, sct_list_extension, sign_sct, LogEntry, SignedCertificateTimestamp};
use signet_x509::{
    fulcio_intermediate_certificate, fulcio_root_certificate, oid, CertificateIdentity, FulcioExtensions,
    FulcioLeaf, ParsedCertificate, SubjectAlternativeName, TimestampRequest, TokenIssuer,
};
use x509_cert::certificate::TbsCertificate;
use x509_cert::Certificate;

pub const T0: i64 = 1_767_225_600; // 2026-01-01
/// A verification time after everything the PKI signs.
pub const NOW: i64 = T0 + 86_400;
pub const IDENTITY: &str = "https://github.com/example/release/.github/workflows/release.yml@refs/heads/main";
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";
const V1_BASE_URL: &str = "https://rekor1.signet.example";
/// The name a Rekor v1 log's checkpoints carry by default (its base URL's host).
pub const V1_NAME: &str = "rekor1.signet.example";
const POISON: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");

pub fn p256() -> SigningKey {
    SigningKey::generate(KeyKind::EcdsaP256).unwrap()
}

pub fn copy(k: &SigningKey) -> SigningKey {
    SigningKey::from_pkcs8_der(k.pkcs8_der()).unwrap()
}

pub fn dn(cn: &str) -> DistinguishedName {
    DistinguishedName {
        organization: "signet".into(),
        common_name: cn.into(),
    }
}

pub fn chain(certs: &[&[u8]]) -> X509CertificateChain {
    X509CertificateChain {
        certificates: certs
            .iter()
            .map(|c| X509Certificate {
                raw_bytes: c.to_vec(),
            })
            .collect(),
    }
}

pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The keys and certificates of the instance.
pub struct Pki {
    pub ca_root_key: SigningKey,
    pub ca_key: SigningKey,
    pub ca_root: Vec<u8>,
    pub ca_inter: Vec<u8>,
    pub ca_dn: DistinguishedName,
    pub ct_keys: Vec<SigningKey>,
    pub tsa: TokenIssuer,
    pub tsa_leaf: Vec<u8>,
    pub tsa_root: Vec<u8>,
    pub tsa_dn: DistinguishedName,
    pub v2_key: SigningKey,
    /// The Rekor v2 log's base URL and its checkpoints' origin.
    pub v2_base_url: String,
    pub v2_origin: String,
    pub v1_key: SigningKey,
}

impl Pki {
    /// An instance whose Rekor v2 log is at `https://log.signet.example`.
    pub fn new() -> Self {
        Self::with_v2_log("https://log.signet.example", "log.signet.example")
    }

    /// An instance whose Rekor v2 log is at `base_url` and signs checkpoints as `origin`.
    pub fn with_v2_log(base_url: &str, origin: &str) -> Self {
        let params = |subject, serial| CertificateParams {
            subject,
            serial,
            not_before: T0 - 86_400,
            not_after: T0 + 365 * 86_400,
        };
        let (ca_root_key, ca_key) = (p256(), p256());
        let (root_dn, ca_dn, tsa_root_dn, tsa_dn) = (
            dn("signet-ca-root"),
            dn("signet-ca"),
            dn("signet-tsa-root"),
            dn("signet-tsa"),
        );
        let ca_root = fulcio_root_certificate(&ca_root_key, &params(&root_dn, &[1; 16])).unwrap();
        let ca_inter = fulcio_intermediate_certificate(
            &ca_root_key,
            &ca_root,
            ca_key.public_key(),
            &params(&ca_dn, &[2; 16]),
        )
        .unwrap();
        let (tsa_root_key, tsa_key) = (p256(), Arc::new(p256()));
        let tsa_root = tsa_root_certificate(&tsa_root_key, &params(&tsa_root_dn, &[3; 16])).unwrap();
        let tsa_leaf = tsa_leaf_certificate(
            &tsa_root_key,
            &tsa_root,
            tsa_key.public_key(),
            &params(&tsa_dn, &[4; 16]),
        )
        .unwrap();
        let tsa = TokenIssuer::new(tsa_key, &tsa_leaf, oid::SIGSTORE_TSA_POLICY, 1).unwrap();
        Pki {
            ca_root_key,
            ca_key,
            ca_root,
            ca_inter,
            ca_dn,
            ct_keys: vec![p256(), p256()],
            tsa,
            tsa_leaf,
            tsa_root,
            tsa_dn,
            v2_key: p256(),
            v2_base_url: base_url.into(),
            v2_origin: origin.into(),
            v1_key: p256(),
        }
    }

    pub fn v1_log_id(&self) -> Vec<u8> {
        sha256(self.v1_key.public_key().spki_der()).to_vec()
    }

    pub fn v2_log_id(&self) -> Vec<u8> {
        rekor_log_id(&self.v2_origin, self.v2_key.public_key()).to_vec()
    }

    pub fn trust(&self) -> PreparedTrust {
        PreparedTrust::from_trusted_root(&self.root())
    }

    /// The trust material of [`Pki::root`] after `edit` changed its JSON: for what the typed
    /// root cannot say, such as an authority without `validFor`.
    pub fn trust_edited(&self, edit: impl FnOnce(&mut serde_json::Value)) -> PreparedTrust {
        let mut json: serde_json::Value = serde_json::from_slice(&self.root().to_json()).unwrap();
        edit(&mut json);
        let root = TrustedRoot::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
        PreparedTrust::from_trusted_root(&root)
    }

    /// The trusted root: both logs, both CT logs, the CA ([intermediate, root]) and the TSA.
    pub fn root(&self) -> TrustedRoot {
        let since = TimeRange::starting(Timestamp::from_unix(T0 - 86_400));
        let key_entry = |key: &PublicKey| {
            signet_formats::common::PublicKey::new(
                key.spki_der().to_vec(),
                PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
                since.clone(),
            )
        };
        let log = |base_url: &str, key: &SigningKey, key_id: Vec<u8>| TransparencyLogInstance {
            base_url: base_url.into(),
            hash_algorithm: "SHA2_256".into(),
            public_key: key_entry(key.public_key()),
            log_id: LogId { key_id },
            checkpoint_key_id: None,
            operator: None,
        };
        let mut root = TrustedRoot::new();
        root.tlogs
            .push(log(&self.v2_base_url, &self.v2_key, self.v2_log_id()));
        root.tlogs.push(log(V1_BASE_URL, &self.v1_key, self.v1_log_id()));
        for (i, k) in self.ct_keys.iter().enumerate() {
            let id = sha256(k.public_key().spki_der()).to_vec();
            root.ctlogs
                .push(log(&format!("https://ct{i}.signet.example"), k, id));
        }
        root.certificate_authorities.push(RootCa {
            subject: self.ca_dn.clone(),
            uri: Some("https://ca.signet.example".into()),
            cert_chain: chain(&[&self.ca_inter, &self.ca_root]),
            valid_for: since.clone(),
            operator: None,
        });
        root.timestamp_authorities.push(RootCa {
            subject: self.tsa_dn.clone(),
            uri: Some("https://tsa.signet.example".into()),
            cert_chain: chain(&[&self.tsa_leaf, &self.tsa_root]),
            valid_for: since,
            operator: None,
        });
        root
    }

    /// A Fulcio leaf for `key`, valid [t, t+600], issued by the intermediate (or by the root
    /// with `by_root`), with an SCT from each of `ct_logs`. `mutate` may change the
    /// precertificate's TBS first; the SCTs are over the changed one, so they verify.
    pub fn leaf_for(
        &self,
        key: &SigningKey,
        t: i64,
        by_root: bool,
        ct_logs: &[usize],
        mutate: impl FnOnce(&mut TbsCertificate),
    ) -> Vec<u8> {
        let (issuer_der, issuer_key) = if by_root {
            (&self.ca_root, &self.ca_root_key)
        } else {
            (&self.ca_inter, &self.ca_key)
        };
        let identity = identity();
        let template = FulcioLeaf {
            issuer_cert_der: issuer_der,
            subject_key: key.public_key(),
            identity: &identity,
            serial: &sha256(key.public_key().spki_der())[..16],
            not_before: t,
            not_after: t + 600,
        };
        let precert = template.precertificate(issuer_key).unwrap();
        let mut cert = Certificate::from_der(&precert).unwrap();
        mutate(&mut cert.tbs_certificate);
        let precert = cert.to_der().unwrap();
        let tbs = precert_tbs(&precert).unwrap();
        let issuer_spki = ParsedCertificate::from_der(issuer_der)
            .unwrap()
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        let entry = LogEntry::Precert {
            issuer_key_hash: sha256(&issuer_spki),
            tbs_certificate: &tbs,
        };
        let scts: Vec<SignedCertificateTimestamp> = ct_logs
            .iter()
            .map(|&i| {
                let k = &self.ct_keys[i];
                sign_sct(
                    k,
                    sha256(k.public_key().spki_der()),
                    (t * 1000) as u64,
                    &entry,
                    &[],
                )
                .unwrap()
            })
            .collect();
        let mut tbs_final = cert.tbs_certificate.clone();
        let list = sct_list_extension(&scts).unwrap();
        for e in tbs_final.extensions.as_mut().unwrap().iter_mut() {
            if e.extn_id == POISON {
                *e = list.clone();
            }
        }
        let tbs_der = tbs_final.to_der().unwrap();
        let signature = issuer_key.sign(&tbs_der).unwrap();
        Certificate {
            signature_algorithm: tbs_final.signature.clone(),
            tbs_certificate: tbs_final,
            signature: BitString::from_bytes(&signature).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    /// A fresh P-256 key and its leaf, valid [t, t+600], issued by the intermediate.
    pub fn leaf(&self, t: i64) -> (SigningKey, Vec<u8>) {
        let key = p256();
        let leaf = self.leaf_for(&key, t, false, &[0], |_| {});
        (key, leaf)
    }

    /// An RFC 3161 response over `signature` at `gen_time`, embedding the TSA certificate.
    pub fn token(&self, signature: &[u8], gen_time: i64) -> Vec<u8> {
        let mut request = TimestampRequest::new(HashAlgorithm::Sha2_256, sha256(signature).to_vec()).unwrap();
        request.cert_req = true;
        self.tsa.issue(&request, &[7; 8], gen_time).unwrap()
    }

    /// A Rekor v2 entry recording `body`, with an inclusion proof and a checkpoint signed as
    /// `origin` (a C2SP note whose origin line is `origin` too).
    pub fn v2_entry_signed_as(&self, origin: &str, kind: &str, body: Vec<u8>) -> TransparencyLogEntry {
        let mut tree = MemoryTree::new();
        for i in 0..5u64 {
            tree.push_leaf_hash(sha256(&i.to_be_bytes()));
        }
        let index = tree.push_data(&body);
        tree.push_leaf_hash(sha256(b"after"));
        let checkpoint = Checkpoint {
            origin: origin.into(),
            size: tree.size(),
            root_hash: tree.root(),
            extensions: vec![],
        };
        let signer = NoteSigner::new(origin, copy(&self.v2_key)).unwrap();
        let envelope = sign_checkpoint(&checkpoint, &[&signer]).unwrap();
        entry(
            self.v2_log_id(),
            kind,
            "0.0.2",
            body,
            &tree,
            index,
            envelope,
            None,
            None,
        )
    }

    /// A Rekor v2 entry recording `body`, signed as the log's origin.
    pub fn v2_entry(&self, kind: &str, body: Vec<u8>) -> TransparencyLogEntry {
        self.v2_entry_signed_as(&self.v2_origin.clone(), kind, body)
    }

    /// A Rekor v1 entry (`kind` `version`) recording `body` with an inclusion proof, its
    /// checkpoint signed under `note_name` with origin `"<note_name> - 42"`, an
    /// `integrated_time`, and a SET over it if `with_set`.
    #[allow(clippy::too_many_arguments)]
    pub fn v1_entry_named(
        &self,
        note_name: &str,
        kind: &str,
        version: &str,
        body: Vec<u8>,
        integrated_time: Option<i64>,
        with_set: bool,
    ) -> TransparencyLogEntry {
        let mut tree = MemoryTree::new();
        for i in 0..3u64 {
            tree.push_leaf_hash(sha256(&i.to_be_bytes()));
        }
        let index = tree.push_data(&body);
        let checkpoint = Checkpoint {
            origin: format!("{note_name} - 42"),
            size: tree.size(),
            root_hash: tree.root(),
            extensions: vec![],
        };
        let signer = NoteSigner::new(note_name, copy(&self.v1_key)).unwrap();
        let envelope = sign_checkpoint(&checkpoint, &[&signer]).unwrap();
        let promise = with_set.then(|| {
            let payload = format!(
                r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
                b64(&body),
                integrated_time.unwrap(),
                hex(&self.v1_log_id()),
                index
            );
            InclusionPromise {
                signed_entry_timestamp: self.v1_key.sign(payload.as_bytes()).unwrap(),
            }
        });
        entry(
            self.v1_log_id(),
            kind,
            version,
            body,
            &tree,
            index,
            envelope,
            integrated_time,
            promise,
        )
    }

    /// [`Pki::v1_entry_named`] under the log's usual name.
    pub fn v1_entry(
        &self,
        kind: &str,
        version: &str,
        body: Vec<u8>,
        integrated_time: Option<i64>,
        with_set: bool,
    ) -> TransparencyLogEntry {
        self.v1_entry_named(V1_NAME, kind, version, body, integrated_time, with_set)
    }
}

#[allow(clippy::too_many_arguments)]
fn entry(
    log_id: Vec<u8>,
    kind: &str,
    version: &str,
    body: Vec<u8>,
    tree: &MemoryTree,
    index: u64,
    envelope: String,
    integrated_time: Option<i64>,
    inclusion_promise: Option<InclusionPromise>,
) -> TransparencyLogEntry {
    let size = tree.size();
    TransparencyLogEntry {
        log_index: index,
        log_id: LogId { key_id: log_id },
        kind_version: KindVersion {
            kind: kind.into(),
            version: version.into(),
        },
        integrated_time,
        inclusion_promise,
        inclusion_proof: Some(InclusionProof {
            log_index: index,
            root_hash: tree.root().to_vec(),
            tree_size: size,
            hashes: tree
                .inclusion_proof(index, size)
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect(),
            checkpoint: Some(rekor_v2::Checkpoint { envelope }),
        }),
        canonicalized_body: body,
    }
}

/// The identity every leaf states.
pub fn identity() -> CertificateIdentity {
    CertificateIdentity {
        san: SubjectAlternativeName::Uri(IDENTITY.into()),
        extensions: FulcioExtensions {
            issuer: Some(ISSUER.into()),
            ..Default::default()
        },
    }
}

/// A v0.3 bundle.
pub fn bundle(
    leaf: Vec<u8>,
    entries: Vec<TransparencyLogEntry>,
    tokens: Vec<Vec<u8>>,
    content: BundleContent,
) -> Bundle {
    Bundle {
        media_type: BundleVersion::V0_3.media_type().to_string(),
        version: BundleVersion::V0_3,
        verification_material: VerificationMaterial {
            content: VerificationMaterialContent::Certificate(leaf),
            tlog_entries: entries,
            timestamp_verification_data: TimestampVerificationData {
                rfc3161_timestamps: tokens,
            },
        },
        content,
    }
}

/// A hashedrekord 0.0.2 body, as a Rekor v2 log records a request.
pub fn hashedrekord_v2(leaf: &[u8], details: PublicKeyDetails, digest: &[u8], signature: &[u8]) -> Vec<u8> {
    HashedRekordRequestV002 {
        digest: digest.to_vec(),
        signature: rekor_v2::Signature {
            content: signature.to_vec(),
            verifier: rekor_v2::Verifier {
                key: VerifierKey::X509Certificate(leaf.to_vec()),
                key_details: details,
            },
        },
    }
    .to_entry()
    .unwrap()
    .canonical_json()
}

/// A hashedrekord 0.0.2 body written out by hand, for bodies a log would not write.
pub fn hashedrekord_v2_raw(
    leaf: &[u8],
    algorithm: &str,
    details: &str,
    digest: &[u8],
    signature: &[u8],
) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"{algorithm}","digest":"{}"}},"signature":{{"content":"{}","verifier":{{"keyDetails":"{details}","x509Certificate":{{"rawBytes":"{}"}}}}}}}}}}}}"#,
        b64(digest),
        b64(signature),
        b64(leaf)
    )
    .into_bytes()
}

/// A hashedrekord 0.0.1 body (Rekor v1).
pub fn hashedrekord_v1(leaf: &[u8], algorithm: &str, digest: &[u8], signature: &[u8]) -> Vec<u8> {
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", leaf.to_vec()));
    format!(
        r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"{algorithm}","value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}}"#,
        hex(digest),
        b64(signature),
        b64(pem.as_bytes())
    )
    .into_bytes()
}

/// A message signature with its `messageDigest`.
pub fn message(digest: &[u8], algorithm: HashAlgorithm, signature: Vec<u8>) -> BundleContent {
    BundleContent::MessageSignature(MessageSignature {
        message_digest: Some(HashOutput {
            algorithm,
            digest: digest.to_vec(),
        }),
        signature,
    })
}

/// The policy every test bundle is verified against: the artifact and the PKI's identity.
pub fn policy(artifact: &[u8]) -> Policy<'_> {
    Policy::new(
        Artifact::Bytes(artifact),
        SignerPolicy::Identity(IdentityPolicy::exact(IDENTITY, ISSUER)),
    )
}

/// [`policy`] for an artifact given only as its digest under `algorithm`.
pub fn policy_by_digest(algorithm: HashAlgorithm, digest: Vec<u8>) -> Policy<'static> {
    Policy::new(
        Artifact::Digest(ArtifactDigest { algorithm, digest }),
        SignerPolicy::Identity(IdentityPolicy::exact(IDENTITY, ISSUER)),
    )
}

/// A blob signed with a fresh P-256 key at [`Signed::TIME`], and its leaf: what a test then logs
/// and bundles in the way it examines.
pub struct Signed {
    pub leaf: Vec<u8>,
    /// SHA-256 of the artifact.
    pub digest: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Signed {
    /// When [`Pki::sign_blob`] signs (T0 + 100; the leaf is valid for ten minutes from then).
    pub const TIME: i64 = T0 + 100;

    /// The hashedrekord 0.0.1 body a Rekor v1 log records for it.
    pub fn v1_body(&self) -> Vec<u8> {
        hashedrekord_v1(&self.leaf, "sha256", &self.digest, &self.signature)
    }

    /// The hashedrekord 0.0.2 body a Rekor v2 log records for it.
    pub fn v2_body(&self) -> Vec<u8> {
        hashedrekord_v2(
            &self.leaf,
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            &self.digest,
            &self.signature,
        )
    }

    /// A timestamp over the signature, a second after it was made.
    pub fn token(&self, pki: &Pki) -> Vec<u8> {
        pki.token(&self.signature, Self::TIME + 1)
    }

    /// A v0.3 bundle of the signature with `entries` and `tokens`.
    pub fn bundle(&self, entries: Vec<TransparencyLogEntry>, tokens: Vec<Vec<u8>>) -> Bundle {
        bundle(
            self.leaf.clone(),
            entries,
            tokens,
            message(&self.digest, HashAlgorithm::Sha2_256, self.signature.clone()),
        )
    }
}

impl Pki {
    /// Signs `artifact` at [`Signed::TIME`].
    pub fn sign_blob(&self, artifact: &[u8]) -> Signed {
        let (key, leaf) = self.leaf(Signed::TIME);
        Signed {
            leaf,
            digest: sha256(artifact).to_vec(),
            signature: key.sign(artifact).unwrap(),
        }
    }
}

/// An in-toto statement with `artifact` as its one subject (`artifact`, by SHA-256).
pub fn statement_about(artifact: &[u8]) -> Statement {
    Statement::new(
        vec![ResourceDescriptor::sha256("artifact", &sha256(artifact))],
        "https://example.com/predicate/v1",
        None,
    )
}

/// A DSSE envelope over `statement` signed by `key` (pure Ed25519, or ECDSA over the PAE).
pub fn envelope(key: &SigningKey, statement: &Statement) -> Envelope {
    let mut env = Envelope {
        payload: statement.to_json(),
        payload_type: "application/vnd.in-toto+json".into(),
        signatures: vec![],
    };
    let sig = key.sign(&env.pae()).unwrap();
    env.signatures.push(DsseSignature {
        sig,
        keyid: String::new(),
    });
    env
}

/// A Rekor v2 + TSA bundle of `statement`, signed at [`Signed::TIME`] and logged as
/// sigstore-python logs an attestation (a hashedrekord over SHA-256(PAE)).
pub fn dsse_v2(pki: &Pki, statement: &Statement) -> Bundle {
    let (key, leaf) = pki.leaf(Signed::TIME);
    let env = envelope(&key, statement);
    let sig = env.signatures[0].sig.clone();
    let body = hashedrekord_v2(
        &leaf,
        PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
        &sha256(&env.pae()),
        &sig,
    );
    bundle(
        leaf,
        vec![pki.v2_entry("hashedrekord", body)],
        vec![pki.token(&sig, Signed::TIME + 1)],
        BundleContent::DsseEnvelope(env),
    )
}

/// A good [`dsse_v2`] bundle of an in-toto attestation about `artifact`.
pub fn good_dsse_v2(pki: &Pki, artifact: &[u8]) -> Bundle {
    dsse_v2(pki, &statement_about(artifact))
}

/// A good Rekor v2 + TSA bundle over `artifact`, signed at [`Signed::TIME`].
pub fn good_v2(pki: &Pki, artifact: &[u8]) -> Bundle {
    let signed = pki.sign_blob(artifact);
    signed.bundle(
        vec![pki.v2_entry("hashedrekord", signed.v2_body())],
        vec![signed.token(pki)],
    )
}
