#!/usr/bin/env bash
# The S3 endpoint (S3Proxy with its filesystem backend, data under DIR/stack/s3; MinIO in
# production) as its own JVM; creates the bucket "reelflow".
#   s3.sh start DIR [--port N]   prints s3.endpoint=..., s3.accessKey=..., s3.secretKey=..., ...
#   s3.sh stop DIR               SIGTERM, SIGKILL after 30 s
# Log in DIR/s3.log, pid and address in DIR/cluster.properties.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 start DIR [--port N] | stop DIR" >&2
  exit 2
fi
cmd="$1"; dir="$2"; shift 2
cp="$("$(dirname "$0")/classpath.sh")"
exec java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$cp" dev.reelflow.stack.ClusterMain s3 "$cmd" "$dir" "$@"
