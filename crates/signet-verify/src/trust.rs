//! Trust material as the verifier consumes it: the certificate authorities, timestamp
//! authorities, transparency logs and CT logs to trust, each parsed once.
//!
//! [`TrustedMaterial`] is a trait (as sigstore-go's `root.TrustedMaterial`), so a
//! `trusted_root.json`, a TUF cache or a test fixture all plug in. It is implemented for
//! [`TrustedRoot`] directly (parsing on every call: convenient, slow) and for
//! [`PreparedTrust`], which parses once and lends; a verifier handling many bundles builds a
//! `PreparedTrust` and reuses it.
//!
//! Entries that cannot be used (a key signet cannot parse, such as a raw PKCS#1 RSA CT key, or
//! an empty chain) are left out here rather than failing the whole root: they can verify
//! nothing, and the rest of the root stays usable.
//!
//! # When an authority is trusted: `validFor`
//!
//! protobuf-specs (`sigstore_trustroot.proto`) gives every authority an optional `valid_for`
//! (`PublicKey.valid_for` is `optional TimeRange`; `CertificateAuthority.valid_for` carries no
//! requirement) and a `TimeRange` whose `start` is required and `end` optional
//! (`sigstore_common.proto`). Where it is absent, each kind is read as sigstore-go reads it
//! (`pkg/root/trusted_root.go`):
//!
//! | authority | no `validFor` | `validFor` without `start` |
//! |---|---|---|
//! | transparency log (Rekor) | trusted at no time (`ParseTransparencyLogs`: "tlog missing public key validity period") | trusted at no time (the same: "… validity period start time") |
//! | CT log | left out (`ParseTransparencyLogs` parses `ctlogs` too) | left out |
//! | certificate authority | trusted at any time (`ParseCertificateAuthority`: no bounds) | trusted at no time |
//! | timestamp authority | trusted at any time (`ParseTimestampingAuthority`: no bounds) | trusted at no time |
//!
//! A `validFor` without a start is refused for every kind, more strictly than sigstore-go's
//! certificate and timestamp authorities (which treat the missing start as unbounded): the
//! spec requires the start, and sigstore-conformance's
//! `trust-root-tlog-missing-validity-start_fail` expects the refusal. A certificate or
//! timestamp authority without `validFor` arrives from signet-formats as
//! [`TimeRange::unbounded`]; a log key without one, as a range with no start.
//!
//! # Chain order
//!
//! The certificates of an authority's `certChain` may be listed in any order that forms one
//! chain: protobuf-specs requires the trust anchor to be the chain's last certificate, but an
//! `X509CertificateChain` otherwise has "no guaranteed order", and trusted roots listing the
//! root first exist. They are put leaf-to-root here, each certificate issued (by name) by the
//! next; the signatures are checked on first use, as before. Certificates that form no one
//! chain make the authority unusable, with an error naming it.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use signet_crypto::{PublicKey, PublicKeyDetails};
use signet_formats::common::{TimeRange, X509CertificateChain};
use signet_formats::trust::{CertificateAuthority as RootAuthority, TrustedRoot};
use signet_tlog::{NoteVerifier, WitnessPolicy};
use signet_x509::sct::CtLogKey;
use signet_x509::{CertificateRole, ParsedCertificate, TsaTrust};

/// The trust material a verification consults.
pub trait TrustedMaterial {
    /// Certificate authorities that issue signing certificates (Fulcio).
    fn certificate_authorities(&self) -> Cow<'_, [CertificateAuthority]>;
    /// RFC 3161 timestamp authorities.
    fn timestamp_authorities(&self) -> Cow<'_, [TsaTrust]>;
    /// Transparency logs (Rekor v1 and v2).
    fn transparency_logs(&self) -> Cow<'_, [TransparencyLog]>;
    /// Certificate transparency logs, for embedded SCTs.
    fn ct_logs(&self) -> Cow<'_, [CtLogKey]>;
    /// The witnesses whose cosignatures a checkpoint must carry, when the caller asks for
    /// witnessed checkpoints (`--witness-policy`); none by default, as Sigstore clients do.
    fn witness_policy(&self) -> Option<&WitnessPolicy> {
        None
    }
}

/// A certificate authority: its chain from the issuing certificate up to the root.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    /// The authority for messages: its `uri` and `organization/commonName` from the trusted
    /// root (`https://fulcio.sigstore.dev (sigstore.dev/sigstore)`).
    pub name: String,
    /// `certChain` leaf-to-root: the certificate that issues leaves first, the root last, in
    /// whatever order the trusted root listed them (see the module documentation). A leaf may
    /// be issued by any of them (Go's `Verify` with the chain as intermediates and root accepts
    /// that too); the path then runs from its issuer to the root.
    pub chain: Vec<ParsedCertificate>,
    /// The trusted root's `validFor`: leaves are accepted only for signing times inside it
    /// ([`TimeRange::unbounded`] when the root gives none).
    pub valid_for: TimeRange,
    /// Each chain certificate's key, parsed once, in chain order (`Err` says why that
    /// certificate cannot verify anything).
    pub keys: Vec<Result<PublicKey, String>>,
    /// Each chain certificate's DER SubjectPublicKeyInfo, in chain order: an SCT names the
    /// leaf's issuer by the hash of this (RFC 6962 §3.2 `issuer_key_hash`).
    pub spkis: Vec<Vec<u8>>,
    /// Whether the chain itself verifies (each certificate a CA issued by the next, extensions
    /// as Go's parser and `Verify` accept them; the root is the trust anchor): checked once, on
    /// first use, since a root lists authorities that most runs never meet and each check is
    /// a signature verification (185 µs for P-384).
    chain_check: OnceLock<Option<String>>,
}

impl CertificateAuthority {
    /// An authority from its chain, in any order that forms one chain (put leaf-to-root here);
    /// `None` for an empty chain. Certificates that form no one chain are kept as listed, and
    /// [`CertificateAuthority::chain_error`] says why the authority cannot be used.
    pub fn new(name: String, chain: Vec<ParsedCertificate>, valid_for: TimeRange) -> Option<Self> {
        if chain.is_empty() {
            return None;
        }
        let (chain, chain_check) = match chain_order(&chain) {
            Ok(order) => (reorder(chain, &order), OnceLock::new()),
            Err(e) => (chain, OnceLock::from(Some(e))),
        };
        let spkis = chain
            .iter()
            .map(|c| der::Encode::to_der(&c.cert.tbs_certificate.subject_public_key_info).unwrap_or_default())
            .collect();
        let keys = chain.iter().map(ParsedCertificate::public_key).collect();
        Some(CertificateAuthority {
            name,
            keys,
            spkis,
            chain,
            valid_for,
            chain_check,
        })
    }

    /// Why the chain itself does not verify, if it does not (computed once).
    pub fn chain_error(&self) -> Option<&str> {
        self.chain_check
            .get_or_init(|| check_ca_chain(&self.chain).err())
            .as_deref()
    }
}

/// A transparency log (Rekor) and the key its checkpoints and SETs verify with.
#[derive(Debug, Clone)]
pub struct TransparencyLog {
    pub base_url: String,
    /// The base URL without its scheme (`rekor.sigstore.dev`, `127.0.0.1:3000/rekor`).
    pub origin: String,
    /// `logId.keyId`, as bundles name the log.
    pub log_id: Vec<u8>,
    pub key: PublicKey,
    pub key_details: PublicKeyDetails,
    /// The key's `validFor`; with no start (none in the trusted root, or one without a
    /// start), the log is trusted at no time.
    pub valid_for: TimeRange,
    /// The signed-note verifiers of the log's C2SP (Rekor v2) checkpoints, one per name the
    /// checkpoint origin may have: the base URL's host name, as sigstore-go requires
    /// (`url.Hostname()`: `log2025-1.rekor.sigstore.dev`, `127.0.0.1`), then, if it differs,
    /// the whole base URL without its scheme, which earlier signet servers named their logs
    /// by. Empty for keys signed notes cannot use (e.g. RSA).
    pub note_verifiers: Vec<NoteVerifier>,
}

impl TransparencyLog {
    /// A log at `base_url` with `key`, as a trusted root describes it.
    pub fn new(
        base_url: &str,
        log_id: Vec<u8>,
        key: PublicKey,
        key_details: PublicKeyDetails,
        valid_for: TimeRange,
    ) -> Self {
        let origin = origin_from_base_url(base_url).to_string();
        let mut names = vec![host_name(base_url)];
        if names[0] != origin {
            names.push(origin.clone());
        }
        let note_verifiers = names
            .iter()
            .filter_map(|name| NoteVerifier::new(name, key.clone()).ok())
            .collect();
        TransparencyLog {
            base_url: base_url.to_string(),
            origin,
            log_id,
            key,
            key_details,
            valid_for,
            note_verifiers,
        }
    }
}

/// Trust material parsed once, for verifying many bundles.
#[derive(Debug, Clone, Default)]
pub struct PreparedTrust {
    pub certificate_authorities: Vec<CertificateAuthority>,
    pub timestamp_authorities: Vec<TsaTrust>,
    pub transparency_logs: Vec<TransparencyLog>,
    pub ct_logs: Vec<CtLogKey>,
    /// See [`TrustedMaterial::witness_policy`].
    pub witness_policy: Option<Arc<WitnessPolicy>>,
}

impl PreparedTrust {
    /// Parses a trusted root.
    pub fn from_trusted_root(root: &TrustedRoot) -> Self {
        PreparedTrust {
            certificate_authorities: certificate_authorities(root),
            timestamp_authorities: timestamp_authorities(root),
            transparency_logs: transparency_logs(root),
            ct_logs: ct_logs(root),
            witness_policy: None,
        }
    }

    /// The same trust, requiring checkpoints cosigned as `policy` says.
    pub fn with_witness_policy(mut self, policy: Option<Arc<WitnessPolicy>>) -> Self {
        self.witness_policy = policy;
        self
    }

    /// Copies any trust material into prepared form.
    pub fn new(material: &impl TrustedMaterial) -> Self {
        PreparedTrust {
            certificate_authorities: material.certificate_authorities().into_owned(),
            timestamp_authorities: material.timestamp_authorities().into_owned(),
            transparency_logs: material.transparency_logs().into_owned(),
            ct_logs: material.ct_logs().into_owned(),
            witness_policy: material.witness_policy().cloned().map(Arc::new),
        }
    }
}

impl From<&TrustedRoot> for PreparedTrust {
    fn from(root: &TrustedRoot) -> Self {
        Self::from_trusted_root(root)
    }
}

impl TrustedMaterial for PreparedTrust {
    fn certificate_authorities(&self) -> Cow<'_, [CertificateAuthority]> {
        Cow::Borrowed(&self.certificate_authorities)
    }
    fn timestamp_authorities(&self) -> Cow<'_, [TsaTrust]> {
        Cow::Borrowed(&self.timestamp_authorities)
    }
    fn transparency_logs(&self) -> Cow<'_, [TransparencyLog]> {
        Cow::Borrowed(&self.transparency_logs)
    }
    fn ct_logs(&self) -> Cow<'_, [CtLogKey]> {
        Cow::Borrowed(&self.ct_logs)
    }
    fn witness_policy(&self) -> Option<&WitnessPolicy> {
        self.witness_policy.as_deref()
    }
}

impl TrustedMaterial for TrustedRoot {
    fn certificate_authorities(&self) -> Cow<'_, [CertificateAuthority]> {
        Cow::Owned(certificate_authorities(self))
    }
    fn timestamp_authorities(&self) -> Cow<'_, [TsaTrust]> {
        Cow::Owned(timestamp_authorities(self))
    }
    fn transparency_logs(&self) -> Cow<'_, [TransparencyLog]> {
        Cow::Owned(transparency_logs(self))
    }
    fn ct_logs(&self) -> Cow<'_, [CtLogKey]> {
        Cow::Owned(ct_logs(self))
    }
}

fn certificate_authorities(root: &TrustedRoot) -> Vec<CertificateAuthority> {
    root.certificate_authorities
        .iter()
        .filter_map(|ca| {
            let chain = parse_chain(ca).ok()?;
            CertificateAuthority::new(authority_name(ca), chain, ca.valid_for.clone())
        })
        .collect()
}

fn parse_chain(ca: &RootAuthority) -> Result<Vec<ParsedCertificate>, String> {
    ca.cert_chain
        .certificates
        .iter()
        .map(|c| ParsedCertificate::from_der(&c.raw_bytes).map_err(|e| e.to_string()))
        .collect()
}

/// A certificate or timestamp authority as messages name it: its URI, then
/// `organization/commonName` (the subject alone when it has no URI).
fn authority_name(ca: &RootAuthority) -> String {
    let subject = format!("{}/{}", ca.subject.organization, ca.subject.common_name);
    match ca.uri.as_deref().filter(|u| !u.is_empty()) {
        Some(uri) => format!("{uri} ({subject})"),
        None => subject,
    }
}

/// The order in which `certs` form one chain leaf-to-root, each certificate's issuer name the
/// next one's subject: as listed if they do (this also keeps a re-keyed CA, two certificates of
/// one name, in its listed order), else reversed (a root-first listing), else found link by
/// link from the one certificate that issues none of the others. Names only: the signatures
/// along the order are checked on first use ([`CertificateAuthority::chain_error`]).
fn chain_order(certs: &[ParsedCertificate]) -> Result<Vec<usize>, String> {
    let n = certs.len();
    let issued_by =
        |a: usize, b: usize| certs[a].cert.tbs_certificate.issuer == certs[b].cert.tbs_certificate.subject;
    let links = |order: &[usize]| order.windows(2).all(|w| issued_by(w[0], w[1]));
    let listed: Vec<usize> = (0..n).collect();
    if links(&listed) {
        return Ok(listed);
    }
    let reversed: Vec<usize> = (0..n).rev().collect();
    if links(&reversed) {
        return Ok(reversed);
    }
    let broken = || {
        format!(
            "its certificates ({}) do not form one chain, each issued by the next",
            certs.iter().map(|c| c.subject()).collect::<Vec<_>>().join("; ")
        )
    };
    let bottoms: Vec<usize> = (0..n)
        .filter(|&b| !(0..n).any(|a| a != b && issued_by(a, b)))
        .collect();
    let [bottom] = bottoms[..] else {
        return Err(broken());
    };
    let mut order = vec![bottom];
    while order.len() < n {
        let last = order[order.len() - 1];
        let next: Vec<usize> = (0..n)
            .filter(|c| !order.contains(c) && issued_by(last, *c))
            .collect();
        let [next] = next[..] else {
            return Err(broken());
        };
        order.push(next);
    }
    Ok(order)
}

/// `items` in `order` (a permutation of their positions, as [`chain_order`] returns).
fn reorder<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut ranked: Vec<(usize, T)> = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (order.iter().position(|&o| o == i).unwrap_or(usize::MAX), item))
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, item)| item).collect()
}

/// Each certificate is a CA issued by the next, and its extensions are ones Go's parser and
/// `Verify` accept on a CA (no duplicate, BasicConstraints, keyUsage and extKeyUsage that
/// decode, no critical extension left unprocessed: RFC 5280 §4.2). Go checks only the
/// certificates on the path it builds; the whole chain is checked here, as trust material
/// that lists a certificate no verifier accepts is broken as a whole.
///
/// The last certificate is the trust anchor: trusted because the trusted root lists it, so its
/// own (self-)signature is not checked. RFC 5280 §6.1.1 (d) takes a trust anchor as given, and
/// Go's `Verify` (so sigstore-go) never verifies a root's signature; checking it would refuse
/// roots they accept, and cost a P-384 verification (a sixth of `verify-bundle`'s CPU) on every
/// run.
fn check_ca_chain(chain: &[ParsedCertificate]) -> Result<(), String> {
    for (i, cert) in chain.iter().enumerate() {
        cert.check_extensions(CertificateRole::Authority)
            .map_err(|e| format!("{}: {e}", cert.subject()))?;
        if !cert.is_ca().map_err(|e| format!("{}: {e}", cert.subject()))? {
            return Err(format!("{} is not a CA (BasicConstraints cA)", cert.subject()));
        }
        if let Some(issuer) = chain.get(i + 1) {
            cert.verify_issued_by(issuer)
                .map_err(|e| format!("{}: {e}", cert.subject()))?;
        }
    }
    Ok(())
}

/// The timestamp authorities, each chain put leaf-to-root first (as a certificate
/// authority's is) and named by URI and subject.
fn timestamp_authorities(root: &TrustedRoot) -> Vec<TsaTrust> {
    root.timestamp_authorities
        .iter()
        .filter_map(|ca| {
            let ordered = parse_chain(ca)
                .and_then(|chain| chain_order(&chain))
                .ok()
                .filter(|order| order.iter().enumerate().any(|(i, &at)| i != at))
                .map(|order| RootAuthority {
                    cert_chain: X509CertificateChain {
                        certificates: reorder(ca.cert_chain.certificates.clone(), &order),
                    },
                    ..ca.clone()
                });
            let mut tsa = TsaTrust::from_authority(ordered.as_ref().unwrap_or(ca)).ok()?;
            tsa.name = authority_name(ca);
            Some(tsa)
        })
        .collect()
}

/// A log's base URL without scheme or trailing slash.
pub fn origin_from_base_url(base_url: &str) -> &str {
    let rest = base_url
        .strip_prefix("https://")
        .or_else(|| base_url.strip_prefix("http://"))
        .unwrap_or(base_url);
    rest.trim_end_matches('/')
}

/// The host of a base URL without port, path or user information, as Go's `url.Hostname()`
/// gives it (IPv6 addresses without their brackets): the name sigstore-go requires of a Rekor
/// v2 checkpoint's origin and signature.
pub fn host_name(base_url: &str) -> String {
    let rest = origin_from_base_url(base_url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default().to_string();
    }
    host_port.split(':').next().unwrap_or_default().to_string()
}

fn transparency_logs(root: &TrustedRoot) -> Vec<TransparencyLog> {
    root.tlogs
        .iter()
        .filter_map(|t| {
            let key = PublicKey::from_spki_der(t.public_key.raw_bytes.as_deref()?).ok()?;
            let key_details = t.public_key.details().unwrap_or_else(|| key.default_details());
            Some(TransparencyLog::new(
                &t.base_url,
                t.log_id.key_id.clone(),
                key,
                key_details,
                // No validFor: a range without a start, trusted at no time (sigstore-go's
                // ParseTransparencyLogs refuses such a log; see the module documentation).
                t.public_key.valid_for.clone().unwrap_or_default(),
            ))
        })
        .collect()
}

fn ct_logs(root: &TrustedRoot) -> Vec<CtLogKey> {
    root.ctlogs
        .iter()
        .filter_map(|t| {
            let key = PublicKey::from_spki_der(t.public_key.raw_bytes.as_deref()?).ok()?;
            // The SCT's log_id must equal the trusted root's logId exactly (sigstore-js).
            let log_id: [u8; 32] = t.log_id.key_id.as_slice().try_into().ok()?;
            // A CT key without validFor, or without its start, is left out: sigstore-go parses
            // CT logs with ParseTransparencyLogs, which refuses both (module documentation).
            let range = t.public_key.valid_for.as_ref()?;
            let valid_from = Some(range.start.as_ref()?.unix_seconds());
            Some(CtLogKey {
                log_id,
                key,
                valid_from,
                valid_until: range.end.as_ref().map(|e| e.unix_seconds()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cas::{intermediate, parse_chain, root};

    const T0: i64 = 1_767_225_600;

    #[test]
    fn chains_are_put_leaf_to_root_from_any_order() {
        let r = root("root", T0, T0 + 86_400);
        let upper = intermediate(&r, "upper", T0, T0 + 86_400);
        let lower = intermediate(&upper, "lower", T0, T0 + 86_400);
        let (l, u, r) = (&lower.der[..], &upper.der[..], &r.der[..]);
        for (listed, order) in [
            (vec![l, u, r], vec![0, 1, 2]),
            (vec![r, u, l], vec![2, 1, 0]),
            (vec![u, r, l], vec![2, 0, 1]),
            (vec![r, l, u], vec![1, 2, 0]),
        ] {
            assert_eq!(chain_order(&parse_chain(&listed)), Ok(order));
        }
        let stranger = root("stranger", T0, T0 + 86_400);
        for listed in [vec![l, r], vec![l, u, &stranger.der[..]], vec![u, l, l]] {
            let e = chain_order(&parse_chain(&listed)).unwrap_err();
            assert!(e.contains("do not form one chain"), "{e}");
        }
        let ca =
            CertificateAuthority::new("ca".into(), parse_chain(&[r, l, u]), TimeRange::unbounded()).unwrap();
        let subjects: Vec<String> = ca.chain.iter().map(|c| c.subject()).collect();
        assert_eq!(
            subjects,
            [
                "CN=lower,O=signet.test",
                "CN=upper,O=signet.test",
                "CN=root,O=signet.test"
            ]
        );
        assert_eq!(ca.chain_error(), None);
        assert_eq!(ca.spkis[0], lower.spki());
    }

    #[test]
    fn host_names_as_go_gives_them() {
        for (url, host) in [
            ("https://rekor.sigstore.dev", "rekor.sigstore.dev"),
            (
                "https://log2025-1.rekor.sigstore.dev/",
                "log2025-1.rekor.sigstore.dev",
            ),
            ("http://127.0.0.1:3000/rekor", "127.0.0.1"),
            ("http://user:pw@example.com:8080/a/b?q#f", "example.com"),
            ("http://[::1]:3000/rekor", "::1"),
            ("example.com/log", "example.com"),
        ] {
            assert_eq!(host_name(url), host, "{url}");
        }
    }
}
