# shellcheck shell=bash
# Redis bootstrap for scripts/test.sh; source it. ensure_redis makes a
# Redis available to the tests of cluster-wide rate limits (--redis-url)
# and exports AFTERSALES_TEST_REDIS_URL: a URL already in that variable
# is used as it is; otherwise a Redis answering on 127.0.0.1:6379 is
# reused, and on a machine without one it installs Debian's redis-server
# (needs root) and starts it without persistence. The tests keep their
# keys under a prefix of their own, delete them when they end, and the
# keys expire by themselves anyway.

redis_default_url=redis://127.0.0.1:6379/0
redis_log_file=/var/log/aftersales-test-redis.log

# redis_log prints a message on stderr, prefixed with the name of the
# script that sourced this file.
redis_log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

# redis_hostport prints host:port of the Redis URL $1 (default
# 127.0.0.1:6379).
redis_hostport() {
  local hostport=${1:-$redis_default_url}
  hostport=${hostport#*://}
  hostport=${hostport##*@}
  hostport=${hostport%%/*}
  [ "${hostport##*:}" = "$hostport" ] && hostport=$hostport:6379
  echo "$hostport"
}

# redis_ask sends the inline command $2 to the Redis at URL $1 (default
# 127.0.0.1:6379) and prints the first line of the reply matching the
# regular expression $3, or fails within 2 seconds. Plain bash, so it
# works before any Redis tool is installed.
redis_ask() {
  local hostport host port
  hostport=$(redis_hostport "${1:-}")
  host=${hostport%:*} port=${hostport##*:}
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "%s\r\n" "$3" >&3 && grep -a -m1 -e "$4" <&3' \
    _ "$host" "$port" "$2" "$3" 2>/dev/null | tr -d '\r'
}

# redis_ping succeeds when the Redis at URL $1 (default 127.0.0.1:6379)
# answers PING.
redis_ping() { redis_ask "${1:-}" PING '^[+-]' | grep -q '^+PONG'; }

ensure_redis() {
  if [ -n "${AFTERSALES_TEST_REDIS_URL:-}" ]; then
    return
  fi
  if ! redis_ping; then
    if [ -n "$(redis_ask "" PING '^-')" ]; then
      # Something answers, but not PONG: a Redis with a password, say.
      redis_log "the Redis on 127.0.0.1:6379 refuses PING ($(redis_ask "" PING '^-')); set AFTERSALES_TEST_REDIS_URL (redis://user:pass@host:port/db)"
      return 1
    fi
    if ! command -v redis-server >/dev/null; then
      redis_log "installing redis-server (apt-get)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq redis-server >/dev/null
    fi
    # Installing may have started the package's own service, so ask again.
    if ! redis_ping; then
      redis_log "starting redis-server on 127.0.0.1:6379, without persistence"
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --logfile "$redis_log_file"
      for _ in $(seq 1 30); do
        redis_ping && break
        sleep 1
      done
      if ! redis_ping; then
        redis_log "redis-server did not answer on 127.0.0.1:6379 within 30s; see $redis_log_file"
        return 1
      fi
    fi
  fi
  export AFTERSALES_TEST_REDIS_URL=$redis_default_url
}

# redis_version prints the version of the Redis at
# AFTERSALES_TEST_REDIS_URL (default 127.0.0.1:6379), or "unknown". A
# Redis with a password answers INFO with an error: unknown then.
redis_version() {
  local v
  v=$(redis_ask "${AFTERSALES_TEST_REDIS_URL:-}" "INFO server" '^redis_version:\|^-' | sed -n 's/^redis_version://p')
  echo "${v:-unknown}"
}
