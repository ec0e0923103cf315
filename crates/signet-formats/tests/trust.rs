//! Trust material against the real files of public-good, staging and sigstore-conformance.

mod support;

use serde_json::Value;
use signet_crypto::PublicKeyDetails;
use signet_formats::common::{LogId, PublicKey, TimeRange, Timestamp};
use signet_formats::trust::{
    ClientTrustConfig, Service, ServiceConfiguration, ServiceSelector, SigningConfig,
    TransparencyLogInstance, TrustError, TrustedRoot,
};

/// Parses, serialises, parses again: the two parses must be equal, and the output must hold
/// no nulls.
fn round_trip_root(path: &std::path::Path) -> TrustedRoot {
    let root =
        TrustedRoot::from_json(&support::read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let out = root.to_json();
    assert!(
        !String::from_utf8_lossy(&out).contains("null"),
        "{}",
        path.display()
    );
    assert_eq!(TrustedRoot::from_json(&out).unwrap(), root, "{}", path.display());
    root
}

fn round_trip_signing_config(path: &std::path::Path) -> SigningConfig {
    let config =
        SigningConfig::from_json(&support::read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let out = config.to_json();
    assert!(!String::from_utf8_lossy(&out).contains("null"));
    assert_eq!(SigningConfig::from_json(&out).unwrap(), config);
    config
}

#[test]
fn public_good_and_staging_files_round_trip() {
    let Some(dir) = support::vectors("public_good_and_staging_files_round_trip") else {
        return;
    };
    for instance in ["public-good", "staging"] {
        let root = round_trip_root(&dir.join(instance).join("trusted_root.json"));
        assert!(!root.tlogs.is_empty() && !root.certificate_authorities.is_empty());
        assert!(!root.ctlogs.is_empty() && !root.timestamp_authorities.is_empty());
        let config = round_trip_signing_config(&dir.join(instance).join("signing_config.v0.2.json"));
        assert!(!config.ca_urls.is_empty() && !config.rekor_tlog_urls.is_empty());

        // Serialised output keeps every field of the original (nothing dropped, nothing added):
        // compare as JSON values, timestamps as written.
        let original: Value = serde_json::from_slice(&support::read(
            &dir.join(instance).join("signing_config.v0.2.json"),
        ))
        .unwrap();
        let ours: Value = serde_json::from_slice(&config.to_json()).unwrap();
        assert_eq!(ours, original, "{instance} signing config");
        let original: Value =
            serde_json::from_slice(&support::read(&dir.join(instance).join("trusted_root.json"))).unwrap();
        let ours: Value = serde_json::from_slice(&root.to_json()).unwrap();
        assert_eq!(ours, original, "{instance} trusted root");
    }
    let staging =
        SigningConfig::from_json(&support::read(&dir.join("staging/signing_config.v0.2.json"))).unwrap();
    assert!(staging.rekor_tlog_urls.iter().any(|s| s.major_api_version == 2));
}

#[test]
fn every_conformance_trusted_root_round_trips() {
    let Some(dir) = support::vectors("every_conformance_trusted_root_round_trips") else {
        return;
    };
    let mut n = 0;
    let cases = dir.join("sigstore-conformance/bundle-verify");
    for case in std::fs::read_dir(&cases).expect("bundle-verify folder") {
        let path = case.unwrap().path().join("trusted_root.json");
        if path.exists() {
            round_trip_root(&path);
            n += 1;
        }
    }
    assert!(n > 0, "no trusted_root.json under {}", cases.display());
}

#[test]
fn made_config_serialises_as_python_expects() {
    let start = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
    let mut root = TrustedRoot::new();
    root.tlogs.push(TransparencyLogInstance {
        base_url: "http://127.0.0.1:3000/r2".into(),
        hash_algorithm: "SHA2_256".into(),
        public_key: PublicKey::new(
            vec![1, 2, 3],
            PublicKeyDetails::PKIX_ED25519,
            TimeRange::starting(start.clone()),
        ),
        log_id: LogId { key_id: vec![0; 32] },
        checkpoint_key_id: None,
        operator: None,
    });
    let mut signing = SigningConfig::new();
    signing.rekor_tlog_urls.push(Service {
        url: "http://127.0.0.1:3000/r2".into(),
        major_api_version: 2,
        valid_for: Some(TimeRange::starting(start)),
        operator: "signet".into(),
    });
    signing.rekor_tlog_config = Some(ServiceConfiguration {
        selector: ServiceSelector::Any,
        count: None,
    });
    let config = ClientTrustConfig::new(root, signing);
    let json: Value = serde_json::from_slice(&config.to_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": {
                "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
                "tlogs": [{
                    "baseUrl": "http://127.0.0.1:3000/r2",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {"rawBytes": "AQID", "keyDetails": "PKIX_ED25519",
                                  "validFor": {"start": "2025-01-01T00:00:00Z"}},
                    "logId": {"keyId": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
                }],
                "certificateAuthorities": [],
                "ctlogs": [],
                "timestampAuthorities": []
            },
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [],
                "oidcUrls": [],
                "rekorTlogUrls": [{"url": "http://127.0.0.1:3000/r2", "majorApiVersion": 2,
                                   "validFor": {"start": "2025-01-01T00:00:00Z"}, "operator": "signet"}],
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaUrls": []
            }
        })
    );
    assert_eq!(ClientTrustConfig::from_json(&config.to_json()).unwrap(), config);
}

#[test]
fn snake_case_and_unknown_fields_are_read() {
    let json = br#"{"media_type":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "ca_urls":[{"url":"u","major_api_version":1,"operator":"o","future":true}],
        "rekor_tlog_config":{"selector":"EXACT","count":2}}"#;
    let config = SigningConfig::from_json(json).unwrap();
    assert_eq!(config.ca_urls[0].url, "u");
    assert_eq!(
        config.rekor_tlog_config,
        Some(ServiceConfiguration {
            selector: ServiceSelector::Exact,
            count: Some(2)
        })
    );
}

#[test]
fn wrong_media_type_and_bad_timestamp_are_refused() {
    let wrong = br#"{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.1+json"}"#;
    assert!(matches!(
        SigningConfig::from_json(wrong),
        Err(TrustError::MediaType { .. })
    ));
    let bad_time = br#"{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls":[{"url":"u","majorApiVersion":1,"operator":"o","validFor":{"start":"yesterday"}}]}"#;
    let err = SigningConfig::from_json(bad_time).unwrap_err();
    assert!(matches!(err, TrustError::Json { .. }), "{err}");
    assert!(err.to_string().contains("yesterday"), "{err}");
}

#[test]
fn an_authority_without_valid_for_is_trusted_at_any_time() {
    // protobuf-specs leaves `validFor` optional on a certificate or timestamp authority, and
    // sigstore-go trusts one without it at any time; one without a `start` trusts no time.
    let root = |valid_for: &str| {
        let json = format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "certificateAuthorities":[{{"subject":{{"organization":"o","commonName":"ca"}},
                "uri":"https://ca.example","certChain":{{"certificates":[{{"rawBytes":"AAE="}}]}}{valid_for}}}],
            "timestampAuthorities":[{{"subject":{{"organization":"o","commonName":"tsa"}},
                "certChain":{{"certificates":[{{"rawBytes":"AAE="}}]}}{valid_for}}}]}}"#
        );
        TrustedRoot::from_json(json.as_bytes()).unwrap()
    };
    for absent in ["", r#","validFor":null"#] {
        let r = root(absent);
        for authority in [&r.certificate_authorities[0], &r.timestamp_authorities[0]] {
            assert!(authority.valid_for.is_unbounded(), "{absent:?}");
            assert!(authority.valid_for.contains(0) && authority.valid_for.contains(4_000_000_000));
        }
        // Written back as it was read: without `validFor`.
        let out = String::from_utf8(r.to_json()).unwrap();
        assert!(!out.contains("validFor"), "{out}");
        assert_eq!(TrustedRoot::from_json(out.as_bytes()).unwrap(), r);
    }
    for no_start in [
        r#","validFor":{}"#,
        r#","validFor":{"end":"2030-01-01T00:00:00Z"}"#,
    ] {
        let r = root(no_start);
        for authority in [&r.certificate_authorities[0], &r.timestamp_authorities[0]] {
            assert!(authority.valid_for.start.is_none(), "{no_start}");
            assert!(!authority.valid_for.contains(1_700_000_000), "{no_start}");
        }
        assert_eq!(TrustedRoot::from_json(&r.to_json()).unwrap(), r);
    }
    let bounded = root(r#","validFor":{"start":"2024-01-01T00:00:00Z"}"#);
    let range = &bounded.certificate_authorities[0].valid_for;
    assert!(!range.is_unbounded() && !range.contains(1_600_000_000) && range.contains(1_800_000_000));
    assert!(String::from_utf8(bounded.to_json()).unwrap().contains("validFor"));
}
