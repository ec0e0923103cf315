//! The Rekor v2 write path: requests accepted and refused, canonical bodies, responses.

mod support;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};
use signet_crypto::{sha256, KeyKind, SigningKey};
use signet_formats::canonical_json;
use signet_formats::protojson::FieldError;
use signet_formats::rekor_v2::{
    entry_from_request, CreateEntryRequest, Entry, EntryError, InclusionProofRef, KindVersionRef,
    TransparencyLogEntry, TransparencyLogEntryRef, DSSE, HASHEDREKORD,
};

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

struct Signed {
    key: SigningKey,
    digest: Vec<u8>,
    sig: Vec<u8>,
}

fn signed_p256() -> Signed {
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let digest = sha256(b"an artifact").to_vec();
    let sig = key.sign_digest(&digest).unwrap();
    Signed { key, digest, sig }
}

fn hashed_request(s: &Signed) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": b64(&s.digest),
        "signature": {
            "content": b64(&s.sig),
            "verifier": {
                "publicKey": {"rawBytes": b64(s.key.public_key().spki_der())},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256"
            }
        }
    }})
}

fn submit(v: &Value) -> Result<signet_formats::LogEntry, EntryError> {
    entry_from_request(&serde_json::to_vec(v).unwrap())
}

fn field_err(e: EntryError) -> FieldError {
    match e {
        EntryError::Field(f) => f,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn hashedrekord_p256_is_accepted_with_the_specified_body() {
    let s = signed_p256();
    let entry = submit(&hashed_request(&s)).unwrap();
    assert_eq!(entry.kind, HASHEDREKORD);
    assert_eq!(entry.api_version, "0.0.2");
    let want = format!(
        concat!(
            r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"#,
            r#""data":{{"algorithm":"SHA2_256","digest":"{}"}},"#,
            r#""signature":{{"content":"{}","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","#,
            r#""publicKey":{{"rawBytes":"{}"}}}}}}}}}}}}"#
        ),
        b64(&s.digest),
        b64(&s.sig),
        b64(s.key.public_key().spki_der())
    );
    assert_eq!(String::from_utf8(entry.canonical_body.clone()).unwrap(), want);
    // Our serialisation is RFC 8785 canonical.
    assert_eq!(
        canonical_json::canonicalize(&entry.canonical_body).unwrap(),
        entry.canonical_body
    );
    // And the stored body parses back.
    let parsed = Entry::from_json(&entry.canonical_body).unwrap();
    assert_eq!(parsed.canonical_json(), entry.canonical_body);
}

#[test]
fn same_entry_spelled_differently_canonicalises_identically() {
    let s = signed_p256();
    let reference = submit(&hashed_request(&s)).unwrap().canonical_body;
    let spki = s.key.public_key().spki_der();
    let spellings = [
        // snake_case names, URL-safe unpadded base64, other key order, whitespace.
        format!(
            r#"{{ "hashed_rekord_request_v002" : {{ "signature": {{ "verifier": {{ "key_details": "PKIX_ECDSA_P256_SHA_256",
                 "public_key": {{ "raw_bytes": "{}" }} }}, "content": "{}" }}, "digest": "{}" }} }}"#,
            URL_SAFE_NO_PAD.encode(spki),
            URL_SAFE_NO_PAD.encode(&s.sig),
            URL_SAFE_NO_PAD.encode(&s.digest)
        ),
        // Mixed camel/snake, unpadded standard base64.
        format!(
            r#"{{"hashedRekordRequestV002":{{"digest":"{}","signature":{{"content":"{}","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{{"raw_bytes":"{}"}}}}}}}}}}"#,
            b64(&s.digest).trim_end_matches('='),
            b64(&s.sig).trim_end_matches('='),
            b64(spki).trim_end_matches('=')
        ),
    ];
    for text in spellings {
        let body = entry_from_request(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}: {text}"))
            .canonical_body;
        assert_eq!(body, reference, "{text}");
    }
}

#[test]
fn each_refusal_has_its_own_variant() {
    let s = signed_p256();
    let good = hashed_request(&s);
    // Each case sets (Some) or removes (None) one member of an object of the good request.
    let with = |at: &str, key: &str, value: Option<Value>| {
        let mut v = good.clone();
        let o = v.pointer_mut(at).unwrap().as_object_mut().unwrap();
        match value {
            Some(value) => o.insert(key.to_string(), value),
            None => o.remove(key),
        };
        submit(&v).unwrap_err()
    };
    let hr = "/hashedRekordRequestV002";
    let sig = "/hashedRekordRequestV002/signature";
    let ver = "/hashedRekordRequestV002/signature/verifier";

    // A signature by another key.
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let bad_sig = other.sign_digest(&s.digest).unwrap();
    let e = with(sig, "content", Some(json!(b64(&bad_sig))));
    assert!(matches!(e, EntryError::InvalidSignature { .. }), "{e}");

    // A digest of the wrong length.
    let e = with(hr, "digest", Some(json!(b64(&[7u8; 48]))));
    assert!(
        matches!(
            e,
            EntryError::DigestLength {
                expected: 32,
                got: 48,
                ..
            }
        ),
        "{e}"
    );

    // keyDetails not fitting the key; keyDetails that is no scheme at all.
    let e = with(ver, "keyDetails", Some(json!("PKIX_ECDSA_P384_SHA_384")));
    assert!(matches!(e, EntryError::KeyDetailsMismatch { .. }), "{e}");
    let e = with(ver, "keyDetails", Some(json!("PKIX_NOPE")));
    assert!(matches!(field_err(e), FieldError::UnknownEnumValue { .. }));

    // Malformed base64.
    match field_err(with(hr, "digest", Some(json!("not*base64")))) {
        FieldError::Base64 { field, .. } => assert_eq!(field, "hashedRekordRequestV002.digest"),
        other => panic!("{other:?}"),
    }

    // A key that does not parse; a certificate that does not parse.
    let e = with(ver, "publicKey", Some(json!({"rawBytes": b64(b"junk")})));
    assert!(matches!(e, EntryError::InvalidPublicKey { .. }), "{e}");
    let junk_cert =
        json!({"x509Certificate": {"rawBytes": b64(b"junk")}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"});
    let e = with(sig, "verifier", Some(junk_cert));
    assert!(matches!(e, EntryError::InvalidCertificate { .. }), "{e}");

    // Missing fields; null counts as unset.
    assert_eq!(
        field_err(with(hr, "digest", None)),
        FieldError::MissingField {
            field: "hashedRekordRequestV002.digest".into()
        }
    );
    for (at, key) in [(sig, "verifier"), (ver, "publicKey"), (sig, "content")] {
        let e = with(at, key, None);
        assert!(matches!(field_err(e), FieldError::MissingField { .. }), "{key}");
    }
    let e = with(hr, "signature", Some(Value::Null));
    assert!(matches!(field_err(e), FieldError::MissingField { .. }));

    // Both arms of the verifier oneof.
    let e = with(ver, "x509Certificate", Some(json!({"rawBytes": "AAAA"})));
    assert!(matches!(field_err(e), FieldError::OneofConflict { .. }));

    // Unknown nested field; wrong JSON type.
    let e = with(hr, "extra", Some(json!(1)));
    assert!(matches!(field_err(e), FieldError::UnknownField { .. }));
    let e = with(hr, "digest", Some(json!(5)));
    assert!(matches!(field_err(e), FieldError::WrongType { .. }));

    // Both kinds, no kind, unknown kind, not JSON, not an object.
    let mut both = good.clone();
    both["dsseRequestV002"] = json!({});
    assert_eq!(submit(&both).unwrap_err(), EntryError::MultipleKinds);
    assert_eq!(submit(&json!({})).unwrap_err(), EntryError::NoKind);
    assert_eq!(
        submit(&json!({"intotoRequestV002": {}})).unwrap_err(),
        EntryError::UnknownKind {
            found: "intotoRequestV002".into()
        }
    );
    let mut extra = good.clone();
    extra["apiVersion"] = json!("0.0.2");
    assert!(matches!(
        submit(&extra).unwrap_err(),
        EntryError::UnknownKind { .. }
    ));
    assert!(matches!(
        entry_from_request(b"{\"hashed"),
        Err(EntryError::Json(_))
    ));
    assert!(matches!(
        field_err(entry_from_request(b"[1]").unwrap_err()),
        FieldError::WrongType { .. }
    ));

    // Pure Ed25519 cannot sign a bare digest.
    let ed = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let e = submit(&json!({"hashedRekordRequestV002": {
        "digest": b64(&s.digest),
        "signature": {"content": b64(&ed.sign(&s.digest).unwrap()), "verifier": {
            "publicKey": {"rawBytes": b64(ed.public_key().spki_der())}, "keyDetails": "PKIX_ED25519"}}
    }}))
    .unwrap_err();
    assert!(matches!(e, EntryError::UnsupportedAlgorithm { .. }), "{e}");
}

#[test]
fn duplicate_field_spellings_are_refused() {
    let s = signed_p256();
    let mut v = hashed_request(&s);
    let inner = v["hashedRekordRequestV002"].clone();
    v["hashedRekordRequestV002"]["signature"]["verifier"]["public_key"] =
        inner["signature"]["verifier"]["publicKey"].clone();
    assert!(matches!(
        field_err(submit(&v).unwrap_err()),
        FieldError::DuplicateField { .. }
    ));
    // The two spellings of a oneof kind are one field given twice too.
    let mut v = hashed_request(&s);
    v["hashed_rekord_request_v002"] = inner;
    assert!(matches!(
        field_err(submit(&v).unwrap_err()),
        FieldError::DuplicateField { .. }
    ));
}

// ---- DSSE ----

const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

fn verifier_json(k: &SigningKey, details: &str) -> Value {
    json!({"publicKey": {"rawBytes": b64(k.public_key().spki_der())}, "keyDetails": details})
}

fn dsse_request(payload: &[u8], sigs: &[&[u8]], verifiers: Vec<Value>) -> Value {
    json!({"dsseRequestV002": {
        "envelope": {
            "payload": b64(payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": sigs.iter().map(|s| json!({"sig": b64(s), "keyid": ""})).collect::<Vec<_>>()
        },
        "verifiers": verifiers
    }})
}

#[test]
fn dsse_with_two_signers_is_accepted_and_sorted() {
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
    let pae = signet_formats::dsse::pae(PAYLOAD_TYPE, payload);
    let p256 = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let ed = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let s1 = p256.sign(&pae).unwrap();
    let s2 = ed.sign(&pae).unwrap();
    let v1 = verifier_json(&p256, "PKIX_ECDSA_P256_SHA_256");
    let v2 = verifier_json(&ed, "PKIX_ED25519");

    let entry = submit(&dsse_request(payload, &[&s1, &s2], vec![v2.clone(), v1.clone()])).unwrap();
    assert_eq!(entry.kind, DSSE);
    // Order of signatures and verifiers in the request does not matter.
    let again = submit(&dsse_request(payload, &[&s2, &s1], vec![v1.clone(), v2.clone()])).unwrap();
    assert_eq!(entry.canonical_body, again.canonical_body);

    let (lo, hi) = if s1 < s2 {
        ((&s1, &v1), (&s2, &v2))
    } else {
        ((&s2, &v2), (&s1, &v1))
    };
    let sig_json = |(s, v): (&Vec<u8>, &Value)| {
        let v = v.as_object().unwrap();
        format!(
            r#"{{"content":"{}","verifier":{{"keyDetails":{},"publicKey":{{"rawBytes":{}}}}}}}"#,
            b64(s),
            v["keyDetails"],
            v["publicKey"]["rawBytes"]
        )
    };
    let want = format!(
        r#"{{"apiVersion":"0.0.2","kind":"dsse","spec":{{"dsseV002":{{"payloadHash":{{"algorithm":"SHA2_256","digest":"{}"}},"signatures":[{},{}]}}}}}}"#,
        b64(&sha256(payload)),
        sig_json(lo),
        sig_json(hi)
    );
    assert_eq!(String::from_utf8(entry.canonical_body.clone()).unwrap(), want);
    assert_eq!(
        canonical_json::canonicalize(&entry.canonical_body).unwrap(),
        entry.canonical_body
    );
    assert_eq!(
        Entry::from_json(&entry.canonical_body).unwrap().canonical_json(),
        entry.canonical_body
    );

    // A verifier that signed nothing is allowed, as in Rekor.
    let idle = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    submit(&dsse_request(
        payload,
        &[&s1],
        vec![verifier_json(&idle, "PKIX_ECDSA_P256_SHA_256"), v1.clone()],
    ))
    .unwrap();
}

#[test]
fn dsse_refusals() {
    let payload = b"payload";
    let pae = signet_formats::dsse::pae(PAYLOAD_TYPE, payload);
    let k = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let stranger = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let s = k.sign(&pae).unwrap();
    let v = verifier_json(&k, "PKIX_ECDSA_P256_SHA_256");

    // A signature no verifier verifies.
    let foreign = stranger.sign(&pae).unwrap();
    let e = submit(&dsse_request(payload, &[&s, &foreign], vec![v.clone()])).unwrap_err();
    assert_eq!(
        e,
        EntryError::UnverifiedSignature {
            field: "dsseRequestV002.envelope.signatures[1]".into()
        }
    );
    // A signature over a different payload.
    let e = submit(&dsse_request(b"other", &[&s], vec![v.clone()])).unwrap_err();
    assert!(matches!(e, EntryError::UnverifiedSignature { .. }));
    // Duplicate verifiers.
    let e = submit(&dsse_request(payload, &[&s], vec![v.clone(), v.clone()])).unwrap_err();
    assert_eq!(
        e,
        EntryError::DuplicateVerifier {
            field: "dsseRequestV002.verifiers[1]".into()
        }
    );
    // No verifiers, no signatures.
    assert!(matches!(
        field_err(submit(&dsse_request(payload, &[&s], vec![])).unwrap_err()),
        FieldError::MissingField { .. }
    ));
    assert!(matches!(
        field_err(submit(&dsse_request(payload, &[], vec![v.clone()])).unwrap_err()),
        FieldError::MissingField { .. }
    ));
    // Too many verifiers / signatures.
    let many: Vec<Value> = (0..11)
        .map(|_| {
            verifier_json(
                &SigningKey::generate(KeyKind::EcdsaP256).unwrap(),
                "PKIX_ECDSA_P256_SHA_256",
            )
        })
        .collect();
    assert!(matches!(
        field_err(submit(&dsse_request(payload, &[&s], many)).unwrap_err()),
        FieldError::TooMany { max: 10, got: 11, .. }
    ));
    let sigs: Vec<&[u8]> = (0..11).map(|_| s.as_slice()).collect();
    assert!(matches!(
        field_err(submit(&dsse_request(payload, &sigs, vec![v.clone()])).unwrap_err()),
        FieldError::TooMany { .. }
    ));
    // keyDetails not fitting the key.
    let e = submit(&dsse_request(
        payload,
        &[&s],
        vec![verifier_json(&k, "PKIX_ED25519")],
    ))
    .unwrap_err();
    assert!(matches!(e, EntryError::KeyDetailsMismatch { .. }), "{e}");
    // Unknown envelope field.
    let mut req = dsse_request(payload, &[&s], vec![v.clone()]);
    req["dsseRequestV002"]["envelope"]["extra"] = json!("x");
    assert!(matches!(
        field_err(submit(&req).unwrap_err()),
        FieldError::UnknownField { .. }
    ));
}

#[test]
fn typed_request_serialises_to_what_it_parses_from() {
    let s = signed_p256();
    let body = serde_json::to_vec(&hashed_request(&s)).unwrap();
    let req = CreateEntryRequest::from_json(&body).unwrap();
    assert_eq!(CreateEntryRequest::from_json(&req.to_json()).unwrap(), req);
    assert_eq!(
        canonical_json::canonicalize(&req.to_json()).unwrap(),
        req.to_json()
    );
}

// ---- Vectors: rebuild the bodies public Rekor v2 stored ----

/// Builds the hashedrekord request a client would have sent for a conformance bundle and
/// checks our entry is byte-identical to the bundle's `canonicalizedBody`.
fn rebuild_body_from_bundle(case: &str) {
    let Some(dir) = support::vectors(case) else {
        return;
    };
    let bundle: Value = serde_json::from_slice(&support::read(
        &dir.join("sigstore-conformance/bundle-verify")
            .join(case)
            .join("bundle.sigstore.json"),
    ))
    .unwrap();
    let cert = bundle["verificationMaterial"]["certificate"]["rawBytes"]
        .as_str()
        .unwrap();
    let (digest, sig) = if let Some(env) = bundle.get("dsseEnvelope") {
        // sigstore-python logs DSSE as hashedrekord over SHA-256(PAE).
        let env = signet_formats::dsse::Envelope::from_json(&serde_json::to_vec(env).unwrap()).unwrap();
        (sha256(&env.pae()).to_vec(), env.signatures[0].sig.clone())
    } else {
        let m = &bundle["messageSignature"];
        (
            STANDARD
                .decode(m["messageDigest"]["digest"].as_str().unwrap())
                .unwrap(),
            STANDARD.decode(m["signature"].as_str().unwrap()).unwrap(),
        )
    };
    let request = json!({"hashedRekordRequestV002": {
        "digest": b64(&digest),
        "signature": {"content": b64(&sig), "verifier": {
            "x509Certificate": {"rawBytes": cert}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}
    }});
    let entry = submit(&request).unwrap_or_else(|e| panic!("{case}: {e}"));
    let tlog = &bundle["verificationMaterial"]["tlogEntries"][0];
    let want = STANDARD
        .decode(tlog["canonicalizedBody"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(entry.canonical_body).unwrap(),
        String::from_utf8(want).unwrap(),
        "{case}"
    );

    // The bundle's TransparencyLogEntry parses, and serialises back to the same JSON.
    let parsed = TransparencyLogEntry::from_json(&serde_json::to_vec(tlog).unwrap()).unwrap();
    let ours: Value = serde_json::from_slice(&parsed.to_json()).unwrap();
    assert_eq!(&ours, tlog, "{case}");
}

#[test]
fn rebuilds_rekor2_dsse_happy_path_body() {
    rebuild_body_from_bundle("rekor2-dsse-happy-path");
}

#[test]
fn rebuilds_rekor2_happy_path_body() {
    rebuild_body_from_bundle("rekor2-happy-path");
}

// ---- Responses ----

#[test]
fn log_entry_at_index_zero_keeps_zero_and_empty_hashes() {
    let hashes: [[u8; 32]; 0] = [];
    let entry = TransparencyLogEntryRef {
        log_index: 0,
        log_id: &[1u8; 32],
        kind_version: KindVersionRef {
            kind: "hashedrekord",
            version: "0.0.2",
        },
        integrated_time: None,
        inclusion_promise: None,
        inclusion_proof: Some(InclusionProofRef {
            log_index: 0,
            root_hash: &[2u8; 32],
            tree_size: 1,
            hashes: &hashes,
            checkpoint: Some("origin\n1\nAgI=\n\n— origin abcd\n"),
        }),
        canonicalized_body: b"{}",
    };
    let json = String::from_utf8(entry.to_json()).unwrap();
    let key = b64(&[1u8; 32]);
    let root = b64(&[2u8; 32]);
    assert_eq!(
        json,
        format!(
            r#"{{"logIndex":"0","logId":{{"keyId":"{key}"}},"kindVersion":{{"kind":"hashedrekord","version":"0.0.2"}},"inclusionProof":{{"logIndex":"0","rootHash":"{root}","treeSize":"1","hashes":[],"checkpoint":{{"envelope":"origin\n1\nAgI=\n\n— origin abcd\n"}}}},"canonicalizedBody":"e30="}}"#
        )
    );
    let parsed = TransparencyLogEntry::from_json(json.as_bytes()).unwrap();
    assert_eq!(parsed.log_index, 0);
    assert_eq!(parsed.inclusion_proof.as_ref().unwrap().tree_size, 1);
    assert_eq!(String::from_utf8(parsed.to_json()).unwrap(), json);

    // With hashes, from a tree's fixed-size arrays.
    let hashes = [[3u8; 32], [4u8; 32]];
    let mut e2 = entry;
    e2.log_index = 7;
    e2.inclusion_proof = Some(InclusionProofRef {
        log_index: 7,
        root_hash: &[2u8; 32],
        tree_size: 8,
        hashes: &hashes,
        checkpoint: Some("c"),
    });
    let v: Value = serde_json::from_slice(&e2.to_json()).unwrap();
    assert_eq!(v["logIndex"], "7");
    assert_eq!(
        v["inclusionProof"]["hashes"],
        json!([b64(&[3u8; 32]), b64(&[4u8; 32])])
    );
}

#[test]
fn log_entry_reads_numbers_and_omitted_zero() {
    // sigstore-js leaves out logIndex 0; numbers are accepted for uint64 too.
    let json = br#"{"logId":{"keyId":"AQ=="},"kindVersion":{"kind":"dsse","version":"0.0.2"},
        "inclusionProof":{"rootHash":"AA==","treeSize":5,"checkpoint":{"envelope":"x"}},
        "canonicalizedBody":"e30="}"#;
    let e = TransparencyLogEntry::from_json(json).unwrap();
    assert_eq!(e.log_index, 0);
    let p = e.inclusion_proof.unwrap();
    assert_eq!((p.log_index, p.tree_size, p.hashes.len()), (0, 5, 0));
}

// ---- Robustness ----

mod props {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "hashedRekordRequestV002",
        "dsseRequestV002",
        "hashed_rekord_request_v002",
        "digest",
        "signature",
        "content",
        "verifier",
        "publicKey",
        "x509Certificate",
        "rawBytes",
        "raw_bytes",
        "keyDetails",
        "envelope",
        "payload",
        "payloadType",
        "signatures",
        "sig",
        "keyid",
        "verifiers",
        "other",
    ];

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[A-Za-z0-9+/=_-]{0,12}".prop_map(Value::String),
            Just(json!("PKIX_ECDSA_P256_SHA_256")),
            Just(json!("MEUCIQ==")),
            Just(json!(b64(&[0u8; 32]))),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(NAMES), inner), 0..5).prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = entry_from_request(&bytes);
            let _ = Entry::from_json(&bytes);
            let _ = TransparencyLogEntry::from_json(&bytes);
        }

        #[test]
        fn never_panics_on_json(v in json_value()) {
            let body = serde_json::to_vec(&v).unwrap();
            let _ = entry_from_request(&body);
            let _ = Entry::from_json(&body);
            let wrapped = serde_json::to_vec(&json!({"hashedRekordRequestV002": v.clone()})).unwrap();
            let _ = entry_from_request(&wrapped);
            let wrapped = serde_json::to_vec(&json!({"dsseRequestV002": v})).unwrap();
            let _ = entry_from_request(&wrapped);
        }

        #[test]
        fn canonical_json_is_idempotent(v in json_value()) {
            let once = canonical_json::to_canonical(&v);
            prop_assert_eq!(canonical_json::canonicalize(&once).unwrap(), once);
        }
    }
}

/// Ed25519ph over a SHA-512 digest (Rekor's only Ed25519 scheme for hashedrekord), with the
/// RFC 8032 §7.3 test vector: key ec172b…, message "abc", empty context.
#[test]
fn hashedrekord_ed25519ph_rfc8032_vector_is_accepted() {
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let spki = [
        hex("302a300506032b6570032100"),
        hex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf"),
    ]
    .concat();
    let sig = hex(concat!(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41",
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
    ));
    let digest = signet_crypto::HashAlgorithm::Sha2_512.digest(b"abc");
    let request = |digest: &[u8], details: &str| {
        json!({"hashedRekordRequestV002": {"digest": b64(digest), "signature": {"content": b64(&sig),
            "verifier": {"publicKey": {"rawBytes": b64(&spki)}, "keyDetails": details}}}})
    };
    let entry = submit(&request(&digest, "PKIX_ED25519_PH")).unwrap();
    let body = String::from_utf8(entry.canonical_body).unwrap();
    assert!(body.contains(r#""data":{"algorithm":"SHA2_512""#), "{body}");
    let other = signet_crypto::HashAlgorithm::Sha2_512.digest(b"abd");
    assert!(matches!(
        submit(&request(&other, "PKIX_ED25519_PH")),
        Err(EntryError::InvalidSignature { .. })
    ));
    assert!(matches!(
        submit(&request(&digest[..32], "PKIX_ED25519_PH")),
        Err(EntryError::DigestLength { .. })
    ));
    assert!(
        submit(&request(&digest, "PKIX_ED25519")).is_err(),
        "pure Ed25519 has no digest form"
    );
}
