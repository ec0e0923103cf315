//! `Bundle::from_json` on arbitrary bytes. What parses must survive `to_json` and parse again to
//! the same value; writing it a second time must give the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_formats::bundle::Bundle;

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = Bundle::from_json(data) else {
        return;
    };
    let json = bundle.to_json();
    let again = Bundle::from_json(&json).expect("a bundle signet wrote must parse");
    assert_eq!(again, bundle, "bundle changed in a to_json/from_json round trip");
    assert_eq!(again.to_json(), json, "to_json is not stable");
    // The version and the media type agree, and the signature the TSA stamps is present.
    assert_eq!(
        signet_formats::bundle::BundleVersion::from_media_type(&bundle.media_type),
        Some(bundle.version)
    );
});
