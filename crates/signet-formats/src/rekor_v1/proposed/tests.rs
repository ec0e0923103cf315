use signet_crypto::cosign_key::public_key_pem;
use signet_crypto::{KeyKind, SigningKey};

use super::*;
use crate::rekor_v1::RekorV1Entry;

fn key() -> SigningKey {
    SigningKey::generate(KeyKind::EcdsaP256).unwrap()
}

fn pem_b64(k: &SigningKey) -> String {
    encode_bytes(k.public_key().to_pem().as_bytes())
}

fn hashedrekord(k: &SigningKey, artifact: &[u8]) -> Value {
    let digest = sha256(artifact);
    json!({
        "kind": "hashedrekord", "apiVersion": "0.0.1",
        "spec": {
            "signature": {"content": encode_bytes(&k.sign(artifact).unwrap()), "publicKey": {"content": pem_b64(k)}},
            "data": {"hash": {"algorithm": "sha256", "value": super::super::to_hex(&digest).to_uppercase()}},
        },
    })
}

fn envelope_json(k: &SigningKey, payload: &[u8]) -> String {
    let pae = dsse::pae("application/vnd.in-toto+json", payload);
    json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": encode_bytes(payload),
        "signatures": [{"sig": encode_bytes(&k.sign(&pae).unwrap()), "keyid": ""}],
    })
    .to_string()
}

#[test]
fn hashedrekord_is_stored_canonical_and_parses_back() {
    let k = key();
    let e = entry_from_proposed(hashedrekord(&k, b"hello").to_string().as_bytes()).unwrap();
    assert_eq!((e.kind, e.api_version), ("hashedrekord", "0.0.1"));
    let text = String::from_utf8(e.canonical_body.clone()).unwrap();
    assert!(text.starts_with(r#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":""#));
    // Hex is lower-cased, so the same request spelled differently is the same entry.
    assert!(text.contains(&super::super::to_hex(&sha256(b"hello"))));
    let RekorV1Entry::HashedRekordV001(h) = RekorV1Entry::from_json(&e.canonical_body).unwrap() else {
        panic!("kind")
    };
    assert_eq!(h.public_key_pem, public_key_pem(k.public_key()).as_bytes());
    assert_eq!(
        e.digests,
        vec![(HashAlgorithm::Sha2_256, sha256(b"hello").to_vec())]
    );
}

#[test]
fn hashedrekord_with_a_wrong_signature_is_refused() {
    let k = key();
    let mut v = hashedrekord(&k, b"hello");
    v["spec"]["data"]["hash"]["value"] = json!(super::super::to_hex(&sha256(b"other")));
    assert!(matches!(
        entry_from_proposed(v.to_string().as_bytes()),
        Err(RekorV1Error::UnverifiedSignature { .. })
    ));
    let mut v = hashedrekord(&k, b"hello");
    v["spec"]["signature"]["publicKey"]["content"] = json!(encode_bytes(b"not pem"));
    assert!(matches!(
        entry_from_proposed(v.to_string().as_bytes()),
        Err(RekorV1Error::InvalidField { .. })
    ));
}

#[test]
fn unknown_kinds_and_garbage_are_refused() {
    assert!(matches!(
        entry_from_proposed(br#"{"kind":"rekord","apiVersion":"0.0.1","spec":{}}"#),
        Err(RekorV1Error::UnknownKind { .. })
    ));
    assert!(matches!(
        entry_from_proposed(b"\x00garbage"),
        Err(RekorV1Error::Json { .. })
    ));
    assert!(matches!(
        entry_from_proposed(br#"{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{"data":{}}}"#),
        Err(RekorV1Error::Json { .. })
    ));
}

#[test]
fn dsse_stores_hashes_and_sorted_signatures() {
    let (a, b) = (key(), key());
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
    let pae = dsse::pae("application/vnd.in-toto+json", payload);
    let sigs = [a.sign(&pae).unwrap(), b.sign(&pae).unwrap()];
    let envelope = json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": encode_bytes(payload),
        "signatures": [{"sig": encode_bytes(&sigs[0])}, {"sig": encode_bytes(&sigs[1])}],
    })
    .to_string();
    let proposed = json!({
        "kind": "dsse", "apiVersion": "0.0.1",
        "spec": {"proposedContent": {"envelope": envelope, "verifiers": [pem_b64(&b), pem_b64(&a)]}},
    });
    let e = entry_from_proposed(proposed.to_string().as_bytes()).unwrap();
    let RekorV1Entry::DsseV001(d) = RekorV1Entry::from_json(&e.canonical_body).unwrap() else {
        panic!("kind")
    };
    assert_eq!(d.payload_hash.unwrap().digest, sha256(payload));
    assert_eq!(d.envelope_hash.unwrap().digest, sha256(envelope.as_bytes()));
    let mut expected: Vec<_> = sigs.iter().map(|s| encode_bytes(s)).collect();
    expected.sort();
    let stored: Vec<_> = d.signatures.iter().map(|s| encode_bytes(&s.signature)).collect();
    assert_eq!(stored, expected);
    for s in &d.signatures {
        let signer = if s.signature == sigs[0] { &a } else { &b };
        assert_eq!(s.verifier_pem, public_key_pem(signer.public_key()).as_bytes());
    }
    // A signature no verifier accepts, and server-computed fields in a proposal.
    let other = json!({
        "kind": "dsse", "apiVersion": "0.0.1",
        "spec": {"proposedContent": {"envelope": envelope, "verifiers": [pem_b64(&a)]}},
    });
    assert!(matches!(
        entry_from_proposed(other.to_string().as_bytes()),
        Err(RekorV1Error::UnverifiedSignature { .. })
    ));
    let mut both = proposed.clone();
    both["spec"]["payloadHash"] = json!({"algorithm": "sha256", "value": "00"});
    assert!(entry_from_proposed(both.to_string().as_bytes()).is_err());
}

#[test]
fn intoto_v002_drops_the_payload_and_keeps_double_encoding() {
    let k = key();
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
    let env: Value = serde_json::from_str(&envelope_json(&k, payload)).unwrap();
    let sig_text = env["signatures"][0]["sig"].as_str().unwrap().to_string();
    let proposed = json!({
        "kind": "intoto", "apiVersion": "0.0.2",
        "spec": {"content": {
            "envelope": {
                "payloadType": "application/vnd.in-toto+json",
                "payload": encode_bytes(env["payload"].as_str().unwrap().as_bytes()),
                "signatures": [{"sig": encode_bytes(sig_text.as_bytes()), "publicKey": pem_b64(&k), "keyid": ""}],
            },
            "hash": {"algorithm": "sha256", "value": super::super::to_hex(&sha256(b"envelope"))},
        }},
    });
    let e = entry_from_proposed(proposed.to_string().as_bytes()).unwrap();
    let text = String::from_utf8(e.canonical_body.clone()).unwrap();
    assert!(!text.contains("payload\""), "{text}");
    assert!(!text.contains("keyid"), "{text}");
    let RekorV1Entry::IntotoV002(i) = RekorV1Entry::from_json(&e.canonical_body).unwrap() else {
        panic!("kind")
    };
    assert_eq!(i.payload_hash.unwrap().digest, sha256(payload));
    assert_eq!(encode_bytes(&i.signatures[0].sig), sig_text);
    assert!(i.payload.is_none());

    // Encoded once only: refused, since Rekor reads it as base64 text.
    let mut once = proposed.clone();
    once["spec"]["content"]["envelope"]["signatures"][0]["sig"] = json!(sig_text);
    assert!(entry_from_proposed(once.to_string().as_bytes()).is_err());
    // No envelope hash.
    let mut no_hash = proposed;
    no_hash["spec"]["content"].as_object_mut().unwrap().remove("hash");
    assert!(entry_from_proposed(no_hash.to_string().as_bytes()).is_err());
}

#[test]
fn verifiers_are_stored_as_rekor_canonicalises_them() {
    // Rekor stores a verifier's `CanonicalValue` (Go's PEM, `\n` line ends), and sigstore-python
    // compares the stored body with the PEM it builds the same way: the CRLF PEM a client may
    // send must not reach the body (it made sigstore-python refuse signet's Rekor v1 entries).
    let k = key();
    let crlf = k.public_key().to_pem();
    assert!(crlf.contains("\r\n"));
    let lf = public_key_pem(k.public_key());
    let request = hashedrekord(&k, b"hello");
    let bodies: Vec<Vec<u8>> = [&crlf, &lf]
        .iter()
        .map(|pem| {
            let mut v = request.clone();
            v["spec"]["signature"]["publicKey"]["content"] = json!(encode_bytes(pem.as_bytes()));
            entry_from_proposed(v.to_string().as_bytes())
                .unwrap()
                .canonical_body
        })
        .collect();
    assert_eq!(
        bodies[0], bodies[1],
        "one entry, however the client wrote its PEM"
    );
    let RekorV1Entry::HashedRekordV001(h) = RekorV1Entry::from_json(&bodies[0]).unwrap() else {
        panic!("kind")
    };
    assert_eq!(h.public_key_pem, lf.as_bytes());
}
