//! JWK Sets fetched from issuers: `KeySet::from_jwks_json` on arbitrary bytes. Every key of the
//! document is either kept or skipped with a reason (at most `MAX_JWKS_KEYS` looked at), and a
//! kept key's SubjectPublicKeyInfo reads back as the same key.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_oidc::jwk::MAX_JWKS_KEYS;
use signet_oidc::{KeySet, VerificationKey};

fuzz_target!(|data: &[u8]| {
    let Ok(set) = KeySet::from_jwks_json(data) else {
        return;
    };
    let listed = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v.get("keys").and_then(|k| k.as_array()).map(Vec::len))
        .expect("a key set is an object with a keys array");
    assert_eq!(set.keys().len() + set.skipped().len(), listed.min(MAX_JWKS_KEYS));
    assert_eq!(set.is_empty(), set.keys().is_empty());
    for key in set.keys() {
        let again = VerificationKey::from_spki_der(key.spki_der()).expect("a kept key's SPKI reads");
        assert_eq!(again.key_type(), key.key_type());
        assert_eq!(again.spki_der(), key.spki_der());
        assert_eq!(again.rsa_bits(), key.rsa_bits());
    }
});
