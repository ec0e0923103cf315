//! Trust material: `TrustedRoot`, `SigningConfig` and `ClientTrustConfig::from_json` on the
//! same arbitrary bytes. What parses must survive `to_json` and parse to the same value.

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
    round_trip!(TrustedRoot, data);
    round_trip!(SigningConfig, data);
    round_trip!(ClientTrustConfig, data);
});
