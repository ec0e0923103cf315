//! What a log reads back from a witness (signet_tlog::add_checkpoint, the log's side of
//! tlog-witness): `cosignatures_from_response` on a 200 answer and `parse_tlog_size` on a 409's.
//!
//! - raw fuzzer bytes never yield a cosignature (the witness key is generated at start-up);
//! - with the first byte odd, the rest is appended to a valid cosignature line: what parses
//!   yields exactly that witness's cosignatures, each of which verifies over the checkpoint;
//! - a size that parses prints back to the input (with or without its final newline).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::add_checkpoint::{cosignatures_from_response, parse_tlog_size};
use signet_tlog::CosignatureSigner;

const CHECKPOINT: &str = "fuzz.signet.example/log\n9\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

fn witness() -> &'static (CosignatureSigner, String) {
    static WITNESS: OnceLock<(CosignatureSigner, String)> = OnceLock::new();
    WITNESS.get_or_init(|| {
        let w = CosignatureSigner::new(
            "fuzz.signet.example/witness",
            SigningKey::generate(KeyKind::Ed25519).expect("key"),
        )
        .expect("name");
        let line = w.cosign(CHECKPOINT, 1_700_000_000).expect("cosign").to_line();
        (w, line)
    })
}

fuzz_target!(|data: &[u8]| {
    let (w, line) = witness();
    if let Some(n) = parse_tlog_size(data) {
        let text = n.to_string();
        assert!(data == text.as_bytes() || data == format!("{text}\n").as_bytes());
    }
    let (body, edited) = match data.split_first() {
        Some((first, rest)) if first % 2 == 1 => ([line.as_bytes(), rest].concat(), true),
        _ => (data.to_vec(), false),
    };
    if let Ok(sigs) = cosignatures_from_response(CHECKPOINT, &body, w.verifier()) {
        assert!(edited, "a cosignature from raw bytes");
        assert!(!sigs.is_empty());
        for s in &sigs {
            assert!(w.verifier().is_signer_of(s));
            w.verifier().verify(CHECKPOINT, s).expect("kept cosignatures verify");
        }
    }
});
