//! The CA's trusted issuers in Fulcio's JSON shape: `IssuerSet::from_json` on arbitrary bytes.
//! A set that parses is written back (`to_json`) and parses to the same set, each issuer it
//! lists is found by `lookup`, and each meta issuer pattern matches an issuer URL it describes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_oidc::IssuerSet;

fuzz_target!(|data: &[u8]| {
    let Ok(set) = IssuerSet::from_json(data) else {
        return;
    };
    let json = set.to_json();
    let again = IssuerSet::from_json(json.as_bytes()).expect("an issuer set signet wrote must parse");
    assert_eq!(again, set, "issuer set changed in a round trip");
    for issuer in set.issuers() {
        let found = set.lookup(&issuer.issuer_url).expect("a listed issuer is found");
        assert_eq!(found.issuer_type, issuer.issuer_type);
    }
    for (pattern, _) in set.meta_issuers() {
        // Each `*` stands for a run of [-_a-zA-Z0-9]: "x" is one.
        let example = pattern.replace('*', "x");
        assert!(
            set.lookup(&example).is_some(),
            "meta issuer {pattern} does not match {example}"
        );
    }
});
