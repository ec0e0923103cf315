//! The git signing agent end to end: `serve` on a thread (or as a child process) on a socket
//! in a temporary directory, driven through `AgentClient` and through raw lines.

#![cfg(unix)]

#[path = "../src/git_agent/test_pki.rs"]
mod test_pki;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use signet_client::git_agent::protocol::Refusal;
use signet_client::git_agent::{self, AgentClient, AgentOptions, ClientError};
use signet_crypto::{sha256, PublicKey, PublicKeyDetails, SigningKey};

/// Generous: these bounds only keep a broken test from hanging, they measure nothing.
const PATIENCE: Duration = Duration::from_secs(30);

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn now() -> i64 {
    signet_client::unix_now().unwrap()
}

/// A credential valid for ten minutes from now, as Fulcio issues them.
fn credential(email: &str) -> (SigningKey, Vec<Vec<u8>>) {
    test_pki::fulcio_chain(email, now() - 10, now() + 600)
}

struct Agent {
    socket: PathBuf,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn start() -> Agent {
        Self::start_with(AgentOptions::default())
    }

    fn start_with(options: AgentOptions) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("signet").join("git-agent.sock");
        let thread = Some(serve_on_thread(&socket, options));
        let agent = Agent {
            socket,
            thread,
            _dir: dir,
        };
        wait_until("the agent listens", || {
            agent.socket.exists() && agent.try_client().is_some()
        });
        agent
    }

    fn try_client(&self) -> Option<AgentClient> {
        AgentClient::connect(&self.socket).unwrap()
    }

    fn client(&self) -> AgentClient {
        self.try_client().expect("the agent is listening")
    }

    /// Stops the agent and checks that it removed its socket and returned Ok.
    fn stop(mut self) {
        self.client().stop().unwrap();
        let thread = self.thread.take().unwrap();
        wait_until("the agent exits", || thread.is_finished());
        thread.join().unwrap().unwrap();
        assert!(!self.socket.exists(), "the socket is removed");
    }
}

fn serve_on_thread(socket: &Path, options: AgentOptions) -> JoinHandle<anyhow::Result<()>> {
    let socket = socket.to_owned();
    std::thread::spawn(move || git_agent::serve(&socket, &options))
}

/// Sends `line` as is and returns what the agent answered (empty when it closed).
fn raw(socket: &Path, line: &[u8]) -> String {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    // The agent may answer and close before reading everything of an oversize line.
    let _ = stream.write_all(line);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[test]
fn stored_credential_signs_and_the_signature_verifies_with_the_leaf() {
    let agent = Agent::start();
    let client = agent.client();
    let (key, chain) = credential("dev@example.com");
    assert_eq!(
        client.sign("scope-a", &[0; 32]).unwrap(),
        None,
        "nothing held yet"
    );
    client.store("scope-a", &key, &chain).unwrap();
    drop(key);

    let digest = sha256(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n");
    let signed = client.sign("scope-a", &digest).unwrap().expect("a signature");
    assert_eq!(signed.chain, chain);
    let leaf_key = PublicKey::from_certificate_der(&signed.chain[0]).unwrap();
    leaf_key
        .verify_digest(
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            &digest,
            &signed.signature,
        )
        .unwrap();
    let mut other = digest;
    other[0] ^= 1;
    assert!(leaf_key
        .verify_digest(
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            &other,
            &signed.signature
        )
        .is_err());
    agent.stop();
}

#[test]
fn scopes_are_isolated_and_status_shows_identities_not_keys() {
    let agent = Agent::start();
    let client = agent.client();
    let (key_a, chain_a) = credential("a@example.com");
    let (key_b, chain_b) = credential("b@example.com");
    client.store("a", &key_a, &chain_a).unwrap();
    assert_eq!(client.sign("b", &[1; 32]).unwrap(), None);
    client.store("b", &key_b, &chain_b).unwrap();

    let signed = client.sign("b", &[1; 32]).unwrap().unwrap();
    assert_eq!(signed.chain, chain_b);
    key_b
        .public_key()
        .verify_digest(
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            &[1; 32],
            &signed.signature,
        )
        .unwrap();
    assert!(key_a
        .public_key()
        .verify_digest(
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            &[1; 32],
            &signed.signature
        )
        .is_err());

    let status = client.status().unwrap();
    let shown: Vec<(&str, &str)> = status
        .iter()
        .map(|c| (c.scope.as_str(), c.identity.as_str()))
        .collect();
    assert_eq!(shown, [("a", "a@example.com"), ("b", "b@example.com")]);
    assert!(status.iter().all(|c| c.not_after > now() + 500));
    let line = raw(&agent.socket, b"{\"op\":\"status\"}\n");
    assert!(!line.contains("key"), "{line}");
    agent.stop();
}

#[test]
fn forget_drops_every_credential() {
    let agent = Agent::start();
    let client = agent.client();
    let (key, chain) = credential("dev@example.com");
    client.store("a", &key, &chain).unwrap();
    client.store("b", &key, &chain).unwrap();
    client.forget().unwrap();
    assert_eq!(client.sign("a", &[0; 32]).unwrap(), None);
    assert_eq!(client.sign("b", &[0; 32]).unwrap(), None);
    assert!(client.status().unwrap().is_empty());
    agent.stop();
}

#[test]
fn bad_stores_and_bad_lines_are_refused_with_a_reason() {
    let agent = Agent::start();
    let client = agent.client();
    let (key, chain) = credential("dev@example.com");
    let (other_key, _) = credential("dev@example.com");
    match client.store("a", &other_key, &chain) {
        Err(ClientError::Refused {
            error: Refusal::BadCredential,
            message: Some(m),
            ..
        }) => assert!(m.contains("different public key"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (dying_key, dying) = test_pki::fulcio_chain("dev@example.com", now() - 600, now() + 30);
    let refused = client.store("a", &dying_key, &dying).unwrap_err().to_string();
    assert!(refused.contains("notAfter"), "{refused}");
    assert_eq!(client.sign("a", &[0; 32]).unwrap(), None);

    let answer = raw(&agent.socket, b"{\"op\":\"export\",\"scope\":\"a\"}\n");
    assert!(
        answer.starts_with("{\"ok\":false,\"error\":\"bad-request\""),
        "{answer}"
    );
    assert!(answer.contains("unknown op"), "{answer}");
    let answer = raw(&agent.socket, b"not json\n");
    assert!(answer.contains("bad-request"), "{answer}");
    let answer = raw(&agent.socket, &vec![b' '; 70 * 1024]);
    assert!(
        answer.contains("bad-request") && answer.contains("longer than"),
        "{answer}"
    );

    // The agent still works after all that.
    client.store("a", &key, &chain).unwrap();
    assert!(client.sign("a", &[0; 32]).unwrap().is_some());
    agent.stop();
}

#[test]
fn socket_is_0600_in_a_0700_directory() {
    let agent = Agent::start();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&agent.socket), 0o600);
    assert_eq!(mode(agent.socket.parent().unwrap()), 0o700);
    agent.stop();
}

#[test]
fn a_world_writable_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let socket = open.join("git-agent.sock");
    let error = git_agent::serve(&socket, &AgentOptions::default()).unwrap_err();
    assert!(format!("{error:#}").contains("writable"), "{error:#}");
    assert!(!socket.exists());
}

#[test]
fn a_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("git-agent.sock");
    drop(UnixListener::bind(&socket).unwrap()); // the file stays, nothing listens
    assert!(socket.exists());
    assert!(
        AgentClient::connect(&socket).unwrap().is_none(),
        "a stale socket is no agent"
    );

    let thread = serve_on_thread(&socket, AgentOptions::default());
    wait_until("the agent replaces the stale socket", || {
        AgentClient::connect(&socket).unwrap().is_some()
    });
    let client = AgentClient::connect(&socket).unwrap().unwrap();
    assert!(client.status().unwrap().is_empty());
    client.stop().unwrap();
    thread.join().unwrap().unwrap();
    assert!(!socket.exists());
}

#[test]
fn a_second_agent_on_the_same_socket_finds_it_running() {
    let agent = Agent::start();
    let (key, chain) = credential("dev@example.com");
    agent.client().store("a", &key, &chain).unwrap();
    // Returns at once, without touching the running agent's socket.
    git_agent::serve(&agent.socket, &AgentOptions::default()).unwrap();
    assert!(agent.client().sign("a", &[0; 32]).unwrap().is_some());
    agent.stop();
}

#[test]
fn an_idle_agent_exits_and_removes_its_socket() {
    // Not Agent::start: a starved test thread might first look after the agent has left.
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("git-agent.sock");
    let options = AgentOptions {
        idle_exit: Duration::from_millis(300),
    };
    let thread = serve_on_thread(&socket, options);
    wait_until("the idle agent exits", || thread.is_finished());
    thread.join().unwrap().unwrap();
    assert!(dir.path().join("git-agent.sock.lock").exists(), "it did start");
    assert!(!socket.exists(), "and removed its socket");
}

#[test]
fn nothing_listening_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert!(AgentClient::connect(&dir.path().join("absent.sock"))
        .unwrap()
        .is_none());
}

/// Not a test: the agent process `spawned_agent_serves_until_stopped` starts, through
/// `spawn_agent`, with the socket path as its last argument.
#[test]
#[ignore = "the agent process of spawned_agent_serves_until_stopped"]
fn agent_process() {
    let socket = PathBuf::from(std::env::args_os().last().unwrap());
    let options = AgentOptions {
        idle_exit: Duration::from_secs(60),
    };
    git_agent::serve(&socket, &options).unwrap();
}

#[test]
fn spawned_agent_serves_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("signet").join("git-agent.sock");
    let args: Vec<OsString> = ["agent_process", "--exact", "--ignored", "--test-threads=1"]
        .iter()
        .map(OsString::from)
        .chain([socket.clone().into_os_string()])
        .collect();
    let program = std::env::current_exe().unwrap();
    git_agent::spawn_agent(&program, &args, &socket).unwrap();
    let client = AgentClient::connect(&socket)
        .unwrap()
        .expect("the spawned agent listens");
    let (key, chain) = credential("dev@example.com");
    client.store("a", &key, &chain).unwrap();
    assert!(client.sign("a", &[0; 32]).unwrap().is_some());
    client.stop().unwrap();
    wait_until("the spawned agent removes its socket", || !socket.exists());
}

/// Not a test: run as uid 65534 by `another_users_process_is_refused_both_ways`, it prints
/// what the agent at the socket (its last argument) answered and what the client decided.
#[test]
#[ignore = "the other user's process of another_users_process_is_refused_both_ways"]
fn other_user_process() {
    let socket = PathBuf::from(std::env::args_os().last().unwrap());
    println!("ANSWER={:?}", raw(&socket, b"{\"op\":\"status\"}\n"));
    match AgentClient::connect(&socket) {
        Err(e @ ClientError::NotOurs { .. }) => println!("CLIENT=refused: {e}"),
        other => println!("CLIENT=accepted: {other:?}"),
    }
}

#[test]
fn another_users_process_is_refused_both_ways() {
    use std::os::unix::process::CommandExt;
    if own_uid() != 0 {
        eprintln!("skipping: needs root to run a process as another user");
        return;
    }
    let agent = Agent::start();
    // Let uid 65534 reach the socket, so that only the peer check stands in its way.
    for (path, mode) in [
        (agent.socket.parent().unwrap().parent().unwrap(), 0o711),
        (agent.socket.parent().unwrap(), 0o711),
        (agent.socket.as_path(), 0o666),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["other_user_process", "--exact", "--ignored", "--nocapture"])
        .arg(&agent.socket)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ANSWER=\"\""),
        "the agent answered another user: {stdout}"
    );
    assert!(
        stdout.contains("CLIENT=refused") && stdout.contains("uid 0"),
        "{stdout}"
    );
    // This user is still served.
    assert!(raw(&agent.socket, b"{\"op\":\"status\"}\n").starts_with("{\"ok\":true"));
    agent.stop();
}

fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The uid that owns what this process creates.
    let dir = tempfile::tempdir().unwrap();
    std::fs::metadata(dir.path()).unwrap().uid()
}

#[test]
fn spawning_a_program_that_never_listens_fails() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("git-agent.sock");
    let error = git_agent::spawn_agent(Path::new("/bin/true"), &[], &socket).unwrap_err();
    assert!(error.to_string().contains("without listening"), "{error}");
}
