//! The environment overrides the file (a test binary of its own: it sets a process-wide
//! variable, which would race with the other tests' parsing).

use std::ffi::OsString;
use std::net::SocketAddr;

use clap::{CommandFactory, FromArgMatches, Parser};

#[derive(Parser, Debug)]
struct Cli {
    #[arg(long, default_value = "127.0.0.1:3000", env = "SIGNET_CONFIG_TEST_LISTEN")]
    listen: SocketAddr,
    #[arg(long, default_value_t = 1)]
    max_batch: u64,
}

#[test]
fn the_environment_overrides_the_file_and_the_command_line_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signet.toml");
    let text = "listen = \"0.0.0.0:8443\"\nmax-batch = 5\n";
    let parse = |cli: &[&str]| {
        let command = Cli::command();
        let mut argv: Vec<OsString> = vec!["test".into()];
        argv.extend(cli.iter().map(OsString::from));
        let matches = command.clone().try_get_matches_from(&argv).unwrap();
        let given = |id: &str| {
            matches!(
                matches.value_source(id),
                Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
            )
        };
        let mut all: Vec<OsString> = vec!["test".into()];
        all.extend(signet_config::config_args(&command, &file, text, &given).unwrap());
        all.extend(cli.iter().map(OsString::from));
        Cli::from_arg_matches(&command.try_get_matches_from(all).unwrap()).unwrap()
    };
    std::env::set_var("SIGNET_CONFIG_TEST_LISTEN", "127.0.0.9:9");
    let from_env = parse(&[]);
    assert_eq!(from_env.listen, "127.0.0.9:9".parse().unwrap());
    assert_eq!(from_env.max_batch, 5);
    let from_flag = parse(&["--listen", "127.0.0.7:7"]);
    assert_eq!(from_flag.listen, "127.0.0.7:7".parse().unwrap());
    std::env::remove_var("SIGNET_CONFIG_TEST_LISTEN");
    assert_eq!(parse(&[]).listen, "0.0.0.0:8443".parse().unwrap());
}
