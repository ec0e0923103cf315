//! `signet`: Sigstore signing and verification, and `signet server`, the whole Sigstore
//! stack in one process. This binary is the outer shell: it parses flags, does I/O and calls
//! the service and core crates; errors become one line on stderr and a non-zero exit.

#![forbid(unsafe_code)]

mod bench;
mod server;

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
    /// Run the signet services (the transparency log) with embedded storage.
    Server(server::ServerArgs),
    /// Load generators that measure the services over HTTP.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Drive the transparency log with many concurrent clients sending signed hashedrekord entries.
    Log(bench::BenchLogArgs),
}

fn main() {
    let cli = Cli::parse();
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
        match cli.command {
            Command::Server(args) => server::run(args).await,
            Command::Bench(BenchCommand::Log(args)) => bench::run_log(args).await,
        }
    });
    if let Err(e) = result {
        fail(e);
    }
}

fn fail(e: anyhow::Error) -> ! {
    eprintln!("signet: {e:#}");
    std::process::exit(1);
}
