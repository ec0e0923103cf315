//! The client commands' flags (`sign-blob`, `verify-blob`, `attest-blob`,
//! `verify-blob-attestation`, the conformance protocol's `sign-bundle` and `verify-bundle`, the
//! image commands, `login` and `trust`), dispatched to signet-client's flows. No async runtime
//! (the one place with threads is `verify --recursive`, whose lookups run in parallel).

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use signet_client::oci::RegistryOptions;
use signet_client::trust::TrustArgs;
use signet_client::verify::IdentityArgs;
use signet_client::{attest, image, legacy_image, tuf, Attestation, ConformanceInput, Expected, SignOptions};

/// The client subcommands, flattened into `signet`'s top level.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Sign a file: writes a Sigstore bundle (keyless with an identity token, or --key).
    SignBlob(SignBlobArgs),
    /// Verify a file against a Sigstore bundle and an expected signer.
    VerifyBlob(VerifyBlobArgs),
    /// Attest to a file: an in-toto statement with a predicate, signed in a DSSE envelope.
    AttestBlob(AttestBlobArgs),
    /// Verify an attestation bundle about a file.
    VerifyBlobAttestation(VerifyBlobAttestationArgs),
    /// sigstore-conformance CLI protocol: sign FILE into a bundle.
    SignBundle(SignBundleArgs),
    /// sigstore-conformance CLI protocol: verify a bundle over FILE or sha256:HEX.
    VerifyBundle(VerifyBundleArgs),
    /// Sign a container image in its registry (cosign 3's bundle format, as an OCI referrer; or
    /// cosign 1/2's `.sig` with --legacy-format).
    Sign(SignImageArgs),
    /// Verify a container image's signatures against an expected signer.
    Verify(VerifyImageArgs),
    /// Attest to a container image: an in-toto statement about its digest, signed, attached (as a
    /// referrer; or on cosign 1/2's `.att` with --legacy-format).
    Attest(AttestImageArgs),
    /// Verify a container image's attestations of a type against an expected signer.
    VerifyAttestation(VerifyImageAttestationArgs),
    /// List what is attached to a container image (signatures, attestations, SBOMs), unverified.
    Tree(TreeImageArgs),
    /// Save a container image and its signatures, attestations and SBOMs to an OCI image layout
    /// on disk, for `verify --local-image` with no network.
    Save(SaveImageArgs),
    /// Attach a file to a container image, unsigned (cosign's legacy attachments).
    #[command(subcommand)]
    Attach(AttachCommand),
    /// Download what is attached to a container image, as cosign prints it. Nothing is
    /// verified: use verify / verify-attestation for that.
    #[command(subcommand)]
    Download(DownloadCommand),
    /// Log in to a container registry: the credential is checked, then kept in the docker
    /// configuration (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, mode 0600).
    Login(LoginArgs),
    /// The trust material: update it over TUF, trust a private instance, show it.
    #[command(subcommand)]
    Trust(tuf::TrustCommand),
    /// Git commits and tags signed keylessly (gitsign's format; git signs with `signet-git`).
    #[command(subcommand)]
    Git(GitCommand),
    /// Search a transparency log by identity, issuer or artifact digest (`signet server`'s
    /// search API); every result's inclusion proof and signed checkpoint are verified.
    Search(signet_client::search::SearchArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum GitCommand {
    /// Verify a commit's signature (default HEAD) against an expected signer.
    Verify(GitVerifyArgs),
    /// Verify an annotated tag's signature against an expected signer.
    VerifyTag(GitVerifyTagArgs),
}

#[derive(Debug, Args)]
pub struct GitVerifyArgs {
    /// The commit (any revision git names).
    #[arg(default_value = "HEAD")]
    pub rev: String,
    #[command(flatten)]
    pub verify: GitVerifyOptions,
}

#[derive(Debug, Args)]
pub struct GitVerifyTagArgs {
    /// The tag.
    pub tag: String,
    #[command(flatten)]
    pub verify: GitVerifyOptions,
}

#[derive(Debug, Args)]
pub struct GitVerifyOptions {
    /// The expected signer. Without these flags, git config's signet.identity and
    /// signet.issuer (or $SIGNET_GIT_IDENTITY and $SIGNET_GIT_ISSUER) are used.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// The trust material. Without these flags, git config's signet.trustConfig (or
    /// $SIGNET_TRUST_CONFIG), else the public-good instance.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The git program to read objects with.
    #[arg(long, value_name = "PATH", default_value = "git")]
    pub git: PathBuf,
}

#[derive(Debug, Args)]
pub struct SignBlobArgs {
    /// The file to sign.
    pub file: PathBuf,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub options: SignOptions,
}

#[derive(Debug, Args)]
pub struct AttestBlobArgs {
    /// The file the attestation is about.
    pub file: PathBuf,
    /// The predicate (JSON) to attest.
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// The predicate type: slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx,
    /// spdxjson, cyclonedx, vuln, openvex, custom, or a URI.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub options: SignOptions,
}

#[derive(Debug, Args)]
pub struct VerifyBlobArgs {
    /// The signed file, or `sha256:<hex>` of it.
    pub file: String,
    /// The bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, Args)]
pub struct VerifyBlobAttestationArgs {
    /// The file the attestation is about, or `sha256:<hex>` of it.
    pub file: String,
    /// The bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// Require this predicate type (a short name as for attest-blob, or a URI).
    #[arg(long = "type", value_name = "TYPE")]
    pub predicate_type: Option<String>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, Args)]
pub struct SignBundleArgs {
    /// FILE is an in-toto statement to sign as a DSSE envelope.
    #[arg(long)]
    pub in_toto: bool,
    /// The OpenID Connect identity token.
    #[arg(long, value_name = "TOKEN", env = "SIGSTORE_ID_TOKEN", hide_env_values = true)]
    pub identity_token: Option<String>,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The artifact to sign.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The bundle to verify.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The artifact, or `sha256:<hex>` of it.
    pub file_or_digest: String,
}

/// How to reach a registry, for the image commands.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Allow plain HTTP to a registry that is not on this machine (loopback registries use
    /// HTTP anyway).
    #[arg(long)]
    pub allow_http_registry: bool,
    /// A PEM file of CA certificates to trust for the registry's TLS, beside the system's
    /// (repeatable). With one, a registry on this machine is reached over https as well.
    #[arg(long, value_name = "FILE")]
    pub registry_cacert: Vec<PathBuf>,
    /// Keep (and look for) signatures and attestations in this repository
    /// (`registry/repository`) rather than beside the image.
    #[arg(long, value_name = "REPOSITORY", env = "COSIGN_REPOSITORY")]
    pub signature_repository: Option<String>,
}

impl RegistryArgs {
    fn options(&self) -> RegistryOptions {
        RegistryOptions {
            allow_http: self.allow_http_registry,
            credential: None,
            ca_certs: self.registry_cacert.clone(),
            signature_repository: self.signature_repository.clone().filter(|r| !r.is_empty()),
        }
    }
}

#[derive(Debug, Args)]
pub struct SignImageArgs {
    /// The image (`registry/repository:tag` or `@sha256:...`); a tag is resolved once and the
    /// digest is what is signed.
    pub image: String,
    /// An annotation to sign with the image, key=value (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// For a multi-platform index, sign each platform's manifest as well as the index.
    #[arg(long)]
    pub recursive: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    #[command(flatten)]
    pub options: SignOptions,
}

/// Which storage format `sign` and `attest` write (cosign 3's flag, and a plain alias).
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Attach a Sigstore bundle as an OCI referrer (cosign 3's default);
    /// `--new-bundle-format=false` writes cosign 1/2's legacy format instead.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub new_bundle_format: bool,
    /// cosign 1/2's legacy format: a layer on the `sha256-<hex>.sig` (`.att`) tag, logged to a
    /// Rekor v1 log (same as `--new-bundle-format=false`).
    #[arg(long, conflicts_with = "new_bundle_format")]
    pub legacy_format: bool,
}

impl FormatArgs {
    fn legacy(&self) -> bool {
        self.legacy_format || !self.new_bundle_format
    }
}

#[derive(Debug, Args)]
pub struct VerifyImageArgs {
    /// The image (`registry/repository:tag` or `@sha256:...`), or with --local-image the
    /// directory `signet save` wrote.
    pub image: String,
    /// An annotation the signature must carry, key=value (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// For a multi-platform index, verify each platform's manifest as well as the index (all
    /// must verify).
    #[arg(long)]
    pub recursive: bool,
    /// IMAGE is an OCI image layout on disk (`signet save`): verify it with no registry.
    #[arg(long)]
    pub local_image: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, Args)]
pub struct AttestImageArgs {
    /// The image (`registry/repository:tag` or `@sha256:...`); a tag is resolved once.
    pub image: String,
    /// The predicate (JSON; SPDX tag-value text for --type spdx).
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,
    /// The predicate type: slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx,
    /// spdxjson, cyclonedx, vuln, openvex, custom, or a URI.
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,
    /// For a multi-platform index, attest to each platform's manifest as well as the index.
    #[arg(long)]
    pub recursive: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    #[command(flatten)]
    pub options: SignOptions,
}

#[derive(Debug, Args)]
pub struct VerifyImageAttestationArgs {
    /// The image (`registry/repository:tag` or `@sha256:...`), or with --local-image the
    /// directory `signet save` wrote.
    pub image: String,
    /// The predicate type to verify (a short name as for attest, or a URI).
    #[arg(long = "type", value_name = "TYPE", default_value = "custom")]
    pub predicate_type: String,
    /// For a multi-platform index, verify each platform's manifest as well as the index.
    #[arg(long)]
    pub recursive: bool,
    /// IMAGE is an OCI image layout on disk (`signet save`): verify it with no registry.
    #[arg(long)]
    pub local_image: bool,
    /// A Rego policy (FILE.rego) every verified attestation of the type must satisfy, as
    /// cosign evaluates it: the input is the in-toto statement (`_type`, `predicateType`,
    /// `subject`, `predicate`), the query `data.signature.allow` must be true, the syntax is
    /// Rego v0 (or v1 with `import rego.v1`). Repeatable or comma-separated; several files
    /// are loaded together as one program, as cosign loads them.
    #[arg(long, value_name = "FILE.rego", value_delimiter = ',')]
    pub policy: Vec<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
}

#[derive(Debug, Args)]
pub struct TreeImageArgs {
    /// The image (`registry/repository:tag` or `@sha256:...`).
    pub image: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct SaveImageArgs {
    /// The image (`registry/repository:tag` or `@sha256:...`).
    pub image: String,
    /// The directory to write the OCI image layout to (new, empty, or a layout to add to).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry (HOST or HOST:PORT).
    pub registry: String,
    /// The user name.
    #[arg(short = 'u', long, value_name = "USER")]
    pub username: String,
    /// Read the password (or token) from standard input.
    #[arg(long, required = true)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub registry_options: RegistryArgs,
}

/// `signet attach`: cosign's unsigned attachments.
#[derive(Debug, Subcommand)]
pub enum AttachCommand {
    /// Attach an SBOM, unsigned, under the image's `sha256-<hex>.sbom` tag (cosign's `attach
    /// sbom`, deprecated there). Prefer a signed SBOM attestation: `signet attest IMAGE
    /// --predicate FILE --type cyclonedx|spdxjson`.
    Sbom(AttachSbomArgs),
}

#[derive(Debug, Args)]
pub struct AttachSbomArgs {
    /// The image (`registry/repository:tag` or `@sha256:...`); a tag is resolved once.
    pub image: String,
    /// The SBOM file, or `-` for standard input (at most 128 MiB).
    #[arg(long, value_name = "FILE")]
    pub sbom: PathBuf,
    /// The SBOM's type: spdx, cyclonedx or syft.
    #[arg(long = "type", value_name = "TYPE", default_value = "spdx")]
    pub sbom_type: String,
    /// The SBOM's format: json, xml (cyclonedx) or text (spdx); by default JSON when the file
    /// name ends in .json.
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `signet download`: attachments, unverified.
#[derive(Debug, Subcommand)]
pub enum DownloadCommand {
    /// Print the image's signatures, one JSON per line: Sigstore bundles, else cosign's legacy
    /// `.sig` signatures (Base64Signature, Payload, Cert, Chain, Bundle, RFC3161Timestamp).
    /// Not verified.
    Signature(DownloadArgs),
    /// Print the image's attestations, one JSON per line: Sigstore bundles, then legacy `.att`
    /// DSSE envelopes. Not verified.
    Attestation(DownloadAttestationArgs),
    /// Write the SBOM attached with `attach sbom` to standard output (or --output-file). Not
    /// verified: a signed SBOM is an attestation (`download attestation --predicate-type
    /// cyclonedx`, `verify-attestation --type cyclonedx`).
    Sbom(DownloadSbomArgs),
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The image (`registry/repository:tag` or `@sha256:...`).
    pub image: String,
    /// For a multi-platform index: what is attached to this platform's manifest
    /// (`os/arch` or `os/arch/variant`, e.g. `linux/arm64`) rather than to the index.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct DownloadAttestationArgs {
    #[command(flatten)]
    pub download: DownloadArgs,
    /// Only attestations of this predicate type (a short name as for attest, or a URI).
    #[arg(long, value_name = "TYPE")]
    pub predicate_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct DownloadSbomArgs {
    #[command(flatten)]
    pub download: DownloadArgs,
    /// Write the SBOM to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

fn run_attach_or_download(command: ClientCommand) -> anyhow::Result<()> {
    use signet_client::{attach, download};
    use std::io::Write;
    match command {
        ClientCommand::Attach(AttachCommand::Sbom(a)) => {
            let name = a.sbom.to_string_lossy();
            let media_type = attach::sbom_layer_media_type(&a.sbom_type, a.input_format.as_deref(), &name)?;
            let sbom = attach::read_sbom(&a.sbom)?;
            let attached = attach::attach_sbom(&a.image, &sbom, media_type, &a.registry.options())?;
            eprintln!(
                "WARNING: Attaching SBOMs this way does not sign them. To sign them, attest them: 'signet attest IMAGE --predicate {name} --type cyclonedx|spdxjson|spdx'."
            );
            eprintln!(
                "Uploaded SBOM file for [{}] to [{}] with mediaType [{}].",
                attached.image, attached.destination, attached.media_type
            );
        }
        ClientCommand::Download(DownloadCommand::Sbom(a)) => {
            let sbom = download::download_sbom(
                &a.download.image,
                &a.download.registry.options(),
                a.download.platform.as_deref(),
            )?;
            eprintln!("Found SBOM of media type: {}", sbom.media_type);
            eprintln!(
                "WARNING: Downloading SBOMs this way does not ensure their authenticity; a signed SBOM is an attestation ('signet verify-attestation --type cyclonedx|spdxjson')."
            );
            match &a.output_file {
                Some(path) => signet_client::files::write_atomic(path, &sbom.content)?,
                None => std::io::stdout()
                    .write_all(&sbom.content)
                    .map_err(|e| anyhow!("writing the SBOM to standard output: {e}"))?,
            }
        }
        ClientCommand::Download(d) => {
            let found = match d {
                DownloadCommand::Signature(a) => {
                    download::download_signatures(&a.image, &a.registry.options(), a.platform.as_deref())?
                }
                DownloadCommand::Attestation(a) => {
                    let predicate_type = a
                        .predicate_type
                        .as_deref()
                        .map(attest::predicate_type_uri)
                        .transpose()?;
                    download::download_attestations(
                        &a.download.image,
                        predicate_type.as_deref(),
                        &a.download.registry.options(),
                        a.download.platform.as_deref(),
                    )?
                }
                DownloadCommand::Sbom(_) => unreachable!("handled above"),
            };
            if found.lines.is_empty() {
                eprintln!("No attestations found for {}", found.image);
            }
            for line in &found.lines {
                println!("{line}");
            }
        }
        _ => unreachable!("only attach and download come here"),
    }
    Ok(())
}

/// Runs a client command. The error, if any, is one line.
pub fn run(command: ClientCommand) -> anyhow::Result<()> {
    run_command(command).map_err(|e| {
        let text = format!("{e:#}");
        anyhow!(text.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

fn run_command(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        c @ (ClientCommand::Attach(_) | ClientCommand::Download(_)) => run_attach_or_download(c)?,
        ClientCommand::SignBlob(a) => {
            signet_client::sign_file(&a.options, &a.file, &a.bundle, None)?;
            eprintln!("Wrote bundle to {}", a.bundle.display());
        }
        ClientCommand::AttestBlob(a) => {
            let attestation = Attestation {
                predicate: &a.predicate,
                predicate_type: &a.predicate_type,
            };
            signet_client::sign_file(&a.options, &a.file, &a.bundle, Some(attestation))?;
            eprintln!("Wrote attestation bundle to {}", a.bundle.display());
        }
        ClientCommand::SignBundle(a) => {
            let input = if a.in_toto {
                ConformanceInput::InTotoStatement
            } else {
                ConformanceInput::Artifact
            };
            signet_client::sign_bundle(a.trust, a.identity_token, input, &a.file, &a.bundle)?;
        }
        ClientCommand::VerifyBlob(a) => {
            verify(&a.trust, &a.bundle, &a.file, &a.identity, &Expected::AnySignature)?
        }
        ClientCommand::VerifyBlobAttestation(a) => {
            let predicate_type = a
                .predicate_type
                .as_deref()
                .map(attest::predicate_type_uri)
                .transpose()?;
            verify(
                &a.trust,
                &a.bundle,
                &a.file,
                &a.identity,
                &Expected::Attestation { predicate_type },
            )?
        }
        ClientCommand::VerifyBundle(a) => verify(
            &a.trust,
            &a.bundle,
            &a.file_or_digest,
            &a.identity,
            &Expected::AnySignature,
        )?,
        ClientCommand::Trust(command) => tuf::run(command)?,
        ClientCommand::Git(GitCommand::Verify(a)) => {
            git_verify(&a.rev, signet_client::git::ObjectKind::Commit, &a.verify)?
        }
        ClientCommand::Git(GitCommand::VerifyTag(a)) => {
            git_verify(&a.tag, signet_client::git::ObjectKind::Tag, &a.verify)?
        }
        ClientCommand::Sign(a) => {
            let annotations = image::parse_annotations(&a.annotations)?;
            if a.format.legacy() {
                let signed = legacy_image::sign_image_legacy(
                    &a.options,
                    &a.image,
                    &a.registry.options(),
                    &annotations,
                    a.recursive,
                )?;
                for each in signed {
                    eprintln!("Pushing signature to: {}", each.location);
                }
                return Ok(());
            }
            let signed = image::sign_image(
                &a.options,
                &a.image,
                &a.registry.options(),
                &annotations,
                a.recursive,
            )?;
            for each in signed.each() {
                eprintln!("Pushing signature to: {}", each.image);
            }
        }
        ClientCommand::Verify(a) => {
            let annotations = image::parse_annotations(&a.annotations)?;
            let verified = verify_where(
                &a.image,
                a.local_image,
                &a.registry,
                &a.trust,
                &a.identity,
                image::COSIGN_SIGN_PREDICATE_TYPE,
                &annotations,
                a.recursive,
            )?;
            if !annotations.is_empty() {
                eprintln!("The specified annotations were verified.");
            }
            print_checks(
                &verified.image,
                "signatures",
                "The cosign claims were validated: the signature is over the image's digest",
                a.identity.key.is_some(),
            );
            let claims: Vec<_> = verified
                .each()
                .flat_map(|v| &v.signatures)
                .map(image::claims_json)
                .collect();
            println!("{}", serde_json::Value::Array(claims));
        }
        ClientCommand::Search(a) => signet_client::search::run(a)?,
        ClientCommand::Login(a) => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(|e| anyhow!("reading the password from standard input: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            if password.is_empty() {
                return Err(anyhow!("no password on standard input"));
            }
            let credential = signet_client::oci::Credential::Basic {
                username: a.username,
                password,
            };
            let http = a.registry_options.options().http()?;
            let path = signet_client::oci::login(
                &http,
                &a.registry,
                credential,
                a.registry_options.allow_http_registry,
            )?;
            eprintln!("Login Succeeded; the credential is in {}", path.display());
        }
        ClientCommand::Save(a) => {
            let saved = signet_client::layout::save_image(&a.image, &a.registry.options(), &a.dir)?;
            eprintln!(
                "Saved {} to {}: {} new blob(s), {} referrer(s){}",
                saved.image,
                saved.dir.display(),
                saved.blobs_written,
                saved.referrers,
                if saved.legacy.is_empty() {
                    String::new()
                } else {
                    format!(", {}", saved.legacy.join(", "))
                }
            );
        }
        ClientCommand::Tree(a) => print!("{}", image::tree_image(&a.image, &a.registry.options())?),
        ClientCommand::Attest(a) => {
            let predicate_type = attest::predicate_type_uri(&a.predicate_type)?;
            let predicate = attest::read_predicate(&a.predicate, &a.predicate_type)?;
            if a.format.legacy() {
                let signed = legacy_image::attest_image_legacy(
                    &a.options,
                    &a.image,
                    &a.registry.options(),
                    &predicate_type,
                    predicate,
                    a.recursive,
                )?;
                for each in signed {
                    eprintln!("Pushing attestation to: {}", each.location);
                }
                return Ok(());
            }
            let signed = image::attest_image(
                &a.options,
                &a.image,
                &a.registry.options(),
                &predicate_type,
                predicate,
                &image::Annotations::new(),
                a.recursive,
            )?;
            for each in signed.each() {
                eprintln!("Pushing attestation to: {}", each.image);
            }
        }
        ClientCommand::VerifyAttestation(a) => {
            let predicate_type = attest::predicate_type_uri(&a.predicate_type)?;
            // Compiled before the registry is asked anything: a broken policy fails at once.
            let mut policies = match a.policy.as_slice() {
                [] => None,
                files => Some(signet_client::policy::Policies::load(files)?),
            };
            let verified = verify_where(
                &a.image,
                a.local_image,
                &a.registry,
                &a.trust,
                &a.identity,
                &predicate_type,
                &image::Annotations::new(),
                a.recursive,
            )?;
            if let Some(policies) = policies.as_mut() {
                for each in verified.each() {
                    signet_client::policy::check_image_attestations(each, policies)?;
                }
            }
            print_checks(
                &verified.image,
                "attestations",
                &format!("The statement is about the image's digest, of type {predicate_type}"),
                a.identity.key.is_some(),
            );
            if let Some(policies) = &policies {
                eprintln!("  - Every attestation satisfies the policy {}", policies.files());
            }
            for envelope in verified
                .each()
                .flat_map(|v| &v.signatures)
                .filter_map(|a| a.envelope_json())
            {
                println!("{envelope}");
            }
        }
    }
    Ok(())
}

/// `verify` / `verify-attestation` of `image` in its registry, or with `--local-image` of the
/// OCI layout at that path.
#[allow(clippy::too_many_arguments)]
fn verify_where(
    image: &str,
    local_image: bool,
    registry: &RegistryArgs,
    trust: &TrustArgs,
    identity: &IdentityArgs,
    predicate_type: &str,
    annotations: &image::Annotations,
    recursive: bool,
) -> anyhow::Result<image::VerifiedImage> {
    if local_image {
        image::verify_local_image_attestations(
            trust,
            std::path::Path::new(image),
            identity,
            predicate_type,
            annotations,
            recursive,
        )
    } else {
        image::verify_image_attestations(
            trust,
            image,
            identity,
            &registry.options(),
            predicate_type,
            annotations,
            recursive,
        )
    }
}

/// The checks `verify` and `verify-attestation` did, on stderr, as cosign lists them.
fn print_checks(image: &impl std::fmt::Display, what: &str, claims: &str, by_key: bool) {
    eprintln!("\nVerification for {image} --");
    eprintln!("The following checks were performed on each of these {what}:");
    eprintln!("  - {claims}");
    eprintln!("  - Existence of the claims in the transparency log was verified offline");
    if by_key {
        eprintln!("  - The signatures were verified against the specified public key");
    } else {
        eprintln!(
            "  - The code-signing certificate was verified using trusted certificate authority certificates"
        );
        eprintln!("  - The certificate names the expected signer");
    }
}

/// `signet git verify` / `verify-tag`: the flags' signer and trust material, else git config's.
fn git_verify(rev: &str, kind: signet_client::git::ObjectKind, o: &GitVerifyOptions) -> anyhow::Result<()> {
    use signet_client::git::GitSettings;
    let settings = GitSettings::load(o.git.as_os_str())?;
    let flags_name_a_signer = o.identity.key.is_some()
        || o.identity.certificate_identity.is_some()
        || o.identity.certificate_identity_regexp.is_some()
        || o.identity.certificate_oidc_issuer.is_some()
        || o.identity.certificate_oidc_issuer_regexp.is_some();
    let signer = if flags_name_a_signer {
        o.identity.signer_policy()?
    } else {
        settings.policy()?.ok_or_else(|| {
            anyhow::anyhow!("give the expected signer: --certificate-identity and --certificate-oidc-issuer (or set signet.identity and signet.issuer in git config)")
        })?
    };
    let trust_given = o.trust.trust_config.is_some()
        || o.trust.trusted_root.is_some()
        || o.trust.staging
        || o.trust.instance.is_some();
    let material = if trust_given {
        signet_client::trust::load(&o.trust, &signet_client::trust::TrustEnv::from_process())?
    } else {
        settings.trust_material()?
    };
    let verified = signet_client::git::verify_object(
        o.git.as_os_str(),
        rev,
        kind,
        &signer,
        &material,
        signet_client::unix_now()?,
    )?;
    let at = verified
        .signed_at()
        .map(signet_client::git::rfc3339)
        .unwrap_or_default();
    eprintln!(
        "Verified OK: {rev} signed by {} (issuer {}) at {at}",
        verified.identity.san.value(),
        verified.identity.extensions.issuer.as_deref().unwrap_or("(none)")
    );
    Ok(())
}

fn verify(
    trust: &TrustArgs,
    bundle: &std::path::Path,
    artifact: &str,
    identity: &IdentityArgs,
    expected: &Expected,
) -> anyhow::Result<()> {
    signet_client::verify_file(trust, bundle, artifact, identity, expected)?;
    eprintln!("Verified OK");
    Ok(())
}
