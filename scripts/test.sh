#!/usr/bin/env bash
# Runs the whole test suite with the race detector, against the embedded
# SQLite and against MySQL (MariaDB). On a machine without MariaDB it
# installs it from Debian's packages (needs root) and starts it; a server
# already listening on 127.0.0.1:3306 is reused. Set
# AFTERSALES_TEST_MYSQL_DSN (go-sql-driver form, e.g.
# "user:pass@tcp(host:3306)/") to use another server instead.
#
# Extra arguments go to `go test`, e.g. scripts/test.sh -run TestTicket.
set -euo pipefail
cd "$(dirname "$0")/.."

# The test user created when root can only log in through the socket
# (Debian's default); tests create and drop their own databases.
test_user=aftersales_test
test_pass=aftersales_test

log() { printf 'test.sh: %s\n' "$*" >&2; }

mysql_ok() { mariadb --protocol=tcp -h127.0.0.1 -P3306 "$@" -e 'SELECT 1' >/dev/null 2>&1; }

ensure_mariadb() {
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    log "installing MariaDB (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq mariadb-server mariadb-client >/dev/null
  fi
  if ! mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 ping >/dev/null 2>&1 &&
    ! mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping 2>&1 | grep -q 'Access denied'; then
    log "starting MariaDB"
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- \
      --user=mysql --bind-address=127.0.0.1 --port=3306
    for _ in $(seq 1 60); do
      mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 ping >/dev/null 2>&1 && break
      mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping 2>&1 | grep -q 'Access denied' && break
      sleep 1
    done
  fi
  if mysql_ok -uroot; then
    export AFTERSALES_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/'
    return
  fi
  if ! mysql_ok -u"$test_user" -p"$test_pass"; then
    log "creating MySQL user $test_user through the root socket"
    mariadb -uroot <<SQL
CREATE USER IF NOT EXISTS '$test_user'@'127.0.0.1' IDENTIFIED BY '$test_pass';
CREATE USER IF NOT EXISTS '$test_user'@'localhost' IDENTIFIED BY '$test_pass';
GRANT ALL PRIVILEGES ON *.* TO '$test_user'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO '$test_user'@'localhost';
SQL
  fi
  export AFTERSALES_TEST_MYSQL_DSN="$test_user:$test_pass@tcp(127.0.0.1:3306)/"
}

if [ -z "${AFTERSALES_TEST_MYSQL_DSN:-}" ]; then
  ensure_mariadb
fi
mysql_version=$(mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot -N -e 'SELECT VERSION()' 2>/dev/null ||
  mariadb --protocol=tcp -h127.0.0.1 -P3306 -u"$test_user" -p"$test_pass" -N -e 'SELECT VERSION()' 2>/dev/null || echo unknown)
log "MySQL: $mysql_version; SQLite: embedded"
exec go test -race -count=1 -timeout 30m "$@" ./...
