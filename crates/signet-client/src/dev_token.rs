//! `signet dev-token`: a fresh identity token from the DEVELOPMENT-ONLY OpenID provider of a
//! `signet server --dev-oidc`, printed on stdout for scripts and tests. The provider hands out
//! tokens for any identity, so a CA that trusts it proves nothing: never in production.

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// What `signet dev-token` asks the development OpenID provider for.
#[derive(clap::Args, Debug)]
pub struct DevTokenArgs {
    /// The signet server running with --dev-oidc.
    #[arg(long, default_value = "http://127.0.0.1:3000", env = "SIGNET_SERVER")]
    pub server: String,
    /// An email identity (the token's `email`, `email_verified: true`).
    #[arg(long, conflicts_with_all = ["repository", "git_ref", "workflow"])]
    pub email: Option<String>,
    /// A CI workflow identity shaped like a GitHub Actions token: the repository `owner/name`.
    #[arg(long)]
    pub repository: Option<String>,
    /// The workflow run's git ref (default refs/heads/main).
    #[arg(long = "ref", requires = "repository")]
    pub git_ref: Option<String>,
    /// The workflow file (default .github/workflows/release.yml).
    #[arg(long, requires = "repository")]
    pub workflow: Option<String>,
    /// The token's audience.
    #[arg(long, default_value = "sigstore")]
    pub audience: String,
    /// Lifetime in seconds (1 to 3600).
    #[arg(long, default_value_t = 600)]
    pub lifetime: u64,
}

/// Mints the token and prints it.
pub fn run(args: DevTokenArgs) -> anyhow::Result<()> {
    let (path, body) = request(&args)?;
    let url = format!("{}/oidc{path}/dev/token", args.server.trim_end_matches('/'));
    let answer = crate::http::Http::new()?
        .post_json(&url, &body, None)
        .context("minting a development token (is the server running with --dev-oidc?)")?;
    let token = answer["id_token"]
        .as_str()
        .with_context(|| format!("{url} answered without an id_token"))?;
    println!("{token}");
    Ok(())
}

/// The issuer path and JSON body for the identity asked for.
fn request(args: &DevTokenArgs) -> anyhow::Result<(&'static str, Value)> {
    match (&args.email, &args.repository) {
        (Some(email), None) => Ok((
            "",
            json!({ "email": email, "audience": args.audience, "lifetime_seconds": args.lifetime }),
        )),
        (None, Some(repository)) => {
            let mut body = json!({
                "repository": repository,
                "audience": args.audience,
                "lifetime_seconds": args.lifetime,
            });
            if let Some(r) = &args.git_ref {
                body["ref"] = json!(r);
            }
            if let Some(w) = &args.workflow {
                body["workflow"] = json!(w);
            }
            Ok(("/github", body))
        }
        _ => bail!("say whose token: --email ADDRESS, or --repository OWNER/NAME for a CI workflow identity"),
    }
}
