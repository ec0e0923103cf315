//! What `signet monitor` reads out of a Rekor v2 entry body: `entry::read_entry` on arbitrary
//! bytes. Reading every fact and reading only what a watch list needs agree on the kind, the
//! digest and each signer's identity; fingerprints, when read, are 64 hex digits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_monitor::entry::{read_entry, Signer, Wanted};

fuzz_target!(|data: &[u8]| {
    let all = read_entry(data, &Wanted::everything());
    let some = read_entry(data, &signet_monitor::entry::wanted_for_rules(&signet_monitor::Rules::default()));
    let (all, some) = match (all, some) {
        (Ok(a), Ok(s)) => (a, s),
        (Err(_), Err(_)) => return,
        (a, s) => panic!("one reading failed: {a:?} / {s:?}"),
    };
    assert_eq!((all.kind, &all.digest), (some.kind, &some.digest));
    assert_eq!(all.signers.len(), some.signers.len());
    for (a, s) in all.signers.iter().zip(&some.signers) {
        match (a, s) {
            (Signer::Certificate(a), Signer::Certificate(s)) => {
                assert_eq!((&a.san, &a.issuer, a.not_before), (&s.san, &s.issuer, s.not_before));
                assert_eq!(a.cert_fingerprint.len(), 64);
                assert_eq!(a.key_fingerprint.len(), 64);
                assert!(s.extensions.is_empty());
            }
            (Signer::PublicKey { key_fingerprint }, Signer::PublicKey { .. }) => {
                assert_eq!(key_fingerprint.len(), 64);
            }
            other => panic!("signers differ: {other:?}"),
        }
    }
});
