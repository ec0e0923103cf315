//! From a verified token's claims to the certificate identity, one function per issuer type,
//! following what Fulcio's `pkg/identity/*/principal.go` put in a certificate.

use serde_json::Value;
use signet_x509::{CertificateIdentity, FulcioExtensions, SubjectAlternativeName};

use crate::claims::{invalid, missing, Claims, RegisteredClaims};
use crate::config::{IssuerConfig, IssuerType};
use crate::TokenError;

/// What a token says about its holder: the certificate identity and the value the client's
/// proof of possession must sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub identity: CertificateIdentity,
    pub challenge: String,
}

/// Maps a token whose signature and registered claims have been checked.
pub fn principal_from_claims(
    config: &IssuerConfig,
    claims: &Claims,
    registered: &RegisteredClaims,
) -> Result<Principal, TokenError> {
    let iss = registered.iss.as_str();
    let sub = registered.sub.as_str();
    let mut extensions = FulcioExtensions {
        issuer: Some(iss.to_owned()),
        ..FulcioExtensions::default()
    };
    let san = match config.issuer_type {
        IssuerType::Email => email(config, claims, &mut extensions)?,
        IssuerType::GithubWorkflow => github_workflow(claims, &mut extensions)?,
        IssuerType::GitlabPipeline => gitlab_pipeline(iss, claims, &mut extensions)?,
        IssuerType::Spiffe => spiffe(config, sub)?,
        IssuerType::Kubernetes => kubernetes(claims)?,
        IssuerType::Uri => uri(config, sub)?,
        IssuerType::Username => username(config, sub)?,
    };
    let challenge = match config.challenge_claim.as_deref() {
        Some(claim) => claims.required_string(claim)?.to_owned(),
        None if config.issuer_type == IssuerType::Email => san.value().to_owned(),
        None => sub.to_owned(),
    };
    Ok(Principal {
        identity: CertificateIdentity { san, extensions },
        challenge,
    })
}

/// `email`: the `email` claim, which the issuer must say it verified. Like Fulcio's
/// `stringAsBool`, `email_verified` may be the boolean or the string `"true"`/`"True"`
/// (some providers, e.g. AWS Cognito, send a string).
fn email(
    config: &IssuerConfig,
    claims: &Claims,
    extensions: &mut FulcioExtensions,
) -> Result<SubjectAlternativeName, TokenError> {
    let address = claims.required_string("email")?;
    if !config.insecure_skip_email_verification {
        let verified = match claims.get("email_verified") {
            None | Some(Value::Null) => return Err(missing("email_verified")),
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" || s == "True" => true,
            Some(Value::String(s)) if s == "false" || s == "False" => false,
            Some(other) => return Err(invalid("email_verified", "a boolean", other)),
        };
        if !verified {
            return Err(TokenError::EmailNotVerified {
                email: address.to_owned(),
            });
        }
    }
    if !is_email(address) {
        return Err(TokenError::InvalidEmail {
            email: address.to_owned(),
        });
    }
    if let Some(path) = &config.issuer_claim {
        extensions.issuer = Some(claims.string_at_path(path)?.to_owned());
    }
    Ok(SubjectAlternativeName::Email(address.to_owned()))
}

/// A conservative address check: one `@`, a non-empty local part, a dotted domain of
/// letters, digits and hyphens, no spaces or control characters.
fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !"@<>()[]\\,;:\"".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

const GITHUB: &str = "https://github.com";

/// `github-workflow`: a GitHub Actions token (claims documented in GitHub's "About security
/// hardening with OpenID Connect"). Every claim Fulcio requires is required here.
fn github_workflow(
    claims: &Claims,
    ext: &mut FulcioExtensions,
) -> Result<SubjectAlternativeName, TokenError> {
    let get = |name| claims.required_string(name).map(str::to_owned);
    let job_workflow_ref = get("job_workflow_ref")?;
    let sha = get("sha")?;
    let event_name = get("event_name")?;
    let repository = get("repository")?;
    let workflow = get("workflow")?;
    let git_ref = get("ref")?;
    let job_workflow_sha = get("job_workflow_sha")?;
    let runner_environment = get("runner_environment")?;
    let repository_id = get("repository_id")?;
    let repository_owner = get("repository_owner")?;
    let repository_owner_id = get("repository_owner_id")?;
    let repository_visibility = get("repository_visibility")?;
    let workflow_ref = get("workflow_ref")?;
    let workflow_sha = get("workflow_sha")?;
    let run_id = get("run_id")?;
    let run_attempt = get("run_attempt")?;
    let environment = claims.string("environment")?.filter(|e| !e.is_empty());

    let signer = join_url(GITHUB, &[&job_workflow_ref]);
    // Deprecated .2-.6, still written for GitHub by Fulcio.
    ext.github_workflow_trigger = Some(event_name.clone());
    ext.github_workflow_sha = Some(sha.clone());
    ext.github_workflow_name = Some(workflow);
    ext.github_workflow_repository = Some(repository.clone());
    ext.github_workflow_ref = Some(git_ref.clone());

    ext.build_signer_uri = Some(signer.clone());
    ext.build_signer_digest = Some(job_workflow_sha);
    ext.runner_environment = Some(runner_environment);
    ext.source_repository_uri = Some(join_url(GITHUB, &[&repository]));
    ext.source_repository_digest = Some(sha);
    ext.source_repository_ref = Some(git_ref);
    ext.source_repository_identifier = Some(repository_id);
    ext.source_repository_owner_uri = Some(join_url(GITHUB, &[&repository_owner]));
    ext.source_repository_owner_identifier = Some(repository_owner_id);
    ext.build_config_uri = Some(join_url(GITHUB, &[&workflow_ref]));
    ext.build_config_digest = Some(workflow_sha);
    ext.build_trigger = Some(event_name);
    ext.run_invocation_uri = Some(join_url(
        GITHUB,
        &[&repository, "actions/runs", &run_id, "attempts", &run_attempt],
    ));
    ext.source_repository_visibility_at_signing = Some(repository_visibility);
    ext.deployment_environment = environment.map(str::to_owned);
    Ok(SubjectAlternativeName::Uri(signer))
}

/// `gitlab-pipeline`: a GitLab CI `id_tokens` token (Fulcio's `gitlabcom` principal). The
/// instance URL is the issuer's, so a self-managed GitLab maps as gitlab.com does.
fn gitlab_pipeline(
    iss: &str,
    claims: &Claims,
    ext: &mut FulcioExtensions,
) -> Result<SubjectAlternativeName, TokenError> {
    let get = |name| claims.required_string(name).map(str::to_owned);
    let project_path = get("project_path")?;
    let pipeline_source = get("pipeline_source")?;
    get("pipeline_id")?;
    let ci_config_ref_uri = get("ci_config_ref_uri")?;
    let job_id = get("job_id")?;
    let short_ref = get("ref")?;
    let ref_type = get("ref_type")?;
    let namespace_path = get("namespace_path")?;
    let namespace_id = get("namespace_id")?;
    let project_id = get("project_id")?;
    let sha = get("sha")?;
    let runner_environment = get("runner_environment")?;
    match claims.get("runner_id") {
        Some(v) if v.as_i64().is_some_and(|id| id != 0) => {}
        Some(v) if !v.is_null() => return Err(invalid("runner_id", "a non-zero integer", v)),
        _ => return Err(missing("runner_id")),
    }
    let ci_config_sha = claims.string("ci_config_sha")?.filter(|s| !s.is_empty());
    let visibility = claims.string("project_visibility")?.filter(|s| !s.is_empty());
    let git_ref = match ref_type.as_str() {
        "branch" => format!("refs/heads/{short_ref}"),
        "tag" => format!("refs/tags/{short_ref}"),
        other => {
            return Err(TokenError::InvalidClaim {
                claim: "ref_type".into(),
                expected: "\"branch\" or \"tag\"",
                got: format!("{other:?}"),
            })
        }
    };
    // ci_config_ref_uri has no scheme ("gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main");
    // Fulcio makes it https.
    let host_and_path = ci_config_ref_uri
        .split_once("://")
        .map_or(ci_config_ref_uri.as_str(), |(_, rest)| rest);
    let config_uri = format!("https://{host_and_path}");

    ext.build_config_uri = Some(config_uri.clone());
    ext.build_config_digest = ci_config_sha.map(str::to_owned);
    ext.build_signer_uri = Some(config_uri.clone());
    ext.build_signer_digest = ci_config_sha.map(str::to_owned);
    ext.runner_environment = Some(runner_environment);
    ext.source_repository_uri = Some(join_url(iss, &[&project_path]));
    ext.source_repository_digest = Some(sha);
    ext.source_repository_ref = Some(git_ref);
    ext.source_repository_identifier = Some(project_id);
    ext.source_repository_owner_uri = Some(join_url(iss, &[&namespace_path]));
    ext.source_repository_owner_identifier = Some(namespace_id);
    ext.build_trigger = Some(pipeline_source);
    ext.run_invocation_uri = Some(join_url(iss, &[&project_path, "-/jobs", &job_id]));
    ext.source_repository_visibility_at_signing = visibility.map(str::to_owned);
    Ok(SubjectAlternativeName::Uri(config_uri))
}

/// `spiffe`: the subject is a SPIFFE ID in the configured trust domain.
fn spiffe(config: &IssuerConfig, sub: &str) -> Result<SubjectAlternativeName, TokenError> {
    let expected = config.spiffe_trust_domain.as_deref().unwrap_or_default();
    let expected = spiffe_trust_domain(expected).unwrap_or(expected);
    let domain = spiffe_id_trust_domain(sub).map_err(|reason| TokenError::InvalidSubject {
        subject: sub.to_owned(),
        issuer_type: "spiffe",
        reason,
    })?;
    if domain != expected {
        return Err(TokenError::SpiffeTrustDomainMismatch {
            subject: sub.to_owned(),
            got: domain.to_owned(),
            expected: expected.to_owned(),
        });
    }
    Ok(SubjectAlternativeName::Uri(sub.to_owned()))
}

/// A trust domain as configured: a bare name or `spiffe://name`, of `[a-z0-9._-]`.
pub(crate) fn spiffe_trust_domain(configured: &str) -> Result<&str, String> {
    let name = configured.strip_prefix("spiffe://").unwrap_or(configured);
    if name.is_empty() || !name.bytes().all(spiffe_trust_domain_char) {
        return Err("a trust domain is one or more of [a-z0-9._-]".into());
    }
    Ok(name)
}

fn spiffe_trust_domain_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
}

/// The trust domain of a SPIFFE ID, after checking its syntax (SPIFFE-ID §2): `spiffe://`,
/// a trust domain of `[a-z0-9._-]`, then optional path segments of `[a-zA-Z0-9._-]` that are
/// neither empty nor `.` or `..`; no query, fragment, port or user info.
fn spiffe_id_trust_domain(id: &str) -> Result<&str, String> {
    let rest = id
        .strip_prefix("spiffe://")
        .ok_or("a SPIFFE ID starts with spiffe://")?;
    let (domain, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    spiffe_trust_domain(domain)?;
    if !path.is_empty() {
        for segment in path[1..].split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err("path segments may not be empty, . or ..".into());
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            {
                return Err("path segments are [a-zA-Z0-9._-]".into());
            }
        }
    }
    Ok(domain)
}

/// `kubernetes`: the service account from the `kubernetes.io` claim of a projected
/// service-account token.
fn kubernetes(claims: &Claims) -> Result<SubjectAlternativeName, TokenError> {
    let k8s = claims
        .get("kubernetes.io")
        .ok_or_else(|| missing("kubernetes.io"))?;
    let field = |path: &[&str]| -> Result<String, TokenError> {
        let name = format!("kubernetes.io.{}", path.join("."));
        let mut v = Some(k8s);
        for p in path {
            v = v.and_then(|v| v.get(p));
        }
        match v {
            Some(Value::String(s)) if !s.is_empty() => {
                // The values become URI path segments: refuse anything that would add one.
                if s.contains(['/', '?', '#']) || s == "." || s == ".." {
                    Err(invalid(
                        &name,
                        "a Kubernetes object name",
                        &Value::String(s.clone()),
                    ))
                } else {
                    Ok(s.clone())
                }
            }
            None | Some(Value::Null) | Some(Value::String(_)) => Err(missing(&name)),
            Some(other) => Err(invalid(&name, "a string", other)),
        }
    };
    let namespace = field(&["namespace"])?;
    let service_account = field(&["serviceaccount", "name"])?;
    Ok(SubjectAlternativeName::Uri(format!(
        "https://kubernetes.io/namespaces/{namespace}/serviceaccounts/{service_account}"
    )))
}

/// `uri`: the subject is a URI with the scheme and host of the configured `SubjectDomain`.
fn uri(config: &IssuerConfig, sub: &str) -> Result<SubjectAlternativeName, TokenError> {
    let expected = config.subject_domain.as_deref().unwrap_or_default();
    let invalid_subject = |reason: String| TokenError::InvalidSubject {
        subject: sub.to_owned(),
        issuer_type: "uri",
        reason,
    };
    if is_email(sub) {
        return Err(invalid_subject(
            "a uri subject may not be an email address".into(),
        ));
    }
    let subject = url::Url::parse(sub).map_err(|e| invalid_subject(e.to_string()))?;
    let domain = url::Url::parse(expected).map_err(|e| invalid_subject(e.to_string()))?;
    if subject.scheme() != domain.scheme() || subject.host_str() != domain.host_str() {
        return Err(TokenError::SubjectDomainMismatch {
            subject: sub.to_owned(),
            expected: expected.to_owned(),
        });
    }
    Ok(SubjectAlternativeName::Uri(sub.to_owned()))
}

/// `username`: the subject is a user name, written `user!domain` in an otherName SAN.
fn username(config: &IssuerConfig, sub: &str) -> Result<SubjectAlternativeName, TokenError> {
    let invalid_subject = |reason: &str| TokenError::InvalidSubject {
        subject: sub.to_owned(),
        issuer_type: "username",
        reason: reason.to_owned(),
    };
    if sub.contains('!') {
        return Err(invalid_subject("a username may not contain !"));
    }
    if is_email(sub) {
        return Err(invalid_subject("a username may not be an email address"));
    }
    let domain = config.subject_domain.as_deref().unwrap_or_default();
    Ok(SubjectAlternativeName::OtherName(format!("{sub}!{domain}")))
}

/// `base` and `parts` joined with single slashes, as Go's `url.JoinPath` does for these
/// well-formed values.
fn join_url(base: &str, parts: &[&str]) -> String {
    let mut out = base.trim_end_matches('/').to_owned();
    for part in parts {
        out.push('/');
        out.push_str(part.trim_matches('/'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_ids() {
        assert_eq!(
            spiffe_id_trust_domain("spiffe://example.org/ns/prod/sa/web"),
            Ok("example.org")
        );
        assert_eq!(spiffe_id_trust_domain("spiffe://example.org"), Ok("example.org"));
        for bad in [
            "https://example.org/x",
            "spiffe://Example.org/x",
            "spiffe://example.org/",
            "spiffe://example.org//x",
            "spiffe://example.org/../x",
            "spiffe://example.org/x?y",
            "spiffe://example.org:443/x",
            "spiffe://user@example.org/x",
            "spiffe:///x",
        ] {
            assert!(spiffe_id_trust_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for good in ["alice@example.com", "a.b+tag@sub.example.co.uk"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "a@example",
            "a@b@example.com",
            "a@-x.example.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn joins_urls_like_go() {
        assert_eq!(
            join_url("https://gitlab.com/", &["group/project", "-/jobs", "42"]),
            "https://gitlab.com/group/project/-/jobs/42"
        );
    }
}
