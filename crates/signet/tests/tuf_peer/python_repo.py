"""A TUF repository made by python-tuf (the reference implementation), for testing signet's
TUF client against an independent writer. Layout as Sigstore's CDN: metadata at the top,
consistent snapshots, targets under targets/<sha256>.<name>.

  python_repo.py DIR init TRUSTED_ROOT SIGNING_CONFIG   root v1 (two ECDSA root keys, threshold 2)
  python_repo.py DIR rotate TRUSTED_ROOT                root v2 with one root key replaced and a
                                                        new timestamp key; new targets
  python_repo.py DIR replay-timestamp                   put back the first timestamp.json
  python_repo.py DIR expire-timestamp                   a new timestamp that has already expired
  python_repo.py DIR serve                              serve DIR on 127.0.0.1; prints the port

Keys are kept in DIR/../keys as PEM so later steps can sign.
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

ROLES = ["root", "timestamp", "snapshot", "targets"]


def expiry(days):
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


class Repo:
    def __init__(self, path):
        self.path = Path(path)
        self.keys = self.path.parent / "keys"

    def signer(self, name):
        pem = (self.keys / f"{name}.pem").read_bytes()
        key = serialization.load_pem_private_key(pem, None)
        return CryptoSigner(key)

    def new_signer(self, name):
        signer = CryptoSigner.generate_ecdsa()
        self.keys.mkdir(parents=True, exist_ok=True)
        pem = signer._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (self.keys / f"{name}.pem").write_bytes(pem)
        return signer

    def write(self, name, md, signers):
        md.signatures.clear()
        for s in signers:
            md.sign(s, append=True)
        data = md.to_bytes(JSONSerializer(compact=False))
        (self.path / name).write_bytes(data)
        return data

    def read(self, name):
        return Metadata.from_file(str(self.path / name))

    def publish_targets(self, version, files, timestamp_signer, snapshot_version, timestamp_version):
        targets = Metadata(Targets(version=version, expires=expiry(365)))
        (self.path / "targets").mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            tf = TargetFile.from_data(name, data, ["sha256"])
            targets.signed.targets[name] = tf
            (self.path / "targets" / f"{tf.hashes['sha256']}.{name}").write_bytes(data)
        targets_bytes = self.write(f"{version}.targets.json", targets, [self.signer("targets")])
        snapshot = Metadata(Snapshot(version=snapshot_version, expires=expiry(365)))
        snapshot.signed.meta["targets.json"] = MetaFile(version=version)
        snapshot_bytes = self.write(f"{snapshot_version}.snapshot.json", snapshot, [self.signer("snapshot")])
        self.timestamp(timestamp_version, snapshot_version, snapshot_bytes, timestamp_signer, 7)
        del targets_bytes

    def timestamp(self, version, snapshot_version, snapshot_bytes, signer, days):
        ts = Metadata(Timestamp(version=version, expires=expiry(days)))
        ts.signed.snapshot_meta = MetaFile.from_data(snapshot_version, snapshot_bytes, ["sha256"])
        data = self.write("timestamp.json", ts, [signer])
        (self.path.parent / f"timestamp.v{version}.json").write_bytes(data)


def init(repo, trusted_root, signing_config):
    repo.path.mkdir(parents=True, exist_ok=True)
    signers = {r: repo.new_signer(r) for r in ROLES}
    root_b = repo.new_signer("root-b")
    root = Metadata(Root(version=1, expires=expiry(365), consistent_snapshot=True))
    for role in ROLES:
        root.signed.add_key(signers[role].public_key, role)
    root.signed.add_key(root_b.public_key, "root")
    root.signed.roles["root"].threshold = 2
    repo.write("1.root.json", root, [signers["root"], root_b])
    files = {
        "trusted_root.json": Path(trusted_root).read_bytes(),
        "signing_config.v0.2.json": Path(signing_config).read_bytes(),
    }
    repo.publish_targets(1, files, signers["timestamp"], 1, 1)


def rotate(repo, trusted_root):
    root = repo.read("1.root.json")
    old_b = repo.signer("root-b")
    # Replace root key B by C, and the timestamp key by a new one (fast-forward recovery).
    root.signed.revoke_key(old_b.public_key.keyid, "root")
    root_c = repo.new_signer("root-c")
    root.signed.add_key(root_c.public_key, "root")
    root.signed.revoke_key(repo.signer("timestamp").public_key.keyid, "timestamp")
    new_ts = repo.new_signer("timestamp")
    root.signed.add_key(new_ts.public_key, "timestamp")
    root.signed.version = 2
    # Signed by the old threshold (root + B) and the new one (root + C).
    repo.write("2.root.json", root, [repo.signer("root"), old_b, root_c])
    signing_config = (repo.path / "targets").glob("*.signing_config.v0.2.json")
    files = {
        "trusted_root.json": Path(trusted_root).read_bytes(),
        "signing_config.v0.2.json": next(signing_config).read_bytes(),
    }
    repo.publish_targets(2, files, new_ts, 2, 2)


def expire_timestamp(repo):
    snapshot_version = max(int(p.name.split(".")[0]) for p in repo.path.glob("*.snapshot.json"))
    snapshot_bytes = (repo.path / f"{snapshot_version}.snapshot.json").read_bytes()
    # A version above every one published, so the client cannot keep an equal one instead.
    published = [int(p.name.split(".")[1][1:]) for p in repo.path.parent.glob("timestamp.v*.json")]
    repo.timestamp(max(published) + 1, snapshot_version, snapshot_bytes, repo.signer("timestamp"), -1)


def serve(repo):
    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(repo.path), **kwargs)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def main():
    repo = Repo(sys.argv[1])
    command = sys.argv[2]
    if command == "init":
        init(repo, sys.argv[3], sys.argv[4])
    elif command == "rotate":
        rotate(repo, sys.argv[3])
    elif command == "replay-timestamp":
        (repo.path / "timestamp.json").write_bytes((repo.path.parent / "timestamp.v1.json").read_bytes())
    elif command == "expire-timestamp":
        expire_timestamp(repo)
    elif command == "serve":
        serve(repo)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
