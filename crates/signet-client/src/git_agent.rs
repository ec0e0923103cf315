//! A per-user signing agent for keyless git signing (Unix only), the counterpart of gitsign's
//! credential cache (a Go net/rpc service holding key and certificates in memory for ten
//! minutes), shaped like ssh-agent.
//!
//! # Why an agent
//!
//! Keyless signing needs an ephemeral P-256 key, an OpenID Connect login and a ten-minute
//! Fulcio certificate. git runs the signing program once per commit, so a rebase of 50
//! commits would log in 50 times. The first signing process therefore hands the fresh key and
//! its chain to the agent, which keeps them **in memory only** until the certificate expires;
//! later processes send a SHA-256 digest and get a signature back. After that one hand-over
//! the key never leaves the agent: there is no operation that returns it.
//!
//! A key file in the cache directory would do the same with less code, but it outlives the
//! certificate on disk (and in backups and snapshots), and any process of the user, now or
//! later, can copy it. An agent keeps the key for ten minutes, in one process, and lets
//! others use it without holding it.
//!
//! # What protects it, and from whom
//!
//! - **The socket's directory is 0700** (created so, and refused if another user owns it or
//!   it is group- or world-writable), **and the socket 0600**: other users cannot connect to
//!   the agent, nor put their own socket in its place to receive the next key.
//! - **The peer's uid** (SO_PEERCRED, Linux and Android) is checked on every connection
//!   before anything is read; another user's process is refused and the connection closed.
//!   The client checks the agent the same way before it sends anything, so a socket path
//!   pointing at someone else's listener does not receive a key. Where the platform has no
//!   peer credentials (macOS, the BSDs) the directory's and the socket file's owner are the
//!   check.
//! - **The agent is non-dumpable** (Linux: `prctl(PR_SET_DUMPABLE, 0)`): no core file, and
//!   the user's other processes cannot ptrace it or read its memory through `/proc`.
//! - **Keys are wiped** when a credential is replaced, forgotten or expires, and when the
//!   agent exits (`SigningKey` zeroizes its PKCS#8 copy, aws-lc cleanses its own); the
//!   request line and decoded PKCS#8 bytes of a store are wiped after parsing.
//!
//! None of this stops the user's own processes from **using** the key while it is held: any
//! program the user runs can connect and have digests signed for ten minutes, exactly as
//! with ssh-agent, and the signatures name the user. Nor does it stop root, a process with
//! CAP_SYS_PTRACE, a kernel exploit, or memory swapped to an unencrypted disk. What it does
//! stop: other users; the key outliving its certificate; the key being copied out by a
//! same-user process that does not ptrace (a crashed agent leaves no core file, and there is
//! no "export").
//!
//! # Protocol
//!
//! One request per connection, one JSON line each way ([`protocol`]). A request line is at
//! most 64 KiB; each side gives the other 5 s to write and to read. Connections are served
//! one at a time; each takes milliseconds.
//!
//! ```text
//! {"op":"sign","scope":S,"digest":"<base64, 32 bytes>"}
//!     -> {"ok":true,"signature":"<base64 DER ECDSA>","chain":["<base64 DER leaf>",...]}
//!     -> {"ok":false,"error":"no-credential"}      nothing unexpired held for S
//! {"op":"store","scope":S,"key":"<base64 PKCS#8 DER>","chain":["<base64 DER leaf>",...]}
//!     -> {"ok":true}                                replaces what S held
//! {"op":"status"}  -> {"ok":true,"credentials":[{"scope":S,"identity":SAN,"not_after":UNIX}]}
//! {"op":"forget"}  -> {"ok":true}                   drops every credential
//! {"op":"stop"}    -> {"ok":true}                   the agent exits
//! otherwise        -> {"ok":false,"error":"bad-request"|"bad-credential"|"sign-failed","message":...}
//! ```
//!
//! A scope is any text of 1 to 1024 bytes the caller chooses (signet-git uses a hash of the
//! CA URL and the identity it expects). A store is checked: the key is PKCS#8 ECDSA P-256
//! (the digest is SHA-256), every certificate parses, the leaf certifies the key and names an
//! identity, and it has more than 60 s to live. A credential is served while `now + 60 s <
//! notAfter` and dropped after; with nothing held and no request for `idle_exit` (15 minutes
//! by default) the agent exits and removes its socket.
//!
//! # Where the socket is
//!
//! [`default_socket_path`]: `$SIGNET_GIT_AGENT_SOCK` if set; else
//! `$XDG_RUNTIME_DIR/signet/git-agent.sock`, the per-user runtime directory (0700, in memory,
//! removed at logout), which is what it is for; else `$HOME/.cache/signet/git-agent-<uid>.sock`,
//! under the home directory, which other users cannot write, with the uid in the name so
//! that two uids sharing a HOME (`sudo` keeping it) do not meet on one socket. Never a
//! shared directory such as `/tmp`, where another user could create the directory first.
//! A socket path is limited to about 100 bytes by the kernel (`sun_path`).

mod client;
mod keyring;
pub mod protocol;
mod server;
#[cfg(test)]
mod test_pki;

use std::ffi::OsString;
use std::path::PathBuf;

pub use client::{spawn_agent, AgentClient, AgentSignature, ClientError};
pub use keyring::EXPIRY_MARGIN_SECS;
pub use protocol::CredentialStatus;
pub use server::{serve, AgentOptions};

/// The environment variable that names the agent's socket.
pub const SOCKET_ENV: &str = "SIGNET_GIT_AGENT_SOCK";

/// Where the agent's socket is (module documentation, "Where the socket is").
pub fn default_socket_path() -> PathBuf {
    socket_path_from(|name| std::env::var_os(name), server::own_uid())
}

/// [`default_socket_path`] for an environment and a uid.
fn socket_path_from(env: impl Fn(&str) -> Option<OsString>, uid: u32) -> PathBuf {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(path) = set(SOCKET_ENV) {
        return PathBuf::from(path);
    }
    // Relative values are ignored, as the XDG Base Directory specification says.
    if let Some(dir) = set("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
    {
        return dir.join("signet").join("git-agent.sock");
    }
    let home = set("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    home.join(".cache")
        .join("signet")
        .join(format!("git-agent-{uid}.sock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn socket_path_prefers_the_variable_then_the_runtime_dir_then_home() {
        let all = [
            (SOCKET_ENV, "/tmp/mine.sock"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
            ("HOME", "/home/me"),
        ];
        assert_eq!(socket_path_from(env(&all), 1000), PathBuf::from("/tmp/mine.sock"));
        assert_eq!(
            socket_path_from(env(&all[1..]), 1000),
            PathBuf::from("/run/user/1000/signet/git-agent.sock")
        );
        assert_eq!(
            socket_path_from(env(&all[2..]), 1000),
            PathBuf::from("/home/me/.cache/signet/git-agent-1000.sock")
        );
        let unusable = [
            (SOCKET_ENV, ""),
            ("XDG_RUNTIME_DIR", "relative/dir"),
            ("HOME", "/home/me"),
        ];
        assert_eq!(
            socket_path_from(env(&unusable), 7),
            PathBuf::from("/home/me/.cache/signet/git-agent-7.sock")
        );
    }
}
