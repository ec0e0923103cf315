//! Test issuers: keys generated at test time, their JWKs, and token minting.
#![allow(dead_code)]

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

pub const NOW: i64 = 1_700_000_000;

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub enum TestKey {
    Rsa(RsaKeyPair),
    Es256(EcdsaKeyPair),
    Es384(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl TestKey {
    pub fn rsa() -> Self {
        TestKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
    }
    pub fn es256() -> Self {
        TestKey::Es256(EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }
    pub fn es384() -> Self {
        TestKey::Es384(EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap())
    }
    pub fn ed25519() -> Self {
        TestKey::Ed25519(Ed25519KeyPair::generate().unwrap())
    }

    pub fn alg(&self) -> &'static str {
        match self {
            TestKey::Rsa(_) => "RS256",
            TestKey::Es256(_) => "ES256",
            TestKey::Es384(_) => "ES384",
            TestKey::Ed25519(_) => "EdDSA",
        }
    }

    /// The public JWK, with `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        match self {
            TestKey::Rsa(k) => {
                let p = k.public_key();
                json!({"kty": "RSA", "kid": kid, "use": "sig",
                       "n": b64(p.modulus().big_endian_without_leading_zero()),
                       "e": b64(p.exponent().big_endian_without_leading_zero())})
            }
            TestKey::Es256(k) | TestKey::Es384(k) => {
                let point = k.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = if len == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "kid": kid,
                       "x": b64(&point[1..1 + len]), "y": b64(&point[1 + len..])})
            }
            TestKey::Ed25519(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(k.public_key().as_ref())})
            }
        }
    }

    /// Signs `signing_input` with the algorithm `alg` names (RS256/384/512 for RSA).
    pub fn sign(&self, alg: &str, signing_input: &[u8]) -> Vec<u8> {
        match self {
            TestKey::Rsa(k) => {
                let padding: &'static dyn sig::RsaEncoding = match alg {
                    "RS384" => &sig::RSA_PKCS1_SHA384,
                    "RS512" => &sig::RSA_PKCS1_SHA512,
                    _ => &sig::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign(padding, &SystemRandom::new(), signing_input, &mut out)
                    .unwrap();
                out
            }
            TestKey::Es256(k) | TestKey::Es384(k) => k
                .sign(&SystemRandom::new(), signing_input)
                .unwrap()
                .as_ref()
                .to_vec(),
            TestKey::Ed25519(k) => k.sign(signing_input).as_ref().to_vec(),
        }
    }
}

pub struct Keys {
    pub rsa: TestKey,
    pub es256: TestKey,
    pub es384: TestKey,
    pub ed25519: TestKey,
    /// Not published: signs forgeries.
    pub rogue_es256: TestKey,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: TestKey::rsa(),
        es256: TestKey::es256(),
        es384: TestKey::es384(),
        ed25519: TestKey::ed25519(),
        rogue_es256: TestKey::es256(),
    })
}

/// The JWK Set every test issuer publishes.
pub fn jwks() -> Value {
    let k = keys();
    json!({"keys": [
        k.rsa.jwk("rsa"), k.es256.jwk("es256"), k.es384.jwk("es384"), k.ed25519.jwk("ed25519"),
    ]})
}

/// A compact JWS with the given header and claims, signed by `key` with `alg`.
pub fn token_with_header(key: &TestKey, header: Value, claims: &Value) -> String {
    let alg = header["alg"].as_str().unwrap_or("none").to_owned();
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let sig = key.sign(&alg, input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// A token signed by `key` with its natural algorithm and `kid`.
pub fn token(key: &TestKey, kid: &str, claims: &Value) -> String {
    token_with_header(key, json!({"alg": key.alg(), "kid": kid, "typ": "JWT"}), claims)
}

pub fn base_claims(iss: &str, sub: &str) -> Value {
    json!({"iss": iss, "sub": sub, "aud": "sigstore", "iat": NOW - 30, "nbf": NOW - 30, "exp": NOW + 570})
}

/// Adds `extra`'s members to `claims`.
pub fn merge(mut claims: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A GitHub Actions token's claims, shaped as docs.github.com's "Understanding the OIDC token"
/// example (with the workflow_ref / *_sha claims GitHub added since), audience `sigstore`.
pub fn github_claims() -> Value {
    json!({
        "jti": "example-id",
        "sub": "repo:octo-org/octo-repo:environment:prod",
        "environment": "prod",
        "aud": "sigstore",
        "ref": "refs/heads/main",
        "sha": "d6e7f4d0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "actor_id": "12",
        "repository_visibility": "private",
        "repository_id": "74",
        "repository_owner_id": "65",
        "run_id": "5678901234",
        "run_number": "10",
        "run_attempt": "2",
        "runner_environment": "github-hosted",
        "actor": "octocat",
        "workflow": "example-workflow",
        "head_ref": "",
        "base_ref": "",
        "event_name": "workflow_dispatch",
        "ref_type": "branch",
        "ref_protected": "true",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/example-workflow.yml@refs/heads/main",
        "workflow_sha": "d6e7f4d0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "job_workflow_ref": "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
        "job_workflow_sha": "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b",
        "iss": GITHUB_ISSUER,
        "nbf": NOW - 30,
        "exp": NOW + 570,
        "iat": NOW - 30
    })
}
