#!/usr/bin/env bash
# Builds signet's container image as an OCI image layout, without docker: Debian's umoci writes
# the layout; the layer holds the two programs (debug info stripped), exactly the shared
# libraries they load (found with ldd, so a build on another distribution carries its own),
# the CA certificates (OIDC discovery, JWKS and PostgreSQL over TLS), a passwd entry for the
# unprivileged user 65532 and an empty, writable /var/lib/signet. Nothing else: no shell, no
# package manager. The image runs `signet-server server --config /etc/signet/signet.toml`, as
# user 65532, so mount the configuration there (deploy/kubernetes does, from a ConfigMap).
#
#   deploy/image/build.sh BIN_DIR OUT_DIR TAG [VERSION] [REVISION]
#
# BIN_DIR holds `signet` and `signet-server` (target/release after `cargo build --release`).
# Written in OUT_DIR: `layout/`, the OCI image layout (TAG names the image in it),
# `sbom.cdx.json`, its CycloneDX SBOM (deploy/image/sbom.py), and `libraries.txt`. Push with
# `skopeo copy oci:OUT_DIR/layout:TAG docker://REGISTRY/signet:TAG`, then sign the image and
# attest the SBOM with signet itself (README, "Container image").
set -euo pipefail

if [ $# -lt 3 ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
bin_dir=$1
out_dir=$2
tag=$3
layout=$out_dir/layout
version=${4:-$("$bin_dir/signet" --version | awk '{print $2}')}
revision=${5:-$(git -C "$(dirname "$0")" rev-parse HEAD 2>/dev/null || echo unknown)}
umoci=${UMOCI:-umoci}
uid=65532

for program in signet signet-server; do
  [ -x "$bin_dir/$program" ] || { echo "build.sh: $bin_dir/$program is not an executable" >&2; exit 1; }
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/usr/local/bin" "$stage/etc/ssl/certs" "$stage/etc/signet" "$stage/var/lib/signet" "$stage/tmp"
for program in signet signet-server; do
  # Line tables are for profiling on a developer's machine, not for the image.
  objcopy --strip-debug "$bin_dir/$program" "$stage/usr/local/bin/$program"
done

# The shared libraries the programs load, at the paths the loader looks for them, and the
# loader itself; each listed in libraries.txt for the SBOM.
: > "$stage/libraries.txt"
for program in signet signet-server; do
  ldd "$bin_dir/$program" | awk '/=> \// {print $3} /^\t\// {print $1}'
done | sort -u | while read -r lib; do
  real=$(readlink -f "$lib")
  mkdir -p "$stage$(dirname "$lib")"
  cp "$real" "$stage$lib"
  echo "$lib" >> "$stage/libraries.txt"
done
mkdir -p "$out_dir"
mv "$stage/libraries.txt" "$out_dir/libraries.txt"

if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/ca-certificates.crt"
else
  echo "build.sh: /etc/ssl/certs/ca-certificates.crt missing (Debian's ca-certificates)" >&2
  exit 1
fi
printf 'root:x:0:0:root:/root:/sbin/nologin\nsignet:x:%s:%s:signet:/var/lib/signet:/sbin/nologin\n' "$uid" "$uid" > "$stage/etc/passwd"
printf 'root:x:0:\nsignet:x:%s:\n' "$uid" > "$stage/etc/group"
chmod 1777 "$stage/tmp"
chown "$uid:$uid" "$stage/var/lib/signet" 2>/dev/null || true
chmod 0700 "$stage/var/lib/signet"

if [ ! -d "$layout" ]; then
  "$umoci" init --layout "$layout"
fi
"$umoci" new --image "$layout:$tag"
"$umoci" insert --image "$layout:$tag" "$stage" /
"$umoci" config --image "$layout:$tag" \
  --os linux --architecture amd64 \
  --config.user "$uid:$uid" \
  --config.entrypoint /usr/local/bin/signet-server \
  --config.cmd server --config.cmd --config --config.cmd /etc/signet/signet.toml \
  --config.workingdir /var/lib/signet \
  --config.env SIGNET_DATA_DIR=/var/lib/signet \
  --config.env SIGNET_LOG=info \
  --config.exposedports 3000/tcp \
  --config.label "org.opencontainers.image.title=signet" \
  --config.label "org.opencontainers.image.description=Sigstore in Rust: CA, transparency logs, TSA, TUF" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label "org.opencontainers.image.licenses=Apache-2.0" \
  --manifest.annotation "org.opencontainers.image.version=$version" \
  --manifest.annotation "org.opencontainers.image.revision=$revision"
"$umoci" gc --layout "$layout"
python3 "$(dirname "$0")/sbom.py" --bin-dir "$bin_dir" --libraries "$out_dir/libraries.txt" \
  --version "$version" --revision "$revision" --out "$out_dir/sbom.cdx.json"
echo "built $layout:$tag (signet $version, $revision) and $out_dir/sbom.cdx.json"
