package dev.reelflow.e2e;

import dev.reelflow.cli.LocalPipeline;
import dev.reelflow.ingest.IngestConfig;
import dev.reelflow.ingest.IngestServer;
import dev.reelflow.ingest.LocalTenant;
import dev.reelflow.orchestrator.OrchestratorConfig;
import dev.reelflow.orchestrator.OrchestratorJob;
import dev.reelflow.orchestrator.OrchestratorSettings;
import dev.reelflow.schemas.SchemaProvisioner;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.stack.KafkaClusterProcesses;
import dev.reelflow.stack.LocalStack;
import dev.reelflow.worker.WorkerConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline on a three-broker KRaft cluster of separate broker JVMs ({@link
 * KafkaClusterProcesses}: replication 3, min.insync.replicas 2, as in the distributed mode), with
 * the schema registry and the S3 endpoint in this JVM (the registry stores its schemas in the
 * cluster, replicated three ways), the orchestrator in a Flink MiniCluster, the ingest API in this
 * JVM and base workers as separate JVMs ({@link WorkerJvm}, emulated engine). Every Kafka client
 * gets all three brokers as bootstrap servers. Orchestrator timings as in {@link SharedPipeline}:
 * the default 4 s lease, 2 s checkpoints.
 */
final class ClusterPipeline implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterPipeline.class);

  final Path dir;
  final KafkaClusterProcesses kafka;
  final LocalStack stack;
  final OrchestratorConfig orchestratorConfig;
  private JobClient orchestrator;
  private IngestServer ingest;
  private LocalTenant tenant;

  private ClusterPipeline(
      Path dir, KafkaClusterProcesses kafka, LocalStack stack, OrchestratorConfig c) {
    this.dir = dir;
    this.kafka = kafka;
    this.stack = stack;
    this.orchestratorConfig = c;
  }

  /**
   * Starts every part; {@code orchestratorSettings} override the orchestrator's config (e.g. {@code
   * task.lease.stall-hold}).
   */
  static ClusterPipeline start(Path dir, Map<String, String> orchestratorSettings)
      throws Exception {
    long t0 = System.nanoTime();
    KafkaClusterProcesses kafka =
        KafkaClusterProcesses.builder(dir.resolve("kafka"))
            .brokers(3)
            .jvmOptions(
                List.of(
                    "-Xmx320m",
                    "-Xms64m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Dlogback.configurationFile=logback-broker.xml"))
            .build()
            .start();
    LocalStack stack = null;
    ClusterPipeline p = null;
    try {
      LOG.info("three brokers up at {} in {} ms", kafka.bootstrapServers(), ms(t0));
      stack =
          LocalStack.builder()
              .workDir(dir.resolve("stack"))
              .externalKafka(kafka.bootstrapServers())
              .registry()
              .s3()
              .build()
              .start();
      TopicProvisioner.builder()
          .bootstrapServers(kafka.bootstrapServers())
          .replicationFactor(3)
          .build()
          .provision();
      SchemaProvisioner.registerAll(
          SchemaRegistryClient.create(stack.schemaRegistryUrl()), Topics.defaults());
      OrchestratorConfig.Builder b =
          OrchestratorConfig.builder()
              .bootstrapServers(kafka.bootstrapServers())
              .registryUrl(stack.schemaRegistryUrl())
              .bucket(stack.bucket())
              .checkpointDir(dir.resolve("flink/checkpoints").toUri().toString())
              .checkpointInterval(Duration.ofSeconds(2))
              .stateBackend("hashmap")
              .positionInterval(Duration.ofSeconds(1))
              .set(OrchestratorSettings.RETRY_INITIAL_BACKOFF.name(), "500ms");
      orchestratorSettings.forEach(b::set);
      p = new ClusterPipeline(dir, kafka, stack, b.build());
      p.startOrchestrator();
      p.startIngest();
      LOG.info("cluster pipeline up in {} ms", ms(t0));
      return p;
    } catch (Exception | Error e) {
      if (p != null) {
        p.close();
      } else {
        if (stack != null) {
          stack.close();
        }
        kafka.close();
      }
      throw e;
    }
  }

  private static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  private void startOrchestrator() throws Exception {
    Configuration flink = new Configuration();
    flink.set(RestOptions.PORT, 0);
    flink.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 3);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, flink);
    orchestrator = OrchestratorJob.builder().config(orchestratorConfig).build().start(env);
  }

  private void startIngest() throws IOException, InterruptedException {
    tenant = LocalTenant.ensure(dir.resolve("tenant"));
    Path file = dir.resolve("ingest.properties");
    Properties p =
        LocalPipeline.ingestSettings(stack, kafka.bootstrapServers(), 0, tenant.apiKeysFile());
    p.setProperty(IngestConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    p.setProperty(IngestConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    p.setProperty(IngestConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    p.setProperty(IngestConfig.S3_BUCKET.name(), stack.bucket());
    p.setProperty(IngestConfig.API_KEYS_FILE.name(), tenant.apiKeysFile().toString());
    try (OutputStream out = Files.newOutputStream(file)) {
      p.store(out, "BrokerFaultIT");
    }
    ingest = IngestServer.builder(IngestConfig.load(file, Map.of())).build().start();
    if (!ingest.awaitReady(Duration.ofSeconds(90))) {
      throw new AssertionError("the ingest API did not become ready");
    }
  }

  RenderApi api() {
    return new RenderApi(ingest.baseUrl(), tenant.apiKey());
  }

  /** Kafka, registry and S3 settings of a worker JVM. */
  Map<String, String> workerConnection() {
    Map<String, String> v = new LinkedHashMap<>();
    v.put(WorkerConfig.BOOTSTRAP_SERVERS.name(), kafka.bootstrapServers());
    v.put(WorkerConfig.SCHEMA_REGISTRY_URL.name(), stack.schemaRegistryUrl());
    v.put(WorkerConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    v.put(WorkerConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    v.put(WorkerConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    v.put(WorkerConfig.S3_BUCKET.name(), stack.bucket());
    v.put(WorkerConfig.S3_REGION.name(), stack.s3Region());
    return v;
  }

  WorkerJvm startWorker(String id, Map<String, String> settings) throws IOException {
    return WorkerJvm.start(id, dir.resolve("workers"), workerConnection(), settings);
  }

  @Override
  public void close() {
    if (ingest != null) {
      try {
        ingest.close();
      } catch (Exception e) {
        LOG.warn("stopping ingest: {}", e.toString());
      }
    }
    if (orchestrator != null) {
      try {
        orchestrator.cancel().get();
      } catch (Exception e) {
        LOG.warn("cancelling the orchestrator: {}", e.toString());
      }
    }
    try {
      stack.close();
    } catch (RuntimeException e) {
      LOG.warn("stopping the stack: {}", e.toString());
    }
    kafka.close();
  }
}
