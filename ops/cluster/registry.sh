#!/usr/bin/env bash
# The schema registry server (Confluent REST API, schemas in the cluster's compacted _schemas
# topic) as its own JVM, against an existing Kafka cluster.
#   registry.sh start DIR --bootstrap-servers B [--port N]   prints schema.registry.url=...
#   registry.sh stop DIR                                      SIGTERM, SIGKILL after 30 s
# Log in DIR/registry.log, pid and address in DIR/cluster.properties.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 start DIR --bootstrap-servers B [--port N] | stop DIR" >&2
  exit 2
fi
cmd="$1"; dir="$2"; shift 2
cp="$("$(dirname "$0")/classpath.sh")"
exec java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$cp" dev.reelflow.stack.ClusterMain registry "$cmd" "$dir" "$@"
