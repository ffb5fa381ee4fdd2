#!/usr/bin/env bash
# Installs (if missing) the S3-compatible server the tests start: the npm package s3rver, pinned,
# into a tools folder (default ~/.cache/megaflow/s3rver; MEGAFLOW_TOOLS overrides the parent).
# Installs Node.js and npm from apt when absent. Prints the path of s3rver's entry script, which
# scripts/test.sh exports as MEGAFLOW_S3RVER. Idempotent; the tests start and stop servers themselves.
set -euo pipefail

version=3.7.1
dir="${MEGAFLOW_TOOLS:-$HOME/.cache/megaflow}/s3rver-$version"
entry="$dir/node_modules/s3rver/bin/s3rver.js"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "==> installing Node.js and npm (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f "$entry" ]; then
  echo "==> installing s3rver $version into $dir" >&2
  mkdir -p "$dir"
  (cd "$dir" && npm install --no-audit --no-fund --silent "s3rver@$version" >&2)
fi
node "$entry" --version >/dev/null
echo "$entry"
