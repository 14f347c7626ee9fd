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
#                       generator on CPU 1 unless BENCH_PIN=0; after
#                       bench_own_mariadb, WHAT and the load generator on
#                       CPU 0 and the database alone on CPU 1: sets
#                       pin_server, pin_gen and pinning (a description)
#   bench_own_mariadb   starts a MariaDB of the benchmark's own, its data
#                       in $tmp/mariadb, pinned on CPU 1, and points
#                       AFTERSALES_BENCH_MYSQL_DSN at it: the database
#                       gets a core of its own, as on a host of its own;
#                       sets own_db_pid (stop_own_mariadb stops it)
#   stop_process PID    stops a process the script started, and reaps it
#   bench_cleanup STATUS
#                       the script's end, for its EXIT trap
#                       (trap 'bench_cleanup $?' EXIT): stops the server
#                       ($server_pid), runs the script's
#                       bench_cleanup_more when it defines one (its other
#                       processes and databases), drops the database it
#                       created ($db, unless keep_db=1), stops
#                       bench_own_mariadb's MariaDB, keeps only the end of
#                       each server log and removes the binaries unless
#                       BENCH_KEEP=1, says where the logs are on failure,
#                       and exits with STATUS
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

bench_cleanup() {
  local rc=$1 f
  stop_process "${server_pid:-}"
  if declare -F bench_cleanup_more >/dev/null; then
    bench_cleanup_more
  fi
  if [ "${db_created:-0}" = 1 ] && [ "${keep_db:-0}" = 0 ]; then
    "$bench" dropdb -dsn "$dsn" -db "$db" || log "could not drop database $db"
  fi
  stop_own_mariadb
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    # A server's per-call log is large; keep its end.
    for f in "$tmp"/*server*.log; do
      if [ -f "$f" ]; then tail -n 200 "$f" >"$f.tail" && rm -f "$f"; fi
    done
    rm -f "$tmp/aftersales" "$tmp/aftersales-base" "$tmp/bench"
  fi
  if [ "$rc" -ne 0 ]; then
    log "FAILED (exit $rc); logs in $tmp"
  fi
  exit "$rc"
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

# bench_own_mariadb: a database host's settings, those README.md's
# "Database settings for sustained writes" gives a deployment (1 GiB of
# redo, io capacity 1000/2000, a 2 GiB buffer pool, no neighbour
# flushing, flush at every commit), the data under $tmp, on the first
# free port from 3316, root without a password over TCP. Not the
# compiled-in defaults: on one core with 96 MiB of redo, a full run's
# writes filled the redo to 85% and InnoDB stopped (2026-12-03: for 100 s
# neither the log nor the checkpoint moved, 7 page writes pending, the
# core busy, every writer waiting). Needs root (mariadbd runs as root
# here) and taskset.
bench_own_mariadb() {
  command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ] || {
    log "a database core of its own needs taskset and 2 CPUs"
    return 1
  }
  ensure_mariadb >/dev/null # installs the package when missing
  local d="$tmp/mariadb" port=3316
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  mkdir -p "$d/data"
  mariadb-install-db --no-defaults --datadir="$d/data" --user=root --auth-root-authentication-method=normal \
    --skip-test-db >"$d/install.log" 2>&1
  taskset -c 1 mariadbd --no-defaults --datadir="$d/data" --socket="$d/mysqld.sock" --pid-file="$d/mysqld.pid" \
    --port="$port" --bind-address=127.0.0.1 --user=root --skip-name-resolve --max-connections=400 \
    --innodb-log-file-size=1G --innodb-io-capacity=1000 --innodb-io-capacity-max=2000 \
    --innodb-buffer-pool-size=2G --innodb-flush-neighbors=0 \
    --log-error="$d/error.log" </dev/null >/dev/null 2>&1 &
  own_db_pid=$!
  for _ in $(seq 1 120); do
    mariadb --socket="$d/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb --socket="$d/mysqld.sock" -uroot -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION" || {
    log "the benchmark's own MariaDB did not start: $(tail -n 5 "$d/error.log" 2>/dev/null)"
    return 1
  }
  export AFTERSALES_BENCH_MYSQL_DSN="root@tcp(127.0.0.1:$port)/"
  log "own MariaDB on 127.0.0.1:$port (pid $own_db_pid), pinned on CPU 1"
}

stop_own_mariadb() {
  stop_process "${own_db_pid:-}"
  own_db_pid=""
  rm -rf "$tmp/mariadb"
}

bench_mysql_info() {
  mysql_version="" mysql_flush_log_at_trx_commit="" mysql_settings="" mysql_buffer_pool_mib=0 mysqld_pid=0
  eval "$("$bench" info -dsn "$dsn")"
}

# The server side on CPU 0, the load generator on CPU 1, mysqld wherever
# the kernel puts it (the machine's MariaDB is not ours to pin). Go sizes
# GOMAXPROCS to the affinity mask, so the server runs with GOMAXPROCS=1.
# With a MariaDB of the benchmark's own on CPU 1, the server (or the raw
# baseline standing in for it) shares CPU 0 with the load generator.
bench_pin() {
  pin_server=() pin_gen=()
  if [ -n "${own_db_pid:-}" ]; then
    pin_server=(taskset -c 0)
    pin_gen=(taskset -c 0)
    pinning="mysqld (the benchmark's own MariaDB) alone on CPU 1; $1 and the load generator on CPU 0 (GOMAXPROCS=1 each)"
  elif [ "${BENCH_PIN:-1}" != 0 ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
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
