//! What the development tokens say: the request shapes for minting, their validation, and the
//! claim sets. The email shape is what Fulcio's `email` issuer type reads (`email`,
//! `email_verified`); the workflow shape follows the claim list of GitHub's "About security
//! hardening with OpenID Connect" page, which Fulcio's `github-workflow` type maps into its
//! certificate extensions. Pure: time and randomness come in as arguments.

use serde::Deserialize;
use serde_json::{Map, Value};
use signet_crypto::sha256;
use thiserror::Error;

/// The audience a token gets when the request names none: Sigstore's client id.
pub(crate) const DEFAULT_AUDIENCE: &str = "sigstore";
/// Lifetime of a token when the request gives none.
pub(crate) const DEFAULT_LIFETIME_SECS: u64 = 600;
/// Longest lifetime a token may ask for (one hour).
pub const MAX_LIFETIME_SECS: u64 = 3600;
/// Longest value of any one string field.
const MAX_FIELD_LEN: usize = 256;
/// RFC 5321 §4.5.3.1: a forward-path holds at most 254 octets of address.
const MAX_EMAIL_LEN: usize = 254;

const DEFAULT_REPOSITORY: &str = "signet-dev/example";
const DEFAULT_REF: &str = "refs/heads/main";
const DEFAULT_WORKFLOW: &str = ".github/workflows/release.yml";

/// A mint request or login the provider refuses, or a token it could not sign.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MintError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("signing the token: {0}")]
    Signing(String),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MintError {
    MintError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// `POST {issuer}/dev/token` on the email issuer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTokenRequest {
    pub email: String,
    /// `aud`; default `sigstore`.
    #[serde(default)]
    pub audience: Option<String>,
    /// 1 to 3600; default 600.
    #[serde(default)]
    pub lifetime_seconds: Option<u64>,
    /// Default `true`; `false` lets tests check that a CA refuses unverified addresses.
    #[serde(default)]
    pub email_verified: Option<bool>,
}

/// `POST {issuer}/github/dev/token` (JSON) and `GET {issuer}/github/dev/actions-token`
/// (query string). Every field is optional; claims not given get defaults derived from
/// `repository`, `ref` and `workflow`. Values are strings, as in GitHub's tokens.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubTokenRequest {
    /// `aud`; default `sigstore`.
    pub audience: Option<String>,
    /// 1 to 3600; default 600.
    pub lifetime_seconds: Option<u64>,
    /// `owner/name`; default `signet-dev/example`.
    pub repository: Option<String>,
    /// Default `refs/heads/main`.
    #[serde(rename = "ref")]
    pub ref_: Option<String>,
    /// The workflow file's path, `.github/workflows/<file>.yml`; default
    /// `.github/workflows/release.yml`. It makes `workflow_ref`.
    pub workflow: Option<String>,
    /// The `workflow` claim. GitHub puts the workflow's `name:` there, or its path when it
    /// has none; default the path.
    pub workflow_name: Option<String>,
    /// 40 (or 64) hex digits; default derived from repository and ref.
    pub sha: Option<String>,
    /// Default `push`.
    pub event_name: Option<String>,
    /// Default from `ref`, `environment` and `event_name`, as GitHub forms it.
    pub sub: Option<String>,
    pub repository_owner: Option<String>,
    pub repository_id: Option<String>,
    pub repository_owner_id: Option<String>,
    /// `public` (default), `private` or `internal`.
    pub repository_visibility: Option<String>,
    pub workflow_ref: Option<String>,
    pub workflow_sha: Option<String>,
    /// The reusable workflow that ran the job; default `workflow_ref`.
    pub job_workflow_ref: Option<String>,
    pub job_workflow_sha: Option<String>,
    /// `branch` or `tag`; default from `ref`.
    pub ref_type: Option<String>,
    /// `true` or `false` (default).
    pub ref_protected: Option<String>,
    pub run_id: Option<String>,
    pub run_number: Option<String>,
    pub run_attempt: Option<String>,
    pub check_run_id: Option<String>,
    /// `github-hosted` (default) or `self-hosted`.
    pub runner_environment: Option<String>,
    /// Default the repository owner.
    pub actor: Option<String>,
    pub actor_id: Option<String>,
    /// Left out when not given; when given, `sub` names it.
    pub environment: Option<String>,
    pub head_ref: Option<String>,
    pub base_ref: Option<String>,
    pub enterprise: Option<String>,
    pub enterprise_id: Option<String>,
    /// Accepted and ignored: a real `ACTIONS_ID_TOKEN_REQUEST_URL` carries
    /// `?api-version=2.0`, so scripts copying one keep working.
    #[serde(rename = "api-version")]
    pub api_version: Option<String>,
}

/// The `aud` a request asks for.
pub(crate) fn audience(requested: Option<&str>) -> Result<String, MintError> {
    let aud = requested.unwrap_or(DEFAULT_AUDIENCE);
    check_text("audience", aud)?;
    Ok(aud.to_string())
}

/// The lifetime a request asks for, within 1 s to 1 h.
pub(crate) fn lifetime(requested: Option<u64>) -> Result<u64, MintError> {
    match requested.unwrap_or(DEFAULT_LIFETIME_SECS) {
        secs @ 1..=MAX_LIFETIME_SECS => Ok(secs),
        secs => Err(invalid(
            "lifetime_seconds",
            format!("{secs} is outside 1..={MAX_LIFETIME_SECS}"),
        )),
    }
}

/// The identity claims of an email token: `sub` is the address too, so clients that take
/// the identity from `sub` for non-public issuers (sigstore-python) agree with the CA.
pub(crate) fn email_identity(email: &str, verified: bool) -> Result<Map<String, Value>, MintError> {
    check_email(email)?;
    let mut claims = Map::new();
    claims.insert("sub".into(), email.into());
    claims.insert("email".into(), email.into());
    claims.insert("email_verified".into(), verified.into());
    Ok(claims)
}

/// The identity claims of a GitHub-Actions-shaped token.
pub(crate) fn github_identity(req: &GithubTokenRequest) -> Result<Map<String, Value>, MintError> {
    let repository = req.repository.as_deref().unwrap_or(DEFAULT_REPOSITORY);
    let (owner, _) = check_repository(repository)?;
    let git_ref = req.ref_.as_deref().unwrap_or(DEFAULT_REF);
    check_ref("ref", git_ref)?;
    let workflow = req.workflow.as_deref().unwrap_or(DEFAULT_WORKFLOW);
    check_workflow_path(workflow)?;
    let sha = match &req.sha {
        Some(sha) => check_sha("sha", sha)?.to_string(),
        None => hex(&sha256(format!("signet-dev:{repository}@{git_ref}").as_bytes())[..20]),
    };
    let event_name = req.event_name.as_deref().unwrap_or("push");
    check_charset("event_name", event_name, |c| c.is_ascii_lowercase() || c == '_')?;
    let environment = req.environment.as_deref();
    if let Some(env) = environment {
        check_text("environment", env)?;
    }
    // GitHub's default subject: the environment if the job has one, else `pull_request` for
    // pull request events, else the ref.
    let sub = match (&req.sub, environment) {
        (Some(sub), _) => check_text("sub", sub)?.to_string(),
        (None, Some(env)) => format!("repo:{repository}:environment:{env}"),
        (None, None) if event_name.starts_with("pull_request") => {
            format!("repo:{repository}:pull_request")
        }
        (None, None) => format!("repo:{repository}:ref:{git_ref}"),
    };
    let workflow_ref = match &req.workflow_ref {
        Some(r) => check_workflow_ref("workflow_ref", r)?.to_string(),
        None => format!("{repository}/{workflow}@{git_ref}"),
    };
    let workflow_sha = match &req.workflow_sha {
        Some(s) => check_sha("workflow_sha", s)?.to_string(),
        None => sha.clone(),
    };
    let job_workflow_ref = match &req.job_workflow_ref {
        Some(r) => check_workflow_ref("job_workflow_ref", r)?.to_string(),
        None => workflow_ref.clone(),
    };
    let job_workflow_sha = match &req.job_workflow_sha {
        Some(s) => check_sha("job_workflow_sha", s)?.to_string(),
        None => workflow_sha.clone(),
    };
    let ref_type = match &req.ref_type {
        Some(t) => one_of("ref_type", t, &["branch", "tag"])?,
        None if git_ref.starts_with("refs/tags/") => "tag".into(),
        None => "branch".into(),
    };
    let text = |field: &'static str, value: &Option<String>, default: &str| {
        value.as_deref().map_or(Ok(default.to_string()), |v| {
            check_text(field, v).map(str::to_string)
        })
    };
    let number = |field: &'static str, value: &Option<String>, default: String| match value {
        Some(v) => check_charset(field, v, |c| c.is_ascii_digit()).map(str::to_string),
        None => Ok(default),
    };
    let actor = text("actor", &req.actor, owner)?;

    let mut c = Map::new();
    let mut put = |name: &str, value: String| {
        c.insert(name.into(), Value::String(value));
    };
    put("sub", sub);
    put("repository", repository.into());
    put("repository_owner", owner.into());
    put(
        "repository_id",
        number("repository_id", &req.repository_id, derived_id(repository))?,
    );
    put(
        "repository_owner_id",
        number("repository_owner_id", &req.repository_owner_id, derived_id(owner))?,
    );
    put(
        "repository_visibility",
        match &req.repository_visibility {
            Some(v) => one_of("repository_visibility", v, &["public", "private", "internal"])?,
            None => "public".into(),
        },
    );
    put("ref", git_ref.into());
    put("ref_type", ref_type);
    put(
        "ref_protected",
        match &req.ref_protected {
            Some(v) => one_of("ref_protected", v, &["true", "false"])?,
            None => "false".into(),
        },
    );
    put("sha", sha.clone());
    put("workflow", text("workflow_name", &req.workflow_name, workflow)?);
    put("workflow_ref", workflow_ref);
    put("workflow_sha", workflow_sha);
    put("job_workflow_ref", job_workflow_ref);
    put("job_workflow_sha", job_workflow_sha);
    put("event_name", event_name.into());
    let run_seed = format!("{repository}@{sha}");
    put("run_id", number("run_id", &req.run_id, derived_id(&run_seed))?);
    put("run_number", number("run_number", &req.run_number, "1".into())?);
    put(
        "run_attempt",
        number("run_attempt", &req.run_attempt, "1".into())?,
    );
    put(
        "check_run_id",
        number(
            "check_run_id",
            &req.check_run_id,
            derived_id(&format!("check:{run_seed}")),
        )?,
    );
    put(
        "runner_environment",
        match &req.runner_environment {
            Some(v) => one_of("runner_environment", v, &["github-hosted", "self-hosted"])?,
            None => "github-hosted".into(),
        },
    );
    put("actor_id", number("actor_id", &req.actor_id, derived_id(&actor))?);
    put("actor", actor);
    put("head_ref", text("head_ref", &req.head_ref, "")?);
    put("base_ref", text("base_ref", &req.base_ref, "")?);
    if let Some(env) = environment {
        put("environment", env.into());
    }
    if let Some(e) = &req.enterprise {
        put("enterprise", check_text("enterprise", e)?.into());
    }
    if let Some(e) = &req.enterprise_id {
        put(
            "enterprise_id",
            check_charset("enterprise_id", e, |c| c.is_ascii_digit())?.into(),
        );
    }
    Ok(c)
}

/// The full claim set: registered claims (RFC 7519 §4.1) around the identity claims, plus a
/// marker no one can miss when reading the token.
pub(crate) fn token_claims(
    issuer: &str,
    identity: Map<String, Value>,
    audience: &str,
    now: i64,
    lifetime_secs: u64,
    jti: &str,
    nonce: Option<&str>,
) -> Value {
    let mut claims = identity;
    claims.insert("iss".into(), issuer.into());
    claims.insert("aud".into(), audience.into());
    claims.insert("iat".into(), now.into());
    claims.insert("nbf".into(), now.into());
    let lifetime = i64::try_from(lifetime_secs).unwrap_or(i64::MAX);
    claims.insert("exp".into(), now.saturating_add(lifetime).into());
    claims.insert("jti".into(), jti.into());
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    claims.insert(
        "signet_development_only".into(),
        "issued by signet's development OpenID provider; never trust in production".into(),
    );
    Value::Object(claims)
}

/// A practical check of an address's syntax (RFC 5322 `dot-atom` local part, DNS host name
/// domain); quoted local parts and address literals are refused.
pub(crate) fn check_email(email: &str) -> Result<(), MintError> {
    let bad = |reason: &str| Err(invalid("email", format!("{email:?}: {reason}")));
    if email.len() > MAX_EMAIL_LEN {
        return bad("longer than 254 bytes");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("no @");
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if local.is_empty()
        || local.len() > 64
        || local
            .split('.')
            .any(|atom| atom.is_empty() || !atom.chars().all(atext))
    {
        return bad("the part before @ is not a dot-atom of at most 64 bytes");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !domain.split('.').all(label_ok) {
        return bad("the domain is not a host name");
    }
    Ok(())
}

/// Any string claim: non-empty, at most 256 bytes, no control characters.
fn check_text<'a>(field: &'static str, value: &'a str) -> Result<&'a str, MintError> {
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.len() > MAX_FIELD_LEN {
        return Err(invalid(
            field,
            format!("{} bytes, at most {MAX_FIELD_LEN}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(value)
}

fn check_charset<'a>(
    field: &'static str,
    value: &'a str,
    allowed: impl Fn(char) -> bool,
) -> Result<&'a str, MintError> {
    check_text(field, value)?;
    match value.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(invalid(field, format!("{value:?}: character {c:?} not allowed"))),
        None => Ok(value),
    }
}

fn one_of(field: &'static str, value: &str, allowed: &[&str]) -> Result<String, MintError> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(invalid(field, format!("{value:?}: expected one of {allowed:?}")))
    }
}

/// `owner/name` as GitHub allows them; returns both parts.
fn check_repository(repository: &str) -> Result<(&str, &str), MintError> {
    let bad = || {
        invalid(
            "repository",
            format!("{repository:?}: expected owner/name (letters, digits, - . _)"),
        )
    };
    let (owner, name) = repository.split_once('/').ok_or_else(bad)?;
    let owner_ok = !owner.is_empty()
        && owner.len() <= 39
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let name_ok = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if owner_ok && name_ok {
        Ok((owner, name))
    } else {
        Err(bad())
    }
}

fn check_ref(field: &'static str, git_ref: &str) -> Result<(), MintError> {
    check_text(field, git_ref)?;
    if !git_ref.starts_with("refs/") || git_ref.contains(char::is_whitespace) {
        return Err(invalid(
            field,
            format!("{git_ref:?}: expected a full ref such as refs/heads/main"),
        ));
    }
    Ok(())
}

fn check_sha<'a>(field: &'static str, sha: &'a str) -> Result<&'a str, MintError> {
    if (sha.len() == 40 || sha.len() == 64)
        && sha
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        Ok(sha)
    } else {
        Err(invalid(
            field,
            format!("{sha:?}: expected 40 or 64 lowercase hex digits"),
        ))
    }
}

fn check_workflow_path(path: &str) -> Result<(), MintError> {
    let ok = path.len() <= MAX_FIELD_LEN
        && path
            .strip_prefix(".github/workflows/")
            .is_some_and(|file| !file.is_empty() && !file.contains('/'))
        && (path.ends_with(".yml") || path.ends_with(".yaml"))
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "workflow",
            format!("{path:?}: expected .github/workflows/<file>.yml"),
        ))
    }
}

/// `owner/repo/.github/workflows/file.yml@refs/...`.
fn check_workflow_ref<'a>(field: &'static str, value: &'a str) -> Result<&'a str, MintError> {
    check_text(field, value)?;
    let well_formed = value
        .split_once('@')
        .is_some_and(|(path, git_ref)| path.contains("/.github/workflows/") && git_ref.starts_with("refs/"));
    if well_formed && !value.contains(char::is_whitespace) {
        Ok(value)
    } else {
        Err(invalid(
            field,
            format!("{value:?}: expected owner/repo/.github/workflows/<file>.yml@refs/..."),
        ))
    }
}

/// A stable nine-digit id for a name, so the same repository always gets the same
/// `repository_id` without a database.
fn derived_id(seed: &str) -> String {
    let d = sha256(seed.as_bytes());
    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    (100_000_000 + n % 900_000_000).to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["alice@example.com", "a.b+tag@sub.example.org", "dev@localhost"] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a..b@example.com",
            "alice@exa mple.com",
            "alice@-example.com",
            "\"q\"@example.com",
            "a@b@example.com",
            "<script>@example.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn github_defaults_follow_github() {
        let req = GithubTokenRequest {
            repository: Some("octo-org/octo-repo".into()),
            ref_: Some("refs/tags/v1.0.0".into()),
            sha: Some("a".repeat(40)),
            ..Default::default()
        };
        let c = github_identity(&req).unwrap();
        assert_eq!(c["sub"], "repo:octo-org/octo-repo:ref:refs/tags/v1.0.0");
        assert_eq!(c["ref_type"], "tag");
        assert_eq!(c["repository_owner"], "octo-org");
        assert_eq!(
            c["workflow_ref"],
            "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0"
        );
        assert_eq!(c["job_workflow_ref"], c["workflow_ref"]);
        assert_eq!(c["workflow_sha"], "a".repeat(40));
        assert_eq!(c["actor"], "octo-org");
        assert!(c.get("environment").is_none());
        // Stable across calls.
        assert_eq!(github_identity(&req).unwrap(), c);

        let env = GithubTokenRequest {
            environment: Some("prod".into()),
            ..req.clone()
        };
        assert_eq!(
            github_identity(&env).unwrap()["sub"],
            "repo:octo-org/octo-repo:environment:prod"
        );
        let pr = GithubTokenRequest {
            event_name: Some("pull_request".into()),
            ..req
        };
        assert_eq!(
            github_identity(&pr).unwrap()["sub"],
            "repo:octo-org/octo-repo:pull_request"
        );
    }

    #[test]
    fn github_inputs_are_checked() {
        let cases: [(&str, GithubTokenRequest); 6] = [
            (
                "repository",
                GithubTokenRequest {
                    repository: Some("no-slash".into()),
                    ..Default::default()
                },
            ),
            (
                "ref",
                GithubTokenRequest {
                    ref_: Some("main".into()),
                    ..Default::default()
                },
            ),
            (
                "sha",
                GithubTokenRequest {
                    sha: Some("xyz".into()),
                    ..Default::default()
                },
            ),
            (
                "workflow",
                GithubTokenRequest {
                    workflow: Some("../evil.yml".into()),
                    ..Default::default()
                },
            ),
            (
                "runner_environment",
                GithubTokenRequest {
                    runner_environment: Some("cloud".into()),
                    ..Default::default()
                },
            ),
            (
                "run_id",
                GithubTokenRequest {
                    run_id: Some("12a".into()),
                    ..Default::default()
                },
            ),
        ];
        for (field, req) in cases {
            match github_identity(&req) {
                Err(MintError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn lifetimes_and_audiences() {
        assert_eq!(lifetime(None).unwrap(), 600);
        assert!(lifetime(Some(0)).is_err());
        assert!(lifetime(Some(3601)).is_err());
        assert_eq!(lifetime(Some(3600)).unwrap(), 3600);
        assert_eq!(audience(None).unwrap(), "sigstore");
        assert!(audience(Some("")).is_err());
        assert!(audience(Some(&"a".repeat(300))).is_err());
    }
}
