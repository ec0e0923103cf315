//! `signet sign IMAGE` and `signet verify IMAGE` end to end: a real registry (Debian's
//! docker-registry, which has no referrers API, so the `sha256-<hex>` fallback index is written
//! and read for real), a `signet server --dev-oidc` for the keyless certificate, the logs and
//! the TSA, and the `signet` program as a user runs it.

mod common;
mod image_stack;
#[path = "../../signet-client/tests/support/referrers_registry.rs"]
mod referrers_registry;
#[path = "../../signet-client/tests/support/registry.rs"]
mod registry_support;

use std::process::{Command, Output};

use signet_client::http::Http;
use signet_client::oci::{Registry, RegistryOptions};
use signet_oci::{Digest, Manifest};

use image_stack::{signet, signet_env, stderr, Stack};

impl Stack {
    /// A registry client, and the image `team/app:1.0` (one layer) pushed with it; its digest.
    fn push_app<'h>(&self, http: &'h Http) -> (Registry<'h>, Digest) {
        let registry = Registry::new(http, &self.registry.host, &RegistryOptions::default()).unwrap();
        let digest = push_image(&registry, "team/app", "1.0", b"layer one");
        (registry, digest)
    }
}

/// Pushes a small image with `layer` as its one layer under `tag`; returns its digest.
fn push_image(registry: &Registry, repository: &str, tag: &str, layer: &[u8]) -> Digest {
    Digest::sha256(&registry_support::push_image(registry, repository, tag, layer))
}

#[test]
fn sign_and_verify_an_image_keylessly_through_the_fallback_index() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let Stack {
        registry: registry_process,
        trust,
        issuer,
        token,
        ..
    } = &stack;
    let trust = trust.as_str();
    let http = Http::new().unwrap();
    let (registry, digest) = stack.push_app(&http);
    let unsigned = push_image(&registry, "team/app", "2.0", b"layer two");
    let image = format!("{}/team/app:1.0", registry_process.host);

    let signed = signet(&["sign", &image, "--trust-config", trust, "--identity-token", token]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    assert!(
        stderr(&signed).contains(&format!("{}/team/app@{digest}", registry_process.host)),
        "the digest is what was signed: {}",
        stderr(&signed)
    );

    let verify = |image: &str, identity: &str| {
        signet(&[
            "verify",
            image,
            "--trust-config",
            trust,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ])
    };
    let out = verify(&image, "builder@example.com");
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 1, "{claims}");
    assert_eq!(
        claims[0]["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );
    assert_eq!(claims[0]["critical"]["type"], "cosign container image signature");
    assert_eq!(claims[0]["optional"]["Subject"], "builder@example.com");
    assert_eq!(claims[0]["optional"]["Issuer"], *issuer);
    // By digest too, with no tag to resolve.
    let by_digest = format!("{}/team/app@{digest}", registry_process.host);
    assert!(verify(&by_digest, "builder@example.com").status.success());

    // The signature is where cosign 3 looks on a registry without the referrers API: the
    // fallback index lists a referrer whose one layer is a Sigstore bundle.
    let fallback = registry
        .manifest("team/app", &signet_oci::referrers::fallback_tag(&digest))
        .unwrap();
    let Manifest::Index(index) = fallback.manifest else {
        panic!("an index")
    };
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(
        index.manifests[0].artifact_type.as_deref(),
        Some(signet_oci::referrers::BUNDLE_ARTIFACT_TYPE)
    );

    // A second signature is added to the same index, and both verify.
    let again = signet(&["sign", &image, "--trust-config", trust, "--identity-token", token]);
    assert!(again.status.success(), "{}", stderr(&again));
    let out = verify(&image, "builder@example.com");
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 2, "{claims}");

    // Signatures for someone else: found, none verifies, and the message says why.
    let out = verify(&image, "someone@example.com");
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("2 signatures found"), "{message}");
    assert!(message.contains("but none of them verifies"), "{message}");
    assert!(
        message.contains("builder@example.com"),
        "the identity the certificate holds: {message}"
    );

    // An image nobody signed.
    let out = verify(
        &format!("{}/team/app:2.0", registry_process.host),
        "builder@example.com",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "no signatures found for {}/team/app@{unsigned}",
            registry_process.host
        )),
        "{}",
        stderr(&out)
    );

    // With a key pair in cosign's format instead of a certificate.
    let keys = tempfile::tempdir().unwrap();
    let prefix = keys.path().join("cosign");
    let generated = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args([
            "generate-key-pair",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ])
        .env("SIGNET_PASSWORD", "pw")
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", stderr(&generated));
    let key_image = format!("{}/team/app:2.0", registry_process.host);
    let key = keys.path().join("cosign.key");
    let signed = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args([
            "sign",
            &key_image,
            "--trust-config",
            trust,
            "--key",
            key.to_str().unwrap(),
        ])
        .env("SIGNET_PASSWORD", "pw")
        .env("SIGNET_HOME", keys.path())
        .output()
        .unwrap();
    assert!(signed.status.success(), "{}", stderr(&signed));
    let public = keys.path().join("cosign.pub");
    let out = signet(&[
        "verify",
        &key_image,
        "--trust-config",
        trust,
        "--key",
        public.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("verified against the specified public key"),
        "{}",
        stderr(&out)
    );
    // The keyless signatures of the other image are not this key's.
    let out = signet(&[
        "verify",
        &image,
        "--trust-config",
        trust,
        "--key",
        public.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // A listed referrer that is gone (deleted from the registry, the index not updated) does
    // not stop the others verifying.
    let deleted = ureq::delete(&format!(
        "http://{}/v2/team/app/manifests/{}",
        registry_process.host, index.manifests[0].digest
    ))
    .call();
    assert!(deleted.is_ok(), "{deleted:?}");
    let out = verify(&image, "builder@example.com");
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 1, "{claims}");

    // An image that does not exist.
    let out = verify(
        &format!("{}/team/app:9.9", registry_process.host),
        "builder@example.com",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such manifest"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn attest_an_sbom_to_an_image_and_verify_it_by_type() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let Stack {
        registry: registry_process,
        trust,
        issuer,
        token,
        data,
        ..
    } = &stack;
    let trust = trust.as_str();
    let http = Http::new().unwrap();
    let (_registry, digest) = stack.push_app(&http);
    let image = format!("{}/team/app:1.0", registry_process.host);

    let sbom = data.path().join("sbom.cdx.json");
    std::fs::write(
        &sbom,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"left-pad","version":"1.3.0"}]}"#,
    )
    .unwrap();
    let attested = signet(&[
        "attest",
        &image,
        "--predicate",
        sbom.to_str().unwrap(),
        "--type",
        "cyclonedx",
        "--trust-config",
        trust,
        "--identity-token",
        token,
    ]);
    assert!(attested.status.success(), "{}", stderr(&attested));

    let verify_attestation = |kind: &str| {
        signet(&[
            "verify-attestation",
            &image,
            "--type",
            kind,
            "--trust-config",
            trust,
            "--certificate-identity",
            "builder@example.com",
            "--certificate-oidc-issuer",
            issuer,
        ])
    };
    let out = verify_attestation("cyclonedx");
    assert!(out.status.success(), "{}", stderr(&out));
    // One DSSE envelope per line, its statement about the image's digest with the SBOM.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let envelope: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let payload = common::b64(envelope["payload"].as_str().unwrap());
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(statement["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(statement["subject"][0]["digest"]["sha256"], digest.hex());
    assert_eq!(statement["predicate"]["components"][0]["name"], "left-pad");

    // `tree` lists the attestation's referrer through the fallback index, with its type.
    let out = signet(&["tree", &image]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.contains(&format!("team/app@{digest}")), "{listing}");
    assert!(listing.contains("referrers (the fallback index"), "{listing}");
    assert!(
        listing.contains("application/vnd.dev.sigstore.bundle.v0.3+json  https://cyclonedx.org/bom"),
        "{listing}"
    );

    // Another type: none of those; and an attestation is not a signature.
    let out = verify_attestation("spdxjson");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no attestations of type https://spdx.dev/Document found"),
        "{}",
        stderr(&out)
    );
    let out = signet(&[
        "verify",
        &image,
        "--trust-config",
        trust,
        "--certificate-identity",
        "builder@example.com",
        "--certificate-oidc-issuer",
        issuer,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no signatures found"), "{}", stderr(&out));
}

/// A signature in cosign 1/2's legacy format (`sha256-<hex>.sig`, the simple-signing payload
/// as the layer, signature, certificate, Rekor bundle and RFC 3161 timestamp in its
/// annotations), assembled from what `signet sign-blob` made against the Rekor v1 log, is
/// verified when the image has no bundle signature, as cosign falls back to it.
#[test]
fn a_legacy_sig_signature_verifies() {
    use signet_oci::cosign::{self, SimpleSigning};

    let Some(stack) = Stack::start() else {
        return;
    };
    let Stack {
        registry: registry_process,
        trust,
        issuer,
        token,
        data,
        ..
    } = &stack;
    let http = Http::new().unwrap();
    let (registry, digest) = stack.push_app(&http);
    let repository = format!("{}/team/app", registry_process.host);
    let image = format!("{repository}:1.0");

    // The payload cosign signs, signed by signet against the Rekor v1 log only.
    let payload = SimpleSigning::new(&repository, &digest, Default::default()).to_json();
    let payload_file = data.path().join("payload.json");
    std::fs::write(&payload_file, &payload).unwrap();
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(trust).unwrap()).unwrap();
    let mut signing = config["signingConfig"].clone();
    signing["rekorTlogUrls"]
        .as_array_mut()
        .unwrap()
        .retain(|log| log["majorApiVersion"] == 1);
    let (root_file, signing_file, bundle_file) = (
        data.path().join("trusted_root.json"),
        data.path().join("signing_config.json"),
        data.path().join("payload.sigstore.json"),
    );
    std::fs::write(&root_file, config["trustedRoot"].to_string()).unwrap();
    std::fs::write(&signing_file, signing.to_string()).unwrap();
    let signed = signet(&[
        "sign-blob",
        payload_file.to_str().unwrap(),
        "--bundle",
        bundle_file.to_str().unwrap(),
        "--trusted-root",
        root_file.to_str().unwrap(),
        "--signing-config",
        signing_file.to_str().unwrap(),
        "--identity-token",
        token,
    ]);
    assert!(signed.status.success(), "{}", stderr(&signed));

    // The bundle's pieces as cosign's layer annotations.
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle_file).unwrap()).unwrap();
    let material = &bundle["verificationMaterial"];
    let entry = &material["tlogEntries"][0];
    assert_eq!(
        entry["kindVersion"]["version"], "0.0.1",
        "a Rekor v1 entry: {entry}"
    );
    let leaf = common::b64(material["certificate"]["rawBytes"].as_str().unwrap());
    let rekor_bundle = cosign::RekorBundle {
        signed_entry_timestamp: entry["inclusionPromise"]["signedEntryTimestamp"]
            .as_str()
            .unwrap()
            .into(),
        payload: cosign::RekorPayload {
            body: entry["canonicalizedBody"].as_str().unwrap().into(),
            integrated_time: entry["integratedTime"].as_str().unwrap().parse().unwrap(),
            log_index: entry["logIndex"].as_str().unwrap().parse().unwrap(),
            log_id: hex::encode(common::b64(entry["logId"]["keyId"].as_str().unwrap())),
        },
    };
    let mut layer = signet_oci::Descriptor::of(cosign::SIMPLE_SIGNING_MEDIA_TYPE, &payload);
    layer.annotations = [
        (
            cosign::ANNOTATION_SIGNATURE,
            bundle["messageSignature"]["signature"]
                .as_str()
                .unwrap()
                .to_string(),
        ),
        (
            cosign::ANNOTATION_CERTIFICATE,
            pem::encode(&pem::Pem::new("CERTIFICATE", leaf)),
        ),
        (cosign::ANNOTATION_BUNDLE, rekor_bundle.to_json()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(ts) =
        material["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"].as_str()
    {
        layer.annotations.insert(
            cosign::ANNOTATION_RFC3161_TIMESTAMP.to_string(),
            serde_json::json!({ "SignedRFC3161Timestamp": ts }).to_string(),
        );
    }
    let config_blob = format!(
        r#"{{"architecture":"","config":{{}},"os":"","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        layer.digest
    );
    registry.push_blob("team/app", config_blob.as_bytes()).unwrap();
    registry.push_blob("team/app", &payload).unwrap();
    let manifest = signet_oci::ImageManifest {
        schema_version: 2,
        media_type: Some(signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST.into()),
        artifact_type: None,
        config: signet_oci::Descriptor::of(
            signet_oci::manifest::MEDIA_TYPE_IMAGE_CONFIG,
            config_blob.as_bytes(),
        ),
        layers: vec![layer],
        subject: None,
        annotations: Default::default(),
    };
    let tag = cosign::attachment_tag(&digest, cosign::Attachment::Signature).unwrap();
    registry
        .push_manifest(
            "team/app",
            &tag,
            signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST,
            &manifest.to_json(),
        )
        .unwrap();

    let verify = |identity: &str| {
        signet(&[
            "verify",
            &image,
            "--trust-config",
            trust,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ])
    };
    let out = verify("builder@example.com");
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claims[0]["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );
    assert_eq!(claims[0]["optional"]["Subject"], "builder@example.com");

    let out = verify("someone@example.com");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("1 signature found") && stderr(&out).contains("it does not verify"),
        "{}",
        stderr(&out)
    );
}

/// On a registry with the OCI 1.1 referrers API (an in-process one: Debian's registry has
/// none), the signature is found through the API and no fallback index is written. A
/// verification by tag takes 5 requests: resolve, the fallback tag (absent), referrers,
/// referrer manifest, bundle (signet reads the fallback index first, which spares a request on
/// the registries without the API: distribution, Docker Hub, GHCR). A stale fallback index
/// that some client wrote beside the API does not hide the API's signatures.
#[test]
fn the_referrers_api_is_used_where_the_registry_has_it() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let registry_process = referrers_registry::ReferrersRegistry::start();
    let http = Http::new().unwrap();
    let registry = Registry::new(&http, &registry_process.host, &RegistryOptions::default()).unwrap();
    let digest = push_image(&registry, "team/app", "1.0", b"layer one");
    let image = format!("{}/team/app:1.0", registry_process.host);

    let signed = signet(&[
        "sign",
        &image,
        "-a",
        "env=prod",
        "--annotations",
        "team=core",
        "--trust-config",
        &stack.trust,
        "--identity-token",
        &stack.token,
    ]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let fallback = registry.manifest("team/app", &signet_oci::referrers::fallback_tag(&digest));
    assert!(
        fallback.is_err(),
        "no fallback index where the registry has the API"
    );

    let identity = signet_client::verify::IdentityArgs {
        certificate_identity: Some("builder@example.com".into()),
        certificate_oidc_issuer: Some(stack.issuer.clone()),
        ..Default::default()
    };
    let trust = signet_client::trust::TrustArgs {
        trust_config: Some(stack.trust.clone().into()),
        ..Default::default()
    };
    let before = registry_process.requests();
    let verified = signet_client::image::verify_image(
        &trust,
        &image,
        &identity,
        &RegistryOptions::default(),
        &Default::default(),
        false,
    )
    .unwrap();
    assert_eq!(verified.signatures.len(), 1);
    assert_eq!(
        verified.requests, 5,
        "resolve, fallback tag (404), referrers, referrer manifest, bundle"
    );
    assert_eq!(registry_process.requests() - before, 5);

    // A fallback index beside the API, listing only a referrer that is not there: nothing in
    // it verifies, so the API is asked, and its signature verifies.
    let mut stale = signet_oci::ImageIndex::new();
    stale.manifests.push(signet_oci::Descriptor {
        artifact_type: Some(signet_oci::referrers::BUNDLE_ARTIFACT_TYPE.into()),
        ..signet_oci::Descriptor::of(
            signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST,
            b"a referrer that was deleted",
        )
    });
    registry
        .push_manifest(
            "team/app",
            &signet_oci::referrers::fallback_tag(&digest),
            signet_oci::manifest::MEDIA_TYPE_IMAGE_INDEX,
            &stale.to_json(),
        )
        .unwrap();
    let verified = signet_client::image::verify_image(
        &trust,
        &image,
        &identity,
        &RegistryOptions::default(),
        &Default::default(),
        false,
    )
    .unwrap();
    assert_eq!(verified.signatures.len(), 1);

    // The annotations signed with the image: required with -a, printed among the claims.
    let verify = |annotation: &str| {
        signet(&[
            "verify",
            &image,
            "-a",
            annotation,
            "--trust-config",
            &stack.trust,
            "--certificate-identity",
            "builder@example.com",
            "--certificate-oidc-issuer",
            &stack.issuer,
        ])
    };
    let out = verify("env=prod");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("The specified annotations were verified."),
        "{}",
        stderr(&out)
    );
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims[0]["optional"]["env"], "prod");
    assert_eq!(claims[0]["optional"]["team"], "core");
    let out = verify("env=dev");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not carry the annotation(s) env=dev (it carries env=prod, team=core)"),
        "{}",
        stderr(&out)
    );
    let out = verify("no-equals-sign");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not key=value"), "{}", stderr(&out));
}

/// `signet login` checks the registry answers, then keeps the credential where the docker CLI
/// (and signet's registry client) read it, mode 0600, keeping what the file held.
#[test]
fn login_keeps_the_credential_in_the_docker_configuration() {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;

    let Some(registry_process) = registry_support::start() else {
        return;
    };
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("config.json");
    std::fs::write(&config, r#"{"credHelpers":{"other.example":"pass"}}"#).unwrap();
    let login = |password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signet"))
            .args([
                "login",
                &registry_process.host,
                "-u",
                "builder",
                "--password-stdin",
            ])
            .env("DOCKER_CONFIG", config_dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = login("s3cret\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(
        common::b64(written["auths"][&registry_process.host]["auth"].as_str().unwrap()),
        b"builder:s3cret"
    );
    assert_eq!(
        written["credHelpers"]["other.example"], "pass",
        "what the file held is kept"
    );
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let out = login("\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no password on standard input"),
        "{}",
        stderr(&out)
    );
}

impl Stack {
    /// `signet verify` (or `verify-attestation` with `extra`) for builder@example.com.
    fn verify(&self, image: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "verify",
            image,
            "--trust-config",
            &self.trust,
            "--certificate-identity",
            "builder@example.com",
            "--certificate-oidc-issuer",
            &self.issuer,
        ];
        args.extend_from_slice(extra);
        signet(&args)
    }

    fn sign(&self, image: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "sign",
            image,
            "--trust-config",
            &self.trust,
            "--identity-token",
            &self.token,
        ];
        args.extend_from_slice(extra);
        signet(&args)
    }
}

#[test]
fn a_saved_image_verifies_offline_from_its_layout() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let http = Http::new().unwrap();
    let (registry, digest) = stack.push_app(&http);
    let host = stack.registry.host.clone();
    let image = format!("{host}/team/app:1.0");
    let signed = stack.sign(&image, &[]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let sbom = stack.data.path().join("sbom.cdx.json");
    std::fs::write(
        &sbom,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"zlib","version":"1.3"}]}"#,
    )
    .unwrap();
    let attested = signet(&[
        "attest",
        &image,
        "--predicate",
        sbom.to_str().unwrap(),
        "--type",
        "cyclonedx",
        "--trust-config",
        &stack.trust,
        "--identity-token",
        &stack.token,
    ]);
    assert!(attested.status.success(), "{}", stderr(&attested));

    let dir = stack.data.path().join("saved");
    let saved = signet(&["save", &image, "--dir", dir.to_str().unwrap()]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    assert!(stderr(&saved).contains("2 referrer(s)"), "{}", stderr(&saved));

    // An OCI image layout: the image named by its tag, the referrers by the fallback tag, and
    // every blob the image needs (its config and layer) present.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entries = index["manifests"].as_array().unwrap();
    let named = |name: &str| {
        entries
            .iter()
            .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == name)
            .unwrap_or_else(|| panic!("no entry {name} in {index}"))
    };
    assert_eq!(named("1.0")["digest"], digest.to_string());
    assert_eq!(
        named("1.0")["annotations"]["kind"],
        "dev.cosignproject.cosign/image"
    );
    named(&signet_oci::referrers::fallback_tag(&digest));
    let layer = Digest::sha256(b"layer one");
    assert_eq!(
        std::fs::read(dir.join("blobs/sha256").join(layer.hex())).unwrap(),
        b"layer one"
    );
    drop(registry);

    // The registry is gone: the layout alone is verified.
    let mut stack = stack;
    stack.registry.stop();
    let layout = dir.to_str().unwrap();
    let out = stack.verify(layout, &["--local-image"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 1, "{claims}");
    assert_eq!(
        claims[0]["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );
    assert_eq!(
        claims[0]["critical"]["identity"]["docker-reference"],
        format!("{host}/team/app")
    );
    let out = signet(&[
        "verify-attestation",
        layout,
        "--local-image",
        "--type",
        "cyclonedx",
        "--trust-config",
        &stack.trust,
        "--certificate-identity",
        "builder@example.com",
        "--certificate-oidc-issuer",
        &stack.issuer,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);

    // Someone else's signature is not in the layout.
    let out = signet(&[
        "verify",
        layout,
        "--local-image",
        "--trust-config",
        &stack.trust,
        "--certificate-identity",
        "someone@example.com",
        "--certificate-oidc-issuer",
        &stack.issuer,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 signature found"), "{}", stderr(&out));

    // A bundle changed on disk is caught by its digest, and said.
    let fallback: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            dir.join("blobs/sha256").join(
                &named(&signet_oci::referrers::fallback_tag(&digest))["digest"]
                    .as_str()
                    .unwrap()[7..],
            ),
        )
        .unwrap(),
    )
    .unwrap();
    for referrer in fallback["manifests"].as_array().unwrap() {
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                dir.join("blobs/sha256")
                    .join(&referrer["digest"].as_str().unwrap()[7..]),
            )
            .unwrap(),
        )
        .unwrap();
        let bundle = dir
            .join("blobs/sha256")
            .join(&manifest["layers"][0]["digest"].as_str().unwrap()[7..]);
        let mut bytes = std::fs::read(&bundle).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 1;
        std::fs::write(&bundle, bytes).unwrap();
    }
    let out = stack.verify(layout, &["--local-image"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not hold that blob"),
        "{}",
        stderr(&out)
    );

    // Not a layout at all.
    let out = stack.verify(stack.data.path().to_str().unwrap(), &["--local-image"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not an OCI image layout"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

/// Pushes an index of `platforms` (each an image with its own layer) as `repository:tag`;
/// returns the index's digest and the platforms' digests.
fn push_index(registry: &Registry, repository: &str, tag: &str, platforms: &[&str]) -> (Digest, Vec<Digest>) {
    use signet_oci::manifest::{MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_MANIFEST};
    let mut index = signet_oci::ImageIndex::new();
    let mut children = Vec::new();
    for platform in platforms {
        let bytes = registry_support::push_image(
            registry,
            repository,
            &format!("{tag}-{platform}"),
            format!("layer for {platform}").as_bytes(),
        );
        let mut descriptor = signet_oci::Descriptor::of(MEDIA_TYPE_IMAGE_MANIFEST, &bytes);
        descriptor.platform = Some(signet_oci::Platform {
            architecture: platform.to_string(),
            os: "linux".into(),
            ..Default::default()
        });
        children.push(descriptor.digest.clone());
        index.manifests.push(descriptor);
    }
    let bytes = index.to_json();
    registry
        .push_manifest(repository, tag, MEDIA_TYPE_IMAGE_INDEX, &bytes)
        .unwrap();
    (Digest::sha256(&bytes), children)
}

#[test]
fn recursive_signs_and_verifies_every_platform_of_an_index() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let http = Http::new().unwrap();
    let registry = Registry::new(&http, &stack.registry.host, &RegistryOptions::default()).unwrap();
    let host = &stack.registry.host;
    let (index, platforms) = push_index(&registry, "team/multi", "1", &["amd64", "arm64", "s390x"]);
    let image = format!("{host}/team/multi:1");

    let signed = stack.sign(&image, &["--recursive"]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    for digest in std::iter::once(&index).chain(&platforms) {
        assert!(
            stderr(&signed).contains(&format!("Pushing signature to: {host}/team/multi@{digest}")),
            "{}",
            stderr(&signed)
        );
    }
    let out = stack.verify(&image, &["--recursive"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digests: Vec<&str> = claims
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["critical"]["image"]["docker-manifest-digest"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = std::iter::once(&index)
        .chain(&platforms)
        .map(|d| d.to_string())
        .collect();
    assert_eq!(digests, expected);

    // One platform's signature, downloaded by naming the platform.
    let out = signet(&["download", "signature", &image, "--platform", "linux/arm64"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let bundle: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let statement: serde_json::Value =
        serde_json::from_slice(&common::b64(bundle["dsseEnvelope"]["payload"].as_str().unwrap())).unwrap();
    assert_eq!(statement["subject"][0]["digest"]["sha256"], platforms[1].hex());
    let out = signet(&["download", "signature", &image, "--platform", "linux/mips"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no manifest for linux/mips (it has linux/amd64, linux/arm64, linux/s390x)"),
        "{}",
        stderr(&out)
    );
    let single = format!("{host}/team/multi@{}", platforms[0]);
    let out = signet(&["download", "signature", &single, "--platform", "linux/amd64"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("single image"), "{}", stderr(&out));

    // Saved with every platform and every platform's signature, and verified from disk.
    let dir = stack.data.path().join("multi-layout");
    let saved = signet(&["save", &image, "--dir", dir.to_str().unwrap()]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    assert!(stderr(&saved).contains("4 referrer(s)"), "{}", stderr(&saved));
    let out = stack.verify(dir.to_str().unwrap(), &["--local-image", "--recursive"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 4, "{claims}");

    // The same platforms in a second index, with a fourth nobody signed: only the index is
    // signed (no --recursive), so a recursive verification fails on that platform.
    let (index2, platforms2) = push_index(
        &registry,
        "team/multi",
        "2",
        &["amd64", "arm64", "s390x", "riscv64"],
    );
    assert_eq!(platforms2[..3], platforms[..]);
    let image2 = format!("{host}/team/multi:2");
    let signed = stack.sign(&image2, &[]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    assert_eq!(stderr(&signed).matches("Pushing signature to").count(), 1);
    let out = stack.verify(&image2, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = stack.verify(&image2, &["--recursive"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "no signatures found for {host}/team/multi@{}",
            platforms2[3]
        )),
        "{}",
        stderr(&out)
    );
    let _ = index2;

    // A recursive verification of a single-platform image is the plain one.
    let out = stack.verify(&format!("{host}/team/multi@{}", platforms[0]), &["--recursive"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn signatures_kept_in_a_signature_repository() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let http = Http::new().unwrap();
    let (registry, digest) = stack.push_app(&http);
    let host = &stack.registry.host;
    let image = format!("{host}/team/app:1.0");
    let elsewhere = format!("{host}/team/signatures");
    let signed = stack.sign(&image, &["--signature-repository", &elsewhere]);
    assert!(signed.status.success(), "{}", stderr(&signed));

    // Nothing beside the image; the fallback index is in the signature repository.
    assert!(registry
        .find_manifest("team/app", &signet_oci::referrers::fallback_tag(&digest))
        .unwrap()
        .is_none());
    assert!(registry
        .find_manifest("team/signatures", &signet_oci::referrers::fallback_tag(&digest))
        .unwrap()
        .is_some());
    let out = stack.verify(&image, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no signatures found"), "{}", stderr(&out));

    // Found with the flag, or with cosign's variable.
    let out = stack.verify(&image, &["--signature-repository", &elsewhere]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = signet_env(
        &[
            "verify",
            &image,
            "--trust-config",
            &stack.trust,
            "--certificate-identity",
            "builder@example.com",
            "--certificate-oidc-issuer",
            &stack.issuer,
        ],
        &[("COSIGN_REPOSITORY", elsewhere.as_ref())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let tree = signet_env(&["tree", &image], &[("COSIGN_REPOSITORY", elsewhere.as_ref())]);
    assert!(tree.status.success(), "{}", stderr(&tree));
    assert!(String::from_utf8_lossy(&tree.stdout).contains("team/signatures:sha256-"));

    // A repository, not an image.
    let out = stack.sign(&image, &["--signature-repository", &format!("{elsewhere}:v1")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("without a tag or digest"),
        "{}",
        stderr(&out)
    );
}

/// A CA and a server certificate it issued for 127.0.0.1, made by openssl: (CA certificate,
/// server certificate, server key) paths.
fn tls_certificate(
    dir: &std::path::Path,
) -> Option<(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf)> {
    let path = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let curve = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
    ];
    let ca = [
        &["req", "-x509"],
        &curve[..],
        &[
            "-subj",
            "/CN=signet test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    ]
    .concat();
    let leaf = [
        &["req", "-x509", "-CA", "ca.crt", "-CAkey", "ca.key"],
        &curve[..],
        &[
            "-subj",
            "/CN=signet test registry",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            "registry.key",
            "-out",
            "registry.crt",
        ],
    ]
    .concat();
    if openssl(&ca) && openssl(&leaf) {
        return Some((path("ca.crt"), path("registry.crt"), path("registry.key")));
    }
    assert!(
        std::env::var_os("SIGNET_REQUIRE_INTEROP").is_none(),
        "openssl could not make certificates"
    );
    eprintln!("skipping: openssl could not make certificates");
    None
}

#[test]
fn a_registry_over_tls_is_trusted_with_registry_cacert() {
    let certs = tempfile::tempdir().unwrap();
    let Some(tls) = tls_certificate(certs.path()) else {
        return;
    };
    let Some(registry_process) = registry_support::start_with(&registry_support::Options {
        tls: Some((tls.1.clone(), tls.2.clone())),
        ..Default::default()
    }) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&data.path().join("data"), &["--dev-oidc"]);
    let trust = server.dir.join("trust_config.json");
    let token = common::dev_token(&server.url, "builder@example.com");
    let options = RegistryOptions {
        ca_certs: vec![tls.0.clone()],
        ..Default::default()
    };
    let http = options.http().unwrap();
    let registry = Registry::new(&http, &registry_process.host, &options).unwrap();
    let digest = push_image(&registry, "team/app", "1.0", b"over tls");
    let image = format!("{}/team/app:1.0", registry_process.host);
    let cacert = tls.0.to_str().unwrap();
    let signed = signet(&[
        "sign",
        &image,
        "--registry-cacert",
        cacert,
        "--trust-config",
        trust.to_str().unwrap(),
        "--identity-token",
        &token,
    ]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let verify = |extra: &[&str]| {
        let issuer = format!("{}/oidc", server.url);
        let mut args = vec![
            "verify",
            &image,
            "--trust-config",
            trust.to_str().unwrap(),
            "--certificate-identity",
            "builder@example.com",
            "--certificate-oidc-issuer",
            &issuer,
        ];
        args.extend_from_slice(extra);
        signet(&args)
    };
    let out = verify(&["--registry-cacert", cacert]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claims[0]["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );

    // A CA that did not issue the registry's certificate: the TLS handshake fails, said in one
    // line naming the registry.
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = tls_certificate(other.path()).unwrap();
    let out = verify(&["--registry-cacert", other_ca.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&registry_process.host), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // A file that is not a CA certificate.
    let out = verify(&["--registry-cacert", trust.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no PEM certificate") || stderr(&out).contains("not PEM"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn credentials_come_from_docker_credential_helpers() {
    let Some(registry_process) = registry_support::start_with(&registry_support::Options {
        users: vec![("alice".into(), "s3cret".into())],
        ..Default::default()
    }) else {
        return;
    };
    let host = registry_process.host.clone();
    let data = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&data.path().join("data"), &["--dev-oidc"]);
    let trust = server.dir.join("trust_config.json");
    let token = common::dev_token(&server.url, "builder@example.com");
    let issuer = format!("{}/oidc", server.url);
    let options = RegistryOptions {
        credential: Some(signet_client::oci::Credential::Basic {
            username: "alice".into(),
            password: "s3cret".into(),
        }),
        ..Default::default()
    };
    let http = Http::new().unwrap();
    let registry = Registry::new(&http, &host, &options).unwrap();
    push_image(&registry, "team/app", "1.0", b"behind a password");
    let image = format!("{host}/team/app:1.0");

    // A credential helper as the docker CLI runs one: `docker-credential-<name> get`, the
    // server on stdin, JSON on stdout. It records what it was asked.
    let bin = data.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let asked = data.path().join("asked");
    let helper = |name: &str, password: &str| {
        let path = bin.join(format!("docker-credential-{name}"));
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" >> {}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"{password}\"}}' \"$server\"\n",
                asked.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    helper("right", "s3cret");
    helper("wrong", "guess");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let config_dir = |config: serde_json::Value| {
        let dir = data.path().join(format!(
            "docker-{}",
            Digest::sha256(config.to_string().as_bytes()).hex()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
        dir
    };
    let run = |command: &str, docker_config: &std::path::Path| {
        let mut args = vec![command, image.as_str(), "--trust-config", trust.to_str().unwrap()];
        if command == "sign" {
            args.extend(["--identity-token", token.as_str()]);
        } else {
            args.extend([
                "--certificate-identity",
                "builder@example.com",
                "--certificate-oidc-issuer",
                issuer.as_str(),
            ]);
        }
        signet_env(
            &args,
            &[
                ("PATH", path.as_ref()),
                ("DOCKER_CONFIG", docker_config.as_os_str()),
            ],
        )
    };

    let helpers = config_dir(serde_json::json!({ "credHelpers": { host.clone(): "right" } }));
    let out = run("sign", &helpers);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run("verify", &helpers);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&asked)
            .unwrap()
            .lines()
            .all(|l| l == host),
        "the helper is asked for this registry"
    );

    // credsStore: the one helper for every registry.
    let store = config_dir(serde_json::json!({ "credsStore": "right" }));
    let out = run("verify", &store);
    assert!(out.status.success(), "{}", stderr(&out));

    // A helper with the wrong password: the registry's refusal, in one line.
    let wrong = config_dir(serde_json::json!({ "credHelpers": { host.clone(): "wrong" } }));
    let out = run("verify", &wrong);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refused the credentials"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // A helper that is not installed.
    let missing = config_dir(serde_json::json!({ "credHelpers": { host.clone(): "absent" } }));
    let out = run("verify", &missing);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("docker-credential-absent"),
        "{}",
        stderr(&out)
    );

    // No credentials at all.
    let none = config_dir(serde_json::json!({}));
    let out = run("verify", &none);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("wants credentials"), "{}", stderr(&out));

    // `auths`, as `signet login` and `docker login` write them.
    let auths = config_dir(serde_json::json!({ "auths": { host.clone(): { "auth": "YWxpY2U6czNjcmV0" } } }));
    let out = run("verify", &auths);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// libtrust's key ID, which distribution's token auth names a signing key by: SHA-256 of the
/// key's SPKI, its first 240 bits in base32, in groups of four joined by colons.
fn libtrust_key_id(spki_der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let hash = signet_crypto::sha256(spki_der);
    let mut bits = String::new();
    for byte in &hash[..30] {
        bits.push_str(&format!("{byte:08b}"));
    }
    let encoded: String = bits
        .as_bytes()
        .chunks(5)
        .map(|c| ALPHABET[usize::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()] as char)
        .collect();
    encoded
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":")
}

/// A token server as distribution's token auth expects one: `GET /token?service=&scope=` with
/// Basic credentials, answering a JWT signed by `key` (named by its libtrust key ID) that grants
/// the scopes asked for. It counts the tokens it issued.
struct TokenServer {
    url: String,
    issued: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl TokenServer {
    fn start(key: signet_crypto::SigningKey, service: &'static str, issuer: &'static str) -> TokenServer {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let issued = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = issued.clone();
        let kid = libtrust_key_id(key.public_key().spki_der());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut authorization = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("authorization") {
                            authorization = Some(value.trim().to_string());
                        }
                    }
                }
                let target = request_line.split_whitespace().nth(1).unwrap_or("/");
                let parsed = url::Url::parse(&format!("http://x{target}")).unwrap();
                let scopes: Vec<String> = parsed
                    .query_pairs()
                    .filter(|(k, _)| k == "scope")
                    .map(|(_, v)| v.into_owned())
                    .collect();
                let expected = format!(
                    "Basic {}",
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "alice:s3cret")
                );
                let (status, body) = if authorization.as_deref() != Some(expected.as_str()) {
                    ("401 Unauthorized", r#"{"details":"bad credentials"}"#.to_string())
                } else {
                    let access: Vec<serde_json::Value> = scopes
                        .iter()
                        .filter_map(|s| {
                            let mut parts = s.splitn(3, ':');
                            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
                        })
                        .collect();
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs();
                    let claims = serde_json::json!({
                        "iss": issuer, "sub": "alice", "aud": service, "exp": now + 300,
                        "nbf": now - 10, "iat": now, "jti": format!("t{}", counter.load(Ordering::SeqCst)),
                        "access": access,
                    });
                    let token = signet_devoidc::jose::sign_es256(&key, &kid, &claims).unwrap();
                    counter.fetch_add(1, Ordering::SeqCst);
                    ("200 OK", serde_json::json!({ "token": token }).to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenServer { url, issued }
    }
}

#[test]
fn token_auth_answers_the_registry_bearer_challenge() {
    const SERVICE: &str = "signet-test-registry";
    const ISSUER: &str = "signet-test-token-issuer";
    let key = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    // The registry trusts tokens signed by the key of this certificate.
    let key_pair = rcgen::KeyPair::try_from(key.pkcs8_der()).unwrap();
    let certificate = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    let certs = tempfile::tempdir().unwrap();
    let bundle = certs.path().join("token-signer.pem");
    std::fs::write(&bundle, certificate.pem()).unwrap();
    let tokens = TokenServer::start(key, SERVICE, ISSUER);
    let Some(registry_process) = registry_support::start_with(&registry_support::Options {
        token: Some((tokens.url.clone(), SERVICE.into(), ISSUER.into(), bundle)),
        ..Default::default()
    }) else {
        return;
    };
    let host = registry_process.host.clone();

    // The registry client answers the challenge: a token for the repository, then the request.
    let credential = signet_client::oci::Credential::Basic {
        username: "alice".into(),
        password: "s3cret".into(),
    };
    let options = RegistryOptions {
        credential: Some(credential),
        ..Default::default()
    };
    let http = Http::new().unwrap();
    let registry = Registry::new(&http, &host, &options).unwrap();
    let digest = push_image(&registry, "team/app", "1.0", b"behind a token");
    let pushed_with = tokens.issued.load(std::sync::atomic::Ordering::SeqCst);
    assert!(pushed_with >= 1, "a token was issued");
    assert!(
        pushed_with <= 2,
        "the token is reused across the push's requests: {pushed_with} issued"
    );

    // The whole CLI flow, with the credential from the docker configuration.
    let data = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&data.path().join("data"), &["--dev-oidc"]);
    let trust = server.dir.join("trust_config.json");
    let token = common::dev_token(&server.url, "builder@example.com");
    let docker = data.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        serde_json::json!({ "auths": { host.clone(): { "auth": "YWxpY2U6czNjcmV0" } } }).to_string(),
    )
    .unwrap();
    let image = format!("{host}/team/app:1.0");
    let env = [("DOCKER_CONFIG", docker.as_os_str())];
    let out = signet_env(
        &[
            "sign",
            &image,
            "--trust-config",
            trust.to_str().unwrap(),
            "--identity-token",
            &token,
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let issuer = format!("{}/oidc", server.url);
    let verify_args = [
        "verify",
        image.as_str(),
        "--trust-config",
        trust.to_str().unwrap(),
        "--certificate-identity",
        "builder@example.com",
        "--certificate-oidc-issuer",
        issuer.as_str(),
    ];
    let before = tokens.issued.load(std::sync::atomic::Ordering::SeqCst);
    let out = signet_env(&verify_args, &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claims[0]["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );
    assert_eq!(
        tokens.issued.load(std::sync::atomic::Ordering::SeqCst) - before,
        1,
        "one pull token serves the whole verification"
    );

    // Wrong credentials: the token server's refusal, in one line.
    let wrong = data.path().join("wrong");
    std::fs::create_dir_all(&wrong).unwrap();
    std::fs::write(
        wrong.join("config.json"),
        serde_json::json!({ "auths": { host.clone(): { "auth": "YWxpY2U6Z3Vlc3M=" } } }).to_string(),
    )
    .unwrap();
    let out = signet_env(&verify_args, &[("DOCKER_CONFIG", wrong.as_os_str())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("answered HTTP 401"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn a_saved_legacy_signature_verifies_offline() {
    let Some(mut stack) = Stack::start() else {
        return;
    };
    let http = Http::new().unwrap();
    let (_registry, digest) = stack.push_app(&http);
    let image = format!("{}/team/app:1.0", stack.registry.host);
    let signed = stack.sign(&image, &["--legacy-format"]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let dir = stack.data.path().join("saved-legacy");
    let saved = signet(&["save", &image, "--dir", dir.to_str().unwrap()]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    let sig_tag = format!("sha256-{}.sig", digest.hex());
    assert!(stderr(&saved).contains(&sig_tag), "{}", stderr(&saved));
    stack.registry.stop();

    let out = stack.verify(dir.to_str().unwrap(), &["--local-image"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claims[0]["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );

    // A layout as `cosign save` writes it names the `.sig` by its kind alone: still found.
    let index_path = dir.join("index.json");
    let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    for entry in index["manifests"].as_array_mut().unwrap() {
        entry["annotations"]
            .as_object_mut()
            .unwrap()
            .remove("org.opencontainers.image.ref.name");
    }
    std::fs::write(&index_path, index.to_string()).unwrap();
    let out = stack.verify(dir.to_str().unwrap(), &["--local-image"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_legacy_format_signs_recursively_into_a_signature_repository() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let http = Http::new().unwrap();
    let registry = Registry::new(&http, &stack.registry.host, &RegistryOptions::default()).unwrap();
    let host = &stack.registry.host;
    let (index, platforms) = push_index(&registry, "team/multi", "1", &["amd64", "arm64", "s390x"]);
    let image = format!("{host}/team/multi:1");
    let elsewhere = format!("{host}/team/signatures");
    let repo_flag = ["--signature-repository", elsewhere.as_str()];

    let signed = stack.sign(
        &image,
        &["--legacy-format", "--recursive", repo_flag[0], repo_flag[1]],
    );
    assert!(signed.status.success(), "{}", stderr(&signed));
    for digest in std::iter::once(&index).chain(&platforms) {
        let tag = format!("{elsewhere}:sha256-{}.sig", digest.hex());
        assert!(stderr(&signed).contains(&tag), "{tag}: {}", stderr(&signed));
        assert!(registry
            .find_manifest("team/multi", &format!("sha256-{}.sig", digest.hex()))
            .unwrap()
            .is_none());
    }
    let out = stack.verify(&image, &["--recursive", repo_flag[0], repo_flag[1]]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 4, "{claims}");
    let out = stack.verify(&image, &["--recursive"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no signatures found"), "{}", stderr(&out));

    // Attestations the same way.
    let predicate = stack.data.path().join("bom.json");
    std::fs::write(
        &predicate,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"#,
    )
    .unwrap();
    let attested = signet(&[
        "attest",
        &image,
        "--legacy-format",
        "--recursive",
        "--type",
        "cyclonedx",
        "--predicate",
        predicate.to_str().unwrap(),
        "--signature-repository",
        &elsewhere,
        "--trust-config",
        &stack.trust,
        "--identity-token",
        &stack.token,
    ]);
    assert!(attested.status.success(), "{}", stderr(&attested));
    assert_eq!(stderr(&attested).matches("Pushing attestation to").count(), 4);
    let out = signet(&[
        "verify-attestation",
        &image,
        "--recursive",
        "--type",
        "cyclonedx",
        "--signature-repository",
        &elsewhere,
        "--trust-config",
        &stack.trust,
        "--certificate-identity",
        "builder@example.com",
        "--certificate-oidc-issuer",
        &stack.issuer,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
}

/// On distribution 2.8 (no referrers API) a verification by tag takes 4 registry requests:
/// resolve, the fallback index, the referrer manifest, the bundle; by digest, 3.
#[test]
fn a_verification_on_a_registry_without_the_api_takes_four_requests() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let http = Http::new().unwrap();
    let (_registry, digest) = stack.push_app(&http);
    let image = format!("{}/team/app:1.0", stack.registry.host);
    let signed = stack.sign(&image, &[]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let identity = signet_client::verify::IdentityArgs {
        certificate_identity: Some("builder@example.com".into()),
        certificate_oidc_issuer: Some(stack.issuer.clone()),
        ..Default::default()
    };
    let trust = signet_client::trust::TrustArgs {
        trust_config: Some(stack.trust.clone().into()),
        ..Default::default()
    };
    let verify = |image: &str| {
        signet_client::image::verify_image(
            &trust,
            image,
            &identity,
            &RegistryOptions::default(),
            &Default::default(),
            false,
        )
        .unwrap()
    };
    assert_eq!(
        verify(&image).requests,
        4,
        "resolve, fallback index, referrer manifest, bundle"
    );
    let by_digest = format!("{}/team/app@{digest}", stack.registry.host);
    assert_eq!(
        verify(&by_digest).requests,
        3,
        "fallback index, referrer manifest, bundle"
    );
}
