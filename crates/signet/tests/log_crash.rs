//! Crash safety: SIGKILL the server in the middle of a load, restart it, and check that every
//! acknowledged entry is in the tree with a valid inclusion proof and that the new checkpoint
//! is consistent with every checkpoint handed out before the crash.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let (entries, checkpoints) = under_load(&[server.log_url()], 16, "crash", |acked| {
        // Kill while the load is running.
        let start = Instant::now();
        while acked.load(Ordering::Relaxed) < 400 && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
    });
    assert!(
        entries.len() >= 400,
        "only {} entries acknowledged before the kill",
        entries.len()
    );

    let server = Server::start(dir.path());
    let (_, seen) = check_acknowledged(&server, &entries, &checkpoints);
    eprintln!(
        "{} acknowledged entries and {} checkpoints survived the crash",
        entries.len(),
        seen
    );
}
