# shellcheck shell=bash
# Set-up shared by the benchmark scripts (scripts/bench.sh,
# bench-reports.sh, bench-console.sh, soak.sh, failover.sh); source it
# after scripts/lib-mariadb.sh, with $tmp set and a log function.
#
#   bench_build         builds the server and scripts/bench into $tmp:
#                       sets server and bench
#   bench_database NAME makes MariaDB answer (or uses
#                       AFTERSALES_BENCH_MYSQL_DSN), reads its version and
#                       settings, and creates database NAME: sets dsn, url,
#                       dbargs, db_created=1 and the mysql_* variables
#   bench_mysql_info    reads the version and settings of the MySQL server
#                       at $dsn: sets the mysql_* variables and mysqld_pid
#   bench_pin WHAT      pins WHAT (the server side) on CPU 0 and the load
#                       generator on CPU 1 unless BENCH_PIN=0: sets
#                       pin_server, pin_gen and pinning (a description)
#   stop_process PID    stops a process the script started, and reaps it
#   has_flag BIN FLAG   whether BIN -h lists FLAG
#
# The reports' data and server (bench-reports.sh, bench-console.sh), on
# the database of url and dbargs (bench_database sets them):
#
#   reports_base CUSTOMERS KEYNAME
#                       migrates the database, seeds staff and CUSTOMERS
#                       customers with a product each, and issues a MANAGER
#                       key named KEYNAME into $tmp/keys.txt
#   reports_seed TICKETS
#                       adds tickets over two years, with their follow-ups
#                       and complaints, until the table holds TICKETS:
#                       sets seed_s (how long it took, in seconds)
#   reports_server LOG  starts the server as in production (authentication
#                       on), pinned with pin_server, with
#                       --report-rollup-interval 1s and a rate limit it
#                       never reaches, its log in LOG; waits until it
#                       serves: sets server_pid, grpc_addr and http_addr

# shellcheck disable=SC2034 # the variables are for the sourcing script

# has_flag binary flag: whether binary's -h lists flag. The help is read
# whole first: "binary -h | grep -q" under pipefail fails whenever grep
# exits at the match before the binary has written the rest (SIGPIPE).
has_flag() {
  local help
  help=$("$1" -h 2>&1) || true
  grep -q -- "$2" <<<"$help"
}

stop_process() {
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

bench_build() {
  log "building the server and the load generator"
  go build -o "$tmp/aftersales" ./server
  go build -o "$tmp/bench" ./scripts/bench
  bench="$tmp/bench"
  server="$tmp/aftersales"
}

bench_database() {
  if [ -n "${AFTERSALES_BENCH_MYSQL_DSN:-}" ]; then
    dsn=$AFTERSALES_BENCH_MYSQL_DSN
  else
    ensure_mariadb
    dsn=$MARIADB_DSN
  fi
  bench_mysql_info
  "$bench" createdb -dsn "$dsn" -db "$1"
  db_created=1
  url=$("$bench" dburl -dsn "$dsn" -db "$1")
  dbargs=(-dsn "$dsn" -db "$1")
}

bench_mysql_info() {
  mysql_version="" mysql_flush_log_at_trx_commit="" mysql_settings="" mysqld_pid=0
  eval "$("$bench" info -dsn "$dsn")"
}

# The server side on CPU 0, the load generator on CPU 1, mysqld wherever
# the kernel puts it (it is not ours to pin). Go sizes GOMAXPROCS to the
# affinity mask, so the server runs with GOMAXPROCS=1.
bench_pin() {
  pin_server=() pin_gen=()
  if [ "${BENCH_PIN:-1}" != 0 ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    pin_server=(taskset -c 0)
    pin_gen=(taskset -c 1)
    pinning="$1 on CPU 0 (GOMAXPROCS=1), load generator on CPU 1, mysqld unpinned (taskset)"
  elif [ "${BENCH_PIN:-1}" = 0 ]; then
    pinning="none (BENCH_PIN=0): server, generator and mysqld share all $(nproc) CPUs"
  else
    pinning="none (taskset missing or fewer than 2 CPUs): server, generator and mysqld share all $(nproc) CPUs"
  fi
}

reports_base() {
  "$server" migrate --database-url "$url" 2>"$tmp/migrate.log"
  "$bench" seed "${dbargs[@]}" -base -customers "$1" >/dev/null
  "$server" keys create --role MANAGER --name "$2" --database-url "$url" >"$tmp/keys.txt" 2>>"$tmp/keys.log"
}

reports_seed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$bench" seed "${dbargs[@]}" -tickets "$1" -reports
  t1=$(date +%s.%N)
  seed_s=$(awk "BEGIN { print $t1 - $t0 }")
}

reports_server() {
  local flags=(--report-rollup-interval 1s)
  if has_flag "$server" --rate-limit; then
    flags+=(--rate-limit 1000000 --rate-burst 1000000)
  fi
  "${pin_server[@]}" "$server" --database-url "$url" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
    "${flags[@]}" 2>"$1" &
  server_pid=$!
  grpc_addr="" http_addr=""
  eval "$("$bench" wait -log "$1" -pid "$server_pid")"
}
