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

/// A fresh database in the shared cluster, a password file, and the flags for it.
fn shared_database(tmp: &std::path::Path, name: &str) -> Option<(&'static Cluster, String, Vec<String>)> {
    let cluster = signet_pgtest::shared()?;
    let db = cluster.create_database(name);
    let password_file = tmp.join("pgpassword");
    std::fs::write(&password_file, signet_pgtest::PASSWORD).unwrap();
    let flags = vec![
        "--database".to_string(),
        cluster.url(&db),
        "--database-password-file".to_string(),
        password_file.to_str().unwrap().to_string(),
    ];
    Some((cluster, db, flags))
}

/// The entries table holds exactly indices 0..size, each leaf once, and the stored checkpoint
/// is at that size: checked in the database itself, independently of signet.
fn assert_gap_free(cluster: &Cluster, db: &str, size: u64) {
    let row = cluster.query_row(
        db,
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
    let stored = cluster.query_row(db, "SELECT tree_size FROM signet.checkpoint WHERE id = 0");
    assert_eq!(stored, [size.to_string()]);
}

#[test]
fn sigkill_of_signet_on_postgres_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((cluster, db, flags)) = shared_database(tmp.path(), "sigkill") else {
        return;
    };
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let data = tmp.path().join("data");
    let mut server = Server::start_with(&data, &flags);
    let (entries, checkpoints) = under_load(&[server.log_url()], 16, "pgkill", |acked| {
        wait_for(acked, 400, "before the kill");
        server.kill();
    });
    let server = Server::start_with(&data, &flags);
    let (size, seen) = check_acknowledged(&server, &entries, &checkpoints);
    assert_gap_free(cluster, &db, size);
    eprintln!(
        "{} acknowledged entries and {seen} checkpoints survived SIGKILL; tree size {size}",
        entries.len()
    );
}

/// Two servers on one database (the same keys, copied data directories), loaded at once. They
/// do not share the work yet, but they must never fork the log or move it back: each batch is
/// published by compare-and-swap, the loser's batch is refused whole and its clients get an
/// error. Every acknowledged entry, from either server, is in the final tree; every checkpoint
/// either handed out is consistent with it; the indices are gap-free.
#[test]
fn two_servers_on_one_database_never_fork() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((cluster, db, flags)) = shared_database(tmp.path(), "twowriters") else {
        return;
    };
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (one_dir, two_dir) = (tmp.path().join("one"), tmp.path().join("two"));
    let mut one = Server::start_with(&one_dir, &flags);
    // A request first: SIGTERM before the server's accept loop first ran kills it outright.
    assert_eq!(get(&format!("{}/healthz", one.url)).status, 200);
    assert_eq!(one.terminate().code(), Some(0));
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&one_dir)
        .arg(&two_dir)
        .status()
        .unwrap();
    assert!(copied.success());
    // The database itself records every update that moves the stored checkpoint back, however
    // briefly (a later update could hide it from a check of the end state).
    cluster.execute(
        &db,
        "CREATE TABLE public.checkpoint_regressions (old_size BIGINT, new_size BIGINT);
         CREATE FUNCTION public.note_regression() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.tree_size < OLD.tree_size THEN
                 INSERT INTO public.checkpoint_regressions VALUES (OLD.tree_size, NEW.tree_size);
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER note_regression AFTER UPDATE ON signet.checkpoint
             FOR EACH ROW EXECUTE FUNCTION public.note_regression();",
    );
    let one = Server::start_with(&one_dir, &flags);
    let two = Server::start_with(&two_dir, &flags);
    // Meanwhile one entry is sent again and again to both: a batch of nothing but a duplicate,
    // built on a stale view, would otherwise publish an old checkpoint over a newer one.
    let key = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    let duplicate = hashedrekord(&key, b"sent again and again");
    assert_eq!(add_entry(&one.log_url(), &duplicate).status, 201);
    // Most load through one, a little through two: two is mostly behind, so the duplicate it
    // gets often makes a batch of its own on a stale view.
    let mut logs = vec![one.log_url(); 15];
    logs.push(two.log_url());
    let (entries, checkpoints) = under_load(&logs, 16, "two", |acked| {
        let start = Instant::now();
        while acked.load(Ordering::Relaxed) < 600 {
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "through two servers: too slow"
            );
            for server in [&one, &two] {
                let _ = try_post(
                    &format!("{}/api/v2/log/entries", server.log_url()),
                    duplicate.to_string().as_bytes(),
                );
            }
        }
    });
    assert_eq!(
        cluster.query_row(
            &db,
            "SELECT count(*), coalesce(min(new_size), -1) FROM public.checkpoint_regressions"
        ),
        ["0", "-1"],
        "(regressions, smallest size published over a larger one)"
    );
    // Both wrote to the shared log: each committed batches of its own, or had batches refused
    // because the other had moved the checkpoint first (on a fast machine the busier server can
    // keep the other stale throughout; a refusal is the compare-and-swap doing its work).
    let counter = |server: &Server, name: &str| -> u64 {
        let text = String::from_utf8(get(&format!("{}/metrics", server.log_url())).body).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert!(counter(&one, "signet_log_entries_total") > 0);
    assert!(
        counter(&two, "signet_log_entries_total") + counter(&two, "signet_log_failed_batches_total") > 0,
        "the second server never wrote"
    );
    // Each server serves the last checkpoint it published itself, which may be older than the
    // other's (stale, never forked). One more entry through it brings it to the head: its first
    // try may be refused (its view was stale, it re-reads the log), a later one lands on top.
    let catch_up = |server: &Server, tag: &str| {
        let logged = (0..20).any(|i| {
            add_entry(
                &server.log_url(),
                &hashedrekord(&key, format!("{tag} {i}").as_bytes()),
            )
            .status
                == 201
        });
        assert!(logged, "{tag}: no entry logged in 20 tries");
    };
    catch_up(&two, "catch up two");
    catch_up(&one, "catch up one");
    let (size, seen) = check_acknowledged(&one, &entries, &checkpoints);
    assert_gap_free(cluster, &db, size);
    // The other server, brought to the head too, serves the same log, consistent with everything.
    catch_up(&two, "catch up two again");
    let (size_two, _) = check_acknowledged(&two, &entries, &checkpoints);
    assert!(size_two > size);
    eprintln!(
        "{} entries acknowledged through two servers, {seen} checkpoints, one log of size {size}",
        entries.len()
    );
}
