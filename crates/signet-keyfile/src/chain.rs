//! A two-level certificate chain kept in a directory — a self-signed root and one issuing
//! certificate under it, each with its key — as the CA and the TSA both keep theirs. On first
//! start the chain is generated (ECDSA P-256 keys, the caller's certificate profiles); later
//! starts load it; a directory with only some of the four files is refused.

use std::path::Path;

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
    pub signer: FileKeySigner,
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
    let names = [
        files.root_key,
        files.root_cert,
        files.issuing_key,
        files.issuing_cert,
    ];
    if inspect_dir(dir, &names)? == DirState::Empty {
        generate(dir, files, new, now)?;
    }
    let signer = FileKeySigner::load(&dir.join(files.issuing_key))?;
    let chain = [files.issuing_cert, files.root_cert]
        .into_iter()
        .map(|name| read_certificate(&dir.join(name)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LoadedChain { signer, chain })
}

fn generate(dir: &Path, files: ChainFiles<'_>, new: &NewChain<'_>, now: i64) -> Result<(), KeyFileError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| KeyFileError::Generate(format!("{what}: {e}"));
    let root_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| failed("root key", &e))?;
    let issuing_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| failed("issuing key", &e))?;
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
    let issuing = (new.issuing_profile)(
        &root_key,
        &root,
        issuing_key.public_key(),
        &CertificateParams {
            subject: &new.issuing_subject,
            serial: &random_serial(),
            not_before,
            not_after: now + new.issuing_lifetime_secs,
        },
    )
    .map_err(|e| failed("issuing certificate", &e))?;
    write_private_key(&dir.join(files.root_key), &root_key)?;
    write_certificate(&dir.join(files.root_cert), &root)?;
    write_private_key(&dir.join(files.issuing_key), &issuing_key)?;
    write_certificate(&dir.join(files.issuing_cert), &issuing)?;
    Ok(())
}
