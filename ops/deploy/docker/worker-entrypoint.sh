#!/bin/sh
# Fills JavaCPP's cache with libtorch in a throwaway JVM first (a first load with an empty cache
# has crashed), then runs the reelflow command. Weights are off-heap: no JavaCPP memory limit.
set -e
CP="/app/reelflow-cli.jar:/app/lib/*"
java -cp "$CP" dev.reelflow.engine.backend.TorchRuntime
exec java -XX:MaxRAMPercentage=50 -Dorg.bytedeco.javacpp.maxBytes=0 \
  -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$CP" dev.reelflow.cli.ReelflowCli "$@"
