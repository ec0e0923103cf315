//! The witness's `add-checkpoint` body: `AddCheckpointRequest::parse`, then the witness's own
//! decisions (`Witness::verify`, `Witness::cosign`) on it.
//!
//! - a body that parses is written back (`to_bytes`) to exactly the input;
//! - raw fuzzer bytes are never cosigned (the log key is generated at start-up);
//! - edits of a valid request (first byte odd: the rest are `apply_edits` groups on a request
//!   growing the log from 5 to 9 leaves) that the witness cosigns are checked independently:
//!   the checkpoint verifies under the log key, its size is not below the stored 5, and it is
//!   consistent with the stored head (`verify_consistency`, or the same root at the same size).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::{
    sign_checkpoint, verify_checkpoint, verify_consistency, Checkpoint, CosignatureSigner, MemoryTree,
    NoteSigner, NoteVerifier,
};
use signet_witness::{AddCheckpointRequest, Logs, TreeHead, Witness};

const ORIGIN: &str = "fuzz.signet.example/log";

struct Fixture {
    witness: Witness,
    log: NoteVerifier,
    stored: TreeHead,
    valid: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let log =
            NoteSigner::new(ORIGIN, SigningKey::generate(KeyKind::Ed25519).expect("key")).expect("name");
        let mut logs = Logs::default();
        logs.add(ORIGIN, log.verifier()).expect("origin");
        let signer = CosignatureSigner::new(
            "fuzz.signet.example/witness",
            SigningKey::generate(KeyKind::Ed25519).expect("key"),
        )
        .expect("name");
        let mut tree = MemoryTree::new();
        for i in 0..9u8 {
            tree.push_data(&[i]);
        }
        let checkpoint = |size| Checkpoint {
            origin: ORIGIN.into(),
            size,
            root_hash: tree.root_at(size).expect("size in tree"),
            extensions: vec![],
        };
        let stored = TreeHead {
            size: 5,
            root_hash: checkpoint(5).root_hash,
            checkpoint: sign_checkpoint(&checkpoint(5), &[&log]).expect("sign"),
        };
        let valid = AddCheckpointRequest {
            old_size: 5,
            proof: tree.consistency_proof(5, 9).expect("proof"),
            checkpoint: sign_checkpoint(&checkpoint(9), &[&log]).expect("sign"),
        }
        .to_bytes();
        Fixture {
            witness: Witness::new(signer, logs),
            log: log.verifier(),
            stored,
            valid,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    if let Ok(request) = AddCheckpointRequest::parse(data) {
        assert_eq!(request.to_bytes(), data, "request does not round-trip");
    }
    let (raw, body) = match data.split_first() {
        Some((mode, edits)) if mode % 2 == 1 => (false, signet_fuzz::apply_edits(&f.valid, edits)),
        _ => (true, data.to_vec()),
    };
    let Ok(submission) = f.witness.verify(&body) else {
        return;
    };
    assert!(!raw, "raw fuzzer bytes passed the signature check");
    let Ok((head, cosignature)) = f.witness.cosign(&submission, Some(&f.stored), 1) else {
        return;
    };
    // Independent checks of what was cosigned.
    let request = AddCheckpointRequest::parse(&body).expect("verified requests parse");
    let cp =
        verify_checkpoint(&request.checkpoint, ORIGIN, std::slice::from_ref(&f.log)).expect("log signature");
    assert!(
        cp.size >= f.stored.size,
        "rolled back from {} to {}",
        f.stored.size,
        cp.size
    );
    assert_eq!(request.old_size, f.stored.size);
    if cp.size == f.stored.size {
        assert_eq!(cp.root_hash, f.stored.root_hash, "same size, another root");
    } else {
        verify_consistency(
            f.stored.size,
            cp.size,
            &f.stored.root_hash,
            &cp.root_hash,
            &request.proof,
        )
        .expect("cosigned without a valid consistency proof");
    }
    assert_eq!((head.size, head.root_hash), (cp.size, cp.root_hash));
    f.witness
        .signer()
        .verifier()
        .verify(&cp.to_note_text(), &cosignature)
        .expect("the cosignature verifies over the checkpoint");
});
