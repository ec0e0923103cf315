//! Trust material: `TrustedRoot`, `SigningConfig` and `ClientTrustConfig::from_json` on the
//! same arbitrary bytes. What parses must survive `to_json` and parse to the same value, and a
//! trusted root that parses must prepare for verification (authorities' `validFor` read per
//! kind, chains put in order, keys parsed) without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_formats::trust::{ClientTrustConfig, SigningConfig, TrustedRoot};

macro_rules! round_trip {
    ($ty:ty, $data:expr) => {
        if let Ok(value) = <$ty>::from_json($data) {
            let json = value.to_json();
            let again = <$ty>::from_json(&json)
                .unwrap_or_else(|e| panic!("{} signet wrote does not parse: {e}", stringify!($ty)));
            assert_eq!(again, value, "{} changed in a round trip", stringify!($ty));
            assert_eq!(again.to_json(), json, "{} to_json is not stable", stringify!($ty));
        }
    };
}

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = TrustedRoot::from_json(data) {
        let trust = signet_verify::PreparedTrust::from_trusted_root(&root);
        for ca in &trust.certificate_authorities {
            let _ = ca.chain_error();
        }
    }
    round_trip!(TrustedRoot, data);
    round_trip!(SigningConfig, data);
    round_trip!(ClientTrustConfig, data);
});
