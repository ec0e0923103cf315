//! signet's own container image (issue 18): `deploy/image/build.sh` builds it from the programs
//! under test with Debian's umoci (no docker), skopeo pushes it to a real registry (Debian's
//! docker-registry), and signet signs it keylessly and attests its SBOM (made by
//! `deploy/image/sbom.py`), then verifies both, as the release workflow does. The image is then
//! run: unpacked with umoci and started with chroot as the image's user (65532, as its config
//! says) and only its own files (the programs, the libraries ldd found, the CA certificates),
//! serving a keyless sign and verify to the signet outside it. podman cannot run containers on
//! this machine (crun's setrlimit is refused in the sandbox), so chroot stands in for the
//! runtime: it proves the image is complete and runs unprivileged, not the runtime's isolation.
//!
//! Needs umoci, skopeo and docker-registry (`.ci/run` installs them), and root for chroot (the
//! run part is skipped with one line otherwise).

mod common;
mod image_tools;

use std::path::Path;
use std::process::{Command, Stdio};

use image_tools::{assert_ok, s, text, Need, Stack};
use serde_json::Value;

const TAG: &str = "v9.9.9";

#[test]
fn the_image_builds_signs_attests_verifies_and_runs_unprivileged() {
    let mut need = Need::new("the container image test (umoci, skopeo, docker-registry)");
    let umoci = need.tool(image_tools::umoci());
    let skopeo = need.tool(image_tools::skopeo());
    need.tool(image_tools::docker_registry());
    if !need.met() {
        return;
    }
    let (umoci, skopeo) = (umoci.unwrap(), skopeo.unwrap());
    let stack = Stack::start();
    let out_dir = stack.path("image");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_signet")).parent().unwrap();
    let build = image_tools::repo_root().join("deploy/image/build.sh");
    let mut command = image_tools::clean(&build, &stack.work);
    add_toolchain_env(&mut command);
    let out = command
        .env("UMOCI", &umoci)
        .args([
            s(bin_dir),
            s(&out_dir),
            TAG,
            "9.9.9",
            "0123456789abcdef0123456789abcdef01234567",
        ])
        .output()
        .unwrap();
    assert_ok(&out, "deploy/image/build.sh");

    // The image's config: the unprivileged user, the entry point and the labels.
    let layout = out_dir.join("layout");
    let config = image_config(&layout);
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["Entrypoint"][0], "/usr/local/bin/signet-server");
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["server", "--config", "/etc/signet/signet.toml"])
    );
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.version"],
        "9.9.9"
    );

    // The SBOM lists what is in the image.
    let sbom_path = out_dir.join("sbom.cdx.json");
    let sbom: Value = serde_json::from_slice(&std::fs::read(&sbom_path).unwrap()).unwrap();
    let names: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for name in ["signet-server", "aws-lc-rs", "tokio", "libc6", "ca-certificates"] {
        assert!(
            names.iter().any(|n| n.ends_with(name)),
            "the SBOM lists {name}: {names:?}"
        );
    }

    // Push, sign, attest, verify.
    let reference = format!("{}/signet:{TAG}", stack.host());
    let out = stack.skopeo(
        &skopeo,
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:{TAG}", s(&layout)),
            &format!("docker://{reference}"),
        ],
    );
    assert_ok(&out, "skopeo copy");
    let trust = stack.trust_config();
    let signet = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--trust-config", s(&trust)]);
        stack.signet(&all)
    };
    let token = stack.email_token("release@example.com");
    assert_ok(
        &signet(&["sign", &reference, "--identity-token", &token]),
        "signet sign",
    );
    assert_ok(
        &signet(&[
            "attest",
            &reference,
            "--type",
            "cyclonedx",
            "--predicate",
            s(&sbom_path),
            "--identity-token",
            &token,
        ]),
        "signet attest",
    );
    let issuer = stack.issuer();
    let policy = [
        "--certificate-identity",
        "release@example.com",
        "--certificate-oidc-issuer",
        &issuer,
    ];
    let mut verify = vec!["verify", &reference];
    verify.extend(policy);
    assert_ok(&signet(&verify), "signet verify");
    let mut attestation = vec!["verify-attestation", &reference, "--type", "cyclonedx"];
    attestation.extend(policy);
    let out = signet(&attestation);
    assert_ok(&out, "signet verify-attestation");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"payloadType\""),
        "{}",
        text(&out)
    );
    let mut wrong = vec![
        "verify",
        &reference,
        "--certificate-identity",
        "mallory@example.com",
    ];
    wrong.extend(["--certificate-oidc-issuer", &issuer]);
    assert!(!signet(&wrong).status.success(), "another signer is refused");

    run_unprivileged(&umoci, &stack, &layout);
}

/// Unpacks the image and runs it with chroot as its user, on its own files only.
fn run_unprivileged(umoci: &Path, stack: &Stack, layout: &Path) {
    if is_root() {
        let bundle = stack.path("bundle");
        let out = image_tools::clean(umoci, &stack.work)
            .args(["unpack", "--image", &format!("{}:{TAG}", s(layout)), s(&bundle)])
            .output()
            .unwrap();
        assert_ok(&out, "umoci unpack");
        let rootfs = bundle.join("rootfs");
        // umoci leaves the bundle root-only, as a runtime would see it; the user needs to enter.
        for dir in [&bundle, &rootfs] {
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        }
        let etc = rootfs.join("etc/signet");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("signet.toml"),
            "listen = \"127.0.0.1:0\"\ndev-oidc = true\n",
        )
        .unwrap();
        // Only the image's files: not even a shell, so the entry point runs directly.
        assert!(!rootfs.join("bin/sh").exists(), "no shell in the image");
        let mut server = Command::new("/usr/sbin/chroot");
        server
            .env_clear()
            .env("SIGNET_DATA_DIR", "/var/lib/signet")
            .env("SIGNET_LOG", "warn")
            .args(["--userspec=65532:65532", s(&rootfs)])
            .args([
                "/usr/local/bin/signet-server",
                "server",
                "--config",
                "/etc/signet/signet.toml",
            ])
            .stdin(Stdio::null());
        let server = common::Server::spawn(server, &rootfs.join("var/lib/signet"))
            .unwrap_or_else(|e| panic!("the image did not start: {e}"));
        let data = rootfs.join("var/lib/signet");
        let owner =
            std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(data.join("trusted_root.json")).unwrap());
        assert_eq!(owner, 65532, "the server ran as the image's user");
        // A keyless round trip against the server in the image.
        let artifact = stack.file("hello.txt", b"signed by the image");
        let bundle_file = stack.path("hello.sigstore.json");
        let token = common::dev_token(&server.url, "image@example.com");
        let trust = data.join("trust_config.json");
        let out = stack.signet(&[
            "sign-blob",
            s(&artifact),
            "--bundle",
            s(&bundle_file),
            "--identity-token",
            &token,
            "--trust-config",
            s(&trust),
        ]);
        assert_ok(&out, "sign-blob against the image");
        let issuer = format!("{}/oidc", server.url);
        let out = stack.signet(&[
            "verify-blob",
            s(&artifact),
            "--bundle",
            s(&bundle_file),
            "--certificate-identity",
            "image@example.com",
            "--certificate-oidc-issuer",
            &issuer,
            "--trust-config",
            s(&trust),
        ]);
        assert_ok(&out, "verify-blob against the image");
    } else {
        eprintln!("container_image: not root, so the image was not run with chroot (built, pushed, signed and verified only)");
    }
}

/// Whether this process runs as root (chroot needs it). Read from /proc, not libc.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// The image's config blob, read from the layout's index, manifest and blobs.
fn image_config(layout: &Path) -> Value {
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == TAG)
        .expect("the tag in the layout")["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = |digest: &str| -> Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap()).unwrap()
    };
    let manifest = blob(&manifest_digest);
    blob(manifest["config"]["digest"].as_str().unwrap())
}

/// cargo (for sbom.py's `cargo metadata`) where the test's own toolchain is.
fn add_toolchain_env(command: &mut Command) {
    let mut path = String::from("/usr/local/bin:/usr/bin:/bin:/usr/sbin");
    if let Some(dir) = image_tools::cargo_dir() {
        path = format!("{}:{path}", dir.display());
    }
    command.env("PATH", path).envs(image_tools::toolchain_env());
}
