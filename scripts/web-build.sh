#!/usr/bin/env bash
# Builds the web console (server/web): installs the locked npm packages,
# generates the API types (server/web/src/api/schema.ts) from the OpenAPI
# document gen/openapi/aftersales.swagger.json, type-checks and builds into
# server/web/dist, which is committed and embedded in the server binary
# (server/web/web.go). The same sources and lock file give the same files,
# so CI rebuilds and fails on any difference (stale assets). Needs Node.js
# 20+ and npm; the server itself needs neither.
set -euo pipefail
cd "$(dirname "$0")/../server/web"

if ! command -v npm >/dev/null; then
  echo "web-build: npm not found; install Node.js 20+ (e.g. apt-get install nodejs npm)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm run --silent gen
npm run --silent build
