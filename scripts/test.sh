#!/usr/bin/env bash
# Runs every test: unit, serialization, providers, and the integration tests against a real SQLite
# file, a real PostgreSQL server and multi-node clusters on loopback. Installs and starts PostgreSQL
# first (see scripts/postgres.sh), a Docker engine with the local images (scripts/docker.sh), the
# compose cluster's images and docker-compose (scripts/compose-images.sh), and
# chromium for the dashboard's browser tests (scripts/chromium.sh). Ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/postgres.sh
# The VM tests (tests/MegaFlow.Node.Tests/Deployment) put nodes in network namespaces: iproute2's `ip`.
command -v ip >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
# The Docker tests (tests/MegaFlow.Docker.Tests) need a running engine and the local images; a
# failure to provide them fails the run (CI must not silently skip the Docker tests).
bash scripts/docker.sh
# The compose tests (tests/MegaFlow.Compose.Tests) drive docker-compose 1.29 (Debian's package).
command -v docker-compose >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
# The dashboard's browser tests (tests/MegaFlow.Dashboard.Tests) drive Debian's chromium; without it they fail.
bash scripts/chromium.sh
# The S3 tests start their own S3-compatible servers (s3rver) from this script.
MEGAFLOW_S3RVER="$(bash scripts/s3.sh)"
export MEGAFLOW_S3RVER
export MEGAFLOW_TEST_POSTGRES="${MEGAFLOW_TEST_POSTGRES:-Host=127.0.0.1;Port=5432;Username=megaflow;Password=megaflow;Database=postgres}"

dotnet build MegaFlow.Akka.sln -c Release -nologo -clp:ErrorsOnly
# ... and the compose cluster's images (Debian 13 base by debootstrap, node, PostgreSQL, s3rver).
bash scripts/compose-images.sh
log=$(mktemp)
results=$(mktemp -d)
status=0
# One test project at a time: the integration tests start clusters and node processes, and on a
# 2-core machine running them side by side only trades speed for timeouts.
for project in tests/*/*.csproj; do
  echo "==> $project"
  set +e
  dotnet test "$project" -c Release --no-build -nologo --logger trx --results-directory "$results" 2>&1 | tee -a "$log"
  code=${PIPESTATUS[0]}
  set -e
  [ "$code" -eq 0 ] || status=$code
done

# dotnet test prints one "Failed: F, Passed: P, Skipped: S" line per test project; add them up.
passed=$(grep -oE 'Passed: *[0-9]+' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
failed=$(grep -oE 'Failed: *[0-9]+' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
# The slowest tests, from each project's TRX report: where to look when the run grows long.
echo "slowest tests (h:mm:ss):"
cat "$results"/*.trx 2>/dev/null | tr '<' '\n' | grep '^UnitTestResult ' \
  | sed -nE 's/.*testName="([^"]*)".*duration="([0-9:]*)[^"]*".*/\2 \1/p' | sort -r | head -15 || true
rm -rf "$results"
echo "${passed:-0} passed, ${failed:-0} failed"
if [ "$status" -eq 0 ] && [ "${passed:-0}" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
