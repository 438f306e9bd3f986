#!/usr/bin/env bash
# Prints the class path of the cluster JVMs (ops/stack with its Kafka and Flink runtime
# dependencies), resolved by Maven once and cached in ops/stack/target/cluster-classpath.txt.
# `mvn -pl ops/stack package` writes that file too. Set MVN_OPTS=-o to stay offline.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cp_file="$root/ops/stack/target/cluster-classpath.txt"
jar="$root/ops/stack/target/classes"
read -r -a mvn_opts <<<"${MVN_OPTS:-}"
if [[ ! -s "$cp_file" || "$root/ops/stack/pom.xml" -nt "$cp_file" ]]; then
  mkdir -p "$root/ops/stack/target"
  (cd "$root" && mvn -B -q "${mvn_opts[@]}" -pl ops/stack dependency:build-classpath \
      -DincludeScope=runtime -Dmdep.outputFile="$cp_file" >&2)
fi
if [[ ! -d "$jar" ]]; then
  (cd "$root" && mvn -B -q "${mvn_opts[@]}" -pl ops/stack compile >&2)
fi
echo "$jar:$(cat "$cp_file")"
