//! The agent process: the socket and its directory, the peer check, the accept loop with its
//! idle timer, and the one request each connection carries. Decisions that can be made
//! without a socket ([`peer_allowed`], [`check_socket_dir`]) are functions of their inputs.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use thiserror::Error;
use zeroize::Zeroizing;

use super::keyring::Keyring;
use super::protocol::{Refusal, Request, Response, MAX_REQUEST_BYTES};

/// How long a connection may take to send its request or read its answer.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Exit (removing the socket) after this long with no credential held and no request.
    pub idle_exit: Duration,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            idle_exit: Duration::from_secs(15 * 60),
        }
    }
}

/// Why the socket's directory is not one the agent trusts.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum SocketDirError {
    /// Another user owns it, and could replace the socket.
    #[error("{dir} is owned by uid {owner}, not by this user (uid {uid}); refusing to put the agent's socket there")]
    Owner {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's uid.
        uid: u32,
    },
    /// Others may create or replace files in it.
    #[error("{dir} has mode {mode:04o}: group- or world-writable; refusing to put the agent's socket there (chmod 700 it)")]
    Writable {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// The directory of the socket must be this user's and writable by no one else: whoever can
/// write there can put their own socket in the agent's place and receive the next key a
/// signing process hands over.
pub(crate) fn check_socket_dir(dir: &Path, owner: u32, mode: u32, uid: u32) -> Result<(), SocketDirError> {
    if owner != uid {
        return Err(SocketDirError::Owner {
            dir: dir.to_owned(),
            owner,
            uid,
        });
    }
    if mode & 0o022 != 0 {
        return Err(SocketDirError::Writable {
            dir: dir.to_owned(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

/// Whether a process of `peer_uid` may talk to an agent (or be the agent) of `own_uid`: only
/// the same user. Root is not let in either: it can read any process's memory anyway, and
/// a process that changed uid (sudo) signing with the user's identity is not a use to serve.
pub(crate) fn peer_allowed(own_uid: u32, peer_uid: u32) -> bool {
    own_uid == peer_uid
}

/// This process's real uid.
pub(crate) fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// The uid of the process at the other end of `stream`, where the platform says it
/// (SO_PEERCRED, Linux and Android); `None` elsewhere, where the socket directory's 0700 is
/// what keeps other users out.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_uid(stream: &UnixStream) -> io::Result<Option<u32>> {
    Ok(Some(rustix::net::sockopt::socket_peercred(stream)?.uid.as_raw()))
}

/// See the Linux version.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn peer_uid(_stream: &UnixStream) -> io::Result<Option<u32>> {
    Ok(None)
}

/// Makes this process non-dumpable (Linux: `prctl(PR_SET_DUMPABLE, 0)`): no core file, and
/// processes of the same user can no longer ptrace it or read `/proc/<pid>/mem`. Root and
/// holders of CAP_SYS_PTRACE still can. A no-op elsewhere.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn forbid_dumping() -> io::Result<()> {
    Ok(rustix::process::set_dumpable_behavior(
        rustix::process::DumpableBehavior::NotDumpable,
    )?)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn forbid_dumping() -> io::Result<()> {
    Ok(())
}

/// Runs the agent on `socket` until it is told to stop or has been idle for
/// `options.idle_exit`, then removes the socket. Returns `Ok` at once, doing nothing, when an
/// agent already serves that socket. Writes nothing to stdout or stderr.
pub fn serve(socket: &Path, options: &AgentOptions) -> anyhow::Result<()> {
    forbid_dumping().context("making the agent non-dumpable (prctl PR_SET_DUMPABLE)")?;
    let uid = own_uid();
    prepare_dir(socket, uid)?;
    let Some(_lock) = lock(socket)? else {
        return Ok(()); // another agent holds the lock: already running
    };
    let Some(listener) = bind(socket)? else {
        return Ok(()); // something answers on the socket: already running
    };
    let _remove = RemoveOnDrop(socket);
    listener
        .set_nonblocking(true)
        .context("making the agent's socket non-blocking")?;

    let mut keyring = Keyring::new();
    let mut idle_since = Instant::now();
    loop {
        let now = clock();
        keyring.purge_expired(now);
        if !keyring.is_empty() {
            idle_since = Instant::now();
        }
        let idle = idle_since.elapsed();
        let wait = if keyring.is_empty() {
            match options.idle_exit.checked_sub(idle) {
                Some(left) if !left.is_zero() => left,
                _ => return Ok(()),
            }
        } else {
            // Wake when the next credential expires, to drop it.
            let left = keyring.next_expiry().unwrap_or(now).saturating_sub(now);
            Duration::from_secs(left.clamp(1, 3600).unsigned_abs())
        };
        if !readable(&listener, wait)? {
            continue;
        }
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if transient(&e) => continue,
            Err(e) => return Err(e).context("accepting a connection on the agent's socket"),
        };
        let stop = serve_connection(stream, uid, &mut keyring);
        idle_since = Instant::now();
        if stop {
            return Ok(());
        }
    }
}

/// Unix seconds now. A clock before 1970 reads as the end of time, so that every credential
/// counts as expired: the agent then serves nothing rather than something stale.
fn clock() -> i64 {
    crate::unix_now().unwrap_or(i64::MAX)
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
    )
}

/// Waits up to `wait` for a connection; false on timeout or a signal.
fn readable(listener: &UnixListener, wait: Duration) -> anyhow::Result<bool> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let timeout = Timespec {
        tv_sec: i64::try_from(wait.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(wait.subsec_nanos()),
    };
    let mut fds = [PollFd::new(listener, PollFlags::IN)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(io::Error::from(e)).context("waiting for connections on the agent's socket"),
    }
}

/// Creates the socket's directory 0700 if missing, and refuses one another user could write.
fn prepare_dir(socket: &Path, uid: u32) -> anyhow::Result<()> {
    let dir = match socket.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the agent's directory {}", dir.display()))?;
    }
    let meta = fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if !meta.is_dir() {
        bail!(
            "{} is not a directory; cannot put the agent's socket there",
            dir.display()
        );
    }
    check_socket_dir(dir, meta.uid(), meta.mode(), uid)?;
    Ok(())
}

/// Takes `<socket>.lock` (flock, exclusive): two agents starting at once must not both
/// decide the socket is stale and replace each other's. `None` when another agent holds it.
/// The lock lasts as long as the returned file is open, and the kernel releases it when the
/// process exits however it exits.
fn lock(socket: &Path) -> anyhow::Result<Option<fs::File>> {
    let mut path = socket.as_os_str().to_owned();
    path.push(".lock");
    let path = PathBuf::from(path);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening the agent's lock file {}", path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(io::Error::from(e)).with_context(|| format!("locking {}", path.display())),
    }
}

/// Binds the socket, mode 0600, replacing a stale one (a socket file nothing listens on);
/// `None` when something answers there already.
fn bind(socket: &Path) -> anyhow::Result<Option<UnixListener>> {
    match fs::symlink_metadata(socket) {
        Ok(meta) if !meta.file_type().is_socket() => {
            bail!(
                "{} exists and is not a socket; not replacing it",
                socket.display()
            )
        }
        Ok(_) => match UnixStream::connect(socket) {
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => fs::remove_file(socket)
                .with_context(|| format!("removing the stale socket {}", socket.display()))?,
            Err(e) => {
                return Err(e).with_context(|| format!("checking whether {} is live", socket.display()))
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", socket.display())),
    }
    let listener = UnixListener::bind(socket)
        .with_context(|| format!("binding the agent's socket {}", socket.display()))?;
    // The directory (0700) already keeps others out between bind and chmod; 0600 is the
    // second wall, for a directory that is later loosened.
    fs::set_permissions(socket, fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod 600 {}", socket.display()))?;
    Ok(Some(listener))
}

/// Removes the socket when the agent stops, however `serve` returns.
struct RemoveOnDrop<'a>(&'a Path);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0);
    }
}

/// Serves the one request `stream` carries; true when it asked the agent to stop. Errors on
/// one connection end that connection, never the agent.
fn serve_connection(mut stream: UnixStream, uid: u32, keyring: &mut Keyring) -> bool {
    // Nothing is read from another user's process.
    match peer_uid(&stream) {
        Ok(Some(peer)) if peer_allowed(uid, peer) => {}
        Ok(None) => {}
        Ok(Some(_)) | Err(_) => return false,
    }
    // Accepted sockets inherit O_NONBLOCK from the listener on the BSDs and macOS.
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(Some(IO_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(IO_TIMEOUT)).is_err()
    {
        return false;
    }
    let (response, stop) = match read_line(&mut stream, MAX_REQUEST_BYTES) {
        Ok(None) | Err(ReadError::Io(_)) => return false,
        Err(e @ ReadError::TooLong { .. }) => (Response::refused(Refusal::BadRequest, e), false),
        Ok(Some(line)) => match Request::parse(&line) {
            Ok(Request::Stop) => (Response::Done, true),
            Ok(request) => (keyring.answer(request, clock()), false),
            Err(e) => (Response::refused(Refusal::BadRequest, e), false),
        },
    };
    let _ = stream.write_all(&response.to_line());
    stop
}

/// Why a line could not be read.
#[derive(Debug, Error)]
pub(crate) enum ReadError {
    #[error("the line is longer than {limit} bytes")]
    TooLong { limit: usize },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads one line of at most `limit` bytes (newline included, or ended by end of stream)
/// into a buffer that is allocated once and wiped when dropped: a store request carries a
/// key. `None` when the peer sent nothing at all.
pub(crate) fn read_line(
    stream: &mut impl Read,
    limit: usize,
) -> Result<Option<Zeroizing<Vec<u8>>>, ReadError> {
    let mut buf = Zeroizing::new(vec![0u8; limit]);
    let mut len = 0;
    loop {
        if len == limit {
            return Err(ReadError::TooLong { limit });
        }
        let n = match stream.read(&mut buf[len..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            break;
        }
        let newline = buf[len..len + n].iter().position(|b| *b == b'\n');
        len += n;
        if let Some(at) = newline {
            len = len - n + at + 1;
            break;
        }
    }
    if len == 0 {
        return Ok(None);
    }
    buf.truncate(len);
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_uid_is_a_peer() {
        assert!(peer_allowed(1000, 1000));
        assert!(!peer_allowed(1000, 1001));
        assert!(!peer_allowed(1000, 0), "root is refused too");
        assert!(!peer_allowed(0, 1000));
        assert!(peer_allowed(0, 0));
    }

    #[test]
    fn socket_dir_must_be_ours_and_closed() {
        let dir = Path::new("/run/user/1000/signet");
        assert_eq!(check_socket_dir(dir, 1000, 0o40700, 1000), Ok(()));
        assert_eq!(
            check_socket_dir(dir, 1000, 0o40755, 1000),
            Ok(()),
            "readable is fine"
        );
        assert!(matches!(
            check_socket_dir(dir, 1001, 0o40700, 1000),
            Err(SocketDirError::Owner {
                owner: 1001,
                uid: 1000,
                ..
            })
        ));
        assert!(matches!(
            check_socket_dir(dir, 0, 0o40700, 1000),
            Err(SocketDirError::Owner { .. })
        ));
        for mode in [0o40777, 0o40770, 0o40702, 0o41777] {
            let e = check_socket_dir(dir, 1000, mode, 1000).unwrap_err();
            assert!(e.to_string().contains("writable"), "{e}");
        }
    }

    #[test]
    fn read_line_stops_at_the_newline_and_the_limit() {
        let mut input: &[u8] = b"{\"op\":\"status\"}\ntrailing";
        assert_eq!(
            read_line(&mut input, 64).unwrap().unwrap().as_slice(),
            b"{\"op\":\"status\"}\n"
        );
        let mut no_newline: &[u8] = b"abc";
        assert_eq!(
            read_line(&mut no_newline, 64).unwrap().unwrap().as_slice(),
            b"abc"
        );
        let mut empty: &[u8] = b"";
        assert!(read_line(&mut empty, 64).unwrap().is_none());
        let mut exact: &[u8] = b"abc\n";
        assert_eq!(read_line(&mut exact, 4).unwrap().unwrap().as_slice(), b"abc\n");
        let mut long: &[u8] = b"abcd\n";
        assert!(matches!(
            read_line(&mut long, 4),
            Err(ReadError::TooLong { limit: 4 })
        ));
    }
}
