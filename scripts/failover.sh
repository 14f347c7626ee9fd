#!/usr/bin/env bash
# Failover test: a 3-node MariaDB Galera cluster (scripts/galera.sh) and 3
# server replicas, mixed writes through the Go client with retries and
# request ids, then one database node and one replica killed mid-load
# (bench failover, in scripts/bench/failover.go). Afterwards it checks:
#
#   - no duplicate creates (one row per logical create);
#   - no lost acknowledged writes (every acknowledged ticket is readable
#     with the state and priority last acknowledged), telling apart the
#     commits the database itself lost (below);
#   - background jobs ran where they should, once: every overdue ticket
#     breached its SLA and no target was breached or escalated twice,
#     every overdue complaint was escalated and no level twice, every
#     resolved ticket has one follow-up, the change feed numbered every
#     event in write order;
#   - clients saw only UNAVAILABLE or ABORTED meanwhile.
#
# It prints the figures (calls, errors by code, seconds of errors after
# each kill) and exits non-zero when a check fails. CI runs it; about two
# minutes.
#
#   scripts/failover.sh                     60 s of load (FAILOVER_SECONDS)
#
# Replica i prefers node i (its --database-url lists the nodes starting
# there), so all three nodes take writes and the killed node's replica
# must move. The background loops run every second so that they work
# during the run. A cluster already running on the galera.sh ports is
# reused (and left running); otherwise one is started and stopped.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."

# The database itself may lose a commit it acknowledged when a node dies:
# MariaDB Galera does now and then (README, "MariaDB Galera Cluster").
# bench failover tells that apart (the call's idempotency key and audit
# record, written in the call's own transaction, are missing too, and it
# was acknowledged through the killed node's replica in the 3 s before
# the kill) and exits 3 when it is all that went wrong. That is not the
# server's failure, so the test then runs once more from the start, and
# the second run must pass outright; both reports stay in the log.
if [ -z "${FAILOVER_ATTEMPT:-}" ]; then
  rc=0
  FAILOVER_ATTEMPT=1 bash "$self" "$@" || rc=$?
  [ "$rc" -eq 3 ] || exit "$rc"
  printf 'failover.sh: %s\n' "the database lost acknowledged commits and nothing else failed; running the test once more, which must pass" >&2
  rc=0
  FAILOVER_ATTEMPT=2 bash "$self" "$@" || rc=$?
  exit "$rc"
fi

seconds=${FAILOVER_SECONDS:-60}
log() { printf 'failover.sh: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib-bench.sh
source scripts/lib-bench.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aftersales-failover.XXXXXX")
db="aftersales_failover_$$_$RANDOM"
pids=() started_cluster=0 db_created=0
nodes=(127.0.0.1:4306 127.0.0.1:4307 127.0.0.1:4308)
admin_dsn="root@tcp(${nodes[0]})/"

cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do stop_process "$p"; done
  if [ "$db_created" = 1 ] && [ "$started_cluster" = 0 ]; then
    "$bench" dropdb -dsn "$admin_dsn" -db "$db" || log "could not drop database $db"
  fi
  if [ "$started_cluster" = 1 ]; then
    scripts/galera.sh stop
  fi
  if [ $rc -ne 0 ]; then
    log "FAILED (exit $rc); logs in $tmp"
  elif [ "${BENCH_KEEP:-0}" != 1 ]; then
    rm -rf "$tmp"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! mariadb --protocol=tcp -h127.0.0.1 -P4306 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
  log "starting a 3-node Galera cluster"
  scripts/galera.sh start >/dev/null
  started_cluster=1
fi
scripts/galera.sh status >&2

bench_build
"$bench" createdb -dsn "$admin_dsn" -db "$db"
db_created=1

# The node list starting at node i.
url_from() {
  local i=$1 list=() k
  for k in 0 1 2; do list+=("${nodes[$(((i + k) % 3))]}"); done
  local IFS=,
  echo "mysql://root@${list[*]}/$db"
}

log "database $db: migrating, seeding, issuing keys"
"$server" migrate --database-url "$(url_from 0)" 2>>"$tmp/migrate.log"
"$bench" seed -dsn "$admin_dsn" -db "$db" -base -customers 200 >"$tmp/agents.txt"
: >"$tmp/keys.txt"
n=0
while read -r agent; do
  n=$((n + 1))
  "$server" keys create --staff "$agent" --name "failover seat $n" --database-url "$(url_from 0)" >>"$tmp/keys.txt" 2>>"$tmp/keys.log"
done <"$tmp/agents.txt"
# Urgent tickets must be answered within 3 s (and HIGH complaints
# acknowledged within 3 s, --complaint-deadlines below), so the loops
# breach and escalate the ones nobody answers during the run.
mariadb --protocol=tcp -h127.0.0.1 -P4306 -uroot "$db" \
  -e "UPDATE sla_policies SET response_target_seconds = 3 WHERE priority = 4"

for i in 0 1 2; do
  "$server" --database-url "$(url_from "$i")" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
    --rate-limit 1000000 --rate-burst 1000000 --log-level info \
    --sla-check-interval 1s --complaint-check-interval 1s --qualification-check-interval 1s \
    --report-rollup-interval 1s --maintenance-interval 1s --campaign-interval 1s \
    --complaint-deadlines CRITICAL=1h/24h,HIGH=3s/1h,MEDIUM=24h/168h,LOW=24h/360h \
    2>"$tmp/server$i.log" &
  pids+=($!)
done
grpc=()
for i in 0 1 2; do
  grpc_addr="" http_addr=""
  eval "$("$bench" wait -log "$tmp/server$i.log" -pid "${pids[$i]}")"
  grpc+=("$grpc_addr")
  log "replica $i (pid ${pids[$i]}): gRPC $grpc_addr, HTTP $http_addr, prefers node ${nodes[$i]}"
done

set +e
{
  echo "== aftersales failover: 3 Galera nodes, 3 replicas, ${seconds}s of load (attempt $FAILOVER_ATTEMPT) =="
  echo "MariaDB: $(mariadb --protocol=tcp -h127.0.0.1 -P4306 -uroot -N -e 'SELECT VERSION()'); galera-4 $(dpkg-query -W -f='${Version}' galera-4 2>/dev/null || echo '?'); $(nproc) CPUs"
  IFS=, eval 'replicas="${grpc[*]}"'
  # Node 2 (:4307) is the one replica 1 (counting from 0) prefers.
  "$bench" failover -dsn "$admin_dsn" -db "$db" -replicas "$replicas" -keys "$tmp/keys.txt" \
    -c 16 -duration "${seconds}s" \
    -kill-db "scripts/galera.sh kill 2" -kill-db-replica 1 -kill-db-at "$((seconds / 4))s" \
    -replica-pid "${pids[2]}" -kill-replica-at "$((seconds / 2))s"
} | tee "$tmp/report.txt"
rc=${PIPESTATUS[0]}
set -e
if [ "$started_cluster" = 0 ]; then
  log "restarting node 2 so the cluster is whole again"
  scripts/galera.sh restart 2
fi
exit "$rc"
