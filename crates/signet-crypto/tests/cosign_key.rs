//! cosign's encrypted private key files: round trips for every key kind signet signs with,
//! the failures a reader must report, a key written by cosign itself, and OpenSSL reading
//! what is decrypted.
//!
//! scrypt is slow in a debug build (about 3 s for cosign's N = 32768), so round trips use a
//! small N through `encrypt_private_key_with`; one test runs the default cost end to end.

use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use signet_crypto::cosign_key::{
    decrypt_pkcs8, encrypt_private_key_with, public_key_pem, ScryptParams, COSIGN_PRIVATE_KEY_PEM_TYPE,
    DEFAULT_SCRYPT, SIGSTORE_PRIVATE_KEY_PEM_TYPE,
};
use signet_crypto::{
    decrypt_private_key, encrypt_private_key, CosignKeyError, KeyKind, PublicKey, SigningKey,
};

/// `pemsigstorekey` of cosign's `pkg/cosign/keys_test.go`, written by cosign (scrypt N = 32768),
/// password "hello"; an ECDSA P-256 key.
/// https://github.com/sigstore/cosign/blob/main/pkg/cosign/keys_test.go
const COSIGN_SIGSTORE_KEY: &str = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
OCwicCI6MX0sInNhbHQiOiI3T3VGd2VsbWZZNXVId2NoaURSc210anNwZ2ZlZjFG
Mk5lOGFDTjVLYVpZPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJQNHk4OGhCb3ZTa09MbXN0bFVBaGJwdDJ0K2xTNUxQSCJ9LCJj
aXBoZXJ0ZXh0IjoiMnB1QzdyZldJOWh3bnJlQ2s4aUZDRlVwQlRrSzRJNlIvbFBF
cnBDekpXUGpJWXl4eGVIL1A2VW52cFJHdVhla1NNb3JMdGhLamdoQ1JlNy82NDVH
QWtoVm1LRC92eEF0S2EvbE1abENSQ3FlekJGUFd1dzNpeFRtZ2xhb2J1ZFVSbUVs
bmNGOGlZbzBTMVl6Y1ZOMVFwY2J2c0dNcUlYRzVlbmdteGp5dCtBcXlyZTF0Q0Y0
V01tU1BlaEljNlBqd2h1Q2xHaVpJUWRvTGc9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
";
const COSIGN_SIGSTORE_KEY_PASSWORD: &[u8] = b"hello";

/// A cheap scrypt cost for round trips in debug builds.
const FAST: ScryptParams = ScryptParams {
    n: 1 << 10,
    r: 8,
    p: 1,
};

/// The JSON body of an encrypted key file, to edit.
fn body(pem_text: &str) -> serde_json::Value {
    serde_json::from_slice(pem::parse(pem_text).unwrap().contents()).unwrap()
}

/// An encrypted key file with `json` as its body and `tag` as its PEM type.
fn file(tag: &str, json: &serde_json::Value) -> String {
    pem::encode(&pem::Pem::new(tag, serde_json::to_vec(json).unwrap()))
}

#[test]
fn round_trips_every_key_kind() {
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
        let key = SigningKey::generate(kind).unwrap();
        let pem_text = encrypt_private_key_with(&key, b"correct horse", FAST).unwrap();
        assert!(pem_text.starts_with(&format!("-----BEGIN {SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----\n")));
        let back = decrypt_private_key(&pem_text, b"correct horse").unwrap();
        assert_eq!(back.public_key(), key.public_key(), "{kind}");
        // Written as PKCS#8 version 1, as Go writes it.
        let plain = decrypt_pkcs8(&pem_text, b"correct horse").unwrap();
        let info = pkcs8::PrivateKeyInfo::try_from(plain.as_slice()).unwrap();
        assert_eq!(info.version(), pkcs8::Version::V1, "{kind}");
        // The decrypted key signs, and the public key file verifies it.
        let public = PublicKey::from_pem(&public_key_pem(key.public_key())).unwrap();
        public
            .verify_default(b"payload", &back.sign(b"payload").unwrap())
            .unwrap();
        // Fresh salt and nonce each time.
        let again = encrypt_private_key_with(&key, b"correct horse", FAST).unwrap();
        assert_ne!(body(&again)["kdf"]["salt"], body(&pem_text)["kdf"]["salt"]);
        assert_ne!(
            body(&again)["cipher"]["nonce"],
            body(&pem_text)["cipher"]["nonce"]
        );
    }
}

#[test]
fn default_cost_is_cosigns() {
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let pem_text = encrypt_private_key(&key, b"pw").unwrap();
    let json = body(&pem_text);
    assert_eq!(
        json["kdf"]["params"],
        serde_json::json!({"N": 65536, "r": 8, "p": 1})
    );
    assert_eq!(DEFAULT_SCRYPT.n, 65536);
    assert_eq!(
        STANDARD
            .decode(json["kdf"]["salt"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(
        STANDARD
            .decode(json["cipher"]["nonce"].as_str().unwrap())
            .unwrap()
            .len(),
        24
    );
    let back = decrypt_private_key(&pem_text, b"pw").unwrap();
    assert_eq!(back.public_key(), key.public_key());
}

#[test]
fn wrong_password_is_a_clear_error() {
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let pem_text = encrypt_private_key_with(&key, b"right", FAST).unwrap();
    let e = decrypt_private_key(&pem_text, b"wrong").unwrap_err();
    assert_eq!(e, CosignKeyError::Decrypt);
    assert!(e.to_string().contains("wrong password"), "{e}");
    assert_eq!(
        decrypt_private_key(&pem_text, b"").unwrap_err(),
        CosignKeyError::Decrypt
    );
}

#[test]
fn tampering_is_caught_by_the_tag() {
    let key = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let pem_text = encrypt_private_key_with(&key, b"pw", FAST).unwrap();
    let json = body(&pem_text);
    let ciphertext = STANDARD.decode(json["ciphertext"].as_str().unwrap()).unwrap();
    for i in [0, 15, 16, ciphertext.len() - 1] {
        let mut bad = ciphertext.clone();
        bad[i] ^= 0x01;
        let mut edited = json.clone();
        edited["ciphertext"] = STANDARD.encode(&bad).into();
        let e = decrypt_private_key(&file(SIGSTORE_PRIVATE_KEY_PEM_TYPE, &edited), b"pw").unwrap_err();
        assert_eq!(e, CosignKeyError::Decrypt, "byte {i}");
    }
    // Another salt or nonce derives another key or keystream: the tag fails too.
    for (section, field) in [("kdf", "salt"), ("cipher", "nonce")] {
        let mut raw = STANDARD.decode(json[section][field].as_str().unwrap()).unwrap();
        raw[0] ^= 0x80;
        let mut edited = json.clone();
        edited[section][field] = STANDARD.encode(&raw).into();
        let e = decrypt_private_key(&file(SIGSTORE_PRIVATE_KEY_PEM_TYPE, &edited), b"pw").unwrap_err();
        assert_eq!(e, CosignKeyError::Decrypt, "{field}");
    }
}

#[test]
fn garbage_truncation_and_unknown_algorithms_are_refused() {
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let pem_text = encrypt_private_key_with(&key, b"pw", FAST).unwrap();
    let json = body(&pem_text);

    assert!(matches!(
        decrypt_private_key("", b"pw"),
        Err(CosignKeyError::Pem(_))
    ));
    assert!(matches!(
        decrypt_private_key("not a key at all", b"pw"),
        Err(CosignKeyError::Pem(_))
    ));
    // Cut in the middle of the base64: no END line.
    let cut = &pem_text[..pem_text.len() / 2];
    assert!(matches!(
        decrypt_private_key(cut, b"pw"),
        Err(CosignKeyError::Pem(_))
    ));
    // A whole PEM block whose JSON is cut short.
    let bytes = serde_json::to_vec(&json).unwrap();
    let short = pem::encode(&pem::Pem::new(
        SIGSTORE_PRIVATE_KEY_PEM_TYPE,
        bytes[..bytes.len() / 2].to_vec(),
    ));
    assert!(matches!(
        decrypt_private_key(&short, b"pw"),
        Err(CosignKeyError::Json(_))
    ));
    // Random bytes in the block.
    let noise = pem::encode(&pem::Pem::new(SIGSTORE_PRIVATE_KEY_PEM_TYPE, vec![0x5a; 200]));
    assert!(matches!(
        decrypt_private_key(&noise, b"pw"),
        Err(CosignKeyError::Json(_))
    ));
    // A ciphertext shorter than its tag.
    let mut edited = json.clone();
    edited["ciphertext"] = STANDARD.encode([1u8; 10]).into();
    assert!(matches!(
        decrypt_private_key(&file(SIGSTORE_PRIVATE_KEY_PEM_TYPE, &edited), b"pw"),
        Err(CosignKeyError::FieldLength {
            field: "ciphertext",
            ..
        })
    ));
    // An unencrypted key, or another PEM type.
    assert!(matches!(
        decrypt_private_key(&key.to_pkcs8_pem(), b"pw"),
        Err(CosignKeyError::PemType { .. })
    ));

    let mut edited = json.clone();
    edited["kdf"]["name"] = "argon2id".into();
    assert_eq!(
        decrypt_private_key(&file(SIGSTORE_PRIVATE_KEY_PEM_TYPE, &edited), b"pw").unwrap_err(),
        CosignKeyError::UnsupportedKdf("argon2id".into())
    );
    let mut edited = json.clone();
    edited["cipher"]["name"] = "aes-256-gcm".into();
    assert_eq!(
        decrypt_private_key(&file(SIGSTORE_PRIVATE_KEY_PEM_TYPE, &edited), b"pw").unwrap_err(),
        CosignKeyError::UnsupportedCipher("aes-256-gcm".into())
    );
    // N above 2^20 is refused before scrypt runs (it would need 2 GiB).
    let mut edited = json.clone();
    edited["kdf"]["params"]["N"] = (1u64 << 21).into();
    assert!(matches!(
        decrypt_private_key(&file(SIGSTORE_PRIVATE_KEY_PEM_TYPE, &edited), b"pw"),
        Err(CosignKeyError::ScryptParams { n: 2_097_152, .. })
    ));
}

#[test]
fn older_cosign_pem_type_is_read() {
    let key = SigningKey::generate(KeyKind::EcdsaP384).unwrap();
    let json = body(&encrypt_private_key_with(&key, b"pw", FAST).unwrap());
    let old = file(COSIGN_PRIVATE_KEY_PEM_TYPE, &json);
    assert_eq!(
        decrypt_private_key(&old, b"pw").unwrap().public_key(),
        key.public_key()
    );
}

#[test]
fn key_written_by_cosign_decrypts() {
    let key = decrypt_private_key(COSIGN_SIGSTORE_KEY, COSIGN_SIGSTORE_KEY_PASSWORD).unwrap();
    assert_eq!(key.public_key().kind(), KeyKind::EcdsaP256);
    assert_eq!(
        decrypt_private_key(COSIGN_SIGSTORE_KEY, b"hellO").unwrap_err(),
        CosignKeyError::Decrypt
    );
}

/// `openssl pkey` parses the PKCS#8 that comes out, for cosign's key and for one of ours.
#[test]
fn openssl_reads_the_decrypted_pkcs8() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: openssl is not installed");
        return;
    }
    let ours = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let ours_pem = encrypt_private_key_with(&ours, b"pw", FAST).unwrap();
    for (pem_text, password, expected_public) in [
        (COSIGN_SIGSTORE_KEY, COSIGN_SIGSTORE_KEY_PASSWORD, None),
        (ours_pem.as_str(), &b"pw"[..], Some(ours.public_key())),
    ] {
        let pkcs8 = decrypt_pkcs8(pem_text, password).unwrap();
        let mut child = Command::new("openssl")
            .args(["pkey", "-inform", "DER", "-pubout", "-outform", "DER"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&pkcs8).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "openssl pkey: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // OpenSSL's public key is the one signet derives from the same PKCS#8.
        let derived = SigningKey::from_pkcs8_der(&pkcs8).unwrap();
        assert_eq!(out.stdout, derived.public_key().spki_der());
        if let Some(public) = expected_public {
            assert_eq!(out.stdout, public.spki_der());
        }
    }
}

#[test]
fn a_key_body_that_is_an_array_is_refused() {
    let pem = pem::encode(&pem::Pem::new(
        "ENCRYPTED SIGSTORE PRIVATE KEY",
        br#"[{}, {}, "AA=="]"#.to_vec(),
    ));
    let err = signet_crypto::decrypt_private_key(&pem, b"pw")
        .unwrap_err()
        .to_string();
    assert!(err.contains("JSON"), "{err}");
}
