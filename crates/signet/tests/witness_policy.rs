//! `--witness-policy`: a bundle is valid only when its checkpoint carries the cosignatures the
//! policy's quorum asks for. The bundle comes from a real `signet server`; the cosignatures are
//! added to its checkpoint as a witness (C2SP tlog-cosignature `cosignature/v1`, Ed25519) would
//! have made them, which leaves the log's own signature valid.

mod common;

use std::path::Path;
use std::process::Command;

use common::{dev_token, Server};
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::{CosignatureSigner, Note};

fn signet(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .current_dir(dir)
        .env_remove("SIGNET_TRUST_CONFIG")
        .output()
        .unwrap()
}

fn witness(name: &str) -> CosignatureSigner {
    CosignatureSigner::new(name, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap()
}

/// The bundle with cosignatures by `witnesses` added to its checkpoint.
fn cosigned(bundle: &serde_json::Value, witnesses: &[&CosignatureSigner]) -> serde_json::Value {
    let mut bundle = bundle.clone();
    let envelope = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
        ["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let mut note = Note::parse(&envelope).unwrap();
    let text = note.text().to_string();
    for w in witnesses {
        note.add_signature(w.cosign(&text, 1_800_000_000).unwrap())
            .unwrap();
    }
    bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
        serde_json::Value::String(note.to_envelope());
    bundle
}

#[test]
fn a_witness_policy_requires_its_quorum_of_cosignatures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start_with(&dir.join("data"), &["--dev-oidc"]);
    let token = dev_token(&server.url, "alice@example.com");
    std::fs::write(dir.join("a.txt"), "witnessed").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args([
            "sign-blob",
            "a.txt",
            "--bundle",
            "a.json",
            "--trust-config",
            "data/trust_config.json",
        ])
        .current_dir(dir)
        .env("SIGSTORE_ID_TOKEN", &token)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("a.json")).unwrap()).unwrap();

    let (w1, w2, w3) = (
        witness("w1.example/witness"),
        witness("w2.example/witness"),
        witness("w3.example/witness"),
    );
    let policy = format!(
        "# two of three witnesses\nwitness one {}\nwitness two {}\nwitness three {}\ngroup majority 2 one two three\nquorum majority\n",
        w1.verifier().vkey(),
        w2.verifier().vkey(),
        w3.verifier().vkey()
    );
    std::fs::write(dir.join("policy.txt"), policy).unwrap();
    let issuer = format!("{}/oidc", server.url);
    let verify = |bundle: &serde_json::Value, policy: Option<&str>| {
        std::fs::write(dir.join("b.json"), serde_json::to_vec(bundle).unwrap()).unwrap();
        let mut args = vec![
            "verify-blob",
            "a.txt",
            "--bundle",
            "b.json",
            "--trust-config",
            "data/trust_config.json",
            "--certificate-identity",
            "alice@example.com",
            "--certificate-oidc-issuer",
            &issuer,
        ];
        if let Some(p) = policy {
            args.extend_from_slice(&["--witness-policy", p]);
        }
        signet(&args, dir)
    };

    // Without a policy nothing changes.
    assert!(verify(&bundle, None).status.success());
    // With it, an uncosigned checkpoint fails, and says why.
    let out = verify(&bundle, Some("policy.txt"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not cosigned as the witness policy requires"),
        "{err}"
    );
    assert!(err.contains("majority (2 of 3)"), "{err}");
    // One of three: still short.
    assert!(!verify(&cosigned(&bundle, &[&w1]), Some("policy.txt"))
        .status
        .success());
    // Two of three: the quorum.
    let out = verify(&cosigned(&bundle, &[&w1, &w3]), Some("policy.txt"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A witness the policy does not name counts for nothing.
    let stranger = witness("stranger.example/witness");
    assert!(!verify(&cosigned(&bundle, &[&w1, &stranger]), Some("policy.txt"))
        .status
        .success());

    // A policy that does not parse is a one-line error naming the file and line.
    std::fs::write(dir.join("bad.txt"), "witness one not-a-key\nquorum one\n").unwrap();
    let out = verify(&bundle, Some("bad.txt"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.txt") && err.contains("line 1"), "{err}");
}
