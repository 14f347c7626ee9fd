# shellcheck shell=bash
# MariaDB bootstrap shared by scripts/test.sh and scripts/bench.sh; source
# it. ensure_mariadb makes a MariaDB server answer on 127.0.0.1:3306: on a
# machine without one it installs it from Debian's packages (needs root)
# and starts it; a server already listening there is reused. It then sets
# MARIADB_DSN to a go-sql-driver DSN without a database
# ("user[:pass]@tcp(127.0.0.1:3306)/") of a user that may create and drop
# databases: root when root may log in over TCP without a password,
# otherwise a test user it creates through the root socket (Debian's
# default lets root log in only that way).

mariadb_test_user=aftersales_test
mariadb_test_pass=aftersales_test

# mariadb_log prints a message on stderr, prefixed with the name of the
# script that sourced this file.
mariadb_log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

mysql_ok() { mariadb --protocol=tcp -h127.0.0.1 -P3306 "$@" -e 'SELECT 1' >/dev/null 2>&1; }

# shellcheck disable=SC2034 # MARIADB_DSN is for the sourcing script
ensure_mariadb() {
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    mariadb_log "installing MariaDB (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq mariadb-server mariadb-client >/dev/null
  fi
  if ! mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 ping >/dev/null 2>&1 &&
    ! mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping 2>&1 | grep -q 'Access denied'; then
    mariadb_log "starting MariaDB"
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
    MARIADB_DSN='root@tcp(127.0.0.1:3306)/'
    return
  fi
  if ! mysql_ok -u"$mariadb_test_user" -p"$mariadb_test_pass"; then
    mariadb_log "creating MySQL user $mariadb_test_user through the root socket"
    mariadb -uroot <<SQL
CREATE USER IF NOT EXISTS '$mariadb_test_user'@'127.0.0.1' IDENTIFIED BY '$mariadb_test_pass';
CREATE USER IF NOT EXISTS '$mariadb_test_user'@'localhost' IDENTIFIED BY '$mariadb_test_pass';
GRANT ALL PRIVILEGES ON *.* TO '$mariadb_test_user'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO '$mariadb_test_user'@'localhost';
SQL
  fi
  MARIADB_DSN="$mariadb_test_user:$mariadb_test_pass@tcp(127.0.0.1:3306)/"
}

# mariadb_version prints the version of the server on 127.0.0.1:3306, or
# "unknown".
mariadb_version() {
  mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot -N -e 'SELECT VERSION()' 2>/dev/null ||
    mariadb --protocol=tcp -h127.0.0.1 -P3306 -u"$mariadb_test_user" -p"$mariadb_test_pass" -N -e 'SELECT VERSION()' 2>/dev/null ||
    echo unknown
}
