//! `dsse::Envelope::from_json` on arbitrary bytes. What parses must round-trip through its
//! serialisation, which dsse.rs promises is RFC 8785 canonical JSON; the PAE must frame the
//! payload type and payload with their lengths.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_formats::canonical_json::canonicalize;
use signet_formats::dsse::{pae, Envelope};

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = Envelope::from_json(data) else {
        return;
    };
    let json = serde_json::to_vec(&envelope).expect("an envelope always serialises");
    let again = Envelope::from_json(&json).expect("an envelope signet wrote must parse");
    assert_eq!(again, envelope, "envelope changed in a round trip");
    assert_eq!(
        canonicalize(&json).expect("valid JSON"),
        json,
        "envelope JSON is not RFC 8785 canonical"
    );
    let expected_head = format!(
        "DSSEv1 {} {} {} ",
        envelope.payload_type.len(),
        envelope.payload_type,
        envelope.payload.len()
    );
    let p = envelope.pae();
    assert_eq!(p, pae(&envelope.payload_type, &envelope.payload));
    assert!(p.starts_with(expected_head.as_bytes()) && p.ends_with(&envelope.payload));
    assert_eq!(p.len(), expected_head.len() + envelope.payload.len());
});
