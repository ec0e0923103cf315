//! A real registry for tests: Debian's `docker-registry` (distribution 2.8) on a free loopback
//! port with a throwaway config and storage directory, stopped by pid when dropped. Shared by
//! signet-client's registry tests and the `signet` image end-to-end tests (`#[path]`).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use signet_client::oci::Registry;
use signet_oci::manifest::{ImageManifest, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_MANIFEST};
use signet_oci::Descriptor;

pub struct RegistryProcess {
    child: Child,
    pub host: String,
    _dir: tempfile::TempDir,
}

impl RegistryProcess {
    /// Stops the registry now (a test showing nothing more is read from it).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn program() -> Option<&'static str> {
    let path = "/usr/bin/docker-registry";
    if Path::new(path).exists() {
        return Some(path);
    }
    if std::env::var_os("SIGNET_REQUIRE_INTEROP").is_some() {
        panic!("{path} is missing and SIGNET_REQUIRE_INTEROP is set (apt-get install docker-registry)");
    }
    eprintln!("skipping: {path} not found (apt-get install docker-registry)");
    None
}

/// Starts a registry; `None` (after one line on stderr) where docker-registry is missing and
/// `$SIGNET_REQUIRE_INTEROP` is not set.
pub fn start() -> Option<RegistryProcess> {
    start_with(&Options::default())
}

/// How a test registry is set up beyond the defaults.
#[derive(Default)]
pub struct Options {
    /// `user:password` pairs it accepts with Basic auth (htpasswd, bcrypt), none if empty.
    pub users: Vec<(String, String)>,
    /// TLS: a certificate and key PEM (the registry then speaks only https).
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Token auth: the realm URL, the service and issuer names, and the PEM bundle of the
    /// certificates whose keys sign tokens.
    pub token: Option<(String, String, String, std::path::PathBuf)>,
}

/// [`start`], with `options`.
pub fn start_with(options: &Options) -> Option<RegistryProcess> {
    let program = program()?;
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let mut http = format!("addr: {host}");
    if let Some((cert, key)) = &options.tls {
        http.push_str(&format!(
            ", tls: {{certificate: {}, key: {}}}",
            cert.display(),
            key.display()
        ));
    }
    let mut auth = String::new();
    if !options.users.is_empty() {
        let htpasswd = dir.path().join("htpasswd");
        let mut lines = String::new();
        for (user, password) in &options.users {
            lines.push_str(&format!("{user}:{}\n", bcrypt(password)?));
        }
        std::fs::write(&htpasswd, lines).unwrap();
        auth = format!(
            "auth: {{htpasswd: {{realm: signet-test, path: {}}}}}\n",
            htpasswd.display()
        );
    }
    if let Some((realm, service, issuer, bundle)) = &options.token {
        auth = format!(
            "auth: {{token: {{realm: \"{realm}\", service: {service}, issuer: {issuer}, rootcertbundle: {}}}}}\n",
            bundle.display()
        );
    }
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{{http}}}\n{auth}",
            dir.path().join("storage").display()
        ),
    )
    .unwrap();
    let child = Command::new(program)
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docker-registry");
    let process = RegistryProcess {
        child,
        host,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&process.host).is_err() {
        assert!(
            Instant::now() < deadline,
            "docker-registry did not start on {}",
            process.host
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(process)
}

/// A bcrypt hash of `password` for htpasswd, made by Python's `crypt` (Debian's python3 has
/// Blowfish crypt), an implementation independent of the registry's.
fn bcrypt(password: &str) -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-W",
            "ignore",
            "-c",
            "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
            password,
        ])
        .output();
    match out {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).unwrap().trim().to_string()),
        _ => {
            if std::env::var_os("SIGNET_REQUIRE_INTEROP").is_some() {
                panic!("python3 with crypt's Blowfish is needed for an htpasswd registry");
            }
            eprintln!("skipping: python3 cannot make a bcrypt hash for htpasswd");
            None
        }
    }
}

/// Pushes a small image (a config and `layer` as its one layer) tagged `tag`; returns the
/// manifest's bytes.
pub fn push_image(registry: &Registry, repository: &str, tag: &str, layer: &[u8]) -> Vec<u8> {
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    registry.push_blob(repository, config).unwrap();
    registry.push_blob(repository, layer).unwrap();
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_IMAGE_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::of(MEDIA_TYPE_IMAGE_CONFIG, config),
        layers: vec![Descriptor::of("application/vnd.oci.image.layer.v1.tar", layer)],
        subject: None,
        annotations: Default::default(),
    }
    .to_json();
    registry
        .push_manifest(repository, tag, MEDIA_TYPE_IMAGE_MANIFEST, &manifest)
        .unwrap();
    manifest
}
