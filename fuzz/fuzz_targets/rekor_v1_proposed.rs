//! Rekor v1 proposed entries (`POST /api/v1/log/entries`): `entry_from_proposed` on arbitrary
//! bytes. An accepted entry's stored body must be RFC 8785 canonical, read back as a v1 entry
//! of the same kind and version, and (the log deduplicates by it) be a fixed point: proposing
//! the stored body of a hashedrekord again gives the same body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_formats::canonical_json::canonicalize;
use signet_formats::rekor_v1::{entry_from_proposed, RekorV1Entry};

fuzz_target!(|data: &[u8]| {
    // The stored-body parser on its own: it must never panic.
    let _ = RekorV1Entry::from_json(data);

    let Ok(proposed) = entry_from_proposed(data) else {
        return;
    };
    let body = &proposed.canonical_body;
    assert_eq!(
        &canonicalize(body).expect("body is JSON"),
        body,
        "body is not canonical"
    );
    let stored = RekorV1Entry::from_json(body).expect("a stored body must parse");
    assert_eq!(stored.kind(), proposed.kind);
    assert_eq!(stored.api_version(), proposed.api_version);
    assert!(
        !proposed.verifiers.is_empty(),
        "an entry was accepted with no verifier"
    );
    if proposed.kind == "hashedrekord" {
        let again = entry_from_proposed(body).expect("a stored hashedrekord body is a valid proposal");
        assert_eq!(
            &again.canonical_body, body,
            "hashedrekord canonicalisation is not idempotent"
        );
    }
});
