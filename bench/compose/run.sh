#!/usr/bin/env bash
# Compose cluster against one embedded node, same run, same tasks: tasks/s of
# docker/docker-compose.yml (2 seeds, 3 workers, model, trainer, PostgreSQL, s3rver) with simulated
# environments (zero latency: orchestration only) against a single `megaflow node` with the same
# provider and the embedded defaults (SQLite, local artifacts). Also the images' sizes and, with
# --rebuild-images, the time to build them from nothing. Prints a Markdown table.
#
#   bash bench/compose/run.sh [--tasks N] [--rebuild-images]
#
# Needs: a Docker engine and docker-compose (scripts/docker.sh), the compose images
# (scripts/compose-images.sh), a Release build (dotnet build -c Release), curl and jq.
set -euo pipefail
cd "$(dirname "$0")/../.."

tasks=2000
rebuild=false
while [ $# -gt 0 ]; do
  case "$1" in
    --tasks) tasks=$2; shift 2 ;;
    --rebuild-images) rebuild=true; shift ;;
    *) echo "unknown argument: $1 (use --tasks N, --rebuild-images)" >&2; exit 2 ;;
  esac
done
token=bench-token
resubmits=$(mktemp)
project=megaflow-bench
api_port=18658
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

build_seconds="not measured (run with --rebuild-images)"
if [ "$rebuild" = true ]; then
  t=$(now)
  bash scripts/compose-images.sh --rebuild
  build_seconds=$(printf '%.0f s' "$(elapsed "$t")")
fi

# $1 API base URL. Submits $tasks tasks (two rounds each) in batches, waits until all are completed;
# prints the seconds from the first submission to the last completion.
run_tasks() {
  local api=$1 prefix=$2 t done=0
  t=$(now)
  for ((start = 1; start <= tasks; start += 200)); do
    batch=$(jq -cn --arg p "$prefix" --argjson s "$start" --argjson n "$tasks" \
      '[range($s; [$s + 200, $n + 1] | min) | {taskId: "\($p)-\(.)", mode: "ephemeral", image: "sim",
        actions: ["echo one", "echo two"], scoreCommand: "true", maxRounds: 2}]')
    # Submission is idempotent by task id: a batch answered 5xx (an ask past the API's 30 s while the
    # cluster is busy) is sent again; the resubmissions are counted in the table.
    for attempt in 1 2 3 4 5; do
      code=$(curl -s -o /dev/null -w '%{http_code}' -m 300 -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' --data-binary "$batch" "$api/api/tasks") || code=000
      [ "$code" = 200 ] && break
      echo "   $prefix: batch at $start answered $code, sending it again" >&2
      echo "$prefix" >>"$resubmits"
      [ "$attempt" = 5 ] && { echo "batch at $start refused 5 times" >&2; exit 1; }
    done
  done
  # The counts are the whole node's or cluster's: the warm-up task is the one more.
  while [ "$done" -lt $((tasks + 1)) ]; do
    sleep 0.5
    done=$(curl -sf -m 60 "$api/api/tasks?q=$prefix-&limit=1" | jq '.counts.completed // 0') || done=0
    printf '\r   %s: %d/%d completed' "$prefix" "$((done - 1))" "$tasks" >&2
  done
  echo >&2
  elapsed "$t"
}

# $1 API base URL, $2 name. One task through the cluster before the clock starts: right after
# `up`, seven runtimes still compiling their code share the 2 cores, and the first submissions can
# wait on shard allocation for minutes (answered 504 after the API's 30 s). That start-up is in
# "compose up to 7 members Up" and "first task done"; tasks/s measures the running cluster.
warm_up() {
  local t code done=0 spec
  t=$(now)
  spec="[{\"taskId\":\"warmup-$2\",\"mode\":\"ephemeral\",\"image\":\"sim\",\"actions\":[\"echo\"],\"scoreCommand\":\"true\",\"maxRounds\":1}]"
  for _ in $(seq 1 20); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 60 -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' --data-binary "$spec" "$1/api/tasks") || code=000
    [ "$code" = 200 ] && break
    echo "   $2: warm-up task answered $code, sending it again" >&2
  done
  [ "$code" = 200 ] || { echo "$2: the warm-up task was refused 20 times" >&2; exit 1; }
  until [ "$done" = 1 ]; do
    [ "$(printf '%.0f' "$(elapsed "$t")")" -lt 600 ] || { echo "$2: the warm-up task did not complete within 600 s" >&2; exit 1; }
    sleep 0.5
    done=$(curl -sf -m 60 "$1/api/tasks?q=warmup-$2&limit=1" | jq '.counts.completed // 0') || done=0
  done
  elapsed "$t"
}

wait_ready() { # $1 URL, $2 seconds
  for _ in $(seq 1 "$2"); do curl -sf -m 5 "$1/ready" >/dev/null && return 0; sleep 1; done
  echo "no /ready at $1 within $2 s" >&2; return 1
}

compose() {
  MEGAFLOW_COMPOSE_PROVIDER=simulated MEGAFLOW_MANAGEMENT_TOKEN=$token MEGAFLOW_COMPOSE_API_PORT=$api_port \
    MEGAFLOW_COMPOSE_POSTGRES_PORT=15658 MEGAFLOW_COMPOSE_S3_PORT=14659 MEGAFLOW_COMPOSE_MODEL_PORT=18660 \
    docker-compose -p $project -f docker/docker-compose.yml "$@"
}
# A cluster left by an interrupted run would share the 2 cores with the embedded node.
compose down -v --timeout 5 >/dev/null 2>&1 || true

echo "==> embedded: one node (scheduler + worker), SQLite, simulated environments" >&2
data=$(mktemp -d)
MEGAFLOW_PROVIDER=simulated MEGAFLOW_DATA_DIR=$data MEGAFLOW_PORT=14658 MEGAFLOW_MANAGEMENT_PORT=18659 \
  MEGAFLOW_MANAGEMENT_TOKEN=$token src/Node/bin/Release/net10.0/megaflow node >"$data/node.log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true; rm -rf "$data" "$resubmits"' EXIT
wait_ready http://127.0.0.1:18659 120
embedded_warm=$(warm_up http://127.0.0.1:18659 embedded)
embedded=$(run_tasks http://127.0.0.1:18659 embedded)
kill -TERM $node_pid; wait $node_pid || true

echo "==> compose: 2 seeds, 3 workers, model, trainer; PostgreSQL, s3rver; simulated environments" >&2
t=$(now)
compose up -d >/dev/null 2>&1
wait_ready "http://127.0.0.1:$api_port" 300
until [ "$(curl -sf "http://127.0.0.1:$api_port/api/cluster" | jq '[.members[] | select(.status == "up")] | length')" = 7 ]; do sleep 1; done
up_seconds=$(elapsed "$t")
cluster_warm=$(warm_up "http://127.0.0.1:$api_port" compose)
cluster=$(run_tasks "http://127.0.0.1:$api_port" compose)
compose down -v --timeout 40 >/dev/null 2>&1

rate() { echo "scale=1; $tasks / $1" | bc; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
echo
echo "Machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u '+%Y-%m-%d %H:%M UTC'); $tasks tasks of 2 rounds, simulated environments (no latency)."
echo
resent() { grep -c "^$1\$" "$resubmits" || true; }
echo "| setup | nodes | journal | seconds | tasks/s | vs embedded | batches resent |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '| embedded `megaflow node` | 1 (scheduler, worker) | SQLite | %.1f | %s | 1.00 | %s |\n' "$embedded" "$(rate "$embedded")" "$(resent embedded)"
printf '| compose cluster | 7 (2 seeds, 3 workers, model, trainer) | PostgreSQL | %.1f | %s | %.2f | %s |\n' "$cluster" "$(rate "$cluster")" "$(echo "$embedded / $cluster" | bc -l)" "$(resent compose)"
echo
printf 'compose up to 7 members Up: %.0f s, then the first task done in %.1f s (embedded node: %.1f s); image build from nothing: %s\n' \
  "$up_seconds" "$cluster_warm" "$embedded_warm" "$build_seconds"
echo
echo "| image | size |"
echo "| --- | --- |"
docker image ls --format '| {{.Repository}}:{{.Tag}} | {{.Size}} |' | grep -E 'megaflow/(debian|node|postgres|s3rver)'
