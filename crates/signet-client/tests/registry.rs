//! The registry client against a real registry: Debian's `docker-registry` (distribution
//! 2.8), started on a free loopback port with a throwaway config and storage directory and
//! stopped by pid. It has no referrers API, so referrers go through the `sha256-<hex>` tag
//! schema, as they do for cosign on such registries. Skips with one line where the program is
//! missing, unless `$SIGNET_REQUIRE_INTEROP` is set (CI installs it).

/// The one layer of the test image.
const LAYER: &[u8] = b"not really a tarball, but a blob all the same";

#[path = "support/registry.rs"]
mod registry_support;

use std::net::TcpListener;

use registry_support::{push_image, start};

use signet_client::http::Http;
use signet_client::oci::{Registry, RegistryOptions};
use signet_oci::manifest::{EMPTY_CONTENT, MEDIA_TYPE_EMPTY, MEDIA_TYPE_IMAGE_MANIFEST};
use signet_oci::referrers::{
    add_to_fallback_index, bundle_referrer, fallback_tag, may_be_bundle, BundleContent,
};
use signet_oci::{Descriptor, Digest, ImageReference, Manifest};

#[test]
fn push_resolve_read_and_attach_a_bundle_through_the_fallback_index() {
    let Some(process) = start() else { return };
    let http = Http::new().unwrap();
    let reference = ImageReference::parse(&format!("{}/team/app:1.0", process.host)).unwrap();
    let registry = Registry::new(&http, &reference.registry, &RegistryOptions::default()).unwrap();
    let repo = reference.repository.as_str();

    let pushed = push_image(&registry, repo, "1.0", LAYER);
    // Pushing the same blob again is a HEAD, not an upload.
    let before = registry.requests();
    registry.push_blob(repo, EMPTY_CONTENT).unwrap();
    registry.push_blob(repo, EMPTY_CONTENT).unwrap();
    assert_eq!(
        registry.requests() - before,
        4,
        "first push: HEAD, POST, PUT; second: HEAD"
    );

    // Resolve the tag once: the digest is of the bytes pushed.
    let image = registry.manifest(repo, &reference.manifest_reference()).unwrap();
    assert_eq!(image.digest, Digest::sha256(&pushed));
    assert_eq!(image.bytes, pushed);
    assert_eq!(image.media_type, MEDIA_TYPE_IMAGE_MANIFEST);
    let Manifest::Image(m) = &image.manifest else {
        panic!("an image")
    };
    let layer = registry.blob(repo, &m.layers[0], 1 << 20).unwrap();
    assert_eq!(layer, LAYER);
    let by_digest = registry.manifest(repo, &image.digest.to_string()).unwrap();
    assert_eq!(by_digest.bytes, pushed);

    // distribution 2.8 has no referrers API: the fallback tag is where referrers are listed.
    assert!(registry.referrers(repo, &image.digest).unwrap().is_none());
    let bundle = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
    let referrer = bundle_referrer(
        bundle,
        image.descriptor(),
        BundleContent::DsseEnvelope,
        Some("https://sigstore.dev/cosign/sign/v1"),
        "2026-12-07T16:00:00Z",
    );
    registry.push_blob(repo, EMPTY_CONTENT).unwrap();
    registry.push_blob(repo, bundle).unwrap();
    let referrer_digest = registry
        .push_manifest(
            repo,
            &referrer.descriptor.digest.to_string(),
            MEDIA_TYPE_IMAGE_MANIFEST,
            &referrer.manifest,
        )
        .unwrap();
    assert_eq!(referrer_digest, referrer.descriptor.digest);
    let tag = fallback_tag(&image.digest);
    assert!(registry.manifest(repo, &tag).is_err(), "no fallback index yet");
    let index = add_to_fallback_index(None, referrer.descriptor.clone());
    registry
        .push_manifest(
            repo,
            &tag,
            signet_oci::manifest::MEDIA_TYPE_IMAGE_INDEX,
            &index.to_json(),
        )
        .unwrap();

    // A reader finds the bundle: index, referrer manifest, bundle blob.
    let listed = registry.manifest(repo, &tag).unwrap();
    let Manifest::Index(listed) = listed.manifest else {
        panic!("an index")
    };
    let candidates: Vec<&Descriptor> = listed.manifests.iter().filter(|d| may_be_bundle(d)).collect();
    assert_eq!(candidates.len(), 1);
    let fetched = registry
        .manifest(repo, &candidates[0].digest.to_string())
        .unwrap();
    let Manifest::Image(artifact) = &fetched.manifest else {
        panic!("an image manifest")
    };
    assert!(signet_oci::referrers::is_bundle_manifest(artifact));
    assert_eq!(artifact.subject.as_ref().unwrap().digest, image.digest);
    assert_eq!(artifact.config.media_type, MEDIA_TYPE_EMPTY);
    assert_eq!(registry.blob(repo, &artifact.layers[0], 1 << 20).unwrap(), bundle);
}

#[test]
fn what_a_registry_gets_wrong_is_one_clear_error() {
    let Some(process) = start() else { return };
    let http = Http::new().unwrap();
    let registry = Registry::new(&http, &process.host, &RegistryOptions::default()).unwrap();
    let image = push_image(&registry, "team/app", "1.0", LAYER);

    let missing = registry.manifest("team/app", "2.0").unwrap_err().to_string();
    assert!(
        missing.contains("no such manifest") && missing.contains("team/app:2.0"),
        "{missing}"
    );
    let other = Digest::sha256(b"nothing");
    let missing = registry
        .manifest("team/app", &other.to_string())
        .unwrap_err()
        .to_string();
    assert!(missing.contains("no such manifest"), "{missing}");

    // A blob bigger than the caller reads is refused before it is fetched; a descriptor that
    // does not describe what the registry serves is refused after.
    let Manifest::Image(m) = Manifest::parse(None, &image).unwrap() else {
        panic!()
    };
    let too_big = registry
        .blob("team/app", &m.layers[0], 4)
        .unwrap_err()
        .to_string();
    assert!(
        too_big.contains("45 bytes, more than the 4 signet reads"),
        "{too_big}"
    );
    let mut lying = m.layers[0].clone();
    lying.size += 1;
    let wrong = registry
        .blob("team/app", &lying, 1 << 20)
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("not the blob asked for"), "{wrong}");

    // A registry nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere = Registry::new(&http, &closed.to_string(), &RegistryOptions::default()).unwrap();
    let refused = nowhere.manifest("team/app", "1.0").unwrap_err().to_string();
    assert!(
        refused.starts_with(&format!("cannot reach http://{closed}/v2/team/app/manifests/1.0")),
        "{refused}"
    );
}

#[test]
fn credentials_come_from_the_docker_configuration() {
    // Only the configuration is read here (docker-registry runs without auth in these tests):
    // a Basic challenge is answered with the `auths` entry of $DOCKER_CONFIG/config.json.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"auths":{"registry.example":{"auth":"dXNlcjpwYXNz"}}}"#,
    )
    .unwrap();
    // The other tests read no docker configuration for their loopback registries, so setting
    // the variable while they run changes nothing for them.
    std::env::set_var("DOCKER_CONFIG", dir.path());
    let http = Http::new().unwrap();
    let registry = Registry::new(&http, "registry.example", &RegistryOptions::default()).unwrap();
    assert_eq!(
        format!("{:?}", registry_credential(&registry)),
        "Some(Basic(user, <password>))"
    );
    let elsewhere = Registry::new(&http, "other.example", &RegistryOptions::default()).unwrap();
    assert_eq!(format!("{:?}", registry_credential(&elsewhere)), "None");
    std::env::remove_var("DOCKER_CONFIG");
}

fn registry_credential(registry: &Registry) -> Option<signet_client::oci::Credential> {
    registry.credential().cloned()
}

/// A registry that misbehaves on purpose, one way per tag: what real registries do on a bad
/// day (rate limits, outages, refusals) and what a hostile one might (a manifest too large, a
/// digest that lies, an answer cut short). One answer per connection.
fn misbehaving_registry() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let tag = path.rsplit('/').next().unwrap_or("");
            let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
            let answer: Vec<u8> = match tag {
                "busy" => b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n".to_vec(),
                "down" => {
                    let body = br#"{"errors":[{"code":"UNAVAILABLE","message":"storage backend is down"}]}"#;
                    [format!("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(), body].concat()
                }
                "private" => b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec(),
                // A read sent elsewhere (as registries send blobs to a CDN), in a loop, or to
                // plain http on another machine.
                "moved" => b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /cdn/elsewhere\r\nContent-Length: 0\r\n\r\n".to_vec(),
                "elsewhere" => [
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\n\r\n", manifest.len()).as_bytes(),
                    manifest,
                ]
                .concat(),
                "circle" => b"HTTP/1.1 302 Found\r\nLocation: circle\r\nContent-Length: 0\r\n\r\n".to_vec(),
                "cleartext" => b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://cdn.example/x\r\nContent-Length: 0\r\n\r\n".to_vec(),
                "huge" => {
                    let body = vec![b' '; (4 << 20) + 10];
                    [format!("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(), &body].concat()
                }
                "lying" => {
                    let other = Digest::sha256(b"another manifest");
                    [format!("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: {other}\r\nContent-Length: {}\r\n\r\n", manifest.len()).as_bytes(), manifest].concat()
                }
                "cut" => [
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\n\r\n", manifest.len()).as_bytes(),
                    &manifest[..20],
                ]
                .concat(),
                "garbage" => {
                    let body = b"<html>not a manifest</html>";
                    [format!("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(), body].concat()
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&answer);
        }
    });
    host
}

#[test]
fn a_misbehaving_registry_is_one_clear_error_each_way() {
    let host = misbehaving_registry();
    let http = Http::new().unwrap();
    let registry = Registry::new(&http, &host, &RegistryOptions::default()).unwrap();
    let error = |tag: &str| format!("{:#}", registry.manifest("team/app", tag).unwrap_err());
    for (tag, expected) in [
        ("busy", "rate-limiting requests (HTTP 429)"),
        ("down", "HTTP 503: storage backend is down"),
        ("private", "access denied (HTTP 403)"),
        ("huge", "more than 4194304 bytes; refusing it"),
        ("lying", "but its bytes are"),
        ("cut", "reading the answer"),
        ("garbage", "team/app:garbage"),
        ("circle", "more than 5 redirects"),
        (
            "cleartext",
            "refusing to follow a redirect to http://cdn.example/x",
        ),
    ] {
        let message = error(tag);
        assert!(message.contains(expected), "{tag}: {message}");
        assert!(!message.contains('\n'), "{tag}: one line: {message}");
    }
    // A redirect is followed, and what it leads to is checked as ever.
    let moved = registry.manifest("team/app", "moved").unwrap();
    assert!(matches!(moved.manifest, Manifest::Image(_)));
}
