#!/usr/bin/env python3
"""An independent check of a tlog-tiles log, written without signet's code: Python's
hashlib for the RFC 6962 Merkle tree, openssl for the Ed25519 checkpoint signature.

Usage: tlog_check.py LOG_URL PUBLIC_KEY_B64_SPKI ACKED_FILE CHECKPOINTS_FILE

- LOG_URL: the log's base URL (its /checkpoint and /tile/... are read over HTTP);
- PUBLIC_KEY_B64_SPKI: the log key (base64 DER SubjectPublicKeyInfo, as trusted_root.json has);
- ACKED_FILE: lines "INDEX LEAF_HASH_HEX", the entries clients were told are logged;
- CHECKPOINTS_FILE: the checkpoints handed out, as a JSON list of signed notes.

Checks: the checkpoint's signature verifies (openssl); the level-0 tiles hash to its root;
every acknowledged leaf sits at its index; every handed-out checkpoint's root is the root of the
first `size` leaves of the final tree (so it is consistent with it). Prints one summary line,
exits non-zero with a message on the first failure.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request


def fail(msg):
    print("tlog_check: FAIL: " + msg)
    sys.exit(1)


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        if r.status != 200:
            fail(f"GET {url}: {r.status}")
        return r.read()


def parse_note(text):
    """(origin, size, root, body, signatures) of a signed note checkpoint."""
    body, sep, sigs = text.partition("\n\n")
    if not sep:
        fail("checkpoint has no signature block")
    lines = body.split("\n")
    if len(lines) < 3:
        fail("checkpoint body too short")
    return lines[0], int(lines[1]), base64.b64decode(lines[2]), body + "\n", sigs


def tile_path(level, index, width):
    groups = []
    while True:
        groups.insert(0, f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    path = "/".join("x" + g for g in groups[:-1]) + ("/" if len(groups) > 1 else "") + groups[-1]
    suffix = "" if width == 256 else f".p/{width}"
    return f"tile/{level}/{path}{suffix}"


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_signature(origin, body, sigs, spki_b64):
    key_der = base64.b64decode(spki_b64)
    for line in sigs.strip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            fail(f"bad signature line {line!r}")
        name, _, b64 = line[2:].rpartition(" ")
        if name != origin:
            continue
        raw = base64.b64decode(b64)
        sig = raw[4:]
        if len(sig) != 64:
            continue  # not an Ed25519 signature (e.g. a CT tree head signature)
        with tempfile.TemporaryDirectory() as d:
            pem = os.path.join(d, "key.pem")
            with open(pem, "w") as f:
                f.write("-----BEGIN PUBLIC KEY-----\n")
                f.write(base64.encodebytes(key_der).decode())
                f.write("-----END PUBLIC KEY-----\n")
            msg, sig_file = os.path.join(d, "msg"), os.path.join(d, "sig")
            with open(msg, "wb") as f:
                f.write(body.encode())
            with open(sig_file, "wb") as f:
                f.write(sig)
            r = subprocess.run(
                ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", msg, "-sigfile", sig_file],
                capture_output=True,
            )
            if r.returncode == 0:
                return
    fail("no signature of the log key verifies the checkpoint (openssl)")


def main():
    log, spki, acked_file, checkpoints_file = sys.argv[1:5]
    log = log.rstrip("/")
    text = fetch(log + "/checkpoint").decode()
    origin, size, root, body, sigs = parse_note(text)
    verify_signature(origin, body, sigs, spki)

    leaves = []
    for t in range((size + 255) // 256):
        width = min(256, size - t * 256)
        data = fetch(f"{log}/{tile_path(0, t, width)}")
        if len(data) != 32 * width:
            fail(f"tile 0/{t} has {len(data)} bytes, expected {32 * width}")
        leaves += [data[i : i + 32] for i in range(0, len(data), 32)]

    # Perfect subtrees: levels[k][i] is the hash of leaves i*2^k .. (i+1)*2^k.
    levels = [leaves]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append([node(prev[i], prev[i + 1]) for i in range(0, len(prev) - 1, 2)])

    def mth(n):
        """RFC 6962 root of the first n leaves, from the perfect subtrees."""
        if n == 0:
            return hashlib.sha256(b"").digest()
        parts, start = [], 0
        while start < n:
            k = (n - start).bit_length() - 1
            parts.append(levels[k][start >> k])
            start += 1 << k
        h = parts[-1]
        for p in reversed(parts[:-1]):
            h = node(p, h)
        return h

    if mth(size) != root:
        fail(f"the tiles do not hash to the checkpoint's root at size {size}")

    acked = 0
    with open(acked_file) as f:
        for line in f:
            if not line.strip():
                continue
            index, leaf = line.split()
            index = int(index)
            if index >= size:
                fail(f"acknowledged index {index} is beyond the tree size {size}")
            if leaves[index].hex() != leaf:
                fail(f"leaf {index} is {leaves[index].hex()}, the client was told {leaf}")
            acked += 1

    with open(checkpoints_file) as f:
        handed_out = json.load(f)
    sizes = {}
    for note in handed_out:
        o, n, r, b, s = parse_note(note)
        if o != origin:
            fail(f"a handed-out checkpoint is for origin {o!r}")
        if n > size:
            fail(f"a handed-out checkpoint of size {n} is beyond the final size {size}")
        sizes.setdefault(n, (r, b, s))
        if sizes[n][0] != r:
            fail(f"two different roots were handed out for size {n}")
    for n, (r, b, s) in sizes.items():
        if mth(n) != r:
            fail(f"the handed-out checkpoint of size {n} is not a prefix of the final tree")
    # Signatures of the handed-out ones too (a sample: openssl per note is slow).
    for n in sorted(sizes)[:: max(1, len(sizes) // 20)]:
        r, b, s = sizes[n]
        verify_signature(origin, b, s, spki)
    print(f"tlog_check: ok: size {size}, {acked} acknowledged entries, {len(sizes)} checkpoints")


main()
