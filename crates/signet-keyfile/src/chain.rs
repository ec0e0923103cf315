//! A two-level certificate chain kept in a directory — a self-signed root and one issuing
//! certificate under it, each with its key — as the CA and the TSA both keep theirs. On first
//! start the chain is generated (ECDSA P-256 keys, the caller's certificate profiles); later
//! starts load it; a directory with only some of the four files is refused.
//!
//! The issuing key may instead live in a PKCS#11 token ([`open_or_create_chain_with`]): it is
//! the key that signs every request, so it is the one worth keeping in hardware. The root key
//! stays a 0600 file beside the certificates: it signs only when the chain is made (and when
//! a new issuing certificate is made for a rotation), and an operator who wants it offline
//! moves the file away after the first start and restores it for a rotation.

use std::path::Path;
use std::sync::Arc;

use signet_crypto::{random_serial, KeyKind, PublicKey, SigningKey};
use signet_formats::common::DistinguishedName;
use signet_x509::profile::{CertificateParams, ProfileError};
use signet_x509::Signer;

use crate::{
    inspect_dir, read_certificate, write_certificate, write_private_key, DirState, FileKeySigner,
    KeyFileError,
};

/// Backdating of notBefore, so clients with a slightly slow clock accept a new chain.
pub const BACKDATE_SECS: i64 = 300;

/// The four files of a chain, by name within its directory. The issuing certificate is
/// written last: its presence marks a complete directory.
#[derive(Debug, Clone, Copy)]
pub struct ChainFiles<'a> {
    pub root_key: &'a str,
    pub root_cert: &'a str,
    pub issuing_key: &'a str,
    pub issuing_cert: &'a str,
}

/// Issues the root certificate with the root's key.
pub type RootProfile<'a> = &'a dyn Fn(&dyn Signer, &CertificateParams<'_>) -> Result<Vec<u8>, ProfileError>;
/// Issues the issuing certificate (for its public key) with the root's key and certificate.
pub type IssuingProfile<'a> =
    &'a dyn Fn(&dyn Signer, &[u8], &PublicKey, &CertificateParams<'_>) -> Result<Vec<u8>, ProfileError>;

/// What a new chain looks like.
pub struct NewChain<'a> {
    pub root_subject: DistinguishedName,
    pub issuing_subject: DistinguishedName,
    pub root_lifetime_secs: i64,
    pub issuing_lifetime_secs: i64,
    pub root_profile: RootProfile<'a>,
    pub issuing_profile: IssuingProfile<'a>,
}

/// A loaded chain: the issuing key and the certificates [issuing, root], DER.
#[derive(Debug)]
pub struct LoadedChain {
    pub signer: Arc<dyn Signer>,
    pub chain: Vec<Vec<u8>>,
}

/// Loads the chain in `dir`, or generates it there (valid from `now` less [`BACKDATE_SECS`]) if
/// the directory holds none of its files.
pub fn open_or_create_chain(
    dir: &Path,
    files: ChainFiles<'_>,
    new: &NewChain<'_>,
    now: i64,
) -> Result<LoadedChain, KeyFileError> {
    open_or_create_chain_with(dir, files, new, now, None)
}

/// [`open_or_create_chain`], with the issuing key held elsewhere when `issuing` is given (a
/// PKCS#11 token): no issuing key file is written or read, the root certifies that key's
/// public half on first start, and a later start whose stored issuing certificate is for
/// another key is refused.
pub fn open_or_create_chain_with(
    dir: &Path,
    files: ChainFiles<'_>,
    new: &NewChain<'_>,
    now: i64,
    issuing: Option<Arc<dyn Signer>>,
) -> Result<LoadedChain, KeyFileError> {
    let names: &[&str] = match issuing {
        Some(_) => &[files.root_key, files.root_cert, files.issuing_cert],
        None => &[
            files.root_key,
            files.root_cert,
            files.issuing_key,
            files.issuing_cert,
        ],
    };
    if inspect_dir(dir, names)? == DirState::Empty {
        generate(dir, files, new, now, issuing.as_ref().map(|s| s.public_key()))?;
    }
    load(dir, dir, files, issuing)
}

/// Issues the certificate of a new issuing key under the root in `dir` (a rotation): the key
/// is generated, or is `issuing` (a token key), and the root's key file must be in `dir` (an
/// operator who keeps it offline restores it for the rotation). The new key and certificate
/// are written to `gen_dir`, the certificate last; the root certificate stays where it is.
/// The new certificate is valid from `now` less [`BACKDATE_SECS`], like a first chain's.
pub fn issue_generation(
    dir: &Path,
    files: ChainFiles<'_>,
    gen_dir: &Path,
    new: &NewChain<'_>,
    now: i64,
    issuing: Option<Arc<dyn Signer>>,
) -> Result<(), KeyFileError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| KeyFileError::Generate(format!("{what}: {e}"));
    let root_key_path = dir.join(files.root_key);
    if !root_key_path.exists() {
        return Err(KeyFileError::BadFile {
            path: root_key_path,
            reason: "the root key is needed to certify a new issuing key: restore it for the rotation".into(),
        });
    }
    let root_key = crate::read_private_key(&root_key_path)?;
    let root = read_certificate(&dir.join(files.root_cert))?;
    let issuing_key = match issuing {
        Some(_) => None,
        None => Some(SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| failed("issuing key", &e))?),
    };
    let issuing_public = match (&issuing, &issuing_key) {
        (Some(signer), _) => signer.public_key().clone(),
        (None, Some(key)) => key.public_key().clone(),
        (None, None) => return Err(failed("issuing key", &"none")),
    };
    let certificate = issue(&root_key, &root, &issuing_public, new, now)?;
    crate::create_private_dir(gen_dir)?;
    if let Some(key) = &issuing_key {
        write_private_key(&gen_dir.join(files.issuing_key), key)?;
    }
    write_certificate(&gen_dir.join(files.issuing_cert), &certificate)
}

/// Loads a generation [`issue_generation`] wrote: its issuing key (or `issuing`) and
/// certificate from `gen_dir`, the root certificate from `dir`.
pub fn open_generation(
    dir: &Path,
    files: ChainFiles<'_>,
    gen_dir: &Path,
    issuing: Option<Arc<dyn Signer>>,
) -> Result<LoadedChain, KeyFileError> {
    load(gen_dir, dir, files, issuing)
}

/// The chain whose issuing key and certificate are in `issuing_dir` and whose root
/// certificate is in `root_dir`, the key checked to be the certificate's.
fn load(
    issuing_dir: &Path,
    root_dir: &Path,
    files: ChainFiles<'_>,
    issuing: Option<Arc<dyn Signer>>,
) -> Result<LoadedChain, KeyFileError> {
    let signer: Arc<dyn Signer> = match issuing {
        Some(signer) => signer,
        None => Arc::new(FileKeySigner::load(&issuing_dir.join(files.issuing_key))?),
    };
    let chain = vec![
        read_certificate(&issuing_dir.join(files.issuing_cert))?,
        read_certificate(&root_dir.join(files.root_cert))?,
    ];
    let certified = PublicKey::from_certificate_der(&chain[0]).map_err(|e| KeyFileError::BadFile {
        path: issuing_dir.join(files.issuing_cert),
        reason: e.to_string(),
    })?;
    if &certified != signer.public_key() {
        return Err(KeyFileError::BadFile {
            path: issuing_dir.join(files.issuing_cert),
            reason: "certifies another key than the issuing key in use (a key file where a token key was, or another token key): refusing to start".into(),
        });
    }
    Ok(LoadedChain { signer, chain })
}

/// The issuing certificate for `public`, by the root.
fn issue(
    root_key: &SigningKey,
    root: &[u8],
    public: &PublicKey,
    new: &NewChain<'_>,
    now: i64,
) -> Result<Vec<u8>, KeyFileError> {
    (new.issuing_profile)(
        root_key,
        root,
        public,
        &CertificateParams {
            subject: &new.issuing_subject,
            serial: &random_serial(),
            not_before: now - BACKDATE_SECS,
            not_after: now + new.issuing_lifetime_secs,
        },
    )
    .map_err(|e| KeyFileError::Generate(format!("issuing certificate: {e}")))
}

fn generate(
    dir: &Path,
    files: ChainFiles<'_>,
    new: &NewChain<'_>,
    now: i64,
    external: Option<&PublicKey>,
) -> Result<(), KeyFileError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| KeyFileError::Generate(format!("{what}: {e}"));
    let root_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| failed("root key", &e))?;
    let issuing_key = match external {
        Some(_) => None,
        None => Some(SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| failed("issuing key", &e))?),
    };
    let issuing_public = match (external, &issuing_key) {
        (Some(public), _) => public,
        (None, Some(key)) => key.public_key(),
        (None, None) => return Err(failed("issuing key", &"none")),
    };
    let not_before = now - BACKDATE_SECS;
    let root = (new.root_profile)(
        &root_key,
        &CertificateParams {
            subject: &new.root_subject,
            serial: &random_serial(),
            not_before,
            not_after: now + new.root_lifetime_secs,
        },
    )
    .map_err(|e| failed("root certificate", &e))?;
    let issuing = issue(&root_key, &root, issuing_public, new, now)?;
    write_private_key(&dir.join(files.root_key), &root_key)?;
    write_certificate(&dir.join(files.root_cert), &root)?;
    if let Some(issuing_key) = &issuing_key {
        write_private_key(&dir.join(files.issuing_key), issuing_key)?;
    }
    write_certificate(&dir.join(files.issuing_cert), &issuing)?;
    Ok(())
}
