//! signet's client commands, cosign's job: sign and verify blobs and in-toto attestations as
//! Sigstore bundles, plus the sigstore-conformance CLI protocol (`sign-bundle`,
//! `verify-bundle`). A thin shell over the pure core (formats, x509, verify): it reads files,
//! talks to the services over blocking HTTP and writes bundles. It must not start an async
//! runtime or threads, so `verify-bundle` stays a few milliseconds per process, and it must
//! not depend on the service crates.

#![forbid(unsafe_code)]

pub mod attest;
pub mod files;
pub mod http;
pub mod keys;
pub mod services;
pub mod sign;
pub mod token;
pub mod trust;
pub mod tuf;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use signet_formats::bundle::Bundle;
use signet_formats::dsse::Envelope;
use signet_formats::intoto::{Statement, PAYLOAD_TYPE};

use http::Http;
use sign::{Credential, Payload};
use token::{IdentityToken, TokenOptions};
use trust::{TrustArgs, TrustEnv, TrustMaterial};
use verify::{ArtifactInput, IdentityArgs};

/// The client subcommands, flattened into `signet`'s top level.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Sign a file: writes a Sigstore bundle (keyless with an identity token, or --key).
    SignBlob(SignBlobArgs),
    /// Verify a file against a Sigstore bundle and an expected signer.
    VerifyBlob(VerifyBlobArgs),
    /// Attest to a file: an in-toto statement with a predicate, signed in a DSSE envelope.
    AttestBlob(AttestBlobArgs),
    /// Verify an attestation bundle about a file.
    VerifyBlobAttestation(VerifyBlobAttestationArgs),
    /// sigstore-conformance CLI protocol: sign FILE into a bundle.
    SignBundle(SignBundleArgs),
    /// sigstore-conformance CLI protocol: verify a bundle over FILE or sha256:HEX.
    VerifyBundle(VerifyBundleArgs),
    /// The trust material: update it over TUF, trust a private instance, show it.
    #[command(subcommand)]
    Trust(tuf::TrustCommand),
}

/// Options every signing command takes.
#[derive(Debug, Clone, Args)]
pub struct SignOptions {
    #[command(flatten)]
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
    /// How long to wait for a browser login to finish, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "SIGNET_OIDC_LOGIN_TIMEOUT",
        default_value_t = token::DEFAULT_LOGIN_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub oidc_login_timeout: u64,
    /// Do not ask for confirmation (signet never asks; accepted for cosign compatibility).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SignBlobArgs {
    /// The file to sign.
    pub file: PathBuf,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub options: SignOptions,
}

#[derive(Debug, Args)]
pub struct AttestBlobArgs {
    /// The file the attestation is about.
    pub file: PathBuf,
    /// The predicate (JSON) to attest.
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// The predicate type: slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx,
    /// spdxjson, cyclonedx, vuln, openvex, custom, or a URI.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub options: SignOptions,
}

#[derive(Debug, Args)]
pub struct VerifyBlobArgs {
    /// The signed file, or `sha256:<hex>` of it.
    pub file: String,
    /// The bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, Args)]
pub struct VerifyBlobAttestationArgs {
    /// The file the attestation is about, or `sha256:<hex>` of it.
    pub file: String,
    /// The bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// Require this predicate type (a short name as for attest-blob, or a URI).
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: Option<String>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, Args)]
pub struct SignBundleArgs {
    /// FILE is an in-toto statement to sign as a DSSE envelope.
    #[arg(long)]
    pub in_toto: bool,
    /// The OpenID Connect identity token.
    #[arg(long, value_name = "TOKEN", env = "SIGSTORE_ID_TOKEN", hide_env_values = true)]
    pub identity_token: Option<String>,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The artifact to sign.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The artifact, or `sha256:<hex>` of it.
    pub file_or_digest: String,
}

/// Runs a client command. No async runtime, no threads. The error, if any, is one line.
pub fn run(command: ClientCommand) -> anyhow::Result<()> {
    run_command(command).map_err(|e| {
        let text = format!("{e:#}");
        anyhow!(text.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

fn run_command(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::SignBlob(a) => {
            sign_file(&a.options, &a.file, &a.bundle, None)?;
            eprintln!("Wrote bundle to {}", a.bundle.display());
            Ok(())
        }
        ClientCommand::AttestBlob(a) => {
            let attestation = Attestation {
                predicate: &a.predicate,
                predicate_type: &a.predicate_type,
            };
            sign_file(&a.options, &a.file, &a.bundle, Some(attestation))?;
            eprintln!("Wrote attestation bundle to {}", a.bundle.display());
            Ok(())
        }
        ClientCommand::SignBundle(a) => sign_bundle(a),
        ClientCommand::VerifyBlob(a) => verify_command(&a.trust, &a.bundle, &a.file, &a.identity, None),
        ClientCommand::VerifyBlobAttestation(a) => {
            let expected = a
                .predicate_type
                .as_deref()
                .map(attest::predicate_type_uri)
                .transpose()?;
            verify_command(&a.trust, &a.bundle, &a.file, &a.identity, Some(expected))
        }
        ClientCommand::VerifyBundle(a) => {
            verify_command(&a.trust, &a.bundle, &a.file_or_digest, &a.identity, None)
        }
        ClientCommand::Trust(command) => tuf::run(command),
    }
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

struct Attestation<'a> {
    predicate: &'a Path,
    predicate_type: &'a str,
}

/// sign-blob and attest-blob.
fn sign_file(
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

/// The conformance protocol's `sign-bundle`.
fn sign_bundle(a: SignBundleArgs) -> anyhow::Result<()> {
    let payload = if a.in_toto {
        let json = files::read_limited(&a.file, "in-toto statement", files::MAX_BUNDLE_BYTES)?;
        // Check it is a statement, then sign the bytes as given.
        Statement::from_json(&json)
            .map_err(|e| anyhow!("{} is not an in-toto statement: {e}", a.file.display()))?;
        Payload::Dsse {
            payload_type: PAYLOAD_TYPE.to_string(),
            payload: json,
        }
    } else {
        files::check_artifact(&a.file)?;
        Payload::Artifact(sign::Artifact::File(&a.file))
    };
    let options = SignOptions {
        trust: a.trust,
        key: None,
        identity_token: a.identity_token,
        oidc_issuer: None,
        oidc_client_id: token::DEFAULT_CLIENT_ID.to_string(),
        oidc_client_secret: None,
        oidc_login_timeout: token::DEFAULT_LOGIN_TIMEOUT_SECS,
        yes: true,
    };
    run_signing(&options, payload, &a.bundle)
}

/// Token or key → services → sign → verify what was made → write it.
fn run_signing(options: &SignOptions, payload: Payload, out: &Path) -> anyhow::Result<()> {
    let now = unix_now()?;
    check_output_dir(out)?;
    // A token given on the command line is checked before anything else happens.
    let given_token = match (&options.key, options.identity_token.as_deref()) {
        (None, Some(raw)) => {
            let t = IdentityToken::parse(raw)?;
            t.check_not_expired(now)?;
            Some(t)
        }
        _ => None,
    };
    let key = options.key.as_deref().map(keys::load_signing_key).transpose()?;
    let material = trust::load(&options.trust, &TrustEnv::from_process())?;
    let config = material.signing_config()?;
    let services = services::signing_services(config, key.is_none(), now)?;
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
                        },
                        &http,
                        now,
                    )?
                }
            };
            (Credential::Keyless(token), verify::SelfCheck::AnyCertificate)
        }
    };
    let bundle = sign::sign(&http, &services, credential, payload)?;
    check_own_bundle(&bundle, &material, expected)?;
    files::write_atomic(out, &bundle.to_json())
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

/// verify-blob, verify-blob-attestation and verify-bundle. `predicate_type` is `Some` for
/// attestations: then the bundle must hold a DSSE envelope, and, when given, its statement's
/// predicate type must be that URI.
fn verify_command(
    trust_args: &TrustArgs,
    bundle_path: &Path,
    artifact: &str,
    identity: &IdentityArgs,
    predicate_type: Option<Option<String>>,
) -> anyhow::Result<()> {
    let material = trust::load(trust_args, &TrustEnv::from_process())?;
    let artifact = ArtifactInput::parse(artifact);
    let signer = identity.signer_policy()?;
    let bundle = files::read_bundle(bundle_path)?;
    let hint = material.source.staleness_hint();
    verify::verify(
        &bundle,
        &artifact,
        signer,
        &material.trusted_root,
        unix_now()?,
        hint.as_deref(),
    )?;
    if let Some(expected) = predicate_type {
        check_attestation(&bundle, expected.as_deref())?;
    }
    eprintln!("Verified OK");
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
