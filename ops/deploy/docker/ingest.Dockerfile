# The ingest API (and web console).
# Build context: the repository root, after `mvn -B -Pimage package -DskipTests`.
#   docker build -f ops/deploy/docker/ingest.Dockerfile -t reelflow/ingest:0.1.0 .
FROM eclipse-temurin:17.0.15_6-jre-jammy
RUN groupadd --system reelflow && useradd --system --gid reelflow --home /app reelflow
WORKDIR /app
COPY ops/cli/target/lib/ /app/lib/
COPY ops/cli/target/reelflow-cli-0.1.0-SNAPSHOT.jar /app/reelflow-cli.jar
USER reelflow
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD ["java", "-version"]
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-cp", "/app/reelflow-cli.jar:/app/lib/*", "dev.reelflow.cli.ReelflowCli"]
CMD ["ingest"]
