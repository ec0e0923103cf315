//! `verify-attestation --policy`, `attach sbom` and `download signature|attestation|sbom` end
//! to end, with the `signet` program as a user runs it against a real registry (Debian's
//! docker-registry, which has no referrers API, so the fallback index is what is read) and,
//! where something is signed, a `signet server --dev-oidc` for the keyless certificate, logs
//! and TSA.

mod common;
#[path = "../../signet-client/tests/support/registry.rs"]
mod registry_support;

use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use signet_client::http::Http;
use signet_client::oci::{Registry, RegistryOptions};
use signet_oci::cosign::{self, Attachment};
use signet_oci::manifest::{ImageManifest, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_MANIFEST};
use signet_oci::{Descriptor, Digest, Manifest};

fn signet(args: &[&str]) -> Output {
    signet_with_stdin(args, None)
}

fn signet_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env("SIGNET_HOME", home.path())
        .env("HOME", home.path())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run signet");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fails with one line on stderr, which contains each of `needles`.
fn assert_fails_saying(out: &Output, needles: &[&str]) {
    let message = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
}

/// A registry with the image `team/app:1.0` (one layer) in it.
struct App {
    process: registry_support::RegistryProcess,
    /// The image by tag.
    image: String,
    /// The image by digest.
    pinned: String,
    digest: Digest,
}

impl App {
    fn start() -> Option<App> {
        let process = registry_support::start()?;
        let http = Http::new().unwrap();
        let manifest =
            registry_support::push_image(&App::client(&process, &http), "team/app", "1.0", b"layer one");
        let digest = Digest::sha256(&manifest);
        Some(App {
            image: format!("{}/team/app:1.0", process.host),
            pinned: format!("{}/team/app@{digest}", process.host),
            digest,
            process,
        })
    }

    fn client<'h>(process: &registry_support::RegistryProcess, http: &'h Http) -> Registry<'h> {
        Registry::new(http, &process.host, &RegistryOptions::default()).unwrap()
    }

    fn registry<'h>(&self, http: &'h Http) -> Registry<'h> {
        App::client(&self.process, http)
    }
}

const CYCLONEDX: &[u8] =
    br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"left-pad","version":"1.3.0"}]}"#;

/// A CycloneDX SBOM attested to an image, then verified against Rego policies written as for
/// cosign: one that checks a field of the predicate and allows, one that denies, one that
/// does not compile. The image's signature and attestation come back from `download` as the
/// bundles cosign 3 prints, one per line.
#[test]
fn policies_decide_attestations_and_download_prints_the_bundles() {
    // The registry runs while `app` lives.
    let Some(app) = App::start() else {
        return;
    };
    let (image, pinned, digest) = (app.image.as_str(), app.pinned.as_str(), &app.digest);
    let data = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&data.path().join("data"), &["--dev-oidc"]);
    let trust = server.dir.join("trust_config.json").to_str().unwrap().to_string();
    let issuer = format!("{}/oidc", server.url);
    let token = common::dev_token(&server.url, "builder@example.com");

    let sbom = data.path().join("sbom.cdx.json");
    std::fs::write(&sbom, CYCLONEDX).unwrap();
    let sbom = sbom.to_str().unwrap();
    let attested = signet(&[
        "attest",
        image,
        "--predicate",
        sbom,
        "--type",
        "cyclonedx",
        "--trust-config",
        &trust,
        "--identity-token",
        &token,
    ]);
    assert!(attested.status.success(), "{}", stderr(&attested));
    let signed = signet(&[
        "sign",
        image,
        "--trust-config",
        &trust,
        "--identity-token",
        &token,
    ]);
    assert!(signed.status.success(), "{}", stderr(&signed));

    let policy = |name: &str, text: &str| {
        let path = data.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    // cosign's policy shape (Rego v0, package signature, rule allow) over the statement.
    let allows = policy(
        "allow.rego",
        r#"package signature

allow {
    input.predicateType == "https://cyclonedx.org/bom"
    input.subject[_].digest.sha256 != ""
    some i
    input.predicate.components[i].name == "left-pad"
    input.predicate.components[i].version == "1.3.0"
}
"#,
    );
    let denies = policy(
        "no-left-pad.rego",
        r#"package signature

default allow = false
allow {
    not has_left_pad
}
has_left_pad {
    input.predicate.components[_].name == "left-pad"
}
"#,
    );
    let broken = policy(
        "broken.rego",
        "package signature\n\nallow {\n    input.predicate ==\n",
    );
    let verify = |policies: &[&str]| {
        let mut args = vec![
            "verify-attestation",
            &image,
            "--type",
            "cyclonedx",
            "--trust-config",
            &trust,
            "--certificate-identity",
            "builder@example.com",
            "--certificate-oidc-issuer",
            &issuer,
        ];
        for p in policies {
            args.extend(["--policy", p]);
        }
        signet(&args)
    };

    let out = verify(&[&allows]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("satisfies the policy"), "{}", stderr(&out));
    let envelope: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");

    let out = verify(&[&denies]);
    assert_fails_saying(
        &out,
        &[
            pinned,
            "the policy denied 1 of the 1 verified attestation(s)",
            "no-left-pad.rego",
            "data.signature.allow is false",
        ],
    );
    assert!(
        stdout(&out).is_empty(),
        "nothing printed as verified: {}",
        stdout(&out)
    );
    // Both files: one program, as cosign loads them, in which a rule of either may allow.
    let out = verify(&[&allows, &denies]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = verify(&[&broken]);
    assert_fails_saying(&out, &["the policy", "broken.rego", "does not compile"]);
    let cue = policy("policy.cue", "predicateType: \"https://cyclonedx.org/bom\"");
    assert_fails_saying(&verify(&[&cue]), &["policy.cue", "not a .rego file"]);

    // download signature: the image's signature bundle, one JSON per line, as cosign 3 prints
    // it; the attestation is not among them.
    let out = signet(&["download", "signature", image]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let statement = |line: &str| {
        let bundle: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            bundle["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert!(
            bundle["verificationMaterial"]["tlogEntries"][0]["logIndex"].is_string(),
            "{bundle}"
        );
        let payload = common::b64(bundle["dsseEnvelope"]["payload"].as_str().unwrap());
        serde_json::from_slice::<serde_json::Value>(&payload).unwrap()
    };
    let signature = statement(text.trim());
    assert_eq!(signature["predicateType"], "https://sigstore.dev/cosign/sign/v1");
    assert_eq!(signature["subject"][0]["digest"]["sha256"], digest.hex());

    // download attestation: the attestation's bundle; by predicate type too.
    for filter in [None, Some("cyclonedx"), Some("https://cyclonedx.org/bom")] {
        let mut args = vec!["download", "attestation", &image];
        if let Some(t) = filter {
            args.extend(["--predicate-type", t]);
        }
        let out = signet(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "{text}");
        let attestation = statement(text.trim());
        assert_eq!(attestation["predicateType"], "https://cyclonedx.org/bom");
        assert_eq!(attestation["predicate"]["components"][0]["name"], "left-pad");
    }
    // What download printed is the whole bundle: saved to a file, it verifies as an
    // attestation about the image's digest, as `cosign download attestation` output does
    // with `cosign verify-blob-attestation`.
    let out = signet(&["download", "attestation", image]);
    let saved = data.path().join("downloaded.sigstore.json");
    std::fs::write(&saved, stdout(&out).trim()).unwrap();
    let out = signet(&[
        "verify-blob-attestation",
        &format!("sha256:{}", digest.hex()),
        "--bundle",
        saved.to_str().unwrap(),
        "--type",
        "cyclonedx",
        "--trust-config",
        &trust,
        "--certificate-identity",
        "builder@example.com",
        "--certificate-oidc-issuer",
        &issuer,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = signet(&["download", "attestation", image, "--predicate-type", "spdxjson"]);
    assert_fails_saying(
        &out,
        &[
            "no attestations with predicate type 'https://spdx.dev/Document' found",
            pinned,
        ],
    );
}

/// `attach sbom`, then `download sbom` gives back the same bytes and `tree` lists the
/// attachment; the attachment is cosign's image under the `.sbom` tag. An image with nothing
/// attached, and SBOM files that are missing or too large, fail clearly.
#[test]
fn attach_and_download_an_sbom() {
    let Some(app) = App::start() else {
        return;
    };
    let (image, pinned, digest) = (app.image.as_str(), app.pinned.as_str(), &app.digest);
    let http = Http::new().unwrap();
    let registry = app.registry(&http);
    let dir = tempfile::tempdir().unwrap();

    // Nothing attached yet: signatures and SBOM are errors; attestations are no output, as
    // cosign has it.
    assert_fails_saying(
        &signet(&["download", "signature", image]),
        &[&format!("no signatures found for {pinned}")],
    );
    assert_fails_saying(
        &signet(&["download", "sbom", image]),
        &[&format!("no SBOM attached to {pinned}")],
    );
    let out = signet(&["download", "attestation", image]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("No attestations found"), "{}", stderr(&out));

    let sbom = dir.path().join("sbom.cdx.json");
    // Pretty-printed, with a trailing newline: the bytes come back as they were.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(CYCLONEDX).unwrap()).unwrap();
    let content = [pretty.as_slice(), b"\n"].concat();
    std::fs::write(&sbom, &content).unwrap();
    let out = signet(&[
        "attach",
        "sbom",
        image,
        "--sbom",
        sbom.to_str().unwrap(),
        "--type",
        "cyclonedx",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tag = cosign::attachment_tag(digest, Attachment::Sbom).unwrap();
    assert!(stderr(&out).contains("does not sign them"), "{}", stderr(&out));
    assert!(stderr(&out).contains("signet attest"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("team/app:{tag}")),
        "{}",
        stderr(&out)
    );

    // What is in the registry: cosign's one-layer image under sha256-<hex>.sbom.
    let fetched = registry.manifest("team/app", &tag).unwrap();
    let Manifest::Image(manifest) = fetched.manifest else {
        panic!("an image manifest")
    };
    assert_eq!(manifest.layers.len(), 1);
    assert_eq!(manifest.layers[0].media_type, "application/vnd.cyclonedx+json");
    assert!(manifest.layers[0].describes(&content));
    assert_eq!(manifest.config.media_type, MEDIA_TYPE_IMAGE_CONFIG);
    let config: serde_json::Value =
        serde_json::from_slice(&registry.blob("team/app", &manifest.config, 1 << 20).unwrap()).unwrap();
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        manifest.layers[0].digest.to_string()
    );

    let out = signet(&["download", "sbom", image]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, content, "byte for byte");
    assert!(stderr(&out).contains("Found SBOM of media type: application/vnd.cyclonedx+json"));
    let copy = dir.path().join("copy.json");
    let out = signet(&[
        "download",
        "sbom",
        pinned,
        "--output-file",
        copy.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&copy).unwrap(), content);

    let out = signet(&["tree", image]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = stdout(&out);
    assert!(
        listing.contains(&format!("team/app:{tag} (cosign's legacy format): 1 layer(s)")),
        "{listing}"
    );
    assert!(listing.contains("application/vnd.cyclonedx+json"), "{listing}");

    // A second attachment replaces the first (cosign overwrites the tag); SPDX tag-value from
    // standard input.
    let spdx = b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n";
    let out = signet_with_stdin(
        &["attach", "sbom", pinned, "--sbom", "-", "--type", "spdx"],
        Some(spdx),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = signet(&["download", "sbom", image]);
    assert_eq!(out.stdout, spdx);
    assert!(
        stderr(&out).contains("media type: text/spdx\n"),
        "{}",
        stderr(&out)
    );

    // Bad input: one line naming the cause, nothing pushed.
    let missing = dir.path().join("missing.json");
    assert_fails_saying(
        &signet(&[
            "attach",
            "sbom",
            image,
            "--sbom",
            missing.to_str().unwrap(),
            "--type",
            "cyclonedx",
        ]),
        &["cannot read SBOM", "missing.json"],
    );
    let big = dir.path().join("big.spdx.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(signet_client::attach::MAX_ATTACHMENT_BYTES + 1)
        .unwrap();
    assert_fails_saying(
        &signet(&["attach", "sbom", image, "--sbom", big.to_str().unwrap()]),
        &["big.spdx.json", "is larger than 134217728 bytes"],
    );
    assert_fails_saying(
        &signet(&[
            "attach",
            "sbom",
            image,
            "--sbom",
            sbom.to_str().unwrap(),
            "--type",
            "cdx",
        ]),
        &["unknown SBOM type \"cdx\""],
    );
    assert_fails_saying(
        &signet(&[
            "attach",
            "sbom",
            &format!("{}/team/app:9.9", app.process.host),
            "--sbom",
            sbom.to_str().unwrap(),
            "--type",
            "cyclonedx",
        ]),
        &["team/app:9.9", "no such manifest"],
    );
    let out = signet(&["download", "sbom", image]);
    assert_eq!(out.stdout, spdx, "the failed attachments changed nothing");
}

/// cosign 1/2's `.sig` and `.att` attachments are downloaded as cosign prints them: a
/// `SignedPayload` object per signature layer and a DSSE envelope per attestation layer. The
/// layers are made by hand here (download verifies nothing, so they need not verify).
#[test]
fn download_reads_the_legacy_attachments() {
    let Some(app) = App::start() else {
        return;
    };
    let (image, digest) = (app.image.as_str(), &app.digest);
    let http = Http::new().unwrap();
    let registry = app.registry(&http);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);

    let payload = cosign::SimpleSigning::new("team/app", digest, Default::default()).to_json();
    let der = b"\x30\x03\x02\x01\x07".to_vec();
    let mut signature = Descriptor::of(cosign::SIMPLE_SIGNING_MEDIA_TYPE, &payload);
    signature.annotations = [
        (cosign::ANNOTATION_SIGNATURE, "MEUCIQDsig".to_string()),
        (
            cosign::ANNOTATION_CERTIFICATE,
            pem::encode(&pem::Pem::new("CERTIFICATE", der.clone())),
        ),
        (
            cosign::ANNOTATION_RFC3161_TIMESTAMP,
            r#"{"SignedRFC3161Timestamp":"MIIB"}"#.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    push_attachment(&registry, digest, Attachment::Signature, signature, &payload);

    let statement = |predicate_type: &str| {
        serde_json::json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": predicate_type,
            "subject": [{"name": "team/app", "digest": {"sha256": digest.hex()}}],
            "predicate": {},
        })
        .to_string()
    };
    let envelope = serde_json::json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": b64(statement("https://slsa.dev/provenance/v1").as_bytes()),
        "signatures": [{"keyid": "", "sig": "MEQC"}],
    })
    .to_string();
    let mut attestation = Descriptor::of(cosign::DSSE_ENVELOPE_MEDIA_TYPE, envelope.as_bytes());
    attestation.annotations.insert(
        cosign::ANNOTATION_PREDICATE_TYPE.into(),
        "https://slsa.dev/provenance/v1".into(),
    );
    push_attachment(
        &registry,
        digest,
        Attachment::Attestation,
        attestation,
        envelope.as_bytes(),
    );

    let out = signet(&["download", "signature", image]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let mut members: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "Base64Signature",
            "Bundle",
            "Cert",
            "Chain",
            "Payload",
            "RFC3161Timestamp"
        ]
    );
    assert_eq!(line["Base64Signature"], "MEUCIQDsig");
    assert_eq!(line["Payload"], b64(&payload));
    assert_eq!(line["Cert"]["Raw"], b64(&der));
    assert_eq!(line["Chain"], serde_json::Value::Null);
    assert_eq!(line["Bundle"], serde_json::Value::Null);
    assert_eq!(line["RFC3161Timestamp"]["SignedRFC3161Timestamp"], "MIIB");

    let out = signet(&[
        "download",
        "attestation",
        image,
        "--predicate-type",
        "slsaprovenance1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        line,
        serde_json::from_str::<serde_json::Value>(&envelope).unwrap()
    );
    let out = signet(&["download", "attestation", image, "--predicate-type", "cyclonedx"]);
    assert_fails_saying(
        &out,
        &["no attestations with predicate type 'https://cyclonedx.org/bom' found"],
    );
}

/// Pushes cosign's legacy attachment image holding `layer` (whose blob is `content`).
fn push_attachment(registry: &Registry, image: &Digest, kind: Attachment, layer: Descriptor, content: &[u8]) {
    let config = format!(
        r#"{{"architecture":"","config":{{}},"os":"","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        layer.digest
    );
    registry.push_blob("team/app", config.as_bytes()).unwrap();
    registry.push_blob("team/app", content).unwrap();
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_IMAGE_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::of(MEDIA_TYPE_IMAGE_CONFIG, config.as_bytes()),
        layers: vec![layer],
        subject: None,
        annotations: Default::default(),
    };
    let tag = cosign::attachment_tag(image, kind).unwrap();
    registry
        .push_manifest("team/app", &tag, MEDIA_TYPE_IMAGE_MANIFEST, &manifest.to_json())
        .unwrap();
}
