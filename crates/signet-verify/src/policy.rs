//! What the caller asks the verifier to establish: which artifact was signed, and by whom.
//!
//! Both halves are explicit, as the client spec's verification policy is: the artifact is its
//! bytes or its digest, and the signer is a certificate identity, a public key, or — loudly
//! named — any certificate identity at all.

use signet_crypto::{HashAlgorithm, PublicKey};
use signet_x509::FulcioExtensions;
use thiserror::Error;

/// Why a policy could not be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("artifact digest {found:?} is not <algorithm>:<hex digits>, e.g. sha256:<64 hex digits>")]
    Digest { found: String },
    #[error("unsupported digest algorithm {found:?}; supported: {SUPPORTED_DIGESTS}")]
    DigestAlgorithm { found: String },
    #[error("a {algorithm} digest is {expected} hex digits; {found:?} has {found_len}")]
    DigestLength {
        algorithm: &'static str,
        expected: usize,
        found: String,
        found_len: usize,
    },
    #[error("regular expression {pattern:?} does not compile: {reason}")]
    Regex { pattern: String, reason: String },
}

/// A verification policy: the artifact and the signer.
#[derive(Debug, Clone)]
pub struct Policy<'a> {
    pub artifact: Artifact<'a>,
    pub signer: SignerPolicy,
}

impl<'a> Policy<'a> {
    pub fn new(artifact: Artifact<'a>, signer: SignerPolicy) -> Self {
        Policy { artifact, signer }
    }
}

/// The artifact the bundle must be a signature over.
#[derive(Debug, Clone)]
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// Only the artifact's digest. Signatures that need the whole message (pure Ed25519 over
    /// an artifact) cannot be checked this way.
    Digest(ArtifactDigest),
}

/// An artifact digest, e.g. from `sha256:<hex>` on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDigest {
    pub algorithm: HashAlgorithm,
    pub digest: Vec<u8>,
}

/// The digest algorithms an [`ArtifactDigest`] may name, as written before the colon.
pub const SUPPORTED_DIGESTS: &str = "sha256, sha384, sha512";

impl ArtifactDigest {
    /// Parses `sha256:<64 hex>`, `sha384:<96 hex>` or `sha512:<128 hex>` (npm provenance names
    /// its subjects by SHA-512).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let shown = |s: &str| s.chars().take(140).collect::<String>();
        let malformed = || PolicyError::Digest { found: shown(text) };
        let (name, hex) = text.split_once(':').ok_or_else(malformed)?;
        let algorithm =
            hash_from_name(name).ok_or_else(|| PolicyError::DigestAlgorithm { found: shown(name) })?;
        let digest = decode_hex(hex).ok_or_else(malformed)?;
        if digest.len() != algorithm.output_len() {
            return Err(PolicyError::DigestLength {
                algorithm: hash_name(algorithm),
                expected: 2 * algorithm.output_len(),
                found: shown(text),
                found_len: hex.len(),
            });
        }
        Ok(ArtifactDigest { algorithm, digest })
    }

    /// A SHA-256 digest.
    pub fn sha256(digest: [u8; 32]) -> Self {
        ArtifactDigest {
            algorithm: HashAlgorithm::Sha2_256,
            digest: digest.to_vec(),
        }
    }
}

/// The name in-toto and `sha256:` strings use for a hash (`sha256`).
pub(crate) fn hash_name(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Sha2_256 => "sha256",
        HashAlgorithm::Sha2_384 => "sha384",
        HashAlgorithm::Sha2_512 => "sha512",
    }
}

fn hash_from_name(name: &str) -> Option<HashAlgorithm> {
    match name {
        "sha256" => Some(HashAlgorithm::Sha2_256),
        "sha384" => Some(HashAlgorithm::Sha2_384),
        "sha512" => Some(HashAlgorithm::Sha2_512),
        _ => None,
    }
}

pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum SignerPolicy {
    /// A certificate from a trusted CA whose identity matches.
    Identity(IdentityPolicy),
    /// A key the caller holds (`managed-key` bundles, which carry only a key hint).
    PublicKey(PublicKey),
    /// UNSAFE: any certificate from a trusted CA, whoever it names. Anyone can get such a
    /// certificate for their own identity from a public CA, so this proves nothing about who
    /// signed; it exists for inspection tools that print the identity afterwards.
    UnsafeAnyCertificateIdentity,
}

/// The identity a signing certificate must state.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    /// Matched against the certificate's one subject alternative name.
    pub subject_alternative_name: Matcher,
    /// Matched against the Fulcio issuer extension (1.3.6.1.4.1.57264.1.8, else .1.1).
    pub issuer: Matcher,
    /// Further Fulcio extensions that must match.
    pub extensions: Vec<ExtensionMatch>,
}

impl IdentityPolicy {
    /// Exact SAN and exact issuer, the common case (`--certificate-identity`,
    /// `--certificate-oidc-issuer`).
    pub fn exact(san: impl Into<String>, issuer: impl Into<String>) -> Self {
        IdentityPolicy {
            subject_alternative_name: Matcher::Exact(san.into()),
            issuer: Matcher::Exact(issuer.into()),
            extensions: Vec::new(),
        }
    }

    /// Adds an extension requirement.
    pub fn with_extension(mut self, field: ExtensionField, expected: Matcher) -> Self {
        self.extensions.push(ExtensionMatch { field, expected });
        self
    }
}

/// An exact string or a regular expression.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Regex(IdentityRegex),
}

impl Matcher {
    /// A regular expression matcher with the meaning cosign and sigstore-go give it: Go's
    /// `regexp` syntax, whose `\d \w \s \b` are ASCII-only, matched as `MatchString` does,
    /// anywhere in the value (anchor it with `^…$` to match the whole value). Syntax Go reads
    /// differently, or only one of the two accepts, is refused; the module `go_regex` says what
    /// is rewritten, what is refused and what still differs.
    pub fn regex(pattern: &str) -> Result<Self, PolicyError> {
        IdentityRegex::new(pattern).map(Matcher::Regex)
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex(r) => r.re.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "{s:?}"),
            // As written: Debug would double every backslash of the pattern.
            Matcher::Regex(r) => write!(f, "a match for regex \"{}\"", r.pattern),
        }
    }
}

/// A compiled regular expression with its source, matching as Go's `regexp` does.
#[derive(Debug, Clone)]
pub struct IdentityRegex {
    pattern: String,
    re: regex_automata::meta::Regex,
}

impl IdentityRegex {
    /// Compiles `pattern` with Go's meaning (see [`Matcher::regex`]).
    pub fn new(pattern: &str) -> Result<Self, PolicyError> {
        let re = crate::go_regex::compile(pattern).map_err(|reason| PolicyError::Regex {
            pattern: pattern.to_string(),
            reason,
        })?;
        Ok(IdentityRegex {
            pattern: pattern.to_string(),
            re,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

/// A Fulcio extension requirement.
#[derive(Debug, Clone)]
pub struct ExtensionMatch {
    pub field: ExtensionField,
    pub expected: Matcher,
}

/// The Fulcio extensions a policy can require (Fulcio `docs/oid-info.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionField {
    BuildSignerUri,
    BuildSignerDigest,
    RunnerEnvironment,
    SourceRepositoryUri,
    SourceRepositoryDigest,
    SourceRepositoryRef,
    SourceRepositoryIdentifier,
    SourceRepositoryOwnerUri,
    SourceRepositoryOwnerIdentifier,
    BuildConfigUri,
    BuildConfigDigest,
    BuildTrigger,
    RunInvocationUri,
    SourceRepositoryVisibilityAtSigning,
    DeploymentEnvironment,
    GithubWorkflowTrigger,
    GithubWorkflowSha,
    GithubWorkflowName,
    GithubWorkflowRepository,
    GithubWorkflowRef,
}

impl ExtensionField {
    /// The extension's name and OID as Fulcio's `docs/oid-info.md` gives them, for messages.
    pub fn name(self) -> &'static str {
        use ExtensionField::*;
        match self {
            GithubWorkflowTrigger => "GitHub Workflow Trigger (1.3.6.1.4.1.57264.1.2)",
            GithubWorkflowSha => "GitHub Workflow SHA (1.3.6.1.4.1.57264.1.3)",
            GithubWorkflowName => "GitHub Workflow Name (1.3.6.1.4.1.57264.1.4)",
            GithubWorkflowRepository => "GitHub Workflow Repository (1.3.6.1.4.1.57264.1.5)",
            GithubWorkflowRef => "GitHub Workflow Ref (1.3.6.1.4.1.57264.1.6)",
            BuildSignerUri => "Build Signer URI (1.3.6.1.4.1.57264.1.9)",
            BuildSignerDigest => "Build Signer Digest (1.3.6.1.4.1.57264.1.10)",
            RunnerEnvironment => "Runner Environment (1.3.6.1.4.1.57264.1.11)",
            SourceRepositoryUri => "Source Repository URI (1.3.6.1.4.1.57264.1.12)",
            SourceRepositoryDigest => "Source Repository Digest (1.3.6.1.4.1.57264.1.13)",
            SourceRepositoryRef => "Source Repository Ref (1.3.6.1.4.1.57264.1.14)",
            SourceRepositoryIdentifier => "Source Repository Identifier (1.3.6.1.4.1.57264.1.15)",
            SourceRepositoryOwnerUri => "Source Repository Owner URI (1.3.6.1.4.1.57264.1.16)",
            SourceRepositoryOwnerIdentifier => "Source Repository Owner Identifier (1.3.6.1.4.1.57264.1.17)",
            BuildConfigUri => "Build Config URI (1.3.6.1.4.1.57264.1.18)",
            BuildConfigDigest => "Build Config Digest (1.3.6.1.4.1.57264.1.19)",
            BuildTrigger => "Build Trigger (1.3.6.1.4.1.57264.1.20)",
            RunInvocationUri => "Run Invocation URI (1.3.6.1.4.1.57264.1.21)",
            SourceRepositoryVisibilityAtSigning => {
                "Source Repository Visibility At Signing (1.3.6.1.4.1.57264.1.22)"
            }
            DeploymentEnvironment => "Deployment Environment (1.3.6.1.4.1.57264.1.23)",
        }
    }

    /// The value `extensions` holds for this field.
    pub fn value(self, e: &FulcioExtensions) -> Option<&str> {
        use ExtensionField::*;
        let v = match self {
            BuildSignerUri => &e.build_signer_uri,
            BuildSignerDigest => &e.build_signer_digest,
            RunnerEnvironment => &e.runner_environment,
            SourceRepositoryUri => &e.source_repository_uri,
            SourceRepositoryDigest => &e.source_repository_digest,
            SourceRepositoryRef => &e.source_repository_ref,
            SourceRepositoryIdentifier => &e.source_repository_identifier,
            SourceRepositoryOwnerUri => &e.source_repository_owner_uri,
            SourceRepositoryOwnerIdentifier => &e.source_repository_owner_identifier,
            BuildConfigUri => &e.build_config_uri,
            BuildConfigDigest => &e.build_config_digest,
            BuildTrigger => &e.build_trigger,
            RunInvocationUri => &e.run_invocation_uri,
            SourceRepositoryVisibilityAtSigning => &e.source_repository_visibility_at_signing,
            DeploymentEnvironment => &e.deployment_environment,
            GithubWorkflowTrigger => &e.github_workflow_trigger,
            GithubWorkflowSha => &e.github_workflow_sha,
            GithubWorkflowName => &e.github_workflow_name,
            GithubWorkflowRepository => &e.github_workflow_repository,
            GithubWorkflowRef => &e.github_workflow_ref,
        };
        v.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse() {
        let d = ArtifactDigest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        assert_eq!(d.algorithm, HashAlgorithm::Sha2_256);
        assert_eq!(d.digest, vec![0xab; 32]);
        let d = ArtifactDigest::parse(&format!("sha512:{}", "cd".repeat(64))).unwrap();
        assert_eq!(d.algorithm, HashAlgorithm::Sha2_512);
        assert_eq!(d.digest, vec![0xcd; 64]);
        let d = ArtifactDigest::parse(&format!("sha384:{}", "EF".repeat(48))).unwrap();
        assert_eq!((d.algorithm, d.digest), (HashAlgorithm::Sha2_384, vec![0xef; 48]));
        for bad in [
            "sha256:ab",
            "md5:00",
            "sha256",
            &format!("sha256:{}", "zz".repeat(32)),
            &format!("sha512:{}", "ab".repeat(32)),
        ] {
            assert!(ArtifactDigest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digest_errors_say_what_is_supported() {
        let e = ArtifactDigest::parse("md5:d41d8cd98f00b204e9800998ecf8427e").unwrap_err();
        assert_eq!(e, PolicyError::DigestAlgorithm { found: "md5".into() });
        assert_eq!(
            e.to_string(),
            "unsupported digest algorithm \"md5\"; supported: sha256, sha384, sha512"
        );
        let short = format!("sha512:{}", "ab".repeat(32));
        assert_eq!(
            ArtifactDigest::parse(&short).unwrap_err().to_string(),
            format!("a sha512 digest is 128 hex digits; {short:?} has 64")
        );
        assert!(matches!(
            ArtifactDigest::parse("0123abcd"),
            Err(PolicyError::Digest { .. })
        ));
    }

    #[test]
    fn matchers() {
        assert!(Matcher::Exact("a".into()).matches("a"));
        assert!(!Matcher::Exact("a".into()).matches("ab"));
        let r = Matcher::regex("^https://github.com/org/.*$").unwrap();
        assert!(r.matches("https://github.com/org/repo"));
        assert!(!r.matches("https://github.com/other/repo"));
        assert!(Matcher::regex("(").is_err());
    }
}
