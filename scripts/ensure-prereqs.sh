#!/usr/bin/env bash
# The test suite's prerequisites beyond npm packages: Node 20+, a `nats-server` on PATH (the
# NATS tests start a real one) and Debian's headless Chromium at /usr/bin/chromium (the
# dashboard test drives it; playwright-core never downloads a browser). Run by `npm test`
# (its `pretest` step) and so by .ci/run. As root, missing Debian packages are installed
# (apt-get update, then install); otherwise it stops with one line naming what to install.
#
# For its own test: VIGIL_PREREQ_CHROMIUM overrides the browser's path, VIGIL_PREREQ_INSTALL=0
# forbids installing even as root.
set -euo pipefail

chromium=${VIGIL_PREREQ_CHROMIUM:-/usr/bin/chromium}
may_install=${VIGIL_PREREQ_INSTALL:-1}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "vigil: the tests need Node 20 or newer (found $(node --version 2>/dev/null || echo none)); install Node 20 (Debian 13: apt-get install nodejs npm)" >&2
  exit 1
fi

missing() {
  local need=()
  command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
  [ -x "$chromium" ] || need+=(chromium)
  echo "${need[@]:-}"
}

need=$(missing)
if [ -n "$need" ] && [ "$(id -u)" = 0 ] && [ "$may_install" != 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "vigil: installing test prerequisites: $need" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # $need is a list of package names
  if ! { apt-get update -qq && apt-get install -y -qq $need >/dev/null; }; then
    echo "vigil: apt-get could not install $need; install them by hand (apt-get install -y $need)" >&2
    exit 1
  fi
  need=$(missing)
fi
if [ -n "$need" ]; then
  echo "vigil: the tests need $need; install with: sudo apt-get install -y $need (Debian/Ubuntu), then rerun" >&2
  exit 1
fi
