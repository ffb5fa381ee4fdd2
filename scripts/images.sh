#!/usr/bin/env bash
# Builds the local images the Docker provider's tests, demo and benchmark use. No registry is
# reachable here (see ../shared/ENVIRONMENT.md), so nothing is pulled:
#
#   megaflow/base:1          busybox-static in an otherwise empty root file system (~2 MB),
#                            imported with `docker import`.
#   megaflow/sample-repo:1   base + a tiny shell "repository" whose test fails until a one-line
#                            fix (the demo's scripted agent makes it), built with `docker build`.
#
# Why busybox rather than a debootstrap (minbase) Debian: the engine runs with the vfs storage
# driver, which copies an image's whole root file system for every container it creates. A 2 MB
# image is created in a few tens of milliseconds; a ~130 MB minbase in about a second, which would
# dominate every ephemeral task's start and the start-storm tests. Task images of real workloads
# may be as large as they need; these are for our tests and demo.
#
# Idempotent: an image that exists is kept (pass --rebuild to replace them).
set -euo pipefail
cd "$(dirname "$0")"

rebuild=false
[ "${1:-}" = "--rebuild" ] && rebuild=true

have() { [ "$rebuild" = false ] && docker image inspect "$1" >/dev/null 2>&1; }
start=$(date +%s.%N)

if ! have megaflow/base:1; then
  if [ ! -x /bin/busybox ]; then
    echo "==> installing busybox-static (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq busybox-static >/dev/null
  fi
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,tmp,root,etc,proc,sys,dev,work}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # One symlink per applet (sh, ls, sed, timeout, tail, kill, ...), as busybox's own installer does.
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /work' \
    --change 'CMD ["/bin/sh"]' \
    - megaflow/base:1 >/dev/null
  rm -rf "$root"
  trap - EXIT
  echo "==> built megaflow/base:1"
fi

if ! have megaflow/sample-repo:1; then
  docker build -q -t megaflow/sample-repo:1 images/sample-repo >/dev/null
  echo "==> built megaflow/sample-repo:1"
fi

printf '==> images ready in %.1f s: ' "$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo 0)"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' megaflow/base:1
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' megaflow/sample-repo:1
