//! A witness policy: which witnesses' cosignatures a checkpoint must carry to be believed, in
//! the tlog-policy syntax Sigsum defined and Tessera's witness gateway reads, with verifier
//! keys in signed-note `vkey` form (type 0x04, Ed25519 `cosignature/v1`):
//!
//! ```text
//! # comments and blank lines are ignored
//! log <vkey> [<url>]                       the logs it applies to (none listed: every log)
//! witness <name> <vkey> [<url>]            a witness, named for this file only
//! group <name> <N|any|all> <member>...     N of the members (witnesses or earlier groups)
//! quorum <name|none>                       what must be satisfied, exactly once
//! ```
//!
//! A checkpoint satisfies the policy when the witnesses whose cosignature over its text
//! verifies satisfy the quorum: a witness by itself, a group when at least N of its members
//! do. Cosignatures from keys the policy does not name are ignored, as are log signatures.
//! Members must be defined before the group that names them, so a policy has no cycles.

use std::collections::{BTreeMap, BTreeSet};

use crate::cosignature::CosignatureVerifier;
use crate::note::Note;

/// Why a policy file does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("witness policy line {line}: {reason}")]
pub struct WitnessPolicyError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// A witness named by the policy.
#[derive(Debug, Clone)]
pub struct PolicyWitness {
    /// The name the policy gives it.
    pub name: String,
    /// Its cosignature key.
    pub verifier: CosignatureVerifier,
    /// Where it takes add-checkpoint requests, if given.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Debug, Clone)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Member>,
}

/// A parsed witness policy.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    logs: Vec<String>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    /// `None`: `quorum none`.
    quorum: Option<Member>,
}

/// What a checkpoint's cosignatures established against a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessCheck {
    /// The policy names of the witnesses whose cosignature verified.
    pub cosigned_by: Vec<String>,
    /// Whether they satisfy the quorum.
    pub satisfied: bool,
}

impl WitnessPolicy {
    /// Parses a policy file's text.
    pub fn parse(text: &str) -> Result<Self, WitnessPolicyError> {
        let mut logs = Vec::new();
        let mut witnesses: Vec<PolicyWitness> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut names: BTreeMap<String, Member> = BTreeMap::new();
        let mut quorum: Option<Option<Member>> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |reason: String| WitnessPolicyError { line, reason };
            let content = raw.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            let words: Vec<&str> = content.split_whitespace().collect();
            let define = |names: &BTreeMap<String, Member>, name: &str| -> Result<(), WitnessPolicyError> {
                if name == "none" {
                    return Err(err("`none` is reserved".into()));
                }
                if names.contains_key(name) {
                    return Err(err(format!("{name:?} is defined twice")));
                }
                Ok(())
            };
            match words.as_slice() {
                ["log", vkey, rest @ ..] if rest.len() <= 1 => {
                    crate::vkey::VerifierKey::parse(vkey).map_err(|e| err(format!("log key: {e}")))?;
                    logs.push(vkey.to_string());
                }
                ["witness", name, vkey, rest @ ..] if rest.len() <= 1 => {
                    define(&names, name)?;
                    let verifier =
                        CosignatureVerifier::from_vkey(vkey).map_err(|e| err(format!("witness {name}: {e}")))?;
                    names.insert(name.to_string(), Member::Witness(witnesses.len()));
                    witnesses.push(PolicyWitness {
                        name: name.to_string(),
                        verifier,
                        url: rest.first().map(|u| u.to_string()),
                    });
                }
                ["group", name, threshold, members @ ..] if !members.is_empty() => {
                    define(&names, name)?;
                    let mut resolved = Vec::with_capacity(members.len());
                    let mut seen = BTreeSet::new();
                    for m in members.iter() {
                        let member = names
                            .get(*m)
                            .ok_or_else(|| err(format!("group {name}: {m:?} is not defined above")))?;
                        if !seen.insert(*m) {
                            return Err(err(format!("group {name} names {m:?} twice")));
                        }
                        resolved.push(member.clone());
                    }
                    let threshold = match *threshold {
                        "any" => 1,
                        "all" => resolved.len(),
                        n => match n.parse::<usize>() {
                            Ok(n) if (1..=resolved.len()).contains(&n) => n,
                            _ => {
                                return Err(err(format!(
                                    "group {name}: threshold {n:?} must be any, all or 1 to {}",
                                    resolved.len()
                                )))
                            }
                        },
                    };
                    names.insert(name.to_string(), Member::Group(groups.len()));
                    groups.push(Group {
                        name: name.to_string(),
                        threshold,
                        members: resolved,
                    });
                }
                ["quorum", name] => {
                    if quorum.is_some() {
                        return Err(err("a second quorum line".into()));
                    }
                    quorum = Some(if *name == "none" {
                        None
                    } else {
                        Some(
                            names
                                .get(*name)
                                .cloned()
                                .ok_or_else(|| err(format!("quorum {name:?} is not defined above")))?,
                        )
                    });
                }
                [keyword, ..] => {
                    return Err(err(format!(
                        "cannot read {keyword:?} line; expected log <vkey> [url], witness <name> <vkey> [url], group <name> <N|any|all> <members>, or quorum <name|none>"
                    )))
                }
                [] => {}
            }
        }
        let quorum = quorum.ok_or_else(|| WitnessPolicyError {
            line: 0,
            reason: "no quorum line (write `quorum none` to require no cosignature)".into(),
        })?;
        Ok(WitnessPolicy {
            logs,
            witnesses,
            groups,
            quorum,
        })
    }

    /// The witnesses the policy names.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// Whether the policy applies to checkpoints of the log with this verifier key (`vkey`
    /// text): true when the policy lists no log, or lists this one.
    pub fn applies_to_log(&self, vkey: Option<&str>) -> bool {
        self.logs.is_empty() || vkey.is_some_and(|v| self.logs.iter().any(|l| l == v))
    }

    /// Checks the cosignatures of a checkpoint (a signed note whose text is the checkpoint).
    pub fn check(&self, note: &Note) -> WitnessCheck {
        let text = note.text();
        let cosigned: Vec<bool> = self
            .witnesses
            .iter()
            .map(|w| {
                note.signatures()
                    .iter()
                    .filter(|s| w.verifier.is_signer_of(s))
                    .any(|s| w.verifier.verify(text, s).is_ok())
            })
            .collect();
        let mut group_ok = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            // Members come before their group, so their results are known.
            let count = g
                .members
                .iter()
                .filter(|m| match m {
                    Member::Witness(i) => cosigned[*i],
                    Member::Group(j) => group_ok[*j],
                })
                .count();
            group_ok.push(count >= g.threshold);
        }
        let satisfied = match &self.quorum {
            None => true,
            Some(Member::Witness(i)) => cosigned[*i],
            Some(Member::Group(j)) => group_ok[*j],
        };
        WitnessCheck {
            cosigned_by: self
                .witnesses
                .iter()
                .zip(&cosigned)
                .filter(|(_, ok)| **ok)
                .map(|(w, _)| w.name.clone())
                .collect(),
            satisfied,
        }
    }

    /// The quorum in words, for messages.
    pub fn describe_quorum(&self) -> String {
        match &self.quorum {
            None => "none".into(),
            Some(Member::Witness(i)) => format!("witness {}", self.witnesses[*i].name),
            Some(Member::Group(j)) => {
                let g = &self.groups[*j];
                format!("group {} ({} of {})", g.name, g.threshold, g.members.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature::CosignatureSigner;
    use signet_crypto::{KeyKind, SigningKey};

    fn signer(name: &str) -> CosignatureSigner {
        CosignatureSigner::new(name, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap()
    }

    const CHECKPOINT: &str = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    fn note_cosigned_by(signers: &[&CosignatureSigner]) -> Note {
        let mut note = Note::new(CHECKPOINT).unwrap();
        for s in signers {
            note.add_signature(s.cosign(CHECKPOINT, 1_700_000_000).unwrap())
                .unwrap();
        }
        note
    }

    #[test]
    fn groups_and_quorums() {
        let (a, b, c) = (
            signer("w.example/a"),
            signer("w.example/b"),
            signer("w.example/c"),
        );
        let policy = WitnessPolicy::parse(&format!(
            "# two of three\nwitness A {}\nwitness B {} https://b.example\nwitness C {}\ngroup two 2 A B C\nquorum two\n",
            a.verifier().vkey(),
            b.verifier().vkey(),
            c.verifier().vkey()
        ))
        .unwrap();
        assert!(!policy.check(&note_cosigned_by(&[])).satisfied);
        let one = policy.check(&note_cosigned_by(&[&a]));
        assert!(!one.satisfied);
        assert_eq!(one.cosigned_by, ["A"]);
        assert!(policy.check(&note_cosigned_by(&[&a, &c])).satisfied);
        assert_eq!(policy.describe_quorum(), "group two (2 of 3)");

        // A cosignature over another checkpoint, under a policy key's name and ID, counts for
        // nothing.
        let mut forged = note_cosigned_by(&[&a]);
        let other = b
            .cosign(
                "example.com/log\n6\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                1,
            )
            .unwrap();
        forged.add_signature(other).unwrap();
        assert!(!policy.check(&forged).satisfied);

        // Nested groups; all; any.
        let nested = WitnessPolicy::parse(&format!(
            "witness A {}\nwitness B {}\nwitness C {}\ngroup ab all A B\ngroup top any ab C\nquorum top\n",
            a.verifier().vkey(),
            b.verifier().vkey(),
            c.verifier().vkey()
        ))
        .unwrap();
        assert!(nested.check(&note_cosigned_by(&[&c])).satisfied);
        assert!(nested.check(&note_cosigned_by(&[&a, &b])).satisfied);
        assert!(!nested.check(&note_cosigned_by(&[&a])).satisfied);

        let none = WitnessPolicy::parse("quorum none\n").unwrap();
        assert!(none.check(&note_cosigned_by(&[])).satisfied);
    }

    #[test]
    fn bad_policies_name_their_line() {
        let a = signer("w.example/a");
        let vkey = a.verifier().vkey();
        for (text, line) in [
            ("witness A not-a-key\nquorum A\n".to_string(), 1),
            (format!("witness A {vkey}\nwitness A {vkey}\nquorum A\n"), 2),
            (format!("witness A {vkey}\ngroup g 2 A\nquorum g\n"), 2),
            (format!("witness A {vkey}\ngroup g any B\nquorum g\n"), 2),
            (format!("witness A {vkey}\nquorum B\n"), 2),
            (format!("witness A {vkey}\nquorum A\nquorum A\n"), 3),
            (format!("witness none {vkey}\nquorum none\n"), 1),
            ("frobnicate\nquorum none\n".to_string(), 1),
            (format!("witness A {vkey}\n"), 0),
        ] {
            let e = WitnessPolicy::parse(&text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
        }
    }

    #[test]
    fn log_lines_select_logs() {
        let any = WitnessPolicy::parse("quorum none\n").unwrap();
        assert!(any.applies_to_log(None));
        let a = signer("w.example/a");
        let one = WitnessPolicy::parse(&format!("log {}\nquorum none\n", a.verifier().vkey())).unwrap();
        assert!(one.applies_to_log(Some(&a.verifier().vkey())));
        assert!(!one.applies_to_log(Some("other+00000000+AAAA")));
        assert!(!one.applies_to_log(None));
    }
}
