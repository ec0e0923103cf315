#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets into fuzz/corpus/<target>/ (ignored by git).

Seeds come from the Sigstore vectors at run time (never copied into the repository):
$SIGNET_VECTORS, else ../../shared/vectors from this file. Each target gets the pieces of the
vectors its parser reads (bundles, envelopes, trust material, checkpoints, certificates, SCT
lists, RFC 3161 responses), plus a few hand-written seeds. Usage: python3 seed_corpus.py
"""

import base64
import hashlib
import json
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
VECTORS = pathlib.Path(os.environ.get("SIGNET_VECTORS", HERE / "../../shared/vectors")).resolve()
CORPUS = HERE / "corpus"


def seed(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def der_tlv(data, offset):
    """(tag, header length, content length) of the DER element at offset."""
    tag, first = data[offset], data[offset + 1]
    if first < 0x80:
        return tag, 2, first
    n = first & 0x7F
    return tag, 2 + n, int.from_bytes(data[offset + 2 : offset + 2 + n], "big")


def sct_lists(cert):
    """The TLS SCT lists inside a certificate's SCT extension (OID 1.3.6.1.4.1.11129.2.4.2)."""
    oid = bytes.fromhex("060a2b06010401d679020402")
    i = cert.find(oid)
    if i < 0:
        return []
    j = i + len(oid)
    tag, hl, _ = der_tlv(cert, j)  # OCTET STRING extnValue
    tag2, hl2, ln2 = der_tlv(cert, j + hl)  # inner OCTET STRING
    return [cert[j + hl + hl2 : j + hl + hl2 + ln2]]


def main():
    if not VECTORS.is_dir():
        raise SystemExit(f"no vectors at {VECTORS}; set SIGNET_VECTORS")
    for path in sorted(VECTORS.rglob("*.json")):
        raw = path.read_bytes()
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        media = str(doc.get("mediaType", ""))
        if "trustedroot" in media or "signingconfig" in media or "clienttrustconfig" in media:
            seed("trusted_root", raw)
            continue
        if "bundle" not in media:
            continue
        seed("bundle", raw)
        seed("verify_bundle", b"\0" + raw)
        if "dsseEnvelope" in doc:
            seed("dsse_envelope", json.dumps(doc["dsseEnvelope"]))
        material = doc.get("verificationMaterial", {})
        certs = []
        if "certificate" in material:
            certs.append(material["certificate"]["rawBytes"])
        for c in material.get("x509CertificateChain", {}).get("certificates", []):
            certs.append(c["rawBytes"])
        for c in certs:
            der = base64.b64decode(c)
            seed("certificate_identity", der)
            for sl in sct_lists(der):
                seed("sct", sl)
        for entry in material.get("tlogEntries", []):
            body = base64.b64decode(entry.get("canonicalizedBody", ""))
            seed("rekor_v1_proposed", body)
            envelope = entry.get("inclusionProof", {}).get("checkpoint", {}).get("envelope")
            if envelope:
                seed("note", envelope)
                text = envelope[: envelope.rfind("\n\n") + 1]
                seed("checkpoint", text)
                seed("checkpoint", envelope)
        for ts in material.get("timestampVerificationData", {}).get("rfc3161Timestamps", []):
            seed("timestamp_response", b"\0" + base64.b64decode(ts["signedTimestamp"]))

    # Edit mode with no edits: the target's own valid input, verified as is.
    for target in ("timestamp_response", "verify_bundle", "cosign_key"):
        seed(target, b"\1")
    seed("tile_path", "tile/0/x001/x234/067.p/8")
    seed("tile_path", "tile/entries/000")
    seed("entry_bundle", b"\0\3abc\0\0")
    seed("oidc_config", json.dumps({
        "OIDCIssuers": {"https://accounts.example.com": {
            "IssuerURL": "https://accounts.example.com", "ClientID": "sigstore", "Type": "email"}},
        "MetaIssuers": {"https://oidc.eks.*.amazonaws.com/id/*": {
            "ClientID": "sigstore", "Type": "kubernetes"}},
    }))
    seed("jwks", json.dumps({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "EC", "crv": "P-256", "kid": "b",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
    ]}))
    now = 1_767_225_600
    for iss, extra in [
        ("https://accounts.example.com", {"email": "a@example.com", "email_verified": True}),
        ("https://token.actions.githubusercontent.com", {"repository": "o/r", "workflow_ref": "o/r/.github/workflows/w.yml@refs/heads/main", "ref": "refs/heads/main", "sha": "0" * 40, "event_name": "push", "job_workflow_ref": "o/r/.github/workflows/w.yml@refs/heads/main", "run_id": "1", "run_attempt": "1", "repository_id": "1", "repository_owner": "o", "repository_owner_id": "1", "workflow": "w", "runner_environment": "github-hosted", "repository_visibility": "public"}),
        ("https://kubernetes.default.svc", {"kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "sa"}}}),
        ("https://spire.example.org", {}),
    ]:
        claims = {"iss": iss, "sub": "spiffe://example.org/x" if "spire" in iss else "user", "aud": "sigstore",
                  "iat": now - 10, "exp": now + 600, **extra}
        seed("jws", b"\1" + json.dumps(claims).encode())
    # OCI: a cosign 3 bundle referrer, a multi-platform index, a legacy Rekor bundle annotation
    # and a digest (signet-oci; shapes from ../shared/reference/OCI.md).
    empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    manifest_type = "application/vnd.oci.image.manifest.v1+json"
    bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json"
    seed("oci_manifest", json.dumps({
        "schemaVersion": 2, "mediaType": manifest_type, "artifactType": bundle_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": bundle_type, "digest": empty, "size": 2}],
        "subject": {"mediaType": manifest_type, "digest": empty, "size": 2},
        "annotations": {"dev.sigstore.bundle.content": "dsse-envelope"}}))
    seed("oci_manifest", json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": manifest_type, "digest": empty, "size": 2,
                       "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}]}))
    seed("oci_manifest", json.dumps({"SignedEntryTimestamp": "MEUC", "Payload": {
        "body": "e30=", "integratedTime": 1700000000, "logIndex": 7, "logID": "c0ffee"}}))
    seed("oci_manifest", empty)
    seed("oci_manifest", json.dumps({
        "dev.cosignproject.cosign/signature": "MEUCIQ==",
        "dev.sigstore.cosign/bundle": json.dumps({"SignedEntryTimestamp": "MEUC", "Payload": {
            "body": "eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoiaGFzaGVkcmVrb3JkIn0=",
            "integratedTime": 1700000000, "logIndex": 7, "logID": "c0ffee"}}),
        "dev.sigstore.cosign/rfc3161timestamp": json.dumps({"SignedRFC3161Timestamp": "MAA="})}))
    # A legacy attestation layer: the DSSE envelope, NUL, its annotations.
    envelope = json.dumps({"payload": "e30=", "payloadType": "application/vnd.in-toto+json",
                           "signatures": [{"keyid": "", "sig": "MEUCIQ=="}]})
    seed("oci_manifest", envelope.encode() + b"\0" + json.dumps({
        "dev.cosignproject.cosign/signature": "", "predicateType": "https://cyclonedx.org/bom",
        "dev.sigstore.cosign/bundle": json.dumps({"SignedEntryTimestamp": "MEUC", "Payload": {
            "body": "eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoiZHNzZSJ9",
            "integratedTime": 1700000000, "logIndex": 7, "logID": "c0ffee"}})}).encode())
    for reference in ["alpine", "127.0.0.1:5055/team/app:1.0", f"ghcr.io/o/r:t@{empty}", "[::1]:5000/a"]:
        seed("oci_manifest", reference)
    # gitsign: the real commit, its CMS (DER and armored), and the embedded log entry.
    commit = VECTORS / "gitsign/offline.commit"
    if commit.exists():
        raw = commit.read_bytes()
        seed("git_object", raw)
        lines = raw.decode().split("\n")
        start = next(i for i, l in enumerate(lines) if l.startswith("gpgsig "))
        end = next(i for i, l in enumerate(lines) if l.strip() == "-----END SIGNED MESSAGE-----")
        armored = "\n".join([lines[start][len("gpgsig "):]] + [l[1:] for l in lines[start + 1 : end + 1]]) + "\n"
        seed("git_signature", armored)
        der = base64.b64decode("".join(l.strip() for l in armored.splitlines()[1:-1]))
        seed("git_signature", der)
        marker = bytes.fromhex("060a2b0601040183bf30030131")  # OID 1.3.6.1.4.1.57264.3.1, then SET
        at = der.find(marker)
        if at >= 0:
            off = at + len(marker) - 1
            _, hl, _ = der_tlv(der, off)  # the SET
            _, ohl, olen = der_tlv(der, off + hl)  # the OCTET STRING
            seed("git_signature", der[off + hl + ohl : off + hl + ohl + olen])
    monitor_sources_seeds()
    print(f"seeds written under {CORPUS}")


def monitor_sources_seeds():
    """Rekor v1 and RFC 6962 answers, a static-ct-api data tile and a checkpoint, in the
    shapes signet's logs serve them, plus leaves and bodies with the vectors' certificates."""
    h = "ab" * 32
    b64h = base64.b64encode(bytes(32)).decode()
    seed("monitor_sources", json.dumps({"rootHash": h, "treeSize": 3, "signedTreeHead": "rekor - 1\n3\nAA==\n\n",
                                        "treeID": "1", "inactiveShards": [{"treeSize": 5}]}))
    seed("monitor_sources", json.dumps({"rootHash": h, "hashes": [h, h]}))
    seed("monitor_sources", json.dumps([{h: {"body": "e30=", "logIndex": 4, "verification": {"inclusionProof": {
        "logIndex": 4, "treeSize": 9, "rootHash": h, "hashes": [h], "checkpoint": "cp"}}}}]))
    # DigitallySigned: sha256 (4), ecdsa (3), a 2-byte signature.
    seed("monitor_sources", json.dumps({"tree_size": 3, "timestamp": 1, "sha256_root_hash": b64h,
                                        "tree_head_signature": base64.b64encode(bytes([4, 3, 0, 2, 0, 0])).decode()}))
    seed("monitor_sources", json.dumps({"consistency": [b64h]}))
    seed("monitor_sources", json.dumps({"leaf_index": 2, "audit_path": [b64h, b64h]}))
    cert = bytes.fromhex("3003020101")
    def u24(b):
        return len(b).to_bytes(3, "big") + b
    # TimestampedEntry (x509_entry), then TileLeaf's empty chain; the MerkleTreeLeaf adds 00 00.
    x509 = (1).to_bytes(8, "big") + b"\x00\x00" + u24(cert) + b"\x00\x00"
    seed("monitor_sources", x509 + b"\x00\x00")
    seed("monitor_sources", b"\x00\x00" + x509)
    seed("monitor_sources", json.dumps({"entries": [{"leaf_input": base64.b64encode(b"\x00\x00" + x509).decode(),
                                                     "extra_data": ""}]}))
    seed("monitor_sources", "ct.example/2025\n3\n" + b64h + "\n\n\u2014 ct.example/2025 AAAAAAECAwQ=\n")
    seed("monitor_sources", json.dumps({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": h}},
        "signature": {"content": "MEUC", "publicKey": {"content": base64.b64encode(
            b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n").decode()}}}}))
    for bundle in sorted(VECTORS.glob("**/*.sigstore.json"))[:20]:
        try:
            material = json.loads(bundle.read_text()).get("verificationMaterial", {})
        except (ValueError, UnicodeDecodeError):
            continue
        der = material.get("certificate", {}).get("rawBytes")
        if der:
            leaf = b"\x00\x00" + (1).to_bytes(8, "big") + b"\x00\x00" + u24(base64.b64decode(der)) + b"\x00\x00"
            seed("monitor_sources", leaf)


if __name__ == "__main__":
    main()
