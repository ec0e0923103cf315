//! The `signet` command line, shared by the two programs of this package: `signet` (client
//! commands in process; `server`, `witness` and `bench` handed to the program beside it) and
//! `signet-server` (everything in process). Both parse the same flags, so help, usage errors and
//! behaviour are one whatever program runs them.

use signet_bench as bench;
use signet_client::dev_token;
use signet_server as server;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::client;

#[derive(Parser)]
#[command(
    name = "signet",
    version,
    about = "Sigstore signing, verification and servers, in Rust"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the signet services (CA, CT log, transparency log, TSA; a development OpenID
    /// provider with --dev-oidc) on one listener with embedded storage.
    Server(server::ServerArgs),
    /// Run a transparency log witness (C2SP tlog-witness): cosign the checkpoints of the given
    /// logs that are consistent with what it cosigned before.
    Witness(server::WitnessArgs),
    /// The PostgreSQL database of `signet server --database postgres://…`.
    #[command(subcommand)]
    Db(server::DbCommand),
    /// Operations on a stopped server's data directory: key rotation and log shards.
    #[command(subcommand)]
    Admin(server::AdminCommand),
    /// Load generators that measure the services over HTTP.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Follow transparency logs: verify every checkpoint, its consistency with the last and
    /// the tree recomputed from every entry, and report entries matching a watch list
    /// (rekor-monitor's monitoredValues YAML) as JSON lines. Exit status with --once: 0 nothing
    /// found, 1 an entry matched, 2 a check could not be made, 3 a log misbehaved.
    Monitor(signet_monitor::MonitorArgs),
    /// Generate a password-encrypted key pair in cosign's format (<prefix>.key, <prefix>.pub).
    GenerateKeyPair(signet_client::keys::GenerateKeyPairArgs),
    /// Keys in PKCS#11 tokens (HSMs, SoftHSM) for `signet server --*-key-uri` and `--key`.
    #[command(subcommand)]
    Pkcs11(Pkcs11Command),
    /// DEVELOPMENT ONLY: print a fresh identity token from a `signet server --dev-oidc`.
    DevToken(dev_token::DevTokenArgs),
    #[command(flatten)]
    Client(Box<client::ClientCommand>),
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Drive the transparency log with many concurrent clients sending signed hashedrekord entries.
    Log(bench::BenchLogArgs),
    /// Drive the timestamp authority with many concurrent clients sending RFC 3161 requests.
    Tsa(bench::BenchTsaArgs),
    /// Drive the certificate authority (with a --dev-oidc server) with Fulcio signingCert requests.
    Ca(bench::BenchCaArgs),
    /// Keyless sign-blob round trips per second: signet in process, signet processes, sigstore-python.
    Sign(bench::BenchSignArgs),
    /// Registry requests and time per `signet verify IMAGE`, against a registry on this machine.
    Image(bench::BenchImageArgs),
    /// Signed commits per second and `git verify-commit` per commit through real git and signet-git.
    Git(bench::BenchGitArgs),
}

/// Parses the process's arguments; help and version print and exit, a usage error is one line
/// and exit status 2.
pub fn parse() -> Cli {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // One command built and parsed once (start-up is part of every client command); a second
    // parse only for `server --config`.
    let mut command = Cli::command();
    let matches = command
        .try_get_matches_from_mut(&argv)
        .unwrap_or_else(|e| usage_error(e));
    let matches = match with_config_file(&command, &argv, &matches) {
        Some(argv) => command
            .try_get_matches_from(argv)
            .unwrap_or_else(|e| usage_error(e)),
        None => matches,
    };
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| usage_error(e))
}

/// `signet server --config FILE`: the command line with the file's flags put before the
/// command's own, leaving out those the command line or environment gives (signet-config).
/// None when there is no file to read; a bad file is a one-line error and exit status 2.
fn with_config_file(
    command: &clap::Command,
    argv: &[std::ffi::OsString],
    matches: &clap::ArgMatches,
) -> Option<Vec<std::ffi::OsString>> {
    use clap::parser::ValueSource;
    let ("server", server) = matches.subcommand()? else {
        return None;
    };
    let path = server.get_one::<std::path::PathBuf>("config")?;
    let server_command = command.find_subcommand("server")?;
    let given = |id: &str| {
        matches!(
            server.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let extra = signet_config::read_file(path)
        .and_then(|text| signet_config::config_args(server_command, path, &text, &given))
        .unwrap_or_else(|e| {
            eprintln!("signet: {e}");
            std::process::exit(2);
        });
    // `server` is the first argument: `signet` has no flags of its own before a command.
    let at = argv.iter().position(|a| a == "server")?;
    let mut merged = argv[..=at].to_vec();
    merged.extend(extra);
    merged.extend_from_slice(&argv[at + 1..]);
    Some(merged)
}

/// Runs a client command in this process, without an async runtime, threads or a log
/// subscriber (so that `verify-bundle` takes milliseconds), and exits; a command of the
/// services (`server`, `witness`, `bench`) is handed back.
pub fn run_client(command: Command) -> Command {
    let result = match command {
        Command::Client(command) => client::run(*command),
        Command::DevToken(args) => dev_token::run(args),
        Command::GenerateKeyPair(args) => signet_client::keys::generate_key_pair(args),
        Command::Pkcs11(Pkcs11Command::Keygen(args)) => pkcs11_keygen(args),
        other => return other,
    };
    if let Err(e) = result {
        fail(e);
    }
    std::process::exit(0);
}

/// `signet pkcs11 …`.
#[derive(clap::Subcommand, Debug)]
pub enum Pkcs11Command {
    /// Generate a key pair inside a token: the private key is sensitive and never extractable;
    /// prints the public key (PEM). The URI must name the label (object=) and id (id=).
    Keygen(Pkcs11KeygenArgs),
}

/// `signet pkcs11 keygen`.
#[derive(clap::Args, Debug)]
pub struct Pkcs11KeygenArgs {
    /// pkcs11:token=…;object=LABEL;id=%NN?module-path=…&pin-source=file:…
    #[arg(long)]
    pub uri: String,
    /// The key type.
    #[arg(long = "type", value_parser = ["ecdsa-p256", "ecdsa-p384", "ed25519"])]
    pub key_type: String,
}

fn pkcs11_keygen(args: Pkcs11KeygenArgs) -> anyhow::Result<()> {
    let uri = signet_pkcs11::Pkcs11Uri::parse(&args.uri)?;
    let kind = signet_pkcs11::KeygenType::parse(&args.key_type).ok_or_else(|| {
        anyhow::anyhow!(
            "--type {}: expected ecdsa-p256, ecdsa-p384 or ed25519",
            args.key_type
        )
    })?;
    let public = signet_pkcs11::generate_key_pair(&uri, kind)?;
    print!("{}", public.to_pem());
    Ok(())
}

/// Help and version print as clap writes them; a usage error is one line, exit status 2.
pub fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    // The message is the first paragraph (e.g. the missing arguments, one per line).
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    eprintln!(
        "signet: {}; see `signet --help`",
        message.join(" ").trim_start_matches("error: ")
    );
    std::process::exit(2);
}

pub fn fail(e: anyhow::Error) -> ! {
    eprintln!("signet: {e:#}");
    std::process::exit(1);
}
