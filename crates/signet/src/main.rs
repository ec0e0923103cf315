//! `signet`: Sigstore signing and verification, and `signet server`, the whole Sigstore
//! stack in one process. This binary is only the outer shell: it parses flags and dispatches to
//! signet-client (client commands), signet-server (`signet server`) and signet-bench (`signet
//! bench`); errors become one line on stderr and a non-zero exit.

#![forbid(unsafe_code)]

mod client;

use signet_bench as bench;
use signet_client::dev_token;
use signet_server as server;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "signet",
    version,
    about = "Sigstore signing, verification and servers, in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the signet services (CA, CT log, transparency log, TSA; a development OpenID
    /// provider with --dev-oidc) on one listener with embedded storage.
    Server(server::ServerArgs),
    /// Load generators that measure the services over HTTP.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Generate a password-encrypted key pair in cosign's format (<prefix>.key, <prefix>.pub).
    GenerateKeyPair(signet_client::keys::GenerateKeyPairArgs),
    /// DEVELOPMENT ONLY: print a fresh identity token from a `signet server --dev-oidc`.
    DevToken(dev_token::DevTokenArgs),
    #[command(flatten)]
    Client(Box<client::ClientCommand>),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Drive the transparency log with many concurrent clients sending signed hashedrekord entries.
    Log(bench::BenchLogArgs),
    /// Drive the timestamp authority with many concurrent clients sending RFC 3161 requests.
    Tsa(bench::BenchTsaArgs),
    /// Drive the certificate authority (with a --dev-oidc server) with Fulcio signingCert requests.
    Ca(bench::BenchCaArgs),
    /// Keyless sign-blob round trips per second: signet in process, signet processes, sigstore-python.
    Sign(bench::BenchSignArgs),
}

fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|e| usage_error(e));
    // Client commands run without an async runtime, threads or a log subscriber, so that
    // `verify-bundle` takes milliseconds.
    let command = match cli.command {
        Command::Client(command) => {
            if let Err(e) = client::run(*command) {
                fail(e);
            }
            return;
        }
        Command::DevToken(args) => {
            if let Err(e) = dev_token::run(args) {
                fail(e);
            }
            return;
        }
        Command::GenerateKeyPair(args) => {
            if let Err(e) = signet_client::keys::generate_key_pair(args) {
                fail(e);
            }
            return;
        }
        other => other,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG").unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => fail(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match command {
            Command::Client(_) | Command::DevToken(_) | Command::GenerateKeyPair(_) => {
                unreachable!("client commands return above")
            }
            Command::Server(args) => server::run(args).await,
            Command::Bench(BenchCommand::Log(args)) => bench::run_log(args).await,
            Command::Bench(BenchCommand::Tsa(args)) => bench::run_tsa(args).await,
            Command::Bench(BenchCommand::Ca(args)) => bench::run_ca(args).await,
            Command::Bench(BenchCommand::Sign(args)) => bench::run_sign(args).await,
        }
    });
    if let Err(e) = result {
        fail(e);
    }
}

/// Help and version print as clap writes them; a usage error is one line, exit status 2.
fn usage_error(e: clap::Error) -> ! {
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

fn fail(e: anyhow::Error) -> ! {
    eprintln!("signet: {e:#}");
    std::process::exit(1);
}
