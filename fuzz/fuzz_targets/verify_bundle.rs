//! Whole-bundle verification: `signet_verify::verify_json` against a trusted root built at
//! start-up (signet's own stack: Fulcio root and intermediate, CT log, Rekor v2 log, TSA; the
//! builder the verifier's tests and benchmark share, `signet-verify/tests/support/corpus.rs`),
//! with an exact identity policy over a fixed artifact. The first byte chooses:
//!
//! - even: the rest is a bundle as is. It cannot be signed by the start-up keys, so it must be
//!   refused;
//! - odd: the rest is a list of edits (`signet_fuzz::apply_edits`) to a valid bundle made at
//!   start-up, so every check behind the parser runs on near-valid bundles. An edited bundle
//!   that still verifies must report the same signer, signing times and log entries.
//!
//! Either way, the one-shot verifier and a caching `Verifier` must agree.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_formats::trust::TrustedRoot;
use signet_verify::{
    verify_json, Artifact, IdentityPolicy, Policy, PreparedTrust, SignerPolicy, VerifiedBundle, Verifier,
};

#[path = "../../crates/signet-verify/tests/support/corpus.rs"]
mod corpus;

const NOW: i64 = corpus::T0 + 86_400;

struct Fixture {
    trust: PreparedTrust,
    verifier: Verifier,
    bundle: Vec<u8>,
    artifact: Vec<u8>,
    /// What the start-up bundle verifies to, as `summary` writes it.
    expected: String,
}

fn policy(artifact: &[u8]) -> Policy<'_> {
    Policy::new(
        Artifact::Bytes(artifact),
        SignerPolicy::Identity(IdentityPolicy::exact(corpus::IDENTITY, corpus::ISSUER)),
    )
}

/// The authenticated part of a verification result: who signed, when, and where it is logged.
fn summary(v: &VerifiedBundle) -> String {
    format!(
        "{:?} {:?} {:?} {:?}",
        v.signer, v.signing_times, v.log_entries, v.statement
    )
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut c = corpus::build_corpus(1, 5);
        let root = TrustedRoot::from_json(&c.root_json).expect("the start-up trusted root parses");
        let trust = PreparedTrust::from_trusted_root(&root);
        let bundle = c.bundles.remove(0);
        let artifact = c.artifacts.remove(0);
        let verified =
            verify_json(&bundle, &policy(&artifact), &trust, NOW).expect("the start-up bundle verifies");
        Fixture {
            verifier: Verifier::new(PreparedTrust::from_trusted_root(&root)),
            trust,
            expected: summary(&verified),
            bundle,
            artifact,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let edited;
    let input = if mode & 1 == 0 {
        rest
    } else {
        edited = signet_fuzz::apply_edits(&f.bundle, rest);
        &edited
    };
    let policy = policy(&f.artifact);
    let one_shot = verify_json(input, &policy, &f.trust, NOW);
    let cached = f.verifier.verify_json(input, &policy, NOW);
    assert_eq!(
        one_shot.as_ref().map(summary).map_err(|e| e.to_string()),
        cached.as_ref().map(summary).map_err(|e| e.to_string()),
        "the one-shot and the caching verifier disagree"
    );
    match one_shot {
        Ok(v) if mode & 1 == 0 => panic!("a bundle the fuzzer wrote verified: {}", summary(&v)),
        Ok(v) => assert_eq!(
            summary(&v),
            f.expected,
            "an edited bundle verified but says something else"
        ),
        Err(_) => {}
    }
});
