#!/usr/bin/env bash
# Prints the class path of the ReelFlow process JVMs (ingest, workers, `reelflow provision`): the
# ops/cli build (the same class path the ./reelflow launcher runs). Builds ops/cli and what it
# needs when that build is missing. Set MVN_OPTS (e.g. -o) for that Maven call.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cli="$root/ops/cli/target"
if [[ ! -s "$cli/classpath.txt" || ! -d "$cli/classes" ]]; then
  read -r -a mvn_opts <<<"${MVN_OPTS:-}"
  (cd "$root" && mvn -B -q "${mvn_opts[@]}" -pl ops/cli -am package -DskipTests >&2)
fi
echo "$cli/classes:$(cat "$cli/classpath.txt")"
