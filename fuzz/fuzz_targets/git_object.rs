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
            let header = format!("\n{} ", format.signature_header());
            let head_end = o.payload.windows(2).position(|w| w == b"\n\n").unwrap_or(o.payload.len());
            let head = &o.payload[..head_end];
            assert!(!head.windows(header.len()).any(|w| w == header.as_bytes()));
        }
    }
    if let Ok(o) = split_tag(data) {
        let mut joined = o.payload.clone();
        joined.extend_from_slice(&o.signature);
        assert_eq!(joined, data);
    }
});
