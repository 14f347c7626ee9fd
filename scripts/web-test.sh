#!/usr/bin/env bash
# Browser tests of the web console: builds the server, starts it on a
# scratch SQLite data directory, seeds staff, keys, a customer and tickets
# through the JSON API, and drives Debian's Chromium with playwright-core
# (no browser download) through sign-in, the queue, a ticket worked to
# RESOLVED, the dashboard and fault statistics. Screenshots go to
# server/web/screenshots/. Installs chromium (and a CJK font for the
# screenshots) with apt-get when missing, which needs root. Takes 1.5 to 3
# minutes, most of it waiting for the report rollups, which count a change
# a minute after it was made.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { echo "web-test: $*" >&2; }

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then need+=(fonts-wqy-microhei); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${need[*]}; run as root, or apt-get install -y ${need[*]}"
    exit 1
  fi
  log "installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "building the server"
GOWORK=off go build -o "$tmp/aftersales" ./server

cd server/web
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
AFTERSALES_BIN="$tmp/aftersales" CHROMIUM=/usr/bin/chromium \
  timeout 300 node --test --test-concurrency=1 --test-timeout=240000 test/console.test.mjs
