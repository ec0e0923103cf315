//! Every JSON format these parsers read is a JSON object at the top. serde's derived structs
//! also accept a JSON array of the fields in order; that must not get through (found by the
//! fuzz targets in `fuzz/`).

use signet_formats::dsse::Envelope;
use signet_formats::rekor_v1::{entry_from_proposed, RekorV1Entry};
use signet_formats::rekor_v2::TransparencyLogEntry;
use signet_formats::trust::{ClientTrustConfig, SigningConfig, TrustedRoot};

#[test]
fn arrays_of_fields_are_not_messages() {
    let trusted_root = br#"["application/vnd.dev.sigstore.trustedroot+json;version=0.1"]"#;
    assert!(TrustedRoot::from_json(trusted_root).is_err());
    assert!(
        SigningConfig::from_json(br#"["application/vnd.dev.sigstore.signingconfig.v0.2+json"]"#).is_err()
    );
    assert!(ClientTrustConfig::from_json(br#"["x", {}, {}]"#).is_err());
    assert!(Envelope::from_json(br#"["aGk=", "text/plain", []]"#).is_err());
    assert!(TransparencyLogEntry::from_json(br#"["1"]"#).is_err());
    assert!(RekorV1Entry::from_json(br#"["0.0.1", "hashedrekord", {}]"#).is_err());
    assert!(entry_from_proposed(br#"["0.0.1", "hashedrekord", {}]"#).is_err());
    // A spec given as an array of its fields.
    let body = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":[{"content":"AA=="},{"hash":{"algorithm":"sha256","value":"00"}}]}"#;
    assert!(RekorV1Entry::from_json(body).is_err());
    assert!(entry_from_proposed(body).is_err());
}

/// The same at any depth: a message nested inside another is an object too.
#[test]
fn nested_arrays_of_fields_are_not_messages() {
    // A hashedrekord whose signature (content, publicKey) is an array of its fields: serde's
    // derived struct alone would take it.
    let ok = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"signature":{"content":"AA==","publicKey":{"content":"AA=="}},"data":{"hash":{"algorithm":"sha256","value":"0000000000000000000000000000000000000000000000000000000000000000"}}}}"#;
    let nested = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"signature":["AA==",{"content":"AA=="}],"data":{"hash":{"algorithm":"sha256","value":"0000000000000000000000000000000000000000000000000000000000000000"}}}}"#;
    let deeper = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"signature":{"content":"AA==","publicKey":["AA=="]},"data":{"hash":{"algorithm":"sha256","value":"0000000000000000000000000000000000000000000000000000000000000000"}}}}"#;
    assert!(RekorV1Entry::from_json(ok).is_ok());
    for body in [&nested[..], &deeper[..]] {
        let err = RekorV1Entry::from_json(body).unwrap_err().to_string();
        assert!(err.contains("expected a JSON object"), "{err}");
    }
    // A trusted root whose log instance is an array.
    let root = br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[["https://rekor.example","SHA2_256"]]}"#;
    let err = TrustedRoot::from_json(root).unwrap_err().to_string();
    assert!(err.contains("expected a JSON object"), "{err}");
}
