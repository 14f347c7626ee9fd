# shellcheck shell=bash
# The browser and node modules of the console's browser tests, shared by
# scripts/web-test.sh and scripts/bench-console.sh; source it with a log
# function defined.
#
#   web_browser       installs Debian's chromium, and a CJK font for the
#                     console's Chinese, with apt-get when missing (needs
#                     root)
#   web_node_modules  installs server/web's node modules (npm ci) when
#                     playwright-core is missing

web_browser() {
  local need=()
  [ -x /usr/bin/chromium ] || need+=(chromium)
  if ! fc-list :lang=zh 2>/dev/null | grep -q .; then need+=(fonts-wqy-microhei); fi
  [ ${#need[@]} -gt 0 ] || return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${need[*]}; run as root, or apt-get install -y ${need[*]}"
    return 1
  fi
  log "installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
}

web_node_modules() {
  local web
  web="$(dirname "${BASH_SOURCE[0]}")/../server/web"
  [ -d "$web/node_modules/playwright-core" ] || (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
}
