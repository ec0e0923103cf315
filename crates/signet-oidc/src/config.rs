//! Which OpenID issuers the CA trusts, in Fulcio's configuration shape (`config/config.go`):
//!
//! ```json
//! {
//!   "OIDCIssuers": {
//!     "https://token.actions.githubusercontent.com": {
//!       "IssuerURL": "https://token.actions.githubusercontent.com",
//!       "ClientID": "sigstore",
//!       "Type": "github-workflow"
//!     }
//!   },
//!   "MetaIssuers": {
//!     "https://oidc.eks.*.amazonaws.com/id/*": { "ClientID": "sigstore", "Type": "kubernetes" }
//!   }
//! }
//! ```
//!
//! JSON only: Fulcio also reads YAML, but `serde_yaml` is unmaintained and JSON is what the
//! public instance's config map holds. Unknown members (`Description`, `Contact`, ...) are
//! ignored as Fulcio ignores them; issuer types and members signet does not implement
//! (`ci-provider`, `CACert`, ...) are refused at load rather than half-honoured.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// The audience Sigstore clients request by default.
pub const DEFAULT_CLIENT_ID: &str = "sigstore";

/// How a token's claims become a certificate identity (Fulcio's `IssuerType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssuerType {
    Email,
    GithubWorkflow,
    GitlabPipeline,
    Spiffe,
    Kubernetes,
    Uri,
    Username,
}

impl IssuerType {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "email" => IssuerType::Email,
            "github-workflow" => IssuerType::GithubWorkflow,
            "gitlab-pipeline" => IssuerType::GitlabPipeline,
            "spiffe" => IssuerType::Spiffe,
            "kubernetes" => IssuerType::Kubernetes,
            "uri" => IssuerType::Uri,
            "username" => IssuerType::Username,
            _ => return None,
        })
    }

    /// The name in Fulcio's configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerType::Email => "email",
            IssuerType::GithubWorkflow => "github-workflow",
            IssuerType::GitlabPipeline => "gitlab-pipeline",
            IssuerType::Spiffe => "spiffe",
            IssuerType::Kubernetes => "kubernetes",
            IssuerType::Uri => "uri",
            IssuerType::Username => "username",
        }
    }

    /// The claim whose value the client's proof of possession signs, unless the issuer's
    /// `ChallengeClaim` says otherwise (Fulcio's `issuerToChallengeClaim`).
    pub fn default_challenge_claim(self) -> &'static str {
        match self {
            IssuerType::Email => "email",
            _ => "sub",
        }
    }
}

impl std::fmt::Display for IssuerType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One trusted issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerConfig {
    /// The `iss` a token must carry (for a meta issuer, filled in from the token).
    pub issuer_url: String,
    /// The audience a token must carry.
    pub client_id: String,
    pub issuer_type: IssuerType,
    /// `uri`: the scheme and host every subject must have; `username`: the domain after `!`.
    pub subject_domain: Option<String>,
    /// `spiffe`: the trust domain every subject must be in.
    pub spiffe_trust_domain: Option<String>,
    /// Overrides the claim the proof of possession signs.
    pub challenge_claim: Option<String>,
    /// `email`: a `$.a.b` path to the claim written as the certificate's issuer, for a
    /// federating issuer such as Dex (`$.federated_claims.connector_id`).
    pub issuer_claim: Option<String>,
    /// `email`: accept tokens without `email_verified: true`. Fulcio's `SkipEmailVerification`;
    /// only for internal providers that verify addresses some other way.
    pub insecure_skip_email_verification: bool,
}

impl IssuerConfig {
    /// An issuer with client id `sigstore` and nothing else set.
    pub fn new(issuer_url: impl Into<String>, issuer_type: IssuerType) -> Self {
        IssuerConfig {
            issuer_url: issuer_url.into(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            issuer_type,
            subject_domain: None,
            spiffe_trust_domain: None,
            challenge_claim: None,
            issuer_claim: None,
            insecure_skip_email_verification: false,
        }
    }

    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    pub fn with_subject_domain(mut self, domain: impl Into<String>) -> Self {
        self.subject_domain = Some(domain.into());
        self
    }

    pub fn with_spiffe_trust_domain(mut self, domain: impl Into<String>) -> Self {
        self.spiffe_trust_domain = Some(domain.into());
        self
    }

    pub fn with_challenge_claim(mut self, claim: impl Into<String>) -> Self {
        self.challenge_claim = Some(claim.into());
        self
    }

    pub fn with_issuer_claim(mut self, path: impl Into<String>) -> Self {
        self.issuer_claim = Some(path.into());
        self
    }

    /// The claim the proof of possession signs.
    pub fn challenge_claim(&self) -> &str {
        self.challenge_claim
            .as_deref()
            .unwrap_or(self.issuer_type.default_challenge_claim())
    }
}

/// The JSON form of one issuer, member names as Fulcio spells them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RawIssuer {
    #[serde(rename = "IssuerURL", default, skip_serializing_if = "String::is_empty")]
    issuer_url: String,
    #[serde(rename = "ClientID", default, skip_serializing_if = "String::is_empty")]
    client_id: String,
    #[serde(rename = "Type", default)]
    issuer_type: String,
    #[serde(rename = "SubjectDomain", default, skip_serializing_if = "String::is_empty")]
    subject_domain: String,
    #[serde(
        rename = "SPIFFETrustDomain",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    spiffe_trust_domain: String,
    #[serde(rename = "ChallengeClaim", default, skip_serializing_if = "String::is_empty")]
    challenge_claim: String,
    #[serde(rename = "IssuerClaim", default, skip_serializing_if = "String::is_empty")]
    issuer_claim: String,
    #[serde(rename = "SkipEmailVerification", default, skip_serializing_if = "is_false")]
    skip_email_verification: bool,
    #[serde(rename = "CACert", default, skip_serializing_if = "String::is_empty")]
    ca_cert: String,
    #[serde(rename = "CIProvider", default, skip_serializing_if = "String::is_empty")]
    ci_provider: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RawConfig {
    #[serde(rename = "OIDCIssuers", default)]
    oidc_issuers: BTreeMap<String, RawIssuer>,
    #[serde(rename = "MetaIssuers", default)]
    meta_issuers: BTreeMap<String, RawIssuer>,
}

/// The trusted issuers, validated, with lookup by a token's `iss`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuerSet {
    issuers: BTreeMap<String, IssuerConfig>,
    /// Pattern and configuration, in the pattern's sort order (a BTreeMap's, so lookup is
    /// deterministic where Go's map iteration is not).
    meta_issuers: Vec<(String, IssuerConfig)>,
}

impl IssuerSet {
    /// An empty set: every token is refused until issuers are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads Fulcio's JSON configuration.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        let raw: RawConfig = crate::jws::json_object(bytes)?;
        let mut set = IssuerSet::new();
        for (key, raw) in raw.oidc_issuers {
            let url = if raw.issuer_url.is_empty() {
                key.clone()
            } else {
                raw.issuer_url.clone()
            };
            if url != key {
                return Err(ConfigError::KeyMismatch { key, url });
            }
            set = set.with_issuer(issuer_from_raw(url, raw)?)?;
        }
        for (pattern, raw) in raw.meta_issuers {
            let config = issuer_from_raw(pattern.clone(), raw)?;
            set = set.with_meta_issuer(&pattern, config)?;
        }
        Ok(set)
    }

    /// Writes the set back in Fulcio's JSON shape.
    pub fn to_json(&self) -> String {
        let raw = RawConfig {
            oidc_issuers: self
                .issuers
                .iter()
                .map(|(k, c)| (k.clone(), raw_from_issuer(c, true)))
                .collect(),
            meta_issuers: self
                .meta_issuers
                .iter()
                .map(|(k, c)| (k.clone(), raw_from_issuer(c, false)))
                .collect(),
        };
        serde_json::to_string_pretty(&raw).unwrap_or_default()
    }

    /// Adds an issuer after checking it as Fulcio's `validateConfig` does.
    pub fn with_issuer(mut self, config: IssuerConfig) -> Result<Self, ConfigError> {
        check_issuer_url(&config.issuer_url)?;
        validate_issuer(&config)?;
        if self.issuers.contains_key(&config.issuer_url) {
            return Err(ConfigError::Duplicate {
                issuer: config.issuer_url,
            });
        }
        self.issuers.insert(config.issuer_url.clone(), config);
        Ok(self)
    }

    /// Adds a meta issuer: `pattern` is an issuer URL in which each `*` stands for one run of
    /// `[-_a-zA-Z0-9]` (so never a `.` or `/`), e.g. `https://oidc.eks.*.amazonaws.com/id/*`.
    pub fn with_meta_issuer(mut self, pattern: &str, mut config: IssuerConfig) -> Result<Self, ConfigError> {
        check_issuer_url(&pattern.replace('*', "x"))?;
        config.issuer_url = pattern.to_owned();
        if config.issuer_type == IssuerType::Spiffe {
            // Fulcio: a trust domain per concrete issuer cannot be expressed for a pattern.
            return Err(ConfigError::UnsupportedType {
                issuer: pattern.to_owned(),
                issuer_type: "spiffe (as a meta issuer)".into(),
            });
        }
        validate_issuer(&config)?;
        if self.meta_issuers.iter().any(|(p, _)| p == pattern) {
            return Err(ConfigError::Duplicate {
                issuer: pattern.to_owned(),
            });
        }
        self.meta_issuers.push((pattern.to_owned(), config));
        self.meta_issuers.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(self)
    }

    /// The configuration for a token's `iss`: an exact issuer first, then the first meta
    /// issuer whose pattern matches (with `issuer_url` set to `iss`). `None`: refuse the token.
    pub fn lookup(&self, iss: &str) -> Option<IssuerConfig> {
        if let Some(config) = self.issuers.get(iss) {
            return Some(config.clone());
        }
        self.meta_issuers
            .iter()
            .find(|(pattern, _)| meta_issuer_matches(pattern, iss))
            .map(|(_, config)| IssuerConfig {
                issuer_url: iss.to_owned(),
                ..config.clone()
            })
    }

    /// The exactly-named issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &IssuerConfig> {
        self.issuers.values()
    }

    /// The meta issuers as (pattern, configuration).
    pub fn meta_issuers(&self) -> impl Iterator<Item = (&str, &IssuerConfig)> {
        self.meta_issuers.iter().map(|(p, c)| (p.as_str(), c))
    }
}

/// Whether `iss` matches a meta-issuer pattern: literal characters match themselves and each
/// `*` matches one or more of `[-_a-zA-Z0-9]`, anchored at both ends (Fulcio's `MetaRegex`,
/// anchored since GHSA-59jp-pj84-45mr). Dynamic programming over (pattern, input) positions, so
/// the cost is bounded by their product whatever the input.
pub fn meta_issuer_matches(pattern: &str, iss: &str) -> bool {
    fn star_char(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    }
    let p = pattern.as_bytes();
    let s = iss.as_bytes();
    if s.len() > 4096 {
        return false;
    }
    // reach[j]: the pattern prefix seen so far matches s[..j].
    let mut reach = vec![false; s.len() + 1];
    reach[0] = true;
    for &pc in p {
        let mut next = vec![false; s.len() + 1];
        if pc == b'*' {
            for j in 0..s.len() {
                // One star character after a match, or extend the star's run.
                if (reach[j] || next[j]) && star_char(s[j]) {
                    next[j + 1] = true;
                }
            }
        } else {
            for j in 0..s.len() {
                if reach[j] && s[j] == pc {
                    next[j + 1] = true;
                }
            }
        }
        reach = next;
    }
    reach[s.len()]
}

/// Issuer URLs are https, or http on a loopback host (the development provider runs in the
/// same server at `http://127.0.0.1:PORT/oidc`).
fn check_issuer_url(issuer: &str) -> Result<(), ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidIssuerUrl {
        issuer: issuer.to_owned(),
        reason,
    };
    let url = url::Url::parse(issuer).map_err(|e| invalid(e.to_string()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("has a query or fragment".into()));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        other => Err(invalid(format!(
            "scheme {other} (https, or http on a loopback host)"
        ))),
    }
}

pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn issuer_from_raw(url: String, raw: RawIssuer) -> Result<IssuerConfig, ConfigError> {
    let issuer_type = IssuerType::parse(&raw.issuer_type).ok_or_else(|| ConfigError::UnsupportedType {
        issuer: url.clone(),
        issuer_type: raw.issuer_type.clone(),
    })?;
    for (field, value) in [("CACert", &raw.ca_cert), ("CIProvider", &raw.ci_provider)] {
        if !value.is_empty() {
            return Err(ConfigError::UnsupportedField { issuer: url, field });
        }
    }
    let some = |s: String| (!s.is_empty()).then_some(s);
    let mut config = IssuerConfig::new(url, issuer_type);
    if !raw.client_id.is_empty() {
        config.client_id = raw.client_id;
    }
    config.subject_domain = some(raw.subject_domain);
    config.spiffe_trust_domain = some(raw.spiffe_trust_domain);
    config.challenge_claim = some(raw.challenge_claim);
    config.issuer_claim = some(raw.issuer_claim);
    config.insecure_skip_email_verification = raw.skip_email_verification;
    Ok(config)
}

fn raw_from_issuer(c: &IssuerConfig, with_url: bool) -> RawIssuer {
    RawIssuer {
        issuer_url: if with_url {
            c.issuer_url.clone()
        } else {
            String::new()
        },
        client_id: c.client_id.clone(),
        issuer_type: c.issuer_type.as_str().to_owned(),
        subject_domain: c.subject_domain.clone().unwrap_or_default(),
        spiffe_trust_domain: c.spiffe_trust_domain.clone().unwrap_or_default(),
        challenge_claim: c.challenge_claim.clone().unwrap_or_default(),
        issuer_claim: c.issuer_claim.clone().unwrap_or_default(),
        skip_email_verification: c.insecure_skip_email_verification,
        ca_cert: String::new(),
        ci_provider: String::new(),
    }
}

/// The per-type checks of Fulcio's `validateConfig`.
fn validate_issuer(c: &IssuerConfig) -> Result<(), ConfigError> {
    let issuer = || c.issuer_url.clone();
    let ty = c.issuer_type.as_str();
    let invalid = |field: &'static str, value: &str, reason: String| ConfigError::InvalidField {
        issuer: issuer(),
        field,
        value: value.to_owned(),
        reason,
    };
    if c.client_id.is_empty() {
        return Err(ConfigError::MissingField {
            issuer: issuer(),
            field: "ClientID",
            issuer_type: ty,
        });
    }
    if let Some(path) = &c.issuer_claim {
        if c.issuer_type != IssuerType::Email {
            return Err(invalid(
                "IssuerClaim",
                path,
                "only email issuers may map the issuer from a claim".into(),
            ));
        }
        let ok = path.strip_prefix("$.").is_some_and(|rest| {
            rest.split('.').all(|name| {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
        });
        if !ok {
            return Err(invalid(
                "IssuerClaim",
                path,
                "only dotted paths like $.a.b are supported".into(),
            ));
        }
    }
    if c.insecure_skip_email_verification {
        tracing::warn!(
            issuer = %c.issuer_url,
            "SkipEmailVerification is set: tokens without email_verified=true are accepted"
        );
    }
    // Host names of the issuer, for the "same registrable domain" checks below. Meta-issuer
    // patterns have their stars replaced so they parse.
    let issuer_url = url::Url::parse(&c.issuer_url.replace('*', "x"))
        .map_err(|e| invalid("IssuerURL", &c.issuer_url, e.to_string()))?;
    let issuer_host = issuer_url.host_str().unwrap_or_default().to_owned();
    match c.issuer_type {
        IssuerType::Spiffe => {
            let domain = c
                .spiffe_trust_domain
                .as_deref()
                .ok_or_else(|| ConfigError::MissingField {
                    issuer: issuer(),
                    field: "SPIFFETrustDomain",
                    issuer_type: ty,
                })?;
            crate::principal::spiffe_trust_domain(domain)
                .map_err(|reason| invalid("SPIFFETrustDomain", domain, reason))?;
        }
        IssuerType::Uri => {
            let domain = required_subject_domain(c)?;
            let parsed =
                url::Url::parse(domain).map_err(|e| invalid("SubjectDomain", domain, e.to_string()))?;
            if parsed.scheme() != issuer_url.scheme() {
                return Err(invalid(
                    "SubjectDomain",
                    domain,
                    format!("scheme differs from the issuer's {}", issuer_url.scheme()),
                ));
            }
            same_domain(parsed.host_str().unwrap_or_default(), &issuer_host)
                .map_err(|reason| invalid("SubjectDomain", domain, reason))?;
        }
        IssuerType::Username => {
            let domain = required_subject_domain(c)?;
            if domain.contains("://") || domain.contains('!') || domain.contains('/') {
                return Err(invalid(
                    "SubjectDomain",
                    domain,
                    "a username issuer's domain is a bare host name".into(),
                ));
            }
            same_domain(domain, &issuer_host).map_err(|reason| invalid("SubjectDomain", domain, reason))?;
        }
        _ => {}
    }
    Ok(())
}

fn required_subject_domain(c: &IssuerConfig) -> Result<&str, ConfigError> {
    c.subject_domain
        .as_deref()
        .ok_or_else(|| ConfigError::MissingField {
            issuer: c.issuer_url.clone(),
            field: "SubjectDomain",
            issuer_type: c.issuer_type.as_str(),
        })
}

/// Fulcio's `validateAllowedDomain`: equal, or the same last two labels (an issuer may vouch
/// only for names under its own domain).
fn same_domain(subject_host: &str, issuer_host: &str) -> Result<(), String> {
    if subject_host == issuer_host {
        return Ok(());
    }
    let s: Vec<&str> = subject_host.split('.').collect();
    let i: Vec<&str> = issuer_host.split('.').collect();
    if s.len() < 2 || i.len() < 2 {
        return Err(format!(
            "host names {subject_host:?} and {issuer_host:?} need at least two labels"
        ));
    }
    if s[s.len() - 2..] == i[i.len() - 2..] {
        Ok(())
    } else {
        Err(format!(
            "{subject_host:?} is not under the issuer's domain {issuer_host:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_issuer_wildcards() {
        let eks = "https://oidc.eks.*.amazonaws.com/id/*";
        assert!(meta_issuer_matches(
            eks,
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB"
        ));
        for bad in [
            // `*` never crosses a `/` or a `.`.
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C/extra",
            "https://oidc.eks.evil.com/x.amazonaws.com/id/B02C",
            "https://oidc.eks.a.b.amazonaws.com/id/B02C",
            // `*` matches at least one character.
            "https://oidc.eks..amazonaws.com/id/B02C",
            "https://oidc.eks.us-west-2.amazonaws.com/id/",
            // Anchored at both ends.
            "http://localhost:3000?https://oidc.eks.us-west-2.amazonaws.com/id/B02C",
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C?x",
            // Characters outside [-_a-zA-Z0-9].
            "https://oidc.eks.us%2f.amazonaws.com/id/B02C",
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C:8443",
        ] {
            assert!(!meta_issuer_matches(eks, bad), "{bad}");
        }
        // The `.` in the pattern is literal, not a regex wildcard.
        assert!(!meta_issuer_matches(
            "https://oidc.eks.*.amazonaws.com/id/*",
            "https://oidc.eks.us-west-2XamazonawsXcom/id/B02C"
        ));
        let gke = "https://container.googleapis.com/v1/projects/*/locations/*/clusters/*";
        assert!(meta_issuer_matches(
            gke,
            "https://container.googleapis.com/v1/projects/mattmoor-credit/locations/us-west1-b/clusters/tenant-cluster"
        ));
        // Backtracking: the star's run may end where a literal that it could also match begins.
        assert!(meta_issuer_matches(
            "https://a*b.example",
            "https://axbbb.example"
        ));
        assert!(!meta_issuer_matches("https://a*b.example", "https://ab.example"));
    }

    const FULCIO_STYLE: &str = r#"{
      "OIDCIssuers": {
        "https://accounts.google.com": {"IssuerURL": "https://accounts.google.com", "ClientID": "sigstore", "Type": "email", "Description": "Google"},
        "https://oauth2.sigstore.dev/auth": {"IssuerURL": "https://oauth2.sigstore.dev/auth", "ClientID": "sigstore", "Type": "email", "IssuerClaim": "$.federated_claims.connector_id"},
        "https://token.actions.githubusercontent.com": {"IssuerURL": "https://token.actions.githubusercontent.com", "ClientID": "sigstore", "Type": "github-workflow"},
        "https://gitlab.com": {"IssuerURL": "https://gitlab.com", "ClientID": "sigstore", "Type": "gitlab-pipeline"},
        "https://spire.example.com": {"IssuerURL": "https://spire.example.com", "Type": "spiffe", "SPIFFETrustDomain": "example.com"},
        "https://ci.example.com": {"IssuerURL": "https://ci.example.com", "Type": "uri", "SubjectDomain": "https://ci.example.com"},
        "https://users.example.com": {"IssuerURL": "https://users.example.com", "Type": "username", "SubjectDomain": "example.com"}
      },
      "MetaIssuers": {
        "https://oidc.eks.*.amazonaws.com/id/*": {"ClientID": "sigstore", "Type": "kubernetes"}
      }
    }"#;

    #[test]
    fn loads_fulcio_shaped_json_and_looks_up() {
        let set = IssuerSet::from_json(FULCIO_STYLE.as_bytes()).unwrap();
        let gh = set.lookup("https://token.actions.githubusercontent.com").unwrap();
        assert_eq!(gh.issuer_type, IssuerType::GithubWorkflow);
        assert_eq!(gh.client_id, "sigstore");
        assert_eq!(gh.challenge_claim(), "sub");
        let spire = set.lookup("https://spire.example.com").unwrap();
        assert_eq!(spire.client_id, DEFAULT_CLIENT_ID);
        assert_eq!(spire.spiffe_trust_domain.as_deref(), Some("example.com"));
        let google = set.lookup("https://accounts.google.com").unwrap();
        assert_eq!(google.challenge_claim(), "email");
        let eks = set
            .lookup("https://oidc.eks.eu-central-1.amazonaws.com/id/ABC123")
            .unwrap();
        assert_eq!(eks.issuer_type, IssuerType::Kubernetes);
        assert_eq!(
            eks.issuer_url,
            "https://oidc.eks.eu-central-1.amazonaws.com/id/ABC123"
        );
        assert!(set.lookup("https://accounts.google.com/").is_none());
        assert!(set.lookup("https://evil.example").is_none());
        // Round trip.
        let again = IssuerSet::from_json(set.to_json().as_bytes()).unwrap();
        assert_eq!(again, set);
    }

    #[test]
    fn refuses_invalid_configurations() {
        let cases = [
            (
                r#"{"OIDCIssuers":{"https://a.example":{"Type":"ci-provider","CIProvider":"github-workflow"}}}"#,
                "not supported",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example":{"Type":"email","CACert":"-----BEGIN"}}}"#,
                "CACert",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example":{"IssuerURL":"https://b.example","Type":"email"}}}"#,
                "differs",
            ),
            (
                r#"{"OIDCIssuers":{"http://a.example":{"Type":"email"}}}"#,
                "scheme http",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example":{"Type":"spiffe"}}}"#,
                "SPIFFETrustDomain",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example":{"Type":"spiffe","SPIFFETrustDomain":"Bad Domain"}}}"#,
                "SPIFFETrustDomain",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example":{"Type":"uri"}}}"#,
                "SubjectDomain",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example.com":{"Type":"uri","SubjectDomain":"https://other.org"}}}"#,
                "not under",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example.com":{"Type":"uri","SubjectDomain":"http://a.example.com"}}}"#,
                "scheme",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example.com":{"Type":"username","SubjectDomain":"https://example.com"}}}"#,
                "bare host",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example":{"Type":"github-workflow","IssuerClaim":"$.x"}}}"#,
                "only email",
            ),
            (
                r#"{"OIDCIssuers":{"https://a.example":{"Type":"email","IssuerClaim":"$.x[0]"}}}"#,
                "dotted",
            ),
            (
                r#"{"MetaIssuers":{"https://*.example":{"Type":"spiffe","SPIFFETrustDomain":"example"}}}"#,
                "meta issuer",
            ),
            (r#"{"OIDCIssuers": []}"#, "JSON"),
        ];
        for (json, needle) in cases {
            let err = IssuerSet::from_json(json.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
        // Loopback http is fine (the development provider).
        IssuerSet::from_json(br#"{"OIDCIssuers":{"http://127.0.0.1:3000/oidc":{"Type":"email"}}}"#).unwrap();
    }
}
