//! The certificate authority end to end against a real `signet server --dev-oidc`: tokens from
//! the development provider, both request forms real clients send, the issued certificate
//! checked field by field (by signet's parsers and by openssl), its embedded SCT verified
//! against the CT log key in trusted_root.json, every rejection a 400 with nothing logged,
//! and the certificate accepted by the transparency log as a signature's verifier.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{get, post, Server};
use serde_json::{json, Value};
use signet_crypto::{sha256, KeyKind, SigningKey};
use signet_formats::trust::TrustedRoot;
use signet_x509::sct::{verify_embedded_scts, CtLogKey};
use signet_x509::{ParsedCertificate, SubjectAlternativeName};

fn mint(server: &Server, issuer_path: &str, body: Value) -> String {
    let reply = post(
        &format!("{}/oidc{issuer_path}/dev/token", server.url),
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["id_token"].as_str().expect("id_token").to_string()
}

fn email_token(server: &Server, email: &str) -> String {
    mint(server, "", json!({ "email": email }))
}

/// `POST /api/v2/signingCert` in the form sigstore-js sends: token and proof in the body.
fn request_with_proof(server: &Server, token: &str, key: &SigningKey, challenge: &str) -> common::Reply {
    let body = json!({
        "credentials": { "oidcIdentityToken": token },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": key.public_key().to_pem() },
            "proofOfPossession": B64.encode(key.sign(challenge.as_bytes()).unwrap()),
        }
    });
    post(
        &format!("{}/api/v2/signingCert", server.url),
        body.to_string().as_bytes(),
    )
}

fn pem_chain(reply: &common::Reply) -> Vec<Vec<u8>> {
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    let certs = reply.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .expect("chain.certificates")
        .clone();
    certs
        .iter()
        .map(|c| pem::parse(c.as_str().unwrap()).expect("PEM").into_contents())
        .collect()
}

fn trusted_root(server: &Server) -> TrustedRoot {
    TrustedRoot::from_json(&std::fs::read(server.dir.join("trusted_root.json")).unwrap()).unwrap()
}

fn ct_size(server: &Server) -> u64 {
    get(&format!("{}/ct/ct/v1/get-sth", server.url)).json()["tree_size"]
        .as_u64()
        .expect("tree_size")
}

fn ct_keys(root: &TrustedRoot) -> Vec<CtLogKey> {
    root.ctlogs
        .iter()
        .map(|l| {
            CtLogKey::new(
                signet_crypto::PublicKey::from_spki_der(l.public_key.raw_bytes.as_deref().unwrap()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn email_identity_certificate_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--dev-oidc"]);
    let token = email_token(&server, "alice@example.com");
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let before = ct_size(&server);
    let chain = pem_chain(&request_with_proof(&server, &token, &key, "alice@example.com"));
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    assert_eq!(ct_size(&server), before + 1, "one precertificate logged");

    // The chain is the one trusted_root.json lists, and each certificate issues the next.
    let root = trusted_root(&server);
    let ca = &root.certificate_authorities[0];
    let listed: Vec<&Vec<u8>> = ca.cert_chain.certificates.iter().map(|c| &c.raw_bytes).collect();
    assert_eq!(listed, vec![&chain[1], &chain[2]]);
    let parsed: Vec<ParsedCertificate> = chain
        .iter()
        .map(|c| ParsedCertificate::from_der(c).unwrap())
        .collect();
    parsed[0].verify_issued_by(&parsed[1]).unwrap();
    parsed[1].verify_issued_by(&parsed[2]).unwrap();

    // Leaf: the key asked for, the identity from the token, ten minutes.
    let leaf = &parsed[0];
    assert_eq!(&leaf.public_key().unwrap(), key.public_key());
    let (not_before, not_after) = leaf.validity();
    assert_eq!(not_after - not_before, 600);
    let identity = signet_x509::fulcio::read_identity(&chain[0]).unwrap();
    assert_eq!(
        identity.san,
        SubjectAlternativeName::Email("alice@example.com".into())
    );
    assert_eq!(
        identity.extensions.issuer.as_deref(),
        Some(format!("{}/oidc", server.url).as_str())
    );
    assert!(leaf.cert.tbs_certificate.subject.0.is_empty(), "empty subject");
    let (eku_critical, eku) = leaf.extended_key_usage().expect("EKU");
    assert!(!eku_critical);
    assert_eq!(
        eku,
        vec![der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3")]
    );
    let exts = leaf.cert.tbs_certificate.extensions.as_ref().unwrap();
    assert_eq!(
        exts.last().unwrap().extn_id.to_string(),
        "1.3.6.1.4.1.11129.2.4.2",
        "the SCT list is the last extension"
    );

    // The embedded SCT verifies against the CT key clients are told to trust.
    let issuer_spki = der::Encode::to_der(&parsed[1].cert.tbs_certificate.subject_public_key_info).unwrap();
    let verified = verify_embedded_scts(&chain[0], &issuer_spki, &ct_keys(&root)).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].log_id.to_vec(), root.ctlogs[0].log_id.key_id);

    // An independent parser agrees.
    if let Some(text) = openssl_text(&chain[0]) {
        assert!(text.contains("Code Signing"), "{text}");
        assert!(text.contains("email:alice@example.com"), "{text}");
        assert!(
            text.contains("CT Precertificate SCTs") || text.contains("1.3.6.1.4.1.11129.2.4.2"),
            "{text}"
        );
        assert!(
            text.contains("X509v3 Subject Alternative Name: critical"),
            "{text}"
        );
    }

    // The chain of evidence: a signature made with the certified key is accepted by the
    // transparency log with the certificate as its verifier.
    let artifact = b"signed with a signet certificate";
    let request = json!({ "hashedRekordRequestV002": {
        "digest": B64.encode(sha256(artifact)),
        "signature": {
            "content": B64.encode(key.sign(artifact).unwrap()),
            "verifier": { "x509Certificate": { "rawBytes": B64.encode(&chain[0]) }, "keyDetails": "PKIX_ECDSA_P256_SHA_256" }
        }
    }});
    let reply = post(
        &format!("{}/api/v2/log/entries", server.log_url()),
        request.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
}

fn openssl_text(der: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leaf.der");
    std::fs::write(&path, der).unwrap();
    match std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
    {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => panic!(
            "openssl rejected the certificate: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => {
            eprintln!("skip: openssl not installed; the independent parse of the leaf is skipped");
            None
        }
    }
}

#[test]
fn csr_with_bearer_token_as_sigstore_python_sends() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--dev-oidc"]);
    let token = email_token(&server, "bob@example.com");
    let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let csr = rcgen::CertificateParams::default()
        .serialize_request(&key_pair)
        .unwrap()
        .pem()
        .unwrap();
    let body = json!({ "certificateSigningRequest": B64.encode(csr.as_bytes()) });
    let reply = common::agent()
        .post(&format!("{}/api/v2/signingCert", server.url))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .send_bytes(body.to_string().as_bytes());
    let chain = pem_chain(&common::reply(reply));
    let leaf = ParsedCertificate::from_der(&chain[0]).unwrap();
    assert_eq!(
        leaf.public_key().unwrap().spki_der(),
        &pem::parse(key_pair.public_key_pem()).unwrap().into_contents()[..]
    );
    let identity = signet_x509::fulcio::read_identity(&chain[0]).unwrap();
    assert_eq!(identity.san.value(), "bob@example.com");
}

#[test]
fn github_workflow_identity() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--dev-oidc"]);
    let token = mint(
        &server,
        "/github",
        json!({ "repository": "octo/widgets", "ref": "refs/tags/v1.2.3", "workflow": ".github/workflows/release.yml" }),
    );
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let key = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let sub = claims["sub"].as_str().unwrap();
    let chain = pem_chain(&request_with_proof(&server, &token, &key, sub));
    let identity = signet_x509::fulcio::read_identity(&chain[0]).unwrap();
    assert_eq!(
        identity.san,
        SubjectAlternativeName::Uri(
            "https://github.com/octo/widgets/.github/workflows/release.yml@refs/tags/v1.2.3".into()
        )
    );
    let ext = &identity.extensions;
    assert_eq!(
        ext.issuer.as_deref(),
        Some(format!("{}/oidc/github", server.url).as_str())
    );
    assert_eq!(
        ext.source_repository_uri.as_deref(),
        Some("https://github.com/octo/widgets")
    );
    assert_eq!(ext.source_repository_ref.as_deref(), Some("refs/tags/v1.2.3"));
    assert_eq!(ext.github_workflow_repository.as_deref(), Some("octo/widgets"));
    assert_eq!(ext.build_signer_uri.as_deref(), Some(identity.san.value()));
    assert!(ext
        .run_invocation_uri
        .as_deref()
        .unwrap()
        .starts_with("https://github.com/octo/widgets/actions/runs/"));
}

#[test]
fn rejections_are_400_with_a_reason_and_log_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--dev-oidc"]);
    let url = format!("{}/api/v2/signingCert", server.url);
    let token = email_token(&server, "carol@example.com");
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let pem_key = key.public_key().to_pem();
    let proof = B64.encode(key.sign(b"carol@example.com").unwrap());
    let before = ct_size(&server);

    // A token signed by a key the issuer does not have, from an issuer nobody trusts.
    let forged = {
        let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let header =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
        let mut parts = token.split('.');
        let _ = parts.next();
        let payload = parts.next().unwrap().to_string();
        let der_sig = other.sign(format!("{header}.{payload}").as_bytes()).unwrap();
        let raw = signet_devoidc::jose::ecdsa_der_to_raw(&der_sig).unwrap();
        format!(
            "{header}.{payload}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        )
    };
    let unknown_issuer = {
        let claims =
            json!({"iss":"https://issuer.invalid","sub":"x","aud":"sigstore","iat":0,"exp":4_000_000_000u64});
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let p = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{h}.{p}.")
    };
    let wrong_audience = mint(
        &server,
        "",
        json!({ "email": "carol@example.com", "audience": "not-sigstore" }),
    );
    let rsa1024 = openssl_rsa1024();

    let pkr = |token: &str, content: &str, proof: &str| {
        json!({ "credentials": {"oidcIdentityToken": token},
                "publicKeyRequest": {"publicKey": {"algorithm":"ECDSA","content": content}, "proofOfPossession": proof} })
        .to_string()
    };
    let mut cases: Vec<(&str, String, &str)> = vec![
        ("malformed JSON", "{not json".into(), "CreateSigningCertificateRequest"),
        ("no token", json!({"publicKeyRequest": {}}).to_string(), "identity token"),
        ("garbage token", pkr("abc", &pem_key, &proof), "identity token"),
        ("forged signature", pkr(&forged, &pem_key, &proof), "identity token"),
        ("alg none, unknown issuer", pkr(&unknown_issuer, &pem_key, &proof), "identity token"),
        ("wrong audience", pkr(&wrong_audience, &pem_key, &proof), "identity token"),
        ("no key proof", json!({"credentials": {"oidcIdentityToken": token}}).to_string(), "neither publicKeyRequest"),
        ("proof over the wrong subject", pkr(&token, &pem_key, &B64.encode(key.sign(b"mallory@example.com").unwrap())), "signature"),
        ("proof not base64", pkr(&token, &pem_key, "!!"), "proofOfPossession"),
        ("public key garbage", pkr(&token, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", &proof), "public key"),
        ("CSR garbage", json!({"credentials": {"oidcIdentityToken": token}, "certificateSigningRequest": B64.encode("nope")}).to_string(), "certificate signing request"),
    ];
    if let Some((pem, sig)) = &rsa1024 {
        cases.push(("RSA-1024 key", pkr(&token, pem, &B64.encode(sig)), "RSA-1024"));
    }
    for (name, body, reason) in cases {
        let reply = post(&url, body.as_bytes());
        assert_eq!(
            reply.status,
            400,
            "{name}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let message = reply.json()["message"].as_str().unwrap_or_default().to_string();
        assert!(
            message.contains(reason),
            "{name}: message {message:?} should mention {reason:?}"
        );
        assert_eq!(reply.json()["code"], 3, "{name}: gRPC InvalidArgument");
    }
    assert_eq!(ct_size(&server), before, "nothing logged for a rejected request");

    // An oversized body is refused before it is read, and the client gets the answer: the
    // server reads the rest before it closes (a close with unread bytes would be a TCP reset,
    // which makes the client lose the answer).
    for size in [100 << 10, 4 << 20] {
        let reply = post(&url, &vec![b' '; size]);
        assert_eq!(reply.status, 413, "{size} bytes");
    }
}

/// An RSA-1024 public key PEM and its signature over "carol@example.com", made by openssl.
fn openssl_rsa1024() -> Option<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let run = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    if run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        "k.pem",
    ])
    .is_none()
    {
        eprintln!("skip: openssl not installed; the RSA-1024 rejection case is skipped");
        return None;
    }
    std::fs::write(dir.path().join("msg"), "carol@example.com").unwrap();
    run(&["dgst", "-sha256", "-sign", "k.pem", "-out", "sig", "msg"])?;
    let public = run(&["pkey", "-in", "k.pem", "-pubout"])?;
    let _ = key;
    Some((
        String::from_utf8(public.stdout).unwrap(),
        std::fs::read(dir.path().join("sig")).unwrap(),
    ))
}

#[test]
fn trust_bundle_configuration_and_trust_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--dev-oidc"]);
    let bundle = get(&format!("{}/api/v2/trustBundle", server.url)).json();
    let certs = bundle["chains"][0]["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    let config = get(&format!("{}/api/v2/configuration", server.url)).json();
    let issuers: Vec<&str> = config["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issuerUrl"].as_str().unwrap())
        .collect();
    assert!(
        issuers.contains(&format!("{}/oidc", server.url).as_str()),
        "{config}"
    );
    assert!(
        issuers.contains(&format!("{}/oidc/github", server.url).as_str()),
        "{config}"
    );

    let root = trusted_root(&server);
    assert_eq!(root.certificate_authorities.len(), 1);
    assert_eq!(root.ctlogs.len(), 1);
    assert_eq!(root.ctlogs[0].base_url, format!("{}/ct", server.url));
    let ct_key = root.ctlogs[0].public_key.raw_bytes.as_deref().unwrap();
    assert_eq!(
        root.ctlogs[0].log_id.key_id,
        sha256(ct_key).to_vec(),
        "CT log id = SHA-256(SPKI)"
    );
    let signing: Value =
        serde_json::from_slice(&std::fs::read(server.dir.join("signing_config.json")).unwrap()).unwrap();
    assert_eq!(signing["caUrls"][0]["url"], server.url.as_str());
    assert_eq!(signing["oidcUrls"][0]["url"], format!("{}/oidc", server.url));
}

#[test]
fn ca_keys_survive_restart_and_a_missing_ca_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first_bundle = {
        let server = Server::start_with(dir.path(), &["--dev-oidc"]);
        get(&format!("{}/api/v2/trustBundle", server.url)).json()
    };
    {
        let server = Server::start_with(dir.path(), &["--dev-oidc"]);
        assert_eq!(
            get(&format!("{}/api/v2/trustBundle", server.url)).json(),
            first_bundle
        );
    }
    std::fs::remove_dir_all(dir.path().join("ca")).unwrap();
    let err = Server::try_start_with(dir.path(), &["--dev-oidc"])
        .err()
        .expect("start must be refused");
    assert!(err.contains("refusing to start"), "{err}");
    assert!(
        !dir.path().join("ca").join("ca-root.key").exists(),
        "no new CA generated"
    );
}

#[test]
fn dev_token_command_prints_a_token_the_ca_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--dev-oidc"]);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("dev-token")
            .args(["--server", &server.url])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--email", "dora@example.com"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let chain = pem_chain(&request_with_proof(&server, &token, &key, "dora@example.com"));
    assert_eq!(
        signet_x509::fulcio::read_identity(&chain[0]).unwrap().san.value(),
        "dora@example.com"
    );

    let out = run(&["--repository", "octo/app", "--ref", "refs/heads/dev"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 3);

    // Without an identity: one line, non-zero exit.
    let out = run(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--email"), "{err}");
}
