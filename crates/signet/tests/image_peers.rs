//! Container-image signatures traded with independent peers, on a real registry (Debian's
//! docker-registry, which has no referrers API, so every referrer is listed through the
//! `sha256-<hex>` fallback index) and a real `signet server --dev-oidc`:
//!
//! - **peers sign, signet verifies**: sigstore-js (`@sigstore/sign`) signs cosign 3's image
//!   statement (in-toto v1, predicate type `https://sigstore.dev/cosign/sign/v1`, the subject
//!   the image's digest alone), logged on Rekor v2 (a `dsse` 0.0.2 entry) and on Rekor v1 (a
//!   `dsse` 0.0.1 entry, as cosign 3 logs on the public-good instance), and sigstore-python
//!   signs an SBOM attestation about the image (a `hashedrekord` 0.0.2 entry over the PAE);
//!   `@sigstore/oci`'s `attachArtifactToImage` attaches each bundle as cosign 3 does (a
//!   referrer, and the fallback index updated by `@sigstore/oci` itself); `signet verify` and
//!   `signet verify-attestation` accept them for their signer and refuse another signer, and
//!   `signet sign` adds its own signature to the index the peer wrote.
//! - **signet signs, peers verify**: `signet sign` (on Rekor v2 and on Rekor v1) and `signet
//!   attest` push referrers; skopeo (Debian's, an independent registry client) lists them from
//!   the fallback index and copies each to a `dir:` layout byte for byte; sigstore-python and
//!   sigstore-js's `@sigstore/verify` verify the bundle against the image's digest, and refuse
//!   it for another identity or another image. (sigstore-python refused the Rekor v1 one until
//!   signet's Rekor v1 log stored verifiers in Rekor's canonical PEM: see
//!   `signet_formats::rekor_v1::proposed`.)
//!
//! sigstore-python's CLI (`sigstore verify identity --bundle B sha256:<digest>`) refuses
//! cosign 3's image signatures, signet's or cosign's alike: its in-toto model requires a
//! subject `name`, which the in-toto v1.1 statement spec leaves optional and cosign 3's
//! `signDigestBundle` leaves out. Its library's `Verifier.verify_dsse` makes every Sigstore
//! check without parsing the statement, so the test uses it and checks the statement's subject
//! itself. For the same reason sigstore-python signs the attestation (whose subject cosign
//! names by repository) and sigstore-js the signature.
//!
//! The peers: node and the sigstore-js packages in `$SIGNET_JS_INTEROP`, sigstore-python 4
//! (`$SIGNET_SIGSTORE_PYTHON`), `/usr/bin/skopeo`; `.ci/run` installs them. Without one the
//! tests print one skip line, and fail under `SIGNET_REQUIRE_INTEROP=1`.

mod common;
mod image_tools;

use std::path::{Path, PathBuf};
use std::process::Output;

use image_tools::{assert_ok, run_node, s, text, Need, Stack};
use serde_json::{json, Value};
use signet_oci::Digest;

const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
const CYCLONEDX: &str = "https://cyclonedx.org/bom";
const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// sigstore-python's library signing an in-toto statement into a DSSE bundle with the services
/// of a ClientTrustConfig: TRUST TOKEN STATEMENT OUT.
const PYTHON_SIGN_DSSE: &str = r#"
import sys
from pathlib import Path
from sigstore.dsse import Statement
from sigstore.models import ClientTrustConfig
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext

trust, token, statement, out = sys.argv[1:5]
context = SigningContext.from_trust_config(ClientTrustConfig.from_json(Path(trust).read_text()))
with context.signer(IdentityToken(token)) as signer:
    bundle = signer.sign_dsse(Statement(Path(statement).read_bytes()))
Path(out).write_text(bundle.to_json())
print("OK")
"#;

/// sigstore-python's library verifying a DSSE bundle about an image: TRUST BUNDLE IDENTITY
/// ISSUER IMAGE_DIGEST PREDICATE_TYPE. `verify_dsse` checks the envelope's signature, the
/// certificate chain, the SCT, the log entry and the identity; the statement is then checked
/// here: in-toto v1, of the predicate type, with the image's digest among its subjects.
const PYTHON_VERIFY_IMAGE: &str = r#"
import json, sys
from pathlib import Path
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier, policy

trust, bundle, identity, issuer, digest, predicate_type = sys.argv[1:7]
try:
    verifier = Verifier(trusted_root=ClientTrustConfig.from_json(Path(trust).read_text()).trusted_root)
    payload_type, payload = verifier.verify_dsse(
        Bundle.from_json(Path(bundle).read_bytes()), policy.Identity(identity=identity, issuer=issuer)
    )
    statement = json.loads(payload)
    algorithm, hex_digest = digest.split(":", 1)
    if payload_type != "application/vnd.in-toto+json":
        raise ValueError(f"payload type {payload_type}")
    if statement["_type"] != "https://in-toto.io/Statement/v1":
        raise ValueError(f"statement type {statement['_type']}")
    if statement["predicateType"] != predicate_type:
        raise ValueError(f"predicate type {statement['predicateType']}")
    if not any(s.get("digest", {}).get(algorithm) == hex_digest for s in statement["subject"]):
        raise ValueError(f"no subject with {digest}: {statement['subject']}")
except Exception as e:
    print(f"FAILED: {type(e).__name__}: {e}")
    sys.exit(1)
print("OK")
"#;

fn run_python(stack: &Stack, python: &Path, script: &str, args: &[&str]) -> Output {
    image_tools::clean(python, &stack.work)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python")
}

fn assert_peer_accepts(out: &Output, what: &str) {
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "OK",
        "{what}: {}",
        text(out)
    );
}

fn assert_peer_refuses(out: &Output, why: &str, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && stdout.starts_with("FAILED") && stdout.contains(why),
        "{what} (expected a refusal saying {why:?}): {}",
        text(out)
    );
}

/// An in-toto v1 statement about `digest`, as cosign 3 writes one: `name` is the subject's
/// name where cosign gives one (attestations), none for signatures.
fn statement(digest: &Digest, name: Option<&str>, predicate_type: &str, predicate: Value) -> Value {
    let mut subject = json!({ "digest": { "sha256": digest.hex() } });
    if let Some(name) = name {
        subject["name"] = name.into();
    }
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [subject],
        "predicateType": predicate_type,
        "predicate": predicate,
    })
}

/// A CycloneDX SBOM naming `component`.
fn sbom(component: &str) -> Value {
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{ "type": "library", "name": component, "version": "1.0.0" }],
    })
}

/// `@sigstore/oci` attaches `bundle` to `repository@digest`; the referrer's digest.
fn attach(
    stack: &Stack,
    js: &Path,
    repository: &str,
    digest: &Digest,
    bundle: &Path,
    predicate_type: &str,
) -> String {
    let out = run_node(
        js,
        "sigstore_oci_attach.cjs",
        &[
            &format!("{}/{repository}", stack.host()),
            &digest.to_string(),
            s(bundle),
            predicate_type,
        ],
        &[],
    );
    assert_ok(&out, "@sigstore/oci attachArtifactToImage");
    let referrer = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(referrer.starts_with("sha256:"), "a referrer digest: {referrer}");
    referrer
}

/// The kind and version of the log entry in the bundle at `path`.
fn entry_kind(path: &Path) -> Value {
    let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    bundle["verificationMaterial"]["tlogEntries"][0]["kindVersion"].clone()
}

/// The fallback index's entry for `referrer`.
fn listed<'i>(index: &'i Value, referrer: &str) -> &'i Value {
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["digest"] == referrer)
        .unwrap_or_else(|| panic!("{referrer} is not in the fallback index: {index}"))
}

#[test]
fn peers_sign_and_attach_an_image_and_signet_verifies_it() {
    let mut need = Need::new("sigstore-js and sigstore-python signing an image for signet");
    need.tool(image_tools::docker_registry());
    let skopeo = need.tool(image_tools::skopeo());
    let js = need.tool(image_tools::js_prefix(&[
        "@sigstore/sign",
        "@sigstore/oci",
        "@sigstore/bundle",
        "@sigstore/protobuf-specs",
    ]));
    let python = need.tool(image_tools::sigstore_python());
    if !need.met() {
        return;
    }
    let (skopeo, js, python) = (skopeo.unwrap(), js.unwrap(), python.unwrap());
    let stack = Stack::start();
    let digest = stack.push_image("team/app", "1.0", b"the app's one layer");
    let repository = format!("{}/team/app", stack.host());
    let pinned = format!("{repository}@{digest}");
    let trust = stack.trust_config();
    let issuer = stack.issuer();
    let peer = "js-peer@example.com";

    // sigstore-js signs cosign 3's image statement, once logged on Rekor v2 (signet's default
    // log) and once on Rekor v1 (a dsse entry, as cosign 3 logs on the public-good instance);
    // @sigstore/oci attaches each.
    let statement_file = stack.file(
        "signature.intoto.json",
        statement(&digest, None, COSIGN_SIGN, json!({}))
            .to_string()
            .as_bytes(),
    );
    let mut referrers = Vec::new();
    for (log, trust, entry) in [
        (
            "rekor-v2",
            trust.clone(),
            json!({ "kind": "dsse", "version": "0.0.2" }),
        ),
        (
            "rekor-v1",
            stack.rekor_v1_trust_config(),
            json!({ "kind": "dsse", "version": "0.0.1" }),
        ),
    ] {
        let signature = stack.path(&format!("js-{log}.sigstore.json"));
        let out = run_node(
            &js,
            "sigstore_js_sign_dsse.cjs",
            &[s(&trust), s(&statement_file), s(&signature)],
            &[("SIGSTORE_ID_TOKEN", &stack.email_token(peer))],
        );
        assert_peer_accepts(&out, &format!("sigstore-js signing the image statement on {log}"));
        assert_eq!(entry_kind(&signature), entry, "{log}");
        referrers.push(attach(&stack, &js, "team/app", &digest, &signature, COSIGN_SIGN));
    }
    let index = stack.fallback_index(&skopeo, "team/app", &digest);
    for referrer in &referrers {
        let entry = listed(&index, referrer);
        assert_eq!(entry["artifactType"], BUNDLE_MEDIA_TYPE, "{index}");
        assert_eq!(
            entry["annotations"]["dev.sigstore.bundle.predicateType"], COSIGN_SIGN,
            "{index}"
        );
    }

    let verify = |image: &str, identity: &str| {
        stack.signet(&[
            "verify",
            image,
            "--trust-config",
            s(&trust),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            &issuer,
        ])
    };
    let claims_of = |out: &Output| -> Vec<Value> {
        assert_ok(out, "signet verify");
        serde_json::from_slice::<Value>(&out.stdout)
            .expect("claims JSON on stdout")
            .as_array()
            .expect("an array of claims")
            .clone()
    };
    for image in [pinned.clone(), format!("{repository}:1.0")] {
        let out = verify(&image, peer);
        let claims = claims_of(&out);
        assert_eq!(claims.len(), 2, "one per log: {claims:?}");
        for claim in &claims {
            assert_eq!(
                claim["critical"]["image"]["docker-manifest-digest"],
                digest.to_string()
            );
            assert_eq!(claim["critical"]["identity"]["docker-reference"], repository);
            assert_eq!(claim["critical"]["type"], "cosign container image signature");
            assert_eq!(claim["optional"]["Subject"], peer);
            assert_eq!(claim["optional"]["Issuer"], issuer);
        }
        let checks = String::from_utf8_lossy(&out.stderr);
        assert!(
            checks.contains("verified using trusted certificate authority certificates"),
            "{checks}"
        );
    }
    // Another signer's policy: the signatures are found, and refused.
    let out = verify(&pinned, "someone-else@example.com");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("2 signatures found"), "{message}");
    assert!(
        message.contains(peer),
        "the signer the certificate names: {message}"
    );

    // sigstore-python attests an SBOM about the image (cosign attest names the subject by
    // repository); @sigstore/oci attaches it beside the signature.
    let attestation = stack.path("python.sigstore.json");
    let statement_file = stack.file(
        "sbom.intoto.json",
        statement(&digest, Some(&repository), CYCLONEDX, sbom("left-pad"))
            .to_string()
            .as_bytes(),
    );
    let out = run_python(
        &stack,
        &python,
        PYTHON_SIGN_DSSE,
        &[
            s(&trust),
            &stack.email_token(peer),
            s(&statement_file),
            s(&attestation),
        ],
    );
    assert_peer_accepts(&out, "sigstore-python signing the SBOM statement");
    // sigstore-python logs a DSSE envelope on Rekor v2 as a hashedrekord over its PAE.
    assert_eq!(
        entry_kind(&attestation),
        json!({ "kind": "hashedrekord", "version": "0.0.2" })
    );
    attach(&stack, &js, "team/app", &digest, &attestation, CYCLONEDX);

    let verify_attestation = |identity: &str| {
        stack.signet(&[
            "verify-attestation",
            &pinned,
            "--type",
            "cyclonedx",
            "--trust-config",
            s(&trust),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            &issuer,
        ])
    };
    let out = verify_attestation(peer);
    assert_ok(&out, "signet verify-attestation");
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one envelope: {stdout}");
    let envelope: Value = serde_json::from_str(stdout.trim()).unwrap();
    let statement: Value =
        serde_json::from_slice(&common::b64(envelope["payload"].as_str().unwrap())).unwrap();
    assert_eq!(statement["predicateType"], CYCLONEDX);
    assert_eq!(statement["subject"][0]["digest"]["sha256"], digest.hex());
    assert_eq!(statement["predicate"]["components"][0]["name"], "left-pad");
    let out = verify_attestation("someone-else@example.com");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // The attestation is not a signature: still two signatures.
    assert_eq!(claims_of(&verify(&pinned, peer)).len(), 2);

    // signet signs the same image: its referrer joins the index @sigstore/oci wrote, and each
    // signer's signature verifies for that signer.
    let out = stack.signet(&[
        "sign",
        &pinned,
        "--trust-config",
        s(&trust),
        "--identity-token",
        &stack.email_token("builder@example.com"),
    ]);
    assert_ok(&out, "signet sign");
    let index = stack.fallback_index(&skopeo, "team/app", &digest);
    assert_eq!(index["manifests"].as_array().unwrap().len(), 4, "{index}");
    for referrer in &referrers {
        listed(&index, referrer);
    }
    for (signer, count) in [(peer, 2), ("builder@example.com", 1)] {
        let claims = claims_of(&verify(&pinned, signer));
        assert_eq!(claims.len(), count, "{claims:?}");
        assert!(
            claims.iter().all(|c| c["optional"]["Subject"] == signer),
            "{claims:?}"
        );
    }
}

#[test]
fn signet_signs_and_attests_an_image_and_peers_verify_it() {
    let mut need = Need::new("sigstore-python and sigstore-js verifying signet's image signatures");
    need.tool(image_tools::docker_registry());
    let skopeo = need.tool(image_tools::skopeo());
    let js = need.tool(image_tools::js_prefix(&[
        "@sigstore/verify",
        "@sigstore/bundle",
        "@sigstore/protobuf-specs",
    ]));
    let python = need.tool(image_tools::sigstore_python());
    if !need.met() {
        return;
    }
    let (skopeo, js, python) = (skopeo.unwrap(), js.unwrap(), python.unwrap());
    let stack = Stack::start();
    let digest = stack.push_image("team/app", "1.0", b"the app's one layer");
    let other = stack.push_image("team/app", "2.0", b"another image");
    let image = format!("{}/team/app:1.0", stack.host());
    let trust = stack.trust_config();
    let issuer = stack.issuer();
    let signer = "builder@example.com";
    let token = stack.email_token(signer);

    // A signature on each log (Rekor v2, signet's default, and Rekor v1, as cosign 3 logs on
    // the public-good instance), and an SBOM attestation.
    for log_trust in [trust.clone(), stack.rekor_v1_trust_config()] {
        let out = stack.signet(&[
            "sign",
            &image,
            "--trust-config",
            s(&log_trust),
            "--identity-token",
            &token,
        ]);
        assert_ok(&out, "signet sign");
    }
    let predicate = stack.file("sbom.cdx.json", sbom("left-pad").to_string().as_bytes());
    let out = stack.signet(&[
        "attest",
        &image,
        "--predicate",
        s(&predicate),
        "--type",
        "cyclonedx",
        "--trust-config",
        s(&trust),
        "--identity-token",
        &token,
    ]);
    assert_ok(&out, "signet attest");

    // skopeo lists the referrers from the fallback index signet wrote.
    let index = stack.fallback_index(&skopeo, "team/app", &digest);
    let manifests = index["manifests"].as_array().expect("manifests");
    assert_eq!(manifests.len(), 3, "{index}");
    let mut entries = Vec::new();
    for entry in manifests {
        let predicate_type = entry["annotations"]["dev.sigstore.bundle.predicateType"]
            .as_str()
            .unwrap_or_else(|| panic!("the predicate type annotation: {entry}"));
        assert_eq!(entry["artifactType"], BUNDLE_MEDIA_TYPE, "{entry}");
        let referrer = entry["digest"].as_str().unwrap();
        let bundle = copy_referrer(&stack, &skopeo, referrer, &digest);
        entries.push((predicate_type.to_string(), entry_kind(&bundle).to_string()));

        let python_verify = |identity: &str, subject: &Digest| {
            run_python(
                &stack,
                &python,
                PYTHON_VERIFY_IMAGE,
                &[
                    s(&trust),
                    s(&bundle),
                    identity,
                    &issuer,
                    &subject.to_string(),
                    predicate_type,
                ],
            )
        };
        let js_verify = |identity: &str, subject: &Digest| {
            run_node(
                &js,
                "sigstore_js_verify_image.cjs",
                &[
                    s(&stack.trusted_root()),
                    s(&bundle),
                    identity,
                    &issuer,
                    &subject.to_string(),
                    predicate_type,
                ],
                &[],
            )
        };
        let what = |peer: &str| format!("{peer} on signet's {predicate_type} referrer");
        assert_peer_accepts(&python_verify(signer, &digest), &what("sigstore-python"));
        assert_peer_refuses(
            &python_verify("someone-else@example.com", &digest),
            "SANs do not match",
            &format!("{}, another identity", what("sigstore-python")),
        );
        assert_peer_refuses(
            &python_verify(signer, &other),
            "no subject with",
            &format!("{}, another image", what("sigstore-python")),
        );
        assert_peer_accepts(&js_verify(signer, &digest), &what("sigstore-js"));
        assert_peer_refuses(
            &js_verify("someone-else@example.com", &digest),
            "certificate identity error",
            &format!("{}, another identity", what("sigstore-js")),
        );
        assert_peer_refuses(
            &js_verify(signer, &other),
            "no subject with",
            &format!("{}, another image", what("sigstore-js")),
        );
    }
    // Each way a signet bundle is logged: a signature on Rekor v2 (hashedrekord over the
    // PAE) and on Rekor v1 (dsse 0.0.1, its verifier stored as Rekor stores it, which
    // sigstore-python compares), and the attestation.
    entries.sort();
    let kind = |kind: &str, version: &str| json!({ "kind": kind, "version": version }).to_string();
    assert_eq!(
        entries,
        [
            (CYCLONEDX.to_string(), kind("hashedrekord", "0.0.2")),
            (COSIGN_SIGN.to_string(), kind("dsse", "0.0.1")),
            (COSIGN_SIGN.to_string(), kind("hashedrekord", "0.0.2")),
        ]
    );
}

/// skopeo copies the referrer `referrer` to a `dir:` layout; the path of its bundle layer. The
/// copy is byte for byte (the manifest's digest is the referrer's), and the manifest is a
/// cosign 3 referrer of the image `subject`.
fn copy_referrer(stack: &Stack, skopeo: &Path, referrer: &str, subject: &Digest) -> PathBuf {
    let out_dir = stack.path(&referrer.replace(':', "-"));
    let out = stack.skopeo(
        skopeo,
        &[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{}/team/app@{referrer}", stack.host()),
            &format!("dir:{}", s(&out_dir)),
        ],
    );
    assert_ok(&out, "skopeo copy of a referrer");
    let manifest_bytes = std::fs::read(out_dir.join("manifest.json")).unwrap();
    assert_eq!(
        Digest::sha256(&manifest_bytes).to_string(),
        referrer,
        "copied byte for byte"
    );
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    assert_eq!(manifest["subject"]["digest"], subject.to_string(), "{manifest}");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    assert_eq!(layers[0]["mediaType"], BUNDLE_MEDIA_TYPE);
    let layer = layers[0]["digest"].as_str().unwrap();
    out_dir.join(layer.strip_prefix("sha256:").unwrap())
}
