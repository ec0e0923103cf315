//! `signet`: Sigstore signing and verification, and `signet server`, the whole Sigstore
//! stack, behind one command. This program is the outer shell: it parses flags and runs the
//! client commands (signet-client) in process; errors are one line on stderr and a non-zero
//! exit.
//!
//! `signet server`, `signet witness`, `signet bench`, `signet monitor` and `signet db` run in `signet-server`, the program installed beside this
//! one, which this process becomes (exec, same pid, arguments and streams). The services (an
//! async runtime, HTTP servers, SQLite, every service crate) are most of the code, and a
//! process that carries them pays for it at every start: the loader relocates and pages in
//! their static data even for `signet --version`. Keeping them out of this program is what
//! makes a `signet verify-bundle` cost little more than the verification (BENCHMARKS.md,
//! "Start-up").

#![forbid(unsafe_code)]

mod cli;
mod client;

use std::os::unix::process::CommandExt as _;

/// The program that runs the services, installed beside `signet`.
const SERVER_PROGRAM: &str = "signet-server";

fn main() {
    // Flags are checked here in full, so a usage error or --help reads the same whichever
    // program would have run the command.
    let command = cli::run_client(cli::parse().command);
    debug_assert!(matches!(
        command,
        cli::Command::Server(_)
            | cli::Command::Witness(_)
            | cli::Command::Bench(_)
            | cli::Command::Monitor(_)
            | cli::Command::Db(_)
            | cli::Command::Admin(_)
    ));
    let program = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(SERVER_PROGRAM),
        Err(e) => cli::fail(anyhow::anyhow!("cannot find the signet executable: {e}")),
    };
    let error = std::process::Command::new(&program)
        .args(std::env::args_os().skip(1))
        .exec();
    cli::fail(anyhow::anyhow!(
        "cannot run {} for `signet server`, `signet witness`, `signet bench`, `signet monitor`, `signet db` and `signet admin` (it is installed beside signet): {error}",
        program.display()
    ));
}
