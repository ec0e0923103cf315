//! The client's pure pieces: identity token claims, PKCE, service selection from a signing
//! config, predicate type names, the artifact argument.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use signet_client::services::{
    select, signing_services, signing_services_for, LogChoice, REKOR_VERSIONS, V1,
};
use signet_client::token::{github_token_url, pkce, IdentityToken};
use signet_client::verify::ArtifactInput;
use signet_formats::common::{TimeRange, Timestamp};
use signet_formats::trust::{Service, ServiceConfiguration, ServiceSelector, SigningConfig};

fn jwt(claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","kid":"k"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[test]
fn token_claims_decode_without_verification() {
    let raw = jwt(&serde_json::json!({
        "iss": "https://oauth2.sigstore.dev/auth", "sub": "CgR1c2Vy", "aud": "sigstore",
        "email": "alice@example.com", "email_verified": true, "exp": 2_000_000_000, "nonce": "n"
    }));
    let token = IdentityToken::parse(&raw).unwrap();
    assert_eq!(token.as_str(), raw);
    assert_eq!(token.claims.iss, "https://oauth2.sigstore.dev/auth");
    assert_eq!(token.claims.aud, ["sigstore"]);
    assert_eq!(token.claims.email_verified, Some(true));
    // The proof-of-possession challenge is the email when there is one...
    assert_eq!(token.subject(), "alice@example.com");
    // ...and `sub` otherwise (CI workflow tokens).
    let ci = IdentityToken::parse(&jwt(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:o/r:ref:refs/heads/main", "aud": ["sigstore"], "exp": 2_000_000_000
    })))
    .unwrap();
    assert_eq!(ci.subject(), "repo:o/r:ref:refs/heads/main");
    // The token never shows up in debug output.
    assert!(!format!("{ci:?}").contains(ci.as_str()));
}

#[test]
fn token_expiry_and_malformed_tokens() {
    let t = IdentityToken::parse(&jwt(&serde_json::json!({"iss": "i", "sub": "s", "exp": 1000}))).unwrap();
    assert!(t.check_not_expired(999).is_ok());
    let err = t.check_not_expired(1000).unwrap_err().to_string();
    assert!(err.contains("expired"), "{err}");
    assert!(!err.contains('\n'));
    assert!(IdentityToken::parse("not-a-jwt").is_err());
    assert!(IdentityToken::parse("a.!!!.c").is_err());
    assert!(IdentityToken::parse(&jwt(&serde_json::json!({"iss": "i"}))).is_err());
    // Padded base64url, which some issuers emit, is accepted.
    let padded = format!(
        "e30.{}.x",
        base64::engine::general_purpose::URL_SAFE.encode(br#"{"iss":"i","sub":"ab"}"#)
    );
    assert_eq!(IdentityToken::parse(&padded).unwrap().subject(), "ab");
}

#[test]
fn pkce_rfc7636_appendix_b() {
    let entropy: [u8; 32] = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105,
        214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    let verifier = pkce::verifier(&entropy);
    assert_eq!(verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    assert_eq!(
        pkce::challenge_s256(&verifier),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[test]
fn github_actions_token_url() {
    assert_eq!(
        github_token_url("https://gh/token?api-version=2.0"),
        "https://gh/token?api-version=2.0&audience=sigstore"
    );
    assert_eq!(
        github_token_url("http://127.0.0.1/t"),
        "http://127.0.0.1/t?audience=sigstore"
    );
}

const NOW: i64 = 1_750_000_000;

fn service(url: &str, version: u32, operator: &str, valid: Option<(i64, Option<i64>)>) -> Service {
    Service {
        url: url.to_string(),
        major_api_version: version,
        valid_for: valid.map(|(start, end)| TimeRange {
            start: Some(Timestamp::from_unix(start)),
            end: end.map(Timestamp::from_unix),
        }),
        operator: operator.to_string(),
    }
}

fn urls(services: &[Service]) -> Vec<&str> {
    services.iter().map(|s| s.url.as_str()).collect()
}

fn config(selector: ServiceSelector, count: Option<u32>) -> Option<ServiceConfiguration> {
    Some(ServiceConfiguration { selector, count })
}

#[test]
fn selection_honours_valid_for() {
    let services = vec![
        service("https://expired", 1, "a", Some((NOW - 100, Some(NOW - 1)))),
        service("https://future", 1, "b", Some((NOW + 1, None))),
        service("https://since-epoch", 1, "c", Some((0, None))),
        Service {
            valid_for: Some(TimeRange::default()),
            ..service("https://missing-start", 1, "f", None)
        },
        service("https://current", 1, "d", Some((NOW - 100, Some(NOW)))),
        service("https://unbounded", 1, "e", None),
    ];
    let all = select(&services, V1, config(ServiceSelector::All, None), NOW).unwrap();
    assert_eq!(
        urls(&all),
        ["https://since-epoch", "https://current", "https://unbounded"]
    );
}

#[test]
fn selection_prefers_the_highest_version_per_operator() {
    let services = vec![
        service("https://rekor-v1", 1, "sigstore.dev", None),
        service("https://rekor-v2", 2, "sigstore.dev", None),
        service("https://other-v1", 1, "example.com", None),
        service("https://v3", 3, "future.dev", None),
    ];
    let all = select(&services, REKOR_VERSIONS, config(ServiceSelector::All, None), NOW).unwrap();
    assert_eq!(urls(&all), ["https://rekor-v2", "https://other-v1"]);
    let any = select(&services, REKOR_VERSIONS, config(ServiceSelector::Any, None), NOW).unwrap();
    assert_eq!(urls(&any), ["https://rekor-v2"]);
    // No configuration means ANY.
    let default = select(&services, REKOR_VERSIONS, None, NOW).unwrap();
    assert_eq!(urls(&default), ["https://rekor-v2"]);
}

#[test]
fn selection_exact() {
    let services = vec![
        service("https://tsa1", 1, "a", None),
        service("https://tsa2", 1, "b", None),
        service("https://tsa3", 1, "c", None),
    ];
    let two = select(&services, V1, config(ServiceSelector::Exact, Some(2)), NOW).unwrap();
    assert_eq!(urls(&two), ["https://tsa1", "https://tsa2"]);
    let err = select(&services, V1, config(ServiceSelector::Exact, Some(4)), NOW).unwrap_err();
    assert!(err.to_string().contains("EXACT 4"), "{err}");
    assert!(select(&services, V1, config(ServiceSelector::Exact, None), NOW).is_err());
}

#[test]
fn signing_services_from_a_config() {
    let mut sc = SigningConfig::new();
    sc.ca_urls.push(service("https://fulcio", 1, "x", None));
    sc.rekor_tlog_urls.push(service("https://rekor", 2, "x", None));
    sc.tsa_urls
        .push(service("https://tsa/api/v1/timestamp", 1, "x", None));
    let s = signing_services(&sc, true, NOW).unwrap();
    assert_eq!(s.ca.unwrap().url, "https://fulcio");
    assert_eq!(urls(&s.tlogs), ["https://rekor"]);
    assert_eq!(urls(&s.tsas), ["https://tsa/api/v1/timestamp"]);
    // Key-based signing needs no CA.
    assert!(signing_services(&sc, false, NOW).unwrap().ca.is_none());
    // Rekor v2 without a TSA cannot produce a verifiable bundle.
    let mut no_tsa = sc.clone();
    no_tsa.tsa_urls.clear();
    assert!(signing_services(&no_tsa, true, NOW).is_err());
    // Keyless without a CA is refused with a hint.
    let mut no_ca = sc.clone();
    no_ca.ca_urls.clear();
    let err = signing_services(&no_ca, true, NOW).unwrap_err().to_string();
    assert!(err.contains("--key"), "{err}");
}

#[test]
fn the_legacy_format_signs_to_one_rekor_v1_log_whatever_the_selector() {
    let mut sc = SigningConfig::new();
    sc.rekor_tlog_urls
        .push(service("https://rekor-v2", 2, "sigstore.dev", None));
    sc.rekor_tlog_urls
        .push(service("https://rekor-v1", 1, "sigstore.dev", None));
    sc.rekor_tlog_urls
        .push(service("https://other-v1", 1, "example.com", None));
    sc.rekor_tlog_config = config(ServiceSelector::All, None);
    sc.tsa_urls.push(service("https://tsa", 1, "x", None));
    // As configured: the operator's v2 log, and the other operator's v1 log.
    let configured = signing_services(&sc, false, NOW).unwrap();
    assert_eq!(urls(&configured.tlogs), ["https://rekor-v2", "https://other-v1"]);
    // For cosign's legacy format: one v1 log (its SET is what the layer carries), and the
    // timestamp authorities as configured; none is required, a v1 entry's SET vouches for the
    // time.
    let legacy = signing_services_for(&sc, false, NOW, LogChoice::RekorV1).unwrap();
    assert_eq!(urls(&legacy.tlogs), ["https://rekor-v1"]);
    assert_eq!(urls(&legacy.tsas), ["https://tsa"]);
    sc.tsa_urls.clear();
    let legacy = signing_services_for(&sc, false, NOW, LogChoice::RekorV1).unwrap();
    assert_eq!(urls(&legacy.tlogs), ["https://rekor-v1"]);
    sc.rekor_tlog_urls.retain(|s| s.major_api_version == 2);
    let err = signing_services_for(&sc, false, NOW, LogChoice::RekorV1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no Rekor v1 transparency log"), "{err}");
}

#[test]
fn artifact_argument() {
    let hex = "a".repeat(64);
    assert!(matches!(
        ArtifactInput::parse(&format!("sha256:{hex}")),
        ArtifactInput::Digest(_)
    ));
    // Wrong length: a path.
    assert!(matches!(
        ArtifactInput::parse("sha256:abcd"),
        ArtifactInput::Path(_)
    ));
    assert!(matches!(ArtifactInput::parse("a.txt"), ArtifactInput::Path(_)));
    // SHA-384 and SHA-512 (npm provenance subjects) are digests too.
    for (name, len) in [("sha384", 96), ("sha512", 128)] {
        match ArtifactInput::parse(&format!("{name}:{}", "b".repeat(len))) {
            ArtifactInput::Digest(d) => assert_eq!(d.digest.len() * 2, len, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn predicate_types() {
    use signet_client::attest::predicate_type_uri;
    assert_eq!(
        predicate_type_uri("slsaprovenance").unwrap(),
        "https://slsa.dev/provenance/v0.2"
    );
    assert_eq!(
        predicate_type_uri("cyclonedx").unwrap(),
        "https://cyclonedx.org/bom"
    );
    assert_eq!(
        predicate_type_uri("spdxjson").unwrap(),
        "https://spdx.dev/Document"
    );
    assert!(predicate_type_uri("bogus").is_err());
}

mod trust_precedence {
    use std::path::{Path, PathBuf};

    use signet_client::trust::{load, TrustArgs, TrustEnv};
    use signet_formats::trust::{ClientTrustConfig, SigningConfig, TrustedRoot};

    /// A trusted root recognisable by its (otherwise empty) media type spelling and a signing
    /// config recognisable by its one CA URL.
    fn root(tag: &str) -> (TrustedRoot, SigningConfig) {
        let mut root = TrustedRoot::new();
        if tag.ends_with("v02") {
            root.media_type = signet_formats::trust::TRUSTED_ROOT_MEDIA_TYPE_V0_2.to_string();
        }
        let mut sc = SigningConfig::new();
        sc.ca_urls
            .push(super::service(&format!("https://{tag}"), 1, "", None));
        (root, sc)
    }

    fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    fn ca(material: &signet_client::trust::TrustMaterial) -> Option<String> {
        material
            .signing_config
            .as_ref()
            .map(|sc| sc.ca_urls[0].url.clone())
    }

    #[test]
    fn flags_then_env_then_home() {
        let tmp = tempfile::tempdir().unwrap();
        let (r, sc) = root("env");
        let env_config = write(tmp.path(), "env.json", &ClientTrustConfig::new(r, sc).to_json());
        let (r, sc) = root("flag");
        let flag_config = write(tmp.path(), "flag.json", &ClientTrustConfig::new(r, sc).to_json());
        let (r, sc) = root("root-flag");
        let flag_root = write(tmp.path(), "root.json", &r.to_json());
        let flag_sc = write(tmp.path(), "sc.json", &sc.to_json());
        let home = tmp.path().join("home");
        let (r, sc) = root("home");
        write(&home.join("public-good"), "trusted_root.json", &r.to_json());
        write(
            &home.join("public-good"),
            "signing_config.v0.2.json",
            &sc.to_json(),
        );
        let (r, _) = root("staging-v02");
        write(&home.join("staging"), "trusted_root.json", &r.to_json());

        let env = TrustEnv {
            trust_config: Some(env_config.clone()),
            home: Some(home.clone()),
        };
        let no_env = TrustEnv {
            trust_config: None,
            home: Some(home.clone()),
        };
        let args = |config: Option<&Path>, root: Option<&Path>, sc: Option<&Path>, staging: bool| TrustArgs {
            trust_config: config.map(Path::to_path_buf),
            trusted_root: root.map(Path::to_path_buf),
            signing_config: sc.map(Path::to_path_buf),
            staging,
            instance: None,
            witness_policy: None,
        };

        let m = load(&args(Some(&flag_config), None, None, false), &env).unwrap();
        assert_eq!(ca(&m).as_deref(), Some("https://flag"));
        let m = load(&args(None, Some(&flag_root), Some(&flag_sc), false), &env).unwrap();
        assert_eq!(ca(&m).as_deref(), Some("https://root-flag"));
        // A trusted root alone: no signing config (verification needs none).
        let m = load(&args(None, Some(&flag_root), None, false), &env).unwrap();
        assert!(m.signing_config.is_none());
        assert!(m
            .signing_config()
            .unwrap_err()
            .to_string()
            .contains("--signing-config"));
        let m = load(&args(None, None, None, false), &env).unwrap();
        assert_eq!(ca(&m).as_deref(), Some("https://env"));
        let m = load(&args(None, None, None, false), &no_env).unwrap();
        assert_eq!(ca(&m).as_deref(), Some("https://home"));
        let m = load(&args(None, None, None, true), &no_env).unwrap();
        assert_eq!(
            m.trusted_root.media_type,
            signet_formats::trust::TRUSTED_ROOT_MEDIA_TYPE_V0_2
        );
        assert!(m.signing_config.is_none());

        // Nothing configured: signet's built-in copy of the public instances.
        let empty = TrustEnv {
            trust_config: None,
            home: Some(tmp.path().join("nowhere")),
        };
        let m = load(&args(None, None, None, false), &empty).unwrap();
        assert!(matches!(
            m.source,
            signet_client::trust::TrustSource::Builtin { .. }
        ));
        assert_eq!(ca(&m).as_deref(), Some("https://fulcio.sigstore.dev"));
        let m = load(&args(None, None, None, true), &empty).unwrap();
        assert_eq!(ca(&m).as_deref(), Some("https://fulcio.sigstage.dev"));

        // An update made by an older signet (its TUF targets older than the built-in copy's)
        // does not shadow the built-in copy; a newer one does.
        let tuf = home.join("public-good/tuf");
        std::fs::create_dir_all(&tuf).unwrap();
        std::fs::write(tuf.join("targets.json"), br#"{"signed":{"version":3}}"#).unwrap();
        let m = load(&args(None, None, None, false), &no_env).unwrap();
        assert_eq!(ca(&m).as_deref(), Some("https://fulcio.sigstore.dev"));
        std::fs::write(tuf.join("targets.json"), br#"{"signed":{"version":9999}}"#).unwrap();
        let m = load(&args(None, None, None, false), &no_env).unwrap();
        assert_eq!(ca(&m).as_deref(), Some("https://home"));

        // A private instance has no built-in copy.
        let mut custom = args(None, None, None, false);
        custom.instance = Some("https://tuf.example.com".into());
        let err = load(&custom, &empty).unwrap_err().to_string();
        assert!(
            err.contains("signet trust init --instance https://tuf.example.com"),
            "{err}"
        );
        assert!(
            err.contains("--trusted-root") && err.contains("--trust-config"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
