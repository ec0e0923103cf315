//! Matching an entry's facts against the watch rules, with rekor-monitor's meaning:
//!
//! - `certIdentities`: the SAN matches `certSubject` and, when issuers are given, the OIDC
//!   issuer matches one of them; a certificate without an issuer extension matches no
//!   certificate identity (rekor-monitor `CertMatchesPolicy`).
//! - `fingerprints`: the certificate's or its key's SHA-256, or a bare key's.
//! - `oidMatchers`: the extension is present and its value equals one listed value exactly.
//! - `subjects`: non-certificate subjects (SSH, PGP); Rekor v2 entries carry none, so these
//!   match nothing here yet.

use serde::Serialize;

use crate::config::Rules;
use crate::entry::{EntryFacts, Signer};

/// What kind of rule matched, as rekor-monitor names it (`MatchedIdentityType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MatchKind {
    CertSubject,
    Fingerprint,
    ExtensionValue,
    Subject,
}

/// One rule that matched one signer of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMatch {
    /// The rule, as the config names it (`certIdentities[0]`, `fingerprints[2]`).
    pub rule: String,
    #[serde(rename = "type")]
    pub kind: MatchKind,
    /// The value in the entry that matched.
    pub value: String,
    /// For extension matches, the dotted OID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// The signature (0-based) whose verifier matched.
    pub signature: usize,
}

/// Every rule that matches any signer of `facts`, in rule order per signer.
pub fn match_entry(rules: &Rules, facts: &EntryFacts) -> Vec<RuleMatch> {
    let mut found = Vec::new();
    for (signature, signer) in facts.signers.iter().enumerate() {
        let mut hit = |rule: &str, kind, value: &str, oid: Option<String>| {
            found.push(RuleMatch {
                rule: rule.to_string(),
                kind,
                value: value.to_string(),
                oid,
                signature,
            })
        };
        match signer {
            Signer::Certificate(cert) => {
                if let (Some(san), Some(issuer)) = (&cert.san, &cert.issuer) {
                    for rule in &rules.cert_identities {
                        if rule.cert_subject.matches(san)
                            && (rule.issuers.is_empty() || rule.issuers.iter().any(|m| m.matches(issuer)))
                        {
                            hit(&rule.name, MatchKind::CertSubject, san, None);
                        }
                    }
                }
                for rule in &rules.fingerprints {
                    for fp in [&cert.cert_fingerprint, &cert.key_fingerprint] {
                        if *fp == rule.hex {
                            hit(&rule.name, MatchKind::Fingerprint, fp, None);
                        }
                    }
                }
                for rule in &rules.oid_matchers {
                    for (oid, value) in &cert.extensions {
                        if *oid == rule.oid && rule.values.iter().any(|v| v == value) {
                            hit(
                                &rule.name,
                                MatchKind::ExtensionValue,
                                value,
                                Some(oid.to_string()),
                            );
                        }
                    }
                }
            }
            Signer::PublicKey { key_fingerprint } => {
                for rule in &rules.fingerprints {
                    if *key_fingerprint == rule.hex {
                        hit(&rule.name, MatchKind::Fingerprint, key_fingerprint, None);
                    }
                }
            }
        }
    }
    found
}
