//! The layering rule, checked on the dependency graph cargo resolves.
//!
//! Dependencies point down only. The pure core (crypto, tlog, formats, x509, verify, tuf, oci, gitsign) does
//! no I/O: no sockets, no files through a runtime, no database, no async runtime. That is what
//! keeps the cryptography and the formats testable with vectors, fuzzable, and shareable by
//! every service and the client. Above it, the client library is what a Rust user embeds to
//! sign and verify: it must not drag in a server (axum, hyper's server side, an async
//! runtime, a database) or any of signet's services. The server composition, the load
//! generators and the binary sit on top and may use anything below them.
//!
//! The check reads `cargo metadata` and walks every crate's normal and build dependencies
//! transitively (test-only dependencies do not ship, so they are not counted). A rule broken
//! anywhere down the graph is reported with the path that breaks it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;

use serde_json::Value;

/// signet's pure core: no I/O crates anywhere below these.
const PURE_CORE: &[&str] = &[
    "signet-crypto",
    "signet-tlog",
    "signet-formats",
    "signet-x509",
    "signet-verify",
    "signet-tuf",
    "signet-oci",
    "signet-gitsign",
];

/// Crates that do network, database or async-runtime I/O.
const IO_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "hyper",
    "hyper-util",
    "h2",
    "axum",
    "tower",
    "tower-http",
    "ureq",
    "reqwest",
    "rusqlite",
    "libsqlite3-sys",
    "sqlx",
    "postgres",
    "tokio-postgres",
    "deadpool-postgres",
    "tonic",
];

/// What the client library must never depend on: signet's services and server composition,
/// and the server-side and async stack they bring.
/// (signet-git, the program git runs, is held to the same: it starts for every commit.)
const CLIENTS: &[&str] = &["signet-client", "signet-git"];
const SERVER_SIDE: &[&str] = &[
    "signet-log",
    "signet-witness",
    "signet-index",
    "signet-explorer",
    "signet-ca",
    "signet-ct",
    "signet-tsa",
    "signet-devoidc",
    "signet-oidc",
    "signet-keyfile",
    "signet-server",
    "signet-bench",
    "axum",
    "hyper",
    "hyper-util",
    "h2",
    "tower",
    "tower-http",
    "tokio",
    "rusqlite",
    "libsqlite3-sys",
    "sqlx",
    "tokio-postgres",
];

/// The crates of signet's pure core must stay inside the core: a core crate depending on any
/// other signet crate is an arrow pointing up.
fn is_signet(name: &str) -> bool {
    name == "signet" || name.starts_with("signet-")
}

/// The resolved graph: package id → (name, ids of its normal and build dependencies).
struct Graph {
    names: BTreeMap<String, String>,
    edges: BTreeMap<String, Vec<String>>,
    members: Vec<String>,
}

impl Graph {
    fn from_metadata(metadata: &Value) -> Graph {
        let names = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_string(),
                    p["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let edges = metadata["resolve"]["nodes"]
            .as_array()
            .expect("resolve.nodes")
            .iter()
            .map(|node| {
                let deps = node["deps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| {
                        d["dep_kinds"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|k| k["kind"].is_null() || k["kind"] == "build")
                    })
                    .map(|d| d["pkg"].as_str().unwrap().to_string())
                    .collect();
                (node["id"].as_str().unwrap().to_string(), deps)
            })
            .collect();
        let members = metadata["workspace_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_string())
            .collect();
        Graph {
            names,
            edges,
            members,
        }
    }

    fn name(&self, id: &str) -> &str {
        &self.names[id]
    }

    /// The shortest dependency path from `from` to every crate it reaches, as names.
    fn paths_from(&self, from: &str) -> BTreeMap<String, Vec<String>> {
        let mut paths = BTreeMap::new();
        let mut queue = VecDeque::from([(from.to_string(), vec![self.name(from).to_string()])]);
        let mut seen = BTreeSet::from([from.to_string()]);
        while let Some((id, path)) = queue.pop_front() {
            for dep in self.edges.get(&id).into_iter().flatten() {
                if seen.insert(dep.clone()) {
                    let mut next = path.clone();
                    next.push(self.name(dep).to_string());
                    paths.insert(self.name(dep).to_string(), next.clone());
                    queue.push_back((dep.clone(), next));
                }
            }
        }
        paths
    }
}

/// Every broken rule, one line each with the path that breaks it.
fn violations(metadata: &Value) -> Vec<String> {
    let graph = Graph::from_metadata(metadata);
    let mut found = Vec::new();
    for member in &graph.members {
        let name = graph.name(member);
        let reached = graph.paths_from(member);
        let mut refuse = |bad: &str, why: &str| {
            if let Some(path) = reached.get(bad) {
                found.push(format!("{name} {why}: {}", path.join(" -> ")));
            }
        };
        if PURE_CORE.contains(&name) {
            for io in IO_CRATES {
                refuse(io, "is pure core but depends on an I/O crate");
            }
            for other in reached
                .keys()
                .filter(|n| is_signet(n) && !PURE_CORE.contains(&n.as_str()))
            {
                refuse(other, "is pure core but depends on a crate above the core");
            }
        }
        if CLIENTS.contains(&name) {
            for bad in SERVER_SIDE {
                refuse(bad, "is the client library but depends on a server-side crate");
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn the_workspace_keeps_its_layers() {
    let metadata = workspace_metadata();
    let graph = Graph::from_metadata(&metadata);
    let members: BTreeSet<&str> = graph.members.iter().map(|m| graph.name(m)).collect();
    // The rule only means something if the crates it names exist.
    for name in PURE_CORE.iter().chain(CLIENTS) {
        assert!(
            members.contains(name),
            "{name} is not a workspace member any more; update the rule"
        );
    }
    let broken = violations(&metadata);
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

/// Adds the dependency edge `from → to` (by crate name) to the metadata's resolved graph.
fn add_edge(metadata: &mut Value, from: &str, to: &str) {
    let id_of = |name: &str| {
        metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no package {name}"))["id"]
            .clone()
    };
    let (from_id, to_id) = (id_of(from), id_of(to));
    let node = metadata["resolve"]["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["id"] == from_id)
        .unwrap();
    node["deps"].as_array_mut().unwrap().push(serde_json::json!({
        "name": to.replace('-', "_"),
        "pkg": to_id,
        "dep_kinds": [{"kind": null, "target": null}],
    }));
}

#[test]
fn a_bad_edge_fails_the_check() {
    let clean = workspace_metadata();

    // The pure core reaching an async runtime, directly or through another crate.
    let mut metadata = clean.clone();
    add_edge(&mut metadata, "signet-tlog", "tokio");
    let broken = violations(&metadata);
    assert!(
        broken.contains(
            &"signet-tlog is pure core but depends on an I/O crate: signet-tlog -> tokio".to_string()
        ),
        "{broken:?}"
    );
    // signet-verify depends on signet-tlog, so it is broken too, and the path says why.
    assert!(
        broken.iter().any(
            |b| b.starts_with("signet-verify is pure core but depends on an I/O crate:")
                && b.ends_with("signet-tlog -> tokio")
        ),
        "{broken:?}"
    );

    // The client library reaching a service crate.
    let mut metadata = clean.clone();
    add_edge(&mut metadata, "signet-client", "signet-log");
    let broken = violations(&metadata);
    assert!(
        broken.iter().any(|b| b.starts_with(
            "signet-client is the client library but depends on a server-side crate: signet-client -> signet-log"
        )),
        "{broken:?}"
    );

    // An arrow from the core up to the client.
    let mut metadata = clean;
    add_edge(&mut metadata, "signet-formats", "signet-client");
    let broken = violations(&metadata);
    assert!(
        broken.contains(
            &"signet-formats is pure core but depends on a crate above the core: signet-formats -> signet-client"
                .to_string()
        ),
        "{broken:?}"
    );
}
