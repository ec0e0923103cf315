//! The watch list: rekor-monitor's `monitoredValues` YAML, read as its users write it, and
//! compiled into [`Rules`].
//!
//! Accepted (rekor-monitor `pkg/identity` and `pkg/fulcio/extensions`):
//!
//! ```yaml
//! startIndex: 0                 # where a log with no saved state starts (default: 0)
//! monitoredValues:
//!   certIdentities:             # certSubject: a regex on the certificate's SAN
//!     - certSubject: user@example\.com
//!       issuers: [https://accounts\.google\.com]   # regexes on the OIDC issuer; none = any
//!   subjects: [...]             # regexes on non-certificate subjects (none in Rekor v2 entries)
//!   fingerprints: [hex...]      # SHA-256 of a DER certificate or DER SubjectPublicKeyInfo
//!   oidMatchers:                # exact extension values, by OID
//!     oidExtensions:   [{objectIdentifier: [1, 3, 6, 1, 4, 1, 57264, 1, 9], extensionValues: [...]}]
//!     fulcioExtensions: {build-signer-uri: [...], issuer: [...]}
//!     customExtensions: [{objectIdentifier: 1.3.6.1.4.1.57264.1.12, extensionValues: [...]}]
//! ```
//!
//! Older rekor-monitor files (a list under `oidMatchers`, `fulcioExtensions` and
//! `customExtensions` directly under `monitoredValues`) read too. rekor-monitor's output and
//! notification settings (`outputIdentities`, `githubIssue`, ...) are accepted and listed in
//! [`Rules::ignored`]; any other key is an error, so a typo never silently watches nothing.
//!
//! Regexes mean what they mean to rekor-monitor (Go's RE2 `regexp`, `MatchString`: anywhere in
//! the value unless anchored), through signet-verify's Go-compatible [`Matcher`].

use std::collections::BTreeMap;

use der::asn1::ObjectIdentifier;
use serde::Deserialize;
use serde_yaml_ng::Value;
use signet_verify::{Matcher, PolicyError};
use thiserror::Error;

/// Why a watch file was refused. Each names the field (`monitoredValues.certIdentities[1].issuers[0]`).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("the watch file is not valid YAML for rekor-monitor's format: {0}")]
    Yaml(String),
    #[error("{field}: unknown key {key:?} (accepted: {accepted})")]
    UnknownKey {
        field: String,
        key: String,
        accepted: &'static str,
    },
    #[error("{field}: bad regular expression {pattern:?}: {reason}")]
    Regex {
        field: String,
        pattern: String,
        reason: String,
    },
    #[error("{field}: empty value")]
    Empty { field: String },
    #[error("{field}: {value:?} is not an object identifier: {reason}")]
    BadOid {
        field: String,
        value: String,
        reason: String,
    },
    #[error("{field}: {value:?} is not a hex SHA-256 fingerprint (64 hex digits, colons allowed)")]
    BadFingerprint { field: String, value: String },
    #[error("{field}: unknown Fulcio extension {name:?} (known: {known})")]
    UnknownFulcioExtension {
        field: String,
        name: String,
        known: String,
    },
}

/// A certificate identity to watch for: a SAN regex and, optionally, issuer regexes.
#[derive(Debug, Clone)]
pub struct CertIdentityRule {
    /// Where the rule came from, e.g. `certIdentities[0]`.
    pub name: String,
    pub cert_subject: Matcher,
    /// Empty: any issuer.
    pub issuers: Vec<Matcher>,
}

/// Exact values of one certificate extension.
#[derive(Debug, Clone)]
pub struct OidRule {
    pub name: String,
    pub oid: ObjectIdentifier,
    pub values: Vec<String>,
}

/// A fingerprint to watch for: lowercase hex SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintRule {
    pub name: String,
    pub hex: String,
}

/// The compiled watch list.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub cert_identities: Vec<CertIdentityRule>,
    pub subjects: Vec<(String, Matcher)>,
    pub fingerprints: Vec<FingerprintRule>,
    pub oid_matchers: Vec<OidRule>,
    /// `startIndex`: where a log with no saved state starts.
    pub start_index: Option<u64>,
    /// rekor-monitor settings read and not acted on (`outputIdentities`, `githubIssue`, ...).
    pub ignored: Vec<String>,
}

impl Rules {
    /// True when nothing is watched for: the monitor then checks the logs only.
    pub fn is_empty(&self) -> bool {
        self.cert_identities.is_empty()
            && self.subjects.is_empty()
            && self.fingerprints.is_empty()
            && self.oid_matchers.is_empty()
    }

    /// Reads a watch file's text.
    pub fn from_yaml(text: &str) -> Result<Rules, ConfigError> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Yaml(e.to_string()))?
        };
        raw.compile()
    }
}

/// rekor-monitor top-level keys signet reads but does not act on (its outputs and notifiers;
/// signet reports on stdout).
const IGNORED_KEYS: &[&str] = &[
    "endIndex",
    "serverURL",
    "outputIdentities",
    "logInfoFile",
    "identityMetadataFile",
    "githubIssue",
    "emailNotificationSMTP",
    "emailNotificationMailgun",
    "emailNotificationSendGrid",
    "ctShards",
];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    start_index: Option<u64>,
    #[serde(default)]
    monitored_values: Option<RawMonitoredValues>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawMonitoredValues {
    #[serde(default)]
    cert_identities: Vec<RawCertIdentity>,
    #[serde(default)]
    subjects: Vec<String>,
    #[serde(default)]
    fingerprints: Vec<String>,
    /// A list (older rekor-monitor) or the grouped form; read by hand for clear errors.
    #[serde(default)]
    oid_matchers: Option<Value>,
    /// Older rekor-monitor: directly under `monitoredValues`.
    #[serde(default)]
    fulcio_extensions: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    custom_extensions: Vec<RawCustomExtension>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCertIdentity {
    cert_subject: String,
    #[serde(default)]
    issuers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawOidGroups {
    #[serde(default)]
    oid_extensions: Vec<RawOidExtension>,
    #[serde(default)]
    fulcio_extensions: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    custom_extensions: Vec<RawCustomExtension>,
}

/// Go's `asn1.ObjectIdentifier` in YAML: a list of integers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawOidExtension {
    object_identifier: Vec<u64>,
    #[serde(default)]
    extension_values: Vec<String>,
}

/// A dotted OID.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCustomExtension {
    object_identifier: String,
    #[serde(default)]
    extension_values: Vec<String>,
}

/// rekor-monitor's `FulcioExtensions` YAML names and the arc under 1.3.6.1.4.1.57264.1 of each.
/// `issuer` watches both issuer extensions (.1.1, and .1.8 in its proper encoding).
const FULCIO_EXTENSIONS: &[(&str, &[u32])] = &[
    ("issuer", &[1, 8]),
    ("github-workflow-trigger", &[2]),
    ("github-workflow-sha", &[3]),
    ("github-workflow-name", &[4]),
    ("github-workflow-repository", &[5]),
    ("github-workflow-ref", &[6]),
    ("build-signer-uri", &[9]),
    ("build-signer-digest", &[10]),
    ("runner-environment", &[11]),
    ("source-repository-uri", &[12]),
    ("source-repository-digest", &[13]),
    ("source-repository-ref", &[14]),
    ("source-repository-identifier", &[15]),
    ("source-repository-owner-uri", &[16]),
    ("source-repository-owner-identifier", &[17]),
    ("build-config-uri", &[18]),
    ("build-config-digest", &[19]),
    ("build-trigger", &[20]),
    ("run-invocation-uri", &[21]),
    ("source-repository-visibility-at-signing", &[22]),
    ("deployment-environment", &[23]),
];

fn regex(field: String, pattern: &str) -> Result<Matcher, ConfigError> {
    if pattern.is_empty() {
        return Err(ConfigError::Empty { field });
    }
    Matcher::regex(pattern).map_err(|e| match e {
        PolicyError::Regex { pattern, reason } => ConfigError::Regex {
            field,
            pattern,
            reason,
        },
        other => ConfigError::Regex {
            field,
            pattern: pattern.to_string(),
            reason: other.to_string(),
        },
    })
}

/// One extension rule: the dotted OID must parse, and the values be given and non-empty.
fn oid_rule(name: String, field: &str, dotted: &str, vals: Vec<String>) -> Result<OidRule, ConfigError> {
    let oid = ObjectIdentifier::new(dotted).map_err(|e| ConfigError::BadOid {
        field: field.to_string(),
        value: dotted.to_string(),
        reason: e.to_string(),
    })?;
    Ok(OidRule {
        name,
        oid,
        values: values(field, vals)?,
    })
}

fn values(field: &str, values: Vec<String>) -> Result<Vec<String>, ConfigError> {
    if values.is_empty() {
        return Err(ConfigError::Empty {
            field: format!("{field}.extensionValues"),
        });
    }
    for (i, v) in values.iter().enumerate() {
        if v.is_empty() {
            return Err(ConfigError::Empty {
                field: format!("{field}.extensionValues[{i}]"),
            });
        }
    }
    Ok(values)
}

fn fingerprint(field: String, value: &str) -> Result<FingerprintRule, ConfigError> {
    let hex: String = value
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ConfigError::BadFingerprint {
            field,
            value: value.to_string(),
        });
    }
    Ok(FingerprintRule { name: field, hex })
}

impl RawConfig {
    fn compile(self) -> Result<Rules, ConfigError> {
        let mut rules = Rules {
            start_index: self.start_index,
            ..Rules::default()
        };
        for key in self.other.keys() {
            if IGNORED_KEYS.contains(&key.as_str()) {
                rules.ignored.push(key.clone());
            } else {
                return Err(ConfigError::UnknownKey {
                    field: "the watch file".into(),
                    key: key.clone(),
                    accepted: "startIndex, monitoredValues, and rekor-monitor's output settings",
                });
            }
        }
        let Some(mv) = self.monitored_values else {
            return Ok(rules);
        };
        const MV: &str = "monitoredValues";
        for (i, id) in mv.cert_identities.into_iter().enumerate() {
            let name = format!("certIdentities[{i}]");
            let cert_subject = regex(format!("{MV}.{name}.certSubject"), &id.cert_subject)?;
            let issuers = id
                .issuers
                .iter()
                .enumerate()
                .map(|(j, p)| regex(format!("{MV}.{name}.issuers[{j}]"), p))
                .collect::<Result<_, _>>()?;
            rules.cert_identities.push(CertIdentityRule {
                name,
                cert_subject,
                issuers,
            });
        }
        for (i, s) in mv.subjects.iter().enumerate() {
            let name = format!("subjects[{i}]");
            rules
                .subjects
                .push((name.clone(), regex(format!("{MV}.{name}"), s)?));
        }
        for (i, f) in mv.fingerprints.iter().enumerate() {
            rules
                .fingerprints
                .push(fingerprint(format!("fingerprints[{i}]"), f)?);
        }
        let mut groups = RawOidGroups::default();
        let mut oid_field = format!("{MV}.oidMatchers");
        match mv.oid_matchers {
            None | Some(Value::Null) => {}
            Some(v @ Value::Sequence(_)) => {
                groups.oid_extensions = serde_yaml_ng::from_value(v)
                    .map_err(|e| ConfigError::Yaml(format!("{oid_field}: {e}")))?;
            }
            Some(v) => {
                groups = serde_yaml_ng::from_value(v)
                    .map_err(|e| ConfigError::Yaml(format!("{oid_field}: {e}")))?;
                oid_field.push_str(".oidExtensions");
            }
        }
        for (i, ext) in groups.oid_extensions.into_iter().enumerate() {
            let field = format!("{oid_field}[{i}]");
            let dotted = ext
                .object_identifier
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(".");
            rules.oid_matchers.push(oid_rule(
                format!("oidMatchers[{i}]"),
                &field,
                &dotted,
                ext.extension_values,
            )?);
        }
        for (where_, fulcio) in [
            (
                format!("{MV}.oidMatchers.fulcioExtensions"),
                groups.fulcio_extensions,
            ),
            (format!("{MV}.fulcioExtensions"), mv.fulcio_extensions),
        ] {
            for (name, vals) in fulcio.into_iter().flatten() {
                let field = format!("{where_}.{name}");
                let Some((_, arcs)) = FULCIO_EXTENSIONS.iter().find(|(n, _)| *n == name) else {
                    return Err(ConfigError::UnknownFulcioExtension {
                        field: where_,
                        name,
                        known: FULCIO_EXTENSIONS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                };
                if vals.is_empty() {
                    continue; // rekor-monitor renders no matcher for an empty list
                }
                for arc in *arcs {
                    let dotted = format!("1.3.6.1.4.1.57264.1.{arc}");
                    let rule = oid_rule(format!("fulcioExtensions.{name}"), &field, &dotted, vals.clone())?;
                    rules.oid_matchers.push(rule);
                }
            }
        }
        for (where_, custom) in [
            (
                format!("{MV}.oidMatchers.customExtensions"),
                groups.custom_extensions,
            ),
            (format!("{MV}.customExtensions"), mv.custom_extensions),
        ] {
            for (i, ext) in custom.into_iter().enumerate() {
                let field = format!("{where_}[{i}]");
                let name = format!("customExtensions[{i}]");
                let rule = oid_rule(name, &field, &ext.object_identifier, ext.extension_values)?;
                rules.oid_matchers.push(rule);
            }
        }
        Ok(rules)
    }
}

#[cfg(test)]
mod tests;
