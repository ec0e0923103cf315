#!/usr/bin/env bash
# Figures for BENCHMARKS.md ("Transparency log with witnesses"): `signet bench log` against
# `signet server` without witnesses and with two local `signet witness` processes
# (`--witness-policy`, quorum: both), interleaved in one sitting (plain, witnessed, plain,
# witnessed, then witnessed with `--on-missed-quorum hold`), each run against an already running
# release server (`--url`, `--server-pid`), its /metrics saved beside the report.
#
#   crates/signet-bench/witnessed-log.sh            # DURATION=30 WARMUP=3 OUT=/tmp/signet-witnessed-bench
#
# Ports 3961 (plain log), 3962 (witnessed log), 3971 and 3972 (witnesses) must be free.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
signet="${SIGNET:-$root/target/release/signet}"
out="${OUT:-/tmp/signet-witnessed-bench}"
duration="${DURATION:-30}"
warmup="${WARMUP:-3}"
rm -rf "$out"
mkdir -p "$out"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

up() {
  for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
  echo "not up: $1" >&2
  exit 1
}

# bench NAME PORT [SERVER FLAGS...]: a server on DATA dir NAME's log, one bench run against it.
bench() {
  local name=$1 port=$2 data=$3
  shift 3
  "$signet" server --listen "127.0.0.1:$port" --data-dir "$out/$data" "$@" >"$out/$name.out" 2>"$out/$name.server.err" &
  local pid=$!
  up "http://127.0.0.1:$port/healthz"
  "$signet" bench log --url "http://127.0.0.1:$port/rekor" --server-pid "$pid" \
    --duration "$duration" --warmup "$warmup" >"$out/$name.txt" 2>"$out/$name.err"
  curl -s "http://127.0.0.1:$port/rekor/metrics" >"$out/$name.metrics"
  kill -TERM "$pid"
  wait "$pid" || true
}

# The witnessed log's first start makes its key; the witnesses are told its origin and vkey.
"$signet" server --listen 127.0.0.1:3962 --data-dir "$out/witnessed" >/dev/null 2>"$out/first.err" &
pid=$!
up http://127.0.0.1:3962/healthz
kill -TERM "$pid"
wait "$pid" || true
line=$(grep -o 'origin [^,]*, vkey [^)]*' "$out/first.err")
origin=$(echo "$line" | sed 's/origin \([^,]*\),.*/\1/')
vkey=$(echo "$line" | sed 's/.*vkey //')
for i in 1 2; do
  "$signet" witness --listen "127.0.0.1:397$i" --data-dir "$out/w$i" --name "witness.bench/w$i" \
    --log "$origin $vkey" >/dev/null 2>"$out/w$i.err" &
  pids+=($!)
done
up http://127.0.0.1:3971/
up http://127.0.0.1:3972/
{
  echo "witness w1 $(cat "$out/w1/witness.vkey") http://127.0.0.1:3971"
  echo "witness w2 $(cat "$out/w2/witness.vkey") http://127.0.0.1:3972"
  echo "group both all w1 w2"
  echo "quorum both"
} >"$out/policy.txt"

bench plain1 3961 plain
bench witnessed1 3962 witnessed --witness-policy "$out/policy.txt"
bench plain2 3961 plain
bench witnessed2 3962 witnessed --witness-policy "$out/policy.txt"
bench held 3962 witnessed --witness-policy "$out/policy.txt" --on-missed-quorum hold

for name in plain1 witnessed1 plain2 witnessed2 held; do
  echo "== $name"
  grep -E 'entries/s sustained|latency p50|latency p99 |errors|server CPU time in window' "$out/$name.txt"
  grep -E '^signet_log_(batches_total|witness_rounds_total|witness_request_seconds_(sum|count))' "$out/$name.metrics" || true
done
