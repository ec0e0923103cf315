#!/usr/bin/env bash
# Start-up figures for BENCHMARKS.md ("Start-up"): `signet --version` beside a hello-world Rust
# binary built with the workspace's release profile, and one `signet verify-bundle` of the
# sigstore-conformance happy-path-v0.3 bundle with the built-in public-good root.
#
#   crates/signet-bench/startup.sh [SIGNET_BINARY...]
#
# Each binary is run under `perf stat -r RUNS` (default 300), ROUNDS times (default 5), the
# binaries interleaved so that a change in the machine's speed touches all of them alike; the
# median of the rounds is printed (task-clock is CPU time, elapsed is wall time). With no
# argument it measures target/release/signet. Needs perf, and ../shared/vectors (or
# $SIGNET_VECTORS) for the verify-bundle case.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${RUNS:-300}"
rounds="${ROUNDS:-5}"
vectors="${SIGNET_VECTORS:-$root/../shared/vectors}"
bundles="$vectors/sigstore-conformance/bundle-verify"
binaries=("$@")
if [ ${#binaries[@]} -eq 0 ]; then
  (cd "$root" && cargo build --release -q -p signet)
  binaries=("$root/target/release/signet")
fi

# hello world, with the [profile.release] of the workspace's Cargo.toml.
hello="$root/target/startup-hello"
mkdir -p "$hello/src"
{
  printf '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n\n'
  sed -n '/^\[profile.release\]/,/^$/p' "$root/Cargo.toml"
} > "$hello/Cargo.toml"
echo 'fn main() { println!("hello 0.1.0"); }' > "$hello/src/main.rs"
(cd "$hello" && cargo build --release -q)

identity="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT

# One perf stat: "<task-clock ms> <wall ms> <page faults>", means over the runs.
measure() {
  SIGNET_HOME="$home" HOME="$home" perf stat -x, -r "$runs" -e task-clock,duration_time,page-faults "$@" 2>&1 >/dev/null \
    | awk -F, '
        $3 ~ /^task-clock/ { cpu = $1 }
        $3 ~ /^duration_time/ { wall = $1 / 1e6 }
        $3 ~ /^page-faults/ { faults = $1 }
        END { printf "%.3f %.3f %.0f\n", cpu, wall, faults }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A cpu wall faults
cases=("hello" )
for b in "${binaries[@]}"; do cases+=("version:$b"); done
if [ -d "$bundles/happy-path-v0.3" ]; then
  for b in "${binaries[@]}"; do cases+=("verify:$b"); done
else
  echo "skipping verify-bundle: no conformance vectors at $bundles (set \$SIGNET_VECTORS)" >&2
fi
for _ in $(seq "$rounds"); do
  for c in "${cases[@]}"; do
    case "$c" in
      hello) out=$(measure "$hello/target/release/hello") ;;
      version:*) out=$(measure "${c#version:}" --version) ;;
      verify:*) out=$(measure "${c#verify:}" verify-bundle \
        --bundle "$bundles/happy-path-v0.3/bundle.sigstore.json" \
        --certificate-identity "$identity" \
        --certificate-oidc-issuer https://token.actions.githubusercontent.com "$bundles/a.txt") ;;
    esac
    read -r c_cpu c_wall c_faults <<<"$out"
    cpu[$c]+="$c_cpu "
    wall[$c]+="$c_wall "
    faults[$c]="$c_faults"
  done
done
printf '%-60s %8s %8s %12s\n' "case (median of $rounds rounds x $runs runs)" "CPU ms" "wall ms" "page faults"
for c in "${cases[@]}"; do
  m_cpu=$(echo "${cpu[$c]}" | tr ' ' '\n' | grep . | median)
  m_wall=$(echo "${wall[$c]}" | tr ' ' '\n' | grep . | median)
  printf '%-60s %8s %8s %12s\n' "$c" "$m_cpu" "$m_wall" "${faults[$c]}"
done
