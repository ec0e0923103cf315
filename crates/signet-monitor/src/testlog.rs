//! A tlog-tiles log held in memory, with a Fulcio-shaped CA issuing real leaf certificates,
//! for the monitor's tests and benchmark (`cargo bench -p signet-monitor`). Not for
//! production: keys are generated per instance and nothing is persisted.

use std::cell::{Cell, RefCell};

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

use crate::follow::LogTarget;
use crate::source::{LogSource, SourceError};

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
        }
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    pub fn public_key(&self) -> &PublicKey {
        self.signer.signing_key().public_key()
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
        let size = self.entries.len() as u64;
        let level = id.level * 8;
        let mut out = Vec::with_capacity(usize::from(id.width) * 32);
        for i in 0..u64::from(id.width) {
            let index = id.index * u64::from(TILE_WIDTH) + i;
            if (index + 1) << level > size {
                return Err(Self::not_found(id.path()));
            }
            let h = self
                .tree
                .node(level, index)
                .map_err(|_| Self::not_found(id.path()))?;
            out.extend_from_slice(&h);
        }
        Ok(out)
    }

    fn entry_bundle(&self, id: &EntryBundleId) -> Result<Vec<u8>, SourceError> {
        let first = id.index * u64::from(TILE_WIDTH);
        let mut width = u64::from(id.width);
        if *self.tamper.borrow() == Tamper::ShortBundle(id.index) {
            width -= 1;
        }
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
