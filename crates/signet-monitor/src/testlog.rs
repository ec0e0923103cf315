//! Logs held in memory, one per kind the monitor follows (a tlog-tiles log, a Rekor v1 API
//! log, a CT log serving both RFC 6962 and static-ct-api), each able to misbehave on demand,
//! with a Fulcio-shaped CA issuing real leaf certificates, for the monitor's tests and
//! benchmark (`cargo bench -p signet-monitor`). Not for production: keys are generated per
//! instance and nothing is persisted.

use std::cell::{Cell, RefCell};
use std::sync::Mutex;

use signet_crypto::{HashAlgorithm, KeyKind, PublicKey, SigningKey};
use signet_formats::common::{DistinguishedName, HashOutput};
use signet_formats::rekor_v2::{Entry, HashedRekordLogEntryV002, Signature, Spec, Verifier, VerifierKey};
use signet_tlog::{
    encode_entry_bundle, sign_checkpoint, Checkpoint, EntryBundleId, HashReader, MemoryTree, NoteSigner,
    NoteVerifier, TileId, TILE_WIDTH,
};
use signet_x509::fulcio::{fulcio_intermediate_certificate, fulcio_root_certificate, FulcioLeaf};
use signet_x509::profile::CertificateParams;
use signet_x509::{CertificateIdentity, FulcioExtensions, SubjectAlternativeName};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use signet_formats::common::{TimeRange, Timestamp};
use signet_tlog::{Hash, Note, NoteSignature};
use signet_x509::sct::{
    precert_tbs, sign_digitally_signed, DigitallySigned, OwnedLogEntry, TimestampedEntry,
};
use signet_x509::static_ct::{note_key_id, tree_head_signature_input, Rfc6962NoteSignature, TileLeaf};

use crate::follow::LogTarget;
use crate::source::{CtSource, LogSource, SourceError, V1Source};

/// A CA issuing Fulcio leaves (precertificates: the CT poison is the one difference, and the
/// monitor reads neither).
pub struct TestCa {
    key: SigningKey,
    cert: Vec<u8>,
    leaf_key: SigningKey,
}

impl TestCa {
    pub fn new() -> Result<TestCa, String> {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let root_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|x| e(&x))?;
        let key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|x| e(&x))?;
        let dn = |cn: &str| DistinguishedName {
            organization: "signet-test".into(),
            common_name: cn.into(),
        };
        let (root_dn, dn) = (dn("test-root"), dn("test-intermediate"));
        let params = |subject, serial| CertificateParams {
            subject,
            serial,
            not_before: 1_700_000_000,
            not_after: 1_900_000_000,
        };
        let root = fulcio_root_certificate(&root_key, &params(&root_dn, &[1; 8])).map_err(|x| e(&x))?;
        let cert = fulcio_intermediate_certificate(&root_key, &root, key.public_key(), &params(&dn, &[2; 8]))
            .map_err(|x| e(&x))?;
        let leaf_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|x| e(&x))?;
        Ok(TestCa { key, cert, leaf_key })
    }

    /// A leaf for `email` from `issuer`, with a build-signer-uri extension when given.
    pub fn leaf(
        &self,
        email: &str,
        issuer: &str,
        build_signer_uri: Option<&str>,
        serial: u64,
    ) -> Result<Vec<u8>, String> {
        let identity = CertificateIdentity {
            san: SubjectAlternativeName::Email(email.into()),
            extensions: FulcioExtensions {
                issuer: Some(issuer.into()),
                build_signer_uri: build_signer_uri.map(str::to_string),
                ..FulcioExtensions::default()
            },
        };
        let serial = serial.to_be_bytes();
        FulcioLeaf {
            issuer_cert_der: &self.cert,
            subject_key: self.leaf_key.public_key(),
            identity: &identity,
            serial: &serial,
            not_before: 1_750_000_000,
            not_after: 1_750_000_600,
        }
        .precertificate(&self.key)
        .map_err(|e| e.to_string())
    }
}

/// The canonical body of a hashedrekord 0.0.2 entry for `digest` signed under `verifier`.
pub fn hashedrekord_body(digest: [u8; 32], verifier: VerifierKey) -> Vec<u8> {
    Entry {
        spec: Spec::HashedRekordV002(HashedRekordLogEntryV002 {
            data: HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: digest.to_vec(),
            },
            signature: Signature {
                // The monitor does not verify signatures (the log did); any bytes do.
                content: vec![0x30; 70],
                verifier: Verifier {
                    key: verifier,
                    key_details: signet_crypto::PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
                },
            },
        }),
    }
    .canonical_json()
}

/// What a [`MemoryLog`] serves wrong, to test the monitor's checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Tamper {
    #[default]
    None,
    /// Entry `index` is served with other bytes (tiles and checkpoint stay honest).
    Entry(u64),
    /// Bundle `index` is served one entry short.
    ShortBundle(u64),
    /// The checkpoint's signature is by another key.
    ForeignKey,
    /// Consistency proofs are served with one hash changed (API logs).
    BadProof,
}

/// A tlog-tiles log in memory.
pub struct MemoryLog {
    pub origin: String,
    signer: NoteSigner,
    foreign: NoteSigner,
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
    /// The size the checkpoint is published at (the whole log unless set lower).
    published: Cell<Option<u64>>,
    pub tamper: RefCell<Tamper>,
    /// Checkpoint fetches, for tests.
    pub fetches: Cell<u64>,
}

impl MemoryLog {
    pub fn new(origin: &str) -> Result<MemoryLog, String> {
        let key = |()| SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| e.to_string());
        let signer = NoteSigner::new(origin, key(())?).map_err(|e| e.to_string())?;
        let foreign = NoteSigner::new(origin, key(())?).map_err(|e| e.to_string())?;
        Ok(MemoryLog {
            origin: origin.into(),
            signer,
            foreign,
            entries: Vec::new(),
            tree: MemoryTree::new(),
            published: Cell::new(None),
            tamper: RefCell::new(Tamper::None),
            fetches: Cell::new(0),
        })
    }

    /// The log as a monitor target.
    pub fn target(&self) -> LogTarget {
        LogTarget {
            origin: self.origin.clone(),
            checkpoint_origins: vec![self.origin.clone()],
            base_url: format!("https://{}", self.origin),
            verifiers: vec![self.verifier()],
            kind: crate::follow::LogKind::RekorV2,
            start: None,
        }
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    pub fn public_key(&self) -> &PublicKey {
        self.signer.public_key()
    }

    pub fn append(&mut self, body: Vec<u8>) -> u64 {
        self.tree.push_data(&body);
        self.entries.push(body);
        self.entries.len() as u64 - 1
    }

    pub fn size(&self) -> u64 {
        self.published.get().unwrap_or(self.entries.len() as u64)
    }

    /// Publishes the checkpoint at `size` (None: the whole log).
    pub fn publish_at(&self, size: Option<u64>) {
        self.published.set(size);
    }

    /// The signed checkpoint as served now.
    pub fn checkpoint_note(&self) -> String {
        self.checkpoint().expect("the published size is within the log")
    }

    /// A checkpoint of any size and root signed with the log's key: another view of the log,
    /// as a log showing different trees to different parties would sign.
    pub fn sign_view(&self, size: u64, root_hash: signet_tlog::Hash) -> String {
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size,
            root_hash,
            extensions: vec![],
        };
        sign_checkpoint(&cp, &[&self.signer]).expect("signing with an in-memory key")
    }

    fn not_found(path: String) -> SourceError {
        SourceError::NotFound { path }
    }
}

impl LogSource for MemoryLog {
    fn checkpoint(&self) -> Result<String, SourceError> {
        self.fetches.set(self.fetches.get() + 1);
        let size = self.size();
        let root_hash = self
            .tree
            .root_at(size)
            .map_err(|e| Self::not_found(format!("checkpoint: {e}")))?;
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size,
            root_hash,
            extensions: vec![],
        };
        let signer = match *self.tamper.borrow() {
            Tamper::ForeignKey => &self.foreign,
            _ => &self.signer,
        };
        sign_checkpoint(&cp, &[signer]).map_err(|e| Self::not_found(format!("checkpoint: {e}")))
    }

    fn hash_tile(&self, id: &TileId) -> Result<Vec<u8>, SourceError> {
        serve_hash_tile(&self.tree, id)
    }

    fn entry_bundle(&self, id: &EntryBundleId) -> Result<Vec<u8>, SourceError> {
        let (first, width) = bundle_span(id, &self.tamper.borrow());
        let mut entries: Vec<Vec<u8>> = (first..first + width)
            .map(|i| {
                self.entries
                    .get(i as usize)
                    .cloned()
                    .ok_or_else(|| Self::not_found(id.path()))
            })
            .collect::<Result<_, _>>()?;
        if let Tamper::Entry(bad) = *self.tamper.borrow() {
            if (first..first + width).contains(&bad) {
                entries[(bad - first) as usize] =
                    hashedrekord_body([0xee; 32], VerifierKey::PublicKey(vec![1, 2, 3]));
            }
        }
        encode_entry_bundle(&entries).map_err(|e| SourceError::Unreachable {
            path: id.path(),
            reason: e.to_string(),
        })
    }
}

/// The first entry of bundle `id` and how many entries it is served with (one short when the
/// log is told so).
fn bundle_span(id: &EntryBundleId, tamper: &Tamper) -> (u64, u64) {
    let short = *tamper == Tamper::ShortBundle(id.index);
    (
        id.index * u64::from(TILE_WIDTH),
        u64::from(id.width) - u64::from(short),
    )
}

/// A hash tile of `tree` (every leaf it holds, whatever size is published).
fn serve_hash_tile(tree: &MemoryTree, id: &TileId) -> Result<Vec<u8>, SourceError> {
    let size = tree.size();
    let level = id.level * 8;
    let mut out = Vec::with_capacity(usize::from(id.width) * 32);
    for i in 0..u64::from(id.width) {
        let index = id.index * u64::from(TILE_WIDTH) + i;
        if (index + 1) << level > size {
            return Err(MemoryLog::not_found(id.path()));
        }
        let h = tree
            .node(level, index)
            .map_err(|_| MemoryLog::not_found(id.path()))?;
        out.extend_from_slice(&h);
    }
    Ok(out)
}

/// A served consistency proof, damaged if the log is told to.
fn served_proof(tree: &MemoryTree, first: u64, last: u64, tamper: &Tamper) -> Result<Vec<Hash>, SourceError> {
    let mut proof = tree
        .consistency_proof(first, last)
        .map_err(|e| MemoryLog::not_found(format!("proof {first} {last}: {e}")))?;
    if *tamper == Tamper::BadProof {
        if let Some(h) = proof.first_mut() {
            h[0] ^= 1;
        }
    }
    Ok(proof)
}

fn json_bytes(v: serde_json::Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// PEM of a DER certificate, as Rekor v1 entries hold verifiers.
pub fn certificate_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

/// The canonical body of a Rekor v1 hashedrekord 0.0.1 entry for `digest`, verified by
/// `pem` (a certificate or a public key).
pub fn hashedrekord_v1_body(digest: [u8; 32], pem: &str) -> Vec<u8> {
    let value = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            // The monitor does not verify signatures (the log did); any bytes do.
            "signature": {"content": B64.encode([0x30; 70]), "publicKey": {"content": B64.encode(pem)}},
        },
    });
    signet_formats::canonical_json::to_canonical(&value)
}

/// A Rekor v1 log in memory, served through [`V1Source`]: checkpoints named
/// `"<origin> - <tree id>"` and signed as Rekor v1 signs them, entries with their inclusion
/// proofs against the published checkpoint.
pub struct MemoryV1Log {
    pub origin: String,
    pub tree_id: i64,
    signer: NoteSigner,
    foreign: NoteSigner,
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
    // Locks rather than cells: the follower may retrieve entries from several threads.
    published: Mutex<Option<u64>>,
    /// Entries in earlier (inactive) shards: the API numbers this tree's leaves after them.
    pub inactive_entries: u64,
    /// The size of the checkpoint served beside entries, if not the published one (a log
    /// that grew between the monitor's reads).
    proofs_at: Mutex<Option<u64>>,
    tamper: Mutex<Tamper>,
}

impl MemoryV1Log {
    pub fn new(origin: &str) -> Result<MemoryV1Log, String> {
        let key = |()| SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| e.to_string());
        Ok(MemoryV1Log {
            origin: origin.into(),
            tree_id: 1_193_050_959_916_656_506,
            signer: NoteSigner::new(origin, key(())?).map_err(|e| e.to_string())?,
            foreign: NoteSigner::new(origin, key(())?).map_err(|e| e.to_string())?,
            entries: Vec::new(),
            tree: MemoryTree::new(),
            published: Mutex::new(None),
            inactive_entries: 0,
            proofs_at: Mutex::new(None),
            tamper: Mutex::new(Tamper::None),
        })
    }

    /// The log's public key.
    pub fn public_key(&self) -> &PublicKey {
        self.signer.public_key()
    }

    /// The log as a monitor target, its key as a trusted root lists it.
    pub fn target(&self) -> LogTarget {
        let base_url = format!("https://{}", self.origin);
        let key = self.public_key().clone();
        let log = signet_verify::TransparencyLog::new(
            &base_url,
            signet_crypto::sha256(key.spki_der()).to_vec(),
            key,
            signet_crypto::PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            TimeRange::starting(Timestamp::from_unix(1_700_000_000)),
        );
        LogTarget {
            origin: self.origin.clone(),
            checkpoint_origins: Vec::new(),
            base_url,
            verifiers: Vec::new(),
            kind: crate::follow::LogKind::RekorV1(Box::new(log)),
            start: None,
        }
    }

    pub fn append(&mut self, body: Vec<u8>) -> u64 {
        self.tree.push_data(&body);
        self.entries.push(body);
        self.entries.len() as u64 - 1
    }

    pub fn size(&self) -> u64 {
        lock(&self.published).unwrap_or(self.entries.len() as u64)
    }

    /// Publishes the checkpoint at `size` (None: the whole log).
    pub fn publish_at(&self, size: Option<u64>) {
        *lock(&self.published) = size;
    }

    /// Serves entries' inclusion proofs against the tree of `size` (None: the published one).
    pub fn prove_at(&self, size: Option<u64>) {
        *lock(&self.proofs_at) = size;
    }

    /// Misbehaves as `tamper` says from now on.
    pub fn set_tamper(&self, tamper: Tamper) {
        *lock(&self.tamper) = tamper;
    }

    fn tampering(&self) -> Tamper {
        lock(&self.tamper).clone()
    }

    /// The signed checkpoint of the tree of `size`.
    pub fn checkpoint_at(&self, size: u64) -> Result<String, SourceError> {
        let root_hash = self
            .tree
            .root_at(size)
            .map_err(|e| MemoryLog::not_found(format!("checkpoint: {e}")))?;
        let cp = Checkpoint {
            origin: format!("{} - {}", self.origin, self.tree_id),
            size,
            root_hash,
            extensions: vec![],
        };
        let signer = match self.tampering() {
            Tamper::ForeignKey => &self.foreign,
            _ => &self.signer,
        };
        sign_checkpoint(&cp, &[signer]).map_err(|e| MemoryLog::not_found(format!("checkpoint: {e}")))
    }

    fn body(&self, index: u64) -> Vec<u8> {
        match self.tampering() {
            Tamper::Entry(bad) if bad == index => hashedrekord_v1_body([0xee; 32], "not a key"),
            _ => self.entries[index as usize].clone(),
        }
    }
}

impl V1Source for MemoryV1Log {
    fn log_info(&self) -> Result<Vec<u8>, SourceError> {
        let size = self.size();
        let mut info = serde_json::json!({
            "rootHash": hex::encode(self.tree.root_at(size).map_err(|e| MemoryLog::not_found(e.to_string()))?),
            "treeSize": size,
            "signedTreeHead": self.checkpoint_at(size)?,
            "treeID": self.tree_id.to_string(),
        });
        if self.inactive_entries > 0 {
            info["inactiveShards"] = serde_json::json!([{"treeSize": self.inactive_entries, "treeID": "1"}]);
        }
        Ok(json_bytes(info))
    }

    fn proof(&self, first_size: u64, last_size: u64) -> Result<Vec<u8>, SourceError> {
        let proof = served_proof(&self.tree, first_size, last_size, &self.tampering())?;
        let root = self
            .tree
            .root_at(last_size)
            .map_err(|e| MemoryLog::not_found(e.to_string()))?;
        Ok(json_bytes(serde_json::json!({
            "rootHash": hex::encode(root),
            "hashes": proof.iter().map(hex::encode).collect::<Vec<_>>(),
        })))
    }

    fn retrieve(&self, log_indexes: &[u64]) -> Result<Vec<u8>, SourceError> {
        if log_indexes.len() > self.max_retrieve() {
            return Err(SourceError::Unreachable {
                path: "retrieve".into(),
                reason: "HTTP 400: too many indexes".into(),
            });
        }
        let size = lock(&self.proofs_at)
            .unwrap_or_else(|| self.size())
            .min(self.entries.len() as u64);
        let checkpoint = self.checkpoint_at(size)?;
        let root = self
            .tree
            .root_at(size)
            .map_err(|e| MemoryLog::not_found(e.to_string()))?;
        let mut out = Vec::new();
        for &global in log_indexes {
            let Some(index) = global.checked_sub(self.inactive_entries).filter(|i| *i < size) else {
                continue;
            };
            let body = self.body(index);
            let hashes = self
                .tree
                .inclusion_proof(index, size)
                .map_err(|e| MemoryLog::not_found(e.to_string()))?;
            let mut item = serde_json::Map::new();
            item.insert(
                hex::encode(signet_tlog::leaf_hash(&body)),
                serde_json::json!({
                    "body": B64.encode(&body),
                    "integratedTime": 1_750_000_000,
                    "logID": hex::encode(signet_crypto::sha256(self.public_key().spki_der())),
                    "logIndex": global,
                    "verification": {
                        "inclusionProof": {
                            "logIndex": index,
                            "treeSize": size,
                            "rootHash": hex::encode(root),
                            "hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
                            "checkpoint": checkpoint,
                        },
                    },
                }),
            );
            out.push(serde_json::Value::Object(item));
        }
        Ok(json_bytes(serde_json::Value::Array(out)))
    }
}

/// A CT log in memory serving RFC 6962 ([`CtSource`]) and static-ct-api ([`LogSource`], with
/// data tiles as its entry bundles), signed as signet's CT log signs.
pub struct MemoryCtLog {
    pub origin: String,
    key: SigningKey,
    foreign: SigningKey,
    log_id: [u8; 32],
    leaves: Vec<TileLeaf>,
    tree: MemoryTree,
    published: Cell<Option<u64>>,
    /// Most entries one get-entries answers.
    pub page: u64,
    pub tamper: RefCell<Tamper>,
}

impl MemoryCtLog {
    pub fn new(origin: &str) -> Result<MemoryCtLog, String> {
        let key = |()| SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| e.to_string());
        let key_ = key(())?;
        Ok(MemoryCtLog {
            origin: origin.into(),
            log_id: signet_crypto::sha256(key_.public_key().spki_der()),
            key: key_,
            foreign: key(())?,
            leaves: Vec::new(),
            tree: MemoryTree::new(),
            published: Cell::new(None),
            page: 100,
            tamper: RefCell::new(Tamper::None),
        })
    }

    /// The log as a monitor target read through `protocol`.
    pub fn target(&self, protocol: crate::follow::CtProtocol) -> LogTarget {
        LogTarget {
            origin: self.origin.clone(),
            checkpoint_origins: Vec::new(),
            base_url: format!("https://{}", self.origin),
            verifiers: Vec::new(),
            kind: crate::follow::LogKind::Ct(crate::follow::CtLogKey {
                key: self.key.public_key().clone(),
                log_id: self.log_id,
                protocol,
            }),
            start: None,
        }
    }

    /// Logs `cert_der` as an x509_entry, or (with `precert`) as a precert_entry of the
    /// precertificate `cert_der`. An x509_entry's bytes are not checked (a test may log
    /// bytes that are no certificate).
    pub fn append(&mut self, cert_der: &[u8], precert: bool) -> Result<u64, String> {
        let index = self.leaves.len() as u64;
        let entry = if precert {
            OwnedLogEntry::Precert {
                issuer_key_hash: [7; 32],
                tbs_certificate: precert_tbs(cert_der).map_err(|e| e.to_string())?,
            }
        } else {
            OwnedLogEntry::X509 {
                certificate: cert_der.to_vec(),
            }
        };
        let leaf = TileLeaf {
            timestamped_entry: TimestampedEntry {
                timestamp: 1_750_000_000_000 + index,
                entry,
                extensions: Vec::new(),
            },
            pre_certificate: precert.then(|| cert_der.to_vec()),
            certificate_chain: vec![[9; 32]],
        };
        self.tree.push_data(&leaf.merkle_tree_leaf());
        self.leaves.push(leaf);
        Ok(index)
    }

    pub fn size(&self) -> u64 {
        self.published.get().unwrap_or(self.leaves.len() as u64)
    }

    pub fn publish_at(&self, size: Option<u64>) {
        self.published.set(size);
    }

    fn root(&self, size: u64) -> Result<Hash, SourceError> {
        self.tree
            .root_at(size)
            .map_err(|e| MemoryLog::not_found(e.to_string()))
    }

    /// The STH of the published size: timestamp and signature.
    fn sign_head(&self, size: u64) -> Result<(u64, Hash, DigitallySigned), SourceError> {
        let root = self.root(size)?;
        let timestamp = 1_750_000_000_000 + size;
        let key = match *self.tamper.borrow() {
            Tamper::ForeignKey => &self.foreign,
            _ => &self.key,
        };
        let signed = sign_digitally_signed(key, &tree_head_signature_input(timestamp, size, &root))
            .map_err(|e| MemoryLog::not_found(e.to_string()))?;
        Ok((timestamp, root, signed))
    }

    /// The leaf served at `index` (another certificate's when told to lie about it).
    fn leaf(&self, index: u64) -> TileLeaf {
        let mut leaf = self.leaves[index as usize].clone();
        if *self.tamper.borrow() == Tamper::Entry(index) {
            leaf.timestamped_entry.timestamp += 1;
        }
        leaf
    }
}

impl CtSource for MemoryCtLog {
    fn get_sth(&self) -> Result<Vec<u8>, SourceError> {
        let size = self.size();
        let (timestamp, root, signed) = self.sign_head(size)?;
        Ok(json_bytes(serde_json::json!({
            "tree_size": size,
            "timestamp": timestamp,
            "sha256_root_hash": B64.encode(root),
            "tree_head_signature": B64.encode(signed.encode().map_err(|e| MemoryLog::not_found(e.to_string()))?),
        })))
    }

    fn get_sth_consistency(&self, first: u64, second: u64) -> Result<Vec<u8>, SourceError> {
        let proof = served_proof(&self.tree, first, second, &self.tamper.borrow())?;
        Ok(json_bytes(serde_json::json!({
            "consistency": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
        })))
    }

    fn get_entries(&self, start: u64, end: u64) -> Result<Vec<u8>, SourceError> {
        let size = self.size();
        if start > end || start >= size {
            return Err(SourceError::Unreachable {
                path: "get-entries".into(),
                reason: "HTTP 400".into(),
            });
        }
        let end = end.min(size - 1).min(start + self.page - 1);
        let entries: Vec<_> = (start..=end)
            .map(|i| serde_json::json!({"leaf_input": B64.encode(self.leaf(i).merkle_tree_leaf()), "extra_data": ""}))
            .collect();
        Ok(json_bytes(serde_json::json!({ "entries": entries })))
    }

    fn get_proof_by_hash(&self, leaf_hash: &Hash, tree_size: u64) -> Result<Vec<u8>, SourceError> {
        let index = (0..tree_size.min(self.tree.size()))
            .find(|i| self.tree.leaf_hash(*i).as_ref() == Some(leaf_hash))
            .ok_or_else(|| MemoryLog::not_found("get-proof-by-hash".into()))?;
        let path = self
            .tree
            .inclusion_proof(index, tree_size)
            .map_err(|e| MemoryLog::not_found(e.to_string()))?;
        Ok(json_bytes(serde_json::json!({
            "leaf_index": index,
            "audit_path": path.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
        })))
    }
}

impl LogSource for MemoryCtLog {
    fn checkpoint(&self) -> Result<String, SourceError> {
        let size = self.size();
        let (timestamp, root_hash, signature) = self.sign_head(size)?;
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size,
            root_hash,
            extensions: vec![],
        };
        let fail = |e: &dyn std::fmt::Display| MemoryLog::not_found(e.to_string());
        let mut note = Note::new(&cp.to_note_text()).map_err(|e| fail(&e))?;
        note.add_signature(NoteSignature {
            name: self.origin.clone(),
            key_hash: note_key_id(&self.origin, &self.log_id),
            signature: Rfc6962NoteSignature { timestamp, signature }
                .encode()
                .map_err(|e| fail(&e))?,
        })
        .map_err(|e| fail(&e))?;
        Ok(note.to_envelope())
    }

    fn hash_tile(&self, id: &TileId) -> Result<Vec<u8>, SourceError> {
        serve_hash_tile(&self.tree, id)
    }

    fn entry_bundle(&self, id: &EntryBundleId) -> Result<Vec<u8>, SourceError> {
        let (first, width) = bundle_span(id, &self.tamper.borrow());
        let mut out = Vec::new();
        for i in first..first + width {
            if i >= self.leaves.len() as u64 {
                return Err(MemoryLog::not_found(id.path()));
            }
            out.extend(
                self.leaf(i)
                    .encode()
                    .map_err(|e| MemoryLog::not_found(e.to_string()))?,
            );
        }
        Ok(out)
    }
}

/// A test log's lock (a panic elsewhere leaves the value usable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
