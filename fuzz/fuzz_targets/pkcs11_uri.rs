//! PKCS#11 URIs (RFC 7512), as `signet server --*-key-uri` and `signet sign-blob --key` take
//! them: `Pkcs11Uri::parse`.
//!
//! - parsing never panics, and refuses anything longer than `MAX_URI_LEN`;
//! - a URI that parses prints (`Display`) a canonical URI that parses to the same attributes
//!   (when that form is within the length limit);
//! - the printed form never carries the PIN (`pin-value` shows as `***`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_pkcs11::{Pkcs11Uri, MAX_URI_LEN};

fuzz_target!(|data: &[u8]| {
    let Some(text) = signet_fuzz::text(data) else {
        return;
    };
    let Ok(uri) = Pkcs11Uri::parse(text) else {
        return;
    };
    assert!(text.len() <= MAX_URI_LEN);
    let shown = uri.to_string();
    // Percent-encoding may make the canonical form longer than the limit; such a form is
    // refused on the way back in, as any over-long URI is.
    if shown.len() > MAX_URI_LEN {
        return;
    }
    let mut back = Pkcs11Uri::parse(&shown).expect("a displayed URI parses");
    if uri.has_pin_value() {
        assert_eq!(back.pin_value(), Some("***"), "the PIN is shown as ***");
        back.set_pin_value(uri.pin_value().map(str::to_string));
    }
    assert_eq!(back, uri, "display does not round-trip");
});
