//! cosign's encrypted private keys: `decrypt_private_key` on arbitrary PEM text, and the
//! password path of encrypt/decrypt.
//!
//! A file names its own scrypt cost. The parser caps it (N ≤ 2^20, r ≤ 8, p ≤ 4: up to 1 GiB
//! and seconds per try), far too slow for a fuzzer, so inputs whose parameters pass that cap
//! but cost more than N·r·p = 2^13 are skipped here; costs above the cap still reach the
//! parser, which must refuse them before deriving anything. Everything else (PEM, the JSON
//! body, base64, lengths, the secretbox) is fuzzed as is.
//!
//! The first byte chooses:
//! - even: the rest is a key file, decrypted with the password `fuzz`. A key it yields is
//!   re-encrypted and must decrypt to the same key;
//! - odd: the rest is a password; a fixed key encrypted under it (at the cheapest cost) must
//!   decrypt with it to the same key, and must not decrypt with another password.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_crypto::cosign_key::{
    decrypt_private_key, encrypt_private_key_with, CosignKeyError, ScryptParams,
};
use signet_crypto::{KeyKind, SigningKey};

const PASSWORD: &[u8] = b"fuzz";
/// scrypt's cheapest cost: the fuzzer is after the parsing, not the KDF.
const CHEAP: ScryptParams = ScryptParams { n: 2, r: 1, p: 1 };
/// The most scrypt work (N·r·p) a fuzzed file may ask for: about a millisecond.
const MAX_WORK: u64 = 1 << 13;

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(KeyKind::EcdsaP256).expect("key generation"))
}

/// Whether the file asks for scrypt work the parser allows but a fuzzer cannot afford. Read the
/// way the parser reads it (first PEM block, JSON `kdf.params`); anything unreadable is cheap
/// because the parser refuses it before scrypt.
fn too_costly(pem_text: &str) -> bool {
    let Ok(block) = pem::parse(pem_text) else {
        return false;
    };
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(block.contents()) else {
        return false;
    };
    let params = &body["kdf"]["params"];
    let (Some(n), Some(r), Some(p)) = (params["N"].as_u64(), params["r"].as_u64(), params["p"].as_u64())
    else {
        return false;
    };
    let within_parser_cap =
        n.is_power_of_two() && n <= 1 << 20 && (1..=8).contains(&r) && (1..=4).contains(&p);
    within_parser_cap && n * r * p > MAX_WORK
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        let file = encrypt_private_key_with(key(), rest, CHEAP).expect("encryption");
        let decrypted = decrypt_private_key(&file, rest).expect("decrypts with its own password");
        assert_eq!(decrypted.public_key(), key().public_key());
        // Not `rest` + NUL: scrypt's PBKDF2-HMAC pads a key of up to 64 bytes with zeros, so
        // "pw" and "pw\0" derive the same key (in cosign too); any other byte changes it.
        let mut other = rest.to_vec();
        other.push(1);
        assert_eq!(
            decrypt_private_key(&file, &other).err(),
            Some(CosignKeyError::Decrypt),
            "decrypted with another password"
        );
        return;
    }

    let Some(text) = signet_fuzz::text(rest) else {
        return;
    };
    if too_costly(text) {
        return;
    }
    let Ok(key) = decrypt_private_key(text, PASSWORD) else {
        return;
    };
    let file = encrypt_private_key_with(&key, PASSWORD, CHEAP).expect("a decrypted key re-encrypts");
    let again = decrypt_private_key(&file, PASSWORD).expect("decrypts");
    assert_eq!(again.public_key(), key.public_key());
});
