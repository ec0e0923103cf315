//! `read_identity` on real Fulcio leaves: the certificates inside the sigstore-conformance
//! bundles (public-good Fulcio and a few test instances). The vectors are read at test time
//! from `$SIGNET_VECTORS` or `../shared/vectors` beside the workspace; absent, the test skips.

use std::path::PathBuf;

use base64::Engine;
use signet_x509::{read_identity, SubjectAlternativeName};

fn vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    let dir = dir.join("sigstore-conformance/bundle-verify");
    dir.is_dir().then_some(dir)
}

/// The leaf of each bundle that has one, as (bundle name, DER).
fn leaves(dir: &PathBuf) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(text) = std::fs::read_to_string(entry.path().join("bundle.sigstore.json")) else {
            continue;
        };
        let Ok(bundle) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let material = &bundle["verificationMaterial"];
        let raw = material["certificate"]["rawBytes"]
            .as_str()
            .or_else(|| material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str());
        if let Some(raw) = raw {
            let der = base64::engine::general_purpose::STANDARD.decode(raw).unwrap();
            out.push((entry.file_name().to_string_lossy().into_owned(), der));
        }
    }
    out
}

fn public_good(der: &[u8]) -> bool {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der).unwrap();
    cert.tbs_certificate
        .issuer
        .to_string()
        .contains("CN=sigstore-intermediate")
}

#[test]
fn read_identity_reads_every_conformance_leaf() {
    let Some(dir) = vectors() else {
        println!("skipping: no sigstore-conformance vectors (set SIGNET_VECTORS)");
        return;
    };
    let leaves = leaves(&dir);
    assert!(
        leaves.len() > 50,
        "expected the conformance bundles, found {}",
        leaves.len()
    );
    let mut github = 0;
    for (name, der) in &leaves {
        let identity = read_identity(der).unwrap_or_else(|e| panic!("{name}: {e}"));
        let issuer = identity.extensions.issuer.as_deref();
        assert!(issuer.is_some(), "{name}: no issuer extension");
        if let SubjectAlternativeName::Uri(uri) = &identity.san {
            // Only the public-good instance writes the full set; test instances write less.
            if issuer == Some("https://token.actions.githubusercontent.com") && public_good(der) {
                github += 1;
                let e = &identity.extensions;
                // The build signer is the workflow the SAN names; the deprecated .1.5 repository
                // is the path of the .1.12 source repository URI.
                assert_eq!(e.build_signer_uri.as_deref(), Some(uri.as_str()), "{name}");
                let repo = e.github_workflow_repository.as_deref().unwrap();
                assert_eq!(
                    e.source_repository_uri.as_deref(),
                    Some(format!("https://github.com/{repo}").as_str()),
                    "{name}"
                );
                assert_eq!(e.github_workflow_sha, e.source_repository_digest, "{name}");
                assert_eq!(e.github_workflow_ref, e.source_repository_ref, "{name}");
                assert_eq!(e.runner_environment.as_deref(), Some("github-hosted"), "{name}");
            }
        }
    }
    assert!(github > 40, "only {github} GitHub workflow leaves read");
}

#[test]
fn read_identity_reads_an_email_leaf() {
    let Some(dir) = vectors() else {
        println!("skipping: no sigstore-conformance vectors (set SIGNET_VECTORS)");
        return;
    };
    let emails: Vec<_> = leaves(&dir)
        .into_iter()
        .filter_map(|(_, der)| match read_identity(&der).unwrap().san {
            SubjectAlternativeName::Email(e) => Some(e),
            _ => None,
        })
        .collect();
    assert!(emails.iter().any(|e| e == "a@tny.town"), "{emails:?}");
}
