//! Fault tests of `signet server --database postgres://…`: PostgreSQL stopped with
//! `pg_ctl stop -m immediate` (SIGQUIT to the postmaster: no checkpoint, WAL replayed at the
//! next start) in the middle of a load and started again, while the server keeps running. The
//! log must come back by itself, and afterwards every acknowledged entry must be in the tree,
//! every checkpoint handed out consistent with it (checked from tiles read over HTTP), and the
//! database must hold indices 0..size without a gap or a duplicate.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use signet_pgtest::Cluster;

fn wait_for(acked: &std::sync::atomic::AtomicUsize, at_least: usize, what: &str) {
    let start = Instant::now();
    while acked.load(Ordering::Relaxed) < at_least {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{what}: only {} of {at_least} entries acknowledged",
            acked.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn postgres_immediate_stop_under_load_loses_nothing_acknowledged() {
    let Some(mut cluster) = Cluster::start("postgres_immediate_stop_under_load_loses_nothing_acknowledged")
    else {
        return;
    };
    let db = cluster.create_database("faults");
    let tmp = tempfile::tempdir().unwrap();
    let password_file = tmp.path().join("pgpassword");
    std::fs::write(&password_file, signet_pgtest::PASSWORD).unwrap();
    let url = cluster.url(&db);
    let server = Server::start_with(
        &tmp.path().join("data"),
        &[
            "--database",
            &url,
            "--database-password-file",
            password_file.to_str().unwrap(),
        ],
    );

    assert_eq!(get(&format!("{}/healthz", server.url)).status, 200);
    let (entries, checkpoints) = under_load(&[server.log_url()], 8, "pgstop", |acked| {
        wait_for(acked, 300, "before the stop");
        cluster.stop_immediate();
        // The front end says it cannot write while the database is down.
        let health = get(&format!("{}/healthz", server.url));
        assert_eq!(health.status, 503, "{}", String::from_utf8_lossy(&health.body));
        std::thread::sleep(Duration::from_secs(1));
        cluster.restart();
        // The same server, without a restart, takes entries again.
        let after = acked.load(Ordering::Relaxed);
        wait_for(acked, after + 300, "after PostgreSQL came back");
    });
    assert_eq!(get(&format!("{}/healthz", server.url)).status, 200);
    let (size, checkpoints_seen) = check_acknowledged(&server, &entries, &checkpoints);

    // Independently of signet, from the database itself.
    let row = cluster.query_row(
        &db,
        "SELECT count(*), coalesce(min(idx), -1), coalesce(max(idx), -1), count(DISTINCT leaf_hash) FROM signet.entries",
    );
    assert_eq!(
        row,
        [
            size.to_string(),
            "0".into(),
            (size - 1).to_string(),
            size.to_string()
        ],
        "entries table (count, min, max, distinct leaves) against tree size {size}"
    );
    let stored = cluster.query_row(&db, "SELECT tree_size FROM signet.checkpoint WHERE id = 0");
    assert_eq!(stored, [size.to_string()]);
    eprintln!(
        "{} acknowledged entries and {checkpoints_seen} checkpoints survived an immediate stop of PostgreSQL; tree size {size}",
        entries.len()
    );
}
