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

/// Two front ends under load; PostgreSQL is stopped with `-m immediate` and started again
/// while both keep running: both say they cannot write meanwhile, both come back by themselves,
/// and nothing acknowledged is lost.
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
    let flags = [
        "--database",
        &url,
        "--database-password-file",
        password_file.to_str().unwrap(),
    ];
    let servers = two_front_ends(tmp.path(), &cluster, &db, &flags);
    let logs: Vec<String> = servers.iter().map(Server::log_url).collect();
    let (entries, checkpoints) = under_load(&logs, 8, "pgstop", |acked| {
        wait_for(acked, 300, "before the stop");
        cluster.stop_immediate();
        // The front ends say they cannot write while the database is down.
        for server in &servers {
            let health = get(&format!("{}/healthz", server.url));
            assert_eq!(health.status, 503, "{}", String::from_utf8_lossy(&health.body));
            assert_eq!(health.json()["can_write"], false);
        }
        std::thread::sleep(Duration::from_secs(1));
        cluster.restart();
        // The same servers, without a restart, take entries again.
        let after = acked.load(Ordering::Relaxed);
        wait_for(acked, after + 300, "after PostgreSQL came back");
    });
    let i = integrator_of(&servers);
    let (size, checkpoints_seen) = check_acknowledged(&servers[i], &entries, &checkpoints);
    assert_gap_free(&cluster, &db, size);
    assert_publishes_fenced(&cluster, &db);
    independent_check(&servers[i], &entries, &checkpoints);
    eprintln!(
        "{} acknowledged entries and {checkpoints_seen} checkpoints survived an immediate stop of PostgreSQL under two front ends; tree size {size}",
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

/// Once the log has settled (every sequenced entry integrated: the integrator may still be
/// catching up with what a killed front end sequenced), the entries table holds exactly indices
/// 0..size, each leaf once, and the stored checkpoint is at that size, which is at least `size`
/// (what a front end served): checked in the database itself, independently of signet.
fn assert_gap_free(cluster: &Cluster, db: &str, size: u64) {
    let start = Instant::now();
    let settled: u64 = loop {
        let row = cluster.query_row(
            db,
            "SELECT q.next, c.tree_size FROM signet.seq_coord q, signet.checkpoint c",
        );
        if row[0] == row[1] {
            break row[1].parse().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "sequenced entries never integrated: (sequenced, integrated) = {row:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        settled >= size,
        "the stored checkpoint ({settled}) is behind one served ({size})"
    );
    let row = cluster.query_row(
        db,
        "SELECT count(*), coalesce(min(idx), -1), coalesce(max(idx), -1), count(DISTINCT leaf_hash) FROM signet.entries",
    );
    assert_eq!(
        row,
        [
            settled.to_string(),
            "0".into(),
            (settled - 1).to_string(),
            settled.to_string()
        ],
        "entries table (count, min, max, distinct leaves) against tree size {settled}"
    );
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

/// Two front ends on one database: the first started once to create the log, its data
/// directory copied for the second (the same keys: README "Two front ends on one PostgreSQL").
/// The database records every checkpoint update with the lease it was published under.
fn two_front_ends(tmp: &std::path::Path, cluster: &Cluster, db: &str, flags: &[&str]) -> [Server; 2] {
    let (one_dir, two_dir) = (tmp.join("one"), tmp.join("two"));
    let mut one = Server::start_with(&one_dir, flags);
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
    cluster.execute(
        db,
        "CREATE TABLE public.publishes (
             old_size BIGINT, new_size BIGINT, holder TEXT, epoch BIGINT, lease_valid BOOLEAN,
             at TIMESTAMPTZ DEFAULT clock_timestamp());
         CREATE FUNCTION public.note_publish() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             INSERT INTO public.publishes (old_size, new_size, holder, epoch, lease_valid)
                 SELECT OLD.tree_size, NEW.tree_size, l.holder, l.epoch, l.expires > clock_timestamp()
                 FROM signet.integrator_lease l WHERE l.id = 0;
             RETURN NEW;
         END $$;
         CREATE TRIGGER note_publish AFTER UPDATE ON signet.checkpoint
             FOR EACH ROW EXECUTE FUNCTION public.note_publish();",
    );
    [
        Server::start_with(&one_dir, flags),
        Server::start_with(&two_dir, flags),
    ]
}

/// Every checkpoint update the database saw moved the log forward, under a lease valid at that
/// moment, with lease epochs that never go back: no stale integrator ever published.
fn assert_publishes_fenced(cluster: &Cluster, db: &str) -> u64 {
    let row = cluster.query_row(
        db,
        "SELECT count(*),
                count(*) FILTER (WHERE new_size <= old_size),
                count(*) FILTER (WHERE NOT lease_valid),
                (SELECT count(*) FROM (SELECT epoch < max(epoch) OVER (ORDER BY at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS back FROM public.publishes) x WHERE back),
                count(DISTINCT epoch)
         FROM public.publishes",
    );
    assert_eq!(
        row[1..4],
        ["0", "0", "0"],
        "(publishes, not forward, under an invalid lease, under an older epoch, epochs): {row:?}"
    );
    row[4].parse().unwrap()
}

/// The front end that holds the Rekor v2 log's integrator lease, per `/healthz`, once exactly
/// one does.
fn integrator_of(servers: &[Server]) -> usize {
    let start = Instant::now();
    loop {
        let holders: Vec<usize> = (0..servers.len())
            .filter(|&i| {
                let health = get(&format!("{}/healthz", servers[i].url));
                health.status == 200 && health.json()["logs"]["rekor"]["integrator"] == true
            })
            .collect();
        if holders.len() == 1 {
            return holders[0];
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "integrators: {holders:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metric(server: &Server, name: &str) -> f64 {
    let text = String::from_utf8(get(&format!("{}/metrics", server.log_url())).body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {name}"))
}

/// The log checked over HTTP by code that is not signet's (`tests/tlog_check.py`: hashlib for
/// the tree, openssl for the signature).
fn independent_check(server: &Server, entries: &[(u64, signet_tlog::Hash)], checkpoints: &[String]) {
    let python = std::process::Command::new("python3").arg("--version").output();
    if python.is_err() {
        assert!(
            std::env::var_os("SIGNET_REQUIRE_POSTGRES").is_none(),
            "python3 is needed for the independent check"
        );
        eprintln!("skipping the independent check: no python3");
        return;
    }
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.dir.join("trusted_root.json")).unwrap()).unwrap();
    let key = root["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let acked: String = entries
        .iter()
        .map(|(i, h)| format!("{i} {}\n", hex::encode(h)))
        .collect();
    std::fs::write(dir.path().join("acked"), acked).unwrap();
    std::fs::write(
        dir.path().join("checkpoints"),
        serde_json::to_string(checkpoints).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tlog_check.py"))
        .arg(server.log_url())
        .arg(key)
        .arg(dir.path().join("acked"))
        .arg(dir.path().join("checkpoints"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "independent check: {text}");
    eprint!("{text}");
}

/// Two front ends under load from several clients; the integrating one is SIGKILLed. The other
/// takes the lease over and integrates what either had sequenced; nothing acknowledged is lost,
/// no index is missing or used twice, and every checkpoint handed out is consistent.
#[test]
fn sigkill_of_the_integrating_front_end_fails_over() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((cluster, db, flags)) = shared_database(tmp.path(), "failover") else {
        return;
    };
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut servers = two_front_ends(tmp.path(), cluster, &db, &flags);
    let logs: Vec<String> = servers.iter().map(Server::log_url).collect();
    let mut killed = None;
    let (entries, checkpoints) = under_load(&logs, 8, "failover", |acked| {
        wait_for(acked, 300, "before the kill");
        let i = integrator_of(&servers);
        servers[i].kill();
        killed = Some(i);
        let (at, before) = (Instant::now(), acked.load(Ordering::Relaxed));
        wait_for(acked, before + 300, "after the integrator was killed");
        eprintln!("300 more entries acknowledged {:?} after the kill", at.elapsed());
    });
    let survivor = &servers[1 - killed.unwrap()];
    assert!(metric(survivor, "signet_log_lease_changes_total") >= 1.0);
    assert_eq!(metric(survivor, "signet_log_is_integrator"), 1.0);
    let (size, seen, epochs) = survivor_holds_everything(survivor, cluster, &db, &entries, &checkpoints);
    assert!(
        epochs >= 2,
        "one lease epoch before and one after the kill, saw {epochs}"
    );
    eprintln!(
        "{} entries acknowledged through two front ends across a SIGKILL of the integrator, {seen} checkpoints, tree size {size}",
        entries.len()
    );
}

/// After the integrator was stopped: the survivor integrates, every acknowledged entry is in
/// its tree, the database holds no gap, every publish was fenced, and the log passes the
/// independent check. Returns (tree size, checkpoints seen, lease epochs).
fn survivor_holds_everything(
    survivor: &Server,
    cluster: &Cluster,
    db: &str,
    entries: &[(u64, signet_tlog::Hash)],
    checkpoints: &[String],
) -> (u64, usize, u64) {
    assert_eq!(integrator_of(std::slice::from_ref(survivor)), 0);
    let (size, seen) = check_acknowledged(survivor, entries, checkpoints);
    assert_gap_free(cluster, db, size);
    let epochs = assert_publishes_fenced(cluster, db);
    independent_check(survivor, entries, checkpoints);
    (size, seen, epochs)
}

/// The integrating front end is paused (SIGSTOP) past its lease under load, and resumed: the
/// other took over meanwhile, and the resumed one must not publish; it counts losing the lease.
#[test]
fn a_paused_integrator_cannot_publish_when_it_wakes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((cluster, db, flags)) = shared_database(tmp.path(), "paused") else {
        return;
    };
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let servers = two_front_ends(tmp.path(), cluster, &db, &flags);
    let logs: Vec<String> = servers.iter().map(Server::log_url).collect();
    let mut paused = None;
    let signal = |sig: &str, server: &Server| {
        let ok = std::process::Command::new("kill")
            .args([sig, &server.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    let (entries, checkpoints) = under_load(&logs, 8, "paused", |acked| {
        wait_for(acked, 300, "before the pause");
        let i = integrator_of(&servers);
        let changes_before = metric(&servers[i], "signet_log_lease_changes_total");
        signal("-STOP", &servers[i]);
        paused = Some(i);
        // The other takes over and integrates (the paused one's clients wait meanwhile).
        let before = acked.load(Ordering::Relaxed);
        wait_for(acked, before + 200, "while the integrator is paused");
        assert_eq!(integrator_of(std::slice::from_ref(&servers[1 - i])), 0);
        std::thread::sleep(Duration::from_secs(3)); // well past the 2 s lease
        signal("-CONT", &servers[i]);
        let before = acked.load(Ordering::Relaxed);
        wait_for(acked, before + 200, "after the paused one resumed");
        assert!(metric(&servers[i], "signet_log_lease_changes_total") >= changes_before + 1.0);
    });
    let (i, other) = (paused.unwrap(), &servers[1 - paused.unwrap()]);
    assert_eq!(metric(&servers[i], "signet_log_is_integrator"), 0.0);
    assert_eq!(integrator_of(&servers), 1 - i);
    let (size, seen) = check_acknowledged(other, &entries, &checkpoints);
    assert_gap_free(cluster, &db, size);
    let epochs = assert_publishes_fenced(cluster, &db);
    assert!(epochs >= 2, "saw {epochs} lease epochs");
    independent_check(other, &entries, &checkpoints);
    eprintln!(
        "{} entries acknowledged across a pause of the integrator past its lease, {seen} checkpoints, tree size {size}",
        entries.len()
    );
}

/// (holder, epoch, still valid) of the Rekor v2 log's integrator lease, read in the database.
fn lease_row(cluster: &Cluster, db: &str) -> (String, u64, bool) {
    let row = cluster.query_row(
        db,
        "SELECT holder, epoch, expires > clock_timestamp() FROM signet.integrator_lease WHERE id = 0",
    );
    (row[0].clone(), row[1].parse().unwrap(), row[2] == "t")
}

/// The integrating front end is SIGTERMed under load: once it has answered its in-flight
/// requests it gives the lease up in the database (not left to expire), and the other front
/// end takes it under the next epoch and integrates; nothing acknowledged is lost.
#[test]
fn a_sigtermed_integrator_gives_its_lease_up() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((cluster, db, flags)) = shared_database(tmp.path(), "sigterm") else {
        return;
    };
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut servers = two_front_ends(tmp.path(), cluster, &db, &flags);
    let logs: Vec<String> = servers.iter().map(Server::log_url).collect();
    let mut stopped = None;
    let (entries, checkpoints) = under_load(&logs, 8, "sigterm", |acked| {
        wait_for(acked, 300, "before the SIGTERM");
        let i = integrator_of(&servers);
        let (holder, epoch, valid) = lease_row(cluster, &db);
        let pid = format!(":{}:", servers[i].pid());
        assert!(
            holder.contains(&pid) && valid,
            "lease {holder} {epoch} {valid}, integrator pid {pid}"
        );
        assert_eq!(servers[i].terminate().code(), Some(0));
        stopped = Some(i);
        // At its exit the lease is no longer its: given up, or already taken by the other under
        // the next epoch. (Left to expire, it would still be valid here: it was renewed every
        // 500 ms until the exit, and lasts 2 s.)
        let (after, after_epoch, after_valid) = lease_row(cluster, &db);
        assert!(
            (after == holder && after_epoch == epoch && !after_valid)
                || (!after.contains(&pid) && after_epoch == epoch + 1),
            "lease after the SIGTERM: {after} epoch {after_epoch} valid {after_valid} (before: {holder} epoch {epoch})"
        );
        let before = acked.load(Ordering::Relaxed);
        wait_for(acked, before + 200, "after the integrator stopped");
        let (taker, taker_epoch, _) = lease_row(cluster, &db);
        assert_eq!(
            taker_epoch,
            epoch + 1,
            "the next epoch is the survivor's ({taker})"
        );
        assert!(taker.contains(&format!(":{}:", servers[1 - i].pid())), "{taker}");
    });
    let survivor = &servers[1 - stopped.unwrap()];
    let (size, seen, _) = survivor_holds_everything(survivor, cluster, &db, &entries, &checkpoints);
    eprintln!(
        "{} entries acknowledged across a SIGTERM of the integrator, {seen} checkpoints, tree size {size}",
        entries.len()
    );
}

/// A checkpoint row written straight into the database, signed by a key that is not the log's
/// (under the log's name, for a larger tree): the front end that follows the database refuses
/// it, counts it, and keeps serving the last checkpoint that verified.
#[test]
fn a_follower_never_serves_a_stored_checkpoint_it_cannot_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((cluster, db, flags)) = shared_database(tmp.path(), "forged") else {
        return;
    };
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let servers = two_front_ends(tmp.path(), cluster, &db, &flags);
    let follower = &servers[1 - integrator_of(&servers)];
    let served = || String::from_utf8(get(&format!("{}/checkpoint", follower.log_url())).body).unwrap();
    let good = served();
    let current = signet_tlog::Checkpoint::from_note_unverified(&good).unwrap();
    let impostor = signet_tlog::NoteSigner::new(
        &current.origin,
        signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap(),
    )
    .unwrap();
    let forged = signet_tlog::sign_checkpoint(
        &signet_tlog::Checkpoint {
            size: current.size + 1,
            root_hash: [0x42; 32],
            ..current.clone()
        },
        &[&impostor],
    )
    .unwrap();
    let row = cluster.query_row(&db, "SELECT tree_size, note FROM signet.checkpoint");
    cluster.execute(
        &db,
        &format!(
            "UPDATE signet.checkpoint SET tree_size = {}, note = '{}' WHERE id = 0",
            current.size + 1,
            forged.replace('\'', "''")
        ),
    );
    let start = Instant::now();
    while metric(follower, "signet_log_rejected_checkpoints_total") < 1.0 {
        assert_ne!(served(), forged, "the follower served the forged checkpoint");
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the follower never looked at the forged checkpoint"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Several polls later it still serves the last checkpoint that verified.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(served(), good);
    // The row put back, the log takes entries again through the follower.
    cluster.execute(
        &db,
        &format!(
            "UPDATE signet.checkpoint SET tree_size = {}, note = '{}' WHERE id = 0",
            row[0],
            row[1].replace('\'', "''")
        ),
    );
    let key = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    let req = hashedrekord(&key, b"after the forged checkpoint");
    let r = post(
        &format!("{}/api/v2/log/entries", follower.log_url()),
        req.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
}
