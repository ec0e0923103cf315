use proptest::prelude::*;
use signet_crypto::{KeyKind, PublicKey, SigningKey};

use super::*;

/// The Ed25519 example of golang.org/x/mod/sumdb/note (key "PeterNeumann+c74f20a3+ARpc…").
const PETER_KEY_B64: &str = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
then you don't know what your problem is.\n\
\n\
\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn ed25519_spki(raw: &[u8]) -> PublicKey {
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    der.extend_from_slice(raw);
    PublicKey::from_spki_der(&der).unwrap()
}

#[test]
fn go_sumdb_note_example_verifies() {
    let vkey = STANDARD.decode(PETER_KEY_B64).unwrap();
    assert_eq!(vkey[0], 0x01);
    let v = NoteVerifier::new("PeterNeumann", ed25519_spki(&vkey[1..])).unwrap();
    assert_eq!(v.key_hash(), 0xc74f20a3);
    let n = verify_note(PETER_NOTE, std::slice::from_ref(&v)).unwrap();
    assert!(n.text().starts_with("If you think"));
    assert_eq!(n.verified_signatures().len(), 1);
    assert_eq!(Note::parse(PETER_NOTE).unwrap().to_envelope(), PETER_NOTE);
    // Tampered text: the known key's signature fails, so the note is refused.
    let tampered = PETER_NOTE.replacen("cryptography", "Cryptography", 1);
    assert_eq!(
        verify_note(&tampered, &[v]).unwrap_err(),
        NoteError::BadSignature {
            name: "PeterNeumann".into(),
            key_hash: 0xc74f20a3
        }
    );
}

#[test]
fn unknown_keys_are_ignored_and_known_ones_must_verify() {
    let a = NoteSigner::new("a.example/log", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
    let b = NoteSigner::new(
        "b.example/witness",
        SigningKey::generate(KeyKind::Ed25519).unwrap(),
    )
    .unwrap();
    let c = NoteSigner::new("a.example/log", SigningKey::generate(KeyKind::EcdsaP256).unwrap()).unwrap();
    let env = sign_note("hello\n\nworld\n", &[&b, &a, &c]).unwrap();
    let n = verify_note(&env, &[a.verifier()]).unwrap();
    assert_eq!(n.text(), "hello\n\nworld\n");
    assert_eq!(n.verified_signatures()[0].name, "a.example/log");
    assert_eq!(n.unverified_signatures().len(), 2);
    let both = verify_note(&env, &[a.verifier(), b.verifier(), c.verifier()]).unwrap();
    assert_eq!(both.verified_signatures().len(), 3);
    assert!(matches!(
        verify_note(&env, &[]),
        Err(NoteError::NoKnownSignature { .. })
    ));
    // A known name+hash whose signature is garbage fails the whole note.
    let mut note = Note::parse(&env).unwrap();
    let mut bad = note.signatures()[1].clone();
    bad.signature[0] ^= 1;
    note.add_signature(bad).unwrap();
    assert!(matches!(
        note.verify(&[a.verifier()]),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn key_ids_follow_the_spec() {
    let k = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let mut m = b"n.example\n\x01".to_vec();
    m.extend_from_slice(k.public_key().raw_bytes());
    let full = signet_crypto::sha256(&m);
    assert_eq!(note_key_hash("n.example", k.public_key()), full);
    let s = NoteSigner::new("n.example", k).unwrap();
    assert_eq!(s.key_hash().to_be_bytes(), full[..4]);
    let e = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let full = signet_crypto::sha256(e.public_key().spki_der());
    assert_eq!(rekor_log_id("anything", e.public_key()), full);
    assert_eq!(
        NoteSigner::new("x", e).unwrap().key_hash().to_be_bytes(),
        full[..4]
    );
}

#[test]
fn malformed_notes_are_refused() {
    let good_sig = "\u{2014} n AAAAAAE=\n";
    type Case = (String, fn(&NoteError) -> bool);
    let cases: Vec<Case> = vec![
        ("text\n".into(), |e| matches!(e, NoteError::MissingSeparator)),
        ("text\n\n".into(), |e| matches!(e, NoteError::NoSignatures)),
        (format!("text\r\n\n{good_sig}"), |e| {
            matches!(e, NoteError::ControlCharacter { byte: 0x0d, .. })
        }),
        (format!("te\txt\n\n{good_sig}"), |e| {
            matches!(e, NoteError::ControlCharacter { .. })
        }),
        ("text\n\n\u{2014} n AAAAAAE=".into(), |e| {
            matches!(e, NoteError::SignaturesNotNewlineTerminated)
        }),
        ("text\n\n- n AAAAAAE=\n".into(), |e| {
            matches!(e, NoteError::MalformedSignatureLine { .. })
        }),
        ("text\n\n\u{2014}n AAAAAAE=\n".into(), |e| {
            matches!(e, NoteError::MalformedSignatureLine { .. })
        }),
        ("text\n\n\u{2014} nAAAAAAE=\n".into(), |e| {
            matches!(e, NoteError::MalformedSignatureLine { .. })
        }),
        ("text\n\n\u{2014} n+1 AAAAAAE=\n".into(), |e| {
            matches!(e, NoteError::InvalidKeyName { .. })
        }),
        ("text\n\n\u{2014}  AAAAAAE=\n".into(), |e| {
            matches!(e, NoteError::InvalidKeyName { .. })
        }),
        ("text\n\n\u{2014} n\u{a0}x AAAAAAE=\n".into(), |e| {
            matches!(e, NoteError::InvalidKeyName { .. })
        }),
        ("text\n\n\u{2014} n AAAAAA==\n".into(), |e| {
            matches!(e, NoteError::MalformedSignatureLine { .. })
        }),
        ("text\n\n\u{2014} n AAAAAAE\n".into(), |e| {
            matches!(e, NoteError::MalformedSignatureLine { .. })
        }),
        ("text\n\n\u{2014} n AAAAAAE= \n".into(), |e| {
            matches!(e, NoteError::MalformedSignatureLine { .. })
        }),
        (format!("text\n\n{good_sig}\n"), |e| {
            matches!(e, NoteError::NoSignatures)
        }),
        (format!("text\n\n{}", good_sig.repeat(101)), |e| {
            matches!(e, NoteError::TooManySignatures { limit: 100 })
        }),
    ];
    for (env, want) in cases {
        let err = Note::parse(&env).unwrap_err();
        assert!(want(&err), "{env:?} gave {err:?}");
    }
    assert_eq!(
        Note::parse(&format!("text\n\n{}", good_sig.repeat(100)))
            .unwrap()
            .signatures()
            .len(),
        100
    );
    assert!(Note::new("no newline").is_err());
    assert!(Note::new("").is_err());
    assert!(NoteSigner::new("bad name", SigningKey::generate(KeyKind::Ed25519).unwrap()).is_err());
    assert!(sign_note("t\n", &[]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn parse_never_panics(s in "\\PC*", t in "[a-z\n]{0,20}\n\n(\u{2014} [a-z+ ]{0,5} [A-Za-z0-9+/=]{0,12}\n){0,3}") {
        for input in [&s, &t] {
            if let Ok(n) = Note::parse(input) {
                prop_assert_eq!(&n.to_envelope(), input);
            }
        }
    }

    #[test]
    fn notes_round_trip(text in "([a-z ]{0,10}\n){1,4}", names in proptest::collection::vec("[a-z./]{1,10}", 1..4), sig in proptest::collection::vec(any::<u8>(), 1..80), hash: u32) {
        let mut n = Note::new(&text).unwrap();
        for name in &names {
            n.add_signature(NoteSignature { name: name.clone(), key_hash: hash, signature: sig.clone() }).unwrap();
        }
        let env = n.to_envelope();
        prop_assert_eq!(Note::parse(&env).unwrap(), n);
    }
}
