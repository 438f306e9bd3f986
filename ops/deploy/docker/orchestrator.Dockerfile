# The orchestrator job jar on the official Flink image, for the Flink Kubernetes Operator
# (FlinkDeployment jarURI local:///opt/flink/usrlib/reelflow-orchestrator.jar).
# Build context: the repository root, after `mvn -B package -DskipTests`.
#   docker build -f ops/deploy/docker/orchestrator.Dockerfile -t reelflow/orchestrator:0.1.0 .
FROM flink:2.2.0-java17
RUN mkdir -p /opt/flink/plugins/s3-fs-presto \
 && cp /opt/flink/opt/flink-s3-fs-presto-*.jar /opt/flink/plugins/s3-fs-presto/
COPY flink-jobs/target/reelflow-flink-jobs-0.1.0-SNAPSHOT-job.jar /opt/flink/usrlib/reelflow-orchestrator.jar
USER flink
