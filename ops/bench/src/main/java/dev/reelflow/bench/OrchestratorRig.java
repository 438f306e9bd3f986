package dev.reelflow.bench;

import dev.reelflow.emulated.EmulatedWorkers;
import dev.reelflow.orchestrator.OrchestratorConfig;
import dev.reelflow.orchestrator.OrchestratorJob;
import dev.reelflow.schemas.SchemaProvisioner;
import dev.reelflow.schemas.Topic;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.stack.LocalStack;
import dev.reelflow.worker.WorkerConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalDouble;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The orchestrator under test: an embedded Kafka broker and schema registry, the topics (the base
 * task topic with one partition per emulated worker), and the orchestrator job in a Flink
 * MiniCluster whose metrics go to a Prometheus endpoint (checkpoint duration and size are read
 * there, under the names the cluster's dashboards use).
 */
final class OrchestratorRig implements AutoCloseable {
  private final LocalStack stack;
  private final JobClient job;
  private final KafkaProducer<String, RenderRequest> producer;
  private final int metricsPort;
  private final HttpClient http = HttpClient.newHttpClient();

  /** The orchestrator's settings for one run. */
  record Settings(
      int workers,
      DeliveryGuarantee delivery,
      String stateBackend,
      Duration checkpointInterval,
      Duration lease,
      Duration positionInterval) {}

  OrchestratorRig(Path work, Settings s) throws Exception {
    this(work, s, false);
  }

  /**
   * @param withS3 also start the S3 endpoint, for real workers ({@link #workerConfig}) that publish
   *     their outputs
   */
  OrchestratorRig(Path work, Settings s, boolean withS3) throws Exception {
    LocalStack.Builder b = LocalStack.builder().workDir(work).kafka().registry();
    stack = (withS3 ? b.s3() : b).build().start();
    try {
      Topics topics = Topics.builder().partitions(Topic.TASKS_BASE, s.workers()).build();
      TopicProvisioner.builder()
          .bootstrapServers(stack.bootstrapServers())
          .replicationFactor(1)
          .topics(topics)
          .build()
          .provision();
      SchemaProvisioner.registerAll(SchemaRegistryClient.create(stack.schemaRegistryUrl()), topics);
      OrchestratorConfig config =
          OrchestratorConfig.builder()
              .bootstrapServers(stack.bootstrapServers())
              .registryUrl(stack.schemaRegistryUrl())
              .checkpointInterval(s.checkpointInterval())
              .checkpointDir(work.resolve("checkpoints").toUri().toString())
              .transactionTimeout(Duration.ofMinutes(5))
              .stateBackend(s.stateBackend())
              .taskDelivery(s.delivery())
              .bufferTimeout(Duration.ofMillis(5))
              .positionInterval(s.positionInterval())
              .lease(s.lease())
              .build();
      metricsPort = freePort();
      Configuration flink = new Configuration();
      flink.setString(
          "metrics.reporter.prom.factory.class",
          "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
      flink.setString("metrics.reporter.prom.port", Integer.toString(metricsPort));
      StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, flink);
      job = OrchestratorJob.builder().config(config).build().start(env);
      producer =
          new KafkaProducer<>(
              Map.of("bootstrap.servers", stack.bootstrapServers(), "linger.ms", "0"),
              new StringSerializer(),
              AvroRecordSerializer.<RenderRequest>builder()
                  .client(SchemaRegistryClient.create(stack.schemaRegistryUrl()))
                  .build());
    } catch (Exception e) {
      stack.close();
      throw e;
    }
  }

  String bootstrapServers() {
    return stack.bootstrapServers();
  }

  String registryUrl() {
    return stack.schemaRegistryUrl();
  }

  /**
   * Worker config for a real worker process on this rig (base pool, CPU device); the rig must have
   * been started with S3.
   */
  Map<String, String> workerConfig() {
    Map<String, String> m = new HashMap<>();
    m.put(WorkerConfig.BOOTSTRAP_SERVERS.name(), stack.bootstrapServers());
    m.put(WorkerConfig.SCHEMA_REGISTRY_URL.name(), stack.schemaRegistryUrl());
    m.put(WorkerConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    m.put(WorkerConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    m.put(WorkerConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    m.put(WorkerConfig.S3_BUCKET.name(), stack.bucket());
    m.put(WorkerConfig.S3_REGION.name(), stack.s3Region());
    m.put(WorkerConfig.DEVICE_NAME.name(), "cpu");
    m.put(WorkerConfig.DEVICE_MEMORY_BYTES.name(), Long.toString(4L << 30));
    return m;
  }

  /** EMULATED base workers (one slot each, no prefetch), one per task-topic partition. */
  EmulatedWorkers emulatedWorkers(int workers, long taskMillis) {
    return EmulatedWorkers.builder()
        .bootstrapServers(bootstrapServers())
        .registryUrl(registryUrl())
        .workers(workers)
        .taskMillis(taskMillis)
        .build();
  }

  /** Produces a render request as ingest would; returns its submittedAt in epoch ms. */
  long submit(String id, String tenant, int priority) {
    Instant now = Instant.now();
    RenderRequest r =
        RenderRequest.newBuilder()
            .setRequestId(id)
            .setTenant(tenant)
            .setParams(
                RenderParams.newBuilder()
                    .setPrompt("emulated bench render")
                    .setResolution(Resolution.PREVIEW)
                    .setFrames(17)
                    .setSteps(4)
                    .setSeed(7)
                    .setUpscale(UpscaleTarget.NONE)
                    .build())
            .setPriority(priority)
            .setDeadline(null)
            .setLabels(new HashMap<>())
            .setSubmittedAt(now)
            .build();
    producer.send(new ProducerRecord<>(Topics.REQUESTS, id, r));
    return now.toEpochMilli();
  }

  void flush() {
    producer.flush();
  }

  /**
   * A job metric from the Prometheus endpoint, e.g. {@code lastCheckpointDuration}; empty until the
   * first checkpoint reports it.
   */
  OptionalDouble jobMetric(String name) {
    String prefix = "flink_jobmanager_job_" + name;
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create("http://localhost:" + metricsPort + "/metrics"))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      for (String line : r.body().split("\n")) {
        if (line.startsWith(prefix + "{") || line.startsWith(prefix + " ")) {
          return OptionalDouble.of(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
        }
      }
    } catch (IOException | NumberFormatException e) {
      return OptionalDouble.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return OptionalDouble.empty();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() throws Exception {
    try {
      producer.close();
      job.cancel().get();
    } finally {
      stack.close();
    }
  }
}
