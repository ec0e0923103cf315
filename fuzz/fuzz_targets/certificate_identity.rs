//! Fulcio leaves: `read_identity` (SAN and Fulcio extensions) on arbitrary DER.
//!
//! An identity that reads must survive being written into a new certificate: issued by a CA
//! made at start-up (`FulcioLeaf::precertificate`), the new certificate reads back to the same
//! identity. That checks the extension decoder against the encoder, value by value.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_crypto::{KeyKind, SigningKey};
use signet_formats::common::DistinguishedName;
use signet_x509::profile::CertificateParams;
use signet_x509::{fulcio_root_certificate, read_identity, FulcioLeaf};

const NOW: i64 = 1_767_225_600;

struct Ca {
    key: SigningKey,
    cert: Vec<u8>,
    subject_key: SigningKey,
}

fn ca() -> &'static Ca {
    static CA: OnceLock<Ca> = OnceLock::new();
    CA.get_or_init(|| {
        let key = SigningKey::generate(KeyKind::EcdsaP256).expect("key generation");
        let subject = DistinguishedName {
            organization: "signet-fuzz".into(),
            common_name: "fuzz-ca".into(),
        };
        let cert = fulcio_root_certificate(
            &key,
            &CertificateParams {
                subject: &subject,
                serial: &[1; 16],
                not_before: NOW - 3600,
                not_after: NOW + 86_400,
            },
        )
        .expect("CA certificate");
        Ca {
            key,
            cert,
            subject_key: SigningKey::generate(KeyKind::EcdsaP256).expect("key generation"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(identity) = read_identity(data) else {
        return;
    };
    let ca = ca();
    let leaf = FulcioLeaf {
        issuer_cert_der: &ca.cert,
        subject_key: ca.subject_key.public_key(),
        identity: &identity,
        serial: &[7; 16],
        not_before: NOW,
        not_after: NOW + 600,
    };
    // Issuance may refuse a value a certificate cannot carry in signet's profile (a non-ASCII
    // SAN, say); what it does issue must read back unchanged.
    if let Ok(cert) = leaf.precertificate(&ca.key) {
        let again = read_identity(&cert).expect("a certificate signet issued must read");
        assert_eq!(
            again, identity,
            "identity changed when written into a certificate"
        );
    }
});
