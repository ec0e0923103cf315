//! Rekor v2 `CreateEntryRequest` bodies: `entry_from_request` (parse, verify signatures, build
//! the canonical body) on arbitrary bytes.
//!
//! - a request that parses survives `to_json` and parses to the same value;
//! - `entry_from_request` and the two-step `from_json` + `to_log_entry` agree;
//! - an accepted entry's body is RFC 8785 canonical, parses as a stored `Entry` of the same
//!   kind and version, and re-serialises to the same bytes (the log deduplicates by its hash).

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_formats::canonical_json::canonicalize;
use signet_formats::entry_from_request;
use signet_formats::rekor_v2::{CreateEntryRequest, Entry};

fuzz_target!(|data: &[u8]| {
    let result = entry_from_request(data);
    let request = match CreateEntryRequest::from_json(data) {
        Ok(request) => request,
        Err(e) => {
            assert_eq!(result, Err(e), "entry_from_request and from_json disagree");
            return;
        }
    };
    let json = request.to_json();
    let again = CreateEntryRequest::from_json(&json).expect("a request signet wrote must parse");
    assert_eq!(again, request, "request changed in a round trip");
    assert_eq!(
        result,
        request.to_log_entry(),
        "entry_from_request is not from_json + to_log_entry"
    );
    assert_eq!(
        again.to_log_entry(),
        result,
        "the round-tripped request builds another entry"
    );

    let Ok(entry) = result else {
        return;
    };
    let body = &entry.canonical_body;
    assert_eq!(
        &canonicalize(body).expect("body is JSON"),
        body,
        "body is not canonical"
    );
    let stored = Entry::from_json(body).expect("a stored body must parse");
    assert_eq!(stored.kind(), entry.kind);
    assert_eq!(stored.api_version(), entry.api_version);
    assert_eq!(
        &stored.canonical_json(),
        body,
        "stored body does not re-serialise to itself"
    );
});
