//! A small in-process registry for the one path Debian's docker-registry (distribution 2.8)
//! cannot exercise: the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`, an index of
//! the manifests whose `subject` is that digest, with their `artifactType` and annotations, as
//! the distribution spec describes it). It keeps manifests and blobs in memory, answers one
//! request per connection, and counts the requests it serves. Everything else signet does
//! against a registry is tested against the real one.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use signet_oci::{Descriptor, Digest, Manifest};

#[derive(Default)]
struct Store {
    blobs: HashMap<String, Vec<u8>>,
    /// digest → (media type, bytes)
    manifests: HashMap<String, (String, Vec<u8>)>,
    /// "repo:tag" → digest
    tags: HashMap<String, String>,
}

/// The running registry; it stops serving when dropped (its thread is detached).
pub struct ReferrersRegistry {
    pub host: String,
    requests: Arc<AtomicU32>,
}

impl ReferrersRegistry {
    /// Starts the registry on a free loopback port.
    pub fn start() -> ReferrersRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let store = Arc::new(Mutex::new(Store::default()));
        let requests = Arc::new(AtomicU32::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let store = store.clone();
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        ReferrersRegistry { host, requests }
    }

    /// Requests served so far.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, store: &Mutex<Store>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut length = 0usize;
    let mut content_type = String::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "content-type" => content_type = value.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (status, headers, answer) = route(&method, &target, &content_type, body, store);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = out.write_all(&answer);
    }
}

type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

fn route(method: &str, target: &str, content_type: &str, body: Vec<u8>, store: &Mutex<Store>) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut store = store.lock().unwrap();
    let not_found = || {
        (
            404,
            vec![("Content-Type", "application/json".to_string())],
            br#"{"errors":[{"code":"NOT_FOUND"}]}"#.to_vec(),
        )
    };
    let Some(rest) = path.strip_prefix("/v2/") else {
        return not_found();
    };
    if let Some((repo, reference)) = rest.split_once("/manifests/") {
        let key = format!("{repo}:{reference}");
        let digest = if reference.starts_with("sha256:") {
            Some(reference.to_string())
        } else {
            store.tags.get(&key).cloned()
        };
        return match method {
            "PUT" => {
                let digest = Digest::sha256(&body).to_string();
                store
                    .manifests
                    .insert(digest.clone(), (content_type.to_string(), body));
                if !reference.starts_with("sha256:") {
                    store.tags.insert(key, digest.clone());
                }
                (201, vec![("Docker-Content-Digest", digest)], Vec::new())
            }
            _ => match digest.and_then(|d| store.manifests.get(&d).cloned().map(|m| (d, m))) {
                Some((digest, (media_type, bytes))) => (
                    200,
                    vec![("Content-Type", media_type), ("Docker-Content-Digest", digest)],
                    bytes,
                ),
                None => not_found(),
            },
        };
    }
    if let Some((repo, digest)) = rest.split_once("/referrers/") {
        let _ = repo;
        let mut index = signet_oci::ImageIndex::new();
        for (manifest_digest, (media_type, bytes)) in &store.manifests {
            if let Ok(Manifest::Image(m)) = Manifest::parse(Some(media_type), bytes) {
                if m.subject.as_ref().is_some_and(|s| s.digest.to_string() == digest) {
                    index.manifests.push(Descriptor {
                        digest: manifest_digest.parse().unwrap(),
                        artifact_type: m.artifact_type.clone(),
                        annotations: m.annotations.clone(),
                        ..Descriptor::of(media_type.clone(), bytes)
                    });
                }
            }
        }
        return (
            200,
            vec![(
                "Content-Type",
                signet_oci::manifest::MEDIA_TYPE_IMAGE_INDEX.to_string(),
            )],
            index.to_json(),
        );
    }
    if let Some((repo, _upload)) = rest.split_once("/blobs/uploads/") {
        return match method {
            "POST" => (
                202,
                vec![("Location", format!("/v2/{repo}/blobs/uploads/1"))],
                Vec::new(),
            ),
            "PUT" => {
                let digest = query.strip_prefix("digest=").unwrap_or("").replace("%3A", ":");
                if Digest::sha256(&body).to_string() != digest {
                    return (
                        400,
                        Vec::new(),
                        br#"{"errors":[{"code":"DIGEST_INVALID"}]}"#.to_vec(),
                    );
                }
                store.blobs.insert(digest, body);
                (201, Vec::new(), Vec::new())
            }
            _ => not_found(),
        };
    }
    if let Some((_repo, digest)) = rest.split_once("/blobs/") {
        return match store.blobs.get(digest) {
            Some(bytes) => (200, Vec::new(), bytes.clone()),
            None => not_found(),
        };
    }
    not_found()
}
