#!/usr/bin/env bash
# The whole ReelFlow pipeline in distributed mode on one machine, every part its own JVM, started
# in dependency order with the scripts beside this one:
#   1. Kafka: three KRaft brokers (replication 3, min.insync.replicas 2)     DIR/kafka
#   2. schema registry on that cluster                                     DIR/registry
#   3. S3 endpoint                                                         DIR/s3
#   4. topics (replication 3) and schemas: `reelflow provision`
#   5. Flink session cluster: a JobManager and two TaskManagers            DIR/flink
#   6. the orchestrator job jar, submitted over Flink's REST API, RUNNING
#   7. N base and M upscale workers                           DIR/workers-base, DIR/workers-upscale
#   8. the ingest API                                                      DIR/ingest
# then prints every address and the API key and writes them to DIR/pipeline.json (the shape of
# .reelflow/local.json: `reelflow status --dir DIR` finds the API through it).
#
#   pipeline.sh start DIR [--base-workers N] [--upscale-workers M] [--engine NAME]
#                         [--upscale-engine NAME] [--backend cpu|torch|cuda[:N]] [--job-jar JAR]
#                         [--set-worker key=value]... [--set-orchestrator key=value]...
#                         [--set-flink key=value]...
#   pipeline.sh status DIR     every recorded process and the Flink job; exit 1 if one is down
#   pipeline.sh recover DIR [--job-jar JAR]
#                              after a JobManager died (no Flink HA here): starts it again on the
#                              same configuration (the TaskManagers re-register) and, when no job
#                              runs, submits the orchestrator again, which restores its newest
#                              usable retained checkpoint; updates flink.jobId in pipeline.json
#   pipeline.sh stop DIR       everything in reverse order (SIGTERM, then SIGKILL); safe to repeat
#
# Defaults: 1 base worker (engine native, the tiny model), 1 upscale worker (engine esrgan), the
# job jar flink-jobs/target/reelflow-flink-jobs-*-job.jar. A failed start stops what it started.
# -E: the ERR trap of a failed start also fires inside functions.
set -Eeuo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: pipeline.sh start DIR [--base-workers N] [--upscale-workers M] [--engine NAME]
                             [--upscale-engine NAME] [--backend cpu|torch|cuda[:N]] [--job-jar JAR]
                             [--set-worker key=value]... [--set-orchestrator key=value]...
                             [--set-flink key=value]...
       pipeline.sh status DIR
       pipeline.sh recover DIR [--job-jar JAR]
       pipeline.sh stop DIR
USAGE
  exit 2
}
[[ $# -ge 2 ]] || usage
cmd="$1"; dir="$2"; shift 2
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

base_workers=1
upscale_workers=1
engine=native
upscale_engine=esrgan
backend=cpu
job_jar=""
worker_sets=()
orchestrator_sets=()
flink_sets=()
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || { echo "pipeline.sh: $1 needs a value" >&2; usage; }
  case "$1" in
    --base-workers) base_workers="$2" ;;
    --upscale-workers) upscale_workers="$2" ;;
    --engine) engine="$2" ;;
    --upscale-engine) upscale_engine="$2" ;;
    --backend) backend="$2" ;;
    --job-jar) job_jar="$2" ;;
    --set-worker) worker_sets+=("$2") ;;
    --set-orchestrator) orchestrator_sets+=("$2") ;;
    --set-flink) flink_sets+=("$2") ;;
    *) echo "pipeline.sh: unknown option $1" >&2; usage ;;
  esac
  shift 2
done

# The launcher JVMs only start or signal processes: C1 and the serial GC start them fastest.
cluster_main() {
  java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$("$here/classpath.sh")" \
    dev.reelflow.stack.ClusterMain "$@"
}

step() {
  printf 'pipeline: +%ss %s\n' "$((SECONDS - started_at))" "$*" >&2
}

# The value of key=... in the output of a start command.
value() {
  local v
  v="$(sed -n "s/^$1=//p" <<<"$2" | tail -n 1)"
  if [[ -z "$v" ]]; then
    echo "pipeline.sh: no $1 in: $2" >&2
    return 1
  fi
  printf '%s' "$v"
}

stop_all() {
  # Reverse order: no new requests, workers drain, the job goes with the Flink cluster, then
  # the services the others used. A component never started has no cluster.properties.
  started_at=${started_at:-$SECONDS}
  local part
  for part in ingest workers-upscale workers-base flink s3 registry kafka; do
    if [[ -f "$dir/$part/cluster.properties" ]]; then
      step "stopping $part"
      "$here/$(script_of "$part")" stop "$dir/$part" >&2 || true
    fi
  done
  step "stopped"
}

script_of() {
  case "$1" in
    workers-*) echo workers.sh ;;
    flink) echo flink-cluster.sh ;;
    kafka) echo kafka-cluster.sh ;;
    *) echo "$1.sh" ;;
  esac
}

start() {
  if [[ -d "$dir" ]] && cluster_main status "$dir" 2>/dev/null | grep -q ' running$'; then
    echo "pipeline.sh: processes of a pipeline in $dir still run; stop it first:" >&2
    cluster_main status "$dir" >&2 || true
    exit 1
  fi
  find_job_jar
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  rm -f "$dir/pipeline.json"
  trap 'echo "pipeline.sh: start failed; stopping what was started" >&2; stop_all; exit 1' ERR
  started_at=$SECONDS
  local cli_cp out
  cli_cp="$("$here/cli-classpath.sh")"

  step "Kafka cluster (3 brokers) in $dir/kafka"
  out="$("$here/kafka-cluster.sh" start "$dir/kafka" --brokers 3)"
  local bootstrap registry_url
  bootstrap="$(value bootstrap.servers "$out")"

  step "schema registry"
  out="$("$here/registry.sh" start "$dir/registry" --bootstrap-servers "$bootstrap")"
  registry_url="$(value schema.registry.url "$out")"

  step "S3 endpoint"
  out="$("$here/s3.sh" start "$dir/s3")"
  local s3_endpoint s3_access s3_secret s3_region s3_bucket
  s3_endpoint="$(value s3.endpoint "$out")"
  s3_access="$(value s3.accessKey "$out")"
  s3_secret="$(value s3.secretKey "$out")"
  s3_region="$(value s3.region "$out")"
  s3_bucket="$(value s3.bucket "$out")"

  step "topics (replication 3) and schemas"
  java -Xmx256m -Dlogback.configurationFile=reelflow-cluster-logback.xml -cp "$cli_cp" \
    dev.reelflow.cli.ReelflowCli provision --bootstrap-servers "$bootstrap" \
    --schema-registry-url "$registry_url" --replication-factor 3 \
    >"$dir/provision.log" 2>&1 || { cat "$dir/provision.log" >&2; false; }

  step "Flink session cluster (JobManager, 2 TaskManagers)"
  local flink_args=()
  for kv in "${flink_sets[@]}"; do flink_args+=(--set "$kv"); done
  out="$("$here/flink-cluster.sh" start "$dir/flink" --taskmanagers 2 --slots 2 "${flink_args[@]}")"
  local rest_url job_id metrics_urls
  rest_url="$(value rest.url "$out")"
  metrics_urls="$(value metrics.urls "$out")"

  step "orchestrator job $(basename "$job_jar") over REST"
  {
    echo "# Written by ops/cluster/pipeline.sh"
    echo "kafka.bootstrap.servers=$bootstrap"
    echo "schema.registry.url=$registry_url"
    echo "s3.bucket=$s3_bucket"
    # Schedules with a source read their rows from the same bucket.
    echo "s3.endpoint=$s3_endpoint"
    echo "s3.access-key=$s3_access"
    echo "s3.secret-key=$s3_secret"
    echo "s3.region=$s3_region"
    echo "checkpoint.dir=file://$dir/flink/checkpoints"
    echo "state.backend=hashmap"
    echo "parallelism=2"
    local kv
    for kv in "${orchestrator_sets[@]}"; do echo "$kv"; done
  } >"$dir/orchestrator.properties"
  chmod 600 "$dir/orchestrator.properties"
  out="$("$here/flink-cluster.sh" submit "$dir/flink" "$job_jar" \
    --config "$dir/orchestrator.properties")"
  job_id="$(value job.id "$out")"
  "$here/flink-cluster.sh" await "$dir/flink" "$job_id" >/dev/null

  step "$base_workers base worker(s) ($engine), $upscale_workers upscale worker(s) ($upscale_engine), backend $backend"
  {
    echo "# Written by ops/cluster/pipeline.sh"
    echo "bootstrap.servers=$bootstrap"
    echo "schema.registry.url=$registry_url"
    echo "s3.endpoint=$s3_endpoint"
    echo "s3.access-key=$s3_access"
    echo "s3.secret-key=$s3_secret"
    echo "s3.region=$s3_region"
    echo "s3.bucket=$s3_bucket"
  } >"$dir/worker.properties"
  chmod 600 "$dir/worker.properties"
  local sets=()
  for kv in "${worker_sets[@]}"; do sets+=(--set "$kv"); done
  if [[ "$base_workers" -gt 0 ]]; then
    "$here/workers.sh" start "$dir/workers-base" --pool base --count "$base_workers" \
      --config "$dir/worker.properties" --engine "$engine" --backend "$backend" "${sets[@]}" >/dev/null
  fi
  if [[ "$upscale_workers" -gt 0 ]]; then
    "$here/workers.sh" start "$dir/workers-upscale" --pool upscale --count "$upscale_workers" \
      --config "$dir/worker.properties" --engine "$upscale_engine" --backend "$backend" "${sets[@]}" >/dev/null
  fi

  step "ingest API"
  {
    echo "# Written by ops/cluster/pipeline.sh"
    echo "kafka.bootstrap.servers=$bootstrap"
    echo "schema.registry.url=$registry_url"
    echo "s3.endpoint=$s3_endpoint"
    echo "s3.access-key=$s3_access"
    echo "s3.secret-key=$s3_secret"
    echo "s3.bucket=$s3_bucket"
  } >"$dir/ingest.properties"
  chmod 600 "$dir/ingest.properties"
  out="$("$here/ingest.sh" start "$dir/ingest" --config "$dir/ingest.properties")"
  local api_url api_key api_tenant
  api_url="$(value api.url "$out")"
  api_key="$(value api.key "$out")"
  api_tenant="$(value api.tenant "$out")"

  trap - ERR
  step "up; written to $dir/pipeline.json"
  cluster_main describe "$dir/pipeline.json" \
    "workDir=$dir" \
    "kafka.bootstrapServers=$bootstrap" \
    "schemaRegistry.url=$registry_url" \
    "s3.endpoint=$s3_endpoint" "s3.accessKey=$s3_access" "s3.secretKey=$s3_secret" \
    "s3.region=$s3_region" "s3.bucket=$s3_bucket" \
    "flink.restUrl=$rest_url" "flink.webUi=$rest_url" "flink.jobId=$job_id" \
    "flink.metrics=$metrics_urls" \
    "api.url=$api_url" "api.key=$api_key" "api.tenant=$api_tenant" \
    "console.url=$api_url/console/"
  chmod 600 "$dir/pipeline.json"
  echo "Try: REELFLOW_API_URL=$api_url REELFLOW_API_KEY=$api_key ./reelflow submit" \
    "\"a red fox in the snow\" --resolution preview --wait   (or: ./reelflow status --dir $dir)"
}

# The job jar: --job-jar, else the one the build wrote.
find_job_jar() {
  if [[ -z "$job_jar" ]]; then
    job_jar="$(find "$root/flink-jobs/target" -maxdepth 1 -name 'reelflow-flink-jobs-*-job.jar' \
      2>/dev/null | head -n 1)"
  fi
  if [[ -z "$job_jar" || ! -f "$job_jar" ]]; then
    echo "pipeline.sh: no orchestrator job jar; build it with" \
      "mvn -B -pl flink-jobs package -DskipTests (or pass --job-jar)" >&2
    exit 1
  fi
}

# After a JobManager died: without Flink HA nothing brings the job back by itself. A JobManager on
# the same configuration and ports takes the TaskManagers back; the orchestrator submitted again
# finds its newest usable retained checkpoint under checkpoint.dir and restores it (same operator
# uids), so the renders in flight continue exactly once. A job still running is left alone.
recover() {
  if [[ ! -f "$dir/flink/cluster.properties" || ! -f "$dir/orchestrator.properties" ]]; then
    echo "pipeline.sh: no pipeline in $dir to recover (start it first)" >&2
    exit 1
  fi
  dir="$(cd "$dir" && pwd)"
  started_at=$SECONDS
  find_job_jar
  step "JobManager"
  local out running job_id
  out="$("$here/flink-cluster.sh" restart-jobmanager "$dir/flink")"
  running="$(sed -n 's/^jobs.running=//p' <<<"$out" | tail -n 1)"
  if [[ -n "$running" ]]; then
    step "job $running still runs; nothing to submit"
    return
  fi
  step "orchestrator job $(basename "$job_jar") over REST (restores its newest retained checkpoint)"
  out="$("$here/flink-cluster.sh" submit "$dir/flink" "$job_jar" \
    --config "$dir/orchestrator.properties")"
  job_id="$(value job.id "$out")"
  "$here/flink-cluster.sh" await "$dir/flink" "$job_id" >/dev/null
  if [[ -f "$dir/pipeline.json" ]]; then
    cluster_main describe-update "$dir/pipeline.json" "flink.jobId=$job_id" >/dev/null
    chmod 600 "$dir/pipeline.json"
  fi
  step "recovered: job $job_id RUNNING"
  echo "job.id=$job_id"
}

case "$cmd" in
  start) start ;;
  recover) recover ;;
  stop)
    if [[ ! -d "$dir" ]]; then
      echo "pipeline.sh: nothing to stop in $dir" >&2
      exit 0
    fi
    dir="$(cd "$dir" && pwd)"
    stop_all
    rm -f "$dir/pipeline.json"
    ;;
  status) cluster_main status "$dir" ;;
  *) usage ;;
esac
