//! Rekor v1's `POST /api/v1/index/retrieve` body (`SearchIndex`): `SearchIndex::parse` on
//! arbitrary bytes. An accepted query has at most four criteria (hash, publicKey, email,
//! subject), each term bounded and normalised as the index stores it (a digest is
//! `<alg>:<lower hex>`, a fingerprint 64 lower hex digits); a refusal maps to a 4xx status.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_index::query::{Field, MAX_VALUE_LEN};
use signet_index::retrieve::SearchIndex;

fuzz_target!(|data: &[u8]| {
    let q = match SearchIndex::parse(data) {
        Ok(q) => q,
        Err(e) => {
            assert!(e.status().is_client_error());
            return;
        }
    };
    assert!(q.criteria.len() <= 4);
    for (field, value) in q.criteria.iter().flatten() {
        assert!(!value.is_empty() && value.len() <= MAX_VALUE_LEN);
        match field {
            Field::Digest => {
                let (alg, hex) = value.split_once(':').unwrap();
                assert!(["sha1", "sha256", "sha512"].contains(&alg));
                assert!(hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
            }
            Field::KeyFingerprint | Field::CertFingerprint => {
                assert_eq!(value.len(), 64);
                assert!(value.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
            }
            Field::Identity => {}
            other => panic!("unexpected field {other:?}"),
        }
    }
});
