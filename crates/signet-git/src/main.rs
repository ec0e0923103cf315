//! `signet-git`: what git runs to sign and verify commits and tags keylessly.
//!
//! ```sh
//! git config gpg.format x509
//! git config gpg.x509.program signet-git
//! git config commit.gpgsign true
//! ```
//!
//! git speaks GnuPG's conventions to it (gpg-interface.c):
//!
//! - **sign**: `signet-git --status-fd=2 -bsau KEY`, the commit or tag on stdin; the armored
//!   signature goes to stdout and `[GNUPG:] SIG_CREATED` to the status descriptor.
//! - **verify**: `signet-git --status-fd=1 --verify SIGFILE -`, the signed bytes on stdin;
//!   `NEWSIG`, then `GOODSIG`/`BADSIG`/`ERRSIG`, `VALIDSIG` and a `TRUST_*` line go to the
//!   status descriptor, a human account to stderr (which `git verify-commit` and
//!   `git log --show-signature` show).
//!
//! Also `signet-git --agent [--socket PATH]`: the credential agent that keeps one login's key
//! and certificate for the next commits (started on demand by the first signing).

mod args;

use std::io::{Read, Write};
use std::process::ExitCode;

use args::{AgentControl, Mode, StatusFd};
use signet_client::git::{self, GitSettings, Verdict};
use signet_gitsign::status::{self, Trust};

/// The most a commit or tag may be: git's objects are small; a bound keeps a runaway pipe
/// from exhausting memory.
const MAX_PAYLOAD: u64 = 64 << 20;
/// The most a signature file may be.
const MAX_SIGNATURE: u64 = 1 << 20;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mode = match args::parse(&argv) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("signet-git: {e}");
            return ExitCode::from(2);
        }
    };
    match mode {
        Mode::Version => {
            println!("signet-git {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Mode::Help => {
            print!("{}", args::HELP);
            ExitCode::SUCCESS
        }
        Mode::Sign { status_fd, key } => sign(status_fd, &key),
        Mode::Verify {
            status_fd,
            signature_file,
        } => verify(status_fd, &signature_file),
        Mode::Agent { socket } => agent(socket),
        Mode::AgentControl(what) => agent_control(what),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn read_stdin(limit: u64) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin().take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        anyhow::bail!("the input is larger than {limit} bytes");
    }
    Ok(buf)
}

fn write_status(fd: StatusFd, text: &str) {
    let _ = match fd {
        StatusFd::Stdout => std::io::stdout().write_all(text.as_bytes()),
        StatusFd::Stderr => std::io::stderr().write_all(text.as_bytes()),
    };
}

fn sign(status_fd: StatusFd, key: &str) -> ExitCode {
    let settings = GitSettings::load("git".as_ref());
    let log_path = settings.as_ref().ok().and_then(|s| s.log_path.clone());
    let result = settings.and_then(|settings| {
        let payload = read_stdin(MAX_PAYLOAD)?;
        let http = signet_client::http::Http::new()?;
        let agent = agent_cache(&settings);
        git::sign(
            &settings,
            &http,
            agent.as_ref().map(|a| a as &dyn git::CredentialCache),
            &payload,
            key,
            now(),
        )
    });
    match result {
        Ok(signed) => {
            let mut out = std::io::stdout();
            if out
                .write_all(signed.armored.as_bytes())
                .and_then(|_| out.flush())
                .is_err()
            {
                report_failure("could not write the signature to git", log_path.as_deref());
                return ExitCode::FAILURE;
            }
            write_status(status_fd, &status::sig_created(&signed.fingerprint, now()));
            eprintln!("signet-git: signed as {}", signed.identity);
            ExitCode::SUCCESS
        }
        Err(e) => {
            report_failure(&format!("{e:#}"), log_path.as_deref());
            ExitCode::FAILURE
        }
    }
}

/// git 2.39 shows only "gpg failed to sign the data" when signing fails and drops the
/// program's stderr; so the reason also goes to the terminal, when there is one, and to
/// `signet.logPath` when it is set.
fn report_failure(message: &str, log_path: Option<&std::path::Path>) {
    let line = format!("signet-git: error: {message}\n");
    eprint!("{line}");
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        let _ = tty.write_all(line.as_bytes());
    }
    if let Some(path) = log_path {
        let opened = std::fs::OpenOptions::new().create(true).append(true).open(path);
        if let Ok(mut file) = opened {
            let _ = file.write_all(format!("{} {line}", now()).as_bytes());
        }
    }
}

fn verify(status_fd: StatusFd, signature_file: &std::path::Path) -> ExitCode {
    let read = || -> anyhow::Result<(GitSettings, Vec<u8>, Vec<u8>)> {
        let settings = GitSettings::load_for_verify("git".as_ref())?;
        let file = std::fs::File::open(signature_file)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", signature_file.display()))?;
        let mut signature = Vec::new();
        file.take(MAX_SIGNATURE + 1).read_to_end(&mut signature)?;
        if signature.len() as u64 > MAX_SIGNATURE {
            anyhow::bail!("the signature is larger than {MAX_SIGNATURE} bytes");
        }
        Ok((settings, signature, read_stdin(MAX_PAYLOAD)?))
    };
    let (settings, signature, payload) = match read() {
        Ok(x) => x,
        Err(e) => {
            write_status(status_fd, &status::error(None, None));
            eprintln!("signet-git: cannot verify: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match git::verify_detached(&settings, &payload, &signature, now()) {
        Verdict::Good { verified, policy } => {
            let fingerprint = status::fingerprint(&verified.signature.certificate);
            let identity = verified.identity.san.value();
            let at = verified.signed_at().unwrap_or(0);
            let trust = if policy { Trust::Fully } else { Trust::Undefined };
            write_status(status_fd, &status::good(&fingerprint, identity, at, trust));
            let issuer = verified.identity.extensions.issuer.as_deref().unwrap_or("(none)");
            eprintln!("signet-git: good signature from {identity} (issuer {issuer})");
            let logs: Vec<String> = verified
                .verified
                .log_entries
                .iter()
                .map(|e| format!("{} index {}", e.log_base_url, e.log_index))
                .collect();
            eprintln!(
                "signet-git: signed {} ({}); certificate {fingerprint}",
                git::rfc3339(at),
                logs.join(", ")
            );
            if policy {
                eprintln!("signet-git: the signer matches the configured identity and issuer");
            } else {
                eprintln!(
                    "signet-git: warning: no identity policy, so this checks that the signature is valid but not whose it is; set signet.identity and signet.issuer (or {} and {}) to require a signer",
                    git::IDENTITY_ENV,
                    git::ISSUER_ENV
                );
            }
            ExitCode::SUCCESS
        }
        Verdict::Bad { signer, reason } => {
            let (fingerprint, identity) = signer.unwrap_or_default();
            write_status(status_fd, &status::bad(&fingerprint, &identity));
            eprintln!("signet-git: BAD signature from {identity}: {reason}");
            ExitCode::FAILURE
        }
        Verdict::Error { fingerprint, reason } => {
            write_status(status_fd, &status::error(fingerprint.as_deref(), None));
            eprintln!("signet-git: cannot verify the signature: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// The credential agent for this user, when caching is on (Unix only).
#[cfg(unix)]
fn agent_cache(settings: &GitSettings) -> Option<git::AgentCache> {
    if !settings.cache {
        return None;
    }
    let program = std::env::current_exe().ok()?;
    Some(git::AgentCache {
        socket: signet_client::git_agent::default_socket_path(),
        program,
    })
}

#[cfg(not(unix))]
fn agent_cache(_settings: &GitSettings) -> Option<NoAgent> {
    None
}

/// Where there is no agent (not Unix), every signing logs in.
#[cfg(not(unix))]
struct NoAgent;

#[cfg(not(unix))]
impl git::CredentialCache for NoAgent {
    fn sign(&self, _: &str, _: &[u8; 32]) -> anyhow::Result<Option<git::CachedSignature>> {
        Ok(None)
    }
    fn store(&self, _: &str, _: &signet_crypto::SigningKey, _: &[Vec<u8>]) -> anyhow::Result<()> {
        Ok(())
    }
}

/// `--agent`: serves until idle (`$SIGNET_GIT_AGENT_IDLE_EXIT` seconds, default 15 minutes).
#[cfg(unix)]
fn agent(socket: Option<std::path::PathBuf>) -> ExitCode {
    use signet_client::git_agent;
    let socket = socket.unwrap_or_else(git_agent::default_socket_path);
    let mut options = git_agent::AgentOptions::default();
    if let Some(secs) = std::env::var("SIGNET_GIT_AGENT_IDLE_EXIT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.idle_exit = std::time::Duration::from_secs(secs);
    }
    match git_agent::serve(&socket, &options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet-git: agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(unix))]
fn agent(_socket: Option<std::path::PathBuf>) -> ExitCode {
    eprintln!("signet-git: the credential agent needs Unix sockets");
    ExitCode::FAILURE
}

/// `--agent-status`, `--agent-forget`, `--agent-stop`.
#[cfg(unix)]
fn agent_control(what: AgentControl) -> ExitCode {
    use signet_client::git_agent::{default_socket_path, AgentClient};
    let socket = default_socket_path();
    let result = (|| -> anyhow::Result<()> {
        let Some(agent) = AgentClient::connect(&socket)? else {
            println!("no credential agent at {}", socket.display());
            return Ok(());
        };
        match what {
            AgentControl::Status => {
                let held = agent.status()?;
                if held.is_empty() {
                    println!("the agent at {} holds no credential", socket.display());
                }
                for c in held {
                    println!("{} until {}", c.identity, git::rfc3339(c.not_after));
                }
            }
            AgentControl::Forget => agent.forget()?,
            AgentControl::Stop => agent.stop()?,
        }
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet-git: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(unix))]
fn agent_control(_: AgentControl) -> ExitCode {
    eprintln!("signet-git: the credential agent needs Unix sockets");
    ExitCode::FAILURE
}
