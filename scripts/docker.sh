#!/usr/bin/env bash
# Installs (if missing) and starts a local Docker engine for the Docker tests, then builds the
# local images they use (scripts/images.sh). Debian/Ubuntu, run as root. Idempotent: an engine that
# already answers is left alone.
#
# The engine runs with the vfs storage driver: the machines this project targets (and CI) run
# inside VMs/containers where overlayfs on overlayfs is not reliable; vfs always works, at the cost
# of copying an image's whole root file system per container (hence our small images).
#
# A failure here fails the test run: in CI (CI=true) a missing engine must fail the Docker tests,
# never skip them, so nothing below is "best effort".
set -euo pipefail
cd "$(dirname "$0")/.."

log=${MEGAFLOW_DOCKERD_LOG:-/var/log/megaflow-dockerd.log}

if ! command -v dockerd >/dev/null 2>&1; then
  echo "==> installing Docker engine (apt: docker.io)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "==> starting dockerd (storage driver vfs, log $log)"
  # setsid + nohup: the engine must outlive this script and the test run that started it.
  setsid nohup dockerd --storage-driver=vfs >"$log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
if ! docker info >/dev/null 2>&1; then
  echo "Docker engine did not answer within 60 s; last lines of $log:" >&2
  tail -n 30 "$log" >&2 || true
  exit 1
fi
echo "==> Docker engine ready ($(docker version --format '{{.Server.Version}}'), storage $(docker info --format '{{.Driver}}'))"

bash scripts/images.sh
