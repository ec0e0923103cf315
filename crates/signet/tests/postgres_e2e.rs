//! `signet server --database postgres://…` against a private PostgreSQL cluster: a keyless
//! sign-and-verify round trip with every log (Rekor v2, Rekor v1, CT) kept in the database,
//! state that outlives the server process, a front end whose keys the database does not know
//! refused, `signet db migrate`, a newer schema refused, TLS to the database verified, a wrong
//! password refused. Each test prints one skip line where PostgreSQL is not installed.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use signet_crypto::{KeyKind, SigningKey};
use signet_pgtest::Cluster;

fn signet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("SIGNET_DATABASE_URL")
        .env_remove("PGPASSWORD")
        .output()
        .expect("run signet")
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A fresh database in `cluster` and a file holding the password; returns the URL (without the
/// password) and the file's path.
fn database(cluster: &Cluster, dir: &Path, name: &str) -> (String, String) {
    let db = cluster.create_database(name);
    let password_file = dir.join("pgpassword");
    std::fs::write(&password_file, format!("{}\n", signet_pgtest::PASSWORD)).unwrap();
    (cluster.url(&db), password_file.to_str().unwrap().to_string())
}

fn checkpoint_size(server: &Server) -> u64 {
    let note = String::from_utf8(get(&format!("{}/checkpoint", server.log_url())).body).unwrap();
    note.lines().nth(1).unwrap().parse().unwrap()
}

fn sth_size(server: &Server) -> u64 {
    get(&format!("{}/ct/ct/v1/get-sth", server.url)).json()["tree_size"]
        .as_u64()
        .unwrap()
}

fn v1_size(server: &Server) -> u64 {
    get(&format!("{}/rekor1/api/v1/log", server.url)).json()["treeSize"]
        .as_u64()
        .unwrap()
}

/// SQLite files under `dir`, but for the search indexes (`index.db`): a per-front-end cache of
/// postings rebuilt from the log at any time, and the explorer's size samples for its growth
/// plot (`explorer.db`), each front end's own; both kept locally whichever database holds the
/// logs (no log entry is ever in them).
fn files_named_db(dir: &Path) -> Vec<String> {
    let mut found = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_named_db(&path));
        } else if path.extension().is_some_and(|e| e == "db")
            && path
                .file_name()
                .is_some_and(|n| n != "index.db" && n != "explorer.db")
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn keyless_round_trip_with_every_log_in_postgres() {
    let Some(cluster) = signet_pgtest::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (url, password_file) = database(cluster, tmp.path(), "e2e");
    let data = tmp.path().join("data");
    let flags = [
        "--dev-oidc",
        "--database",
        &url,
        "--database-password-file",
        &password_file,
    ];
    let mut server = Server::start_with(&data, &flags);
    assert!(
        files_named_db(&data).is_empty(),
        "SQLite files written with --database: {:?}",
        files_named_db(&data)
    );

    // Keyless: the CA logs the precertificate in the CT log, the client the signature in the
    // Rekor v2 log; both in PostgreSQL.
    let token = dev_token(&server.url, "alice@example.com");
    let artifact = tmp.path().join("release.tar.gz");
    std::fs::write(&artifact, b"the artifact bytes\n").unwrap();
    let bundle = tmp.path().join("release.sigstore.json");
    let trust = data.join("trust_config.json");
    let (artifact, bundle, trust) = (
        artifact.to_str().unwrap(),
        bundle.to_str().unwrap(),
        trust.to_str().unwrap(),
    );
    ok(
        &signet(&[
            "sign-blob",
            artifact,
            "--bundle",
            bundle,
            "--identity-token",
            &token,
            "--trust-config",
            trust,
        ]),
        "sign-blob (keyless)",
    );
    let issuer = format!("{}/oidc", server.url);
    let verify = |identity: &str| {
        signet(&[
            "verify-blob",
            artifact,
            "--bundle",
            bundle,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            &issuer,
            "--trust-config",
            trust,
        ])
    };
    ok(&verify("alice@example.com"), "verify-blob (keyless)");
    assert!(!verify("mallory@example.com").status.success());
    // The search index follows the log out of PostgreSQL (its postings stay local).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = common::get(&format!(
            "{}/api/v2/search?identity=alice@example.com",
            server.log_url()
        ));
        assert_eq!(found.status, 200, "{}", String::from_utf8_lossy(&found.body));
        if found.json()["entries"].as_array().is_some_and(|e| e.len() == 1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not indexed: {:?}",
            found.json()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // The Rekor v1 log takes an entry too.
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let reply = post(
        &format!("{}/rekor1/api/v1/log/entries", server.url),
        hashedrekord_v1(&key, &key.public_key().to_pem(), b"v1 entry")
            .to_string()
            .as_bytes(),
    );
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    let sizes = (checkpoint_size(&server), sth_size(&server), v1_size(&server));
    assert!(sizes.0 >= 1 && sizes.1 >= 1 && sizes.2 >= 1, "{sizes:?}");
    assert_eq!(server.terminate().code(), Some(0));

    // A new process finds every log where it was, and the bundle still verifies.
    let server = Server::start_with(&data, &flags);
    assert_eq!(
        (checkpoint_size(&server), sth_size(&server), v1_size(&server)),
        sizes
    );
    ok(&verify("alice@example.com"), "verify-blob after a restart");

    // A front end without the keys the database's logs were made with is refused: it would
    // sign another log under the same name. Missing keys, then another log key.
    let stranger = tmp.path().join("stranger");
    let err = Server::try_start_with(&stranger, &flags)
        .err()
        .expect("a stranger front end started");
    assert!(err.contains("log key") && err.contains("missing"), "{err}");
    drop(server);
    // A copy of the first front end's data directory, changed by `change`, must be refused
    // at start; returns why.
    let refused = |name: &str, change: &dyn Fn(&std::path::Path)| -> String {
        let copy = tmp.path().join(name);
        assert!(Command::new("cp")
            .arg("-a")
            .arg(&data)
            .arg(&copy)
            .status()
            .unwrap()
            .success());
        change(&copy);
        Server::try_start_with(&copy, &flags)
            .err()
            .unwrap_or_else(|| panic!("a front end with {name} started"))
    };
    let err = refused("another-log-key", &|copy| {
        let other_key = SigningKey::generate(KeyKind::Ed25519).unwrap();
        std::fs::write(copy.join("keys/log-ed25519.pem"), other_key.to_pkcs8_pem()).unwrap();
    });
    assert!(err.contains("not the key the log"), "{err}");
    // Nor one whose CA certificate differs from the one the database pinned.
    let err = refused("another-ca-certificate", &|copy| {
        let intermediate = copy.join("ca/ca-intermediate.pem");
        let pem = std::fs::read_to_string(&intermediate).unwrap();
        std::fs::write(&intermediate, format!("{pem}\n")).unwrap();
    });
    assert!(
        err.contains("not the certificate the database recorded for ca"),
        "{err}"
    );
    // Nor one with another TUF root key: it would publish a root clients do not trust.
    let err = refused("another-tuf-root-key", &|copy| {
        let root_key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        std::fs::write(copy.join("tuf/keys/root.pem"), root_key.to_pkcs8_pem()).unwrap();
    });
    assert!(
        err.contains("TUF root keys") && err.contains("not the ones the database recorded"),
        "{err}"
    );
}

#[test]
fn db_migrate_and_a_newer_schema_is_refused() {
    let Some(cluster) = signet_pgtest::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (url, password_file) = database(cluster, tmp.path(), "migrate");
    let db = url.rsplit('/').next().unwrap().to_string();
    let migrate = || {
        signet(&[
            "db",
            "migrate",
            "--database",
            &url,
            "--database-password-file",
            &password_file,
        ])
    };
    let out = ok(&migrate(), "signet db migrate");
    assert!(out.contains("signet, rekor1, ct at version 2"), "{out}");
    // Idempotent.
    ok(&migrate(), "signet db migrate, again");
    // A server runs on the migrated database as a role that may read and write the tables but
    // create nothing (the privileges a front end needs once `db migrate` has run).
    let role = format!("frontend_{db}");
    cluster.execute(
        &db,
        &format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{pw}';
             REVOKE CREATE ON DATABASE {db} FROM PUBLIC;
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             GRANT USAGE ON SCHEMA signet, rekor1, ct TO {role};
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA signet, rekor1, ct TO {role};",
            pw = signet_pgtest::PASSWORD
        ),
    );
    let frontend_url = url.replacen(signet_pgtest::USER, &role, 1);
    let data = tmp.path().join("data");
    let flags = [
        "--database",
        frontend_url.as_str(),
        "--database-password-file",
        password_file.as_str(),
    ];
    let mut server = Server::start_with(&data, &flags);
    log_throwaway_entries(&server, 2);
    assert_eq!(server.terminate().code(), Some(0));

    // A later signet wrote schema 3 of the CT log: this one must not touch it.
    cluster.execute(&db, "UPDATE ct.schema_version SET version = 3");
    let out = migrate();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer signet"), "{err}");
    let err = Server::try_start_with(&data, &flags)
        .err()
        .expect("started on a newer schema");
    assert!(err.contains("newer signet"), "{err}");

    // SQLite needs no migration command.
    let out = signet(&["db", "migrate"]);
    assert!(!out.status.success());
}

#[test]
fn a_wrong_password_is_refused_at_start() {
    let Some(cluster) = signet_pgtest::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = database(cluster, tmp.path(), "password");
    let wrong = tmp.path().join("wrong");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    let err = Server::try_start_with(
        &tmp.path().join("data"),
        &[
            "--database",
            &url,
            "--database-password-file",
            wrong.to_str().unwrap(),
        ],
    )
    .err()
    .expect("started with a wrong password");
    assert!(err.contains("password authentication failed"), "{err}");
}

#[test]
fn tls_to_the_database_is_verified() {
    let Some(mut cluster) = Cluster::start("tls_to_the_database_is_verified") else {
        return;
    };
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    cluster.require_tls(&cert.pem(), &key.serialize_pem());
    let tmp = tempfile::tempdir().unwrap();
    let (url, password_file) = database_over_tls(&cluster, tmp.path());
    let ca = tmp.path().join("db-ca.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    let other = tmp.path().join("other-ca.pem");
    let other_key = rcgen::KeyPair::generate().unwrap();
    let other_cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&other_key)
        .unwrap();
    std::fs::write(&other, other_cert.pem()).unwrap();
    let start = |url: &str, ca: &Path| {
        Server::try_start_with(
            &tmp.path().join("data"),
            &[
                "--database",
                url,
                "--database-password-file",
                &password_file,
                "--database-ca-file",
                ca.to_str().unwrap(),
            ],
        )
    };

    // The server's certificate from an authority we were not told to trust: refused.
    let err = start(&format!("{url}?sslmode=require"), &other)
        .err()
        .expect("started");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // Without TLS the server's pg_hba refuses us.
    let err = start(&format!("{url}?sslmode=disable"), &ca)
        .err()
        .expect("started");
    assert!(err.contains("pg_hba.conf"), "{err}");
    // The right authority: the server runs and logs over TLS.
    let server = start(&format!("{url}?sslmode=require"), &ca).unwrap();
    log_throwaway_entries(&server, 3);
}

fn database_over_tls(cluster: &Cluster, dir: &Path) -> (String, String) {
    // Created over TLS as well: the cluster takes nothing else now.
    let password_file = dir.join("pgpassword");
    std::fs::write(&password_file, signet_pgtest::PASSWORD).unwrap();
    (
        cluster.url("postgres"),
        password_file.to_str().unwrap().to_string(),
    )
}
