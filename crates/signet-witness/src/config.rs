//! Which logs the witness cosigns for: each an origin and the verifier keys whose signatures
//! it trusts on that origin's checkpoints. Two pure parsers feed it: the `--log "<origin>
//! <vkey>"` argument, and a file in the witness network's log-list format (`logs/v0`, as
//! <https://github.com/transparency-dev/witness-network> publishes lists), so a public list
//! can be used as it is.
//!
//! ```text
//! logs/v0
//! # comments and blank lines are ignored
//! vkey example.com/log+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k
//! origin none                 # optional: `none` means the vkey's name
//! qpd 86400                   # optional, as are `bastion` and `contact`
//! ```

use std::collections::BTreeMap;

use signet_tlog::{NoteError, NoteVerifier};
use thiserror::Error;

/// The header line of a log list.
pub const LOG_LIST_HEADER: &str = "logs/v0";

/// Why a `--log` argument or a log list was refused; list errors name their line.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A line of a log list, 1-based, and what is wrong with it.
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    /// A `--log` argument.
    #[error("--log {arg:?}: {reason}")]
    Argument { arg: String, reason: String },
}

/// The logs a witness knows: origin → trusted log keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logs {
    by_origin: BTreeMap<String, Vec<NoteVerifier>>,
}

impl Logs {
    /// Adds `key` for `origin` (a log may have several keys, e.g. across a rotation). Only
    /// Ed25519 note keys (vkey type 0x01) are accepted, as in the witness network.
    pub fn add(&mut self, origin: &str, key: NoteVerifier) -> Result<(), String> {
        if origin.is_empty() || origin.contains('\n') {
            return Err(format!("origin {origin:?} is not a checkpoint origin line"));
        }
        let keys = self.by_origin.entry(origin.to_string()).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
        Ok(())
    }

    /// Adds every log of `other`.
    pub fn extend(&mut self, other: Logs) {
        for (origin, keys) in other.by_origin {
            for key in keys {
                // Origins in `other` were checked when they were added.
                let _ = self.add(&origin, key);
            }
        }
    }

    /// The trusted keys of `origin`, or `None` for an unknown log.
    pub fn keys(&self, origin: &str) -> Option<&[NoteVerifier]> {
        self.by_origin.get(origin).map(Vec::as_slice)
    }

    /// The origins, sorted.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.by_origin.keys().map(String::as_str)
    }

    /// How many logs.
    pub fn len(&self) -> usize {
        self.by_origin.len()
    }

    /// True when no log is configured.
    pub fn is_empty(&self) -> bool {
        self.by_origin.is_empty()
    }

    /// Reads one `--log` argument: `<origin> <vkey>`, or a lone `<vkey>` whose key name is
    /// the origin.
    pub fn add_argument(&mut self, arg: &str) -> Result<(), ConfigError> {
        let err = |reason: String| ConfigError::Argument {
            arg: arg.chars().take(200).collect(),
            reason,
        };
        let (origin, vkey) = match arg.trim().rsplit_once(' ') {
            Some((origin, vkey)) => (Some(origin.trim()), vkey),
            None => (None, arg.trim()),
        };
        let key = NoteVerifier::from_vkey(vkey).map_err(|e| err(vkey_reason(e)))?;
        let origin = origin.unwrap_or(key.name()).to_string();
        self.add(&origin, key).map_err(err)
    }

    /// Parses a log list (`logs/v0`); errors name the line. Never panics.
    pub fn parse_list(text: &str) -> Result<Logs, ConfigError> {
        let mut logs = Logs::default();
        let mut header_seen = false;
        // The log being read: its key and origin, and the last field seen (fields come in
        // the list format's order: vkey, origin, bastion, qpd, contact).
        let mut current: Option<(NoteVerifier, Option<String>, usize)> = None;
        const FIELDS: [&str; 5] = ["vkey", "origin", "bastion", "qpd", "contact"];
        let finish =
            |logs: &mut Logs, current: Option<(NoteVerifier, Option<String>, usize)>, line: usize| {
                if let Some((key, origin, _)) = current {
                    let origin = origin.unwrap_or_else(|| key.name().to_string());
                    logs.add(&origin, key)
                        .map_err(|reason| ConfigError::Line { line, reason })?;
                }
                Ok::<(), ConfigError>(())
            };
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |reason: String| ConfigError::Line { line, reason };
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if !header_seen {
                if content != LOG_LIST_HEADER {
                    return Err(err(format!(
                        "expected the header {LOG_LIST_HEADER:?}, found {:?}",
                        clip(content)
                    )));
                }
                header_seen = true;
                continue;
            }
            let (field, value) = content
                .split_once(' ')
                .map_or((content, ""), |(f, v)| (f, v.trim()));
            let position = FIELDS.iter().position(|f| *f == field).ok_or_else(|| {
                err(format!(
                    "unknown field {:?} (known: {})",
                    clip(field),
                    FIELDS.join(", ")
                ))
            })?;
            if value.is_empty() {
                return Err(err(format!("{field} has no value")));
            }
            if field == "vkey" {
                finish(&mut logs, current.take(), line)?;
                let key = NoteVerifier::from_vkey(value).map_err(|e| err(vkey_reason(e)))?;
                current = Some((key, None, 0));
                continue;
            }
            let Some((_, origin, last)) = current.as_mut() else {
                return Err(err(format!("{field} before any vkey line")));
            };
            if position <= *last {
                return Err(err(format!(
                    "{field} out of order or repeated (order: {})",
                    FIELDS.join(", ")
                )));
            }
            *last = position;
            match field {
                "origin" if value != "none" => *origin = Some(value.to_string()),
                "qpd" => {
                    value
                        .parse::<u64>()
                        .map_err(|_| err(format!("qpd {:?} is not a whole number", clip(value))))?;
                }
                _ => {}
            }
        }
        if !header_seen {
            return Err(ConfigError::Line {
                line: text.lines().count().max(1),
                reason: format!("no {LOG_LIST_HEADER:?} header"),
            });
        }
        finish(&mut logs, current, text.lines().count())?;
        Ok(logs)
    }
}

fn vkey_reason(e: NoteError) -> String {
    format!("not an Ed25519 log verifier key: {e}")
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const PETER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    #[test]
    fn arguments() {
        let mut logs = Logs::default();
        logs.add_argument(VKEY).unwrap();
        logs.add_argument(&format!("log.example/other {PETER}")).unwrap();
        logs.add_argument(&format!("log.example/other {VKEY}")).unwrap();
        assert_eq!(
            logs.origins().collect::<Vec<_>>(),
            ["example.com/foo", "log.example/other"]
        );
        assert_eq!(logs.keys("log.example/other").unwrap().len(), 2);
        assert!(logs.keys("nope").is_none());
        let err =
            logs.add_argument("o example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
        assert!(matches!(err, Err(ConfigError::Argument { .. })), "{err:?}");
        assert!(logs.add_argument("").is_err());
    }

    #[test]
    fn a_witness_network_list_parses() {
        let text = format!(
            "#\n# List: test\n#\nlogs/v0\n\n# first\nvkey {VKEY}\norigin none\nqpd 86400\nbastion none\n\n\
             vkey {PETER}\norigin log.example/peter\nbastion https://b.example/\nqpd 24\ncontact x (at) y\n"
        );
        let err = Logs::parse_list(&text).unwrap_err();
        // bastion after qpd is out of order in the first log.
        assert_eq!(
            err,
            ConfigError::Line {
                line: 10,
                reason: "bastion out of order or repeated (order: vkey, origin, bastion, qpd, contact)"
                    .into()
            }
        );
        let text = text.replace("qpd 86400\nbastion none\n", "bastion none\nqpd 86400\n");
        let logs = Logs::parse_list(&text).unwrap();
        assert_eq!(
            logs.origins().collect::<Vec<_>>(),
            ["example.com/foo", "log.example/peter"]
        );
    }

    #[test]
    fn list_errors_name_the_line() {
        let cases = [
            ("vkey x\n", 1, "expected the header"),
            ("", 1, "no \"logs/v0\" header"),
            ("logs/v0\norigin a\n", 2, "origin before any vkey line"),
            ("logs/v0\nvkey nope\n", 2, "not an Ed25519 log verifier key"),
            (
                "logs/v0\n\n\nvkey PLACEHOLDER\nqpd many\n",
                5,
                "qpd \"many\" is not a whole number",
            ),
            ("logs/v0\nvkey PLACEHOLDER\nfoo bar\n", 3, "unknown field \"foo\""),
            ("logs/v0\nvkey PLACEHOLDER\nqpd\n", 3, "qpd has no value"),
            (
                "logs/v0\nvkey PLACEHOLDER\norigin a\norigin b\n",
                4,
                "origin out of order",
            ),
        ];
        for (text, line, reason) in cases {
            let text = text.replace("PLACEHOLDER", VKEY);
            match Logs::parse_list(&text) {
                Err(ConfigError::Line { line: l, reason: r }) => {
                    assert_eq!(l, line, "{text:?}: {r}");
                    assert!(r.contains(reason), "{text:?}: {r}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }
}
