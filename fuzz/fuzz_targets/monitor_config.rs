//! `signet monitor`'s watch list: rekor-monitor's `monitoredValues` YAML through
//! `Rules::from_yaml`, on arbitrary text. A file that reads compiles every regex it names (each
//! matches or not, without panicking, on the text itself) and reads again to the same rules.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_monitor::Rules;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = Rules::from_yaml(text) else {
        return;
    };
    for rule in &rules.cert_identities {
        let _ = rule.cert_subject.matches(text);
        for issuer in &rule.issuers {
            let _ = issuer.matches(text);
        }
    }
    for (_, subject) in &rules.subjects {
        let _ = subject.matches(text);
    }
    for f in &rules.fingerprints {
        assert_eq!(f.hex.len(), 64);
    }
    let again = Rules::from_yaml(text).expect("reads twice");
    assert_eq!(again.cert_identities.len(), rules.cert_identities.len());
    assert_eq!(again.fingerprints, rules.fingerprints);
    assert_eq!(again.oid_matchers.len(), rules.oid_matchers.len());
    assert_eq!(again.ignored, rules.ignored);
});
