#!/usr/bin/env bash
# Starts, stops or inspects a 3-node MariaDB Galera cluster on this machine,
# for tests and for trying a highly available deployment:
#
#   scripts/galera.sh start    # nodes on 127.0.0.1:4306, :4307, :4308
#   scripts/galera.sh status   # wsrep state of each node
#   scripts/galera.sh kill N   # SIGKILL node N (1-3), as a host failure
#   scripts/galera.sh restart N  # start node N again; it rejoins (IST/SST)
#   scripts/galera.sh env      # the test settings for this cluster
#   scripts/galera.sh stop     # stop all nodes and delete their data
#
# Each node has its own data directory under GALERA_DIR (default
# /tmp/aftersales-galera), its own client port (GALERA_PORT, default 4306,
# +1 per node) and group-communication port (4567, 4577, 4587; IST on
# +1). The wsrep provider is Debian's galera-4 (/usr/lib/galera/
# libgalera_smm.so); mariadb-server and galera-4 are installed with
# apt-get when missing (needs root). SST uses rsync, also installed when
# missing. Root logs in over TCP without a password on every node, as on
# a developer machine's MariaDB; do not expose these ports.
#
# `start` (and `env`) print the settings that point the test suite at the
# cluster, to eval:
#   export AFTERSALES_TEST_MYSQL_DSN='root@tcp(127.0.0.1:4306)/' \
#     AFTERSALES_TEST_MYSQL_HOSTS='127.0.0.1:4306,127.0.0.1:4307,127.0.0.1:4308'
# The server takes the same host list: --database-url
# 'mysql://root@127.0.0.1:4306,127.0.0.1:4307,127.0.0.1:4308/aftersales'.
set -euo pipefail

dir=${GALERA_DIR:-/tmp/aftersales-galera}
base_port=${GALERA_PORT:-4306}
provider=/usr/lib/galera/libgalera_smm.so
nodes=(1 2 3)

log() { printf 'galera.sh: %s\n' "$*" >&2; }

port() { echo $((base_port + $1 - 1)); }
gport() { echo $((4567 + ($1 - 1) * 10)); }
cluster_address() {
  local a=() n
  for n in "${nodes[@]}"; do a+=("127.0.0.1:$(gport "$n")"); done
  local IFS=,
  echo "gcomm://${a[*]}"
}

sql() { # node, statement
  mariadb --protocol=tcp -h127.0.0.1 -P"$(port "$1")" -uroot -N -e "$2"
}

install_missing() {
  local pkgs=()
  { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; } || pkgs+=(mariadb-server mariadb-client)
  [ -f "$provider" ] || pkgs+=(galera-4)
  command -v rsync >/dev/null 2>&1 || pkgs+=(rsync)
  if [ ${#pkgs[@]} -gt 0 ]; then
    log "installing ${pkgs[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${pkgs[@]}" >/dev/null
  fi
}

write_config() { # node
  local n=$1 d="$dir/node$1"
  mkdir -p "$d/data" "$d/run"
  chown -R mysql:mysql "$d"
  cat >"$d/my.cnf" <<EOF
[mariadbd]
datadir=$d/data
socket=$d/run/mysqld.sock
pid-file=$d/run/mysqld.pid
log-error=$d/error.log
bind-address=127.0.0.1
port=$(port "$n")
# The mysql user, not root: rsync SST's daemon drops root to nobody,
# which cannot write the joiner's data directory.
user=mysql
skip-name-resolve
# Galera replicates row events of InnoDB tables only.
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
# Small buffers: three nodes share one developer machine. Flushing at
# 2 keeps what a killed mysqld committed (the OS has it), which is what
# failover.sh does to a node; a deployment wants 1, since Galera can lose
# commits when nodes crash in quick succession (README).
innodb_buffer_pool_size=128M
innodb_log_file_size=64M
innodb_flush_log_at_trx_commit=2
max_connections=400
wsrep_on=ON
wsrep_provider=$provider
wsrep_cluster_name=aftersales
wsrep_cluster_address=$(cluster_address)
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:$(gport "$n")
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$(gport "$n");ist.recv_addr=127.0.0.1:$(($(gport "$n") + 1));gcache.size=64M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$(($(gport "$n") + 2))
wsrep_slave_threads=2
# A single-statement write that loses certification is retried by the
# node this often before the client sees a deadlock error.
wsrep_retry_autocommit=4
EOF
}

wait_ready() { # node
  local n=$1
  for _ in $(seq 1 120); do
    if [ "$(sql "$n" "SHOW STATUS LIKE 'wsrep_ready'" 2>/dev/null | awk '{print $2}')" = ON ]; then
      return 0
    fi
    sleep 0.5
  done
  log "node$n did not become ready; see $dir/node$n/error.log"
  tail -n 30 "$dir/node$n/error.log" >&2 || true
  return 1
}

start_node() { # node [--wsrep-new-cluster]
  local n=$1
  shift
  write_config "$n"
  # Only the first node needs a system schema; joiners get everything by
  # state transfer.
  if [ $# -gt 0 ] && [ ! -d "$dir/node$n/data/mysql" ]; then
    mariadb-install-db --defaults-file="$dir/node$n/my.cnf" --user=mysql --auth-root-authentication-method=normal \
      --skip-test-db >"$dir/node$n/install.log" 2>&1
  fi
  # Setsid: the node outlives this script and does not get its signals.
  setsid mariadbd --defaults-file="$dir/node$n/my.cnf" "$@" </dev/null >>"$dir/node$n/error.log" 2>&1 &
  wait_ready "$n"
}

pid_of() { cat "$dir/node$1/run/mysqld.pid" 2>/dev/null || true; }

hosts() {
  local a=() n
  for n in "${nodes[@]}"; do a+=("127.0.0.1:$(port "$n")"); done
  local IFS=,
  echo "${a[*]}"
}

case "${1:-}" in
start)
  install_missing
  if sql 1 'SELECT 1' >/dev/null 2>&1; then
    log "a cluster already answers on :$(port 1)"
  else
    rm -rf "$dir"
    mkdir -p "$dir"
    start_node 1 --wsrep-new-cluster
    start_node 2
    start_node 3
  fi
  # Passwordless root over TCP, as the tests expect.
  sql 1 "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION" 2>/dev/null || true
  log "cluster size $(sql 1 "SHOW STATUS LIKE 'wsrep_cluster_size'" | awk '{print $2}')"
  echo "export AFTERSALES_TEST_MYSQL_DSN='root@tcp(127.0.0.1:$(port 1))/' AFTERSALES_TEST_MYSQL_HOSTS='$(hosts)'"
  ;;
status)
  for n in "${nodes[@]}"; do
    printf 'node%s :%s ' "$n" "$(port "$n")"
    sql "$n" "SELECT CONCAT(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('WSREP_LOCAL_STATE_COMMENT','WSREP_CLUSTER_SIZE','WSREP_READY') ORDER BY VARIABLE_NAME" 2>/dev/null | paste -sd' ' || echo down
  done
  ;;
kill)
  n=${2:?node number}
  p=$(pid_of "$n")
  [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  rm -f "$dir/node$n/run/mysqld.pid"
  log "killed node$n${p:+ (pid $p)}"
  ;;
restart)
  n=${2:?node number}
  start_node "$n"
  ;;
stop)
  for n in "${nodes[@]}"; do
    p=$(pid_of "$n")
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$dir"
  ;;
env)
  echo "export AFTERSALES_TEST_MYSQL_DSN='root@tcp(127.0.0.1:$(port 1))/' AFTERSALES_TEST_MYSQL_HOSTS='$(hosts)'"
  ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
