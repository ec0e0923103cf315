//! C2SP checkpoints: `Checkpoint::parse` on arbitrary text, and `verify_checkpoint` on arbitrary
//! signed notes.
//!
//! - a checkpoint that parses is written back (`to_note_text`) to exactly the input: the
//!   format has one encoding per value;
//! - `verify_checkpoint` with a key generated at start-up must refuse everything the fuzzer
//!   writes (it cannot know that key's signatures);
//! - signed with that key, the parsed checkpoint verifies and comes back unchanged.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::{sign_checkpoint, verify_checkpoint, Checkpoint, NoteSigner, NoteVerifier};

const KEY_NAME: &str = "fuzz.signet.example";

fn signer() -> &'static (NoteSigner, NoteVerifier) {
    static SIGNER: OnceLock<(NoteSigner, NoteVerifier)> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let key = SigningKey::generate(KeyKind::Ed25519).expect("key generation");
        let signer = NoteSigner::new(KEY_NAME, key).expect("valid key name");
        let verifier = signer.verifier();
        (signer, verifier)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = signet_fuzz::text(data) else {
        return;
    };
    let (signer, verifier) = signer();

    // As a signed note: nothing the fuzzer writes carries a valid signature by our key.
    if let Ok(cp) = verify_checkpoint(text, KEY_NAME, std::slice::from_ref(verifier)) {
        panic!("a checkpoint the fuzzer wrote verified: {cp:?}");
    }
    if let Ok(cp) = Checkpoint::from_note_unverified(text) {
        assert!(!cp.origin.is_empty());
    }

    // As a note body.
    let Ok(cp) = Checkpoint::parse(text) else {
        return;
    };
    assert_eq!(cp.to_note_text(), text, "checkpoint text does not round-trip");
    assert_eq!(Checkpoint::parse(&cp.to_note_text()).as_ref(), Ok(&cp));
    // Sign and verify: text with characters a note refuses (controls) cannot be signed.
    if let Ok(envelope) = sign_checkpoint(&cp, &[signer]) {
        let verified = verify_checkpoint(&envelope, &cp.origin, std::slice::from_ref(verifier))
            .expect("a checkpoint we signed must verify");
        assert_eq!(verified, cp);
        assert_eq!(Checkpoint::from_note_unverified(&envelope).as_ref(), Ok(&cp));
    }
});
