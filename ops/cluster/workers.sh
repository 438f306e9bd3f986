#!/usr/bin/env bash
# Workers of one pool (`reelflow worker`), each its own JVM with one slot: ids <pool>-1..N, work
# directories and logs DIR/<pool>-i[.log], /healthz on a free port each.
#   workers.sh start DIR --pool base|upscale [--count N] [--config FILE] [--engine NAME]
#                        [--backend cpu|torch|cuda[:N]] [--heap SIZE] [--set key=value]...
#                                                                 prints worker.<id>.health=...
# --backend cuda:N gives worker i the GPU N+i-1 (one GPU per worker JVM).
#   workers.sh stop DIR        SIGTERM (drains the running task), SIGKILL after 120 s
# Heap: 768m for base workers (the native engine works off-heap), 2g for upscale (1080p frames).
# FILE holds the WorkerConfig keys (bootstrap.servers, schema.registry.url, s3.*, ...);
# REELFLOW_<SETTING> environment variables override it, --set wins over both.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 start DIR --pool base|upscale [--count N] [--config FILE] [--engine NAME]" \
    "[--backend cpu|torch|cuda[:N]] [--heap SIZE] [--set key=value]... | stop DIR" >&2
  exit 2
fi
cmd="$1"; dir="$2"; shift 2
here="$(dirname "$0")"
cp="$("$here/classpath.sh")"
extra=()
if [[ "$cmd" == start ]]; then
  extra=(--classpath "$("$here/cli-classpath.sh")")
fi
exec java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$cp" dev.reelflow.stack.ClusterMain workers "$cmd" "$dir" "${extra[@]}" "$@"
