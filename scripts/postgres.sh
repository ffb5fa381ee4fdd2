#!/usr/bin/env bash
# Installs (if missing) and starts a local PostgreSQL server for the tests, with a `megaflow`
# login role (password `megaflow`). Debian/Ubuntu, run as root. Idempotent.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "==> installing PostgreSQL (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  echo "==> starting PostgreSQL $version"
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432

su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'megaflow') THEN
    CREATE ROLE megaflow LOGIN SUPERUSER PASSWORD 'megaflow';
  END IF;
END
$$;
SQL
if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'megaflow'\"" | grep -q 1; then
  su postgres -c "createdb -O megaflow megaflow"
fi
echo "==> PostgreSQL ready on 127.0.0.1:5432 (user megaflow)"
