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

# shellcheck source=scripts/lib-web.sh
source scripts/lib-web.sh
web_browser

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "building the server"
GOWORK=off go build -o "$tmp/aftersales" ./server

web_node_modules
cd server/web
AFTERSALES_BIN="$tmp/aftersales" CHROMIUM=/usr/bin/chromium \
  timeout 300 node --test --test-concurrency=1 --test-timeout=240000 test/console.test.mjs
