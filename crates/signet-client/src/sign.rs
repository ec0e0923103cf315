//! Signing: a key (an ephemeral one certified by the CA for the token's identity, or the
//! user's own), a signature over the artifact or a DSSE envelope, RFC 3161 timestamps over
//! the signature, an entry in each chosen transparency log, and a v0.3 bundle of it all.
//! The steps follow the Sigstore client specification's signing section.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use signet_crypto::{HashAlgorithm, KeyKind, PublicKey, PublicKeyDetails, SigningKey};
use signet_formats::bundle::{
    Bundle, BundleContent, BundleVersion, MessageSignature, TimestampVerificationData, VerificationMaterial,
    VerificationMaterialContent,
};
use signet_formats::common::{HashOutput, LogId};
use signet_formats::dsse::{self, Envelope};
use signet_formats::rekor_v2::{
    Checkpoint, CreateEntryRequest, DsseRequestV002, HashedRekordRequestV002, InclusionPromise,
    InclusionProof, KindVersion, Signature, TransparencyLogEntry, Verifier, VerifierKey,
};
use signet_formats::trust::Service;
use signet_x509::{PkiStatus, TimestampRequest, TimestampResponse};

use super::http::Http;
use super::services::SigningServices;
use super::token::IdentityToken;

/// What is being signed.
pub enum Payload<'a> {
    /// An artifact, signed as a hashedrekord signs it: over its digest under the signing key's
    /// hash ([`message_hash`]).
    Artifact(Artifact<'a>),
    /// A DSSE envelope's payload (an in-toto statement); the signature is over its PAE.
    Dsse {
        /// The payload type (`application/vnd.in-toto+json` for a statement).
        payload_type: String,
        /// The payload's bytes, signed as given.
        payload: Vec<u8>,
    },
}

/// Where an artifact's bytes are.
pub enum Artifact<'a> {
    /// A file, read in chunks.
    File(&'a Path),
    /// Bytes in memory.
    Bytes(&'a [u8]),
}

impl Artifact<'_> {
    fn digest(&self, algorithm: HashAlgorithm) -> anyhow::Result<Vec<u8>> {
        match self {
            Artifact::File(path) => super::files::digest_file(path, algorithm),
            Artifact::Bytes(bytes) => Ok(algorithm.digest(bytes)),
        }
    }
}

/// The digest a key's message signature is over, and the scheme its log entry names: the
/// key's own (P-256: SHA-256, P-384: SHA-384), and for Ed25519, whose pure form cannot sign a
/// digest, Ed25519ph over SHA-512, the scheme Rekor's hashedrekord entries take for Ed25519.
pub fn message_scheme(key: &PublicKey) -> PublicKeyDetails {
    match key.kind() {
        KeyKind::Ed25519 => PublicKeyDetails::PKIX_ED25519_PH,
        _ => key.default_details(),
    }
}

/// The hash of [`message_scheme`].
pub fn message_hash(key: &PublicKey) -> HashAlgorithm {
    message_scheme(key).hash_algorithm()
}

/// Who signs.
pub enum Credential {
    /// Keyless: an ephemeral key certified by the CA for this token's identity.
    Keyless(IdentityToken),
    /// The user's own key; the bundle carries only a hint naming it.
    Key(UserKey),
}

/// A signing key the client holds: in memory (a key file, an ephemeral key), or in a PKCS#11
/// token (`--key pkcs11:…`, as cosign's `--key` takes), where it never leaves the token.
pub enum UserKey {
    /// A private key in this process's memory.
    Memory(SigningKey),
    /// A private key in a PKCS#11 token; signing is a call into the token.
    Token(Box<signet_pkcs11::Pkcs11Signer>),
}

impl From<SigningKey> for UserKey {
    fn from(key: SigningKey) -> Self {
        UserKey::Memory(key)
    }
}

impl UserKey {
    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        match self {
            UserKey::Memory(k) => k.public_key(),
            UserKey::Token(t) => signet_crypto::Signer::public_key(t.as_ref()),
        }
    }

    /// Signs `message` with the key's default scheme (ECDSA signatures are DER).
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        match self {
            UserKey::Memory(k) => k.sign(message).map_err(Into::into),
            UserKey::Token(t) => signet_crypto::Signer::sign(t.as_ref(), message).map_err(Into::into),
        }
    }

    /// Signs a precomputed digest (a hashedrekord signature; [`message_scheme`]).
    pub fn sign_digest(&self, digest: &[u8]) -> anyhow::Result<Vec<u8>> {
        match self {
            UserKey::Memory(k) => k.sign_digest(digest).map_err(Into::into),
            UserKey::Token(t) => t.sign_digest(digest).map_err(Into::into),
        }
    }
}

/// Runs the whole signing flow and returns the bundle (not yet verified or written).
pub fn sign(
    http: &Http,
    services: &SigningServices,
    credential: Credential,
    payload: Payload,
) -> anyhow::Result<Bundle> {
    Signer::new(http, services, credential)?.sign(http, services, payload)
}

/// What [`sign_keeping_chain`] made.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The bundle (not yet verified or written).
    pub bundle: Bundle,
    /// The CA's certificates above the leaf, DER, as the CA sent them (empty for a key): a
    /// v0.3 bundle leaves them out, cosign's legacy format carries them.
    pub ca_chain: Vec<Vec<u8>>,
    /// The key that signed (the ephemeral one, or the user's).
    pub public_key: PublicKey,
}

/// [`sign`], keeping the CA's chain.
pub fn sign_keeping_chain(
    http: &Http,
    services: &SigningServices,
    credential: Credential,
    payload: Payload,
) -> anyhow::Result<Signed> {
    let signer = Signer::new(http, services, credential)?;
    let bundle = signer.sign(http, services, payload)?;
    Ok(signer.signed(bundle))
}

/// A key ready to sign, with what a bundle says about it: for keyless signing, an ephemeral
/// key and the certificate the CA issued for it, obtained once and used for every payload of
/// one command (as cosign signs every image of `--recursive` with one certificate).
pub struct Signer {
    key: UserKey,
    verifier_key: VerifierKey,
    material: VerificationMaterialContent,
    /// The CA's certificates above the leaf (keyless only).
    ca_chain: Vec<Vec<u8>>,
}

impl Signer {
    /// Generates and certifies the ephemeral key (keyless), or takes the user's key.
    pub fn new(http: &Http, services: &SigningServices, credential: Credential) -> anyhow::Result<Signer> {
        let mut ca_chain = Vec::new();
        let (key, verifier_key, material) = match credential {
            Credential::Keyless(token) => {
                let ca = services
                    .ca
                    .as_ref()
                    .ok_or_else(|| anyhow!("keyless signing needs a certificate authority"))?;
                let key = SigningKey::generate(KeyKind::EcdsaP256)
                    .map_err(|e| anyhow!("generating the ephemeral signing key: {e}"))?;
                let mut chain = request_certificate(http, &ca.url, &token, &key)?;
                let leaf = chain.remove(0);
                ca_chain = chain;
                (
                    UserKey::Memory(key),
                    VerifierKey::X509Certificate(leaf.clone()),
                    VerificationMaterialContent::Certificate(leaf),
                )
            }
            Credential::Key(key) => {
                let spki = key.public_key().spki_der().to_vec();
                let hint = key_hint(key.public_key());
                (
                    key,
                    VerifierKey::PublicKey(spki),
                    VerificationMaterialContent::PublicKey { hint },
                )
            }
        };
        Ok(Signer {
            key,
            verifier_key,
            material,
            ca_chain,
        })
    }

    /// `bundle`, made by this signer, with the CA's chain and the key that signed.
    pub fn signed(&self, bundle: Bundle) -> Signed {
        Signed {
            bundle,
            ca_chain: self.ca_chain.clone(),
            public_key: self.key.public_key().clone(),
        }
    }

    /// Signs `payload`, timestamps the signature and logs it, as `services` say.
    pub fn sign(&self, http: &Http, services: &SigningServices, payload: Payload) -> anyhow::Result<Bundle> {
        let key = &self.key;
        let material = self.material.clone();
        let verifier_key = self.verifier_key.clone();
        let details = match payload {
            Payload::Artifact(_) => message_scheme(key.public_key()),
            Payload::Dsse { .. } => key.public_key().default_details(),
        };
        let verifier = Verifier {
            key: verifier_key,
            key_details: details,
        };

        let content = match payload {
            Payload::Artifact(artifact) => {
                let algorithm = details.hash_algorithm();
                let digest = artifact.digest(algorithm)?;
                let signature = key
                    .sign_digest(&digest)
                    .map_err(|e| anyhow!("signing the artifact: {e}"))?;
                BundleContent::MessageSignature(MessageSignature {
                    message_digest: Some(HashOutput { algorithm, digest }),
                    signature,
                })
            }
            Payload::Dsse {
                payload_type,
                payload,
            } => {
                let sig = key
                    .sign(&dsse::pae(&payload_type, &payload))
                    .map_err(|e| anyhow!("signing the DSSE envelope: {e}"))?;
                BundleContent::DsseEnvelope(Envelope {
                    payload,
                    payload_type,
                    signatures: vec![dsse::Signature {
                        sig,
                        keyid: String::new(),
                    }],
                })
            }
        };

        complete_bundle(http, services, material, &verifier, content)
    }
}

/// Timestamps the signature of `content` at every timestamp authority of `services` while
/// logging it in every log of `services` (both at once: each is a network round trip), and
/// assembles the v0.3 bundle with `material` naming the signer. `verifier` is the key or
/// certificate and scheme the log entries record.
pub fn complete_bundle(
    http: &Http,
    services: &SigningServices,
    material: VerificationMaterialContent,
    verifier: &Verifier,
    content: BundleContent,
) -> anyhow::Result<Bundle> {
    let signature = content
        .signature_bytes()
        .ok_or_else(|| anyhow!("the content to log has no signature"))?
        .to_vec();
    let (rfc3161_timestamps, tlog_entries) = std::thread::scope(|scope| {
        let timestamps = scope.spawn(|| {
            services
                .tsas
                .iter()
                .map(|tsa| timestamp(http, &tsa.url, &signature))
                .collect::<anyhow::Result<Vec<_>>>()
        });
        let entries = services
            .tlogs
            .iter()
            .map(|log| log_entry(http, log, &content, verifier))
            .collect::<anyhow::Result<Vec<_>>>();
        let timestamps = timestamps
            .join()
            .unwrap_or_else(|_| Err(anyhow!("the timestamp request panicked")));
        (timestamps, entries)
    });
    let rfc3161_timestamps = rfc3161_timestamps?;
    let tlog_entries = tlog_entries?;

    Ok(Bundle {
        media_type: BundleVersion::V0_3.media_type().to_string(),
        version: BundleVersion::V0_3,
        verification_material: VerificationMaterial {
            content: material,
            tlog_entries,
            timestamp_verification_data: TimestampVerificationData { rfc3161_timestamps },
        },
        content,
    })
}

/// The unauthenticated hint naming a user's key in a bundle: base64 of SHA-256 of its SPKI.
pub fn key_hint(key: &PublicKey) -> String {
    B64.encode(signet_crypto::sha256(key.spki_der()))
}

/// Fulcio's `POST /api/v2/signingCert` with a public key and a proof of possession (a
/// signature over the token's subject). The URL is joined as an absolute path on the CA URL's
/// origin, as sigstore-python does. Returns the chain as DER, leaf first.
pub fn request_certificate(
    http: &Http,
    ca_url: &str,
    token: &IdentityToken,
    key: &SigningKey,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let url = url::Url::parse(ca_url)
        .and_then(|u| u.join("/api/v2/signingCert"))
        .with_context(|| format!("CA URL {ca_url:?}"))?;
    let proof = key
        .sign(token.subject().as_bytes())
        .map_err(|e| anyhow!("signing the proof of possession: {e}"))?;
    let body = json!({
        "credentials": { "oidcIdentityToken": token.as_str() },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": key.public_key().to_pem() },
            "proofOfPossession": B64.encode(proof),
        }
    });
    let answer = http.post_json(url.as_str(), &body, None)?;
    let chain = parse_certificate_chain(&answer).with_context(|| format!("the answer from {url}"))?;
    let leaf_key = PublicKey::from_certificate_der(&chain[0])
        .map_err(|e| anyhow!("the certificate from {url} does not parse: {e}"))?;
    if leaf_key.spki_der() != key.public_key().spki_der() {
        bail!("the certificate from {url} certifies a different key than the one signet sent");
    }
    Ok(chain)
}

/// The chain of a `SigningCertificate` answer (embedded or detached SCT), PEM → DER.
fn parse_certificate_chain(answer: &Value) -> anyhow::Result<Vec<Vec<u8>>> {
    let certs = ["signedCertificateEmbeddedSct", "signedCertificateDetachedSct"]
        .iter()
        .find_map(|k| answer.get(k))
        .and_then(|v| v.pointer("/chain/certificates"))
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("no signedCertificateEmbeddedSct.chain.certificates"))?;
    let chain = certs
        .iter()
        .map(|c| {
            let text = c
                .as_str()
                .ok_or_else(|| anyhow!("a certificate is not a string"))?;
            let block = pem::parse(text).map_err(|e| anyhow!("a certificate is not PEM: {e}"))?;
            Ok(block.into_contents())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if chain.is_empty() {
        bail!("the certificate chain is empty");
    }
    Ok(chain)
}

/// An RFC 3161 timestamp over `signature` from the TSA at `url` (used exactly as written).
/// Returns the `TimeStampResp` DER as the bundle stores it.
pub fn timestamp(http: &Http, url: &str, signature: &[u8]) -> anyhow::Result<Vec<u8>> {
    let digest = signet_crypto::sha256(signature);
    let mut nonce = [0u8; 8];
    crate::os_random(&mut nonce)?;
    // A positive INTEGER with no leading zero octet, so it round-trips byte for byte.
    nonce[0] = (nonce[0] & 0x7f) | 0x01;
    let mut request = TimestampRequest::new(HashAlgorithm::Sha2_256, digest.to_vec())
        .map_err(|e| anyhow!("building the timestamp request: {e}"))?;
    request.nonce = Some(nonce.to_vec());
    request.cert_req = true;
    let der = request
        .to_der()
        .map_err(|e| anyhow!("encoding the timestamp request: {e}"))?;
    let answer = http.post_bytes(url, "application/timestamp-query", &der)?;
    let response = TimestampResponse::from_der(&answer)
        .map_err(|e| anyhow!("the timestamp from {url} does not parse: {e}"))?;
    let token = match (response.status, response.token) {
        (PkiStatus::Granted | PkiStatus::GrantedWithMods, Some(token)) => token,
        (status, _) => bail!(
            "{url} refused the timestamp request ({status:?}{})",
            response
                .status_text
                .first()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        ),
    };
    if token.tst_info.message_imprint.hashed_message.as_bytes() != digest {
        bail!("the timestamp from {url} is over a different digest than the signature's");
    }
    let their_nonce = token.tst_info.nonce.as_ref().map(|n| strip_zeros(n.as_bytes()));
    if their_nonce != Some(strip_zeros(&nonce)) {
        bail!("the timestamp from {url} does not carry the request's nonce");
    }
    Ok(answer)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Adds the signature to the log `log` and returns its entry.
fn log_entry(
    http: &Http,
    log: &Service,
    content: &BundleContent,
    verifier: &Verifier,
) -> anyhow::Result<TransparencyLogEntry> {
    let base = log.url.trim_end_matches('/');
    match log.major_api_version {
        2 => {
            let url = format!("{base}/api/v2/log/entries");
            let request = match content {
                BundleContent::MessageSignature(m) => {
                    CreateEntryRequest::HashedRekordRequestV002(HashedRekordRequestV002 {
                        digest: m
                            .message_digest
                            .as_ref()
                            .map(|d| d.digest.clone())
                            .unwrap_or_default(),
                        signature: Signature {
                            content: m.signature.clone(),
                            verifier: verifier.clone(),
                        },
                    })
                }
                // sigstore-python, the reference client, logs DSSE on Rekor v2 as a hashedrekord
                // over Hash(PAE) and rejects dsse 0.0.2 entries; sigstore-js v5 accepts both.
                // So envelopes signed with a prehash-capable key are logged as Python does, the
                // PAE hashed with the key's own hash (client spec §4.4); an Ed25519 signature
                // (pure, no prehash) can only be checked by the log as dsse.
                BundleContent::DsseEnvelope(e) => match (e.signatures.first(), verifier.key_details) {
                    (Some(sig), details)
                        if !matches!(
                            details,
                            PublicKeyDetails::PKIX_ED25519 | PublicKeyDetails::PKIX_ED25519_PH
                        ) =>
                    {
                        CreateEntryRequest::HashedRekordRequestV002(HashedRekordRequestV002 {
                            digest: details
                                .hash_algorithm()
                                .digest(&dsse::pae(&e.payload_type, &e.payload)),
                            signature: Signature {
                                content: sig.sig.clone(),
                                verifier: verifier.clone(),
                            },
                        })
                    }
                    _ => CreateEntryRequest::DsseRequestV002(DsseRequestV002 {
                        envelope: e.clone(),
                        verifiers: vec![verifier.clone()],
                    }),
                },
            };
            let body: Value = serde_json::from_slice(&request.to_json())?;
            let answer = http.post_json(&url, &body, None)?;
            TransparencyLogEntry::from_json(answer.to_string().as_bytes())
                .with_context(|| format!("the log entry from {url} does not parse"))
        }
        1 => {
            let url = format!("{base}/api/v1/log/entries");
            let body = rekor_v1_request(content, verifier)?;
            let answer = http.post_json(&url, &body, None)?;
            rekor_v1_entry(&answer).with_context(|| format!("the log entry from {url}"))
        }
        v => bail!("{}: Rekor API version {v} is not supported", log.url),
    }
}

/// A hash algorithm as Rekor v1's hashedrekord names it.
fn rekor_v1_hash_name(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Sha2_256 => "sha256",
        HashAlgorithm::Sha2_384 => "sha384",
        HashAlgorithm::Sha2_512 => "sha512",
    }
}

/// The verifier as Rekor v1 wants it: base64 of PEM (a certificate or a public key), with
/// `\n` line ends as Go's `pem.Encode` writes them (cosign's entries hold exactly that).
fn v1_verifier_pem(verifier: &Verifier) -> anyhow::Result<String> {
    let (label, der) = match &verifier.key {
        VerifierKey::X509Certificate(der) => ("CERTIFICATE", der.clone()),
        VerifierKey::PublicKey(der) => {
            // Refuse what is not a key here rather than have the log refuse it.
            PublicKey::from_spki_der(der).map_err(|e| anyhow!("{e}"))?;
            ("PUBLIC KEY", der.clone())
        }
    };
    let pem_text = pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    Ok(B64.encode(pem_text))
}

/// A Rekor v1 proposed entry: hashedrekord 0.0.1 or dsse 0.0.1.
fn rekor_v1_request(content: &BundleContent, verifier: &Verifier) -> anyhow::Result<Value> {
    let verifier_pem = v1_verifier_pem(verifier)?;
    Ok(match content {
        BundleContent::MessageSignature(m) => {
            let digest = m
                .message_digest
                .as_ref()
                .ok_or_else(|| anyhow!("a message signature without a digest"))?;
            json!({
                "kind": "hashedrekord",
                "apiVersion": "0.0.1",
                "spec": {
                    "signature": {
                        "content": B64.encode(&m.signature),
                        "publicKey": { "content": verifier_pem },
                    },
                    "data": { "hash": { "algorithm": rekor_v1_hash_name(digest.algorithm), "value": hex::encode(&digest.digest) } },
                }
            })
        }
        BundleContent::DsseEnvelope(e) => {
            let envelope = String::from_utf8(serde_json::to_vec(e)?)?;
            json!({
                "kind": "dsse",
                "apiVersion": "0.0.1",
                "spec": { "proposedContent": { "envelope": envelope, "verifiers": [verifier_pem] } }
            })
        }
    })
}

/// A Rekor v1 `LogEntry` answer (`{uuid: {body, integratedTime, logID, logIndex,
/// verification}}`) as a bundle's TransparencyLogEntry.
pub fn rekor_v1_entry(answer: &Value) -> anyhow::Result<TransparencyLogEntry> {
    let entry = answer
        .as_object()
        .and_then(|m| m.values().next())
        .ok_or_else(|| anyhow!("the answer is not a {{uuid: entry}} object"))?;
    let field = |name: &str| entry.get(name).ok_or_else(|| anyhow!("no `{name}`"));
    let str_field = |v: &Value, name: &str| -> anyhow::Result<String> {
        v.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no string `{name}`"))
    };
    let u64_field = |v: &Value, name: &str| -> anyhow::Result<u64> {
        v.get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("no non-negative integer `{name}`"))
    };
    let body = B64
        .decode(str_field(entry, "body")?)
        .context("`body` is not base64")?;
    let body_json: Value = serde_json::from_slice(&body).context("`body` is not JSON")?;
    let kind_version = KindVersion {
        kind: str_field(&body_json, "kind")?,
        version: str_field(&body_json, "apiVersion")?,
    };
    let log_id = hex::decode(str_field(entry, "logID")?).context("`logID` is not hex")?;
    let integrated_time = field("integratedTime")?
        .as_i64()
        .ok_or_else(|| anyhow!("`integratedTime` is not an integer"))?;
    let verification = field("verification")?;
    let set = B64
        .decode(str_field(verification, "signedEntryTimestamp")?)
        .context("`signedEntryTimestamp` is not base64")?;
    let proof = verification
        .get("inclusionProof")
        .ok_or_else(|| anyhow!("no `verification.inclusionProof`"))?;
    let hashes = proof
        .get("hashes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|h| {
                    h.as_str()
                        .and_then(|h| hex::decode(h).ok())
                        .ok_or_else(|| anyhow!("an inclusion proof hash is not hex"))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(TransparencyLogEntry {
        log_index: u64_field(entry, "logIndex")?,
        log_id: LogId { key_id: log_id },
        kind_version,
        integrated_time: Some(integrated_time),
        inclusion_promise: Some(InclusionPromise {
            signed_entry_timestamp: set,
        }),
        inclusion_proof: Some(InclusionProof {
            log_index: u64_field(proof, "logIndex")?,
            root_hash: hex::decode(str_field(proof, "rootHash")?).context("`rootHash` is not hex")?,
            tree_size: u64_field(proof, "treeSize")?,
            hashes,
            checkpoint: Some(Checkpoint {
                envelope: str_field(proof, "checkpoint")?,
            }),
        }),
        canonicalized_body: body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rekor_v1_answer_becomes_an_entry() {
        let body = B64.encode(br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#);
        let answer = json!({ "24296fb2": {
            "body": body, "integratedTime": 1700000000, "logID": "c0d23d6a", "logIndex": 7,
            "verification": {
                "signedEntryTimestamp": "AAEC",
                "inclusionProof": { "logIndex": 7, "rootHash": "00ff", "treeSize": 8,
                    "hashes": ["0102"], "checkpoint": "origin\n8\nAP8=\n\n— x y\n" }
            }
        }});
        let e = rekor_v1_entry(&answer).unwrap();
        assert_eq!(e.log_index, 7);
        assert_eq!(e.log_id.key_id, [0xc0, 0xd2, 0x3d, 0x6a]);
        assert_eq!(e.kind_version.kind, "hashedrekord");
        assert_eq!(e.kind_version.version, "0.0.1");
        assert_eq!(e.integrated_time, Some(1_700_000_000));
        let p = e.inclusion_proof.unwrap();
        assert_eq!((p.tree_size, p.hashes), (8, vec![vec![1, 2]]));
        assert_eq!(e.inclusion_promise.unwrap().signed_entry_timestamp, [0, 1, 2]);
    }

    #[test]
    fn chain_from_embedded_sct_answer() {
        let pem_text = pem::encode(&pem::Pem::new("CERTIFICATE", vec![1, 2, 3]));
        let answer = json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": [pem_text]}}});
        assert_eq!(parse_certificate_chain(&answer).unwrap(), vec![vec![1, 2, 3]]);
        assert!(parse_certificate_chain(&json!({})).is_err());
    }
}
