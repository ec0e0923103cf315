//! Keyless signing and verification of git commits and tags in gitsign's format
//! (signet-gitsign): the flows behind `signet-git`, the program git runs as
//! `gpg.x509.program`, and behind `signet git verify`.
//!
//! Settings come from git config under `signet.*`, overridden by environment variables, so
//! one repository (or `--global`) configures everything git's signing calls need:
//!
//! | git config | environment | meaning |
//! |---|---|---|
//! | `signet.trustConfig` | `SIGNET_TRUST_CONFIG` | a ClientTrustConfig (trusted root + signing config) |
//! | `signet.instance`, `signet.staging` | | a TUF-distributed instance (`signet trust init`), Sigstore's staging |
//! | `signet.witnessPolicy` | `SIGNET_WITNESS_POLICY` | require checkpoints cosigned by witnesses, as `--witness-policy` |
//! | `signet.identity` / `signet.identityRegexp` | `SIGNET_GIT_IDENTITY` / `SIGNET_GIT_IDENTITY_REGEXP` | who must have signed, at verification |
//! | `signet.issuer` / `signet.issuerRegexp` | `SIGNET_GIT_ISSUER` / `SIGNET_GIT_ISSUER_REGEXP` | the OpenID issuer that must have vouched for them |
//! | `signet.matchCommitter` | `SIGNET_GIT_MATCH_COMMITTER` | at signing, refuse a certificate whose email is not the committer's |
//! | `signet.timestamp` | `SIGNET_GIT_TIMESTAMP` | ask the timestamp authority (default true) |
//! | `signet.cache` | `SIGNET_GIT_CACHE` | keep the key and certificate in the agent between commits (default true) |
//! | `signet.oidcIssuer`, `signet.clientId` | | the login's provider and OAuth client |
//! | `signet.oidcFlow` | `SIGNET_OIDC_FLOW` | `auto` (a device-code login where no browser can open), `browser`, `device` |
//! | `signet.logPath` | `SIGNET_GIT_LOG` | also append signing failures here (git 2.39 hides them) |
//! | `signet.rekorVersion` | `SIGNET_GIT_REKOR_VERSION` | 1: log in a Rekor v1 log (what gitsign's own verifier reads); 2: a Rekor v2 log; default: as the signing config selects |
//!
//! The identity token comes from `SIGSTORE_ID_TOKEN`, GitHub Actions' ambient token, or a
//! browser login, as for `sign-blob`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context};
use signet_crypto::{KeyKind, PublicKey, PublicKeyDetails, SigningKey};
use signet_formats::bundle::{BundleContent, MessageSignature, VerificationMaterialContent};
use signet_formats::common::HashOutput;
use signet_formats::rekor_v2::{Verifier, VerifierKey};
use signet_gitsign::{GitSignature, ObjectFormat, SignedAttributes, VerifiedGitSignature};
use signet_verify::{IdentityPolicy, Matcher, SignerPolicy};
use signet_x509::SubjectAlternativeName;

use super::http::Http;
use super::token::{self, IdentityToken, TokenOptions};
use super::trust::{self, TrustArgs, TrustEnv, TrustMaterial};
use super::{services, sign};

/// The environment variable naming the identity a verified signature must be from.
pub const IDENTITY_ENV: &str = "SIGNET_GIT_IDENTITY";
/// The same as a regular expression.
pub const IDENTITY_REGEXP_ENV: &str = "SIGNET_GIT_IDENTITY_REGEXP";
/// The environment variable naming the OpenID issuer a verified signature must name.
pub const ISSUER_ENV: &str = "SIGNET_GIT_ISSUER";
/// The same as a regular expression.
pub const ISSUER_REGEXP_ENV: &str = "SIGNET_GIT_ISSUER_REGEXP";

/// signet's git settings (see the module docs for the keys).
#[derive(Debug, Clone, Default)]
pub struct GitSettings {
    /// The instance's trust material.
    pub trust: TrustArgs,
    /// Expected identity: exact value or regular expression.
    pub identity: Option<Expectation>,
    /// Expected issuer: exact value or regular expression.
    pub issuer: Option<Expectation>,
    /// Refuse to sign with a certificate that is not the committer's.
    pub match_committer: bool,
    /// Ask the timestamp authority.
    pub timestamp: bool,
    /// Keep the credential in the agent.
    pub cache: bool,
    /// The OpenID provider of a browser login (else the signing config's).
    pub oidc_issuer: Option<String>,
    /// The OAuth client id of a browser login.
    pub client_id: String,
    /// Browser or device login (`signet.oidcFlow`, `$SIGNET_OIDC_FLOW`: auto, browser, device).
    pub oidc_flow: token::LoginFlow,
    /// Where signing failures are also appended.
    pub log_path: Option<PathBuf>,
    /// Which Rekor API to log in: `Some(1)` a Rekor v1 log (what gitsign's verifier reads),
    /// `Some(2)` a Rekor v2 log, `None` as the signing config selects.
    pub rekor_version: Option<u32>,
}

/// An exact value or a regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// Must equal.
    Exact(String),
    /// Must match (Go RE2 syntax, as cosign's `-regexp` flags).
    Regexp(String),
}

impl Expectation {
    fn matcher(&self) -> anyhow::Result<Matcher> {
        Ok(match self {
            Expectation::Exact(v) => Matcher::Exact(v.clone()),
            Expectation::Regexp(r) => Matcher::regex(r)?,
        })
    }
}

impl GitSettings {
    /// Reads `signet.*` from git config (with `git`, in the current directory's repository,
    /// if any) and the environment.
    pub fn load(git: &OsStr) -> anyhow::Result<Self> {
        let values = read_git_config(git)?;
        Self::from_sources(&values, &|name| {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        })
    }

    /// The settings verification uses, without running `git config` when the environment
    /// already names the trust material and the expected identity and issuer: each of those
    /// variables overrides git config, so reading it could change nothing, and a verified
    /// commit costs one git process fewer (CI jobs configure through the environment).
    pub fn load_for_verify(git: &OsStr) -> anyhow::Result<Self> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let decided = env(trust::TRUST_CONFIG_ENV).is_some()
            && (env(IDENTITY_ENV).is_some() || env(IDENTITY_REGEXP_ENV).is_some())
            && (env(ISSUER_ENV).is_some() || env(ISSUER_REGEXP_ENV).is_some());
        if decided {
            Self::from_sources(&BTreeMap::new(), &env)
        } else {
            Self::load(git)
        }
    }

    /// Settings from git config `values` (lower-case keys, as git prints them) and `env`.
    pub fn from_sources(
        values: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let config = |key: &str| values.get(&key.to_ascii_lowercase()).cloned();
        let bool_of = |key: &str, var: &str, default: bool| -> anyhow::Result<bool> {
            match env(var)
                .map(|v| (v, var.to_string()))
                .or_else(|| config(key).map(|v| (v, key.to_string())))
            {
                None => Ok(default),
                Some((v, name)) => {
                    parse_git_bool(&v).ok_or_else(|| anyhow!("{name} = {v:?} is not a boolean"))
                }
            }
        };
        let expectation = |exact_key: &str, exact_var: &str, re_key: &str, re_var: &str| {
            if let Some(v) = env(exact_var) {
                Some(Expectation::Exact(v))
            } else if let Some(v) = env(re_var) {
                Some(Expectation::Regexp(v))
            } else if let Some(v) = config(exact_key) {
                Some(Expectation::Exact(v))
            } else {
                config(re_key).map(Expectation::Regexp)
            }
        };
        let trust = TrustArgs {
            // $SIGNET_TRUST_CONFIG, read by trust::load, overrides git config.
            trust_config: match env(trust::TRUST_CONFIG_ENV) {
                Some(_) => None,
                None => config("signet.trustConfig").map(PathBuf::from),
            },
            staging: bool_of("signet.staging", "SIGNET_GIT_STAGING", false)?,
            instance: config("signet.instance"),
            witness_policy: env("SIGNET_WITNESS_POLICY")
                .or_else(|| config("signet.witnessPolicy"))
                .map(PathBuf::from),
            ..TrustArgs::default()
        };
        Ok(GitSettings {
            trust,
            identity: expectation(
                "signet.identity",
                IDENTITY_ENV,
                "signet.identityRegexp",
                IDENTITY_REGEXP_ENV,
            ),
            issuer: expectation(
                "signet.issuer",
                ISSUER_ENV,
                "signet.issuerRegexp",
                ISSUER_REGEXP_ENV,
            ),
            match_committer: bool_of("signet.matchCommitter", "SIGNET_GIT_MATCH_COMMITTER", false)?,
            timestamp: bool_of("signet.timestamp", "SIGNET_GIT_TIMESTAMP", true)?,
            cache: bool_of("signet.cache", "SIGNET_GIT_CACHE", true)?,
            oidc_issuer: config("signet.oidcIssuer"),
            client_id: config("signet.clientId").unwrap_or_else(|| token::DEFAULT_CLIENT_ID.to_string()),
            log_path: env("SIGNET_GIT_LOG")
                .or_else(|| config("signet.logPath"))
                .map(PathBuf::from),
            oidc_flow: match env("SIGNET_OIDC_FLOW").or_else(|| config("signet.oidcFlow")) {
                None => token::LoginFlow::Auto,
                Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                    "auto" => token::LoginFlow::Auto,
                    "browser" => token::LoginFlow::Browser,
                    "device" => token::LoginFlow::Device,
                    other => bail!("signet.oidcFlow = {other:?}: auto, browser or device"),
                },
            },
            rekor_version: match env("SIGNET_GIT_REKOR_VERSION").or_else(|| config("signet.rekorVersion")) {
                None => None,
                Some(v) => match v.trim() {
                    "1" => Some(1),
                    "2" => Some(2),
                    other => bail!("signet.rekorVersion = {other:?}: 1 or 2"),
                },
            },
        })
    }

    /// The identity policy, if one is configured. Half a policy (an identity without an
    /// issuer, or the reverse) is an error: verifying against it would fail open.
    pub fn policy(&self) -> anyhow::Result<Option<SignerPolicy>> {
        match (&self.identity, &self.issuer) {
            (None, None) => Ok(None),
            (Some(identity), Some(issuer)) => Ok(Some(SignerPolicy::Identity(IdentityPolicy {
                subject_alternative_name: identity.matcher()?,
                issuer: issuer.matcher()?,
                extensions: Vec::new(),
            }))),
            (Some(_), None) => bail!(
                "an expected identity is configured but no issuer: set signet.issuer (or ${ISSUER_ENV}) too"
            ),
            (None, Some(_)) => bail!(
                "an expected issuer is configured but no identity: set signet.identity (or ${IDENTITY_ENV}) too"
            ),
        }
    }

    /// The trust material these settings select.
    pub fn trust_material(&self) -> anyhow::Result<TrustMaterial> {
        trust::load(&self.trust, &TrustEnv::from_process())
    }
}

/// git's boolean values (git-config(1) "boolean").
fn parse_git_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// `git config -z --get-regexp ^signet\.`: NUL-terminated records of `key\nvalue`.
fn read_git_config(git: &OsStr) -> anyhow::Result<BTreeMap<String, String>> {
    let out = Command::new(git)
        .args(["config", "-z", "--get-regexp", r"^signet\."])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("running {} config", git.to_string_lossy()))?;
    // Exit 1: no such key, which is fine.
    if !out.status.success() && out.status.code() != Some(1) {
        bail!("`git config --get-regexp ^signet.` failed ({})", out.status);
    }
    Ok(parse_config_records(&out.stdout))
}

fn parse_config_records(stdout: &[u8]) -> BTreeMap<String, String> {
    stdout
        .split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .map(|record| {
            let text = String::from_utf8_lossy(record);
            match text.split_once('\n') {
                Some((k, v)) => (k.to_ascii_lowercase(), v.to_string()),
                // A key with no value is boolean true.
                None => (text.to_ascii_lowercase(), String::new()),
            }
        })
        .collect()
}

/// A signature made with a kept credential.
#[derive(Debug, Clone)]
pub struct CachedSignature {
    /// ECDSA, DER.
    pub signature: Vec<u8>,
    /// The certificate chain, leaf first (DER).
    pub chain: Vec<Vec<u8>>,
}

/// A place to keep the ephemeral key and certificate between signing processes (the agent).
pub trait CredentialCache {
    /// Signs `digest` (SHA-256) with the credential kept for `scope`, or returns `None` when
    /// there is none (or it expired).
    fn sign(&self, scope: &str, digest: &[u8; 32]) -> anyhow::Result<Option<CachedSignature>>;
    /// Keeps `key` and its `chain` for `scope`.
    fn store(&self, scope: &str, key: &SigningKey, chain: &[Vec<u8>]) -> anyhow::Result<()>;
}

/// The credential agent ([`crate::git_agent`]) as a [`CredentialCache`]: started on demand, as
/// `program --agent --socket SOCKET`, when the first credential is to be kept.
#[cfg(unix)]
#[derive(Debug, Clone)]
pub struct AgentCache {
    /// The agent's socket.
    pub socket: PathBuf,
    /// The program that runs the agent (`signet-git`).
    pub program: PathBuf,
}

#[cfg(unix)]
impl CredentialCache for AgentCache {
    fn sign(&self, scope: &str, digest: &[u8; 32]) -> anyhow::Result<Option<CachedSignature>> {
        let Some(agent) = crate::git_agent::AgentClient::connect(&self.socket)? else {
            return Ok(None);
        };
        Ok(agent.sign(scope, digest)?.map(|s| CachedSignature {
            signature: s.signature,
            chain: s.chain,
        }))
    }

    fn store(&self, scope: &str, key: &SigningKey, chain: &[Vec<u8>]) -> anyhow::Result<()> {
        let agent = match crate::git_agent::AgentClient::connect(&self.socket)? {
            Some(agent) => agent,
            None => {
                let args = [
                    std::ffi::OsString::from("--agent"),
                    "--socket".into(),
                    self.socket.clone().into_os_string(),
                ];
                crate::git_agent::spawn_agent(&self.program, &args, &self.socket)?;
                crate::git_agent::AgentClient::connect(&self.socket)?.ok_or_else(|| {
                    anyhow!(
                        "the credential agent started but does not answer at {}",
                        self.socket.display()
                    )
                })?
            }
        };
        agent.store(scope, key, chain)?;
        Ok(())
    }
}

/// A signature made for git.
#[derive(Debug, Clone)]
pub struct SignedForGit {
    /// The armored CMS, what git stores.
    pub armored: String,
    /// The certificate's fingerprint as git shows it.
    pub fingerprint: String,
    /// The identity the certificate states.
    pub identity: String,
    /// True when the credential came from the cache (no login happened).
    pub cached: bool,
}

/// Signs `payload` (what git piped in) for the committer named by `key_hint` (git's `-u`
/// argument: `user.signingkey`, else the committer as `Name <email>`).
pub fn sign(
    settings: &GitSettings,
    http: &Http,
    cache: Option<&dyn CredentialCache>,
    payload: &[u8],
    key_hint: &str,
    now: i64,
) -> anyhow::Result<SignedForGit> {
    let material = settings.trust_material()?;
    let config = material.signing_config()?;
    let logs = match settings.rekor_version {
        Some(1) => services::LogChoice::RekorV1,
        _ => services::LogChoice::AsConfigured,
    };
    let mut services = services::signing_services_for(config, true, now, logs)?;
    if settings.rekor_version == Some(2) {
        services.tlogs.retain(|l| l.major_api_version == 2);
        if services.tlogs.is_empty() {
            bail!("signet.rekorVersion is 2, but the signing config lists no Rekor v2 log valid now");
        }
    }
    // gitsign's format embeds one log entry.
    services.tlogs.truncate(1);
    if !settings.timestamp {
        if services.tlogs.iter().any(|l| l.major_api_version >= 2) {
            bail!("signet.timestamp is false, but the log is Rekor v2, which records no time: a signature without a timestamp could never be verified");
        }
        services.tsas.clear();
    }
    let ca_url = services
        .ca
        .as_ref()
        .map(|c| c.url.clone())
        .ok_or_else(|| anyhow!("the signing config lists no certificate authority"))?;

    let given_token = std::env::var("SIGSTORE_ID_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(|t| IdentityToken::parse(&t))
        .transpose()
        .context("$SIGSTORE_ID_TOKEN")?;
    let scope = credential_scope(&ca_url, given_token.as_ref());

    let signed_attributes = SignedAttributes::new(payload, now)?;
    let digest = signet_crypto::sha256(signed_attributes.der());
    let from_cache = match cache {
        Some(c) => c.sign(&scope, &digest).unwrap_or_else(|e| {
            eprintln!("signet-git: the credential agent did not answer ({e:#}); logging in");
            None
        }),
        None => None,
    };
    let cached = from_cache.is_some();
    let (signature, chain) = match from_cache {
        Some(found) => (found.signature, found.chain),
        None => {
            let token = match given_token {
                Some(t) => {
                    t.check_not_expired(now)?;
                    t
                }
                None => {
                    let issuer = settings
                        .oidc_issuer
                        .clone()
                        .or_else(|| services::oidc_issuer(config, now));
                    token::obtain(
                        &TokenOptions {
                            token: None,
                            issuer: issuer.as_deref(),
                            client_id: &settings.client_id,
                            client_secret: None,
                            login_timeout: std::time::Duration::from_secs(token::DEFAULT_LOGIN_TIMEOUT_SECS),
                            flow: settings.oidc_flow,
                            // git keeps signet-git's stderr to itself while it signs.
                            prompt_on_tty: true,
                        },
                        http,
                        now,
                    )?
                }
            };
            let key = SigningKey::generate(KeyKind::EcdsaP256)
                .map_err(|e| anyhow!("generating the ephemeral signing key: {e}"))?;
            let chain = sign::request_certificate(http, &ca_url, &token, &key)?;
            if let Some(c) = cache {
                if let Err(e) = c.store(&scope, &key, &chain) {
                    eprintln!("signet-git: could not hand the credential to the agent ({e:#}); the next commit will log in again");
                }
            }
            let signature = key
                .sign_digest(&digest)
                .map_err(|e| anyhow!("signing the commit: {e}"))?;
            (signature, chain)
        }
    };
    let leaf = chain
        .first()
        .ok_or_else(|| anyhow!("the certificate chain is empty"))?
        .clone();
    let leaf_key =
        PublicKey::from_certificate_der(&leaf).map_err(|e| anyhow!("the signing certificate: {e}"))?;
    leaf_key
        .verify_digest(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, &digest, &signature)
        .map_err(|e| {
            anyhow!("the signature does not verify with the signing certificate ({e}); nothing was logged")
        })?;
    let identity =
        signet_x509::fulcio::read_identity(&leaf).map_err(|e| anyhow!("the signing certificate: {e}"))?;
    if settings.match_committer {
        check_committer(&identity.san, key_hint)?;
    }

    let content = BundleContent::MessageSignature(MessageSignature {
        message_digest: Some(HashOutput {
            algorithm: signet_crypto::HashAlgorithm::Sha2_256,
            digest: digest.to_vec(),
        }),
        signature: signature.clone(),
    });
    let verifier = Verifier {
        key: VerifierKey::X509Certificate(leaf.clone()),
        key_details: PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
    };
    let bundle = sign::complete_bundle(
        http,
        &services,
        VerificationMaterialContent::Certificate(leaf.clone()),
        &verifier,
        content,
    )?;
    let mut git_signature = GitSignature {
        certificate: leaf.clone(),
        signed_attributes,
        signature,
        tlog_entry: None,
        timestamp_token: None,
    };
    signet_gitsign::bundle::attach_from_bundle(&mut git_signature, &bundle)?;

    // A commit must never look signed when its signature does not verify. Checked at the
    // clock's time now, not `now` of the start: the timestamp was made since.
    let trust = material.prepared_trust();
    signet_gitsign::verify_parsed(
        payload,
        git_signature.clone(),
        &SignerPolicy::UnsafeAnyCertificateIdentity,
        &trust,
        super::unix_now()?.max(now),
    )
    .context(
        "the signature signet just made does not verify against the trusted root, so git was not given it",
    )?;
    Ok(SignedForGit {
        armored: git_signature.to_armored()?,
        fingerprint: signet_gitsign::status::fingerprint(&leaf),
        identity: identity.san.value().to_string(),
        cached,
    })
}

/// What a cached credential is good for: this CA, and, when the token was given (a CI job,
/// `SIGSTORE_ID_TOKEN`), that token's issuer and subject, so another identity's token never
/// signs with the previous one's certificate.
pub fn credential_scope(ca_url: &str, token: Option<&IdentityToken>) -> String {
    let mut text = format!("ca={ca_url}\n");
    if let Some(t) = token {
        text.push_str(&format!("iss={}\nsub={}\n", t.claims.iss, t.subject()));
    }
    hex::encode(signet_crypto::sha256(text.as_bytes()))
}

/// `signet.matchCommitter`: an email certificate must be the committer's email; a URI one
/// (a CI workflow) the committer's name, as gitsign's `matchCommitter` compares them.
fn check_committer(san: &SubjectAlternativeName, key_hint: &str) -> anyhow::Result<()> {
    let (name, email) = committer(key_hint)?;
    let ok = match san {
        SubjectAlternativeName::Email(e) => email.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(e)),
        other => name == other.value(),
    };
    if !ok {
        bail!(
            "signet.matchCommitter: the certificate is for {:?}, but the committer is {name} <{}>",
            san.value(),
            email.unwrap_or_default()
        );
    }
    Ok(())
}

/// The committer's name and email: from git's `-u` argument when it is `Name <email>` (git
/// passes the committer ident when `user.signingkey` is unset), else `git var`.
fn committer(key_hint: &str) -> anyhow::Result<(String, Option<String>)> {
    fn split(ident: &str) -> Option<(String, Option<String>)> {
        let open = ident.find('<')?;
        let close = ident[open..].find('>')? + open;
        Some((
            ident[..open].trim().to_string(),
            Some(ident[open + 1..close].to_string()),
        ))
    }
    if let Some(found) = split(key_hint) {
        return Ok(found);
    }
    let out = Command::new("git")
        .args(["var", "GIT_COMMITTER_IDENT"])
        .stdin(Stdio::null())
        .output()
        .context("running git var GIT_COMMITTER_IDENT")?;
    split(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| anyhow!("signet.matchCommitter: cannot tell who the committer is"))
}

/// What [`verify_detached`] found.
#[derive(Debug)]
pub enum Verdict {
    /// The signature verified; `policy` says whether an identity policy was applied.
    Good {
        /// What was verified.
        verified: Box<VerifiedGitSignature>,
        /// True when the configured identity policy matched; false when none is configured.
        policy: bool,
    },
    /// The signature was checked and is wrong, or is not from the expected signer.
    Bad {
        /// The certificate's fingerprint and identity, when the signature parsed.
        signer: Option<(String, String)>,
        /// Why, in one line.
        reason: String,
    },
    /// The signature could not be checked (not CMS, unknown CA, misconfiguration…).
    Error {
        /// The certificate's fingerprint, when the signature parsed.
        fingerprint: Option<String>,
        /// Why, in one line.
        reason: String,
    },
}

/// Verifies a detached signature as git hands it over (`--verify FILE -`), against the
/// settings' trust material and identity policy.
pub fn verify_detached(settings: &GitSettings, payload: &[u8], armored: &[u8], now: i64) -> Verdict {
    let parsed = match GitSignature::from_armored(armored) {
        Ok(p) => p,
        Err(e) => {
            return Verdict::Error {
                fingerprint: None,
                reason: e.to_string(),
            }
        }
    };
    let fingerprint = signet_gitsign::status::fingerprint(&parsed.certificate);
    // Read again only for a bad signature's status line: a good one's identity comes verified.
    let certificate = parsed.certificate.clone();
    let error = |reason: String| Verdict::Error {
        fingerprint: Some(fingerprint.clone()),
        reason,
    };
    let policy = match settings.policy() {
        Ok(p) => p,
        Err(e) => return error(format!("{e:#}")),
    };
    let material = match settings.trust_material() {
        Ok(m) => m,
        Err(e) => return error(format!("{e:#}")),
    };
    let trust = material.prepared_trust();
    let has_policy = policy.is_some();
    let signer = policy.unwrap_or(SignerPolicy::UnsafeAnyCertificateIdentity);
    match signet_gitsign::verify_parsed(payload, parsed, &signer, &trust, now) {
        Ok(verified) => Verdict::Good {
            verified: Box::new(verified),
            policy: has_policy,
        },
        Err(e) if e.is_bad_signature() => {
            let identity = signet_x509::fulcio::read_identity(&certificate)
                .map(|i| i.san.value().to_string())
                .unwrap_or_default();
            Verdict::Bad {
                signer: Some((fingerprint, identity)),
                reason: e.to_string(),
            }
        }
        Err(e) => error(with_staleness_hint(&e, &material)),
    }
}

/// A Unix time as RFC 3339 (UTC), for messages.
pub fn rfc3339(unix: i64) -> String {
    signet_formats::common::Timestamp::from_unix(unix).to_string()
}

/// Which kind of object `signet git verify` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A commit (`gpgsig`, `gpgsig-sha256`).
    Commit,
    /// An annotated tag.
    Tag,
}

/// Reads `rev` with `git cat-file` and verifies its signature (`signet git verify`,
/// `signet git verify-tag`): the raw object bytes are split by signet, not by git, refusing a
/// second signature header.
pub fn verify_object(
    git: &OsStr,
    rev: &str,
    kind: ObjectKind,
    signer: &SignerPolicy,
    material: &TrustMaterial,
    now: i64,
) -> anyhow::Result<VerifiedGitSignature> {
    if rev.starts_with('-') {
        bail!("{rev:?} is not a revision");
    }
    let run = |args: &[&str]| -> anyhow::Result<Vec<u8>> {
        let out = Command::new(git)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} {}", git.to_string_lossy(), args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    };
    let object = match kind {
        ObjectKind::Commit => {
            let format = String::from_utf8_lossy(&run(&["rev-parse", "--show-object-format"])?).to_string();
            let format = ObjectFormat::from_name(&format)
                .ok_or_else(|| anyhow!("unknown object format {:?}", format.trim()))?;
            signet_gitsign::split_commit(&run(&["cat-file", "commit", rev])?, format)?
        }
        ObjectKind::Tag => signet_gitsign::split_tag(&run(&["cat-file", "tag", rev])?)?,
    };
    let trust = material.prepared_trust();
    signet_gitsign::verify(&object.payload, &object.signature, signer, &trust, now)
        .map_err(|e| anyhow!("{}", with_staleness_hint(&e, material)))
}

/// The error, and when it may only mean that the trust material is older than the signature,
/// how to refresh it.
fn with_staleness_hint(e: &signet_gitsign::GitVerifyError, material: &TrustMaterial) -> String {
    let unknown =
        matches!(e, signet_gitsign::GitVerifyError::Verification(v) if v.is_unknown_to_trust_material());
    match material.source.staleness_hint().filter(|_| unknown) {
        Some(hint) => format!("{e} ({hint})"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(config: &[(&str, &str)], env: &[(&str, &str)]) -> anyhow::Result<GitSettings> {
        let values: BTreeMap<String, String> = config
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        GitSettings::from_sources(&values, &|n| env.get(n).cloned())
    }

    #[test]
    fn config_records_parse_as_git_prints_them() {
        let out = b"signet.identity\nalice@example.com\0signet.cache\nfalse\0signet.matchcommitter\0";
        let m = parse_config_records(out);
        assert_eq!(m["signet.identity"], "alice@example.com");
        assert_eq!(m["signet.cache"], "false");
        assert_eq!(m["signet.matchcommitter"], "");
    }

    #[test]
    fn environment_overrides_config_and_defaults_hold() {
        let s = settings(&[("signet.identity", "a@x"), ("signet.issuer", "https://i")], &[]).unwrap();
        assert_eq!(s.identity, Some(Expectation::Exact("a@x".into())));
        assert!(s.timestamp && s.cache && !s.match_committer);
        assert!(s.policy().unwrap().is_some());

        let s = settings(
            &[("signet.identity", "a@x"), ("signet.issuer", "https://i")],
            &[(IDENTITY_REGEXP_ENV, "^b@"), ("SIGNET_GIT_CACHE", "no")],
        )
        .unwrap();
        assert_eq!(s.identity, Some(Expectation::Regexp("^b@".into())));
        assert!(!s.cache);

        let s = settings(&[("signet.matchCommitter", "")], &[]).unwrap();
        assert!(s.match_committer, "a bare key is true");
        assert!(settings(&[("signet.timestamp", "maybe")], &[]).is_err());
    }

    #[test]
    fn half_a_policy_is_an_error_not_no_policy() {
        assert!(settings(&[], &[]).unwrap().policy().unwrap().is_none());
        assert!(settings(&[("signet.identity", "a@x")], &[])
            .unwrap()
            .policy()
            .is_err());
        assert!(settings(&[], &[(ISSUER_ENV, "https://i")])
            .unwrap()
            .policy()
            .is_err());
        assert!(
            settings(&[("signet.identityRegexp", "(")], &[(ISSUER_ENV, "https://i")])
                .unwrap()
                .policy()
                .is_err()
        );
    }

    #[test]
    fn trust_config_from_git_unless_the_environment_names_one() {
        let s = settings(&[("signet.trustConfig", "/etc/t.json")], &[]).unwrap();
        assert_eq!(s.trust.trust_config, Some(PathBuf::from("/etc/t.json")));
        let s = settings(
            &[("signet.trustConfig", "/etc/t.json")],
            &[("SIGNET_TRUST_CONFIG", "/x")],
        )
        .unwrap();
        assert_eq!(s.trust.trust_config, None);
    }

    #[test]
    fn committer_matching() {
        let email = SubjectAlternativeName::Email("Alice@Example.com".into());
        assert!(check_committer(&email, "Alice <alice@example.com>").is_ok());
        assert!(check_committer(&email, "Mallory <mallory@example.com>").is_err());
        let uri = SubjectAlternativeName::Uri(
            "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main".into(),
        );
        assert!(check_committer(
            &uri,
            "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main <ci@x>"
        )
        .is_ok());
        assert!(check_committer(&uri, "Alice <alice@example.com>").is_err());
    }

    #[test]
    fn scopes_separate_identities() {
        let a = credential_scope("https://ca", None);
        assert_eq!(a, credential_scope("https://ca", None));
        assert_ne!(a, credential_scope("https://other-ca", None));
    }
}
