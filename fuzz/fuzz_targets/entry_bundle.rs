//! C2SP tlog-tiles entry bundles: `decode_entry_bundle` on arbitrary bytes. A bundle that
//! decodes holds at most 256 entries and encodes back, in one go or entry by entry, to exactly
//! the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_tlog::{decode_entry_bundle, encode_entry_bundle, push_bundle_entry, TILE_WIDTH};

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = decode_entry_bundle(data) else {
        return;
    };
    assert!(entries.len() <= usize::from(TILE_WIDTH));
    assert_eq!(
        encode_entry_bundle(&entries).expect("decoded entries encode"),
        data
    );
    let mut pushed = Vec::new();
    for e in &entries {
        push_bundle_entry(&mut pushed, e).expect("decoded entries fit");
    }
    assert_eq!(pushed, data);
});
