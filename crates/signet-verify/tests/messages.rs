//! What a user reads when verification fails: the CLI prints the verifier's error after
//! "signet: ", so each main failure must read as a sentence that says, in its first words,
//! what failed — the file, the identity, an authority of the trusted root, a log, the
//! signature, the signing time — with times in RFC 3339, trust material named by URI or base
//! URL, and no debris of the types behind it.

#[path = "support/pki.rs"]
mod pki;

use pki::*;
use serde_json::json;
use signet_crypto::{sha256, HashAlgorithm};
use signet_formats::bundle::Bundle;
use signet_verify::{
    verify, Artifact, IdentityPolicy, Policy, PreparedTrust, SignerPolicy, VerificationError,
};

const ARTIFACT: &[u8] = b"release artifact\n";
const OTHER: &[u8] = b"another file\n";

/// The message of a failed verification, checked for debris: no braces of a Debug struct, no
/// `Some(`, no Rust paths, no enum variant names such as `V0_3` or `SHA2_256`, and no bare
/// 10-digit number (Unix seconds).
fn message(result: Result<signet_verify::VerifiedBundle, VerificationError>) -> String {
    let text = result.expect_err("verification should fail").to_string();
    for debris in ["{", "}", "Some(", "None", "::", "V0_", "SHA2_"] {
        assert!(!text.contains(debris), "{debris:?} in: {text}");
    }
    let epoch = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|word| word.len() == 10 && word.bytes().all(|b| b.is_ascii_digit()));
    assert!(epoch.is_none(), "a Unix time {epoch:?} in: {text}");
    text
}

fn assert_starts(text: &str, words: &str) {
    assert!(
        text.starts_with(words),
        "expected to start with {words:?}:\n{text}"
    );
}

/// The message of `bundle` refused under `policy` and `trust`.
fn refused(bundle: &Bundle, policy: &Policy<'_>, trust: &PreparedTrust) -> String {
    message(verify(bundle, policy, trust, NOW))
}

#[test]
fn a_wrong_file_is_named_as_such() {
    // For a blob signature and for an attestation (which lists its subjects); given as a
    // digest, the artifact is called one.
    let pki = Pki::new();
    let trust = pki.trust();
    let (file, signed) = (hex(&sha256(OTHER)), hex(&sha256(ARTIFACT)));
    for (b, by_file, by_digest) in [
        (
            good_v2(&pki, ARTIFACT),
            format!("the file's SHA-256 {file} does not match the signed digest {signed}"),
            format!("the artifact digest sha256:{file} does not match the signed digest sha256:{signed}"),
        ),
        (
            good_dsse_v2(&pki, ARTIFACT),
            format!(
                "the file's SHA-256 {file} matches no subject of the attestation (subjects: artifact sha256:{signed})"
            ),
            format!(
                "the artifact digest sha256:{file} matches no subject of the attestation (subjects: artifact sha256:{signed})"
            ),
        ),
    ] {
        verify(&b, &policy(ARTIFACT), &trust, NOW).unwrap();
        assert_eq!(refused(&b, &policy(OTHER), &trust), by_file);
        let other = policy_by_digest(HashAlgorithm::Sha2_256, sha256(OTHER).to_vec());
        assert_eq!(refused(&b, &other, &trust), by_digest);
    }
    // A digest under another algorithm than the one signed: which one to give.
    let sha512 = policy_by_digest(HashAlgorithm::Sha2_512, HashAlgorithm::Sha2_512.digest(ARTIFACT));
    let text = refused(&good_v2(&pki, ARTIFACT), &sha512, &trust);
    assert_starts(
        &text,
        &format!(
            "the artifact digest sha512:{} cannot be compared with the bundle, which signed the artifact's SHA-256 digest",
            hex(&HashAlgorithm::Sha2_512.digest(ARTIFACT))
        ),
    );
}

#[test]
fn a_wrong_identity_or_issuer_names_what_the_certificate_says() {
    let pki = Pki::new();
    let b = good_v2(&pki, ARTIFACT);
    let expect = |identity: IdentityPolicy| {
        refused(
            &b,
            &Policy::new(Artifact::Bytes(ARTIFACT), SignerPolicy::Identity(identity)),
            &pki.trust(),
        )
    };
    let text = expect(IdentityPolicy::exact("someone@example.com", ISSUER));
    assert_eq!(
        text,
        format!("the signing certificate's identity is {IDENTITY:?}; expected \"someone@example.com\"")
    );
    let text = expect(IdentityPolicy::exact(IDENTITY, "https://accounts.google.com"));
    assert_eq!(
        text,
        format!(
            "the signing certificate's OIDC issuer is {ISSUER:?}; expected \"https://accounts.google.com\""
        )
    );
    let text = expect(IdentityPolicy {
        subject_alternative_name: signet_verify::Matcher::regex(r"^https://github\.com/other/").unwrap(),
        ..IdentityPolicy::exact(IDENTITY, ISSUER)
    });
    assert!(
        text.ends_with(r#"expected a match for regex "^https://github\.com/other/""#),
        "{text}"
    );
    let text = expect(IdentityPolicy::exact(IDENTITY, ISSUER).with_extension(
        signet_verify::ExtensionField::SourceRepositoryRef,
        signet_verify::Matcher::Exact("refs/heads/main".into()),
    ));
    assert_eq!(
        text,
        "the signing certificate's Source Repository Ref (1.3.6.1.4.1.57264.1.14) extension is absent; expected \"refs/heads/main\""
    );
}

#[test]
fn an_authority_not_trusted_at_the_signing_time_says_when_it_is() {
    let pki = Pki::new();
    let b = good_v2(&pki, ARTIFACT);
    // The CA's trusted-root validity ended before the signature was made.
    let expired = pki.trust_edited(|root| {
        root["certificateAuthorities"][0]["validFor"] =
            json!({"start": "2025-01-01T00:00:00Z", "end": "2025-12-31T00:00:00Z"});
    });
    let text = refused(&b, &policy(ARTIFACT), &expired);
    assert_eq!(
        text,
        "the certificate authority https://ca.signet.example (signet/signet-ca) is not trusted at the \
         signing time 2026-01-01T00:01:41Z: the trusted root trusts it from 2025-01-01T00:00:00Z to \
         2025-12-31T00:00:00Z"
    );
    // Another instance's trusted root: its logs are the first thing it does not hold; then
    // without any CA, then with another instance's CA.
    let text = refused(&b, &policy(ARTIFACT), &Pki::new().trust());
    assert_starts(
        &text,
        "the bundle's log entry is from a transparency log the trusted root does not list",
    );
    let mut no_ca = pki.trust();
    no_ca.certificate_authorities.clear();
    let text = refused(&b, &policy(ARTIFACT), &no_ca);
    assert_eq!(text, "the trusted root lists no certificate authority");
    let other_ca = PreparedTrust {
        certificate_authorities: Pki::new().trust().certificate_authorities,
        ..pki.trust()
    };
    let text = refused(&b, &policy(ARTIFACT), &other_ca);
    assert_starts(
        &text,
        "no certificate authority in the trusted root issued the signing certificate (its issuer is CN=signet-ca,O=signet)",
    );
}

#[test]
fn a_certificate_expired_at_the_signing_time_says_when_it_was_valid() {
    let pki = Pki::new();
    let signed = pki.sign_blob(ARTIFACT);
    // Timestamped after the ten minutes the certificate is valid for.
    let late = pki.token(&signed.signature, Signed::TIME + 3600);
    let b = signed.bundle(vec![pki.v2_entry("hashedrekord", signed.v2_body())], vec![late]);
    let text = refused(&b, &policy(ARTIFACT), &pki.trust());
    assert_eq!(
        text,
        "the signing certificate is not valid at the signing time 2026-01-01T01:01:40Z: it is valid \
         from 2026-01-01T00:01:40Z to 2026-01-01T00:11:40Z"
    );
}

#[test]
fn a_bad_signature_says_so() {
    // Logged as it is (a body written out by hand: a log checks the signature), so that only
    // the signature itself is wrong.
    let pki = Pki::new();
    let (key, leaf) = pki.leaf(Signed::TIME);
    let signed = Signed {
        leaf,
        digest: sha256(ARTIFACT).to_vec(),
        signature: key.sign(OTHER).unwrap(),
    };
    let body = hashedrekord_v2_raw(
        &signed.leaf,
        "SHA2_256",
        "PKIX_ECDSA_P256_SHA_256",
        &signed.digest,
        &signed.signature,
    );
    let b = signed.bundle(vec![pki.v2_entry("hashedrekord", body)], vec![signed.token(&pki)]);
    let text = refused(&b, &policy(ARTIFACT), &pki.trust());
    assert_eq!(
        text,
        "the signature does not verify with the signer's ECDSA P-256 key (ECDSA P-256 with SHA-256)"
    );
}

#[test]
fn a_log_key_not_valid_at_the_signing_time_says_when_it_is() {
    let pki = Pki::new();
    let b = good_v2(&pki, ARTIFACT);
    let late = pki.trust_edited(|root| {
        root["tlogs"][0]["publicKey"]["validFor"] = json!({"start": "2026-02-01T00:00:00Z"});
    });
    let text = refused(&b, &policy(ARTIFACT), &late);
    assert_eq!(
        text,
        "the transparency log https://log.signet.example is not trusted at 2026-01-01T00:01:41Z: the \
         trusted root trusts its key from 2026-02-01T00:00:00Z on"
    );
    let without = pki.trust_edited(|root| {
        root["tlogs"][0]["publicKey"]
            .as_object_mut()
            .unwrap()
            .remove("validFor");
    });
    let text = refused(&b, &policy(ARTIFACT), &without);
    assert!(
        text.ends_with(
            "the trusted root trusts its key at no time (its validFor is missing or has no start)"
        ),
        "{text}"
    );
}

#[test]
fn a_missing_or_untrusted_timestamp_says_what_is_needed() {
    let pki = Pki::new();
    let signed = pki.sign_blob(ARTIFACT);
    let untimed = signed.bundle(vec![pki.v2_entry("hashedrekord", signed.v2_body())], vec![]);
    let text = refused(&untimed, &policy(ARTIFACT), &pki.trust());
    assert_starts(&text, "the bundle has no verified signing time");
    assert!(
        text.contains("RFC 3161 timestamp from a trusted timestamp authority"),
        "{text}"
    );

    // The timestamp authority's trusted-root validity ended before the timestamp.
    let b = good_v2(&pki, ARTIFACT);
    let expired_tsa = pki.trust_edited(|root| {
        root["timestampAuthorities"][0]["validFor"] =
            json!({"start": "2025-01-01T00:00:00Z", "end": "2025-12-31T00:00:00Z"});
    });
    let text = refused(&b, &policy(ARTIFACT), &expired_tsa);
    assert_starts(&text, "the bundle's RFC 3161 timestamp 0 does not verify: ");
    assert!(text.contains("2026-01-01T00:01:41Z"), "{text}");
}

#[test]
fn a_certificate_without_a_trusted_sct_names_the_log_and_time() {
    let pki = Pki::new();
    let b = good_v2(&pki, ARTIFACT);
    let untrusted_ct = pki.trust_edited(|root| {
        root["ctlogs"][0]["publicKey"]["validFor"] = json!({"start": "2026-06-01T00:00:00Z"});
    });
    let text = refused(&b, &policy(ARTIFACT), &untrusted_ct);
    assert_starts(
        &text,
        "the signing certificate has no SCT from a CT log the trusted root trusts at the SCT's time: the SCT from CT log ",
    );
    assert!(
        text.contains("made at 2026-01-01T00:01:40Z is outside the time the trusted root trusts that log for (2026-06-01T00:00:00Z to no end)"),
        "{text}"
    );
}

#[test]
fn material_of_the_wrong_kind_says_how_to_verify() {
    let pki = Pki::new();
    let b: Bundle = good_v2(&pki, ARTIFACT);
    let key_policy = Policy::new(
        Artifact::Bytes(ARTIFACT),
        SignerPolicy::PublicKey(p256().public_key().clone()),
    );
    let text = refused(&b, &key_policy, &pki.trust());
    assert_starts(&text, "the bundle is signed with a certificate, not a public key");
}
