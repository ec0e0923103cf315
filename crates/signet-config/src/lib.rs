//! Configuration files for signet's commands (`signet server --config signet.toml`).
//!
//! A configuration file is TOML whose keys are the command's long flags, so there is one
//! vocabulary for both and nothing to keep in step: `listen = "0.0.0.0:3000"` is
//! `--listen 0.0.0.0:3000`, `dev-oidc = true` is `--dev-oidc`, `only = ["log", "tsa"]` is
//! `--only log --only tsa`. Tables may group keys by the flag's first words, joined with `-`:
//! `[tls] cert = "…"` is `tls-cert`, `[database] connections = 32` is `database-connections`.
//! A flag's aliases are keys too, which lets a flag that heads a table be set inside it
//! (`[database] url = "postgres://…"` for `--database`, aliased `--database-url`).
//!
//! The file is checked entirely before anything starts, against the command's own flag
//! definitions (clap's value parsers, possible values, whether a flag takes a value): an unknown
//! key, a value of the wrong type or out of range, a key given twice (flat and in a table), a
//! file a key names that does not exist, each is an error naming the file, the line and the
//! key, with the closest known key when it looks like a typo. Relative paths are resolved from
//! the file's directory, as the file's author sees them.
//!
//! Precedence, as operators expect from most servers: a flag on the command line, then its
//! environment variable, then the configuration file, then the built-in default. The file is
//! turned into arguments ([`config_args`]) that the caller parses together with the command
//! line, leaving out every key whose flag the command line or the environment already gave.
//!
//! The parser is `toml_edit`'s (the one under the `toml` crate), because it keeps the span of
//! every key and value and so gives errors their line; it reads untrusted bytes in the sense
//! that a file's author may err in any way, and has a fuzz target (`fuzz/fuzz_targets/
//! config_file.rs`).

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, Command, ValueHint};
use toml_edit::{Document, Item, Value};

/// The largest configuration file read: real ones are a few kilobytes.
pub const MAX_FILE_SIZE: u64 = 1 << 20;

/// Why a configuration file was refused: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line the error is on, when it is about a place in the file.
    pub line: Option<usize>,
    /// The key (as a flag name), when it is about one.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Reads the configuration file at `path` (at most [`MAX_FILE_SIZE`] bytes, UTF-8).
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let error = |message: String| ConfigError {
        file: path.to_path_buf(),
        line: None,
        key: None,
        message,
    };
    let file =
        std::fs::File::open(path).map_err(|e| error(format!("cannot open the configuration file: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("cannot read the configuration file: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(error(format!(
            "larger than {MAX_FILE_SIZE} bytes; is this a configuration file?"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = line_of(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        ConfigError {
            line: Some(line),
            ..error("not UTF-8 text".into())
        }
    })
}

/// The arguments (`--flag=value`, `--flag`) that `text`, the configuration file at `file`,
/// stands for as flags of `command`, checked against the flags' definitions. A key whose flag
/// `given` says the command line or environment already set (by the flag's id) is checked but
/// left out, so that those win.
pub fn config_args(
    command: &Command,
    file: &Path,
    text: &str,
    given: &dyn Fn(&str) -> bool,
) -> Result<Vec<OsString>, ConfigError> {
    let error = |span: Option<Range<usize>>, key: Option<&str>, message: String| ConfigError {
        file: file.to_path_buf(),
        line: span.map(|s| line_of(text, s.start)),
        key: key.map(str::to_string),
        message,
    };
    let document =
        Document::parse(text).map_err(|e| error(e.span(), None, e.message().trim().to_string()))?;
    let mut entries = Vec::new();
    let Item::Table(root) = document.as_item() else {
        return Err(error(None, None, "the document is not a table".into()));
    };
    collect_table(root, "", &mut entries).map_err(|(span, key, message)| error(span, Some(&key), message))?;

    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut seen: BTreeMap<String, Option<Range<usize>>> = BTreeMap::new();
    let mut args = Vec::new();
    for entry in entries {
        let fail = |message: String| error(entry.span.clone(), Some(&entry.key), message);
        if let Some(first) = seen.get(&entry.key) {
            let at = first
                .as_ref()
                .map(|s| format!(" (first on line {})", line_of(text, s.start)));
            return Err(fail(format!("given twice{}", at.unwrap_or_default())));
        }
        seen.insert(entry.key.clone(), entry.span.clone());
        let arg = find_flag(command, &entry.key).ok_or_else(|| fail(unknown_key(command, &entry.key)))?;
        let values = flag_values(arg, &entry, &base).map_err(&fail)?;
        check_values(arg, &values).map_err(&fail)?;
        if given(arg.get_id().as_str()) {
            continue;
        }
        let long = arg.get_long().unwrap_or_default();
        match values {
            FlagValues::Switch(true) => args.push(OsString::from(format!("--{long}"))),
            FlagValues::Switch(false) => {}
            FlagValues::Values(values) => {
                for value in values {
                    let mut arg = OsString::from(format!("--{long}="));
                    arg.push(value);
                    args.push(arg);
                }
            }
        }
    }
    Ok(args)
}

/// One key of the file, flattened to its flag's name.
struct Entry {
    key: String,
    span: Option<Range<usize>>,
    value: Value,
}

type EntryError = (Option<Range<usize>>, String, String);

fn collect_table(table: &toml_edit::Table, prefix: &str, out: &mut Vec<Entry>) -> Result<(), EntryError> {
    for (name, item) in table.iter() {
        let key = format!("{prefix}{name}");
        let span = table.key(name).and_then(|k| k.span());
        match item {
            Item::None => {}
            Item::Value(Value::InlineTable(inline)) => collect_inline(inline, &format!("{key}-"), out)?,
            Item::Value(value) => out.push(Entry {
                key,
                span,
                value: value.clone(),
            }),
            Item::Table(sub) => collect_table(sub, &format!("{key}-"), out)?,
            Item::ArrayOfTables(_) => {
                return Err((span, key, "an array of tables is not a flag's value".into()));
            }
        }
    }
    Ok(())
}

fn collect_inline(
    table: &toml_edit::InlineTable,
    prefix: &str,
    out: &mut Vec<Entry>,
) -> Result<(), EntryError> {
    for (name, value) in table.iter() {
        let key = format!("{prefix}{name}");
        let span = table.key(name).and_then(|k| k.span());
        match value {
            Value::InlineTable(inline) => collect_inline(inline, &format!("{key}-"), out)?,
            value => out.push(Entry {
                key,
                span,
                value: value.clone(),
            }),
        }
    }
    Ok(())
}

/// The flag a key names: a long flag of `command` (or one of its aliases, so that a flag that
/// heads a table can be named inside it: `[database] url` for `--database` aliased
/// `--database-url`) other than `--config` itself, help and version.
fn find_flag<'c>(command: &'c Command, key: &str) -> Option<&'c Arg> {
    if matches!(key, "config" | "help" | "version") {
        return None;
    }
    command.get_arguments().find(|arg| {
        !arg.is_positional()
            && (arg.get_long() == Some(key)
                || arg
                    .get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&key)))
    })
}

fn unknown_key(command: &Command, key: &str) -> String {
    if key == "config" {
        return "a configuration file cannot name another".into();
    }
    let known = command
        .get_arguments()
        .flat_map(|arg| {
            arg.get_long()
                .into_iter()
                .chain(arg.get_all_aliases().unwrap_or_default())
        })
        .filter(|long| !matches!(*long, "config" | "help" | "version"));
    let closest = known
        .map(|long| (edit_distance(key, long), long))
        .filter(|(distance, long)| *distance <= 2.max(long.len() / 4))
        .min();
    match closest {
        Some((_, long)) => format!("unknown key; did you mean `{long}`?"),
        None => "unknown key (the keys are the command's long flags: see --help)".into(),
    }
}

/// Levenshtein distance, for "did you mean"; keys are short.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

enum FlagValues {
    /// A flag without a value (`--dev-oidc`).
    Switch(bool),
    /// The values of a flag that takes them, each as it would be typed.
    Values(Vec<OsString>),
}

fn flag_values(arg: &Arg, entry: &Entry, base: &Path) -> Result<FlagValues, String> {
    let takes_value = !matches!(
        arg.get_action(),
        ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
    );
    if !takes_value {
        return match &entry.value {
            Value::Boolean(b) => Ok(FlagValues::Switch(*b.value())),
            other => Err(format!("takes true or false, not {}", type_name(other))),
        };
    }
    let many = arg.get_value_delimiter().is_some() || matches!(arg.get_action(), ArgAction::Append);
    let scalars: Vec<&Value> = match &entry.value {
        Value::Array(array) if many => array.iter().collect(),
        Value::Array(_) => return Err("takes one value, not an array".into()),
        value => vec![value],
    };
    let is_path = arg.get_value_parser().type_id() == ValueParser::path_buf().type_id();
    let mut values = Vec::with_capacity(scalars.len());
    for scalar in scalars {
        let text = match scalar {
            Value::String(s) => s.value().clone(),
            Value::Integer(i) => i.value().to_string(),
            Value::Float(f) => f.value().to_string(),
            Value::Boolean(b) => b.value().to_string(),
            other => return Err(format!("takes a string or number, not {}", type_name(other))),
        };
        if is_path && !text.is_empty() {
            let path = Path::new(&text);
            let path = if path.is_relative() {
                base.join(path)
            } else {
                path.to_path_buf()
            };
            if arg.get_value_hint() == ValueHint::FilePath && !path.is_file() {
                return Err(format!("{}: no such file", path.display()));
            }
            values.push(path.into_os_string());
        } else {
            values.push(OsString::from(text));
        }
    }
    Ok(FlagValues::Values(values))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

/// Runs each value through the flag's own parser (types, ranges, possible values), in a
/// command holding that flag alone so that its relations to other flags do not apply here
/// (they are checked when the whole command line is parsed).
fn check_values(arg: &Arg, values: &FlagValues) -> Result<(), String> {
    let FlagValues::Values(values) = values else {
        return Ok(());
    };
    // The flag alone, under its id as its long name (clap takes only static names otherwise);
    // messages are rewritten to show the real name.
    let id = arg.get_id().as_str();
    let long = arg.get_long().unwrap_or(id);
    let mut alone = Arg::new(arg.get_id().clone()).long(arg.get_id().clone());
    if let Some(names) = arg.get_value_names() {
        alone = alone.value_names(names.iter().cloned());
    }
    let alone = alone
        .action(ArgAction::Append)
        .value_parser(arg.get_value_parser().clone());
    let mut argv = vec![OsString::from("config")];
    for value in values {
        let mut flag = OsString::from(format!("--{id}="));
        flag.push(value);
        argv.push(flag);
    }
    Command::new("config")
        .no_binary_name(false)
        .disable_help_flag(true)
        .arg(alone)
        .try_get_matches_from(argv)
        .map(|_| ())
        .map_err(|e| {
            let mut message = clap_message(&e).replace(&format!("--{id} "), &format!("--{long} "));
            let possible: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string())
                .collect();
            if !possible.is_empty() {
                message.push_str(&format!(" (one of: {})", possible.join(", ")));
            }
            message
        })
}

/// clap's error as one line, without its "error: " prefix and usage hints.
fn clap_message(e: &clap::Error) -> String {
    let rendered = e.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("listen", "listen"), 0);
        assert_eq!(edit_distance("lisen", "listen"), 1);
        assert_eq!(edit_distance("tls-crt", "tls-cert"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn line_of_counts_newlines() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a", 99), 1);
    }
}
