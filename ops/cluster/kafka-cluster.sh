#!/usr/bin/env bash
# Three-broker KRaft Kafka cluster (each node broker+controller, replication 3,
# min.insync.replicas 2) as separate JVMs from the Maven artifacts.
#   kafka-cluster.sh start DIR [--brokers N]   prints bootstrap.servers=...
#   kafka-cluster.sh stop DIR                   SIGTERM (controlled shutdown), SIGKILL after 60 s
# Data, server.properties and logs of node i live in DIR/broker-i and DIR/broker-i.log.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 start|stop DIR [--brokers N]" >&2
  exit 2
fi
cmd="$1"; dir="$2"; shift 2
cp="$("$(dirname "$0")/classpath.sh")"
exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$cp" dev.reelflow.stack.ClusterMain kafka "$cmd" "$dir" "$@"
