# shellcheck shell=bash
# NATS bootstrap for scripts/test.sh; source it. ensure_nats makes a NATS
# server with JetStream available to the natspub tests and exports
# AFTERSALES_TEST_NATS_URL: a URL already in that variable is used as it
# is; otherwise a server already listening on 127.0.0.1:4222 is reused,
# and on a machine without one it installs Debian's nats-server (needs
# root) and starts it with JetStream, storing streams under
# /var/lib/nats-server (the tests delete the streams they create).

nats_default_url=nats://127.0.0.1:4222
nats_store_dir=/var/lib/nats-server
nats_log_file=/var/log/nats-server.log
nats_pid_file=/run/aftersales-test-nats-server.pid

# nats_log prints a message on stderr, prefixed with the name of the
# script that sourced this file.
nats_log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

# nats_info prints the INFO line the NATS server at URL $1 (default
# 127.0.0.1:4222) greets a client with, or fails within 2 seconds. Of a
# list of URLs only the first is asked. Plain bash, so it works before
# any NATS tool is installed.
nats_info() {
  local hostport=${1:-$nats_default_url}
  hostport=${hostport%%,*}
  hostport=${hostport#*://}
  hostport=${hostport##*@}
  hostport=${hostport%%/*}
  local host=${hostport%:*} port=4222
  [ "$host" != "$hostport" ] && port=${hostport##*:}
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" && head -n1 <&3' _ "$host" "$port" 2>/dev/null |
    grep '^INFO '
}

ensure_nats() {
  if [ -n "${AFTERSALES_TEST_NATS_URL:-}" ]; then
    return
  fi
  if ! nats_info >/dev/null; then
    if [ ! -x /usr/sbin/nats-server ]; then
      nats_log "installing nats-server (apt-get)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq nats-server >/dev/null
    fi
    # Installing may have started the package's own service, so ask again.
    if ! nats_info >/dev/null; then
      nats_log "starting nats-server with JetStream"
      mkdir -p "$nats_store_dir"
      # The pid file keeps start-stop-daemon from mistaking another
      # nats-server (on another port, say) for ours.
      start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$nats_pid_file" \
        --exec /usr/sbin/nats-server -- \
        -a 127.0.0.1 -p 4222 -js -sd "$nats_store_dir" -l "$nats_log_file"
      for _ in $(seq 1 30); do
        nats_info >/dev/null && break
        sleep 1
      done
      if ! nats_info >/dev/null; then
        nats_log "nats-server did not answer on 127.0.0.1:4222 within 30s; see $nats_log_file"
        return 1
      fi
    fi
  fi
  # A server without JetStream (such as the one Debian's package runs
  # from /etc/nats-server.conf under systemd) would fail every test.
  if ! nats_info | grep -q '"jetstream":true'; then
    nats_log "the NATS server on 127.0.0.1:4222 has no JetStream; enable it (nats-server -js, or jetstream {} in its config) or set AFTERSALES_TEST_NATS_URL"
    return 1
  fi
  export AFTERSALES_TEST_NATS_URL=$nats_default_url
}

# nats_version prints the version of the server at
# AFTERSALES_TEST_NATS_URL (default 127.0.0.1:4222), or "unknown".
nats_version() {
  local v
  v=$(nats_info "${AFTERSALES_TEST_NATS_URL:-}" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')
  echo "${v:-unknown}"
}
