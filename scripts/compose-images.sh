#!/usr/bin/env bash
# Builds the images of the compose cluster (docker/docker-compose.yml) with no container registry:
#
#   megaflow/debian:13       a Debian 13 (trixie) minbase root file system made with debootstrap
#                            and `docker import`, with ICU and CA certificates; documentation,
#                            man pages, locales and apt lists removed.
#   megaflow/node:local      debian:13 + a self-contained `dotnet publish` of src/Node (the .NET
#                            runtime ships inside the publish output; no SDK in the image).
#   megaflow/postgres:17     debian:13 + Debian's postgresql-17, initialised at first start.
#   megaflow/s3rver:3.7.1    debian:13 + Debian's nodejs + the s3rver installation of scripts/s3.sh.
#
# Why debootstrap + import rather than a FROM image: nothing can be pulled here, and the archive
# (deb.debian.org) is the one source we can reach. Why Debian 13: TorchSharp's native library
# wants GCC 13's libstdc++ (Debian 12 has GCC 12's; see README, TorchSharp). Why one base for all:
# the engine runs on vfs, where each image layer is a full copy, so a shared base is stored once.
#
# Idempotent: the base and s3rver images are kept when present (--rebuild replaces them); the node
# and PostgreSQL images are built every time (docker's build cache keeps them when nothing changed).
set -euo pipefail
cd "$(dirname "$0")/.."

rebuild=false
[ "${1:-}" = "--rebuild" ] && rebuild=true
have() { [ "$rebuild" = false ] && docker image inspect "$1" >/dev/null 2>&1; }
started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! have megaflow/debian:13; then
  if ! command -v debootstrap >/dev/null; then
    echo "==> installing debootstrap (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  echo "==> debootstrap trixie (minbase) into $work/root"
  debootstrap --variant=minbase --include=libicu76,ca-certificates trixie "$work/root" \
    "${MEGAFLOW_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work"/root/usr/share/{doc,man,info,locale,lintian} "$work"/root/var/lib/apt/lists/* \
         "$work"/root/var/cache/apt/* "$work"/root/var/log/* "$work"/root/tmp/*
  tar -C "$work/root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - megaflow/debian:13 >/dev/null
  rm -rf "$work/root"
  echo "==> built megaflow/debian:13"
fi

# Built every time, like the node image: docker's build cache keeps the package layer, and a
# changed entrypoint (the server's settings) reaches a machine that has the image already.
docker build -q $([ "$rebuild" = true ] && echo --no-cache) -t megaflow/postgres:17 docker/postgres >/dev/null
echo "==> built megaflow/postgres:17"

if ! have megaflow/s3rver:3.7.1; then
  s3rver_entry=$(bash scripts/s3.sh)
  mkdir -p "$work/s3"
  cp docker/s3/Dockerfile "$work/s3/"
  # .../s3rver-3.7.1/node_modules/s3rver/bin/s3rver.js -> .../s3rver-3.7.1
  cp -a "$(dirname "$(dirname "$(dirname "$(dirname "$s3rver_entry")")")")" "$work/s3/s3rver"
  docker build -q -t megaflow/s3rver:3.7.1 "$work/s3" >/dev/null
  echo "==> built megaflow/s3rver:3.7.1"
fi

echo "==> dotnet publish src/Node (linux-x64, self-contained)"
mkdir -p "$work/node"
cp docker/node/Dockerfile docker/node/entrypoint.sh docker/node/ready.sh "$work/node/"
dotnet publish src/Node/MegaFlow.Node.csproj -c Release -r linux-x64 --self-contained \
  -nologo -clp:ErrorsOnly -v:q -o "$work/node/app" >/dev/null
docker build -q -t megaflow/node:local "$work/node" >/dev/null
echo "==> built megaflow/node:local"

echo "==> compose images ready in $(( $(date +%s) - started )) s:"
docker image ls --format '   {{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'megaflow/(debian|node|postgres|s3rver)' || true
