//! Verification commands' inputs (the artifact, the expected signer from flags) turned into a
//! `signet_verify` policy, and the call to the pure verifier.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;
use signet_crypto::PublicKey;
use signet_formats::bundle::{Bundle, BundleContent};
use signet_formats::intoto::Statement;
use signet_formats::trust::TrustedRoot;
use signet_verify::{
    Artifact, ArtifactDigest, ExtensionField, IdentityPolicy, Matcher, Policy, PreparedTrust, SignerPolicy,
};

use super::{files, keys};

/// Files at most this large are verified from their bytes; larger ones by their SHA-256
/// (streamed), which every signature scheme signet signs with supports.
const MAX_ARTIFACT_IN_MEMORY: u64 = 64 << 20;

/// The expected signer, as cosign's flags give it.
#[derive(Debug, Clone, Default, Args)]
pub struct IdentityArgs {
    /// The identity the signing certificate must state (its SAN: an email, a URI).
    #[arg(long, value_name = "IDENTITY", conflicts_with = "certificate_identity_regexp")]
    pub certificate_identity: Option<String>,
    /// A regular expression the certificate identity must match (anchor it with ^…$).
    #[arg(long, value_name = "REGEX")]
    pub certificate_identity_regexp: Option<String>,
    /// The OpenID issuer the signing certificate must name.
    #[arg(long, value_name = "URL", conflicts_with = "certificate_oidc_issuer_regexp")]
    pub certificate_oidc_issuer: Option<String>,
    /// A regular expression the certificate's OpenID issuer must match.
    #[arg(long, value_name = "REGEX")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// The GitHub repository (owner/name) the signing workflow ran in.
    #[arg(long, value_name = "REPO")]
    pub certificate_github_workflow_repository: Option<String>,
    /// The git ref the signing workflow ran for (e.g. refs/heads/main).
    #[arg(long, value_name = "REF")]
    pub certificate_github_workflow_ref: Option<String>,
    /// The event that triggered the signing workflow (e.g. push).
    #[arg(long, value_name = "EVENT")]
    pub certificate_github_workflow_trigger: Option<String>,
    /// The commit the signing workflow ran at.
    #[arg(long, value_name = "SHA")]
    pub certificate_github_workflow_sha: Option<String>,
    /// The name of the signing workflow.
    #[arg(long, value_name = "NAME")]
    pub certificate_github_workflow_name: Option<String>,
    /// Verify with this public key (PEM) instead of a certificate identity.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer", "certificate_oidc_issuer_regexp"]
    )]
    pub key: Option<PathBuf>,
}

impl IdentityArgs {
    /// The signer policy these flags ask for; identity and issuer are both required unless a
    /// key is given.
    pub fn signer_policy(&self) -> anyhow::Result<SignerPolicy> {
        if let Some(path) = &self.key {
            return Ok(SignerPolicy::PublicKey(keys::load_public_key(path)?));
        }
        let matcher = |exact: &Option<String>, regex: &Option<String>| -> anyhow::Result<Option<Matcher>> {
            Ok(match (exact, regex) {
                (Some(e), _) => Some(Matcher::Exact(e.clone())),
                (None, Some(r)) => Some(Matcher::regex(r)?),
                (None, None) => None,
            })
        };
        let san = matcher(&self.certificate_identity, &self.certificate_identity_regexp)?.ok_or_else(|| {
            anyhow!("give the expected signer: --certificate-identity or --certificate-identity-regexp (or --key)")
        })?;
        let issuer = matcher(
            &self.certificate_oidc_issuer,
            &self.certificate_oidc_issuer_regexp,
        )?
        .ok_or_else(|| {
            anyhow!("give the expected issuer: --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
        })?;
        let mut policy = IdentityPolicy {
            subject_alternative_name: san,
            issuer,
            extensions: Vec::new(),
        };
        for (field, value) in [
            (
                ExtensionField::GithubWorkflowRepository,
                &self.certificate_github_workflow_repository,
            ),
            (
                ExtensionField::GithubWorkflowRef,
                &self.certificate_github_workflow_ref,
            ),
            (
                ExtensionField::GithubWorkflowTrigger,
                &self.certificate_github_workflow_trigger,
            ),
            (
                ExtensionField::GithubWorkflowSha,
                &self.certificate_github_workflow_sha,
            ),
            (
                ExtensionField::GithubWorkflowName,
                &self.certificate_github_workflow_name,
            ),
        ] {
            if let Some(v) = value {
                policy = policy.with_extension(field, Matcher::Exact(v.clone()));
            }
        }
        Ok(SignerPolicy::Identity(policy))
    }
}

/// The artifact argument: a file, or `sha256:<64 hex>`, `sha384:<96 hex>` or `sha512:<128 hex>`
/// that is not a path on disk (the conformance protocol's rule, with the SHA-2 digests in-toto
/// subjects use: npm provenance names its subjects by SHA-512).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactInput {
    /// A file whose bytes are verified.
    Path(PathBuf),
    /// The artifact's digest, when the file itself is not at hand.
    Digest(ArtifactDigest),
}

/// The digest forms the artifact argument takes, for messages.
const DIGEST_FORMS: &str = "sha256:<64 hex digits>, sha384:<96 hex digits> or sha512:<128 hex digits>";

impl ArtifactInput {
    /// Reads the command-line argument: a digest when it has the form of one and names no
    /// file, else a path.
    pub fn parse(arg: &str) -> Self {
        if looks_like_digest(arg) && !Path::new(arg).exists() {
            if let Ok(d) = ArtifactDigest::parse(arg) {
                return ArtifactInput::Digest(d);
            }
        }
        ArtifactInput::Path(PathBuf::from(arg))
    }
}

/// `name:hex`, the shape of a digest argument (whether or not signet supports that name).
fn looks_like_digest(arg: &str) -> bool {
    arg.split_once(':').is_some_and(|(name, hex)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The error for an artifact argument that names no readable file.
fn unreadable_artifact(path: &Path, e: std::io::Error) -> anyhow::Error {
    let arg = path.to_string_lossy();
    if e.kind() == std::io::ErrorKind::NotFound && looks_like_digest(&arg) {
        let why = ArtifactDigest::parse(&arg)
            .err()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return anyhow!(
            "the artifact {arg} is neither a file nor a digest signet supports{why}; give the file, or its digest as {DIGEST_FORMS}"
        );
    }
    anyhow!("cannot read the artifact {}: {e}", path.display())
}

/// Verifies `bundle` over `artifact` for `signer` against `root` at `now`.
/// `stale_hint` is added to a failure that newer trust material might fix (a CA, log or TSA
/// the trusted root does not hold).
pub fn verify(
    bundle: &Bundle,
    artifact: &ArtifactInput,
    signer: SignerPolicy,
    root: &TrustedRoot,
    now: i64,
    stale_hint: Option<&str>,
) -> anyhow::Result<()> {
    verify_with_trust(
        bundle,
        artifact,
        signer,
        &PreparedTrust::from_trusted_root(root),
        now,
        stale_hint,
    )
}

/// [`verify`] against trust material already prepared (with a witness policy, say).
pub fn verify_with_trust(
    bundle: &Bundle,
    artifact: &ArtifactInput,
    signer: SignerPolicy,
    trust: &PreparedTrust,
    now: i64,
    stale_hint: Option<&str>,
) -> anyhow::Result<()> {
    let bytes;
    let artifact = match artifact {
        ArtifactInput::Digest(d) => Artifact::Digest(d.clone()),
        ArtifactInput::Path(path) => {
            let size = std::fs::metadata(path)
                .map_err(|e| unreadable_artifact(path, e))?
                .len();
            if size <= MAX_ARTIFACT_IN_MEMORY {
                bytes = files::read_limited(path, "artifact", MAX_ARTIFACT_IN_MEMORY)?;
                Artifact::Bytes(&bytes)
            } else {
                Artifact::Digest(ArtifactDigest::sha256(files::sha256_file(path)?))
            }
        }
    };
    verify_prepared(bundle, artifact, signer, trust, now, stale_hint)?;
    Ok(())
}

/// [`verify`] with the trust material already prepared (one preparation for many bundles, as
/// an image's signatures are), returning what was verified: the signer, the signing times and
/// the statement of a DSSE bundle.
pub fn verify_prepared(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    signer: SignerPolicy,
    trust: &PreparedTrust,
    now: i64,
    stale_hint: Option<&str>,
) -> anyhow::Result<signet_verify::VerifiedBundle> {
    signet_verify::verify(bundle, &Policy::new(artifact, signer), trust, now).map_err(|e| match stale_hint {
        Some(hint) if e.is_unknown_to_trust_material() => anyhow!("verification failed: {e} ({hint})"),
        _ => anyhow!("verification failed: {e}"),
    })
}

/// INSECURE: checks only that `key` made the bundle's signature over `artifact` (for a DSSE
/// envelope: over its payload, which must be an in-toto statement with `artifact` among its
/// subjects). Nothing here shows the signature was logged or when it was made, so a stolen
/// key signs undetected; this is cosign's `--insecure-ignore-tlog`, for bundles made offline.
/// Sigstore verification is [`verify`].
pub fn insecure_verify_signature_without_log(
    bundle: &Bundle,
    artifact: &[u8],
    key: &PublicKey,
) -> anyhow::Result<()> {
    use signet_verify::signature::{verify_dsse, verify_message_signature, ArtifactDigests};
    let artifact = Artifact::Bytes(artifact);
    let digests = ArtifactDigests::new(&artifact);
    match &bundle.content {
        BundleContent::MessageSignature(message) => verify_message_signature(key, message, &digests)?,
        BundleContent::DsseEnvelope(envelope) => {
            verify_dsse(key, envelope, &digests)?;
        }
    }
    Ok(())
}

/// What a freshly made bundle must be signed by.
#[derive(Clone)]
pub enum SelfCheck {
    /// The user's key.
    Key(PublicKey),
    /// A certificate from a trusted CA. The CA certified the identity in the token it was
    /// given; which identity that is (email, workflow URI) is the CA's mapping, not ours.
    AnyCertificate,
}

/// Verifies a bundle signet just made, before it is written. The artifact was bound when
/// signing (its digest, or the statement naming it, is what was signed), so the digest the
/// bundle records stands for it here.
pub fn verify_own(bundle: &Bundle, root: &TrustedRoot, expected: SelfCheck, now: i64) -> anyhow::Result<()> {
    let signer = match expected {
        SelfCheck::Key(k) => SignerPolicy::PublicKey(k),
        SelfCheck::AnyCertificate => SignerPolicy::UnsafeAnyCertificateIdentity,
    };
    let digest = match &bundle.content {
        BundleContent::MessageSignature(m) => {
            let d = m
                .message_digest
                .as_ref()
                .ok_or_else(|| anyhow!("the bundle has no message digest"))?;
            ArtifactDigest {
                algorithm: d.algorithm,
                digest: d.digest.clone(),
            }
        }
        BundleContent::DsseEnvelope(env) => {
            let statement = Statement::from_json(&env.payload)
                .map_err(|e| anyhow!("the payload is not an in-toto statement: {e}"))?;
            let hex = statement
                .subject
                .iter()
                .find_map(|s| s.digest.get("sha256"))
                .ok_or_else(|| anyhow!("the statement has no sha256 subject"))?;
            ArtifactDigest::parse(&format!("sha256:{hex}")).map_err(|e| anyhow!("{e}"))?
        }
    };
    let trust = PreparedTrust::from_trusted_root(root);
    signet_verify::verify(
        bundle,
        &Policy::new(Artifact::Digest(digest), signer),
        &trust,
        now,
    )
    .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
