//! TUF metadata (`signet-tuf`): arbitrary bytes as a trusted root, and the public-good
//! instance's real metadata set (compiled into signet, `crates/signet-client/trust/`) with one file
//! edited by the fuzzer. An edited set may verify only if every edit left the signed meaning
//! intact: the bytes of `signed` re-encode (canonical JSON) to exactly what was signed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_fuzz::apply_edits;
use signet_tuf::{LocalMetadata, TrustedSet, Updater, UpdaterConfig};

const ROOT: &[u8] = include_bytes!("../../crates/signet-client/trust/public-good/root.json");
const TIMESTAMP: &[u8] = include_bytes!("../../crates/signet-client/trust/public-good/timestamp.json");
const SNAPSHOT: &[u8] = include_bytes!("../../crates/signet-client/trust/public-good/snapshot.json");
const TARGETS: &[u8] = include_bytes!("../../crates/signet-client/trust/public-good/targets.json");

/// The canonical bytes of a metadata file's `signed`, if it is JSON with one.
fn signed_bytes(file: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(file).ok()?;
    signet_tuf::canonical::encode(value.get("signed")?).ok()
}

fuzz_target!(|data: &[u8]| {
    let _ = Updater::new(
        &LocalMetadata {
            root: data.to_vec(),
            ..LocalMetadata::default()
        },
        "https://tuf.example/",
        "https://tuf.example/targets/",
        UpdaterConfig::default(),
    );
    let Some((&which, edits)) = data.split_first() else { return };
    let originals = [ROOT, TIMESTAMP, SNAPSHOT, TARGETS];
    let slot = usize::from(which) % originals.len();
    let edited = apply_edits(originals[slot], edits);
    let mut files: Vec<Vec<u8>> = originals.iter().map(|f| f.to_vec()).collect();
    files[slot] = edited.clone();
    let local = LocalMetadata {
        root: files[0].clone(),
        timestamp: Some(files[1].clone()),
        snapshot: Some(files[2].clone()),
        targets: Some(files[3].clone()),
    };
    if TrustedSet::verify_offline(&local).is_ok() {
        // The signatures pin the canonical form of `signed`: whitespace or key order may
        // change, what was signed may not.
        assert_eq!(
            signed_bytes(&edited),
            signed_bytes(originals[slot]),
            "an edit to file {slot} changed what was signed and still verified"
        );
    }
});
