//! End-to-end verification with keys known in process: each rejection, and each issuer type's
//! mapping to a certificate identity.

mod common;

use common::*;
use serde_json::{json, Value};
use signet_oidc::{
    IssuerConfig, IssuerSet, IssuerType, KeySet, StaticKeys, TokenError, TokenVerifier, VerifiedToken,
};
use signet_x509::SubjectAlternativeName;

const EMAIL_ISSUER: &str = "https://accounts.example.com";
const DEX_ISSUER: &str = "https://oauth2.example.dev/auth";
const GITLAB_ISSUER: &str = "https://gitlab.com";
const SPIFFE_ISSUER: &str = "https://spire.example.org";
const K8S_ISSUER: &str = "https://kubernetes.default.svc";
const URI_ISSUER: &str = "https://ci.example.com";
const USERNAME_ISSUER: &str = "https://users.example.com";
const EKS_ISSUER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB";

fn issuers() -> IssuerSet {
    IssuerSet::new()
        .with_issuer(IssuerConfig::new(EMAIL_ISSUER, IssuerType::Email))
        .unwrap()
        .with_issuer(
            IssuerConfig::new(DEX_ISSUER, IssuerType::Email)
                .with_issuer_claim("$.federated_claims.connector_id"),
        )
        .unwrap()
        .with_issuer(IssuerConfig::new(GITHUB_ISSUER, IssuerType::GithubWorkflow))
        .unwrap()
        .with_issuer(IssuerConfig::new(GITLAB_ISSUER, IssuerType::GitlabPipeline))
        .unwrap()
        .with_issuer(
            IssuerConfig::new(SPIFFE_ISSUER, IssuerType::Spiffe).with_spiffe_trust_domain("example.org"),
        )
        .unwrap()
        .with_issuer(IssuerConfig::new(K8S_ISSUER, IssuerType::Kubernetes))
        .unwrap()
        .with_issuer(
            IssuerConfig::new(URI_ISSUER, IssuerType::Uri).with_subject_domain("https://ci.example.com"),
        )
        .unwrap()
        .with_issuer(
            IssuerConfig::new(USERNAME_ISSUER, IssuerType::Username)
                .with_subject_domain("example.com")
                .with_client_id("signet-users"),
        )
        .unwrap()
        .with_meta_issuer(
            "https://oidc.eks.*.amazonaws.com/id/*",
            IssuerConfig::new("", IssuerType::Kubernetes),
        )
        .unwrap()
}

fn verifier() -> TokenVerifier<StaticKeys> {
    let set = KeySet::from_jwks_json(jwks().to_string().as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 4);
    let mut keys = StaticKeys::new();
    for iss in [
        EMAIL_ISSUER,
        DEX_ISSUER,
        GITHUB_ISSUER,
        GITLAB_ISSUER,
        SPIFFE_ISSUER,
        K8S_ISSUER,
        URI_ISSUER,
        USERNAME_ISSUER,
        EKS_ISSUER,
    ] {
        keys = keys.with_issuer(iss, set.clone());
    }
    TokenVerifier::new(issuers(), keys)
}

async fn verify(token: &str) -> Result<VerifiedToken, TokenError> {
    verifier().verify(token, NOW).await
}

fn email_claims() -> Value {
    merge(
        base_claims(EMAIL_ISSUER, "1234567890"),
        json!({"email": "alice@example.com", "email_verified": true}),
    )
}

#[tokio::test]
async fn every_algorithm_verifies() {
    let k = keys();
    for (key, kid) in [
        (&k.rsa, "rsa"),
        (&k.es256, "es256"),
        (&k.es384, "es384"),
        (&k.ed25519, "ed25519"),
    ] {
        let v = verify(&token(key, kid, &email_claims())).await.unwrap();
        assert_eq!(v.key_id.as_deref(), Some(kid));
    }
    for alg in ["RS384", "RS512"] {
        let t = token_with_header(&k.rsa, json!({"alg": alg, "kid": "rsa"}), &email_claims());
        verify(&t).await.unwrap();
    }
    // No kid: every key of the right type is tried.
    let t = token_with_header(&k.es256, json!({"alg": "ES256"}), &email_claims());
    assert_eq!(verify(&t).await.unwrap().key_id.as_deref(), Some("es256"));
    // The pure entry point agrees.
    let set = KeySet::from_jwks_json(jwks().to_string().as_bytes()).unwrap();
    signet_oidc::verify_token_with_keys(
        &token(&k.ed25519, "ed25519", &email_claims()),
        &issuers(),
        &set,
        NOW,
        60,
    )
    .unwrap();
}

fn assert_401(result: Result<VerifiedToken, TokenError>) -> TokenError {
    let err = result.expect_err("token should be refused");
    assert_eq!(err.http_status(), 401, "{err}");
    err
}

#[tokio::test]
async fn alg_none_and_hmac_are_refused() {
    let claims = email_claims();
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string())
    );
    let err = assert_401(verify(&none).await);
    assert!(
        matches!(err, TokenError::UnsupportedAlgorithm { ref alg } if alg == "none"),
        "{err}"
    );

    // The classic confusion: HMAC keyed with the issuer's public RSA key.
    let set = KeySet::from_jwks_json(jwks().to_string().as_bytes()).unwrap();
    let public = set.keys()[0].spki_der().to_vec();
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"HS256","kid":"rsa"}"#),
        b64(claims.to_string())
    );
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public),
        input.as_bytes(),
    );
    let err = assert_401(verify(&format!("{input}.{}", b64(mac.as_ref()))).await);
    assert!(
        matches!(err, TokenError::UnsupportedAlgorithm { ref alg } if alg == "HS256"),
        "{err}"
    );
}

#[tokio::test]
async fn key_selection_refusals() {
    let k = keys();
    let claims = email_claims();
    let err = assert_401(verify(&token(&k.es256, "no-such-kid", &claims)).await);
    assert!(
        matches!(err, TokenError::UnknownKey { ref kid, .. } if kid.as_deref() == Some("no-such-kid")),
        "{err}"
    );

    // alg ES256 naming the RSA key, and RS256 naming the EC key: the key decides.
    let t = token_with_header(&k.es256, json!({"alg": "ES256", "kid": "rsa"}), &claims);
    let err = assert_401(verify(&t).await);
    assert!(
        matches!(
            err,
            TokenError::KeyAlgorithmMismatch {
                key_type: "RSA",
                alg: "ES256",
                ..
            }
        ),
        "{err}"
    );
    let t = token_with_header(&k.rsa, json!({"alg": "RS256", "kid": "es256"}), &claims);
    let err = assert_401(verify(&t).await);
    assert!(
        matches!(err, TokenError::KeyAlgorithmMismatch { alg: "RS256", .. }),
        "{err}"
    );
    let t = token_with_header(&k.ed25519, json!({"alg": "EdDSA", "kid": "es384"}), &claims);
    assert!(matches!(
        assert_401(verify(&t).await),
        TokenError::KeyAlgorithmMismatch { .. }
    ));
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused() {
    let k = keys();
    let claims = email_claims();
    // Signed by a key the issuer never published, under a published kid.
    let err = assert_401(verify(&token(&k.rogue_es256, "es256", &claims)).await);
    assert!(
        matches!(err, TokenError::BadSignature { ref issuer, .. } if issuer == EMAIL_ISSUER),
        "{err}"
    );

    // A genuine token with its payload swapped for another.
    for key in [(&k.rsa, "rsa"), (&k.es256, "es256"), (&k.ed25519, "ed25519")] {
        let genuine = token(key.0, key.1, &claims);
        let parts: Vec<&str> = genuine.split('.').collect();
        let mut evil = claims.clone();
        evil["email"] = "mallory@example.com".into();
        let tampered = format!("{}.{}.{}", parts[0], b64(evil.to_string()), parts[2]);
        assert!(matches!(
            assert_401(verify(&tampered).await),
            TokenError::BadSignature { .. }
        ));
        // A flipped signature bit.
        let mut sig =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[2]).unwrap();
        sig[5] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(sig));
        assert!(matches!(
            assert_401(verify(&flipped).await),
            TokenError::BadSignature { .. }
        ));
    }

    // An ECDSA signature in DER form, not JOSE's r||s, is refused by length.
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"ES256","kid":"es256"}"#),
        b64(claims.to_string())
    );
    let der_signer =
        aws_lc_rs::signature::EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING)
            .unwrap();
    let der_sig = der_signer
        .sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
        .unwrap();
    let err = assert_401(verify(&format!("{input}.{}", b64(der_sig.as_ref()))).await);
    assert!(
        matches!(err, TokenError::SignatureLength { expected: 64, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn time_and_audience_refusals() {
    let k = keys();
    type Check = fn(&TokenError) -> bool;
    let cases: [(Value, Check); 5] = [
        (
            json!({"exp": NOW - 61, "iat": NOW - 700, "nbf": NOW - 700}),
            |e| matches!(e, TokenError::Expired { .. }),
        ),
        (json!({"nbf": NOW + 120}), |e| {
            matches!(e, TokenError::NotYetValid { .. })
        }),
        (json!({"iat": NOW + 120, "nbf": null}), |e| {
            matches!(e, TokenError::IssuedInFuture { .. })
        }),
        (json!({"aud": ["other-client"]}), |e| {
            matches!(e, TokenError::WrongAudience { .. })
        }),
        (
            json!({"exp": null}),
            |e| matches!(e, TokenError::MissingClaim { claim } if claim == "exp"),
        ),
    ];
    for (extra, check) in cases {
        let mut claims = merge(email_claims(), extra.clone());
        claims.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        let err = assert_401(verify(&token(&k.es256, "es256", &claims)).await);
        assert!(check(&err), "{extra}: {err}");
    }
    // Within the skew is fine.
    let claims = merge(email_claims(), json!({"exp": NOW - 59, "iat": NOW - 600}));
    verify(&token(&k.es256, "es256", &claims)).await.unwrap();
    // A verifier with no skew refuses the same token.
    let strict = verifier().with_clock_skew(0);
    assert!(matches!(
        strict.verify(&token(&k.es256, "es256", &claims), NOW).await,
        Err(TokenError::Expired { .. })
    ));
}

#[tokio::test]
async fn unknown_issuer_is_refused() {
    let k = keys();
    for iss in [
        "https://evil.example.com",
        "https://accounts.example.com/",
        "https://oidc.eks.us-west-2.amazonaws.com/id/x/y",
    ] {
        let claims = merge(email_claims(), json!({"iss": iss}));
        let err = assert_401(verify(&token(&k.es256, "es256", &claims)).await);
        assert!(
            matches!(err, TokenError::UnknownIssuer { ref issuer } if issuer == iss),
            "{err}"
        );
    }
}

#[tokio::test]
async fn email_issuer() {
    let k = keys();
    let v = verify(&token(&k.rsa, "rsa", &email_claims())).await.unwrap();
    assert_eq!(
        v.identity.san,
        SubjectAlternativeName::Email("alice@example.com".into())
    );
    assert_eq!(v.identity.extensions.issuer.as_deref(), Some(EMAIL_ISSUER));
    assert_eq!(v.challenge, "alice@example.com");
    assert_eq!(v.subject, "1234567890");
    assert_eq!((v.expires_at, v.issued_at), (NOW + 570, NOW - 30));
    assert_eq!(v.issuer_type, IssuerType::Email);

    // Fulcio's stringAsBool: "true" is accepted, "false" is not.
    let claims = merge(email_claims(), json!({"email_verified": "true"}));
    verify(&token(&k.rsa, "rsa", &claims)).await.unwrap();
    for verified in [json!(false), json!("false")] {
        let claims = merge(email_claims(), json!({"email_verified": verified}));
        let err = assert_401(verify(&token(&k.rsa, "rsa", &claims)).await);
        assert!(
            matches!(err, TokenError::EmailNotVerified { ref email } if email == "alice@example.com"),
            "{err}"
        );
    }
    let mut claims = email_claims();
    claims.as_object_mut().unwrap().remove("email_verified");
    let err = assert_401(verify(&token(&k.rsa, "rsa", &claims)).await);
    assert!(
        matches!(err, TokenError::MissingClaim { ref claim } if claim == "email_verified"),
        "{err}"
    );
    let claims = merge(email_claims(), json!({"email_verified": 1}));
    assert!(matches!(
        assert_401(verify(&token(&k.rsa, "rsa", &claims)).await),
        TokenError::InvalidClaim { .. }
    ));
    let claims = merge(email_claims(), json!({"email": "not an address"}));
    assert!(matches!(
        assert_401(verify(&token(&k.rsa, "rsa", &claims)).await),
        TokenError::InvalidEmail { .. }
    ));
    let mut claims = email_claims();
    claims.as_object_mut().unwrap().remove("email");
    assert!(matches!(
        assert_401(verify(&token(&k.rsa, "rsa", &claims)).await),
        TokenError::MissingClaim { .. }
    ));

    // A federating issuer (Dex): the certificate's issuer comes from the configured claim.
    let claims = merge(
        base_claims(DEX_ISSUER, "CgYxMjM0NTYSBmdpdGh1Yg"),
        json!({"email": "alice@example.com", "email_verified": true,
               "federated_claims": {"connector_id": "https://github.com/login/oauth", "user_id": "123456"}}),
    );
    let v = verify(&token(&k.es256, "es256", &claims)).await.unwrap();
    assert_eq!(v.issuer, DEX_ISSUER);
    assert_eq!(
        v.identity.extensions.issuer.as_deref(),
        Some("https://github.com/login/oauth")
    );
}

#[tokio::test]
async fn github_workflow_issuer() {
    let k = keys();
    let v = verify(&token(&k.rsa, "rsa", &github_claims())).await.unwrap();
    let signer = "https://github.com/octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main";
    assert_eq!(v.identity.san, SubjectAlternativeName::Uri(signer.into()));
    assert_eq!(v.challenge, "repo:octo-org/octo-repo:environment:prod");
    let e = &v.identity.extensions;
    let sha = "d6e7f4d0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";
    let expected = [
        (&e.issuer, GITHUB_ISSUER),
        (&e.github_workflow_trigger, "workflow_dispatch"),
        (&e.github_workflow_sha, sha),
        (&e.github_workflow_name, "example-workflow"),
        (&e.github_workflow_repository, "octo-org/octo-repo"),
        (&e.github_workflow_ref, "refs/heads/main"),
        (&e.build_signer_uri, signer),
        (&e.build_signer_digest, "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"),
        (&e.runner_environment, "github-hosted"),
        (&e.source_repository_uri, "https://github.com/octo-org/octo-repo"),
        (&e.source_repository_digest, sha),
        (&e.source_repository_ref, "refs/heads/main"),
        (&e.source_repository_identifier, "74"),
        (&e.source_repository_owner_uri, "https://github.com/octo-org"),
        (&e.source_repository_owner_identifier, "65"),
        (
            &e.build_config_uri,
            "https://github.com/octo-org/octo-repo/.github/workflows/example-workflow.yml@refs/heads/main",
        ),
        (&e.build_config_digest, sha),
        (&e.build_trigger, "workflow_dispatch"),
        (
            &e.run_invocation_uri,
            "https://github.com/octo-org/octo-repo/actions/runs/5678901234/attempts/2",
        ),
        (&e.source_repository_visibility_at_signing, "private"),
        (&e.deployment_environment, "prod"),
    ];
    for (got, want) in expected {
        assert_eq!(got.as_deref(), Some(want));
    }

    // No environment: .23 is left out.
    let mut claims = github_claims();
    claims.as_object_mut().unwrap().remove("environment");
    let v = verify(&token(&k.rsa, "rsa", &claims)).await.unwrap();
    assert_eq!(v.identity.extensions.deployment_environment, None);

    // Every claim Fulcio requires is required, and the error names it.
    for claim in [
        "job_workflow_ref",
        "sha",
        "event_name",
        "repository",
        "workflow",
        "ref",
        "job_workflow_sha",
        "runner_environment",
        "repository_id",
        "repository_owner",
        "repository_owner_id",
        "repository_visibility",
        "workflow_ref",
        "workflow_sha",
        "run_id",
        "run_attempt",
    ] {
        let mut claims = github_claims();
        claims.as_object_mut().unwrap().remove(claim);
        let err = assert_401(verify(&token(&k.es256, "es256", &claims)).await);
        assert!(
            matches!(err, TokenError::MissingClaim { claim: ref c } if c == claim),
            "{claim}: {err}"
        );
        claims[claim] = "".into();
        assert!(matches!(
            assert_401(verify(&token(&k.es256, "es256", &claims)).await),
            TokenError::MissingClaim { .. }
        ));
    }
    // A claim of the wrong JSON type is named too.
    let claims = merge(github_claims(), json!({"run_id": 5678901234u64}));
    let err = assert_401(verify(&token(&k.es256, "es256", &claims)).await);
    assert!(
        matches!(err, TokenError::InvalidClaim { ref claim, .. } if claim == "run_id"),
        "{err}"
    );
}

fn gitlab_claims() -> Value {
    // The shape of a GitLab CI `id_tokens` token (docs.gitlab.com, "ID token authentication").
    merge(
        base_claims(
            GITLAB_ISSUER,
            "project_path:my-group/my-project:ref_type:branch:ref:main",
        ),
        json!({
            "namespace_id": "72", "namespace_path": "my-group", "project_id": "20",
            "project_path": "my-group/my-project", "user_id": "1", "user_login": "sample-user",
            "user_email": "sample-user@example.com", "user_identities": [],
            "pipeline_id": "574", "pipeline_source": "push", "job_id": "302",
            "ref": "main", "ref_type": "branch", "ref_path": "refs/heads/main", "ref_protected": "true",
            "environment": "production", "environment_protected": "true", "deployment_tier": "production",
            "runner_id": 1, "runner_environment": "gitlab-hosted",
            "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
            "project_visibility": "public",
            "ci_config_ref_uri": "gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main",
            "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
            "jti": "235b3a54-b797-45c7-ae9a-f72d7bc6ef5b"
        }),
    )
}

#[tokio::test]
async fn gitlab_pipeline_issuer() {
    let k = keys();
    let v = verify(&token(&k.rsa, "rsa", &gitlab_claims())).await.unwrap();
    let config = "https://gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main";
    assert_eq!(v.identity.san, SubjectAlternativeName::Uri(config.into()));
    assert_eq!(
        v.challenge,
        "project_path:my-group/my-project:ref_type:branch:ref:main"
    );
    let e = &v.identity.extensions;
    let sha = "714a629c0b401fdce83e847fc9589983fc6f46bc";
    let expected = [
        (&e.issuer, GITLAB_ISSUER),
        (&e.build_config_uri, config),
        (&e.build_config_digest, sha),
        (&e.build_signer_uri, config),
        (&e.build_signer_digest, sha),
        (&e.runner_environment, "gitlab-hosted"),
        (&e.source_repository_uri, "https://gitlab.com/my-group/my-project"),
        (&e.source_repository_digest, sha),
        (&e.source_repository_ref, "refs/heads/main"),
        (&e.source_repository_identifier, "20"),
        (&e.source_repository_owner_uri, "https://gitlab.com/my-group"),
        (&e.source_repository_owner_identifier, "72"),
        (&e.build_trigger, "push"),
        (
            &e.run_invocation_uri,
            "https://gitlab.com/my-group/my-project/-/jobs/302",
        ),
        (&e.source_repository_visibility_at_signing, "public"),
    ];
    for (got, want) in expected {
        assert_eq!(got.as_deref(), Some(want));
    }
    assert_eq!(e.github_workflow_trigger, None);

    let tag = merge(gitlab_claims(), json!({"ref": "v1.0.0", "ref_type": "tag"}));
    let v = verify(&token(&k.rsa, "rsa", &tag)).await.unwrap();
    assert_eq!(
        v.identity.extensions.source_repository_ref.as_deref(),
        Some("refs/tags/v1.0.0")
    );
    let odd = merge(gitlab_claims(), json!({"ref_type": "merge_request"}));
    let err = assert_401(verify(&token(&k.rsa, "rsa", &odd)).await);
    assert!(
        matches!(err, TokenError::InvalidClaim { ref claim, .. } if claim == "ref_type"),
        "{err}"
    );
    for claim in [
        "project_path",
        "ci_config_ref_uri",
        "pipeline_id",
        "runner_id",
        "namespace_id",
    ] {
        let mut claims = gitlab_claims();
        claims.as_object_mut().unwrap().remove(claim);
        let err = assert_401(verify(&token(&k.rsa, "rsa", &claims)).await);
        assert!(
            matches!(err, TokenError::MissingClaim { claim: ref c } if c == claim),
            "{claim}: {err}"
        );
    }
}

#[tokio::test]
async fn spiffe_issuer() {
    let k = keys();
    let id = "spiffe://example.org/ns/prod/sa/builder";
    let v = verify(&token(&k.es384, "es384", &base_claims(SPIFFE_ISSUER, id)))
        .await
        .unwrap();
    assert_eq!(v.identity.san, SubjectAlternativeName::Uri(id.into()));
    assert_eq!(v.challenge, id);
    let err = assert_401(
        verify(&token(
            &k.es384,
            "es384",
            &base_claims(SPIFFE_ISSUER, "spiffe://evil.org/ns/prod"),
        ))
        .await,
    );
    assert!(
        matches!(err, TokenError::SpiffeTrustDomainMismatch { ref got, .. } if got == "evil.org"),
        "{err}"
    );
    let err = assert_401(
        verify(&token(
            &k.es384,
            "es384",
            &base_claims(SPIFFE_ISSUER, "https://example.org/x"),
        ))
        .await,
    );
    assert!(
        matches!(
            err,
            TokenError::InvalidSubject {
                issuer_type: "spiffe",
                ..
            }
        ),
        "{err}"
    );
}

fn k8s_claims(iss: &str) -> Value {
    // A projected service-account token (kubectl create token --audience sigstore).
    merge(
        base_claims(iss, "system:serviceaccount:default:builder"),
        json!({"kubernetes.io": {
            "namespace": "default",
            "pod": {"name": "oidc-test", "uid": "49ad3572-b3dd-43a6-8d77-5858d3660275"},
            "serviceaccount": {"name": "builder", "uid": "f5720c1d-e152-4356-a897-11b07aff165d"}
        }}),
    )
}

#[tokio::test]
async fn kubernetes_issuer_and_meta_issuer() {
    let k = keys();
    for iss in [K8S_ISSUER, EKS_ISSUER] {
        let v = verify(&token(&k.rsa, "rsa", &k8s_claims(iss))).await.unwrap();
        assert_eq!(
            v.identity.san,
            SubjectAlternativeName::Uri(
                "https://kubernetes.io/namespaces/default/serviceaccounts/builder".into()
            )
        );
        assert_eq!(v.issuer, iss);
        // For a meta issuer the certificate names the concrete issuer, not the pattern.
        assert_eq!(v.identity.extensions.issuer.as_deref(), Some(iss));
        assert_eq!(v.challenge, "system:serviceaccount:default:builder");
    }
    let mut claims = k8s_claims(K8S_ISSUER);
    claims["kubernetes.io"]["serviceaccount"]["name"] = "".into();
    let err = assert_401(verify(&token(&k.rsa, "rsa", &claims)).await);
    assert!(
        matches!(err, TokenError::MissingClaim { ref claim } if claim == "kubernetes.io.serviceaccount.name"),
        "{err}"
    );
    claims["kubernetes.io"]["namespace"] = "../etc".into();
    assert!(matches!(
        assert_401(verify(&token(&k.rsa, "rsa", &claims)).await),
        TokenError::InvalidClaim { .. }
    ));
}

#[tokio::test]
async fn uri_issuer() {
    let k = keys();
    let sub = "https://ci.example.com/pipelines/42";
    let v = verify(&token(&k.ed25519, "ed25519", &base_claims(URI_ISSUER, sub)))
        .await
        .unwrap();
    assert_eq!(v.identity.san, SubjectAlternativeName::Uri(sub.into()));
    assert_eq!(v.challenge, sub);
    for bad in [
        "https://evil.example.com/x",
        "http://ci.example.com/x",
        "https://ci.example.com.evil.org/x",
    ] {
        let err = assert_401(verify(&token(&k.ed25519, "ed25519", &base_claims(URI_ISSUER, bad))).await);
        assert!(
            matches!(err, TokenError::SubjectDomainMismatch { .. }),
            "{bad}: {err}"
        );
    }
    let err = assert_401(
        verify(&token(
            &k.ed25519,
            "ed25519",
            &base_claims(URI_ISSUER, "bob@ci.example.com"),
        ))
        .await,
    );
    assert!(matches!(err, TokenError::InvalidSubject { .. }), "{err}");
}

#[tokio::test]
async fn username_issuer_with_its_own_client_id() {
    let k = keys();
    let claims = merge(
        base_claims(USERNAME_ISSUER, "alice"),
        json!({"aud": "signet-users"}),
    );
    let v = verify(&token(&k.es256, "es256", &claims)).await.unwrap();
    assert_eq!(
        v.identity.san,
        SubjectAlternativeName::OtherName("alice!example.com".into())
    );
    assert_eq!(v.challenge, "alice");
    // This issuer's tokens must carry its own client id, not the default.
    let err = assert_401(verify(&token(&k.es256, "es256", &base_claims(USERNAME_ISSUER, "alice"))).await);
    assert!(
        matches!(err, TokenError::WrongAudience { ref client_id, .. } if client_id == "signet-users"),
        "{err}"
    );
    let claims = merge(
        base_claims(USERNAME_ISSUER, "al!ce"),
        json!({"aud": "signet-users"}),
    );
    assert!(matches!(
        assert_401(verify(&token(&k.es256, "es256", &claims)).await),
        TokenError::InvalidSubject { .. }
    ));
}

#[tokio::test]
async fn challenge_claim_override() {
    let set = IssuerSet::new()
        .with_issuer(
            IssuerConfig::new(URI_ISSUER, IssuerType::Uri)
                .with_subject_domain("https://ci.example.com")
                .with_challenge_claim("pipeline"),
        )
        .unwrap();
    let source = StaticKeys::new().with_issuer(
        URI_ISSUER,
        KeySet::from_jwks_json(jwks().to_string().as_bytes()).unwrap(),
    );
    let verifier = TokenVerifier::new(set, source);
    let claims = merge(
        base_claims(URI_ISSUER, "https://ci.example.com/p/1"),
        json!({"pipeline": "p-1"}),
    );
    let v = verifier
        .verify(&token(&keys().es256, "es256", &claims), NOW)
        .await
        .unwrap();
    assert_eq!(v.challenge, "p-1");
    let claims = base_claims(URI_ISSUER, "https://ci.example.com/p/1");
    let err = verifier
        .verify(&token(&keys().es256, "es256", &claims), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TokenError::MissingClaim { ref claim } if claim == "pipeline"),
        "{err}"
    );
}

#[tokio::test]
async fn keys_missing_for_a_configured_issuer_is_503() {
    let verifier = TokenVerifier::new(issuers(), StaticKeys::new());
    let err = verifier
        .verify(&token(&keys().es256, "es256", &email_claims()), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::KeysUnavailable { .. }), "{err}");
    assert_eq!(err.http_status(), 503);
}
