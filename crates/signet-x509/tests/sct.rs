//! RFC 6962 SCTs: TLS encoding round trips, parser robustness, signing and verifying embedded
//! SCTs over certificates built here, and the SCTs public Sigstore's CT log embedded in real
//! Fulcio certificates (sigstore-conformance vectors).

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use der::{Decode, Encode};
use proptest::prelude::*;
use signet_crypto::{sha256, KeyKind, PublicKey, SigningKey};
use signet_formats::common::DistinguishedName;
use signet_formats::trust::TrustedRoot;
use signet_x509::profile::{tsa_root_certificate, CertificateParams};
use signet_x509::sct::*;
use signet_x509::ParsedCertificate;
use x509_cert::Certificate;

fn sample_sct() -> SignedCertificateTimestamp {
    SignedCertificateTimestamp {
        version: 0,
        log_id: [7; 32],
        timestamp: 1_710_869_186_123,
        extensions: vec![1, 2, 3],
        signature: DigitallySigned {
            hash_algorithm: 4,
            signature_algorithm: 3,
            signature: vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        },
    }
}

#[test]
fn sct_round_trips() {
    let sct = sample_sct();
    let bytes = sct.encode().unwrap();
    assert_eq!(bytes.len(), 1 + 32 + 8 + 2 + 3 + 2 + 2 + 8);
    assert_eq!(SignedCertificateTimestamp::decode(&bytes).unwrap(), sct);
    let list = encode_sct_list(&[sct.clone(), sample_sct()]).unwrap();
    assert_eq!(&list[..2], &((bytes.len() as u16 + 2) * 2).to_be_bytes());
    assert_eq!(decode_sct_list(&list).unwrap(), vec![sct.clone(), sct]);
}

#[test]
fn decode_rejects_truncation_and_trailing_bytes() {
    let bytes = sample_sct().encode().unwrap();
    for n in 0..bytes.len() {
        assert!(
            SignedCertificateTimestamp::decode(&bytes[..n]).is_err(),
            "prefix {n}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        SignedCertificateTimestamp::decode(&long),
        Err(SctError::TrailingBytes { count: 1, .. })
    ));
    let mut v2 = bytes;
    v2[0] = 1;
    assert!(matches!(
        SignedCertificateTimestamp::decode(&v2),
        Err(SctError::UnsupportedVersion(1))
    ));

    let list = encode_sct_list(&[sample_sct()]).unwrap();
    for n in 0..list.len() {
        assert!(decode_sct_list(&list[..n]).is_err(), "list prefix {n}");
    }
    let mut long = list.clone();
    long.push(0);
    assert!(decode_sct_list(&long).is_err());
    assert!(matches!(decode_sct_list(&[0, 0]), Err(SctError::Empty { .. })));
    assert!(matches!(
        decode_sct_list(&[0, 2, 0, 0]),
        Err(SctError::Empty { .. })
    ));
}

#[test]
fn signed_struct_layout_matches_rfc6962() {
    let tbs = [0x30, 0x00];
    let entry = LogEntry::Precert {
        issuer_key_hash: [9; 32],
        tbs_certificate: &tbs,
    };
    let input = signature_input(0x0102_0304_0506_0708, &entry, &[]);
    let mut expected = vec![0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1];
    expected.extend_from_slice(&[9; 32]);
    expected.extend_from_slice(&[0, 0, 2, 0x30, 0x00, 0, 0]);
    assert_eq!(input, expected);
    assert_eq!(merkle_tree_leaf(0x0102_0304_0506_0708, &entry, &[]), expected);

    let cert = [0xaa; 3];
    let x509 = signature_input(1, &LogEntry::X509 { certificate: &cert }, &[0xee]);
    assert_eq!(
        x509,
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3, 0xaa, 0xaa, 0xaa, 0, 1, 0xee]
    );

    let leaf = decode_merkle_tree_leaf(&expected).unwrap();
    assert_eq!(leaf.timestamp, 0x0102_0304_0506_0708);
    assert_eq!(leaf.entry.as_entry(), entry);
    for n in 0..expected.len() {
        assert!(decode_merkle_tree_leaf(&expected[..n]).is_err());
    }
}

/// Found by the `sct` fuzz target: a leaf with an empty certificate (or TBS) decoded, but could
/// not be encoded again (RFC 6962 §3.1: `ASN.1Cert<1..2^24-1>`), so its `merkle_tree_leaf` was
/// empty. 17 zero bytes were such a leaf.
#[test]
fn merkle_tree_leaf_with_an_empty_certificate_is_refused() {
    assert!(matches!(
        decode_merkle_tree_leaf(&[0; 17]),
        Err(SctError::Empty { what: "ASN.1Cert" })
    ));
    // version, leaf_type, timestamp, then entry_type precert_entry (1).
    let mut precert = vec![0u8; 11];
    precert.push(1);
    precert.extend_from_slice(&[0x11; 32]);
    precert.extend_from_slice(&[0, 0, 0, 0, 0]); // empty TBSCertificate, no extensions
    assert!(matches!(
        decode_merkle_tree_leaf(&precert),
        Err(SctError::Empty {
            what: "TBSCertificate"
        })
    ));
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = SignedCertificateTimestamp::decode(&bytes);
        let _ = decode_sct_list(&bytes);
        let _ = decode_merkle_tree_leaf(&bytes);
        let _ = precert_tbs(&bytes);
        let _ = verify_embedded_scts(&bytes, &bytes, &[]);
    }

    #[test]
    fn arbitrary_scts_round_trip(
        log_id in any::<[u8; 32]>(),
        timestamp in any::<u64>(),
        extensions in proptest::collection::vec(any::<u8>(), 0..64),
        hash_algorithm in any::<u8>(),
        signature_algorithm in any::<u8>(),
        signature in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let sct = SignedCertificateTimestamp {
            version: 0, log_id, timestamp, extensions,
            signature: DigitallySigned { hash_algorithm, signature_algorithm, signature },
        };
        prop_assert_eq!(SignedCertificateTimestamp::decode(&sct.encode().unwrap()).unwrap(), sct.clone());
        prop_assert_eq!(decode_sct_list(&encode_sct_list(std::slice::from_ref(&sct)).unwrap()).unwrap(), vec![sct]);
    }
}

/// A certificate to hang extensions on; its own signature does not matter to SCT checks.
fn base_certificate(issuer: &SigningKey) -> Certificate {
    let subject = DistinguishedName {
        organization: "signet".into(),
        common_name: "sct test".into(),
    };
    let params = CertificateParams {
        subject: &subject,
        serial: &[1, 2, 3, 4],
        not_before: 1_700_000_000,
        not_after: 1_700_000_600,
    };
    Certificate::from_der(&tsa_root_certificate(issuer, &params).unwrap()).unwrap()
}

fn with_extension(mut cert: Certificate, ext: x509_cert::ext::Extension) -> Vec<u8> {
    cert.tbs_certificate
        .extensions
        .get_or_insert_with(Vec::new)
        .push(ext);
    cert.to_der().unwrap()
}

#[test]
fn precert_tbs_removes_the_poison() {
    let issuer = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let cert = base_certificate(&issuer);
    let plain_tbs = cert.tbs_certificate.to_der().unwrap();
    let plain = cert.to_der().unwrap();
    let precert = with_extension(cert, poison_extension());
    assert!(is_precertificate(&precert).unwrap());
    assert!(!is_precertificate(&plain).unwrap());
    assert_eq!(precert_tbs(&precert).unwrap(), plain_tbs);
    assert!(matches!(precert_tbs(&plain), Err(SctError::NotPrecertificate)));
}

#[test]
fn signed_scts_verify_when_embedded() {
    let issuer = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let cert = base_certificate(&issuer);
    let tbs = cert.tbs_certificate.to_der().unwrap();
    let issuer_spki = issuer.public_key().spki_der().to_vec();
    let entry = LogEntry::Precert {
        issuer_key_hash: sha256(&issuer_spki),
        tbs_certificate: &tbs,
    };
    let timestamp = 1_700_000_100_000;
    let mut logs = Vec::new();
    let mut scts = Vec::new();
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
        let key = SigningKey::generate(kind).unwrap();
        let log = CtLogKey::new(key.public_key().clone());
        scts.push(sign_sct(&key, log.log_id, timestamp, &entry, &[]).unwrap());
        logs.push(log);
    }
    assert_eq!(
        (
            scts[0].signature.hash_algorithm,
            scts[0].signature.signature_algorithm
        ),
        (4, 3)
    );
    assert_eq!(
        (
            scts[1].signature.hash_algorithm,
            scts[1].signature.signature_algorithm
        ),
        (5, 3)
    );
    assert_eq!(
        (
            scts[2].signature.hash_algorithm,
            scts[2].signature.signature_algorithm
        ),
        (8, 7)
    );
    let final_cert = with_extension(cert.clone(), sct_list_extension(&scts).unwrap());

    let verified = verify_embedded_scts(&final_cert, &issuer_spki, &logs).unwrap();
    assert_eq!(verified.len(), 3);
    assert_eq!(verified[0].timestamp, timestamp);

    // Only one log trusted: the others are skipped.
    assert_eq!(
        verify_embedded_scts(&final_cert, &issuer_spki, &logs[1..2])
            .unwrap()
            .len(),
        1
    );
    // No log trusted, or the key outside its validity: nothing verifies.
    assert!(matches!(
        verify_embedded_scts(&final_cert, &issuer_spki, &[]),
        Err(SctError::NoVerifiedSct { count: 3, .. })
    ));
    let mut expired = logs[0].clone();
    expired.valid_until = Some(1_700_000_099);
    assert!(matches!(
        verify_embedded_scts(&final_cert, &issuer_spki, &[expired]),
        Err(SctError::NoVerifiedSct { .. })
    ));
    // Another issuer: the issuer key hash differs, so a known log's signature fails.
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    assert!(matches!(
        verify_embedded_scts(&final_cert, other.public_key().spki_der(), &logs),
        Err(SctError::BadSignature { .. })
    ));
    // A certificate without SCTs.
    assert!(matches!(
        verify_embedded_scts(&cert.to_der().unwrap(), &issuer_spki, &logs),
        Err(SctError::NoSctList)
    ));
}

fn vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors").into());
    if dir.join("sigstore-conformance/bundle-verify").is_dir() {
        Some(dir)
    } else {
        println!(
            "skipping: no conformance vectors at {} (set SIGNET_VECTORS)",
            dir.display()
        );
        None
    }
}

fn b64(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(clean).unwrap()
}

/// The leaf certificate of a bundle, and the trusted root's CT log keys and the SPKI of the CA
/// certificate that issued the leaf.
fn real_case(case: &str, root: Option<&str>) -> Option<(Vec<u8>, Vec<u8>, Vec<CtLogKey>)> {
    let dir = vectors()?;
    let case_dir = dir.join("sigstore-conformance/bundle-verify").join(case);
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case_dir.join("bundle.sigstore.json")).unwrap()).unwrap();
    let material = &bundle["verificationMaterial"];
    let leaf = material["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())
        .map(b64)
        .unwrap();
    let root_path = match root {
        Some(r) => dir.join(r),
        None => case_dir.join("trusted_root.json"),
    };
    let root = TrustedRoot::from_json(&std::fs::read(root_path).unwrap()).unwrap();
    let logs = root
        .ctlogs
        .iter()
        .filter_map(|log| {
            // A key that does not parse (one conformance case has such) is no trusted log.
            let key = PublicKey::from_spki_der(log.public_key.raw_bytes.as_ref()?).ok()?;
            let valid = log.public_key.valid_for.as_ref();
            Some(CtLogKey {
                log_id: log.log_id.key_id.clone().try_into().unwrap(),
                key,
                valid_from: valid.and_then(|v| v.start.as_ref()).map(|t| t.unix_seconds()),
                valid_until: valid.and_then(|v| v.end.as_ref()).map(|t| t.unix_seconds()),
            })
        })
        .collect();
    let parsed = ParsedCertificate::from_der(&leaf).unwrap();
    let issuer = root
        .certificate_authorities
        .iter()
        .filter_map(|ca| ca.cert_chain.certificates.first())
        .map(|c| ParsedCertificate::from_der(&c.raw_bytes).unwrap())
        .find(|ca| parsed.verify_issued_by(ca).is_ok())
        .expect("a trusted CA issued the leaf");
    let issuer_spki = issuer
        .cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    Some((leaf, issuer_spki, logs))
}

fn flip_last_byte_of(haystack: &mut [u8], needle: &[u8]) {
    let at = haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("bytes present");
    haystack[at + needle.len() - 1] ^= 0x01;
}

#[test]
fn public_good_fulcio_leaf_scts_verify() {
    let Some((leaf, issuer_spki, logs)) = real_case("happy-path-v0.3", Some("public-good/trusted_root.json"))
    else {
        return;
    };
    let verified = verify_embedded_scts(&leaf, &issuer_spki, &logs).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(
        B64.encode(verified[0].log_id),
        "3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4="
    );
    // The log id of a CT key is SHA-256 of its SPKI.
    let log = logs.iter().find(|l| l.log_id == verified[0].log_id).unwrap();
    assert_eq!(sha256(log.key.spki_der()), log.log_id);

    // One byte of the SCT signature flipped.
    let (scts, _) = embedded_scts(&leaf).unwrap();
    let mut bad_sig = leaf.clone();
    flip_last_byte_of(&mut bad_sig, &scts[0].signature.signature);
    let err = verify_embedded_scts(&bad_sig, &issuer_spki, &logs).unwrap_err();
    assert!(
        matches!(&err, SctError::BadSignature { log_id, .. } if log_id.starts_with("dd3d30")),
        "{err}"
    );

    // One byte of the TBS flipped (the last byte of the serial number).
    let serial = Certificate::from_der(&leaf)
        .unwrap()
        .tbs_certificate
        .serial_number;
    let mut bad_tbs = leaf.clone();
    flip_last_byte_of(&mut bad_tbs, serial.as_bytes());
    assert!(matches!(
        verify_embedded_scts(&bad_tbs, &issuer_spki, &logs),
        Err(SctError::BadSignature { .. })
    ));
}

#[test]
fn sct_with_extensions_verifies() {
    let Some((leaf, issuer_spki, logs)) = real_case("bundle-with-sct-with-extensions", None) else {
        return;
    };
    let (scts, _) = embedded_scts(&leaf).unwrap();
    assert!(scts.iter().any(|s| !s.extensions.is_empty()));
    assert!(!verify_embedded_scts(&leaf, &issuer_spki, &logs)
        .unwrap()
        .is_empty());
}

#[test]
fn wrong_ct_key_is_refused() {
    let Some((leaf, issuer_spki, logs)) = real_case("invalid-ct-key_fail", None) else {
        return;
    };
    assert!(matches!(
        verify_embedded_scts(&leaf, &issuer_spki, &logs),
        Err(SctError::NoVerifiedSct { .. } | SctError::BadSignature { .. })
    ));
}
