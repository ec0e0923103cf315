//! The signing program's side: [`AgentClient`] sends one request per connection, after
//! checking that the agent at the other end is this user's; [`spawn_agent`] starts one.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use signet_crypto::SigningKey;
use thiserror::Error;
use zeroize::Zeroizing;

use super::protocol::{CredentialStatus, ProtocolError, Refusal, Request, Response, MAX_RESPONSE_BYTES};
use super::server::{own_uid, peer_allowed, peer_uid, read_line, ReadError, IO_TIMEOUT};

/// How long [`spawn_agent`] waits for the new agent to listen.
const SPAWN_WAIT: Duration = Duration::from_secs(2);

/// Why a request to the agent failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Connecting, writing or reading failed.
    #[error("talking to the signing agent at {socket}: {source}")]
    Io {
        /// The agent's socket.
        socket: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The process listening on the socket is another user's: nothing is sent to it.
    #[error("the process listening on {socket} runs as uid {peer}, not as this user (uid {uid}); not talking to it")]
    NotOurs {
        /// The agent's socket.
        socket: PathBuf,
        /// The listener's uid.
        peer: u32,
        /// This process's uid.
        uid: u32,
    },
    /// The agent's answer is not the protocol's.
    #[error("the signing agent at {socket} answered something unreadable: {source}")]
    Protocol {
        /// The agent's socket.
        socket: PathBuf,
        /// What was wrong with it.
        source: ProtocolError,
    },
    /// The agent answered, but not with what the request calls for.
    #[error("the signing agent at {socket} answered {op} with an unexpected response")]
    UnexpectedResponse {
        /// The agent's socket.
        socket: PathBuf,
        /// The request's op.
        op: &'static str,
    },
    /// The agent refused the request.
    #[error("the signing agent refused {op} ({error}){}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Refused {
        /// The request's op.
        op: &'static str,
        /// Its code.
        error: Refusal,
        /// What failed, as the agent says it.
        message: Option<String>,
    },
}

/// What the agent signed with: the signature and the credential's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSignature {
    /// DER ECDSA signature over the digest.
    pub signature: Vec<u8>,
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
}

/// A connection point to a running agent. Each call opens its own connection.
#[derive(Debug, Clone)]
pub struct AgentClient {
    socket: PathBuf,
}

impl AgentClient {
    /// A client for the agent at `socket`; `None` when nothing listens there (no socket, or
    /// a stale one). Refuses an agent run by another user.
    pub fn connect(socket: &Path) -> Result<Option<AgentClient>, ClientError> {
        let client = AgentClient {
            socket: socket.to_owned(),
        };
        match UnixStream::connect(socket) {
            Ok(stream) => {
                client.check_peer(&stream)?;
                Ok(Some(client))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(client.io(e)),
        }
    }

    /// Signs a SHA-256 digest with the credential held for `scope`; `None` when the agent
    /// holds no unexpired credential for it.
    pub fn sign(&self, scope: &str, digest: &[u8; 32]) -> Result<Option<AgentSignature>, ClientError> {
        let request = Request::Sign {
            scope: scope.to_owned(),
            digest: *digest,
        };
        match self.exchange(&request)? {
            Response::Signature { signature, chain } => Ok(Some(AgentSignature { signature, chain })),
            Response::Refused {
                error: Refusal::NoCredential,
                ..
            } => Ok(None),
            other => Err(self.unexpected(other, "sign")),
        }
    }

    /// Hands `key` and its certificate `chain` (DER, leaf first) to the agent for `scope`,
    /// replacing what it held for it. The agent checks that the leaf certifies the key and is
    /// not about to expire.
    pub fn store(&self, scope: &str, key: &SigningKey, chain: &[Vec<u8>]) -> Result<(), ClientError> {
        let request = Request::Store {
            scope: scope.to_owned(),
            key: Zeroizing::new(key.pkcs8_der().to_vec()),
            chain: chain.to_vec(),
        };
        self.expect_done(&request, "store")
    }

    /// The credentials the agent holds: scope, identity and expiry.
    pub fn status(&self) -> Result<Vec<CredentialStatus>, ClientError> {
        match self.exchange(&Request::Status)? {
            Response::Status(credentials) => Ok(credentials),
            other => Err(self.unexpected(other, "status")),
        }
    }

    /// Drops every credential the agent holds.
    pub fn forget(&self) -> Result<(), ClientError> {
        self.expect_done(&Request::Forget, "forget")
    }

    /// Stops the agent (it removes its socket).
    pub fn stop(&self) -> Result<(), ClientError> {
        self.expect_done(&Request::Stop, "stop")
    }

    fn expect_done(&self, request: &Request, op: &'static str) -> Result<(), ClientError> {
        match self.exchange(request)? {
            Response::Done => Ok(()),
            other => Err(self.unexpected(other, op)),
        }
    }

    fn unexpected(&self, response: Response, op: &'static str) -> ClientError {
        match response {
            Response::Refused { error, message } => ClientError::Refused { op, error, message },
            _ => ClientError::UnexpectedResponse {
                socket: self.socket.clone(),
                op,
            },
        }
    }

    /// One connection: the request line out, the response line in.
    fn exchange(&self, request: &Request) -> Result<Response, ClientError> {
        let mut stream = UnixStream::connect(&self.socket).map_err(|e| self.io(e))?;
        self.check_peer(&stream)?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(|e| self.io(e))?;
        stream.write_all(&request.to_line()).map_err(|e| self.io(e))?;
        let line = match read_line(&mut stream, MAX_RESPONSE_BYTES) {
            Ok(Some(line)) => line,
            Ok(None) => {
                return Err(self.io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the agent closed the connection without answering",
                )))
            }
            Err(ReadError::Io(e)) => return Err(self.io(e)),
            Err(ReadError::TooLong { limit }) => {
                return Err(ClientError::Protocol {
                    socket: self.socket.clone(),
                    source: ProtocolError::TooLong { len: limit, limit },
                })
            }
        };
        Response::parse(&line).map_err(|source| ClientError::Protocol {
            socket: self.socket.clone(),
            source,
        })
    }

    /// The agent must be this user's: a store request hands it a private key. Where the
    /// platform names the peer (SO_PEERCRED) that is the check; elsewhere the socket file's
    /// owner is.
    fn check_peer(&self, stream: &UnixStream) -> Result<(), ClientError> {
        let uid = own_uid();
        let peer = match peer_uid(stream).map_err(|e| self.io(e))? {
            Some(peer) => peer,
            None => fs::symlink_metadata(&self.socket).map_err(|e| self.io(e))?.uid(),
        };
        if peer_allowed(uid, peer) {
            Ok(())
        } else {
            Err(ClientError::NotOurs {
                socket: self.socket.clone(),
                peer,
                uid,
            })
        }
    }

    fn io(&self, source: io::Error) -> ClientError {
        ClientError::Io {
            socket: self.socket.clone(),
            source,
        }
    }
}

/// Starts `program args` as a detached agent serving `socket` (its own process group, so the
/// terminal's Ctrl-C and job control do not reach it; stdin, stdout and stderr null), then
/// waits up to 2 s for the socket to accept connections. The caller chooses the program and
/// its arguments (`signet-git --agent --socket PATH`). The child is not waited for: it
/// outlives the caller by design.
pub fn spawn_agent(program: &Path, args: &[OsString], socket: &Path) -> anyhow::Result<()> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting the signing agent {}", program.display()))?;
    let started = Instant::now();
    loop {
        if UnixStream::connect(socket).is_ok() {
            return Ok(());
        }
        // An agent that exited at once either found one already running (then the socket
        // answers on the next try) or failed.
        if let Ok(Some(status)) = child.try_wait() {
            if UnixStream::connect(socket).is_ok() {
                return Ok(());
            }
            bail!(
                "the signing agent {} exited ({status}) without listening on {}",
                program.display(),
                socket.display()
            );
        }
        if started.elapsed() >= SPAWN_WAIT {
            bail!(
                "the signing agent {} did not listen on {} within {} s",
                program.display(),
                socket.display(),
                SPAWN_WAIT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
