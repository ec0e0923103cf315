//! Verifier keys, witness log lists and cosignature bytes: `VerifierKey::parse`,
//! `NoteVerifier::from_vkey`, `CosignatureVerifier::from_vkey`, `Logs::parse_list`,
//! `TimestampedSignature::from_bytes`.
//!
//! - a vkey that parses prints back (`Display`) to exactly the input, and a verifier built
//!   from it prints the same vkey;
//! - a log list that parses names only origins whose keys are Ed25519 note keys;
//! - a timestamped signature that parses is 72 bytes and re-encodes to exactly the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_tlog::{CosignatureVerifier, NoteVerifier, TimestampedSignature, VerifierKey};
use signet_witness::Logs;

fuzz_target!(|data: &[u8]| {
    if let Ok(ts) = TimestampedSignature::from_bytes(data) {
        assert_eq!(ts.to_bytes(), data, "timestamped signature does not round-trip");
    }
    let Some(text) = signet_fuzz::text(data) else {
        return;
    };
    if let Ok(key) = VerifierKey::parse(text) {
        assert_eq!(key.to_string(), text, "vkey does not round-trip");
    }
    if let Ok(v) = NoteVerifier::from_vkey(text) {
        assert_eq!(v.vkey().as_deref(), Some(text));
    }
    if let Ok(v) = CosignatureVerifier::from_vkey(text) {
        assert_eq!(v.vkey(), text);
    }
    if let Ok(logs) = Logs::parse_list(text) {
        for origin in logs.origins() {
            assert!(!origin.is_empty() && !origin.contains('\n'));
            assert!(logs.keys(origin).is_some_and(|k| !k.is_empty()));
        }
    }
});
