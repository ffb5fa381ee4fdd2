#!/bin/bash
# First start: initdb in the volume (password auth from the network), create the database.
# Every start: run postgres in the foreground as the postgres user, listening on every address.
set -euo pipefail
bin=/usr/lib/postgresql/17/bin
mkdir -p "$PGDATA"
chown -R postgres:postgres "$(dirname "$PGDATA")"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp); printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"; chown postgres "$pw"
  runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null
  rm -f "$pw"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" \
      | runuser -u postgres -- "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi
# A node cut off from the network mid-write leaves its transaction open on the server, holding the
# rows it inserted: the node that takes over its tasks then waits on those rows for ever (a compose
# test saw a task's write time out every 30 s for 6 minutes). The server ends such a transaction
# after 30 s idle, and notices a silent peer through TCP keepalives within about 30 s. No journal
# write keeps a transaction idle: a rolled-back one is a failed write, which the actor recovers from.
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' \
  -c unix_socket_directories=/tmp -c max_connections=300 -c jit=off \
  -c idle_in_transaction_session_timeout=30s \
  -c tcp_keepalives_idle=15 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3
