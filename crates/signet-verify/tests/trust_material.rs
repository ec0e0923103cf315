//! The trusted root as verification reads it, on a private instance: when each kind of
//! authority is trusted (its `validFor`, absent or without a start), and in which order an
//! authority's certificate chain may be listed. The rules and their sources are in
//! `src/trust.rs`.

#[path = "support/pki.rs"]
mod pki;

use pki::*;
use serde_json::{json, Value};
use signet_verify::certificate::CertificateError;
use signet_verify::sct::SctCheckError;
use signet_verify::timestamps::TimestampCheckError;
use signet_verify::tlog::TlogError;
use signet_verify::{verify, PreparedTrust, VerificationError, VerifiedSigner};
use signet_x509::profile::CertificateParams;
use signet_x509::TimestampError;

const ARTIFACT: &[u8] = b"release artifact\n";

/// A kind of authority: where its entries are in the trusted root JSON, whether its
/// `validFor` is on the entry (certificate and timestamp authorities) or on its public key
/// (logs), and how a bundle refused on its account fails.
struct Kind {
    list: &'static str,
    on_key: bool,
    refused: fn(&Result<(), VerificationError>) -> bool,
}

const CA: Kind = Kind {
    list: "certificateAuthorities",
    on_key: false,
    refused: |r| {
        matches!(
            r,
            Err(VerificationError::Certificate(
                CertificateError::AuthorityNotValidAt { .. }
            ))
        )
    },
};
const TSA: Kind = Kind {
    list: "timestampAuthorities",
    on_key: false,
    refused: |r| {
        let Err(VerificationError::SigningTime(TimestampCheckError::Rfc3161 { source, .. })) = r else {
            return false;
        };
        let outside = |e: &TimestampError| matches!(e, TimestampError::OutsideAuthorityValidity { .. });
        match source {
            TimestampError::NoAuthorityVerified(errors) => errors.iter().any(outside),
            e => outside(e),
        }
    },
};
const REKOR: Kind = Kind {
    list: "tlogs",
    on_key: true,
    refused: |r| {
        matches!(
            r,
            Err(VerificationError::Tlog {
                source: TlogError::LogKeyNotValid { .. },
                ..
            })
        )
    },
};
const CT: Kind = Kind {
    list: "ctlogs",
    on_key: true,
    refused: |r| matches!(r, Err(VerificationError::Sct(SctCheckError::NoTrustedSct { .. }))),
};

/// The good bundle verified with the `validFor` of the first authority of `kind` set to
/// `valid_for` (`None`: removed).
fn outcome_with(pki: &Pki, kind: &Kind, valid_for: Option<Value>) -> Result<(), VerificationError> {
    let trust = pki.trust_edited(|root| {
        let entry = &mut root[kind.list][0];
        let holder = if kind.on_key {
            &mut entry["publicKey"]
        } else {
            entry
        };
        let holder = holder.as_object_mut().unwrap();
        assert!(holder.contains_key("validFor"), "{}", kind.list);
        match valid_for {
            Some(v) => holder.insert("validFor".into(), v),
            None => holder.remove("validFor"),
        };
    });
    outcome(pki, &trust)
}

fn assert_refused(pki: &Pki, kind: &Kind, valid_for: Option<Value>) {
    let r = outcome_with(pki, kind, valid_for.clone());
    assert!((kind.refused)(&r), "{} {valid_for:?}: {r:?}", kind.list);
}

fn outcome(pki: &Pki, trust: &PreparedTrust) -> Result<(), VerificationError> {
    verify(&good_v2(pki, ARTIFACT), &policy(ARTIFACT), trust, NOW).map(|_| ())
}

#[test]
fn the_instance_verifies_as_it_is() {
    let pki = Pki::new();
    outcome(&pki, &pki.trust()).unwrap();
}

#[test]
fn certificate_and_timestamp_authorities_without_valid_for_are_trusted_at_any_time() {
    // protobuf-specs leaves `validFor` optional; sigstore-go's ParseCertificateAuthority and
    // ParseTimestampingAuthority leave the bounds unset without it, and sigstore-python,
    // sigstore-java and sigstore-js trust such an authority at any time.
    let pki = Pki::new();
    for kind in [&CA, &TSA] {
        outcome_with(&pki, kind, None).unwrap();
        outcome_with(&pki, kind, Some(Value::Null)).unwrap();
    }
    let both = pki.trust_edited(|root| {
        for list in [CA.list, TSA.list] {
            root[list][0].as_object_mut().unwrap().remove("validFor");
        }
    });
    outcome(&pki, &both).unwrap();
}

#[test]
fn logs_without_valid_for_are_not_trusted() {
    // sigstore-go's ParseTransparencyLogs, which reads both tlogs and ctlogs, refuses a log key
    // without a validity period.
    let pki = Pki::new();
    for kind in [&REKOR, &CT] {
        assert_refused(&pki, kind, None);
    }
}

#[test]
fn a_valid_for_without_start_trusts_no_time_whatever_the_authority() {
    // TimeRange.start is required (sigstore_common.proto); sigstore-conformance's
    // trust-root-tlog-missing-validity-start_fail expects the refusal.
    let pki = Pki::new();
    for kind in [&CA, &TSA, &REKOR, &CT] {
        assert_refused(&pki, kind, Some(json!({})));
        assert_refused(&pki, kind, Some(json!({"end": "2099-01-01T00:00:00Z"})));
    }
}

#[test]
fn a_valid_for_with_a_start_bounds_every_kind() {
    // Each kind is held to its range: one that starts after the signing time refuses.
    let pki = Pki::new();
    for kind in [&CA, &TSA, &REKOR, &CT] {
        assert_refused(&pki, kind, Some(json!({"start": "2027-01-01T00:00:00Z"})));
    }
}

/// The first authority of `list` with its `certChain` changed by `change`.
fn with_chain(pki: &Pki, list: &str, change: impl FnOnce(&mut Vec<Value>)) -> PreparedTrust {
    pki.trust_edited(|root| {
        let certificates = root[list][0]["certChain"]["certificates"].as_array_mut().unwrap();
        change(certificates);
    })
}

#[test]
fn a_chain_listed_root_first_verifies_as_leaf_first_does() {
    let pki = Pki::new();
    let ca_reversed = with_chain(&pki, "certificateAuthorities", |c| c.reverse());
    let v = verify(&good_v2(&pki, ARTIFACT), &policy(ARTIFACT), &ca_reversed, NOW).unwrap();
    let VerifiedSigner::Certificate { authority, .. } = v.signer else {
        panic!("a certificate signer")
    };
    assert_eq!(authority, "https://ca.signet.example (signet/signet-ca)");
    // A leaf issued by the root itself still names the root as its SCT issuer.
    let key = p256();
    let by_root = pki.leaf_for(&key, Signed::TIME, true, &[0], |_| {});
    let signed = Signed {
        leaf: by_root,
        digest: signet_crypto::sha256(ARTIFACT).to_vec(),
        signature: key.sign(ARTIFACT).unwrap(),
    };
    let b = signed.bundle(
        vec![pki.v2_entry("hashedrekord", signed.v2_body())],
        vec![signed.token(&pki)],
    );
    verify(&b, &policy(ARTIFACT), &ca_reversed, NOW).unwrap();

    let tsa_reversed = with_chain(&pki, "timestampAuthorities", |c| c.reverse());
    outcome(&pki, &tsa_reversed).unwrap();
    assert_eq!(
        tsa_reversed.timestamp_authorities[0].chain()[0].subject(),
        "CN=signet-tsa,O=signet"
    );
}

#[test]
fn certificates_that_form_no_one_chain_make_the_authority_unusable() {
    let pki = Pki::new();
    let expect_unusable = |trust: &PreparedTrust, why: &str| {
        let e = outcome(&pki, trust).unwrap_err();
        assert!(
            matches!(
                &e,
                VerificationError::Certificate(CertificateError::AuthorityChain { authority, .. })
                    if authority == "https://ca.signet.example (signet/signet-ca)"
            ),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.starts_with(
                "the certificate authority https://ca.signet.example (signet/signet-ca) in the trusted root cannot be used: "
            ) && text.contains(why),
            "{text}"
        );
    };
    // The intermediate listed with a root of another name, which did not issue it.
    let another_root = signet_x509::fulcio_root_certificate(
        &p256(),
        &CertificateParams {
            subject: &dn("another-root"),
            serial: &[9; 16],
            not_before: T0 - 86_400,
            not_after: T0 + 86_400,
        },
    )
    .unwrap();
    for root_first in [false, true] {
        let unrelated = with_chain(&pki, "certificateAuthorities", |c| {
            c[1] = json!({"rawBytes": b64(&another_root)});
            if root_first {
                c.reverse();
            }
        });
        expect_unusable(&unrelated, "do not form one chain");
    }
    // A root of the same name but another key: a chain by name, refused by signature.
    let impostor = Pki::new();
    let same_name = with_chain(&pki, "certificateAuthorities", |c| {
        c[1] = json!({"rawBytes": b64(&impostor.ca_root)});
        c.reverse();
    });
    expect_unusable(&same_name, "CN=signet-ca,O=signet");
}

/// The chain's last certificate is the trust anchor: the trusted root lists it, so its own
/// signature is not checked (RFC 5280 §6.1.1 (d); Go's `Verify`, and so sigstore-go, never
/// checks a root's signature). Every certificate below it is still checked against the next.
#[test]
fn the_root_is_a_trust_anchor_and_the_rest_of_the_chain_is_checked() {
    let pki = Pki::new();
    // Flip a bit of the signature (the last byte of the DER, inside the signature BIT STRING).
    let corrupt = |der: &[u8]| {
        let mut der = der.to_vec();
        *der.last_mut().unwrap() ^= 1;
        json!({"rawBytes": b64(&der)})
    };
    let root_signature_broken = with_chain(&pki, "certificateAuthorities", |c| c[1] = corrupt(&pki.ca_root));
    outcome(&pki, &root_signature_broken).unwrap();

    let intermediate_signature_broken =
        with_chain(&pki, "certificateAuthorities", |c| c[0] = corrupt(&pki.ca_inter));
    let e = outcome(&pki, &intermediate_signature_broken).unwrap_err();
    assert!(
        matches!(&e, VerificationError::Certificate(_)),
        "a broken intermediate signature must be refused: {e:?}"
    );
}
