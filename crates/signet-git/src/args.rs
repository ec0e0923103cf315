//! git's GnuPG-style arguments (gpg-interface.c): `--status-fd=2 -bsau KEY` to sign,
//! `--status-fd=1 --verify FILE -` to verify. Short options cluster as GnuPG's do, and a
//! cluster's last option may take the next argument (`-bsau KEY`) or the rest of the cluster
//! (`-uKEY`).

use std::ffi::OsString;
use std::path::PathBuf;

/// Where status lines go: git asks for 1 when verifying and 2 when signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFd {
    Stdout,
    Stderr,
}

/// What git asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Sign {
        status_fd: StatusFd,
        key: String,
    },
    Verify {
        status_fd: StatusFd,
        signature_file: PathBuf,
    },
    Version,
    Help,
    /// Run the credential agent in the foreground (started so by the first signing).
    Agent {
        socket: Option<PathBuf>,
    },
    /// Ask the running agent something: `--agent-status`, `--agent-forget`, `--agent-stop`.
    AgentControl(AgentControl),
}

/// What `--agent-status`, `--agent-forget` and `--agent-stop` ask the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentControl {
    Status,
    Forget,
    Stop,
}

pub const HELP: &str = "signet-git: keyless signing of git commits and tags (gitsign's format)

Set up:
  git config --global gpg.format x509
  git config --global gpg.x509.program signet-git
  git config --global commit.gpgsign true

git runs it as:
  signet-git --status-fd=2 -bsau KEY          sign stdin, armored signature on stdout
  signet-git --status-fd=1 --verify FILE -    verify FILE over stdin

The credential agent (one login for many commits; started on demand):
  signet-git --agent-status | --agent-forget | --agent-stop

Settings (git config signet.*, or the environment): trustConfig, identity / identityRegexp
and issuer / issuerRegexp (the signer verification requires), matchCommitter, timestamp,
cache, oidcIssuer, clientId, logPath. See `signet git --help` and the README.
";

/// Parses git's arguments.
pub fn parse(argv: &[OsString]) -> Result<Mode, String> {
    let mut status_fd = None;
    let mut sign = false;
    let mut detach = false;
    let mut key = None;
    let mut verify = false;
    let mut agent = false;
    let mut socket = None;
    let mut positional = Vec::new();
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        let text = arg
            .to_str()
            .ok_or_else(|| format!("argument {arg:?} is not UTF-8"))?;
        let mut value_for = |name: &str| -> Result<String, String> {
            args.next()
                .and_then(|v| v.to_str())
                .map(str::to_string)
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match text {
            "--version" => return Ok(Mode::Version),
            "--help" | "-h" => return Ok(Mode::Help),
            "--verify" => verify = true,
            "--agent" => agent = true,
            "--socket" => socket = Some(PathBuf::from(value_for("--socket")?)),
            "--agent-status" => return Ok(Mode::AgentControl(AgentControl::Status)),
            "--agent-forget" => return Ok(Mode::AgentControl(AgentControl::Forget)),
            "--agent-stop" => return Ok(Mode::AgentControl(AgentControl::Stop)),
            "--sign" => sign = true,
            "--detach-sign" => {
                sign = true;
                detach = true
            }
            "--armor" => {}
            "--status-fd" => status_fd = Some(fd(&value_for("--status-fd")?)?),
            "--local-user" => key = Some(value_for("--local-user")?),
            "-" => positional.push(text.to_string()),
            _ if text.starts_with("--status-fd=") => status_fd = Some(fd(&text["--status-fd=".len()..])?),
            _ if text.starts_with("--local-user=") => key = Some(text["--local-user=".len()..].to_string()),
            // What git passes to OpenPGP programs and a user may leave configured; harmless.
            _ if text.starts_with("--keyid-format") => {}
            _ if text.starts_with("--") => return Err(format!("unknown option {text}")),
            _ if text.starts_with('-') && text.len() > 1 => {
                let cluster = &text[1..];
                for (i, c) in cluster.char_indices() {
                    match c {
                        'b' => detach = true,
                        's' => sign = true,
                        'a' => {}
                        'u' => {
                            let rest = &cluster[i + 1..];
                            key = Some(if rest.is_empty() {
                                value_for("-u")?
                            } else {
                                rest.to_string()
                            });
                            break;
                        }
                        other => return Err(format!("unknown option -{other}")),
                    }
                }
            }
            _ => positional.push(text.to_string()),
        }
    }
    if agent {
        if verify || sign || !positional.is_empty() {
            return Err("--agent takes only --socket PATH".into());
        }
        return Ok(Mode::Agent { socket });
    }
    if socket.is_some() {
        return Err("--socket goes with --agent".into());
    }
    let status_fd = status_fd.unwrap_or(if verify {
        StatusFd::Stdout
    } else {
        StatusFd::Stderr
    });
    match (verify, sign) {
        (true, true) => Err("--verify and signing are exclusive".into()),
        (true, false) => match positional.as_slice() {
            [file, dash] if dash == "-" => Ok(Mode::Verify {
                status_fd,
                signature_file: PathBuf::from(file),
            }),
            _ => Err("--verify takes the signature file and - (the signed data on stdin)".into()),
        },
        (false, true) => {
            if !detach {
                return Err(
                    "only detached signatures (-b) are made: git stores the signature beside the data".into(),
                );
            }
            if !positional.is_empty() {
                return Err(format!(
                    "unexpected argument {:?}: the data to sign comes on stdin",
                    positional[0]
                ));
            }
            Ok(Mode::Sign {
                status_fd,
                key: key.unwrap_or_default(),
            })
        }
        (false, false) => {
            Err("nothing to do: git runs signet-git with -bsau KEY or --verify FILE -; see --help".into())
        }
    }
}

fn fd(text: &str) -> Result<StatusFd, String> {
    match text {
        "1" => Ok(StatusFd::Stdout),
        "2" => Ok(StatusFd::Stderr),
        other => Err(format!(
            "--status-fd={other}: only 1 and 2 are supported (what git uses)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Mode, String> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn what_git_2_39_passes() {
        assert_eq!(
            p(&["--status-fd=2", "-bsau", "Alice <alice@example.com>"]),
            Ok(Mode::Sign {
                status_fd: StatusFd::Stderr,
                key: "Alice <alice@example.com>".into()
            })
        );
        assert_eq!(
            p(&["--status-fd=1", "--verify", "/tmp/.git_vtag_tmpXXXX", "-"]),
            Ok(Mode::Verify {
                status_fd: StatusFd::Stdout,
                signature_file: "/tmp/.git_vtag_tmpXXXX".into()
            })
        );
    }

    #[test]
    fn other_spellings() {
        assert_eq!(
            p(&["--status-fd", "2", "-b", "-s", "-a", "-uKEY"]),
            Ok(Mode::Sign {
                status_fd: StatusFd::Stderr,
                key: "KEY".into()
            })
        );
        assert!(matches!(
            p(&["--keyid-format=long", "--status-fd=1", "--verify", "f", "-"]),
            Ok(Mode::Verify { .. })
        ));
        assert_eq!(p(&["--version"]), Ok(Mode::Version));
        assert_eq!(
            p(&["--agent", "--socket", "/run/user/1/signet/git-agent.sock"]),
            Ok(Mode::Agent {
                socket: Some("/run/user/1/signet/git-agent.sock".into())
            })
        );
        assert_eq!(p(&["--agent-stop"]), Ok(Mode::AgentControl(AgentControl::Stop)));
        assert!(p(&["--socket", "x", "-bsau", "K"]).is_err());
    }

    #[test]
    fn refusals() {
        assert!(p(&[]).is_err());
        assert!(p(&["-bsau"]).is_err());
        assert!(p(&["-sau", "K"]).is_err(), "not detached");
        assert!(p(&["--status-fd=3", "-bsau", "K"]).is_err());
        assert!(p(&["--verify", "f"]).is_err());
        assert!(p(&["--verify", "f", "-", "-bsau", "K"]).is_err());
        assert!(p(&["-x"]).is_err());
        assert!(p(&["--frobnicate"]).is_err());
    }
}
