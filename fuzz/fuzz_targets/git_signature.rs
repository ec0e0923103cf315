//! gitsign's git signature (signet-gitsign) on arbitrary bytes: the CMS (`GitSignature::from_der`,
//! and `from_armored` on the same bytes as text), the transparency-log entry protobuf
//! (`tle::decode`), and the bundle built from a signature (`bundle::to_bundle`).
//! What parses survives signet's serialisation: a signature written back (`to_der`) parses to
//! the same value, and armored reads back to the same DER; an entry re-encoded with its body
//! decodes equal, and without its body decodes equal but for the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_gitsign::{armor, bundle, tle, GitSignature};

fuzz_target!(|data: &[u8]| {
    if let Ok(sig) = GitSignature::from_der(data) {
        let der = sig.to_der().expect("a parsed signature encodes");
        let again = GitSignature::from_der(&der).expect("what signet writes parses");
        assert_eq!(again, sig);
        let armored = sig.to_armored().expect("encodes");
        assert_eq!(armor::dearmor(armored.as_bytes()).unwrap(), der);
        let _ = bundle::to_bundle(&sig);
    }
    let _ = GitSignature::from_armored(data);
    if let Ok(entry) = tle::decode(data) {
        assert_eq!(tle::decode(&tle::encode(&entry, true)).unwrap(), entry);
        let stripped = tle::decode(&tle::encode(&entry, false)).unwrap();
        assert_eq!(stripped.log_id, entry.log_id);
        assert_eq!(stripped.inclusion_proof, entry.inclusion_proof);
        assert!(stripped.canonicalized_body.is_empty());
    }
});
