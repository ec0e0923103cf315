// signet explorer: verifies the entry shown on this page in the reader's browser, trusting
// nothing the server rendered. With WebCrypto only, no library:
//   1. the leaf: SHA-256(0x00 || entry) of the entry bytes this page shows (data-leaf), which
//      must equal those the proof API returns;
//   2. the inclusion proof: the root recomputed from the leaf hash and audit path (RFC 9162
//      §2.1.3.2) must equal the root hash, and the checkpoint must commit to that root and
//      tree size;
//   3. the log key: taken from the published trust root (trusted_root.json) by log ID; for an
//      Ed25519 key the log ID must be the note key hash of the checkpoint's origin and that key
//      (c2sp.org/signed-note: SHA-256(name || 0x0A || 0x01 || key)); a CT log's (ctlogs) ID
//      must be the SHA-256 of its key;
//   4. the checkpoint's signature line by that key must verify: for a Rekor log (v2 or v1) over
//      the note's text; for a CT log (data-format="ct", a static-ct-api checkpoint) the line is
//      an RFC6962NoteSignature, whose TreeHeadSignature (RFC 6962 §3.5: the STH timestamp, the
//      checkpoint's size and root) must verify under the CT log's ECDSA key.
// The result goes into #verify as data-verify="ok|failed", data-check (the failed check),
// data-reason, and data-ms (performance.now() when done: time since navigation start).
"use strict";
(function () {
  const box = document.getElementById("verify");
  if (!box) return;
  const enc = new TextEncoder();

  class Failure extends Error {
    constructor(check, reason) { super(reason); this.check = check; }
  }
  const fail = (check, reason) => { throw new Failure(check, reason); };

  const b64 = (s, what) => {
    try { return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)); }
    catch (e) { return fail(what, "not base64"); }
  };
  const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  const sha256 = async (u) => new Uint8Array(await crypto.subtle.digest("SHA-256", u));

  async function getJson(url, check) {
    let r;
    try { r = await fetch(url, { credentials: "omit", cache: "no-store" }); }
    catch (e) { return fail(check, url + ": " + e.message); }
    if (!r.ok) fail(check, url + ": HTTP " + r.status);
    try { return await r.json(); } catch (e) { return fail(check, url + ": not JSON"); }
  }

  // RFC 9162 §2.1.3.2: the root an inclusion proof leads to.
  async function rootFromProof(index, size, leafHash, path) {
    if (index >= size) fail("inclusion proof", "leaf index " + index + " is not below tree size " + size);
    let fn = index, sn = size - 1n, r = leafHash;
    for (const p of path) {
      if (p.length !== 32) fail("inclusion proof", "a proof hash is not 32 bytes");
      if (sn === 0n) fail("inclusion proof", "the audit path is too long");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await sha256(concat([1], p, r));
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await sha256(concat([1], r, p));
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) fail("inclusion proof", "the audit path is too short");
    return r;
  }

  // ECDSA signatures in notes are DER; WebCrypto wants r || s of the curve's size.
  function derToP1363(der, n) {
    const bad = () => fail("checkpoint signature", "ECDSA signature is not DER");
    if (der[0] !== 0x30 || der[1] !== der.length - 2) bad();
    let at = 2;
    const out = [];
    for (let k = 0; k < 2; k++) {
      if (der[at] !== 0x02) bad();
      const len = der[at + 1];
      let v = der.slice(at + 2, at + 2 + len);
      at += 2 + len;
      while (v.length > n && v[0] === 0) v = v.slice(1);
      if (v.length > n) bad();
      out.push(concat(new Uint8Array(n - v.length), v));
    }
    if (at !== der.length) bad();
    return concat(out[0], out[1]);
  }

  async function logKey(trust, logId, origin) {
    const tlog = (trust.tlogs || []).find((t) => t.logId && equal(b64(t.logId.keyId, "trust root"), logId));
    if (!tlog) fail("log key", "the trust root names no log with ID " + hex(logId));
    const spki = b64(tlog.publicKey.rawBytes, "trust root");
    const details = tlog.publicKey.keyDetails;
    if (details === "PKIX_ED25519") {
      if (spki.length !== 44) fail("log key", "Ed25519 key is not a 44-byte SubjectPublicKeyInfo");
      const keyHash = await sha256(concat(enc.encode(origin), [0x0a, 0x01], spki.slice(12)));
      if (!equal(keyHash, logId)) fail("log key", "the log ID is not the note key hash of origin " + origin + " and the trust root's key");
      const key = await crypto.subtle.importKey("spki", spki, { name: "Ed25519" }, false, ["verify"]);
      return { key, keyId: keyHash.slice(0, 4), alg: { name: "Ed25519" }, der: false };
    }
    if (details === "PKIX_ECDSA_P256_SHA_256") {
      const keyHash = await sha256(spki);
      if (!equal(keyHash, logId)) fail("log key", "the log ID is not the SHA-256 of the trust root's key");
      const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      return { key, keyId: keyHash.slice(0, 4), alg: { name: "ECDSA", hash: "SHA-256" }, der: 32 };
    }
    return fail("log key", "key type " + details + " is not one this page verifies");
  }

  // RFC 6962 §3.5 TreeHeadSignature of a static-ct-api checkpoint: the signature line's body
  // is timestamp (8) || hash (1) || signature algorithm (1) || length (2) || DER signature, and
  // its key ID SHA-256(origin || 0x0A || 0x05 || log ID)[:4].
  async function verifyCtCheckpoint(trust, logId, origin, size, root, sigs) {
    const ct = (trust.ctlogs || []).find((t) => t.logId && equal(b64(t.logId.keyId, "trust root"), logId));
    if (!ct) fail("log key", "the trust root names no CT log with ID " + hex(logId));
    const spki = b64(ct.publicKey.rawBytes, "trust root");
    if (!equal(await sha256(spki), logId)) fail("log key", "the CT log ID is not the SHA-256 of the trust root's key");
    const details = ct.publicKey.keyDetails;
    // [curve, hash, scalar bytes, TLS HashAlgorithm]
    const alg = { PKIX_ECDSA_P256_SHA_256: ["P-256", "SHA-256", 32, 4], PKIX_ECDSA_P384_SHA_384: ["P-384", "SHA-384", 48, 5] }[details];
    if (!alg) fail("log key", "CT key type " + details + " is not one this page verifies");
    const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: alg[0] }, false, ["verify"]);
    const keyId = (await sha256(concat(enc.encode(origin), [0x0a, 0x05], logId))).slice(0, 4);
    const body = (sigs.find((s) => equal(s.keyId, keyId)) || {}).body;
    if (!body) fail("checkpoint signature", "no RFC 6962 signature by the CT log's key " + hex(keyId));
    if (body.length < 12 || body.length !== 12 + ((body[10] << 8) | body[11])) fail("checkpoint signature", "not an RFC6962NoteSignature");
    if (body[8] !== alg[3] || body[9] !== 3) fail("checkpoint signature", "not an ECDSA signature with " + alg[1]);
    const sizeBytes = new Uint8Array(8);
    new DataView(sizeBytes.buffer).setBigUint64(0, size);
    const sth = concat([0, 1], body.slice(0, 8), sizeBytes, root);
    const sig = derToP1363(body.slice(12), alg[2]);
    if (!(await crypto.subtle.verify({ name: "ECDSA", hash: alg[1] }, key, sig, sth))) fail("checkpoint signature", "the CT log's tree head signature does not verify");
  }

  async function verify() {
    const api = box.dataset.api, trustUrl = box.dataset.trust;
    const [entry, trust] = await Promise.all([getJson(api, "fetch entry"), getJson(trustUrl, "fetch trust root")]);
    // 1. The leaf this page shows is the one proven.
    const leaf = b64(entry.leaf, "leaf");
    if (!equal(leaf, b64(box.dataset.leaf, "leaf"))) fail("leaf", "the proof is for other entry bytes than this page shows");
    if (entry.index !== box.dataset.index) fail("leaf", "the proof is for entry " + entry.index + ", not " + box.dataset.index);
    const leafHash = await sha256(concat([0], leaf));
    // 2. Inclusion in the tree the checkpoint commits to.
    const size = BigInt(entry.treeSize), index = BigInt(entry.index);
    const path = (entry.hashes || []).map((h) => b64(h, "inclusion proof"));
    const root = await rootFromProof(index, size, leafHash, path);
    if (!equal(root, b64(entry.rootHash, "inclusion proof"))) fail("inclusion proof", "the audit path leads to root " + hex(root) + ", not the proof's root hash");
    const note = entry.checkpoint || "";
    const split = note.indexOf("\n\n");
    if (split < 0) fail("checkpoint", "not a signed note");
    const text = note.slice(0, split + 1);
    const lines = text.split("\n");
    const origin = lines[0];
    if (lines.length < 4 || lines[1] !== entry.treeSize) fail("checkpoint", "the checkpoint is for another tree size than the proof");
    if (!equal(b64(lines[2], "checkpoint"), root)) fail("checkpoint", "the checkpoint's root hash is not the root the proof leads to");
    // The origin's signature lines: key ID (4 bytes) and signature. A Rekor v1 checkpoint's
    // origin is "<name> - <tree ID>" and the log signs as <name> (as Rekor v1 does).
    const names = [origin];
    const dash = origin.lastIndexOf(" - ");
    if (box.dataset.format === "rekor_v1" && dash > 0) names.push(origin.slice(0, dash));
    const sigs = note.slice(split + 2).split("\n").map((l) => {
      if (!l.startsWith("\u2014 ")) return null;
      const sp = l.lastIndexOf(" ");
      if (!names.includes(l.slice(2, sp))) return null;
      const raw = b64(l.slice(sp + 1), "checkpoint signature");
      return raw.length > 4 ? { keyId: raw.slice(0, 4), body: raw.slice(4) } : null;
    }).filter((s) => s);
    const logId = b64(entry.logId, "log key");
    if (box.dataset.format === "ct") {
      // 3 and 4 for a CT log.
      await verifyCtCheckpoint(trust, logId, origin, size, root, sigs);
      return { size: entry.treeSize, origin };
    }
    // 3. The log's key, from the trust root.
    const k = await logKey(trust, logId, origin);
    // 4. The log's signature on the checkpoint.
    const sigLine = (sigs.find((s) => equal(s.keyId, k.keyId)) || {}).body;
    if (!sigLine) fail("checkpoint signature", "no signature by the log's key " + hex(k.keyId));
    const sig = k.der ? derToP1363(sigLine, k.der) : sigLine;
    if (!(await crypto.subtle.verify(k.alg, k.key, sig, enc.encode(text)))) fail("checkpoint signature", "the log's signature on the checkpoint does not verify");
    return { size: entry.treeSize, origin };
  }

  const say = (text) => { box.querySelector(".verify-text").textContent = text; };
  verify().then((ok) => {
    box.dataset.verify = "ok";
    box.className = "verify ok";
    say("\u2713 Verified in your browser: included in the tree of size " + ok.size + " whose checkpoint is signed by " + ok.origin + "'s key from the trust root.");
  }, (e) => {
    box.dataset.verify = "failed";
    box.dataset.check = e.check || "error";
    box.dataset.reason = e.message;
    box.className = "verify failed";
    say("\u2717 Verification failed: " + (e.check || "error") + ": " + e.message);
  }).finally(() => { box.dataset.ms = performance.now().toFixed(1); });
})();
