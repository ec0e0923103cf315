//! `signet bench image`: what `signet verify IMAGE` costs a user, in registry requests and in
//! wall time per process. It starts a `signet server --dev-oidc`, pushes a small image to the
//! registry given (one on this machine, e.g. Debian's `docker-registry`), signs it keylessly as
//! `signet sign` does, counts the registry requests of one verification in process, then times
//! `--runs` `signet verify` processes, start-up included.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use signet_client::http::Http;
use signet_client::image;
use signet_client::oci::{Registry, RegistryOptions};
use signet_client::trust::TrustArgs;
use signet_client::verify::IdentityArgs;
use signet_client::SignOptions;
use signet_oci::manifest::{ImageManifest, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_MANIFEST};
use signet_oci::Descriptor;

/// Flags of `signet bench image`.
#[derive(clap::Args, Debug)]
pub struct BenchImageArgs {
    /// A registry on this machine to push the test image to (HOST:PORT).
    #[arg(long, value_name = "HOST:PORT")]
    pub registry: String,
    /// How many `signet verify` processes to time.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
}

const IDENTITY: &str = "bench-image@example.com";

/// Runs the benchmark and prints its figures.
pub async fn run_image(args: BenchImageArgs) -> anyhow::Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    super::server::report_with_dev_server(move |root, data| measure(&args, root, data)).await
}

fn measure(args: &BenchImageArgs, root: &str, data: &Path) -> anyhow::Result<String> {
    let http = Http::new()?;
    let token = http.post_json(
        &format!("{root}/oidc/dev/token"),
        &serde_json::json!({ "email": IDENTITY }),
        None,
    )?;
    let token = token["id_token"]
        .as_str()
        .context("the development provider answered without an id_token")?
        .to_string();
    let registry = Registry::new(&http, &args.registry, &RegistryOptions::default())?;
    let repository = "bench/app";
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = format!("a layer of the benchmark image, {root}");
    registry.push_blob(repository, config)?;
    registry.push_blob(repository, layer.as_bytes())?;
    let manifest = image_manifest(config, layer.as_bytes());
    registry.push_manifest(repository, "1.0", MEDIA_TYPE_IMAGE_MANIFEST, &manifest)?;
    let image = format!("{}/{repository}:1.0", args.registry);

    let trust_config = data.join("trust_config.json");
    let trust = TrustArgs {
        trust_config: Some(trust_config.clone()),
        ..TrustArgs::default()
    };
    let options = SignOptions {
        trust: trust.clone(),
        key: None,
        identity_token: Some(token),
        oidc_issuer: None,
        oidc_client_id: signet_client::token::DEFAULT_CLIENT_ID.to_string(),
        oidc_client_secret: None,
        oidc_login_timeout: signet_client::token::DEFAULT_LOGIN_TIMEOUT_SECS,
        oidc_flow: signet_client::token::LoginFlow::Auto,
        yes: true,
    };
    let signed = image::sign_image(
        &options,
        &image,
        &RegistryOptions::default(),
        &image::Annotations::new(),
        false,
    )?;
    let issuer = format!("{root}/oidc");
    let identity = IdentityArgs {
        certificate_identity: Some(IDENTITY.to_string()),
        certificate_oidc_issuer: Some(issuer.clone()),
        ..IdentityArgs::default()
    };
    let by_tag = image::verify_image(
        &trust,
        &image,
        &identity,
        &RegistryOptions::default(),
        &image::Annotations::new(),
        false,
    )?;
    let pinned = signed.image.to_string();
    let by_digest = image::verify_image(
        &trust,
        &pinned,
        &identity,
        &RegistryOptions::default(),
        &image::Annotations::new(),
        false,
    )?;

    let signet = std::env::current_exe()
        .context("finding the signet executable")?
        .with_file_name("signet");
    let mut times = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let started = Instant::now();
        let out = Command::new(&signet)
            .args([
                "verify",
                &image,
                "--certificate-identity",
                IDENTITY,
                "--certificate-oidc-issuer",
                &issuer,
            ])
            .arg("--trust-config")
            .arg(&trust_config)
            .output()
            .with_context(|| format!("running {}", signet.display()))?;
        times.push(started.elapsed());
        if !out.status.success() {
            bail!(
                "signet verify failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    // Signing a second image of the repository: the empty config is there by now, as it is for
    // any repository signed in before; what is left is what the push needs.
    let second = image_manifest(config, config);
    registry.push_manifest(repository, "2.0", MEDIA_TYPE_IMAGE_MANIFEST, &second)?;
    let signed_again = image::sign_image(
        &options,
        &format!("{}/{repository}:2.0", args.registry),
        &RegistryOptions::default(),
        &image::Annotations::new(),
        false,
    )?;
    let multi = measure_recursive(
        &registry,
        &args.registry,
        &options,
        &Verifier {
            trust: &trust,
            identity: &identity,
            signet: &signet,
            trust_config: &trust_config,
            issuer: &issuer,
        },
    )?;
    Ok(format!(
        "signet bench image: {image} on {} ({})\n\
         registry requests: sign by tag {} (the config blob already there), verify by tag {}, verify by digest {}\n\
         `signet verify` processes ({} runs, start-up included): min {}, p50 {}, p90 {}, max {}\n{multi}",
        args.registry,
        if signed.fallback_index {
            "no referrers API: the sha256-<hex> fallback index"
        } else {
            "referrers API"
        },
        signed_again.requests,
        by_tag.requests,
        by_digest.requests,
        args.runs,
        ms(times[0]),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(times[times.len() - 1]),
    ))
}

/// Platforms of the multi-platform index the recursive figures use.
const PLATFORMS: usize = 10;
/// Rounds of each recursive measurement (the median is reported).
const RECURSIVE_ROUNDS: usize = 15;

/// What a verification needs, in process and as a `signet` process.
struct Verifier<'a> {
    trust: &'a TrustArgs,
    identity: &'a IdentityArgs,
    signet: &'a Path,
    trust_config: &'a Path,
    issuer: &'a str,
}

/// `verify --recursive` of a 10-platform index: its registry requests, and its time in process
/// (the platforms' lookups run in parallel) beside verifying the same 11 digests one after
/// another, and as a `signet verify --recursive` process.
fn measure_recursive(
    registry: &Registry,
    host: &str,
    options: &SignOptions,
    verifier: &Verifier,
) -> anyhow::Result<String> {
    use signet_oci::manifest::MEDIA_TYPE_IMAGE_INDEX;
    let repository = "bench/multi";
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    registry.push_blob(repository, config)?;
    let mut index = signet_oci::ImageIndex::new();
    for n in 0..PLATFORMS {
        let layer = format!("platform {n} of the benchmark index");
        registry.push_blob(repository, layer.as_bytes())?;
        let manifest = image_manifest(config, layer.as_bytes());
        registry.push_manifest(repository, &format!("p{n}"), MEDIA_TYPE_IMAGE_MANIFEST, &manifest)?;
        let mut descriptor = Descriptor::of(MEDIA_TYPE_IMAGE_MANIFEST, &manifest);
        descriptor.platform = Some(signet_oci::Platform {
            architecture: format!("arch{n}"),
            os: "linux".into(),
            ..Default::default()
        });
        index.manifests.push(descriptor);
    }
    registry.push_manifest(repository, "1", MEDIA_TYPE_IMAGE_INDEX, &index.to_json())?;
    let image = format!("{host}/{repository}:1");
    let none = image::Annotations::new();
    let signed = image::sign_image(options, &image, &RegistryOptions::default(), &none, true)?;
    let pinned = signed.image.to_string();
    let digests: Vec<String> = signed.each().map(|s| s.image.to_string()).collect();

    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let verify = |image: &str, recursive: bool| {
        image::verify_image(
            verifier.trust,
            image,
            verifier.identity,
            &RegistryOptions::default(),
            &none,
            recursive,
        )
    };
    let mut parallel = Vec::new();
    let mut requests = 0;
    for _ in 0..RECURSIVE_ROUNDS {
        let started = Instant::now();
        let verified = verify(&pinned, true)?;
        parallel.push(started.elapsed());
        requests = verified.requests;
        if verified.platforms.len() != PLATFORMS {
            bail!(
                "verify --recursive checked {} platforms, not {PLATFORMS}",
                verified.platforms.len()
            );
        }
    }
    let mut serial = Vec::new();
    for _ in 0..RECURSIVE_ROUNDS {
        let started = Instant::now();
        for digest in &digests {
            verify(digest, false)?;
        }
        serial.push(started.elapsed());
    }
    let mut processes = Vec::new();
    for _ in 0..RECURSIVE_ROUNDS {
        let started = Instant::now();
        let out = Command::new(verifier.signet)
            .args([
                "verify",
                "--recursive",
                &pinned,
                "--certificate-identity",
                IDENTITY,
            ])
            .args(["--certificate-oidc-issuer", verifier.issuer])
            .arg("--trust-config")
            .arg(verifier.trust_config)
            .output()
            .with_context(|| format!("running {}", verifier.signet.display()))?;
        processes.push(started.elapsed());
        if !out.status.success() {
            bail!(
                "signet verify --recursive failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    Ok(format!(
        "verify --recursive of a {PLATFORMS}-platform index by digest: {requests} registry requests; \
         median of {RECURSIVE_ROUNDS}: in process {} (lookups in parallel) vs {} for the same \
         {} verifications one after another; `signet verify --recursive` process {}",
        ms(median(parallel)),
        ms(median(serial)),
        digests.len(),
        ms(median(processes)),
    ))
}

/// A one-layer OCI image manifest over `config` and `layer`.
fn image_manifest(config: &[u8], layer: &[u8]) -> Vec<u8> {
    ImageManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_IMAGE_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::of(MEDIA_TYPE_IMAGE_CONFIG, config),
        layers: vec![Descriptor::of("application/vnd.oci.image.layer.v1.tar", layer)],
        subject: None,
        annotations: Default::default(),
    }
    .to_json()
}
