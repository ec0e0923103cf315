//! `signet-server`: the `signet` command with the services in process. `signet server`,
//! `signet witness`, `signet bench`, `signet monitor` (SQLite state) and `signet db` become this program (see main.rs); it takes every `signet` command, so it
//! can also be run on its own, e.g. as a container's entry point (`signet-server server ...`).

#![forbid(unsafe_code)]

mod cli;
mod client;

use cli::{BenchCommand, Command};
use signet_bench as bench;
use signet_server as server;

fn main() {
    let command = cli::run_client(cli::parse().command);
    // Colours only for a person at a terminal: a container's or journald's log keeps plain text.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG").unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Command::Monitor(args) = command {
        // Blocking, no async runtime; its exit status says what it found (signet_monitor::exit).
        match signet_monitor::run(args) {
            Ok(status) => std::process::exit(status),
            Err(e) => {
                eprintln!("signet: {e:#}");
                std::process::exit(signet_monitor::exit::ERROR);
            }
        }
    }
    if let Command::Db(command) = command {
        // Blocking: the database's own runtime runs the queries.
        if let Err(e) = server::run_db(command) {
            cli::fail(e);
        }
        std::process::exit(0);
    }
    if let Command::Admin(command) = command {
        if let Err(e) = server::run_admin(command) {
            cli::fail(e);
        }
        std::process::exit(0);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => cli::fail(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match command {
            Command::Server(args) => server::run(args).await,
            Command::Witness(args) => server::run_witness(args).await,
            Command::Bench(BenchCommand::Log(args)) => bench::run_log(args).await,
            Command::Bench(BenchCommand::Tsa(args)) => bench::run_tsa(args).await,
            Command::Bench(BenchCommand::Ca(args)) => bench::run_ca(args).await,
            Command::Bench(BenchCommand::Sign(args)) => bench::run_sign(args).await,
            Command::Bench(BenchCommand::Image(args)) => bench::run_image(args).await,
            Command::Bench(BenchCommand::Git(args)) => bench::run_git(args).await,
            Command::Client(_)
            | Command::DevToken(_)
            | Command::GenerateKeyPair(_)
            | Command::Pkcs11(_)
            | Command::Monitor(_)
            | Command::Db(_)
            | Command::Admin(_) => {
                unreachable!("run_client runs client commands and exits; monitor and db exit above")
            }
        }
    });
    if let Err(e) = result {
        cli::fail(e);
    }
}
