//! `signet bench git`: what keyless commit signing costs a developer, measured through real
//! git. It starts a `signet server --dev-oidc`, makes a throwaway repository signed by
//! `signet-git` (the program beside this one), and times `--commits` runs of `git commit -S`
//! (one log entry and one timestamp each; with the credential agent, one certificate for
//! all), then `git verify-commit` of each, and the same number of unsigned commits as the
//! baseline git itself costs on this machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Flags of `signet bench git`.
#[derive(clap::Args, Debug)]
pub struct BenchGitArgs {
    /// How many signed commits to make (and verify).
    #[arg(long, default_value_t = 200)]
    pub commits: usize,
    /// The git to run.
    #[arg(long, value_name = "PATH", default_value = "/usr/bin/git")]
    pub git: PathBuf,
    /// Sign without the credential agent: every commit gets its own certificate.
    #[arg(long)]
    pub no_cache: bool,
}

const IDENTITY: &str = "bench-git@example.com";

/// Runs the benchmark and prints its figures.
pub async fn run_git(args: BenchGitArgs) -> anyhow::Result<()> {
    if args.commits == 0 {
        bail!("--commits must be at least 1");
    }
    super::server::report_with_dev_server(move |root, data| measure(&args, root, data)).await
}

/// A directory under the system's temporary directory, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("signet-bench-git-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(WorkDir(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Repo<'a> {
    git: &'a Path,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Repo<'_> {
    fn run(&self, args: &[&str]) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let out = Command::new(self.git)
            .args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", self.git.display()))?;
        let took = started.elapsed();
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(took)
    }
}

fn summary(name: &str, mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let total: Duration = times.iter().sum();
    format!(
        "{name} ({} runs): p50 {}, p90 {}, min {}, max {}, {:.1} per second",
        times.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len() as f64 / total.as_secs_f64()
    )
}

fn measure(args: &BenchGitArgs, root: &str, data: &Path) -> anyhow::Result<String> {
    let http = signet_client::http::Http::new()?;
    let answer = http.post_json(
        &format!("{root}/oidc/dev/token"),
        &serde_json::json!({ "email": IDENTITY, "lifetime_seconds": 3600 }),
        None,
    )?;
    let token = answer["id_token"]
        .as_str()
        .context("the development provider answered without an id_token")?
        .to_string();
    let exe = std::env::current_exe().context("finding the signet executable")?;
    let signet_git = exe.with_file_name("signet-git");
    if !signet_git.exists() {
        bail!(
            "{} is not built (cargo build --release builds it)",
            signet_git.display()
        );
    }
    let work = WorkDir::new()?;
    let home = work.path().join("home");
    std::fs::create_dir_all(&home)?;
    let trust_config = data.join("trust_config.json");
    let env = vec![
        ("HOME".to_string(), home.display().to_string()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("SIGNET_TRUST_CONFIG".into(), trust_config.display().to_string()),
        ("SIGSTORE_ID_TOKEN".into(), token),
        ("SIGNET_GIT_CACHE".into(), (!args.no_cache).to_string()),
        (
            "SIGNET_GIT_AGENT_SOCK".into(),
            work.path().join("agent.sock").display().to_string(),
        ),
        ("SIGNET_GIT_IDENTITY".into(), IDENTITY.into()),
        ("SIGNET_GIT_ISSUER".into(), format!("{root}/oidc")),
    ];
    let mut made = Vec::new();
    for name in ["signed", "plain"] {
        let dir = work.path().join(name);
        std::fs::create_dir_all(&dir)?;
        let repo = Repo {
            git: &args.git,
            dir,
            env: env.clone(),
        };
        repo.run(&["init", "-q"])?;
        repo.run(&["config", "user.name", "Bench"])?;
        repo.run(&["config", "user.email", IDENTITY])?;
        repo.run(&["config", "gpg.format", "x509"])?;
        repo.run(&["config", "gpg.x509.program", &signet_git.display().to_string()])?;
        made.push(repo);
    }
    let (signed, plain) = (&made[0], &made[1]);

    let mut sign_times = Vec::with_capacity(args.commits);
    for i in 0..args.commits {
        sign_times.push(signed.run(&[
            "commit",
            "-q",
            "-S",
            "--allow-empty",
            "-m",
            &format!("commit {i}"),
        ])?);
    }
    // Every commit by its id (`HEAD~i` would add a walk of i parents to git's share).
    let ids = {
        let out = Command::new(&args.git)
            .args(["rev-list", "HEAD"])
            .current_dir(&signed.dir)
            .envs(signed.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .context("git rev-list")?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    if ids.len() != args.commits {
        bail!("git rev-list lists {} commits, not {}", ids.len(), args.commits);
    }
    // Verification configured by the environment (as in CI), then by git config (signet-git
    // reads it with one `git config`), then git's own share: the same command with a program
    // that does nothing (its failure ignored).
    let mut verify_times = Vec::with_capacity(args.commits);
    for id in &ids {
        verify_times.push(signed.run(&["verify-commit", id])?);
    }
    let by_config = Repo {
        git: &args.git,
        dir: signed.dir.clone(),
        env: env
            .iter()
            .filter(|(k, _)| !k.starts_with("SIGNET_GIT_I"))
            .cloned()
            .collect(),
    };
    by_config.run(&["config", "signet.identity", IDENTITY])?;
    by_config.run(&["config", "signet.issuer", &format!("{root}/oidc")])?;
    let mut config_times = Vec::with_capacity(args.commits);
    for id in &ids {
        config_times.push(by_config.run(&["verify-commit", id])?);
    }
    let mut git_only = Vec::with_capacity(args.commits);
    for id in &ids {
        let started = Instant::now();
        let _ = Command::new(&args.git)
            .args(["-c", "gpg.x509.program=true", "verify-commit", id])
            .current_dir(&signed.dir)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .output()?;
        git_only.push(started.elapsed());
    }
    let mut plain_times = Vec::with_capacity(args.commits);
    for i in 0..args.commits {
        plain_times.push(plain.run(&["commit", "-q", "--allow-empty", "-m", &format!("commit {i}")])?);
    }
    // Certificates issued: the CT log's size counts them (one per login).
    let certificates = http
        .get_json(&format!("{root}/ct/ct/v1/get-sth"), None)
        .ok()
        .and_then(|sth| sth["tree_size"].as_u64())
        .map(|n| n.to_string())
        .unwrap_or_else(|| "unknown".into());
    let _ = Command::new(&signet_git)
        .args(["--agent-stop"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output();
    Ok(format!(
        "signet bench git: {} with {} ({})\n{}\n{}\n{}\n{}\n{}\ncertificates issued for the {} signed commits: {certificates}",
        args.git.display(),
        signet_git.display(),
        if args.no_cache { "no credential agent" } else { "credential agent" },
        summary("git commit -S", sign_times),
        summary("git verify-commit, policy from the environment", verify_times),
        summary("git verify-commit, policy from git config", config_times),
        summary("git verify-commit with `true` as the program (git's own share)", git_only),
        summary("git commit (unsigned, the baseline)", plain_times),
        args.commits,
    ))
}
