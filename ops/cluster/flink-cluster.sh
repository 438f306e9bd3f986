#!/usr/bin/env bash
# Standalone Flink session cluster (one JobManager, two TaskManagers by default) as separate
# JVMs from the Flink Maven artifacts; configuration in DIR/conf/config.yaml.
#   flink-cluster.sh start DIR [--taskmanagers N] [--slots N] [--set key=value]...
#                                                  prints rest.url=...
#   flink-cluster.sh stop DIR
#   flink-cluster.sh restart-jobmanager DIR   starts the JobManager again on the same
#                     configuration when its process is gone (the TaskManagers re-register);
#                     prints jobmanager.pid=... and jobs.running=... (empty: submit the job again)
#   flink-cluster.sh submit DIR JOB.jar [--class C] [PROGRAM ARGS...]   prints job.id=...
#   flink-cluster.sh await DIR JOB_ID [--timeout-seconds S]   until the job and its vertices run
# submit uploads the jar (POST /jars/upload) and runs it (POST /jars/{id}/run); the default
# entry class is the ReelFlow orchestrator (dev.reelflow.orchestrator.OrchestratorJob).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 start|stop|submit|await|restart-jobmanager DIR [...]" >&2
  exit 2
fi
cmd="$1"; dir="$2"; shift 2
cp="$("$(dirname "$0")/classpath.sh")"
exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$cp" dev.reelflow.stack.ClusterMain flink "$cmd" "$dir" "$@"
