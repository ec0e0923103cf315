use super::*;

/// rekor-monitor's README example (its `config.yaml` shape), as its users have it today.
const REKOR_MONITOR_EXAMPLE: &str = r#"
# Optional: Specify start and end log indices for searching
startIndex: 1000
endIndex: 2000

monitoredValues:
  certIdentities:
    - certSubject: user@domain\.com
    - certSubject: otheruser@domain\.com
      issuers:
        - https://accounts\.google\.com
        - https://github\.com/login
    - certSubject: https://github\.com/actions/starter-workflows/blob/main/\.github/workflows/lint\.yaml@.*
      issuers:
        - https://token\.actions\.githubusercontent\.com
  subjects:
    - subject@domain\.com
  fingerprints:
    - 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef
  oidMatchers:
    oidExtensions:
      - objectIdentifier: [1, 3, 6, 1, 4, 1, 57264, 1, 14]
        extensionValues: ["refs/heads/main"]
    fulcioExtensions:
      build-config-uri:
        - https://example.com/owner/repository/build-config.yml
      issuer:
        - https://token.actions.githubusercontent.com
    customExtensions:
      - objectIdentifier: 1.3.6.1.4.1.57264.1.9
        extensionValues:
          - https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@v1.4.0

outputIdentities: identities.txt
logInfoFile: logInfo.txt
identityMetadataFile: metadata.json
"#;

#[test]
fn reads_rekor_monitors_example_config() {
    let rules = Rules::from_yaml(REKOR_MONITOR_EXAMPLE).unwrap();
    assert_eq!(rules.start_index, Some(1000));
    assert_eq!(rules.cert_identities.len(), 3);
    assert!(rules.cert_identities[0].issuers.is_empty());
    assert_eq!(rules.cert_identities[1].issuers.len(), 2);
    assert!(rules.cert_identities[2].cert_subject.matches(
        "https://github.com/actions/starter-workflows/blob/main/.github/workflows/lint.yaml@refs/heads/main"
    ));
    // Go's MatchString: unanchored.
    assert!(rules.cert_identities[0].cert_subject.matches("xuser@domain.com"));
    assert!(!rules.cert_identities[0].cert_subject.matches("user@domainXcom"));
    assert_eq!(rules.subjects.len(), 1);
    assert_eq!(rules.fingerprints[0].hex, "0123456789abcdef".repeat(4));
    let oids: Vec<String> = rules.oid_matchers.iter().map(|r| r.oid.to_string()).collect();
    assert_eq!(
        oids,
        [
            "1.3.6.1.4.1.57264.1.14",
            "1.3.6.1.4.1.57264.1.18",
            "1.3.6.1.4.1.57264.1.1",
            "1.3.6.1.4.1.57264.1.8",
            "1.3.6.1.4.1.57264.1.9",
        ]
    );
    assert_eq!(
        rules.ignored,
        [
            "endIndex",
            "identityMetadataFile",
            "logInfoFile",
            "outputIdentities"
        ]
    );
}

#[test]
fn reads_older_rekor_monitor_layouts() {
    let rules = Rules::from_yaml(
        r#"
monitoredValues:
  oidMatchers:
    - objectIdentifier: [1, 3, 6, 1, 4, 1, 57264, 1, 12]
      extensionValues: [https://github.com/o/r]
  fulcioExtensions:
    build-signer-uri: [https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1]
  customExtensions:
    - objectIdentifier: 2.5.29.99
      extensionValues: [x]
"#,
    )
    .unwrap();
    let oids: Vec<String> = rules.oid_matchers.iter().map(|r| r.oid.to_string()).collect();
    assert_eq!(
        oids,
        ["1.3.6.1.4.1.57264.1.12", "1.3.6.1.4.1.57264.1.9", "2.5.29.99"]
    );
}

#[test]
fn an_empty_file_watches_nothing() {
    assert!(Rules::from_yaml("").unwrap().is_empty());
    assert!(Rules::from_yaml("monitoredValues: {}").unwrap().is_empty());
}

#[test]
fn a_bad_regex_names_the_field_and_the_value() {
    let err = Rules::from_yaml(
        "monitoredValues:\n  certIdentities:\n    - certSubject: ok\n    - certSubject: ok\n      issuers: [\"https://(unclosed\"]\n",
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ConfigError::Regex { .. }), "{msg}");
    assert!(
        msg.contains("monitoredValues.certIdentities[1].issuers[0]"),
        "{msg}"
    );
    assert!(msg.contains("https://(unclosed"), "{msg}");
}

#[test]
fn bad_inputs_are_refused_with_the_field() {
    let cases = [
        ("monitoredValus: {}", "unknown key \"monitoredValus\""),
        ("monitoredValues:\n  certIdentity: []", "unknown field `certIdentity`"),
        ("monitoredValues:\n  certIdentities:\n    - certSubject: \"\"", "certIdentities[0].certSubject: empty"),
        ("monitoredValues:\n  fingerprints: [abc]", "fingerprints[0]"),
        (
            "monitoredValues:\n  oidMatchers:\n    customExtensions:\n      - objectIdentifier: not.an.oid\n        extensionValues: [x]",
            "customExtensions[0]: \"not.an.oid\" is not an object identifier",
        ),
        (
            "monitoredValues:\n  oidMatchers:\n    fulcioExtensions:\n      build-signer: [x]",
            "unknown Fulcio extension \"build-signer\"",
        ),
        (
            "monitoredValues:\n  oidMatchers:\n    oidExtensions:\n      - objectIdentifier: [1, 3, 6]\n        extensionValues: []",
            "oidExtensions[0].extensionValues: empty",
        ),
        ("monitoredValues: [1", "not valid YAML"),
    ];
    for (yaml, expected) in cases {
        let msg = Rules::from_yaml(yaml).unwrap_err().to_string();
        assert!(msg.contains(expected), "{yaml:?}: {msg}");
    }
}
