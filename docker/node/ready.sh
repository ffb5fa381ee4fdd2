#!/bin/bash
# Health check: exit 0 when the node's GET /ready answers 200 (Up, and its roles' actors running).
# bash's /dev/tcp, so the image needs no curl.
set -euo pipefail
port=${MEGAFLOW_MANAGEMENT_PORT:-8558}
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
[[ "$status" == *" 200 "* ]]
