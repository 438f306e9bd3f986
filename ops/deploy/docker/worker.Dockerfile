# A worker of either pool (base or upscale) on a CUDA runtime image; one process per GPU.
# Build context: the repository root, after `mvn -B -Pimage package -DskipTests`.
#   docker build -f ops/deploy/docker/worker.Dockerfile -t reelflow/worker:0.1.0 .
FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system reelflow && useradd --system --gid reelflow --home /app reelflow
WORKDIR /app
COPY ops/cli/target/lib/ /app/lib/
COPY ops/cli/target/reelflow-cli-0.1.0-SNAPSHOT.jar /app/reelflow-cli.jar
USER reelflow
EXPOSE 9400
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=50", "-cp", "/app/reelflow-cli.jar:/app/lib/*", "dev.reelflow.cli.ReelflowCli"]
CMD ["worker", "--pool", "base"]
