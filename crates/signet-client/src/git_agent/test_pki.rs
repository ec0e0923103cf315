//! Test credentials for the git agent: a fresh P-256 key and a Fulcio-shaped chain [leaf,
//! root] certifying it. Shared by the unit tests (`cfg(test)`) and
//! `tests/git_agent.rs` (`#[path]`), so both build certificates one way.
//!
//! The leaf is the CA's precertificate (no CT log here): the agent parses the leaf's key,
//! identity and validity and never verifies the chain, so an SCT would change nothing.

#![allow(dead_code)] // each including target uses part of it

use signet_crypto::{KeyKind, SigningKey};
use signet_formats::common::DistinguishedName;
use signet_x509::profile::CertificateParams;
use signet_x509::{
    fulcio_root_certificate, CertificateIdentity, FulcioExtensions, FulcioLeaf, SubjectAlternativeName,
};

/// 2026-01-01, a time for tests that pass the clock as an argument.
pub const T0: i64 = 1_767_225_600;

/// A new P-256 key and the chain [leaf, root] certifying it for `email`, valid from
/// `not_before` to `not_after` (Unix seconds).
pub fn fulcio_chain(email: &str, not_before: i64, not_after: i64) -> (SigningKey, Vec<Vec<u8>>) {
    let p256 = || SigningKey::generate(KeyKind::EcdsaP256).expect("P-256 key generation");
    let (ca_key, key) = (p256(), p256());
    let dn = DistinguishedName {
        organization: "signet".into(),
        common_name: "git-agent test CA".into(),
    };
    let root = fulcio_root_certificate(
        &ca_key,
        &CertificateParams {
            subject: &dn,
            serial: &[1; 16],
            not_before: not_before - 86_400,
            not_after: not_after + 86_400,
        },
    )
    .expect("test root");
    let identity = CertificateIdentity {
        san: SubjectAlternativeName::Email(email.into()),
        extensions: FulcioExtensions {
            issuer: Some("https://oauth2.example".into()),
            ..FulcioExtensions::default()
        },
    };
    let leaf = FulcioLeaf {
        issuer_cert_der: &root,
        subject_key: key.public_key(),
        identity: &identity,
        serial: &[2; 16],
        not_before,
        not_after,
    }
    .precertificate(&ca_key)
    .expect("test leaf");
    (key, vec![leaf, root])
}
