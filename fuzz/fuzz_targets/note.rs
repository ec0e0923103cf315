//! C2SP signed notes: `Note::parse` on arbitrary text.
//!
//! - a note that parses is written back (`to_envelope`) to exactly the input;
//! - its text is a valid note text (`Note::new` accepts it);
//! - `verify_note` with a key generated at start-up refuses it (no forgeable signature);
//! - rebuilt with that key's signature added, it verifies: ours is the verified one, the
//!   others (witness cosignatures, say) are kept as unverified.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::{verify_note, Note, NoteSigner, NoteVerifier};

const KEY_NAME: &str = "fuzz.signet.example";

fn signer() -> &'static (NoteSigner, NoteVerifier) {
    static SIGNER: OnceLock<(NoteSigner, NoteVerifier)> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let key = SigningKey::generate(KeyKind::EcdsaP256).expect("key generation");
        let signer = NoteSigner::new(KEY_NAME, key).expect("valid key name");
        let verifier = signer.verifier();
        (signer, verifier)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(envelope) = signet_fuzz::text(data) else {
        return;
    };
    let (signer, verifier) = signer();
    if let Ok(v) = verify_note(envelope, std::slice::from_ref(verifier)) {
        panic!("a note the fuzzer wrote verified: {v:?}");
    }
    let Ok(note) = Note::parse(envelope) else {
        return;
    };
    assert_eq!(note.to_envelope(), envelope, "note does not round-trip");
    assert!(!note.signatures().is_empty());

    let mut rebuilt = Note::new(note.text()).expect("a parsed note's text is a valid note text");
    let mut others = 0;
    for sig in note.signatures() {
        // A line naming our key (name and key hash) would have to verify; leave those out.
        if sig.name == verifier.name() && sig.key_hash == verifier.key_hash() {
            continue;
        }
        rebuilt
            .add_signature(sig.clone())
            .expect("a parsed signature's name is valid");
        others += 1;
    }
    rebuilt.sign(signer).expect("signing");
    let verified = rebuilt
        .verify(std::slice::from_ref(verifier))
        .expect("a note we signed must verify");
    assert_eq!(verified.text(), note.text());
    assert_eq!(verified.verified_signatures().len(), 1);
    assert_eq!(verified.unverified_signatures().len(), others);
});
