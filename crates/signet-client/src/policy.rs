//! `verify-attestation --policy FILE.rego`: Rego policies over verified in-toto statements, as
//! cosign evaluates them, so a policy written for cosign works unchanged with signet.
//!
//! What cosign does (`pkg/cosign/rego/rego.go` `ValidateJSON`, `pkg/policy/attestation.go`
//! `AttestationToPayloadJSON`, `cmd/cosign/cli/verify/verify_attestation.go`, cosign @d6d86c22):
//!
//! - **Input**: the attestation's in-toto statement, decoded from the DSSE payload:
//!   `{"_type", "predicateType", "subject", "predicate"}`, the predicate as the JSON it is
//!   (cosign re-marshals the statement through its Go types, which keeps these four members;
//!   [`policy_input`] keeps the same four and drops anything else at the top level).
//! - **Query**: `data.signature.allow`, which must be exactly `true`. `false`, anything that is
//!   not a boolean, or no value at all (no rule fired and no default) is a denial. cosign's
//!   newer result-object form (`data.sigstore.isCompliant` with `result`/`error`/`warning`) was
//!   only ever a library helper for the policy-controller, never used by `verify-attestation`,
//!   and was removed from cosign in July 2026 (#4936); signet does not read it either.
//! - **Syntax**: Rego v0, as cosign sets it (`rego.SetRegoVersion(ast.RegoV0)`): `allow { … }`
//!   without `if`. A file that says `import rego.v1` is read as v1, as OPA reads it.
//! - **Several `--policy` files** are loaded together as the modules of one program (cosign's
//!   `rego.Load(paths)`) and queried once: two files that both define `allow` add rules to the
//!   same `data.signature.allow`.
//! - **Which attestations must pass**: every verified attestation of the requested type; one
//!   that the policy denies fails the verification (cosign collects the denials and fails with
//!   them), and at least one must have been verified.
//!
//! The interpreter is `regorus` (Microsoft's Rego interpreter in Rust, 0.14): the only
//! maintained one on crates.io, with no I/O of its own and no async runtime, so the client stays
//! blocking and tokio-free (`crates/signet/tests/layering.rs`). It is built without its default
//! features: none of `http`, `opa-runtime`, `jsonschema`, `yaml`, `net`, `uuid`, `glob`,
//! `cache` or the `rvm` compiler, which cosign policies do not use and which would add
//! dependencies. Kept are the builtin groups attestation policies call: `base64` (the old
//! `predicate.Data` strings), `hex`, `regex` and `semver` (versions in an SBOM).
//!
//! Measured on the release `signet` (fat LTO), `signet --version`, interleaved rounds of 200
//! runs under `perf stat` (December 2026, this machine): without regorus 16,489 relative
//! relocations, 38.5 MB, 1.70–1.92 ms wall a round (one noisy round at 4.8); with regorus as
//! built here 17,278, 46.6 MB, 1.71–1.91 ms (start-up within noise, +8 page faults); with its `time` builtins as well (`time.now_ns`, `time.parse_rfc3339_ns`, …),
//! 46,710 relocations and 2.19–2.79 ms, twice the page faults: chrono-tz's time-zone tables,
//! paid at every start of every command. So `time` is left out.
//! A policy that calls `time.*` is refused when it is loaded ("could not find function"),
//! not mis-evaluated.
//!
//! Pure: the policy text and the statement come in as bytes, a decision goes out.

use std::path::Path;

use regorus::{Engine, Value};
use serde_json::Value as Json;

/// The query cosign evaluates.
pub const QUERY: &str = "data.signature.allow";

/// The largest policy file read.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// The statement members a policy sees, as cosign's statement types marshal them.
const INPUT_MEMBERS: &[&str] = &["_type", "predicateType", "subject", "predicate"];

/// Why a policy could not be used, or said no.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read the policy {file}: {message}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
    /// The file is not named as a Rego policy (cosign tells policies by their extension).
    #[error("the policy {file} is not a .rego file{hint}")]
    Format {
        /// The file.
        file: String,
        /// What else it might be.
        hint: &'static str,
    },
    /// The policy is not Rego that compiles.
    #[error("the policy {file} does not compile: {message}")]
    Compile {
        /// The file (or files, when the error is in how they fit together).
        file: String,
        /// The interpreter's message, on one line.
        message: String,
    },
    /// The policy failed while it was evaluated.
    #[error("the policy {file} failed to evaluate: {message}")]
    Evaluation {
        /// The policy file(s).
        file: String,
        /// The interpreter's message, on one line.
        message: String,
    },
    /// The statement is not a JSON object (a verified statement always is).
    #[error("the statement is not a JSON object: {0}")]
    Input(String),
    /// The policy did not allow the statement.
    #[error("the policy {file} denied it: {reason}")]
    Denied {
        /// The policy file(s).
        file: String,
        /// What `data.signature.allow` was: false, undefined, or not a boolean.
        reason: String,
    },
}

/// One or more Rego policy files, loaded together as cosign loads them.
pub struct Policies {
    engine: Engine,
    /// The files, for messages.
    files: String,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies").field("files", &self.files).finish()
    }
}

impl Policies {
    /// Reads (bounded) and compiles the policy files.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Policies, PolicyError> {
        let sources = paths
            .iter()
            .map(|p| {
                let p = p.as_ref();
                let name = p.display().to_string();
                match p.extension().and_then(|e| e.to_str()) {
                    Some("rego") => {}
                    Some("cue") => {
                        return Err(PolicyError::Format {
                            file: name,
                            hint: " (cosign also reads CUE policies; signet reads Rego only)",
                        })
                    }
                    _ => return Err(PolicyError::Format { file: name, hint: "" }),
                }
                let bytes = crate::files::read_limited(p, "policy", MAX_POLICY_BYTES).map_err(|e| {
                    PolicyError::Read {
                        file: name.clone(),
                        message: one_line(&format!("{e:#}")),
                    }
                })?;
                let text = String::from_utf8(bytes).map_err(|_| PolicyError::Read {
                    file: name.clone(),
                    message: "it is not UTF-8 text".to_string(),
                })?;
                Ok((name, text))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Policies::from_sources(&sources)
    }

    /// Compiles policies given as (name, Rego text) pairs.
    ///
    /// Parsing happens as each module is added; what only shows once the modules are put
    /// together (unsafe variables, unknown functions) shows in a first evaluation over an
    /// empty input, so that a policy that cannot work is refused before any registry is asked.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Policies, PolicyError> {
        let mut engine = Engine::new();
        engine.set_rego_v0(true);
        for (name, text) in sources {
            engine
                .add_policy(name.clone(), text.clone())
                .map_err(|e| PolicyError::Compile {
                    file: name.clone(),
                    message: rego_message(&e.to_string()),
                })?;
        }
        let files = sources
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut policies = Policies { engine, files };
        policies.engine.set_input(Value::new_object());
        policies
            .engine
            .eval_query(QUERY.to_string(), false)
            .map_err(|e| PolicyError::Compile {
                file: policies.files.clone(),
                message: rego_message(&e.to_string()),
            })?;
        Ok(policies)
    }

    /// The policy file names, comma-separated.
    pub fn files(&self) -> &str {
        &self.files
    }

    /// Evaluates `data.signature.allow` over `input` (see [`policy_input`]): `Ok` only when it
    /// is exactly `true`.
    pub fn evaluate(&mut self, input: &Json) -> Result<(), PolicyError> {
        let input =
            Value::from_json_str(&input.to_string()).map_err(|e| PolicyError::Input(e.to_string()))?;
        self.engine.set_input(input);
        let results =
            self.engine
                .eval_query(QUERY.to_string(), false)
                .map_err(|e| PolicyError::Evaluation {
                    file: self.files.clone(),
                    message: rego_message(&e.to_string()),
                })?;
        let values: Vec<&Value> = results
            .result
            .iter()
            .flat_map(|r| r.expressions.iter().map(|e| &e.value))
            .collect();
        let reason = match values.as_slice() {
            [Value::Bool(true)] => return Ok(()),
            [] | [Value::Undefined] => {
                format!("{QUERY} is undefined (no rule allowed it and there is no default)")
            }
            [Value::Bool(false)] => format!("{QUERY} is false"),
            [other] => format!("{QUERY} is {}, not true", describe(other)),
            many => format!("{QUERY} has {} values, not one true", many.len()),
        };
        Err(PolicyError::Denied {
            file: self.files.clone(),
            reason,
        })
    }

    /// Evaluates the policy over the statement a DSSE envelope carries (its decoded payload).
    pub fn evaluate_statement(&mut self, statement_json: &[u8]) -> Result<(), PolicyError> {
        let input = policy_input(statement_json)?;
        self.evaluate(&input)
    }
}

/// Applies the policies to every attestation `verify_image_attestations` verified, as cosign
/// does: each must be allowed, or the verification fails naming the image and the denial.
pub fn check_image_attestations(
    verified: &crate::image::VerifiedImage,
    policies: &mut Policies,
) -> anyhow::Result<()> {
    use signet_formats::bundle::BundleContent;
    let mut denials = Vec::new();
    for attestation in &verified.signatures {
        let outcome = match &attestation.bundle.content {
            BundleContent::DsseEnvelope(envelope) => policies.evaluate_statement(&envelope.payload),
            BundleContent::MessageSignature(_) => Err(PolicyError::Input(
                "a message signature carries no statement".to_string(),
            )),
        };
        match outcome {
            Ok(()) => {}
            // A policy that cannot run is the policy's fault, not the attestation's.
            Err(e @ PolicyError::Evaluation { .. }) => {
                anyhow::bail!("{}: {e}", verified.image)
            }
            Err(e) => denials.push(format!("(referrer {}) {e}", attestation.referrer)),
        }
    }
    match denials.first() {
        None => Ok(()),
        Some(first) => anyhow::bail!(
            "{}: the policy denied {} of the {} verified attestation(s); the first {first}",
            verified.image,
            denials.len(),
            verified.signatures.len()
        ),
    }
}

/// The policy's input for a statement: its `_type`, `predicateType`, `subject` and `predicate`,
/// as cosign hands them to its policy engines.
pub fn policy_input(statement_json: &[u8]) -> Result<Json, PolicyError> {
    let value: Json =
        serde_json::from_slice(statement_json).map_err(|e| PolicyError::Input(e.to_string()))?;
    let Json::Object(mut members) = value else {
        return Err(PolicyError::Input("it is not an object".to_string()));
    };
    members.retain(|k, _| INPUT_MEMBERS.contains(&k.as_str()));
    Ok(Json::Object(members))
}

/// A value in a message: its JSON, shortened.
fn describe(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| value.to_string());
    let text = one_line(&text);
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// An interpreter's message on one line. regorus points at the source over several lines
/// (`--> file:line:col`, the source line, a caret, `error: what`); that becomes
/// `file:line:col: what`.
fn rego_message(text: &str) -> String {
    let location = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("-->"))
        .map(str::trim);
    let what = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("error:"))
        .map(str::trim);
    match (location, what) {
        (Some(location), Some(what)) => one_line(&format!("{location}: {what}")),
        _ => one_line(text),
    }
}

/// Text on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CycloneDX attestation's statement, as `signet attest --type cyclonedx` signs it.
    const STATEMENT: &str = r#"{
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "registry.example/app", "digest": {"sha256": "aa"}}],
        "predicateType": "https://cyclonedx.org/bom",
        "predicate": {"bomFormat": "CycloneDX", "specVersion": "1.5",
                      "components": [{"name": "left-pad", "version": "1.3.0"}]},
        "extra": "not seen by policies"
    }"#;

    fn policies(text: &str) -> Result<Policies, PolicyError> {
        Policies::from_sources(&[("policy.rego".to_string(), text.to_string())])
    }

    fn evaluate(text: &str) -> Result<(), PolicyError> {
        policies(text)?.evaluate_statement(STATEMENT.as_bytes())
    }

    #[test]
    fn a_cosign_policy_in_rego_v0_allows() {
        // The shape of cosign's own test policy, and a check of a field of the predicate.
        let policy = r#"
            package signature

            allow {
                input.predicateType == "https://cyclonedx.org/bom"
                input.predicate.components[_].name == "left-pad"
            }
        "#;
        evaluate(policy).unwrap();
    }

    #[test]
    fn a_rego_v1_policy_that_says_so_allows() {
        let policy = r#"
            package signature
            import rego.v1

            default allow := false
            allow if input.predicate.bomFormat == "CycloneDX"
        "#;
        evaluate(policy).unwrap();
    }

    #[test]
    fn false_undefined_and_non_boolean_results_deny() {
        let deny = |policy: &str| match evaluate(policy) {
            Err(PolicyError::Denied { file, reason }) => {
                assert_eq!(file, "policy.rego");
                reason
            }
            other => panic!("expected a denial, got {other:?}"),
        };
        assert_eq!(
            deny("package signature\ndefault allow = false\nallow { input.predicate.bomFormat == \"SPDX\" }"),
            "data.signature.allow is false"
        );
        assert!(
            deny("package signature\nallow { input.predicateType == \"https://spdx.dev/Document\" }")
                .contains("undefined"),
        );
        // The rule lives in another package: nothing at data.signature.allow.
        assert!(deny("package other\nallow = true").contains("undefined"));
        // Truthy is not true: cosign's rs.Allowed() wants the boolean.
        assert_eq!(
            deny("package signature\nallow = \"yes\""),
            "data.signature.allow is \"yes\", not true"
        );
        assert_eq!(
            deny("package signature\nallow = {\"ok\": true}"),
            "data.signature.allow is {\"ok\":true}, not true"
        );
    }

    #[test]
    fn a_policy_that_does_not_compile_is_one_line_naming_the_file() {
        let error = policies("package signature\nallow {\n  input.x ==\n").unwrap_err();
        let PolicyError::Compile { file, message } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(file, "policy.rego");
        assert!(!message.is_empty());
        let text = error.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("the policy policy.rego does not compile: "),
            "{text}"
        );

        // Errors that show only once the program is assembled are found at load too.
        for unusable in [
            "package signature\nallow { x }",
            "package signature\nallow { nosuch(1) }",
        ] {
            let error = policies(unusable).unwrap_err();
            assert!(matches!(error, PolicyError::Compile { .. }), "{error:?}");
        }
    }

    #[test]
    fn files_are_read_bounded_and_told_by_their_extension() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("allow.rego");
        std::fs::write(
            &good,
            "package signature\nallow { input.predicate.bomFormat == \"CycloneDX\" }",
        )
        .unwrap();
        let mut loaded = Policies::load(&[&good]).unwrap();
        loaded.evaluate_statement(STATEMENT.as_bytes()).unwrap();

        let cue = dir.path().join("policy.cue");
        std::fs::write(&cue, "predicateType: string").unwrap();
        assert!(matches!(Policies::load(&[&cue]), Err(PolicyError::Format { .. })));
        let missing = dir.path().join("missing.rego");
        let error = Policies::load(&[&good, &missing]).unwrap_err();
        assert!(matches!(error, PolicyError::Read { .. }), "{error:?}");
        assert!(error.to_string().contains("missing.rego"), "{error}");
        let big = dir.path().join("big.rego");
        std::fs::write(&big, vec![b'#'; MAX_POLICY_BYTES as usize + 1]).unwrap();
        assert!(matches!(Policies::load(&[&big]), Err(PolicyError::Read { .. })));
    }

    #[test]
    fn several_files_are_one_program_as_cosign_loads_them() {
        let sources = [
            (
                "a.rego".to_string(),
                "package signature\nallow { input.predicate.bomFormat == \"SPDX\" }".to_string(),
            ),
            (
                "b.rego".to_string(),
                "package signature\nallow { input.predicate.bomFormat == \"CycloneDX\" }".to_string(),
            ),
        ];
        let mut both = Policies::from_sources(&sources).unwrap();
        assert_eq!(both.files(), "a.rego, b.rego");
        both.evaluate_statement(STATEMENT.as_bytes()).unwrap();
        let mut first = Policies::from_sources(&sources[..1]).unwrap();
        assert!(matches!(
            first.evaluate_statement(STATEMENT.as_bytes()),
            Err(PolicyError::Denied { .. })
        ));
    }

    #[test]
    fn the_input_is_the_statement_with_its_four_members() {
        let input = policy_input(STATEMENT.as_bytes()).unwrap();
        let mut keys: Vec<&str> = input.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["_type", "predicate", "predicateType", "subject"]);
        assert_eq!(input["subject"][0]["digest"]["sha256"], "aa");
        assert_eq!(input["predicate"]["components"][0]["version"], "1.3.0");
        // What the policy sees is that, member for member.
        let echo = r#"
            package signature
            allow {
                count(object.keys(input)) == 4
                not input.extra
                input._type == "https://in-toto.io/Statement/v1"
                input.subject[0].name == "registry.example/app"
            }
        "#;
        evaluate(echo).unwrap();
        assert!(matches!(policy_input(b"[1]"), Err(PolicyError::Input(_))));
        assert!(matches!(policy_input(b"{"), Err(PolicyError::Input(_))));
    }

    #[test]
    fn builtins_cosign_policies_use_are_there() {
        // json.unmarshal of the old custom predicate's Data, base64, regex and semver.
        let policy = r#"
            package signature
            allow {
                json.unmarshal("{\"a\": 1}").a == 1
                base64.decode("aGk=") == "hi"
                regex.match("^left-", input.predicate.components[0].name)
                semver.compare(input.predicate.components[0].version, "1.0.0") == 1
            }
        "#;
        evaluate(policy).unwrap();

        // Built without the time builtins (see the module's docs): refused at load, plainly.
        let error = policies("package signature\nallow { time.now_ns() > 0 }").unwrap_err();
        assert!(
            error.to_string().contains("could not find function time.now_ns"),
            "{error}"
        );
    }
}
