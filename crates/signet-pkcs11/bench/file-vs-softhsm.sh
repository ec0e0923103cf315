#!/usr/bin/env bash
# File keys vs SoftHSM keys, one sitting: signet bench ca / log / tsa against a server at --url.
set -euo pipefail
S=${SIGNET:-./target/release/signet}
B=${BENCH_DIR:-/tmp/p11bench}; rm -rf $B; mkdir -p $B/tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' $B > $B/softhsm2.conf
export SOFTHSM2_CONF=$B/softhsm2.conf
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
echo 1234 > $B/pin; chmod 600 $B/pin
M=/usr/lib/softhsm/libsofthsm2.so
u() { echo "pkcs11:token=bench;object=$1;id=%$2?module-path=$M&pin-source=file:$B/pin"; }
for k in ca:01:ecdsa-p256 ct:02:ecdsa-p256 log:03:ed25519 rekor1:04:ecdsa-p256 tsa:05:ecdsa-p256 tuf:06:ecdsa-p256; do
  IFS=: read -r name id type <<<"$k"; $S pkcs11 keygen --uri "$(u $name $id)" --type $type >/dev/null
done
TOKEN_FLAGS=(--ca-key-uri "$(u ca 01)" --ct-key-uri "$(u ct 02)" --log-key-uri "$(u log 03)" --rekor1-key-uri "$(u rekor1 04)" --tsa-key-uri "$(u tsa 05)" --tuf-key-uri "$(u tuf 06)")
run() { # name port flags...
  local name=$1 port=$2; shift 2
  $S server --dev-oidc --listen 127.0.0.1:$port --data-dir $B/$name "$@" > $B/$name.out 2> $B/$name.err &
  local pid=$!
  for _ in $(seq 100); do grep -q listening $B/$name.out 2>/dev/null && break; sleep 0.2; done
  local url=http://127.0.0.1:$port
  echo "=== $name: ca"; $S bench ca --url $url --trusted-root $B/$name/trusted_root.json --server-pid $pid --duration 10 --warmup 2 --concurrency 64 2>&1 | tail -25
  echo "=== $name: log"; $S bench log --url $url/rekor --server-pid $pid --duration 10 --warmup 2 --concurrency 256 2>&1 | tail -25
  echo "=== $name: tsa"; $S bench tsa --url $url/tsa --trusted-root $B/$name/trusted_root.json --server-pid $pid --duration 10 --warmup 2 --concurrency 64 2>&1 | tail -25
  kill $pid; wait $pid || true
}
run file 3991
run token 3992 "${TOKEN_FLAGS[@]}"
