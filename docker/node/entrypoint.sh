#!/bin/bash
# Other nodes must reach this one at the address it advertises. In compose, scaled workers have
# no stable name, so unless MEGAFLOW_PUBLIC_HOSTNAME is given the node advertises its container's
# address on its network (re-read at every start: a reconnected container may get a new one).
set -euo pipefail
if [ -z "${MEGAFLOW_PUBLIC_HOSTNAME:-}" ]; then
  MEGAFLOW_PUBLIC_HOSTNAME=$(getent hosts "$(cat /etc/hostname)" | awk '{ print $1; exit }')
  export MEGAFLOW_PUBLIC_HOSTNAME
fi
mkdir -p "$MEGAFLOW_DATA_DIR"
exec megaflow "$@"
