#!/usr/bin/env bash
# Runs the whole test suite with the race detector, against the embedded
# SQLite and against MySQL (MariaDB). On a machine without MariaDB it
# installs it from Debian's packages (needs root) and starts it; a server
# already listening on 127.0.0.1:3306 is reused. Set
# AFTERSALES_TEST_MYSQL_DSN (go-sql-driver form, e.g.
# "user:pass@tcp(host:3306)/") to use another server instead.
#
# The natspub tests need a NATS server with JetStream: one already
# listening on 127.0.0.1:4222 is reused, otherwise Debian's nats-server is
# installed (needs root) and started. Set AFTERSALES_TEST_NATS_URL (e.g.
# "nats://host:4222") to use another server instead.
#
# On a Galera cluster: eval "$(scripts/galera.sh env)" first (sets the
# DSN and AFTERSALES_TEST_MYSQL_HOSTS, the nodes every test's URL lists).
#
# The tests of cluster-wide rate limits (--redis-url) need Redis: one
# answering on 127.0.0.1:6379 is reused, otherwise Debian's redis-server
# is installed (needs root) and started without persistence. Set
# AFTERSALES_TEST_REDIS_URL (e.g. "redis://host:6379/0") to use another
# server instead.
#
# Extra arguments go to `go test`, e.g. scripts/test.sh -run TestTicket.
set -euo pipefail
cd "$(dirname "$0")/.."

# The MariaDB bootstrap, shared with scripts/bench.sh: when root can only
# log in through the socket (Debian's default) it creates a test user;
# tests create and drop their own databases.
# shellcheck source=scripts/lib-mariadb.sh
source scripts/lib-mariadb.sh
# The NATS bootstrap: exports AFTERSALES_TEST_NATS_URL.
# shellcheck source=scripts/lib-nats.sh
source scripts/lib-nats.sh
# The Redis bootstrap: exports AFTERSALES_TEST_REDIS_URL.
# shellcheck source=scripts/lib-redis.sh
source scripts/lib-redis.sh

log() { printf 'test.sh: %s\n' "$*" >&2; }

if [ -z "${AFTERSALES_TEST_MYSQL_DSN:-}" ]; then
  ensure_mariadb
  export AFTERSALES_TEST_MYSQL_DSN="$MARIADB_DSN"
fi
ensure_nats
ensure_redis
mysql_version=$(mariadb_version)
nats_ver=$(nats_version)
if [ -n "${AFTERSALES_TEST_MYSQL_HOSTS:-}" ]; then
  mysql_version="Galera nodes $AFTERSALES_TEST_MYSQL_HOSTS (scripts/galera.sh)"
fi
redis_ver=$(redis_version)
log "MySQL: $mysql_version; SQLite: embedded; NATS: $nats_ver; Redis: $redis_ver"
exec go test -race -count=1 -timeout 30m "$@" ./...
