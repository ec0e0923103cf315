//! Configuration files against a command shaped like `signet server`'s: every kind of flag
//! (a value with a default and an environment variable, a switch, a list, a range-checked
//! number, an enum, paths that must and need not exist).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};
use proptest::prelude::*;
use signet_config::{config_args, ConfigError};

#[derive(Parser, Debug, PartialEq)]
struct Cli {
    #[command(flatten)]
    server: Server,
}

#[derive(Args, Debug, PartialEq)]
struct Server {
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    #[arg(long)]
    dev_oidc: bool,
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Vec<Service>,
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=65536))]
    max_batch: u64,
    #[arg(long, requires = "tls_key", value_hint = clap::ValueHint::FilePath)]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert", value_hint = clap::ValueHint::FilePath)]
    tls_key: Option<PathBuf>,
    #[arg(long, alias = "database-url")]
    database: Option<String>,
    #[arg(long, default_value_t = 16)]
    database_connections: usize,
    #[arg(long)]
    witness: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Service {
    Ca,
    Log,
    Tsa,
}

/// Parses `cli` (flags after the program name) with the configuration `text` at `dir/signet.toml`,
/// as the `signet` binary does: the file's arguments first, the command line's last.
fn parse(dir: &Path, text: &str, cli: &[&str]) -> Result<Server, String> {
    let file = dir.join("signet.toml");
    std::fs::write(&file, text).unwrap();
    let command = Cli::command();
    let mut argv: Vec<OsString> = vec!["test".into()];
    argv.extend(cli.iter().map(OsString::from));
    let matches = command
        .clone()
        .try_get_matches_from(&argv)
        .map_err(|e| e.to_string())?;
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
        )
    };
    let extra = config_args(&command, &file, text, &given).map_err(|e| e.to_string())?;
    let mut all: Vec<OsString> = vec!["test".into()];
    all.extend(extra);
    all.extend(cli.iter().map(OsString::from));
    let matches = command.try_get_matches_from(all).map_err(|e| e.to_string())?;
    Cli::from_arg_matches(&matches)
        .map(|c| c.server)
        .map_err(|e| e.to_string())
}

fn error(dir: &Path, text: &str) -> ConfigError {
    let file = dir.join("signet.toml");
    config_args(&Cli::command(), &file, text, &|_| false).expect_err("the file should be refused")
}

#[test]
fn every_kind_of_flag_is_a_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "x").unwrap();
    std::fs::write(dir.path().join("key.pem"), "x").unwrap();
    let text = r#"
listen = "0.0.0.0:8443"
data-dir = "state"
dev-oidc = true
only = ["log", "tsa"]
max-batch = 512
witness = ["a", "b"]

[tls]
cert = "cert.pem"
key = "key.pem"

[database]
url = "postgres://db/signet"
connections = 4
"#;
    let server = parse(dir.path(), text, &[]).unwrap();
    assert_eq!(server.listen, "0.0.0.0:8443".parse().unwrap());
    // Relative paths are the file's directory's.
    assert_eq!(server.data_dir, dir.path().join("state"));
    assert!(server.dev_oidc);
    assert_eq!(server.only, vec![Service::Log, Service::Tsa]);
    assert_eq!(server.max_batch, 512);
    assert_eq!(server.witness, vec!["a", "b"]);
    assert_eq!(server.tls_cert, Some(dir.path().join("cert.pem")));
    assert_eq!(server.tls_key, Some(dir.path().join("key.pem")));
    assert_eq!(server.database_connections, 4);
    assert_eq!(
        server.database.as_deref(),
        Some("postgres://db/signet"),
        "through its alias"
    );
}

#[test]
fn the_command_line_overrides_the_file_and_the_file_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let text = "listen = \"0.0.0.0:8443\"\nmax-batch = 512\nonly = [\"ca\"]\n";
    let server = parse(dir.path(), text, &["--max-batch", "7", "--only", "log"]).unwrap();
    assert_eq!(server.max_batch, 7);
    assert_eq!(
        server.only,
        vec![Service::Log],
        "a list on the command line replaces the file's"
    );
    assert_eq!(server.listen, "0.0.0.0:8443".parse().unwrap());
    assert_eq!(
        server.database_connections, 16,
        "the default stands where neither says"
    );
}

#[test]
fn flags_keep_their_relations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "x").unwrap();
    // tls-cert requires tls-key, in the file as on the command line.
    let err = parse(dir.path(), "tls-cert = \"cert.pem\"\n", &[]).unwrap_err();
    assert!(err.contains("--tls-key"), "{err}");
}

#[test]
fn an_unknown_key_names_its_line_and_the_closest_flag() {
    let dir = tempfile::tempdir().unwrap();
    let e = error(dir.path(), "listen = \"127.0.0.1:1\"\n\nlisten-adress = 3\n");
    assert_eq!(e.line, Some(3));
    assert_eq!(e.key.as_deref(), Some("listen-adress"));
    let e = error(dir.path(), "[tls]\ncrt = \"x\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("tls-crt")));
    assert!(e.message.contains("did you mean `tls-cert`"), "{e}");
    let e = error(dir.path(), "frobnicate = 1\n");
    assert!(e.message.contains("unknown key"), "{e}");
    assert!(!e.message.contains("did you mean"), "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains("signet.toml:1: key `frobnicate`: unknown key"),
        "{shown}"
    );
}

#[test]
fn wrong_types_and_values_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("max-batch = \"many\"\n", "max-batch", "invalid value"),
        ("max-batch = 0\n", "max-batch", "0"),
        ("max-batch = 1.5\n", "max-batch", "invalid value"),
        ("listen = 3000\n", "listen", "invalid value"),
        ("dev-oidc = \"yes\"\n", "dev-oidc", "takes true or false"),
        ("listen = [\"127.0.0.1:1\"]\n", "listen", "takes one value"),
        (
            "only = [\"ca\", \"bogus\"]\n",
            "only",
            "'bogus' for '--only <ONLY>' (one of: ca, log, tsa)",
        ),
        ("database = 1979-05-27T07:32:00Z\n", "database", "date-time"),
        (
            "database = { uri = \"x\" }\n",
            "database-uri",
            "did you mean `database-url`",
        ),
        ("[[tls]]\ncert = \"x\"\n", "tls", "array of tables"),
    ];
    for (text, key, what) in cases {
        let e = error(dir.path(), &format!("# a comment\n{text}"));
        assert_eq!(e.key.as_deref(), Some(key), "{text}: {e}");
        assert_eq!(e.line, Some(2), "{text}: {e}");
        assert!(e.message.contains(what), "{text}: {e}");
    }
}

#[test]
fn a_missing_file_a_key_names_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.pem"), "x").unwrap();
    let e = error(dir.path(), "tls-key = \"key.pem\"\ntls-cert = \"nope.pem\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("tls-cert")));
    assert!(e.message.contains("nope.pem: no such file"), "{e}");
    // A directory that does not exist yet is fine: the server creates it.
    parse(dir.path(), "data-dir = \"later\"\n", &[]).unwrap();
}

#[test]
fn a_key_given_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = error(
        dir.path(),
        "database-connections = 3\n[database]\nconnections = 4\n",
    );
    assert_eq!(e.line, Some(3));
    assert!(e.message.contains("given twice (first on line 1)"), "{e}");
}

#[test]
fn syntax_errors_and_the_config_key_itself_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = error(dir.path(), "listen = \"127.0.0.1:1\"\nmax-batch = = 3\n");
    assert_eq!(e.line, Some(2), "{e}");
    assert_eq!(e.key, None);
    let e = error(dir.path(), "config = \"other.toml\"\n");
    assert!(e.message.contains("cannot name another"), "{e}");
    let e = error(dir.path(), "help = true\n");
    assert!(e.message.contains("unknown key"), "{e}");
}

#[test]
fn read_file_bounds_size_and_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let missing = signet_config::read_file(&dir.path().join("absent.toml")).unwrap_err();
    assert!(
        missing.to_string().contains("cannot open the configuration file"),
        "{missing}"
    );
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (signet_config::MAX_FILE_SIZE + 1) as usize]).unwrap();
    assert!(signet_config::read_file(&big)
        .unwrap_err()
        .message
        .contains("larger than"));
    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"# ok\n# caf\xe9\n").unwrap();
    let e = signet_config::read_file(&latin1).unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("not UTF-8"));
}

proptest! {
    /// Whatever the bytes, an answer and never a panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let dir = std::env::temp_dir();
        let _ = config_args(&Cli::command(), &dir.join("x.toml"), &text, &|_| false);
    }

    /// A file of known keys with values a flag accepts means what those flags mean.
    #[test]
    fn a_file_means_what_its_flags_mean(
        batch in 1u64..=65536,
        connections in 0usize..1000,
        oidc: bool,
        port in 1u16..,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "max-batch = {batch}\ndatabase-connections = {connections}\ndev-oidc = {oidc}\nlisten = \"127.0.0.1:{port}\"\n"
        );
        let from_file = parse(dir.path(), &text, &[]).unwrap();
        let mut flags = vec![
            "test".to_string(),
            format!("--max-batch={batch}"),
            format!("--database-connections={connections}"),
            format!("--listen=127.0.0.1:{port}"),
        ];
        if oidc {
            flags.push("--dev-oidc".into());
        }
        let from_flags = Cli::try_parse_from(flags).unwrap().server;
        prop_assert_eq!(from_file, from_flags);
    }
}
