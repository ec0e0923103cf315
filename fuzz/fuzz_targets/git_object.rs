//! Where a signature sits in a git object (signet-gitsign `object`), on arbitrary bytes:
//! `split_commit` in both object formats and `split_tag`.
//! What splits is consistent: payload and signature together are never longer than the object;
//! a commit's payload never holds its format's signature header; putting a tag's payload and
//! signature back together gives the object.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_gitsign::{split_commit, split_tag, ObjectFormat};

fuzz_target!(|data: &[u8]| {
    for format in [ObjectFormat::Sha1, ObjectFormat::Sha256] {
        if let Ok(o) = split_commit(data, format) {
            assert!(o.payload.len() + o.signature.len() <= data.len());
            // The header lines of the payload: up to the first empty line.
            let header = format!("{} ", format.signature_header());
            for line in o.payload.split_inclusive(|&b| b == b'\n') {
                if line == b"\n" {
                    break;
                }
                assert!(!line.starts_with(header.as_bytes()), "a signature header left in the payload");
            }
        }
    }
    if let Ok(o) = split_tag(data) {
        let mut joined = o.payload.clone();
        joined.extend_from_slice(&o.signature);
        assert_eq!(joined, data);
    }
});
