//! `signet server --config FILE`: any bytes as a configuration file, against a command with
//! every kind of flag `signet server` has (a value with a default, a switch, a delimited list,
//! a ranged number, an enum, paths that must and need not exist). An answer, never a panic.

#![no_main]

use clap::{value_parser, Arg, ArgAction, Command, ValueHint};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};

fn command() -> Command {
    Command::new("server")
        .arg(Arg::new("config").long("config").value_parser(value_parser!(PathBuf)))
        .arg(Arg::new("listen").long("listen").default_value("127.0.0.1:3000").value_parser(value_parser!(std::net::SocketAddr)))
        .arg(Arg::new("data_dir").long("data-dir").value_parser(value_parser!(PathBuf)))
        .arg(Arg::new("dev_oidc").long("dev-oidc").action(ArgAction::SetTrue))
        .arg(Arg::new("only").long("only").value_delimiter(',').action(ArgAction::Append).value_parser(["ca", "ct", "log", "tsa"]))
        .arg(Arg::new("max_batch").long("max-batch").value_parser(value_parser!(u64).range(1..=65536)))
        .arg(Arg::new("tls_cert").long("tls-cert").requires("tls_key").value_hint(ValueHint::FilePath).value_parser(value_parser!(PathBuf)))
        .arg(Arg::new("tls_key").long("tls-key").requires("tls_cert").value_hint(ValueHint::FilePath).value_parser(value_parser!(PathBuf)))
        .arg(Arg::new("database").long("database"))
        .arg(Arg::new("database_connections").long("database-connections").value_parser(value_parser!(usize)))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let command = command();
    let file = Path::new("/nonexistent/signet.toml");
    if let Ok(args) = signet_config::config_args(&command, file, text, &|id| id == "listen") {
        // What the file stands for parses as flags (relations such as `requires` aside).
        let mut argv = vec![std::ffi::OsString::from("server")];
        argv.extend(args);
        let _ = command.try_get_matches_from(argv);
    }
});
