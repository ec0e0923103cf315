//! signet's client library, cosign's job: sign and verify files and in-toto attestations as
//! Sigstore bundles, keylessly (an identity token, a certificate from the CA, the transparency
//! log and a timestamp authority) or with a key, and keep the trust material current over TUF.
//! The `signet` command is a thin shell over it; a Rust program can embed it the same way.
//!
//! It is blocking: no async runtime and no threads, so a verification costs milliseconds per
//! process. It sits on signet's pure core (formats, x509, verify, tuf) and does the I/O around
//! it: files, blocking HTTP to the services, the browser login. It must never depend on a
//! server-side crate (axum, hyper's server, rusqlite, the service crates);
//! `crates/signet/tests/layering.rs` fails the build when it does.
//!
//! | module | what |
//! |---|---|
//! | [`trust`] | which trust material a command uses: files, `$SIGNET_TRUST_CONFIG`, an instance's TUF copy, or the built-in roots |
//! | [`tuf`] | `signet trust update / init / show`: the TUF client workflow over HTTP |
//! | [`services`] | choosing the CA, logs and TSAs from a signing config |
//! | [`token`] | identity tokens: given, GitHub Actions' ambient token, or a browser login with PKCE |
//! | [`keys`] | cosign key files: generate, load, passwords |
//! | [`image`] | container images: sign, attest and verify in the bundle format (referrers, the fallback index), `--recursive`, signature repositories, `tree` |
//! | [`legacy_image`] | cosign's legacy image format: `sha256-<hex>.sig` / `.att` written, `.att` read |
//! | [`layout`] | OCI image layouts on disk: `signet save`, and `verify --local-image` with no network |
//! | [`oci`] | a blocking OCI registry client: manifests, blobs, referrers, docker credentials and token auth |
//! | [`sign`] | the signing flow: certificate, signature, timestamps, log entries, bundle |
//! | [`verify`] | flags to a verification policy, and the call to the verifier |
//! | [`attest`] | in-toto statements and cosign's predicate type names |
//! | [`attach`], [`download`] | `attach sbom` and `download signature / attestation / sbom`: cosign's attachments, unverified |
//! | [`git`] | git commits and tags in gitsign's format: settings from git config, signing for `signet-git` (one login per certificate through a credential cache), verifying what git hands over and `signet git verify` |
//! | [`policy`] | `verify-attestation --policy`: Rego policies over verified statements, as cosign evaluates them |
//! | [`http`], [`files`] | the HTTP client (timeouts, bounded answers) and atomic, bounded file I/O |
//! | [`git_agent`] | (Unix) the per-user agent that keeps a keyless git signing credential in memory and signs with it |
//! | [`dev_token`] | DEVELOPMENT ONLY: tokens from a `signet server --dev-oidc` |
//!
//! The flows a command runs are the functions at the top: [`sign_file`], [`sign_bundle`] and
//! [`verify_file`].
//!
//! # Example: sign with a key, then verify
//!
//! A key signs a file into a bundle with no service at all (no CA, log or TSA in the
//! [`services::SigningServices`]). The signature verifies with the key. Such a bundle is not a
//! Sigstore signature, though: nothing logged it and nothing vouches for when it was made, so
//! Sigstore verification ([`verify::verify`]) refuses it, as the client specification requires.
//!
//! ```
//! use signet_client::http::Http;
//! use signet_client::services::SigningServices;
//! use signet_client::sign::{self, Artifact, Credential, Payload};
//! use signet_client::verify::{self, ArtifactInput};
//! use signet_crypto::{KeyKind, SigningKey};
//! use signet_formats::trust::TrustedRoot;
//! use signet_verify::{ArtifactDigest, SignerPolicy};
//!
//! # fn main() -> anyhow::Result<()> {
//! let key = SigningKey::generate(KeyKind::EcdsaP256)?;
//! let public = key.public_key().clone();
//! let artifact = b"hello, signet\n";
//!
//! let offline = SigningServices { ca: None, tlogs: vec![], tsas: vec![] };
//! let bundle = sign::sign(
//!     &Http::new()?,
//!     &offline,
//!     Credential::Key(key.into()),
//!     Payload::Artifact(Artifact::Bytes(artifact)),
//! )?;
//!
//! // The key signed these bytes, and not others.
//! verify::insecure_verify_signature_without_log(&bundle, artifact, &public)?;
//! assert!(verify::insecure_verify_signature_without_log(&bundle, b"other bytes", &public).is_err());
//!
//! // Sigstore verification wants a log entry or a timestamp as well.
//! let digest = ArtifactDigest::sha256(signet_crypto::sha256(artifact));
//! let refused = verify::verify(
//!     &bundle,
//!     &ArtifactInput::Digest(digest),
//!     SignerPolicy::PublicKey(public),
//!     &TrustedRoot::default(),
//!     1_800_000_000,
//!     None,
//! );
//! assert!(refused.is_err());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod attach;
pub mod attest;
pub mod dev_token;
pub mod download;
pub mod files;
pub mod git;
#[cfg(unix)]
pub mod git_agent;
pub mod http;
pub mod image;
pub mod keys;
pub mod layout;
pub mod legacy_image;
pub mod oci;
pub mod policy;
pub mod search;
pub mod services;
pub mod sign;
pub mod token;
pub mod trust;
pub mod tuf;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use signet_formats::bundle::Bundle;
use signet_formats::dsse::Envelope;
use signet_formats::intoto::{Statement, PAYLOAD_TYPE};

use http::Http;
use sign::{Credential, Payload};
use token::{IdentityToken, LoginFlow, TokenOptions};
use trust::{TrustArgs, TrustEnv, TrustMaterial};
use verify::{ArtifactInput, IdentityArgs};

/// Options every signing command takes.
#[derive(Debug, Clone, Args)]
pub struct SignOptions {
    // Which instance and trust files to sign with (a flattened flag group).
    #[command(flatten)]
    #[allow(missing_docs)]
    pub trust: TrustArgs,
    /// Sign with this private key (cosign's encrypted key file, password from
    /// $SIGNET_PASSWORD, $COSIGN_PASSWORD or a prompt; or PKCS#8 PEM) instead of a keyless
    /// certificate.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The OpenID Connect identity token (keyless signing).
    #[arg(long, value_name = "TOKEN", env = "SIGSTORE_ID_TOKEN", hide_env_values = true)]
    pub identity_token: Option<String>,
    /// The OpenID provider for a browser login (default: the signing config's).
    #[arg(long, value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// The OAuth client id for a browser login.
    #[arg(long, value_name = "ID", default_value = token::DEFAULT_CLIENT_ID)]
    pub oidc_client_id: String,
    /// The OAuth client secret for a browser login, if the provider wants one.
    #[arg(long, value_name = "SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// How long to wait for a browser or device login to finish, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "SIGNET_OIDC_LOGIN_TIMEOUT",
        default_value_t = token::DEFAULT_LOGIN_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub oidc_login_timeout: u64,
    /// How to log in when no token is given (`device` for SSH and headless machines).
    #[arg(long, value_name = "FLOW", value_enum, env = "SIGNET_OIDC_FLOW", default_value_t = LoginFlow::Auto)]
    pub oidc_flow: LoginFlow,
    /// Do not ask for confirmation (signet never asks; accepted for cosign compatibility).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Fills `buf` from the operating system's random number generator (getrandom(2)): for
/// nonces, OAuth state and file names. Keys come from aws-lc, whose generator seeds itself on
/// first use by sampling CPU jitter, about 30 ms of CPU (BENCHMARKS.md, "git signing"); a
/// signing process with a cached key has no other use for it, and pays nothing this way.
pub(crate) fn os_random(buf: &mut [u8]) -> anyhow::Result<()> {
    getrandom::fill(buf).map_err(|e| anyhow::anyhow!("the system random number generator failed: {e}"))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> anyhow::Result<i64> {
    // A clock before 1970 would make every expiry and validity window pass: refuse it.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or_else(|| anyhow::anyhow!("the system clock reads before 1970; set it right and try again"))
}

/// What an attestation says about the file it is made for: an in-toto Statement v1 whose
/// subject is the file, with this predicate.
#[derive(Debug, Clone, Copy)]
pub struct Attestation<'a> {
    /// The predicate, a JSON file.
    pub predicate: &'a Path,
    /// The predicate type: a short name as cosign takes it (`slsaprovenance1`, `spdxjson`,
    /// `cyclonedx`, ...; see [`attest::predicate_type_uri`]) or a URI.
    pub predicate_type: &'a str,
}

/// Signs `file` (`sign-blob`), or with `attestation` makes and signs an in-toto statement about
/// it (`attest-blob`), and writes the bundle to `out` atomically, once it verifies against the
/// trusted root.
pub fn sign_file(
    options: &SignOptions,
    file: &Path,
    out: &Path,
    attestation: Option<Attestation>,
) -> anyhow::Result<()> {
    files::check_artifact(file)?;
    let payload = match attestation {
        None => Payload::Artifact(sign::Artifact::File(file)),
        Some(a) => {
            let digest = files::sha256_file(file)?;
            let predicate = files::read_limited(a.predicate, "predicate", files::MAX_BUNDLE_BYTES)?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let statement = attest::statement(&name, &digest, a.predicate_type, &predicate)?;
            Payload::Dsse {
                payload_type: PAYLOAD_TYPE.to_string(),
                payload: statement.to_json(),
            }
        }
    };
    run_signing(options, payload, out)
}

/// What the sigstore-conformance protocol's `sign-bundle` signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConformanceInput {
    /// The file is an artifact, signed as a message signature.
    Artifact,
    /// The file is an in-toto statement, signed as it is in a DSSE envelope.
    InTotoStatement,
}

/// The sigstore-conformance protocol's `sign-bundle`: keyless, with the given token (or the
/// usual sources of one), writing the bundle to `out`.
pub fn sign_bundle(
    trust: TrustArgs,
    identity_token: Option<String>,
    input: ConformanceInput,
    file: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let payload = match input {
        ConformanceInput::InTotoStatement => {
            let json = files::read_limited(file, "in-toto statement", files::MAX_BUNDLE_BYTES)?;
            // Check it is a statement, then sign the bytes as given.
            Statement::from_json(&json)
                .map_err(|e| anyhow!("{} is not an in-toto statement: {e}", file.display()))?;
            Payload::Dsse {
                payload_type: PAYLOAD_TYPE.to_string(),
                payload: json,
            }
        }
        ConformanceInput::Artifact => {
            files::check_artifact(file)?;
            Payload::Artifact(sign::Artifact::File(file))
        }
    };
    let options = SignOptions {
        trust,
        key: None,
        identity_token,
        oidc_issuer: None,
        oidc_client_id: token::DEFAULT_CLIENT_ID.to_string(),
        oidc_client_secret: None,
        oidc_login_timeout: token::DEFAULT_LOGIN_TIMEOUT_SECS,
        oidc_flow: LoginFlow::Auto,
        yes: true,
    };
    run_signing(&options, payload, out)
}

/// Token or key → services → sign → verify what was made → write it.
fn run_signing(options: &SignOptions, payload: Payload, out: &Path) -> anyhow::Result<()> {
    check_output_dir(out)?;
    let bundle = sign_payload(options, payload)?;
    files::write_atomic(out, &bundle.to_json())
}

/// Signs `payload` as `options` say (keyless with a token, or with a key), and returns the
/// bundle once it verifies against the trusted root.
pub fn sign_payload(options: &SignOptions, payload: Payload) -> anyhow::Result<Bundle> {
    sign_payload_to(options, payload, services::LogChoice::AsConfigured).map(|s| s.bundle)
}

/// [`sign_payload`] to the logs `logs` chooses, keeping the CA's chain.
pub fn sign_payload_to(
    options: &SignOptions,
    payload: Payload,
    logs: services::LogChoice,
) -> anyhow::Result<sign::Signed> {
    let mut signed = sign_payloads_to(options, vec![payload], logs)?;
    Ok(signed.remove(0))
}

/// Signs each of `payloads` with one credential (one token, and for keyless signing one
/// certificate), as cosign signs every manifest of `--recursive`; returns the bundles in order,
/// each checked against the trusted root.
pub fn sign_payloads(options: &SignOptions, payloads: Vec<Payload>) -> anyhow::Result<Vec<Bundle>> {
    let signed = sign_payloads_to(options, payloads, services::LogChoice::AsConfigured)?;
    Ok(signed.into_iter().map(|s| s.bundle).collect())
}

/// [`sign_payloads`] to the logs `logs` chooses, keeping the CA's chain.
pub fn sign_payloads_to(
    options: &SignOptions,
    payloads: Vec<Payload>,
    logs: services::LogChoice,
) -> anyhow::Result<Vec<sign::Signed>> {
    let now = unix_now()?;
    // A token given on the command line is checked before anything else happens.
    let given_token = match (&options.key, options.identity_token.as_deref()) {
        (None, Some(raw)) => {
            let t = IdentityToken::parse(raw)?;
            t.check_not_expired(now)?;
            Some(t)
        }
        _ => None,
    };
    let key = options.key.as_deref().map(keys::load_user_key).transpose()?;
    let material = trust::load(&options.trust, &TrustEnv::from_process())?;
    let config = material.signing_config()?;
    let services = services::signing_services_for(config, key.is_none(), now, logs)?;
    let http = Http::new()?;
    let (credential, expected) = match key {
        Some(key) => {
            let public = key.public_key().clone();
            (Credential::Key(key), verify::SelfCheck::Key(public))
        }
        None => {
            let token = match given_token {
                Some(t) => t,
                None => {
                    let issuer = options
                        .oidc_issuer
                        .clone()
                        .or_else(|| services::oidc_issuer(config, now));
                    token::obtain(
                        &TokenOptions {
                            token: None,
                            issuer: issuer.as_deref(),
                            client_id: &options.oidc_client_id,
                            client_secret: options.oidc_client_secret.as_deref(),
                            login_timeout: std::time::Duration::from_secs(options.oidc_login_timeout),
                            flow: options.oidc_flow,
                            prompt_on_tty: false,
                        },
                        &http,
                        now,
                    )?
                }
            };
            (Credential::Keyless(token), verify::SelfCheck::AnyCertificate)
        }
    };
    let signer = sign::Signer::new(&http, &services, credential)?;
    payloads
        .into_iter()
        .map(|payload| {
            let bundle = signer.sign(&http, &services, payload)?;
            check_own_bundle(&bundle, &material, expected.clone())?;
            Ok(signer.signed(bundle))
        })
        .collect()
}

/// A client must not emit what it cannot verify: check the bundle just made against the
/// trusted root before writing it.
fn check_own_bundle(
    bundle: &Bundle,
    material: &TrustMaterial,
    expected: verify::SelfCheck,
) -> anyhow::Result<()> {
    verify::verify_own(bundle, &material.trusted_root, expected, unix_now()?).context(
        "the bundle signet just made does not verify against the trusted root, so it was not written",
    )
}

fn check_output_dir(out: &Path) -> anyhow::Result<()> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write the bundle to {}: directory {} does not exist",
            out.display(),
            dir.display()
        );
    }
    Ok(())
}

/// What a bundle must hold, beyond a valid signature by the expected signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Anything a bundle can hold: a message signature or a DSSE envelope (`verify-blob`,
    /// `verify-bundle`).
    AnySignature,
    /// An in-toto attestation in a DSSE envelope (`verify-blob-attestation`), of this predicate
    /// type (a URI) when one is given.
    Attestation {
        /// The predicate type URI the statement must state, if any.
        predicate_type: Option<String>,
    },
}

/// verify-blob, verify-blob-attestation and verify-bundle: verifies the bundle at `bundle_path`
/// over `artifact` (a file, or `sha256:<hex>` / `sha512:<hex>` of one that is not a path on
/// disk) for the expected signer, against the trust material `trust_args` selects.
pub fn verify_file(
    trust_args: &TrustArgs,
    bundle_path: &Path,
    artifact: &str,
    identity: &IdentityArgs,
    expected: &Expected,
) -> anyhow::Result<()> {
    let material = trust::load(trust_args, &TrustEnv::from_process())?;
    let artifact = ArtifactInput::parse(artifact);
    let signer = identity.signer_policy()?;
    let bundle = files::read_bundle(bundle_path)?;
    let hint = material.source.staleness_hint();
    verify::verify_with_trust(
        &bundle,
        &artifact,
        signer,
        &material.prepared_trust(),
        unix_now()?,
        hint.as_deref(),
    )?;
    if let Expected::Attestation { predicate_type } = expected {
        check_attestation(&bundle, predicate_type.as_deref())?;
    }
    Ok(())
}

fn check_attestation(bundle: &Bundle, expected_type: Option<&str>) -> anyhow::Result<()> {
    let envelope: &Envelope = match &bundle.content {
        signet_formats::bundle::BundleContent::DsseEnvelope(e) => e,
        _ => bail!("the bundle holds a message signature, not an attestation"),
    };
    let statement = Statement::from_json(&envelope.payload)
        .map_err(|e| anyhow!("the attestation's payload is not an in-toto statement: {e}"))?;
    if let Some(expected) = expected_type {
        if statement.predicate_type != expected {
            bail!(
                "the attestation's predicate type is {:?}, not {expected:?}",
                statement.predicate_type
            );
        }
    }
    Ok(())
}
