#!/usr/bin/env bash
# Figures for BENCHMARKS.md ("Two front ends on one PostgreSQL"), in one sitting:
#
# 1. SQLite, one server: `signet bench log` with $SQLITE_BEFORE (a build of the commit before the
#    appender was split; skipped when unset) and with this build, interleaved (before, after,
#    before, after);
# 2. two `signet server` front ends on one PostgreSQL (a private cluster on port 3990, started
#    here with pg_stat_statements), loaded at once by two `signet bench log` processes (one per
#    front end, --concurrency 128 each): entries/s summed, p99 each; pg_stat_statements,
#    pg_stat_database and pg_stat_activity samples saved beside the reports, and a perf profile
#    of the integrating front end when `perf` is installed;
# 3. failover: a light load (--rate 500) through the front end that does not integrate, the
#    integrator SIGKILLed; the time until the survivor serves a checkpoint larger than the one
#    stored at the kill.
#
#   SQLITE_BEFORE=/path/to/old/signet crates/signet-bench/frontends.sh   # DURATION=30 WARMUP=3
#
# Ports 3981-3983 and 3990 must be free. Runs PostgreSQL as $PGUSER_RUN (default postgres) when
# root.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
signet="${SIGNET:-$root/target/release/signet}"
before="${SQLITE_BEFORE:-}"
out="${OUT:-/tmp/signet-frontends-bench}"
duration="${DURATION:-30}"
warmup="${WARMUP:-3}"
pgbin="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
rm -rf "$out"
mkdir -p "$out"
chmod 755 "$out"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$out/pg/data" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "${PGUSER_RUN:-postgres}" -- "$@"; else "$@"; fi
}
up() {
  for _ in $(seq 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
  echo "not up: $1" >&2
  exit 1
}
sql() { psql -X -q -A -t -h 127.0.0.1 -p 3990 -U signet -d bench -c "$1"; }
report() {
  grep -E 'entries/s sustained|latency p50|latency p99 |errors|server CPU time in window' "$1" || true
}

# 1. SQLite, before and after.
sqlite_run() {
  local name=$1 bin=$2
  "$bin" server --listen 127.0.0.1:3981 --data-dir "$out/$name" >/dev/null 2>"$out/$name.server.err" &
  local pid=$!
  up http://127.0.0.1:3981/healthz
  "$bin" bench log --url http://127.0.0.1:3981/rekor --server-pid "$pid" \
    --duration "$duration" --warmup "$warmup" >"$out/$name.txt" 2>"$out/$name.err"
  kill -TERM "$pid"
  wait "$pid" || true
}
for i in 1 2; do
  if [ -n "$before" ]; then sqlite_run "sqlite-before$i" "$before"; fi
  sqlite_run "sqlite-after$i" "$signet"
done

# 2. PostgreSQL with two front ends.
mkdir -p "$out/pg"
chown "${PGUSER_RUN:-postgres}" "$out/pg" 2>/dev/null || true
as_pg "$pgbin/initdb" -D "$out/pg/data" -U signet --auth=trust --encoding=UTF8 --locale=C >/dev/null
as_pg "$pgbin/pg_ctl" -D "$out/pg/data" -l "$out/pg/server.log" -w -o \
  "-c port=3990 -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c shared_buffers=128MB -c max_connections=200 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" \
  start >/dev/null
psql -X -q -h 127.0.0.1 -p 3990 -U signet -d postgres -c 'CREATE DATABASE bench'
sql 'CREATE EXTENSION pg_stat_statements'
db=postgres://signet@127.0.0.1:3990/bench

"$signet" server --listen 127.0.0.1:3982 --data-dir "$out/a" --database "$db" >/dev/null 2>"$out/first.err" &
pid=$!
up http://127.0.0.1:3982/healthz
kill -TERM "$pid"
wait "$pid" || true
cp -a "$out/a" "$out/b"
"$signet" server --listen 127.0.0.1:3982 --data-dir "$out/a" --database "$db" >/dev/null 2>"$out/a.server.err" &
pid_a=$!
pids+=("$pid_a")
"$signet" server --listen 127.0.0.1:3983 --data-dir "$out/b" --database "$db" >/dev/null 2>"$out/b.server.err" &
pid_b=$!
pids+=("$pid_b")
up http://127.0.0.1:3982/healthz
up http://127.0.0.1:3983/healthz
sleep 3 # one of them takes the lease
integrator() {
  if curl -s http://127.0.0.1:3982/healthz | grep -q '"rekor":{"integrator":true'; then echo a; else echo b; fi
}
holder=$(integrator)
holder_pid=$([ "$holder" = a ] && echo "$pid_a" || echo "$pid_b")
echo "integrator: $holder (pid $holder_pid)" >"$out/pg-roles.txt"

# CPU seconds (user + system) of a set of processes, and of the whole machine, from /proc.
cpu_of() {
  local total=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
machine_cpu() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
pg_pids() { pgrep -P "$(head -1 "$out/pg/data/postmaster.pid")" | tr '\n' ' '; }
tick=$(getconf CLK_TCK)

sql 'SELECT pg_stat_statements_reset()' >/dev/null
sql "SELECT xact_commit, blks_hit, blks_read, tup_inserted FROM pg_stat_database WHERE datname = 'bench'" >"$out/pg-stat-database-before.txt"
(
  sleep "$warmup"
  for _ in $(seq "$duration"); do
    sql "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu'), count(*) FROM pg_stat_activity WHERE datname = 'bench' GROUP BY 1, 2 ORDER BY 3 DESC" >>"$out/pg-stat-activity.txt"
    echo "--" >>"$out/pg-stat-activity.txt"
    sleep 1
  done
) &
sampler=$!
"$signet" bench log --url http://127.0.0.1:3982/rekor --server-pid "$pid_a" --concurrency 128 \
  --duration "$duration" --warmup "$warmup" >"$out/pg-a.txt" 2>"$out/pg-a.err" &
bench_a=$!
"$signet" bench log --url http://127.0.0.1:3983/rekor --server-pid "$pid_b" --concurrency 128 \
  --duration "$duration" --warmup "$warmup" >"$out/pg-b.txt" 2>"$out/pg-b.err" &
bench_b=$!
# Where the CPU goes over the measured window: PostgreSQL's backends, the two servers, the two
# load generators, and the whole machine (other work included). The load generators pre-sign
# their entries first: the window starts once the log grows, plus the warmup.
until [ "$(curl -s http://127.0.0.1:3982/rekor/checkpoint | sed -n 2p)" -gt 2000 ] 2>/dev/null; do sleep 0.2; done
sleep "$warmup"
if command -v perf >/dev/null; then
  (perf record -F 499 -g -p "$holder_pid" -o "$out/perf.data" -- sleep 10 >/dev/null 2>&1 || true) &
fi
pg0=$(cpu_of $(pg_pids)); srv0=$(cpu_of "$pid_a" "$pid_b"); gen0=$(cpu_of "$bench_a" "$bench_b"); all0=$(machine_cpu)
sleep "$((duration - 2))"
pg1=$(cpu_of $(pg_pids)); srv1=$(cpu_of "$pid_a" "$pid_b"); gen1=$(cpu_of "$bench_a" "$bench_b"); all1=$(machine_cpu)
python3 -c "
t, w = $tick, $((duration - 2))
for name, a, b in (('PostgreSQL', $pg0, $pg1), ('servers', $srv0, $srv1), ('load generators', $gen0, $gen1), ('whole machine', $all0, $all1)):
    print(f'{name}: {(b - a) / t / w:.2f} cores')
" >"$out/pg-cpu.txt"
wait "$bench_a" "$bench_b"
wait "$sampler" || true
sleep 1
sql "SELECT xact_commit, blks_hit, blks_read, tup_inserted FROM pg_stat_database WHERE datname = 'bench'" >"$out/pg-stat-database-after.txt"
sql "SELECT calls, round(total_exec_time::numeric, 1) AS ms, round(mean_exec_time::numeric, 3) AS mean_ms, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15" >"$out/pg-stat-statements.txt"
curl -s http://127.0.0.1:3982/rekor/metrics >"$out/a.metrics"
curl -s http://127.0.0.1:3983/rekor/metrics >"$out/b.metrics"
if [ -f "$out/perf.data" ]; then
  perf report -i "$out/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 >"$out/perf-by-dso.txt" || true
  perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 >"$out/perf-by-symbol.txt" || true
fi

# 3. Failover under light load through the other front end.
holder=$(integrator)
if [ "$holder" = a ]; then victim=$pid_a; survivor=3983; else victim=$pid_b; survivor=3982; fi
"$signet" bench log --url "http://127.0.0.1:$survivor/rekor" --rate 500 --duration 15 --warmup 1 \
  >"$out/failover-load.txt" 2>"$out/failover-load.err" &
load=$!
sleep 5
kill -KILL "$victim"
t0=$(date +%s.%N)
stored=$(sql 'SELECT tree_size FROM signet.checkpoint')
while :; do
  size=$(curl -s "http://127.0.0.1:$survivor/rekor/checkpoint" | sed -n 2p)
  if [ "${size:-0}" -gt "$stored" ]; then break; fi
  sleep 0.01
done
t1=$(date +%s.%N)
wait "$load" || true
echo "failover: $(python3 -c "print(round($t1 - $t0, 3))") s from SIGKILL of the integrator to a larger checkpoint at the survivor (stored size at the kill $stored)" >"$out/failover.txt"

for name in sqlite-before1 sqlite-after1 sqlite-before2 sqlite-after2 pg-a pg-b; do
  [ -f "$out/$name.txt" ] || continue
  echo "== $name"
  report "$out/$name.txt"
done
echo "== PostgreSQL"
cat "$out/pg-roles.txt"
echo "pg_stat_database (xact_commit, blks_hit, blks_read, tup_inserted) before/after:"
cat "$out/pg-stat-database-before.txt" "$out/pg-stat-database-after.txt"
grep -E '^signet_log_(batches_total|entries_total|is_integrator|commit_seconds_total)' "$out/a.metrics" "$out/b.metrics" || true
echo "CPU over the window (2 cores in all):"
cat "$out/pg-cpu.txt"
echo "== pg_stat_statements (calls, total ms, mean ms, rows, query)"
cat "$out/pg-stat-statements.txt"
echo "== failover"
cat "$out/failover.txt"
report "$out/failover-load.txt"
