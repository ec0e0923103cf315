//! What a code-signing certificate says about its signer: the subject alternative name and
//! the Fulcio extensions (OID arc 1.3.6.1.4.1.57264.1, documented in Fulcio's
//! `docs/oid-info.md`). The CA fills a [`CertificateIdentity`] from a verified identity
//! token; the certificate profile writes it; the verifier reads it back to match a policy.
//! Types only: encoding lives in `fulcio.rs`, token mapping in `signet-oidc`.

/// The certificate's subject alternative name, one per certificate as Fulcio issues them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectAlternativeName {
    /// rfc822Name: an email address (issuer type `email`).
    Email(String),
    /// uniformResourceIdentifier: a workflow ref, a SPIFFE ID, a Kubernetes service account
    /// URI, or an issuer-supplied URI (types `github-workflow`, `gitlab-pipeline`, `spiffe`,
    /// `kubernetes`, `uri`, ...).
    Uri(String),
    /// otherName with type-id 1.3.6.1.4.1.57264.1.7 and a UTF8String value `user!domain`
    /// (issuer type `username`).
    OtherName(String),
}

impl SubjectAlternativeName {
    /// The SAN's value as a verifier compares it with `--certificate-identity`.
    pub fn value(&self) -> &str {
        match self {
            SubjectAlternativeName::Email(v)
            | SubjectAlternativeName::Uri(v)
            | SubjectAlternativeName::OtherName(v) => v,
        }
    }
}

/// The Fulcio extensions a certificate carries; `None` fields are left out. Field names
/// follow Fulcio's `certificate.Extensions`, with the OID of each in its doc comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FulcioExtensions {
    /// .1.1 (deprecated, raw bytes) and .1.8 (DER UTF8String): the token's `iss`. Fulcio still
    /// writes both; clients match `--certificate-oidc-issuer` against either.
    pub issuer: Option<String>,

    /// .1.2 GitHub workflow trigger (deprecated, raw bytes; still written for GitHub).
    pub github_workflow_trigger: Option<String>,
    /// .1.3 GitHub workflow SHA (deprecated, raw bytes; still written for GitHub).
    pub github_workflow_sha: Option<String>,
    /// .1.4 GitHub workflow name (deprecated, raw bytes; still written for GitHub).
    pub github_workflow_name: Option<String>,
    /// .1.5 GitHub workflow repository (deprecated, raw bytes; still written for GitHub).
    pub github_workflow_repository: Option<String>,
    /// .1.6 GitHub workflow ref (deprecated, raw bytes; still written for GitHub).
    pub github_workflow_ref: Option<String>,

    /// .1.9 Build Signer URI.
    pub build_signer_uri: Option<String>,
    /// .1.10 Build Signer Digest.
    pub build_signer_digest: Option<String>,
    /// .1.11 Runner Environment.
    pub runner_environment: Option<String>,
    /// .1.12 Source Repository URI.
    pub source_repository_uri: Option<String>,
    /// .1.13 Source Repository Digest.
    pub source_repository_digest: Option<String>,
    /// .1.14 Source Repository Ref.
    pub source_repository_ref: Option<String>,
    /// .1.15 Source Repository Identifier.
    pub source_repository_identifier: Option<String>,
    /// .1.16 Source Repository Owner URI.
    pub source_repository_owner_uri: Option<String>,
    /// .1.17 Source Repository Owner Identifier.
    pub source_repository_owner_identifier: Option<String>,
    /// .1.18 Build Config URI.
    pub build_config_uri: Option<String>,
    /// .1.19 Build Config Digest.
    pub build_config_digest: Option<String>,
    /// .1.20 Build Trigger.
    pub build_trigger: Option<String>,
    /// .1.21 Run Invocation URI.
    pub run_invocation_uri: Option<String>,
    /// .1.22 Source Repository Visibility At Signing.
    pub source_repository_visibility_at_signing: Option<String>,
    /// .1.23 Deployment Environment.
    pub deployment_environment: Option<String>,
}

/// Everything the CA puts in a leaf certificate about who the signer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateIdentity {
    pub san: SubjectAlternativeName,
    pub extensions: FulcioExtensions,
}
