#!/usr/bin/env bash
# Benchmarks a campaign launch against MySQL (MariaDB): a RECALL over
# 100k products of a database holding 1M tickets, how fast the launch
# worker reaches them (products/s: one target row and one RECALL ticket
# each, with its timeline entry, audit record and change-feed event), and
# what the launch does to the latency of CreateTicket calls made at the
# same time. It asserts nothing: it exits non-zero only when the benchmark
# itself cannot run.
#
#   scripts/bench-campaign.sh          200k products (100k targeted), 1M tickets
#   scripts/bench-campaign.sh --quick  20k products (10k targeted), 100k tickets
#
# What it does, with the pieces of scripts/bench.sh (lib-mariadb.sh,
# lib-bench.sh, scripts/bench): builds the server and scripts/bench;
# creates its own database on MariaDB (dropped at the end), migrates it,
# seeds staff and N customers with one product each, four models in turn
# (bench seed -base), then the tickets; issues a key per agent and one for
# the manager; starts the server as in production (authentication on,
# rate limits out of reach, --campaign-batch from BENCH_CAMPAIGN_BATCH,
# default the server's) pinned to CPU 0, the load generator on CPU 1; then
# bench campaign: CreateTicket at BENCH_CAMPAIGN_RATE (100/s) open loop for
# 20 s, then the recall of models WM-8000 and RF-300 (half the products)
# is created, previewed and launched with the previewed count confirmed,
# and polled each second until ACTIVE, the load going on, and 10 s after.
#
# Environment: BENCH_PIN=0 disables pinning; BENCH_KEEP=1 keeps the
# server log and binaries; AFTERSALES_BENCH_MYSQL_DSN picks the MySQL.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for arg in "$@"; do
  case $arg in
  --quick) quick=1 ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "bench-campaign.sh: unknown argument $arg (want --quick)" >&2
    exit 2
    ;;
  esac
done
if [ "$quick" = 1 ]; then
  customers=20000 tickets=100000
else
  customers=200000 tickets=1000000
fi
rate=${BENCH_CAMPAIGN_RATE:-100}

# shellcheck source=scripts/lib-mariadb.sh
source scripts/lib-mariadb.sh
# shellcheck source=scripts/lib-bench.sh
source scripts/lib-bench.sh
log() { printf 'bench-campaign.sh: %s\n' "$*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aftersales-bench-campaign.XXXXXX")
db="aftersales_bench_campaign_$$_$RANDOM"
server_pid="" db_created=0 dsn=""

trap 'bench_cleanup $?' EXIT
trap 'exit 130' INT TERM

bench_build
bench_database "$db"
bench_pin "server"

log "database $db: migrating, seeding $customers customers with a product each and $tickets tickets, issuing keys"
"$server" migrate --database-url "$url" 2>>"$tmp/migrate.log"
"$bench" seed "${dbargs[@]}" -base -customers "$customers" >"$tmp/agents.txt"
: >"$tmp/keys.txt"
n=0
while read -r agent; do
  n=$((n + 1))
  "$server" keys create --staff "$agent" --name "bench seat $n" --database-url "$url" >>"$tmp/keys.txt" 2>>"$tmp/keys.log"
done <"$tmp/agents.txt"
manager=$("$bench" manager "${dbargs[@]}")
manager_key=$("$server" keys create --staff "$manager" --name "bench manager" --database-url "$url" 2>>"$tmp/keys.log")
seed_start=$(date +%s)
"$bench" seed "${dbargs[@]}" -tickets "$tickets"
log "seeded in $(($(date +%s) - seed_start)) s"

batch_args=()
if [ -n "${BENCH_CAMPAIGN_BATCH:-}" ]; then
  batch_args=(--campaign-batch "$BENCH_CAMPAIGN_BATCH")
fi
"${pin_server[@]}" "$server" --database-url "$url" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
  --rate-limit 1000000 --rate-burst 1000000 --log-level info \
  --campaign-confirm-above 1000000 "${batch_args[@]}" 2>"$tmp/server.log" &
server_pid=$!
grpc_addr="" http_addr=""
eval "$("$bench" wait -log "$tmp/server.log" -pid "$server_pid")"
log "server pid $server_pid: gRPC $grpc_addr, HTTP $http_addr"

{
  echo "== aftersales campaign launch benchmark$([ "$quick" = 1 ] && echo " (--quick)") =="
  echo "MySQL: $mysql_version, innodb_flush_log_at_trx_commit=$mysql_flush_log_at_trx_commit; $mysql_settings"
  echo "Machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; pinning: $pinning"
  "${pin_gen[@]}" "$bench" campaign "${dbargs[@]}" -grpc "$grpc_addr" -keys "$tmp/keys.txt" \
    -manager-key "$manager_key" -rate "$rate"
  echo "Machine load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$tmp/report.txt"
