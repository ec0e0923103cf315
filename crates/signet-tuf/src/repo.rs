//! The writer: builds and signs TUF metadata and lays out a repository, for tests (every attack
//! case is built from these pieces) and for `signet server`, which publishes its own
//! repository with consistent snapshots.
//!
//! Two levels:
//! - free functions that build each role's `signed` object ([`root_signed`],
//!   [`targets_signed`], [`snapshot_signed`], [`timestamp_signed`]) and [`SignedMetadata`],
//!   which signs any `signed` value with any keys (or takes a raw signature entry), so tests
//!   can edit the JSON or the signatures before output;
//! - [`RepoBuilder`], which holds the keys of each role and makes well-formed files, and a
//!   whole consistent-snapshot repository with [`RepoBuilder::repository`].

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::sync::Arc;

use signet_crypto::{HashAlgorithm, KeyKind, PublicKey, Signer, SignerError, SigningKey};
use thiserror::Error;

use crate::canonical::{self, CanonicalError};
use crate::time::format_rfc3339;

/// Why metadata could not be written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RepoError {
    /// TUF (securesystemslib) has no scheme for this key.
    #[error("no TUF key scheme for a {0} key")]
    UnsupportedKey(KeyKind),
    #[error("signing failed: {0}")]
    Signing(#[from] signet_crypto::CryptoError),
    /// A role key held elsewhere (a PKCS#11 token) could not sign.
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error("metadata has no canonical form: {0}")]
    NotCanonical(#[from] CanonicalError),
}

/// The TUF key object for `key` and its keyid (TUF §4.2: the SHA-256 of the canonical JSON of
/// the key object). Ed25519 keys are hex (`keytype` and `scheme` `ed25519`); ECDSA keys are
/// PEM SubjectPublicKeyInfo, `keytype` `ecdsa`, scheme `ecdsa-sha2-nistp256` or `-nistp384`;
/// RSA keys are PEM, `rsa` / `rsassa-pss-sha256`.
pub fn key_json(key: &PublicKey) -> Result<(String, Value), RepoError> {
    let (keytype, scheme, public) = match key.kind() {
        KeyKind::Ed25519 => ("ed25519", "ed25519", hex::encode(key.raw_bytes())),
        KeyKind::EcdsaP256 => ("ecdsa", "ecdsa-sha2-nistp256", pem_lf(key.spki_der())),
        KeyKind::EcdsaP384 => ("ecdsa", "ecdsa-sha2-nistp384", pem_lf(key.spki_der())),
        KeyKind::Rsa(_) => ("rsa", "rsassa-pss-sha256", pem_lf(key.spki_der())),
        other => return Err(RepoError::UnsupportedKey(other)),
    };
    let value = json!({"keytype": keytype, "scheme": scheme, "keyval": {"public": public}});
    let keyid = hex::encode(signet_crypto::sha256(&canonical::encode(&value)?));
    Ok((keyid, value))
}

/// PEM `PUBLIC KEY` with LF line endings and a final newline, as securesystemslib writes it.
fn pem_lf(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}

/// A role's keys and threshold in root.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub keys: Vec<PublicKey>,
    pub threshold: u64,
}

impl RoleSpec {
    /// The public halves of `keys`, with `threshold`.
    pub fn of(keys: &[Arc<dyn Signer>], threshold: u64) -> Self {
        RoleSpec {
            keys: keys.iter().map(|k| k.public_key().clone()).collect(),
            threshold,
        }
    }
}

/// Everything in a root's `signed` (TUF §4.3).
#[derive(Debug, Clone)]
pub struct RootSpec {
    pub version: u64,
    /// Unix seconds.
    pub expires: i64,
    pub consistent_snapshot: bool,
    pub root: RoleSpec,
    pub timestamp: RoleSpec,
    pub snapshot: RoleSpec,
    pub targets: RoleSpec,
}

/// `root.json`'s signed part.
pub fn root_signed(spec: &RootSpec) -> Result<Value, RepoError> {
    let mut keys = Map::new();
    let mut roles = Map::new();
    for (name, role) in [
        ("root", &spec.root),
        ("timestamp", &spec.timestamp),
        ("snapshot", &spec.snapshot),
        ("targets", &spec.targets),
    ] {
        let mut keyids = Vec::new();
        for key in &role.keys {
            let (keyid, value) = key_json(key)?;
            keys.insert(keyid.clone(), value);
            if !keyids.contains(&keyid) {
                keyids.push(keyid);
            }
        }
        roles.insert(
            name.into(),
            json!({"keyids": keyids, "threshold": role.threshold}),
        );
    }
    Ok(json!({
        "_type": "root",
        "spec_version": "1.0.31",
        "version": spec.version,
        "expires": format_rfc3339(spec.expires),
        "consistent_snapshot": spec.consistent_snapshot,
        "keys": keys,
        "roles": roles,
    }))
}

/// A target file to list (and, in a repository, publish).
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// The target path, e.g. `trusted_root.json`.
    pub name: String,
    pub bytes: Vec<u8>,
    /// `custom` in the targets entry.
    pub custom: Option<Value>,
    /// The hashes to list; by default sha256 only, as Sigstore lists them (a client picks
    /// one of the listed hashes for the consistent-snapshot file name, so every hash listed
    /// is a name the repository must serve).
    pub hashes: Vec<HashAlgorithm>,
}

impl TargetSpec {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        TargetSpec {
            name: name.into(),
            bytes: bytes.into(),
            custom: None,
            hashes: vec![HashAlgorithm::Sha2_256],
        }
    }
}

/// The TUF name of a hash algorithm.
pub fn hash_name(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Sha2_256 => "sha256",
        HashAlgorithm::Sha2_384 => "sha384",
        HashAlgorithm::Sha2_512 => "sha512",
    }
}

fn hashes_json(bytes: &[u8], algorithms: &[HashAlgorithm]) -> Map<String, Value> {
    algorithms
        .iter()
        .map(|a| {
            (
                hash_name(*a).to_string(),
                Value::String(hex::encode(a.digest(bytes))),
            )
        })
        .collect()
}

/// `targets.json`'s signed part, listing `targets` with their length and hashes.
pub fn targets_signed(version: u64, expires: i64, targets: &[TargetSpec]) -> Value {
    let mut map = Map::new();
    for t in targets {
        let mut entry = json!({"length": t.bytes.len(), "hashes": hashes_json(&t.bytes, &t.hashes)});
        if let (Some(custom), Some(obj)) = (&t.custom, entry.as_object_mut()) {
            obj.insert("custom".into(), custom.clone());
        }
        map.insert(t.name.clone(), entry);
    }
    json!({
        "_type": "targets",
        "spec_version": "1.0.31",
        "version": version,
        "expires": format_rfc3339(expires),
        "targets": map,
    })
}

/// A `METAFILES` entry: a version, and optionally a length and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaFileSpec {
    pub version: u64,
    pub length: Option<u64>,
    /// TUF algorithm name → hex digest.
    pub hashes: Option<BTreeMap<String, String>>,
}

impl MetaFileSpec {
    /// Only the version (what Sigstore's timestamp and snapshot list).
    pub fn version(version: u64) -> Self {
        MetaFileSpec {
            version,
            length: None,
            hashes: None,
        }
    }

    /// The version, the length of `bytes` and their sha256 and sha512.
    pub fn describing(version: u64, bytes: &[u8]) -> Self {
        MetaFileSpec {
            version,
            length: Some(bytes.len() as u64),
            hashes: Some(
                [HashAlgorithm::Sha2_256, HashAlgorithm::Sha2_512]
                    .iter()
                    .map(|a| (hash_name(*a).to_string(), hex::encode(a.digest(bytes))))
                    .collect(),
            ),
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"version": self.version});
        if let Some(obj) = v.as_object_mut() {
            if let Some(length) = self.length {
                obj.insert("length".into(), json!(length));
            }
            if let Some(hashes) = &self.hashes {
                obj.insert("hashes".into(), json!(hashes));
            }
        }
        v
    }
}

/// `snapshot.json`'s signed part, listing `targets.json`.
pub fn snapshot_signed(version: u64, expires: i64, targets_json: &MetaFileSpec) -> Value {
    json!({
        "_type": "snapshot",
        "spec_version": "1.0.31",
        "version": version,
        "expires": format_rfc3339(expires),
        "meta": {"targets.json": targets_json.to_json()},
    })
}

/// `timestamp.json`'s signed part, listing `snapshot.json`.
pub fn timestamp_signed(version: u64, expires: i64, snapshot_json: &MetaFileSpec) -> Value {
    json!({
        "_type": "timestamp",
        "spec_version": "1.0.31",
        "version": version,
        "expires": format_rfc3339(expires),
        "meta": {"snapshot.json": snapshot_json.to_json()},
    })
}

/// How metadata JSON is written. Either form verifies: signatures are over the canonical form
/// of `signed`, not over the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonFormat {
    /// Indented, as Sigstore publishes.
    #[default]
    Pretty,
    Compact,
}

/// A `signed` value and its signatures, ready to write.
#[derive(Debug, Clone)]
pub struct SignedMetadata {
    pub signed: Value,
    /// `(keyid, hex signature)` in output order.
    pub signatures: Vec<(String, String)>,
}

impl SignedMetadata {
    pub fn new(signed: Value) -> Self {
        SignedMetadata {
            signed,
            signatures: Vec::new(),
        }
    }

    /// Adds a signature by `key` over the canonical form of `signed`, under its keyid.
    pub fn sign(mut self, key: &dyn Signer) -> Result<Self, RepoError> {
        let (keyid, _) = key_json(key.public_key())?;
        let sig = key.sign(&canonical::encode(&self.signed)?)?;
        self.signatures.push((keyid, hex::encode(sig)));
        Ok(self)
    }

    /// Adds a signature by each of `keys`.
    pub fn sign_all(self, keys: &[Arc<dyn Signer>]) -> Result<Self, RepoError> {
        keys.iter().try_fold(self, |md, key| md.sign(key.as_ref()))
    }

    /// Adds a signature entry as given (for tests of bad signatures).
    pub fn with_signature(mut self, keyid: impl Into<String>, sig_hex: impl Into<String>) -> Self {
        self.signatures.push((keyid.into(), sig_hex.into()));
        self
    }

    /// The whole `{"signed", "signatures"}` document.
    pub fn to_json(&self) -> Value {
        let signatures: Vec<Value> = self
            .signatures
            .iter()
            .map(|(keyid, sig)| json!({"keyid": keyid, "sig": sig}))
            .collect();
        json!({"signatures": signatures, "signed": self.signed})
    }

    /// The file's bytes.
    pub fn to_bytes(&self, format: JsonFormat) -> Vec<u8> {
        let value = self.to_json();
        // Serialising a Value (string keys, no floats from this module) cannot fail; an empty
        // file would fail verification loudly if it ever did.
        let bytes = match format {
            JsonFormat::Pretty => serde_json::to_vec_pretty(&value),
            JsonFormat::Compact => serde_json::to_vec(&value),
        };
        bytes.unwrap_or_default()
    }
}

/// Signing keys of each top-level role.
#[derive(Debug, Clone)]
pub struct RoleKeys {
    pub root: Vec<Arc<dyn Signer>>,
    pub timestamp: Vec<Arc<dyn Signer>>,
    pub snapshot: Vec<Arc<dyn Signer>>,
    pub targets: Vec<Arc<dyn Signer>>,
}

impl RoleKeys {
    /// One fresh key of `kind` per role.
    pub fn generate(kind: KeyKind) -> Result<Self, RepoError> {
        Ok(RoleKeys {
            root: vec![Arc::new(SigningKey::generate(kind)?)],
            timestamp: vec![Arc::new(SigningKey::generate(kind)?)],
            snapshot: vec![Arc::new(SigningKey::generate(kind)?)],
            targets: vec![Arc::new(SigningKey::generate(kind)?)],
        })
    }
}

/// The versions of a repository's four top-level files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub root: u64,
    pub timestamp: u64,
    pub snapshot: u64,
    pub targets: u64,
}

/// Makes well-formed, correctly signed metadata with one set of [`RoleKeys`]: each role signed
/// by all its keys, with `threshold` = the number of its keys unless set otherwise.
#[derive(Debug)]
pub struct RepoBuilder {
    pub keys: RoleKeys,
    /// Thresholds written into root; `None` means all of the role's keys.
    pub thresholds: [Option<u64>; 4],
    pub consistent_snapshot: bool,
    pub root_expires: i64,
    pub timestamp_expires: i64,
    pub snapshot_expires: i64,
    pub targets_expires: i64,
    /// Whether timestamp and snapshot list lengths and hashes (true) or only versions (false,
    /// as Sigstore does).
    pub meta_hashes: bool,
    pub format: JsonFormat,
}

impl RepoBuilder {
    /// A builder with consistent snapshots, every role expiring at `expires` (Unix seconds),
    /// lengths and hashes in timestamp and snapshot meta, pretty JSON.
    pub fn new(keys: RoleKeys, expires: i64) -> Self {
        RepoBuilder {
            keys,
            thresholds: [None; 4],
            consistent_snapshot: true,
            root_expires: expires,
            timestamp_expires: expires,
            snapshot_expires: expires,
            targets_expires: expires,
            meta_hashes: true,
            format: JsonFormat::Pretty,
        }
    }

    fn threshold(&self, index: usize, keys: &[Arc<dyn Signer>]) -> u64 {
        self.thresholds
            .get(index)
            .copied()
            .flatten()
            .unwrap_or(keys.len() as u64)
    }

    /// The root this builder's keys make, at `version`.
    pub fn root_spec(&self, version: u64) -> RootSpec {
        RootSpec {
            version,
            expires: self.root_expires,
            consistent_snapshot: self.consistent_snapshot,
            root: RoleSpec::of(&self.keys.root, self.threshold(0, &self.keys.root)),
            timestamp: RoleSpec::of(&self.keys.timestamp, self.threshold(1, &self.keys.timestamp)),
            snapshot: RoleSpec::of(&self.keys.snapshot, self.threshold(2, &self.keys.snapshot)),
            targets: RoleSpec::of(&self.keys.targets, self.threshold(3, &self.keys.targets)),
        }
    }

    /// Root `version`, signed by this builder's root keys.
    pub fn root(&self, version: u64) -> Result<Vec<u8>, RepoError> {
        let md = SignedMetadata::new(root_signed(&self.root_spec(version))?).sign_all(&self.keys.root)?;
        Ok(md.to_bytes(self.format))
    }

    pub fn targets(&self, version: u64, targets: &[TargetSpec]) -> Result<Vec<u8>, RepoError> {
        let md = SignedMetadata::new(targets_signed(version, self.targets_expires, targets))
            .sign_all(&self.keys.targets)?;
        Ok(md.to_bytes(self.format))
    }

    pub fn snapshot(&self, version: u64, targets_json: &MetaFileSpec) -> Result<Vec<u8>, RepoError> {
        let md = SignedMetadata::new(snapshot_signed(version, self.snapshot_expires, targets_json))
            .sign_all(&self.keys.snapshot)?;
        Ok(md.to_bytes(self.format))
    }

    pub fn timestamp(&self, version: u64, snapshot_json: &MetaFileSpec) -> Result<Vec<u8>, RepoError> {
        let md = SignedMetadata::new(timestamp_signed(version, self.timestamp_expires, snapshot_json))
            .sign_all(&self.keys.timestamp)?;
        Ok(md.to_bytes(self.format))
    }

    /// How this builder describes a metadata file in timestamp or snapshot meta.
    pub fn meta(&self, version: u64, bytes: &[u8]) -> MetaFileSpec {
        if self.meta_hashes {
            MetaFileSpec::describing(version, bytes)
        } else {
            MetaFileSpec::version(version)
        }
    }

    /// The files of a whole repository, as `(path, bytes)` relative to the repository's base
    /// URL: `V.root.json`, `timestamp.json`, `V.snapshot.json`, `V.targets.json` and
    /// `targets/HASH.NAME` for each target and listed hash (with `consistent_snapshot` false:
    /// `snapshot.json`, `targets.json` and `targets/NAME`).
    ///
    /// Only root version `versions.root` is made. A repository whose root has gone through
    /// earlier versions must keep serving the `N.root.json` files it published for them,
    /// unchanged: clients holding an older root walk through them (§5.3.3).
    pub fn repository(
        &self,
        versions: Versions,
        targets: &[TargetSpec],
    ) -> Result<Vec<(String, Vec<u8>)>, RepoError> {
        let root = self.root(versions.root)?;
        let targets_json = self.targets(versions.targets, targets)?;
        let snapshot = self.snapshot(versions.snapshot, &self.meta(versions.targets, &targets_json))?;
        let timestamp = self.timestamp(versions.timestamp, &self.meta(versions.snapshot, &snapshot))?;
        let (snapshot_path, targets_path) = if self.consistent_snapshot {
            (
                format!("{}.snapshot.json", versions.snapshot),
                format!("{}.targets.json", versions.targets),
            )
        } else {
            ("snapshot.json".to_string(), "targets.json".to_string())
        };
        let mut files = vec![
            (format!("{}.root.json", versions.root), root),
            ("timestamp.json".to_string(), timestamp),
            (snapshot_path, snapshot),
            (targets_path, targets_json),
        ];
        for t in targets {
            if !self.consistent_snapshot {
                files.push((format!("targets/{}", t.name), t.bytes.clone()));
                continue;
            }
            let (dir, base) = match t.name.rfind('/') {
                Some(i) => t.name.split_at(i + 1),
                None => ("", t.name.as_str()),
            };
            for algorithm in &t.hashes {
                let digest = hex::encode(algorithm.digest(&t.bytes));
                files.push((format!("targets/{dir}{digest}.{base}"), t.bytes.clone()));
            }
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Key;

    #[test]
    fn key_json_and_keyid() {
        for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
            let key = SigningKey::generate(kind).unwrap();
            let (keyid, value) = key_json(key.public_key()).unwrap();
            assert_eq!(keyid.len(), 64);
            assert_eq!(
                keyid,
                hex::encode(signet_crypto::sha256(&canonical::encode(&value).unwrap()))
            );
            let parsed = Key::from_json(&value).unwrap();
            assert!(parsed.is_usable(), "{kind}: {:?}", parsed.unusable_reason());
            let sig = key.sign(b"m").unwrap();
            assert!(parsed.verifies(b"m", &sig));
        }
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let (_, value) = key_json(key.public_key()).unwrap();
        let pem = value["keyval"]["public"].as_str().unwrap();
        assert!(
            pem.starts_with("-----BEGIN PUBLIC KEY-----\n") && pem.ends_with("-----END PUBLIC KEY-----\n")
        );
        assert!(!pem.contains('\r'));
        assert_eq!(value["keytype"], "ecdsa");
    }

    #[test]
    fn keyid_of_the_spec_example_key() {
        // The Ed25519 key and keyid of the TUF specification's example metadata (§4.3 and the
        // go-tuf tests that check it).
        let value = json!({"keytype": "ed25519", "scheme": "ed25519",
            "keyval": {"public": "72378e5bc588793e58f81c8533da64a2e8f1565c1fcc7f253496394ffc52542c"}});
        let keyid = hex::encode(signet_crypto::sha256(&canonical::encode(&value).unwrap()));
        assert_eq!(
            keyid,
            "1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3"
        );
        let raw = hex::decode("72378e5bc588793e58f81c8533da64a2e8f1565c1fcc7f253496394ffc52542c").unwrap();
        let mut spki = hex::decode("302a300506032b6570032100").unwrap();
        spki.extend_from_slice(&raw);
        let key = PublicKey::from_spki_der(&spki).unwrap();
        assert_eq!(key_json(&key).unwrap(), (keyid, value));
    }

    #[test]
    fn repository_layout() {
        let builder = RepoBuilder::new(RoleKeys::generate(KeyKind::Ed25519).unwrap(), 2_000_000_000);
        let mut t = TargetSpec::new("dir/a.txt", b"abc".to_vec());
        t.hashes = vec![HashAlgorithm::Sha2_256, HashAlgorithm::Sha2_512];
        let files = builder
            .repository(
                Versions {
                    root: 1,
                    timestamp: 3,
                    snapshot: 2,
                    targets: 4,
                },
                &[t],
            )
            .unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        let sha256 = hex::encode(signet_crypto::sha256(b"abc"));
        assert!(names.contains(&"1.root.json"));
        assert!(names.contains(&"timestamp.json"));
        assert!(names.contains(&"2.snapshot.json"));
        assert!(names.contains(&"4.targets.json"));
        assert!(names.contains(&format!("targets/dir/{sha256}.a.txt").as_str()));
        assert_eq!(names.len(), 6);
    }
}
