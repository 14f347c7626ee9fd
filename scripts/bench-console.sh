#!/usr/bin/env bash
# Measures the web console's first load at scale on MySQL (MariaDB): how
# long the dashboard (#/dashboard, the default 14 days) takes from
# navigation to its figures shown and its trend chart drawn, with nothing
# cached (a new browser context) and on a reload (assets cached); the API
# calls it makes, their server times (p50/p90/max) and the JavaScript it
# downloads; and how long the work queue takes to show its first rows
# with the default filter (the open states), one state (ASSIGNED) and all
# states. It prints min/median/max over the runs, with the data's size,
# the seeding and catch-up times and the machine's load. It asserts
# nothing: it exits non-zero only when the benchmark cannot run or a page
# fails to load (an error shown, or nothing after 30 s).
#
#   scripts/bench-console.sh                 1M tickets, 5 runs (~4 minutes seeding, ~8 counting on 2 CPUs)
#   scripts/bench-console.sh --quick         100k tickets (a few minutes in all)
#   scripts/bench-console.sh --tickets N     N tickets
#   scripts/bench-console.sh --runs N        N runs of the measurement (default 5)
#   scripts/bench-console.sh --database-url URL --key-file FILE
#                                            only measure a database seeded before
#                                            (see BENCH_KEEP_DB below)
#
# What it does, with the pieces of scripts/bench-reports.sh (lib-mariadb.sh,
# lib-bench.sh and the Go program scripts/bench): builds the server and
# scripts/bench; makes MariaDB answer on 127.0.0.1:3306 (or uses
# AFTERSALES_BENCH_MYSQL_DSN); creates its own database (dropped at the
# end) and migrates it; seeds staff, customers (N/50, at least 2000) and N
# tickets over two years with their follow-ups and complaints (bench seed
# -reports); issues a MANAGER key with `aftersales keys create`; starts
# the server as in production (authentication on, the console on its HTTP
# port) with --report-rollup-interval 1s and waits until its rollup loop
# has counted every row (bench reports-catchup), then until mysqld is idle
# (bench quiesce); then runs server/web/test/firstload.mjs: Debian's
# Chromium, headless, driven by playwright-core (see that file for what is
# measured and how). It installs chromium and the node modules when
# missing, like scripts/web-test.sh.
#
# Environment: BENCH_KEEP_DB=1 keeps the database and prints its URL, the
# key and the command that measures it again without seeding
# (--database-url URL --key-file FILE: the server is started on it, the
# rollups checked, nothing seeded or dropped); BENCH_KEEP=1 keeps the
# database too, and the binaries; BENCH_PIN=1 pins the server on CPU 0
# (GOMAXPROCS=1) and Chromium on CPU 1, mysqld unpinned. Unlike the other
# benchmarks nothing is pinned by default: one user loading a page is not
# a closed loop that must keep off the server's CPU, and on 2 CPUs pinning
# doubles the times (Chromium's processes on one CPU, the server's
# answers on one thread). CHROMIUM names the browser (default
# /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
tickets=1000000 runs=5 database_url="" key_file=""
while [ $# -gt 0 ]; do
  case $1 in
  --quick) tickets=100000 ;;
  --tickets | --runs | --database-url | --key-file)
    [ $# -ge 2 ] || {
      echo "bench-console.sh: $1 wants a value" >&2
      exit 2
    }
    case $1 in
    --tickets) tickets=$2 ;;
    --runs) runs=$2 ;;
    --database-url) database_url=$2 ;;
    --key-file) key_file=$(realpath "$2") ;;
    esac
    shift
    ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    echo "bench-console.sh: unknown argument $1 (see -h)" >&2
    exit 2
    ;;
  esac
  shift
done
for n in "$tickets" "$runs"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || {
    echo "bench-console.sh: $n is not a count" >&2
    exit 2
  }
done
if { [ -n "$database_url" ] && [ -z "$key_file" ]; } || { [ -z "$database_url" ] && [ -n "$key_file" ]; }; then
  echo "bench-console.sh: --database-url and --key-file go together" >&2
  exit 2
fi
if [ -n "$key_file" ] && [ ! -r "$key_file" ]; then
  echo "bench-console.sh: cannot read $key_file" >&2
  exit 2
fi
case $database_url in
"" | mysql:*) ;;
*)
  echo "bench-console.sh: --database-url must be a mysql: URL (as this script prints)" >&2
  exit 2
  ;;
esac

# shellcheck source=scripts/lib-mariadb.sh
source scripts/lib-mariadb.sh
# shellcheck source=scripts/lib-bench.sh
source scripts/lib-bench.sh
# shellcheck source=scripts/lib-web.sh
source scripts/lib-web.sh
log() { printf 'bench-console.sh: %s\n' "$*" >&2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aftersales-bench-console.XXXXXX")
db="aftersales_benchcon_$$_$RANDOM"
server_pid="" db_created=0 dsn=""
keep_db=0
if [ "${BENCH_KEEP_DB:-0}" = 1 ] || [ "${BENCH_KEEP:-0}" = 1 ]; then keep_db=1; fi

trap 'bench_cleanup $?' EXIT
trap 'exit 130' INT TERM

web_browser
web_node_modules
bench_build
if [ -z "$database_url" ]; then
  customers=$((tickets / 50 > 2000 ? tickets / 50 : 2000))
  bench_database "$db"
  log "database $db: migrating, seeding $customers customers and staff, issuing a MANAGER key"
  reports_base "$customers" "console benchmark"
  key_file=$tmp/keys.txt
  log "seeding $tickets tickets with complaints and follow-ups"
  reports_seed "$tickets"
else
  # The URL is "mysql:" and a go-sql-driver DSN with the database in it.
  url=$database_url dsn=${database_url#mysql:} params=""
  case $dsn in *\?*) params="?${dsn#*\?}" dsn=${dsn%%\?*} ;; esac
  db=${dsn##*/} dsn="${dsn%/*}/$params"
  dbargs=(-dsn "$dsn" -db "$db")
  bench_mysql_info
  seed_s=""
fi

BENCH_PIN=${BENCH_PIN:-0} bench_pin "server"
reports_server "$tmp/server.log"
log "server pid $server_pid (HTTP $http_addr): waiting for the rollup loop to count every row"
"$bench" reports-catchup "${dbargs[@]}" -label "$tickets" -seed-s "${seed_s:-0}" -out "$tmp/size.json"
"$bench" quiesce -mysqld-pid "$mysqld_pid" -max 60s
read -r n_tickets n_follow_ups n_complaints catchup_s < <(
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.tickets, r.follow_ups, r.complaints, r.catchup_s.toFixed(0))' "$tmp/size.json"
)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "measuring the console's first load, $runs runs (load average $load_before)"
"${pin_gen[@]}" node server/web/test/firstload.mjs --url "http://$http_addr" --key-file "$key_file" --runs "$runs" \
  --out "$tmp/firstload.json" >"$tmp/firstload.txt" || {
  rc=$?
  cat "$tmp/firstload.txt" # the runs done before the failure
  exit $rc
}
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

if [ -n "$seed_s" ]; then
  data_how="seeded in $(printf '%.0f' "$seed_s") s, counted by the rollup loop in $catchup_s s"
else
  data_how="seeded before (--database-url)"
fi
pinning=${pinning/load generator/Chromium} pinning=${pinning/generator/Chromium}
mysqld_text="mysqld pid $mysqld_pid"
[ "$mysqld_pid" != 0 ] || mysqld_text="mysqld not found on this machine"
{
  echo
  echo "== aftersales console first load =="
  echo "Data: $n_tickets tickets over 2 years, $n_follow_ups follow-ups, $n_complaints complaints; $data_how"
  echo "MySQL: $mysql_version, $mysql_settings; $mysqld_text"
  echo "Server: authentication on (a MANAGER API key), --report-rollup-interval 1s, HTTP/1.1 on loopback"
  echo "Browser: $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -1), headless, 1280x900, zh-CN"
  echo "Machine: $(nproc) CPUs, load average $load_before before, $load_after after; pinning: $pinning"
  echo "Times in ms from navigation start"
  echo
  cat "$tmp/firstload.txt"
  echo
  echo "Results and logs: $tmp"
} | tee "$tmp/report.txt"

if [ "$db_created" = 1 ] && [ "$keep_db" = 1 ]; then
  echo
  echo "Database kept: $url"
  echo "Key ($key_file): $(head -1 "$key_file")"
  echo "Measure it again: scripts/bench-console.sh --database-url '$url' --key-file $key_file"
  echo "Drop it: DROP DATABASE $db"
fi
