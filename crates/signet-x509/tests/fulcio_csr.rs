//! PKCS#10 CSRs: made here (P-256, P-384, Ed25519) and by `openssl req` (P-256, RSA-2048,
//! Ed25519), checked by `verify_csr`; tampered and garbage input refused; no input panics.

use std::path::{Path, PathBuf};
use std::process::Command;

use der::asn1::BitString;
use der::{Decode, Encode};
use proptest::prelude::*;
use signet_crypto::{KeyKind, PublicKey, SigningKey};
use signet_x509::{oid, read_identity, verify_csr, CsrError};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};

/// A CSR for `key` with an empty subject and no attributes, signed with its default scheme.
fn csr(key: &SigningKey) -> Vec<u8> {
    let info = CertReqInfo {
        version: Version::V1,
        subject: Name::default(),
        public_key: SubjectPublicKeyInfoOwned::from_der(key.public_key().spki_der()).unwrap(),
        attributes: Default::default(),
    };
    let algorithm = match key.public_key().kind() {
        KeyKind::EcdsaP256 => oid::ECDSA_WITH_SHA256,
        KeyKind::EcdsaP384 => oid::ECDSA_WITH_SHA384,
        KeyKind::Ed25519 => oid::ID_ED25519,
        other => panic!("{other}"),
    };
    let signature = key.sign(&info.to_der().unwrap()).unwrap();
    CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned {
            oid: algorithm,
            parameters: None,
        },
        signature: BitString::from_bytes(&signature).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn pem(der: &[u8]) -> Vec<u8> {
    pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", der.to_vec())).into_bytes()
}

#[test]
fn csrs_made_here_verify_in_der_and_pem() {
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
        let key = SigningKey::generate(kind).unwrap();
        let der = csr(&key);
        assert_eq!(&verify_csr(&der).unwrap(), key.public_key(), "{kind}");
        assert_eq!(&verify_csr(&pem(&der)).unwrap(), key.public_key(), "{kind}");
        let mut indented = b"\n  ".to_vec();
        indented.extend(pem(&der));
        assert_eq!(&verify_csr(&indented).unwrap(), key.public_key(), "{kind}");
    }
}

#[test]
fn tampered_and_malformed_csrs_are_refused() {
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let good = csr(&key);
    let mut request = CertReq::from_der(&good).unwrap();

    // Another key's signature over the same info.
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let forged = CertReq {
        signature: BitString::from_bytes(&other.sign(&request.info.to_der().unwrap()).unwrap()).unwrap(),
        ..request.clone()
    };
    let err = verify_csr(&forged.to_der().unwrap()).unwrap_err();
    assert!(matches!(err, CsrError::Signature(_)), "{err}");

    // A changed subject under the original signature.
    let mut changed = request.clone();
    changed.info.subject = "CN=mallory".parse().unwrap();
    let err = verify_csr(&changed.to_der().unwrap()).unwrap_err();
    assert!(matches!(err, CsrError::Signature(_)), "{err}");

    // An algorithm that does not fit the key.
    request.algorithm.oid = oid::SHA256_WITH_RSA;
    let err = verify_csr(&request.to_der().unwrap()).unwrap_err();
    assert!(matches!(err, CsrError::Signature(_)), "{err}");

    let err = verify_csr(b"garbage").unwrap_err();
    assert!(matches!(err, CsrError::Der(_)), "{err}");
    let err = verify_csr(b"").unwrap_err();
    assert!(matches!(err, CsrError::Der(_)), "{err}");
    let err = verify_csr(b"-----BEGIN CERTIFICATE REQUEST-----\n!!\n-----END CERTIFICATE REQUEST-----\n")
        .unwrap_err();
    assert!(matches!(err, CsrError::Pem(_)), "{err}");
    let err = verify_csr(pem::encode(&pem::Pem::new("CERTIFICATE", good.clone())).as_bytes()).unwrap_err();
    assert!(
        matches!(err, CsrError::PemLabel(ref l) if l == "CERTIFICATE"),
        "{err}"
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(verify_csr(&trailing).unwrap_err(), CsrError::Der(_)));
}

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("signet-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    Command::new("openssl").current_dir(dir).args(args).output().ok()
}

#[test]
fn openssl_csrs_verify_and_tampered_ones_do_not() {
    let scratch = Scratch::new("csr");
    let dir = &scratch.0;
    if openssl(dir, &["version"]).is_none() {
        println!("skipping: openssl is not on PATH");
        return;
    }
    let keys: [(&str, &[&str]); 3] = [
        (
            "p256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        (
            "rsa2048",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        ("ed25519", &["-algorithm", "ED25519"]),
    ];
    for (name, genpkey) in keys {
        let key = format!("{name}.key");
        let out = openssl(dir, &[&["genpkey"][..], genpkey, &["-out", &key]].concat()).unwrap();
        if !out.status.success() {
            assert_eq!(name, "ed25519", "openssl genpkey {name}: {out:?}");
            println!("skipping Ed25519: this openssl cannot make Ed25519 keys");
            continue;
        }
        let out = openssl(
            dir,
            &["req", "-new", "-key", &key, "-subj", "/", "-out", "csr.pem"],
        )
        .unwrap();
        assert!(out.status.success(), "openssl req {name}: {out:?}");
        let out = openssl(dir, &["pkey", "-in", &key, "-pubout"]).unwrap();
        let expected = PublicKey::from_pem(std::str::from_utf8(&out.stdout).unwrap()).unwrap();

        let pem_csr = std::fs::read(dir.join("csr.pem")).unwrap();
        assert_eq!(verify_csr(&pem_csr).unwrap(), expected, "{name}");
        let der = pem::parse(&pem_csr).unwrap().into_contents();
        assert_eq!(verify_csr(&der).unwrap(), expected, "{name}");
        signet_x509::check_leaf_key(&expected).unwrap();

        // Flip one bit in the signature (the last byte of the DER).
        let mut tampered = der.clone();
        *tampered.last_mut().unwrap() ^= 0x01;
        let err = verify_csr(&tampered).unwrap_err();
        assert!(matches!(err, CsrError::Signature(_)), "{name}: {err}");
        // And one in the subject public key's neighbourhood: the info no longer matches.
        let mut tampered = der.clone();
        let at = der.len() / 3;
        tampered[at] ^= 0x01;
        assert!(
            verify_csr(&tampered).is_err(),
            "{name}: tampered byte {at} accepted"
        );
    }
}

proptest! {
    #[test]
    fn verify_csr_and_read_identity_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = verify_csr(&bytes);
        let _ = read_identity(&bytes);
    }

    #[test]
    fn mutated_csrs_never_panic_nor_verify(index in any::<usize>(), flip in 1u8..=255) {
        // Every byte is signed, names the algorithm, or is the signature: any change must fail.
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let mut der = csr(&key);
        let i = index % der.len();
        der[i] ^= flip;
        prop_assert!(verify_csr(&der).is_err(), "byte {} ^ {:#04x} still verifies", i, flip);
    }
}
