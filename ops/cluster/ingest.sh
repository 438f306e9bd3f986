#!/usr/bin/env bash
# The ingest API (`reelflow ingest`) as its own JVM, with DIR as its working directory.
#   ingest.sh start DIR [--config FILE] [--port N] [--heap SIZE]   prints api.url=..., api.key=...
#   ingest.sh stop DIR                                             SIGTERM, SIGKILL after 30 s
# FILE holds the IngestConfig keys (kafka.bootstrap.servers, schema.registry.url, s3.*, ...);
# REELFLOW_* environment variables override it. Without API keys configured, ingest creates the
# local tenant in DIR/.reelflow/tenant/ and this prints its key. Log in DIR/ingest.log.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 start DIR [--config FILE] [--port N] [--heap SIZE] | stop DIR" >&2
  exit 2
fi
cmd="$1"; dir="$2"; shift 2
here="$(dirname "$0")"
cp="$("$here/classpath.sh")"
extra=()
if [[ "$cmd" == start ]]; then
  extra=(--classpath "$("$here/cli-classpath.sh")")
fi
exec java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$cp" dev.reelflow.stack.ClusterMain ingest "$cmd" "$dir" "${extra[@]}" "$@"
