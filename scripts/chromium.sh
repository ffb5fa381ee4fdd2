#!/usr/bin/env bash
# Installs (if missing) Debian's chromium for the dashboard's browser tests (tests/MegaFlow.Dashboard.Tests).
# Playwright's own browser download does not work on these machines; the tests launch /usr/bin/chromium.
# Debian/Ubuntu, run as root. Idempotent.
set -euo pipefail

if ! [ -x /usr/bin/chromium ]; then
  echo "==> installing chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version
