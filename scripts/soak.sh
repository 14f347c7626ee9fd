#!/usr/bin/env bash
# Soak test against MySQL (MariaDB): minutes of mixed traffic at 80% of
# the measured capacity, to show what hours in production would: errors
# that only come with time, memory or goroutines that creep up. It prints
# a line a minute (calls, errors by gRPC code, p50/p99 latency, the
# server's RSS and goroutines) and a verdict: zero errors, RSS and
# goroutines flat (the last minute within 10% of the second). It asserts
# nothing: it exits non-zero only when the soak itself cannot run.
#
#   scripts/soak.sh               10 minutes
#   scripts/soak.sh --minutes 2   (or SOAK_MINUTES=2)
#   scripts/soak.sh --fraction 0.5 (or SOAK_FRACTION): the rate, of capacity
#
# The mix (bench soak, in scripts/bench/soak.go) is a call center's day,
# each kind one call over gRPC with an agent's key: tickets created, read,
# listed, commented on, and taken through their life (assigned to a
# technician, accepted, started, resolved, their automatic follow-up found
# and completed with a survey, which closes them); complaints filed, read,
# listed, acknowledged and commented on. Capacity is a closed loop of the
# mix at 32 workers (SOAK_CAPACITY, default 20s, after 5 s of warm-up);
# the soak is an open loop at the fraction of it, so latency includes any
# queueing when the server falls behind.
#
# Set-up as scripts/bench.sh (scripts/lib-bench.sh): builds the server and
# scripts/bench; MariaDB on 127.0.0.1:3306 (or AFTERSALES_BENCH_MYSQL_DSN);
# a database of its own (dropped at the end), migrated with `aftersales
# migrate`, seeded with 2000 customers, staff and SOAK_TICKETS (10000)
# tickets, one API key per agent; the server started as in production
# (authentication on, JSON log at info, rate limits out of reach, --pprof
# for the idle server's goroutine dump at the end) with the
# server on CPU 0 and the load generator on CPU 1 (BENCH_PIN=0: no
# pinning). Goroutines come from the server's /metrics, RSS from
# /proc/PID/status. BENCH_KEEP=1 keeps the server log and binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${SOAK_MINUTES:-10}
fraction=${SOAK_FRACTION:-0.8}
capacity=${SOAK_CAPACITY:-20s}
tickets=${SOAK_TICKETS:-10000}
while [ $# -gt 0 ]; do
  case $1 in
  --minutes) minutes=${2:?--minutes needs a value}; shift ;;
  --minutes=*) minutes=${1#*=} ;;
  --fraction) fraction=${2:?--fraction needs a value}; shift ;;
  --fraction=*) fraction=${1#*=} ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "soak.sh: unknown argument $1 (want --minutes N, --fraction F)" >&2
    exit 2
    ;;
  esac
  shift
done

# shellcheck source=scripts/lib-mariadb.sh
source scripts/lib-mariadb.sh
# shellcheck source=scripts/lib-bench.sh
source scripts/lib-bench.sh
log() { printf 'soak.sh: %s\n' "$*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aftersales-soak.XXXXXX")
db="aftersales_soak_$$_$RANDOM"
server_pid="" db_created=0 dsn=""

trap 'bench_cleanup $?' EXIT
trap 'exit 130' INT TERM

bench_build
bench_database "$db"
bench_pin "server"

log "database $db: migrating, seeding 2000 customers and $tickets tickets, issuing keys"
"$server" migrate --database-url "$url" 2>>"$tmp/migrate.log"
"$bench" seed "${dbargs[@]}" -base -customers 2000 >"$tmp/agents.txt"
: >"$tmp/keys.txt"
n=0
while read -r agent; do
  n=$((n + 1))
  "$server" keys create --staff "$agent" --name "soak seat $n" --database-url "$url" >>"$tmp/keys.txt" 2>>"$tmp/keys.log"
done <"$tmp/agents.txt"
"$bench" seed "${dbargs[@]}" -tickets "$tickets"

"${pin_server[@]}" "$server" --database-url "$url" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
  --rate-limit 1000000 --rate-burst 1000000 --log-level info --pprof 2>"$tmp/server.log" &
server_pid=$!
grpc_addr="" http_addr=""
eval "$("$bench" wait -log "$tmp/server.log" -pid "$server_pid")"
log "server pid $server_pid: gRPC $grpc_addr, HTTP $http_addr"

{
  echo "== aftersales soak: $minutes minutes at $fraction of capacity =="
  echo "MySQL: $mysql_version, innodb_flush_log_at_trx_commit=$mysql_flush_log_at_trx_commit; $mysql_settings"
  echo "Machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; pinning: $pinning"
  echo "Data: 2000 customers, 18 staff, $tickets tickets at the start; 8 agent keys (connection i uses key i mod 8)"
  "${pin_gen[@]}" "$bench" soak "${dbargs[@]}" -grpc "$grpc_addr" -http "$http_addr" -keys "$tmp/keys.txt" \
    -server-pid "$server_pid" -minutes "$minutes" -fraction "$fraction" -capacity "$capacity" \
    -goroutine-dump "$tmp/goroutines-idle.txt"
  echo "Machine load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "Logs: $tmp"
} | tee "$tmp/report.txt"
