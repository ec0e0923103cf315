#!/usr/bin/env python3
"""A CycloneDX 1.5 SBOM of signet's container image (deploy/image/build.sh), made from what the
image holds: every Rust crate compiled into the two programs (cargo metadata's resolved graph
from the `signet` package, normal dependencies only: build scripts, proc-macros and dev
dependencies run at build time and are not in the binaries), the Debian packages of the shared
libraries and CA certificates copied into it (dpkg), and the programs themselves with their
SHA-256.

    deploy/image/sbom.py --bin-dir DIR [--libraries FILE] --version V --revision R --out FILE

Without --libraries (build.sh's list of the libraries it copied), the programs' own shared
libraries, as ldd finds them, are listed.

Only the standard library: it runs on any build machine with python3, cargo and dpkg.
"""

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import uuid

TARGET = "x86_64-unknown-linux-gnu"


def cargo_components(repo):
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--offline",
         "--filter-platform", TARGET],
        cwd=repo, capture_output=True,
    )
    if out.returncode != 0:
        sys.exit("sbom.py: cargo metadata failed: " + out.stderr.decode(errors="replace").strip())
    meta = json.loads(out.stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    roots = [p["id"] for p in meta["packages"] if p["name"] == "signet" and p["source"] is None]
    if not roots:
        sys.exit("sbom.py: no `signet` package in cargo metadata")
    seen, stack = set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            normal = any(k["kind"] is None for k in dep["dep_kinds"])
            target = packages[dep["pkg"]]
            proc_macro = any("proc-macro" in t["kind"] for t in target["targets"])
            if normal and not proc_macro:
                stack.append(dep["pkg"])
    components = []
    for pid in sorted(seen, key=lambda i: (packages[i]["name"], packages[i]["version"])):
        p = packages[pid]
        c = {
            "type": "library" if p["name"] != "signet" else "application",
            "bom-ref": f"cargo:{p['name']}@{p['version']}",
            "name": p["name"],
            "version": p["version"],
        }
        if p["source"] and p["source"].startswith("registry+"):
            c["purl"] = f"pkg:cargo/{p['name']}@{p['version']}"
        else:
            c["description"] = "part of signet (this repository)"
        if p.get("license"):
            # Cargo's legacy "MIT/Apache-2.0" is an SPDX "MIT OR Apache-2.0".
            c["licenses"] = [{"expression": p["license"].replace("/", " OR ")}]
        components.append(c)
    return components


def ldd_libraries(programs):
    found = set()
    for program in programs:
        out = subprocess.run(["ldd", program], check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if "=>" in parts and len(parts) > parts.index("=>") + 1 and parts[parts.index("=>") + 1].startswith("/"):
                found.add(parts[parts.index("=>") + 1])
            elif parts and parts[0].startswith("/"):
                found.add(parts[0])
    return sorted(found)


def dpkg_package(path):
    for candidate in (path, os.path.realpath(path), "/usr" + path):
        out = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        if out.returncode == 0:
            return out.stdout.split(":", 1)[0].strip()
    return None


def deb_component(package):
    fields = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}\t${Architecture}", package],
        check=True, capture_output=True, text=True,
    ).stdout.split("\t")
    version, arch = fields[0], fields[1]
    return {
        "type": "library",
        "bom-ref": f"deb:{package}@{version}",
        "name": package,
        "version": version,
        "purl": f"pkg:deb/debian/{package}@{version}?arch={arch}",
    }


def file_component(path, name):
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return {
        "type": "file",
        "bom-ref": f"file:{name}",
        "name": name,
        "hashes": [{"alg": "SHA-256", "content": digest}],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--libraries")
    parser.add_argument("--version", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

    components = cargo_components(repo)
    debs = set()
    if args.libraries:
        libraries = [line.strip() for line in open(args.libraries) if line.strip()]
    else:
        libraries = ldd_libraries([os.path.join(args.bin_dir, p) for p in ("signet", "signet-server")])
    for path in libraries:
        if path:
            package = dpkg_package(path)
            if package is None:
                sys.exit(f"sbom.py: no Debian package holds {path}")
            debs.add(package.split(",")[0].strip())
    debs.add("ca-certificates")
    components += [deb_component(p) for p in sorted(debs)]
    components += [
        file_component(os.path.join(args.bin_dir, p), f"/usr/local/bin/{p}")
        for p in ("signet", "signet-server")
    ]
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "signet deploy/image/sbom.py"}]},
            "component": {
                "type": "container",
                "bom-ref": "image:signet",
                "name": "signet",
                "version": args.version,
                "properties": [{"name": "org.opencontainers.image.revision", "value": args.revision}],
            },
        },
        "components": components,
    }
    with open(args.out + ".tmp", "w") as out:
        json.dump(bom, out, indent=1, sort_keys=True)
    os.replace(args.out + ".tmp", args.out)
    print(f"{args.out}: {len(components)} components", file=sys.stderr)


if __name__ == "__main__":
    main()
