//! cosign's legacy image format, written and read end to end: `signet sign --legacy-format`
//! and `signet attest --legacy-format` push layers onto `sha256-<hex>.sig` / `.att` in a real
//! registry (Debian's docker-registry), logged to the Rekor v1 log of a `signet server
//! --dev-oidc`; `signet verify` and `verify-attestation` read them back. What signet wrote is
//! also checked without signet, with openssl: the signature over the payload, the SET over the
//! canonical entry, the certificate chain up to the trusted root's CA, and the entry body; and
//! skopeo (containers/image, when installed) reads the `.sig` signet wrote, and writes one signet
//! verifies. Tampered, incomplete or misplaced layers are refused with a one-line cause.

mod common;
mod image_stack;
#[path = "../../signet-client/tests/support/registry.rs"]
mod registry_support;

use std::path::Path;
use std::process::{Command, Output};

use image_stack::{signet, stderr};

use serde_json::Value;
use signet_client::http::Http;
use signet_client::oci::{Registry, RegistryOptions};
use signet_oci::cosign::{self, Attachment};
use signet_oci::{Descriptor, Digest, ImageManifest, Manifest};

fn signet_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let env: Vec<(&str, &std::ffi::OsStr)> =
        env.iter().map(|(k, v)| (*k, std::ffi::OsStr::new(*v))).collect();
    image_stack::signet_env(args, &env)
}

/// The command failed as a user sees it: exit 1, one line on stderr, naming each of `needles`.
fn refused(out: &Output, needles: &[&str]) -> String {
    let message = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    message
}

/// The shared stack ([`image_stack::Stack`]) with a registry client's HTTP.
struct Stack {
    base: image_stack::Stack,
    http: Http,
}

impl std::ops::Deref for Stack {
    type Target = image_stack::Stack;
    fn deref(&self) -> &image_stack::Stack {
        &self.base
    }
}

impl Stack {
    fn start() -> Option<Stack> {
        Some(Stack {
            base: image_stack::Stack::start()?,
            http: Http::new().unwrap(),
        })
    }

    /// `signet ARGS` signing keylessly with the stack's token.
    fn keyless(&self, args: &[&str]) -> Output {
        let mut args = args.to_vec();
        args.extend_from_slice(&["--trust-config", &self.trust, "--identity-token", &self.token]);
        signet(&args)
    }

    /// `signet ARGS` signing with the cosign key file `key` (password "pw").
    fn keyed(&self, args: &[&str], key: &Path) -> Output {
        let mut args = args.to_vec();
        args.extend_from_slice(&["--trust-config", &self.trust, "--key", key.to_str().unwrap()]);
        signet_with(&args, &[("SIGNET_PASSWORD", "pw")])
    }

    fn client(&self) -> Registry<'_> {
        Registry::new(&self.http, &self.registry.host, &RegistryOptions::default()).unwrap()
    }

    /// The image `team/app:1.0` (one layer), pushed: a registry client, its digest, its name.
    fn app(&self) -> (Registry<'_>, Digest, String) {
        let registry = self.client();
        let digest = push_image(&registry, "team/app", "1.0", b"layer one");
        let image = format!("{}/team/app:1.0", self.registry.host);
        (registry, digest, image)
    }

    /// Keyless verification of `image` for `identity`, with `extra` flags.
    fn verify(&self, command: &str, image: &str, identity: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            command,
            image,
            "--trust-config",
            &self.trust,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            &self.issuer,
        ];
        args.extend_from_slice(extra);
        signet(&args)
    }

    /// The stack's trusted root, and its signing config keeping only the Rekor logs `keep`
    /// chooses, as files in `dir`: `--trusted-root` and `--signing-config` for a signing that
    /// must (or cannot) use the Rekor v1 log.
    fn trust_files(&self, dir: &Path, keep: impl Fn(&Value) -> bool) -> (String, String) {
        let config: Value = serde_json::from_slice(&std::fs::read(&self.trust).unwrap()).unwrap();
        let mut signing = config["signingConfig"].clone();
        signing["rekorTlogUrls"].as_array_mut().unwrap().retain(keep);
        let (root_file, signing_file) = (dir.join("trusted_root.json"), dir.join("signing_config.json"));
        std::fs::write(&root_file, config["trustedRoot"].to_string()).unwrap();
        std::fs::write(&signing_file, signing.to_string()).unwrap();
        (
            root_file.to_str().unwrap().to_string(),
            signing_file.to_str().unwrap().to_string(),
        )
    }

    fn trusted_root(&self) -> Value {
        let config: Value = serde_json::from_slice(&std::fs::read(&self.trust).unwrap()).unwrap();
        config["trustedRoot"].clone()
    }
}

/// Pushes a small image with `layer` as its one layer under `tag`; returns its digest.
fn push_image(registry: &Registry, repository: &str, tag: &str, layer: &[u8]) -> Digest {
    Digest::sha256(&registry_support::push_image(registry, repository, tag, layer))
}

/// GET over plain HTTP, without signet's client: the registry's bytes as they are.
fn registry_get(host: &str, path: &str, accept: &str) -> Vec<u8> {
    let answer = ureq::get(&format!("http://{host}/v2/{path}"))
        .set("Accept", accept)
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut answer.into_reader(), &mut body).unwrap();
    body
}

/// The manifest at the image's legacy tag, fetched over plain HTTP.
fn legacy_manifest(host: &str, repository: &str, digest: &Digest, attachment: Attachment) -> Value {
    let tag = cosign::attachment_tag(digest, attachment).unwrap();
    serde_json::from_slice(&registry_get(
        host,
        &format!("{repository}/manifests/{tag}"),
        signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST,
    ))
    .unwrap()
}

fn blob(host: &str, repository: &str, digest: &str) -> Vec<u8> {
    registry_get(
        host,
        &format!("{repository}/blobs/{digest}"),
        "application/octet-stream",
    )
}

fn openssl(args: &[&str], dir: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl")
}

fn openssl_ok(args: &[&str], dir: &Path) -> String {
    let out = openssl(args, dir);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn der_to_pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Checks one legacy layer with openssl only: the signature over `signed` (the payload, or a
/// DSSE envelope's PAE) by the certificate's key (or `key_pem`), the SET over the canonical
/// JSON of the bundle annotation's payload with the trusted root's Rekor v1 key, and (keyless)
/// the chain from the leaf through the chain annotation to the trusted root's CA at the
/// integrated time. Returns the entry body (JSON).
fn check_with_openssl(
    dir: &Path,
    annotations: &Value,
    signed: &[u8],
    signature: &[u8],
    trusted_root: &Value,
    key_pem: Option<&Path>,
) -> Value {
    std::fs::write(dir.join("signed"), signed).unwrap();
    std::fs::write(dir.join("sig.der"), signature).unwrap();
    let key = match key_pem {
        Some(key) => key.to_str().unwrap().to_string(),
        None => {
            let cert = annotations[cosign::ANNOTATION_CERTIFICATE].as_str().unwrap();
            std::fs::write(dir.join("cert.pem"), cert).unwrap();
            let public = openssl_ok(&["x509", "-in", "cert.pem", "-pubkey", "-noout"], dir);
            std::fs::write(dir.join("pub.pem"), public).unwrap();
            "pub.pem".to_string()
        }
    };
    let verified = openssl_ok(
        &[
            "dgst",
            "-sha256",
            "-verify",
            &key,
            "-signature",
            "sig.der",
            "signed",
        ],
        dir,
    );
    assert_eq!(verified.trim(), "Verified OK");

    // The SET: ECDSA over SHA-256 of the RFC 8785 canonical JSON of the payload, built here
    // by hand (keys sorted, no spaces; the values are a string, integers and strings).
    let rekor: Value =
        serde_json::from_str(annotations[cosign::ANNOTATION_BUNDLE].as_str().unwrap()).unwrap();
    let payload = &rekor["Payload"];
    let canonical = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        payload["body"].as_str().unwrap(),
        payload["integratedTime"].as_i64().unwrap(),
        payload["logID"].as_str().unwrap(),
        payload["logIndex"].as_i64().unwrap()
    );
    std::fs::write(dir.join("canonical.json"), &canonical).unwrap();
    std::fs::write(
        dir.join("set.der"),
        common::b64(rekor["SignedEntryTimestamp"].as_str().unwrap()),
    )
    .unwrap();
    let log_id = payload["logID"].as_str().unwrap();
    let log = trusted_root["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| hex::encode(common::b64(t["logId"]["keyId"].as_str().unwrap())) == log_id)
        .unwrap_or_else(|| panic!("no log {log_id} in the trusted root"));
    assert!(
        log["baseUrl"].as_str().unwrap().contains("rekor"),
        "the Rekor log: {log}"
    );
    std::fs::write(
        dir.join("rekor.pem"),
        der_to_pem(
            "PUBLIC KEY",
            &common::b64(log["publicKey"]["rawBytes"].as_str().unwrap()),
        ),
    )
    .unwrap();
    let verified = openssl_ok(
        &[
            "dgst",
            "-sha256",
            "-verify",
            "rekor.pem",
            "-signature",
            "set.der",
            "canonical.json",
        ],
        dir,
    );
    assert_eq!(verified.trim(), "Verified OK");
    // The check can fail: another integrated time is not what the log signed.
    std::fs::write(
        dir.join("tampered.json"),
        canonical.replace(
            &format!("\"integratedTime\":{}", payload["integratedTime"]),
            &format!(
                "\"integratedTime\":{}",
                payload["integratedTime"].as_i64().unwrap() + 1
            ),
        ),
    )
    .unwrap();
    let refused = openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            "rekor.pem",
            "-signature",
            "set.der",
            "tampered.json",
        ],
        dir,
    );
    assert!(
        !refused.status.success(),
        "a SET over another time must not verify"
    );

    if key_pem.is_none() {
        // The chain: the CA's root from the trusted root, the chain annotation as the
        // untrusted intermediates, at the integrated time (the leaf lives 10 minutes).
        let ca = &trusted_root["certificateAuthorities"][0]["certChain"]["certificates"];
        let root = ca.as_array().unwrap().last().unwrap()["rawBytes"]
            .as_str()
            .unwrap();
        std::fs::write(
            dir.join("root.pem"),
            der_to_pem("CERTIFICATE", &common::b64(root)),
        )
        .unwrap();
        let chain = annotations[cosign::ANNOTATION_CHAIN].as_str().unwrap();
        assert!(chain.starts_with("-----BEGIN CERTIFICATE-----\n"), "{chain}");
        std::fs::write(dir.join("chain.pem"), chain).unwrap();
        let at = payload["integratedTime"].as_i64().unwrap().to_string();
        let verified = openssl_ok(
            &[
                "verify",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "chain.pem",
                "-attime",
                &at,
                "cert.pem",
            ],
            dir,
        );
        assert!(verified.contains("cert.pem: OK"), "{verified}");
        // A year later the leaf has long expired.
        let late = (payload["integratedTime"].as_i64().unwrap() + 365 * 86400).to_string();
        let refused = openssl(
            &[
                "verify",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "chain.pem",
                "-attime",
                &late,
                "cert.pem",
            ],
            dir,
        );
        assert!(!refused.status.success());
    }
    serde_json::from_slice(&common::b64(payload["body"].as_str().unwrap())).unwrap()
}

/// [`check_with_openssl`] for a `.sig` layer: its signature annotation over `payload`, in a new
/// directory (returned, with the entry body).
fn check_signature_layer(
    stack: &Stack,
    annotations: &Value,
    payload: &[u8],
    key_pem: Option<&Path>,
) -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let signature = common::b64(annotations[cosign::ANNOTATION_SIGNATURE].as_str().unwrap());
    let body = check_with_openssl(
        dir.path(),
        annotations,
        payload,
        &signature,
        &stack.trusted_root(),
        key_pem,
    );
    (dir, body)
}

/// The SHA-256 of a file, as openssl prints it.
fn openssl_sha256(dir: &Path, file: &str) -> String {
    let out = openssl_ok(&["dgst", "-sha256", "-r", file], dir);
    out.split_whitespace().next().unwrap().to_string()
}

/// The PEM a Rekor v1 body's `publicKey.content` (base64 of PEM) holds.
fn body_pem(content: &Value) -> String {
    String::from_utf8(common::b64(content.as_str().unwrap())).unwrap()
}

/// Replaces the manifest at the image's `.sig` (or `.att`) with one whose only layer is `layer`
/// (with `content` as its blob), as another tool, or a tampering registry or user, would.
fn put_attachment(
    registry: &Registry,
    repository: &str,
    image: &Digest,
    attachment: Attachment,
    layer: Descriptor,
    content: &[u8],
) {
    registry.push_blob(repository, content).unwrap();
    let (manifest, config) = cosign::legacy_manifest(&[], layer);
    registry.push_blob(repository, &config).unwrap();
    registry
        .push_manifest(
            repository,
            &cosign::attachment_tag(image, attachment).unwrap(),
            signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST,
            &manifest.to_json(),
        )
        .unwrap();
}

fn put_sig(registry: &Registry, repository: &str, image: &Digest, layer: Descriptor, content: &[u8]) {
    put_attachment(registry, repository, image, Attachment::Signature, layer, content);
}

/// `signet generate-key-pair` to `dir/<name>.key` and `.pub` (password "pw"); the key's path.
fn generate_key_pair(dir: &Path, name: &str) -> std::path::PathBuf {
    let prefix = dir.join(name);
    let generated = signet_with(
        &[
            "generate-key-pair",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ],
        &[("SIGNET_PASSWORD", "pw")],
    );
    assert!(generated.status.success(), "{}", stderr(&generated));
    dir.join(format!("{name}.key"))
}

fn sig_layers(registry: &Registry, repository: &str, image: &Digest) -> (ImageManifest, Vec<Vec<u8>>) {
    let fetched = registry
        .manifest(
            repository,
            &cosign::attachment_tag(image, Attachment::Signature).unwrap(),
        )
        .unwrap();
    let Manifest::Image(manifest) = fetched.manifest else {
        panic!("an image manifest")
    };
    let blobs = manifest
        .layers
        .iter()
        .map(|l| registry.blob(repository, l, 1 << 20).unwrap())
        .collect();
    (*manifest, blobs)
}

#[test]
fn legacy_signatures_are_written_as_cosign_writes_them_and_verify() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let host = stack.registry.host.clone();
    let (registry, digest, image) = stack.app();
    let sign = |flag: &str| stack.keyless(&["sign", &image, flag, "-a", "env=prod"]);

    let signed = sign("--legacy-format");
    assert!(signed.status.success(), "{}", stderr(&signed));
    let tag = cosign::attachment_tag(&digest, Attachment::Signature).unwrap();
    assert!(
        stderr(&signed).contains(&format!("{host}/team/app:{tag}")),
        "{}",
        stderr(&signed)
    );
    assert!(
        registry
            .find_manifest("team/app", &signet_oci::referrers::fallback_tag(&digest))
            .unwrap()
            .is_none(),
        "no bundle referrer is written in the legacy format"
    );

    // The manifest as cosign writes it: an OCI image manifest, one simple-signing layer, and a
    // configuration whose diff_ids are the layers' digests.
    let manifest = legacy_manifest(&host, "team/app", &digest, Attachment::Signature);
    assert_eq!(
        manifest["mediaType"],
        signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let annotations = &layers[0]["annotations"];
    for key in [
        "dev.cosignproject.cosign/signature",
        "dev.sigstore.cosign/certificate",
        "dev.sigstore.cosign/chain",
        "dev.sigstore.cosign/bundle",
        "dev.sigstore.cosign/rfc3161timestamp",
    ] {
        assert!(annotations[key].is_string(), "{key} in {annotations}");
    }
    let payload = blob(&host, "team/app", layers[0]["digest"].as_str().unwrap());
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        claims["critical"]["identity"]["docker-reference"],
        format!("{host}/team/app")
    );
    assert_eq!(
        claims["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );
    assert_eq!(claims["critical"]["type"], "cosign container image signature");
    assert_eq!(claims["optional"]["env"], "prod");

    // Independently of signet: openssl checks the signature, the SET and the chain, and the
    // entry body is a hashedrekord of the payload's SHA-256 with this signature and certificate.
    let (dir, body) = check_signature_layer(&stack, annotations, &payload, None);
    assert_eq!(body["kind"], "hashedrekord");
    assert_eq!(body["apiVersion"], "0.0.1");
    assert_eq!(body["spec"]["data"]["hash"]["algorithm"], "sha256");
    assert_eq!(
        body["spec"]["data"]["hash"]["value"],
        openssl_sha256(dir.path(), "signed")
    );
    assert_eq!(
        body["spec"]["signature"]["content"],
        annotations[cosign::ANNOTATION_SIGNATURE]
    );
    assert_eq!(
        body_pem(&body["spec"]["signature"]["publicKey"]["content"]).trim(),
        annotations[cosign::ANNOTATION_CERTIFICATE]
            .as_str()
            .unwrap()
            .trim()
    );

    // signet verifies it (the image has no bundle signature: the `.sig` fallback).
    let out = stack.verify("verify", &image, "builder@example.com", &["-a", "env=prod"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 1, "{claims}");
    assert_eq!(claims[0]["optional"]["Subject"], "builder@example.com");
    let out = stack.verify("verify", &image, "builder@example.com", &["-a", "env=dev"]);
    refused(&out, &["does not carry the annotation(s) env=dev"]);

    // A second signature, with cosign 3's spelling of the flag: the same tag, both layers kept.
    let again = sign("--new-bundle-format=false");
    assert!(again.status.success(), "{}", stderr(&again));
    let manifest = legacy_manifest(&host, "team/app", &digest, Attachment::Signature);
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{manifest}");
    let config: Value = serde_json::from_slice(&blob(
        &host,
        "team/app",
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let layer_digests: Vec<&Value> = layers.iter().map(|l| &l["digest"]).collect();
    let diff_ids: Vec<&Value> = config["rootfs"]["diff_ids"].as_array().unwrap().iter().collect();
    assert_eq!(diff_ids, layer_digests);
    let out = stack.verify("verify", &image, "builder@example.com", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 2, "{claims}");

    // Someone else's signatures: found, none verifies.
    let out = stack.verify("verify", &image, "someone@example.com", &[]);
    refused(&out, &["2 signatures found", "none of them verifies"]);

    // Both flags at once contradict each other.
    let out = stack.keyless(&["sign", &image, "--legacy-format", "--new-bundle-format=true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn tampered_or_incomplete_legacy_signatures_are_refused_with_the_cause() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let host = stack.registry.host.clone();
    let (registry, digest, image) = stack.app();
    let signed = stack.keyless(&["sign", &image, "--legacy-format"]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let (manifest, blobs) = sig_layers(&registry, "team/app", &digest);
    let (layer, payload) = (manifest.layers[0].clone(), blobs[0].clone());
    let digest_text = digest.to_string();
    let refused_because = |cause: &str| {
        let out = stack.verify("verify", &image, "builder@example.com", &[]);
        refused(&out, &["1 signature found", &digest_text, cause]);
    };

    // The payload changed (another annotation), the signature kept.
    let mut claims: Value = serde_json::from_slice(&payload).unwrap();
    claims["optional"] = serde_json::json!({"env": "prod"});
    let tampered = serde_json::to_vec(&claims).unwrap();
    let mut moved = layer.clone();
    moved.digest = Digest::sha256(&tampered);
    moved.size = tampered.len() as u64;
    put_sig(&registry, "team/app", &digest, moved, &tampered);
    refused_because("does not match the bundle: hashedrekord data.hash");

    // The SET does not cover the entry as the annotation gives it (another integrated time).
    let mut rekor = cosign::RekorBundle::from_json(&layer.annotations[cosign::ANNOTATION_BUNDLE]).unwrap();
    rekor.payload.integrated_time += 1;
    let mut retimed = layer.clone();
    retimed
        .annotations
        .insert(cosign::ANNOTATION_BUNDLE.into(), rekor.to_json());
    put_sig(&registry, "team/app", &digest, retimed, &payload);
    refused_because("the signed entry timestamp of the transparency log");

    // No signature annotation.
    let mut unsigned = layer.clone();
    unsigned.annotations.remove(cosign::ANNOTATION_SIGNATURE);
    put_sig(&registry, "team/app", &digest, unsigned, &payload);
    refused_because("has no dev.cosignproject.cosign/signature annotation");

    // A certificate annotation that is not PEM.
    let mut garbled = layer.clone();
    garbled
        .annotations
        .insert(cosign::ANNOTATION_CERTIFICATE.into(), "not a certificate".into());
    put_sig(&registry, "team/app", &digest, garbled, &payload);
    refused_because("dev.sigstore.cosign/certificate annotation does not decode");

    // Signing where the `.sig` tag holds an index: refused, and the tag is left as it was.
    let index = signet_oci::ImageIndex::new().to_json();
    registry
        .push_manifest(
            "team/app",
            &cosign::attachment_tag(&digest, Attachment::Signature).unwrap(),
            signet_oci::manifest::MEDIA_TYPE_IMAGE_INDEX,
            &index,
        )
        .unwrap();
    let out = stack.keyless(&["sign", &image, "--legacy-format"]);
    refused(
        &out,
        &["should be an image manifest holding cosign's .sig layers, but is an index"],
    );
    let kept = registry_get(
        &host,
        &format!(
            "team/app/manifests/{}",
            cosign::attachment_tag(&digest, Attachment::Signature).unwrap()
        ),
        signet_oci::manifest::MEDIA_TYPE_IMAGE_INDEX,
    );
    assert_eq!(kept, index);

    // The untouched layer still verifies: the refusals above were the tampering's.
    put_sig(&registry, "team/app", &digest, layer.clone(), &payload);
    let out = stack.verify("verify", &image, "builder@example.com", &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The same, valid signature copied to another image's `.sig`: it is for the first image.
    let other = push_image(&registry, "team/app", "2.0", b"layer two");
    put_sig(&registry, "team/app", &other, layer, &payload);
    let out = stack.verify(
        "verify",
        &format!("{host}/team/app:2.0"),
        "builder@example.com",
        &[],
    );
    refused(
        &out,
        &[&format!("the signature is for the image {digest}, not {other}")],
    );
}

#[test]
fn legacy_signatures_with_a_key_and_without_a_v1_log() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let host = stack.registry.host.clone();
    let (_registry, digest, image) = stack.app();
    let keys = stack.data.path();
    let key = generate_key_pair(keys, "cosign");
    let public = keys.join("cosign.pub");
    let signed = stack.keyed(&["sign", &image, "--legacy-format"], &key);
    assert!(signed.status.success(), "{}", stderr(&signed));

    let manifest = legacy_manifest(&host, "team/app", &digest, Attachment::Signature);
    let layer = &manifest["layers"][0];
    let annotations = &layer["annotations"];
    assert!(
        annotations.get(cosign::ANNOTATION_CERTIFICATE).is_none(),
        "{annotations}"
    );
    let payload = blob(&host, "team/app", layer["digest"].as_str().unwrap());
    let (_dir, body) = check_signature_layer(&stack, annotations, &payload, Some(&public));
    assert_eq!(body["kind"], "hashedrekord");
    assert_eq!(
        body_pem(&body["spec"]["signature"]["publicKey"]["content"]).trim(),
        std::fs::read_to_string(&public).unwrap().trim()
    );

    let out = signet(&[
        "verify",
        &image,
        "--trust-config",
        &stack.trust,
        "--key",
        public.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        claims[0]["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );

    // An attestation with the key, on `.att`, verified with the key.
    let predicate = keys.join("vuln.json");
    std::fs::write(&predicate, br#"{"scanner":{"result":[]}}"#).unwrap();
    let attested = stack.keyed(
        &[
            "attest",
            &image,
            "--predicate",
            predicate.to_str().unwrap(),
            "--type",
            "vuln",
            "--legacy-format",
        ],
        &key,
    );
    assert!(attested.status.success(), "{}", stderr(&attested));
    let verify_attestation = |public: &Path| {
        signet(&[
            "verify-attestation",
            &image,
            "--type",
            "vuln",
            "--trust-config",
            &stack.trust,
            "--key",
            public.to_str().unwrap(),
        ])
    };
    let out = verify_attestation(&public);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    // Another key's attestation it is not.
    generate_key_pair(keys, "other");
    let out = verify_attestation(&keys.join("other.pub"));
    refused(&out, &["1 attestation of type", "does not verify"]);

    // A signing config with no Rekor v1 log: the legacy format cannot be written, and says so.
    let (root_file, signing_file) = stack.trust_files(keys, |log| log["majorApiVersion"] != 1);
    let out = signet(&[
        "sign",
        &image,
        "--legacy-format",
        "--trusted-root",
        &root_file,
        "--signing-config",
        &signing_file,
        "--identity-token",
        &stack.token,
    ]);
    refused(
        &out,
        &[
            &format!("signing {host}/team/app@{digest}"),
            "no Rekor v1 transparency log",
        ],
    );
    let manifest = legacy_manifest(&host, "team/app", &digest, Attachment::Signature);
    assert_eq!(
        manifest["layers"].as_array().unwrap().len(),
        1,
        "nothing was pushed"
    );
}

#[test]
fn legacy_attestations_are_written_and_verified_by_type_and_subject() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let host = stack.registry.host.clone();
    let (registry, digest, image) = stack.app();
    let other = push_image(&registry, "team/app", "2.0", b"layer two");
    let sbom = stack.data.path().join("sbom.cdx.json");
    std::fs::write(
        &sbom,
        br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"left-pad","version":"1.3.0"}]}"#,
    )
    .unwrap();
    let attest = |kind: &str, flag: &str| {
        stack.keyless(&[
            "attest",
            &image,
            "--predicate",
            sbom.to_str().unwrap(),
            "--type",
            kind,
            flag,
        ])
    };
    let attested = attest("cyclonedx", "--legacy-format");
    assert!(attested.status.success(), "{}", stderr(&attested));
    let tag = cosign::attachment_tag(&digest, Attachment::Attestation).unwrap();
    assert!(
        stderr(&attested).contains(&format!("{host}/team/app:{tag}")),
        "{}",
        stderr(&attested)
    );

    // As cosign 2 writes it: the envelope as the layer, its type in the annotations, an empty
    // signature annotation, and an in-toto v0.1 statement about the repository's image.
    let manifest = legacy_manifest(&host, "team/app", &digest, Attachment::Attestation);
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dsse.envelope.v1+json");
    let annotations = &layer["annotations"];
    assert_eq!(annotations["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(annotations["dev.cosignproject.cosign/signature"], "");
    let envelope: Value =
        serde_json::from_slice(&blob(&host, "team/app", layer["digest"].as_str().unwrap())).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let statement_bytes = common::b64(envelope["payload"].as_str().unwrap());
    let statement: Value = serde_json::from_slice(&statement_bytes).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v0.1");
    assert_eq!(statement["subject"][0]["name"], format!("{host}/team/app"));
    assert_eq!(statement["subject"][0]["digest"]["sha256"], digest.hex());

    // openssl: the envelope's signature over the DSSE PAE, the SET, the chain; a dsse 0.0.1
    // entry (cosign 2's default entry type) with this signature and certificate.
    let mut pae = format!(
        "DSSEv1 {} application/vnd.in-toto+json {} ",
        "application/vnd.in-toto+json".len(),
        statement_bytes.len()
    )
    .into_bytes();
    pae.extend_from_slice(&statement_bytes);
    let dir = tempfile::tempdir().unwrap();
    let signature = common::b64(envelope["signatures"][0]["sig"].as_str().unwrap());
    let body = check_with_openssl(
        dir.path(),
        annotations,
        &pae,
        &signature,
        &stack.trusted_root(),
        None,
    );
    assert_eq!(
        (body["kind"].as_str(), body["apiVersion"].as_str()),
        (Some("dsse"), Some("0.0.1"))
    );
    let recorded = &body["spec"]["signatures"][0];
    assert_eq!(recorded["signature"], envelope["signatures"][0]["sig"]);
    assert_eq!(
        body_pem(&recorded["verifier"]).trim(),
        annotations[cosign::ANNOTATION_CERTIFICATE]
            .as_str()
            .unwrap()
            .trim()
    );
    std::fs::write(dir.path().join("statement"), &statement_bytes).unwrap();
    assert_eq!(
        body["spec"]["payloadHash"]["value"],
        openssl_sha256(dir.path(), "statement")
    );

    // signet verifies it through the `.att` fallback, and prints the envelope.
    let out = stack.verify(
        "verify-attestation",
        &image,
        "builder@example.com",
        &["--type", "cyclonedx"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let printed: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(printed["payload"], envelope["payload"]);

    // `tree` shows the `.att` with its type.
    let out = signet(&["tree", &image]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.contains(&format!(
            "{host}/team/app:{tag} (cosign's legacy format): 1 layer(s)"
        )),
        "{listing}"
    );
    assert!(
        listing.contains("application/vnd.dsse.envelope.v1+json  https://cyclonedx.org/bom"),
        "{listing}"
    );

    // Another type: none of those. Another signer: found, does not verify.
    let verify_attestation = |image: &str, identity: &str, kind: &str| {
        stack.verify("verify-attestation", image, identity, &["--type", kind])
    };
    let out = verify_attestation(&image, "builder@example.com", "spdxjson");
    refused(&out, &["no attestations of type https://spdx.dev/Document found"]);
    let out = verify_attestation(&image, "someone@example.com", "cyclonedx");
    refused(
        &out,
        &[
            "1 attestation of type https://cyclonedx.org/bom found",
            "does not verify",
        ],
    );
    // An attestation is not a signature.
    let out = stack.verify("verify", &image, "builder@example.com", &[]);
    refused(&out, &["no signatures found"]);

    // The same `.att` copied to another image's tag: its statement is about the first image.
    let copied = registry_get(
        &host,
        &format!("team/app/manifests/{tag}"),
        signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST,
    );
    registry
        .push_manifest(
            "team/app",
            &cosign::attachment_tag(&other, Attachment::Attestation).unwrap(),
            signet_oci::manifest::MEDIA_TYPE_IMAGE_MANIFEST,
            &copied,
        )
        .unwrap();
    let out = verify_attestation(
        &format!("{host}/team/app:2.0"),
        "builder@example.com",
        "cyclonedx",
    );
    refused(
        &out,
        &["does not verify", "matches no subject of the attestation"],
    );

    // A second attestation of another type joins the first on the same tag.
    let attested = attest("https://example.com/sbom/v1", "--new-bundle-format=false");
    assert!(attested.status.success(), "{}", stderr(&attested));
    let manifest = legacy_manifest(&host, "team/app", &digest, Attachment::Attestation);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 2);
    for kind in ["cyclonedx", "https://example.com/sbom/v1"] {
        let out = verify_attestation(&image, "builder@example.com", kind);
        assert!(out.status.success(), "{kind}: {}", stderr(&out));
        assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    }
}

/// A `.att` layer holding an in-toto Statement v1 (as newer tools write one) verifies too: the
/// statement is signed with `signet sign-bundle --in-toto` against the Rekor v1 log alone, and
/// the layer made from that bundle, without a chain annotation (cosign's is optional).
#[test]
fn a_legacy_attestation_of_an_in_toto_v1_statement_verifies() {
    let Some(stack) = Stack::start() else {
        return;
    };
    let host = stack.registry.host.clone();
    let (registry, digest, _) = stack.app();
    let image = format!("{host}/team/app@{digest}");

    let dir = stack.data.path();
    let statement = dir.join("statement.json");
    std::fs::write(
        &statement,
        format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"digest":{{"sha256":"{}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{{"buildDefinition":{{"buildType":"https://example.com/build/v1"}}}}}}"#,
            digest.hex()
        ),
    )
    .unwrap();
    let (root_file, signing_file) = stack.trust_files(dir, |log| log["majorApiVersion"] == 1);
    let bundle_file = dir.join("statement.sigstore.json");
    let signed = signet(&[
        "sign-bundle",
        "--in-toto",
        "--bundle",
        bundle_file.to_str().unwrap(),
        "--trusted-root",
        &root_file,
        "--signing-config",
        &signing_file,
        "--identity-token",
        &stack.token,
        statement.to_str().unwrap(),
    ]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let bundle = signet_formats::bundle::Bundle::from_json(&std::fs::read(&bundle_file).unwrap()).unwrap();
    let layer = cosign::attestation_layer(&bundle, &[]).unwrap();
    put_attachment(
        &registry,
        "team/app",
        &digest,
        Attachment::Attestation,
        layer.descriptor,
        &layer.content,
    );

    let out = stack.verify(
        "verify-attestation",
        &image,
        "builder@example.com",
        &["--type", "slsaprovenance1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verified: Value = serde_json::from_slice(&common::b64(printed["payload"].as_str().unwrap())).unwrap();
    assert_eq!(verified["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        verified["predicate"]["buildDefinition"]["buildType"],
        "https://example.com/build/v1"
    );
}

/// skopeo, when present (Debian's 1.9.3; `SIGNET_REQUIRE_INTEROP=1` makes it required).
fn skopeo() -> Option<&'static str> {
    let path = "/usr/bin/skopeo";
    if Path::new(path).exists() {
        return Some(path);
    }
    if std::env::var("SIGNET_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
        panic!("{path} is missing and SIGNET_REQUIRE_INTEROP=1 (apt-get install skopeo)");
    }
    eprintln!("skipping: {path} not found (apt-get install skopeo)");
    None
}

/// containers/image (through skopeo), an independent reader of cosign's `.sig` format, reads
/// the signature signet wrote: with `use-sigstore-attachments` it finds the `sha256-<hex>.sig`
/// tag, and copies the payload byte for byte with its annotations, over which openssl checks
/// the signature with the certificate's key; the `.sig` skopeo writes when it copies the image
/// verifies with signet. (Debian's build cannot verify sigstore signatures itself: its sigstore
/// code is stubbed out, OCI.md §4.)
#[test]
fn skopeo_reads_a_legacy_signature_signet_wrote() {
    let Some(skopeo) = skopeo() else {
        return;
    };
    let Some(stack) = Stack::start() else {
        return;
    };
    let host = stack.registry.host.clone();
    let (_registry, digest, image) = stack.app();
    let signed = stack.keyless(&["sign", &image, "--legacy-format", "-a", "env=prod"]);
    assert!(signed.status.success(), "{}", stderr(&signed));

    let dir = tempfile::tempdir().unwrap();
    let registries_d = dir.path().join("registries.d");
    std::fs::create_dir(&registries_d).unwrap();
    std::fs::write(
        registries_d.join("signet.yaml"),
        format!("docker:\n  {host}:\n    use-sigstore-attachments: true\n"),
    )
    .unwrap();
    // Plain HTTP to the loopback registry; a throwaway home; cosign's attachments on.
    let copy = |from: &str, to: &str| {
        let copied = Command::new(skopeo)
            .args([
                "--registries.d",
                registries_d.to_str().unwrap(),
                "copy",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                from,
                to,
            ])
            .env("HOME", dir.path())
            .output()
            .expect("run skopeo");
        assert!(copied.status.success(), "skopeo copy: {}", stderr(&copied));
    };
    let out_dir = dir.path().join("out");
    copy(
        &format!("docker://{image}"),
        &format!("dir:{}", out_dir.display()),
    );

    // c/image's own serialisation of a sigstore signature: a NUL, its format name, then JSON.
    let written = std::fs::read(out_dir.join("signature-1")).expect("skopeo wrote the signature");
    let json = written
        .strip_prefix(b"\0sigstore-json\n")
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&written)));
    let signature: Value = serde_json::from_slice(json).unwrap();
    assert_eq!(
        signature["mimeType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let payload = common::b64(signature["payload"].as_str().unwrap());
    let manifest = legacy_manifest(&host, "team/app", &digest, Attachment::Signature);
    let layer = &manifest["layers"][0];
    assert_eq!(
        payload,
        blob(&host, "team/app", layer["digest"].as_str().unwrap()),
        "the payload, byte for byte"
    );
    let annotations = &signature["annotations"];
    assert_eq!(*annotations, layer["annotations"], "the annotations, all of them");
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        claims["critical"]["image"]["docker-manifest-digest"],
        digest.to_string()
    );
    assert_eq!(claims["optional"]["env"], "prod");

    check_signature_layer(&stack, annotations, &payload, None);

    // And back: skopeo copies the image with its signature to another repository, writing a
    // `.sig` of its own making (its own configuration, the same layer), which signet verifies.
    copy(
        &format!("docker://{image}"),
        &format!("docker://{host}/team/copy:1.0"),
    );
    let theirs = legacy_manifest(&host, "team/copy", &digest, Attachment::Signature);
    assert_ne!(theirs["config"], manifest["config"], "c/image wrote its own");
    assert_eq!(theirs["layers"][0]["digest"], layer["digest"]);
    let out = stack.verify(
        "verify",
        &format!("{host}/team/copy:1.0"),
        "builder@example.com",
        &["-a", "env=prod"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}
