package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.ingest.IngestConfig;
import dev.reelflow.ingest.IngestServer;
import dev.reelflow.ingest.LocalTenant;
import dev.reelflow.orchestrator.OrchestratorConfig;
import dev.reelflow.schemas.SchemaProvisioner;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.stack.FlinkSessionProcesses;
import dev.reelflow.stack.KafkaClusterProcesses;
import dev.reelflow.stack.S3Endpoint;
import dev.reelflow.stack.SchemaRegistryServer;
import dev.reelflow.worker.WorkerConfig;
import dev.reelflow.worker.WorkerMain;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The distributed mode on one machine, every part in its own process: a three-broker KRaft Kafka
 * cluster (replication 3, min.insync.replicas 2), a standalone Flink session cluster (JobManager
 * and two TaskManagers) running the orchestrator job jar submitted over Flink's REST API (the same
 * jar the MiniCluster runs), base and upscale workers as JVMs, the schema registry, the S3 endpoint
 * and the ingest API. A batch of three preview renders (one upscaled to 1080p) is submitted over
 * HTTP; one broker is killed (SIGKILL) while the batch runs; every render must still succeed with
 * its final video in S3. Slow (minutes): behind {@code -Pslow}.
 *
 * <p>System properties: {@code reelflow.job.jar} (set by the pom), {@code
 * reelflow.distributed.base-engine} (default {@code native}, the tiny model), {@code
 * reelflow.distributed.upscale-engine} (default {@code bicubic}), {@code
 * reelflow.distributed.kill-broker} (default {@code true}).
 */
@EnabledIfSystemProperty(named = "reelflow.slow", matches = "true")
class DistributedIT {
  private static final Logger LOG = LoggerFactory.getLogger(DistributedIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofMinutes(4);
  private static final Duration BATCH_WAIT = Duration.ofMinutes(12);

  @TempDir Path dir;

  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();
  private final List<Process> workers = new ArrayList<>();

  @Test
  void aBatchCompletesOnABrokerClusterAndAFlinkSessionClusterWhileABrokerDies() throws Exception {
    long t0 = System.nanoTime();
    Path jobJar = Path.of(System.getProperty("reelflow.job.jar", "missing-job-jar"));
    assertThat(jobJar)
        .as("the orchestrator job jar; build it with: mvn -pl flink-jobs package -DskipTests")
        .isRegularFile();
    String testClasspath = System.getProperty("java.class.path");

    // 1. Kafka: three broker+controller JVMs from the Maven artifacts.
    KafkaClusterProcesses kafka =
        KafkaClusterProcesses.builder(dir.resolve("kafka"))
            .brokers(3)
            .classpath(platformClasspath(testClasspath, false))
            .build();
    cleanup.push(kafka);
    kafka.start();
    lap(t0, "Kafka cluster " + kafka.bootstrapServers());

    // 2. Registry and S3 in this JVM, on the cluster.
    SchemaRegistryServer registry = SchemaRegistryServer.builder(kafka.bootstrapServers()).build();
    cleanup.push(registry);
    registry.start();
    S3Endpoint s3 = S3Endpoint.builder(dir.resolve("s3")).build();
    cleanup.push(s3);
    s3.start();

    // 3. Topics with replication 3, schemas.
    TopicProvisioner.builder()
        .bootstrapServers(kafka.bootstrapServers())
        .replicationFactor(3)
        .build()
        .provision();
    SchemaProvisioner.registerAll(SchemaRegistryClient.create(registry.url()), Topics.defaults());
    assertReplicatedThreeWays(kafka.bootstrapServers(), "render.tasks.base", "render.status");
    lap(t0, "registry, S3, topics and schemas");

    // 4. Flink session cluster; the orchestrator job jar over REST.
    FlinkSessionProcesses flink =
        FlinkSessionProcesses.builder(dir.resolve("flink"))
            .taskManagers(2)
            .slots(2)
            .classpath(platformClasspath(testClasspath, true))
            .build();
    cleanup.push(flink);
    flink.start();
    lap(t0, "Flink session cluster " + flink.restUrl());
    Path jobConfig = writeOrchestratorConfig(kafka, registry, s3);
    String jobId =
        flink.submitJar(
            jobJar,
            "dev.reelflow.orchestrator.OrchestratorJob",
            List.of("--config", jobConfig.toString()));
    cleanup.push(() -> flink.cancelJob(jobId));
    flink.awaitJobRunning(jobId, WAIT);
    lap(t0, "orchestrator job " + jobId + " running");

    // 5. Workers as JVMs, ingest API in this JVM.
    Map<String, String> connection = new LinkedHashMap<>();
    connection.put(WorkerConfig.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
    connection.put(WorkerConfig.SCHEMA_REGISTRY_URL, registry.url());
    connection.put(WorkerConfig.S3_ENDPOINT, s3.endpoint());
    connection.put(WorkerConfig.S3_ACCESS_KEY, s3.accessKey());
    connection.put(WorkerConfig.S3_SECRET_KEY, s3.secretKey());
    connection.put(WorkerConfig.S3_BUCKET, s3.bucket());
    connection.put(WorkerConfig.S3_REGION, s3.region());
    String baseEngine = System.getProperty("reelflow.distributed.base-engine", "native");
    String upscaleEngine = System.getProperty("reelflow.distributed.upscale-engine", "bicubic");
    startWorker(testClasspath, "dist-base", "base", baseEngine, connection);
    startWorker(testClasspath, "dist-upscale", "upscale", upscaleEngine, connection);
    EventLog events = new EventLog(kafka.bootstrapServers(), registry.url());
    cleanup.push(events);
    for (String id : List.of("dist-base", "dist-upscale")) {
      events.awaitWorker(
          WAIT,
          "READY from " + id,
          e ->
              (e.getWorkerId().equals(id) || e.getWorkerId().startsWith(id + "-"))
                  && e.getType() == WorkerEventType.READY);
    }
    LocalTenant tenant = LocalTenant.ensure(dir.resolve("tenant"));
    IngestServer ingest = startIngest(kafka, registry, s3, tenant);
    cleanup.push(ingest);
    lap(t0, "workers and ingest API " + ingest.baseUrl());

    // 6. The batch, a broker killed while it runs.
    long batchStart = System.nanoTime();
    String batchId = submitBatch(ingest.baseUrl(), tenant.apiKey());
    RenderApi api = new RenderApi(ingest.baseUrl(), tenant.apiKey());
    List<String> ids = List.of(batchId + "-000000", batchId + "-000001", batchId + "-000002");
    boolean killBroker =
        Boolean.parseBoolean(System.getProperty("reelflow.distributed.kill-broker", "true"));
    if (killBroker) {
      Await.until(
          WAIT,
          "a render of the batch RENDERING",
          () -> ids.stream().flatMap(id -> api.inState(id, "RENDERING").stream()).findFirst());
      kafka.killBroker(2);
      assertThat(kafka.isRunning(2)).isFalse();
      lap(t0, "broker 2 killed while the batch runs");
    }
    Map<String, JsonNode> done = new LinkedHashMap<>();
    for (String id : ids) {
      done.put(
          id,
          Await.until(
              BATCH_WAIT,
              "SUCCEEDED of " + id,
              () -> {
                for (String bad : List.of("FAILED", "CANCELLED", "EXPIRED")) {
                  api.inState(id, bad)
                      .ifPresent(
                          j -> {
                            throw new AssertionError(id + " ended " + bad + ": " + j);
                          });
                }
                return api.inState(id, "SUCCEEDED");
              }));
    }
    long batchMs = (System.nanoTime() - batchStart) / 1_000_000;

    // 7. Final videos in S3 (fetched through the API's links), the job still on the cluster.
    HttpClient http = HttpClient.newHttpClient();
    for (Map.Entry<String, JsonNode> e : done.entrySet()) {
      String link = e.getValue().path("outputs").path("video").asText();
      assertThat(link).as("video link of %s: %s", e.getKey(), e.getValue()).isNotEmpty();
      HttpResponse<byte[]> video =
          http.send(
              HttpRequest.newBuilder(URI.create(link)).GET().build(),
              HttpResponse.BodyHandlers.ofByteArray());
      assertThat(video.statusCode()).as("GET %s", link).isEqualTo(200);
      assertThat(video.body().length).isGreaterThan(1000);
      // An MP4 starts with its 'ftyp' box.
      assertThat(new String(video.body(), 4, 4, java.nio.charset.StandardCharsets.US_ASCII))
          .isEqualTo("ftyp");
    }
    // Row 0 went through the upscale worker (1920x1080); row 1 is the 1:1 preview (192x192).
    JsonNode upscaled = manifest(http, done.get(ids.get(0)));
    assertThat(upscaled.path("upscale").asText()).as("%s", upscaled).isEqualTo("1080p");
    assertThat(upscaled.path("resolution").path("width").asInt()).isEqualTo(1920);
    assertThat(upscaled.path("resolution").path("height").asInt()).isEqualTo(1080);
    JsonNode plain = manifest(http, done.get(ids.get(1)));
    assertThat(plain.path("resolution").path("width").asInt()).as("%s", plain).isEqualTo(192);
    assertThat(plain.path("resolution").path("height").asInt()).isEqualTo(192);
    assertThat(flink.jobState(jobId)).isEqualTo("RUNNING");
    LOG.info(
        "distributed run: batch of {} renders in {} ms (broker killed: {}), whole test {} ms",
        ids.size(),
        batchMs,
        killBroker,
        (System.nanoTime() - t0) / 1_000_000);
  }

  @AfterEach
  void stopEverything() {
    for (Process w : workers) {
      w.destroy();
    }
    for (Process w : workers) {
      try {
        if (!w.waitFor(30, TimeUnit.SECONDS)) {
          w.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    while (!cleanup.isEmpty()) {
      try {
        cleanup.pop().close();
      } catch (Exception e) {
        LOG.warn("cleanup: {}", e.toString());
      }
    }
    List<ProcessHandle> left =
        ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
    assertThat(left)
        .as(
            "processes left behind: %s",
            left.stream().map(h -> h.pid() + " " + h.info().command().orElse("?")).toList())
        .isEmpty();
  }

  private static JsonNode manifest(HttpClient http, JsonNode render) throws Exception {
    String link = render.path("outputs").path("manifest").asText();
    assertThat(link).as("manifest link: %s", render).isNotEmpty();
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(link)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s", link).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static void lap(long t0, String what) {
    LOG.info("+{} ms: {}", (System.nanoTime() - t0) / 1_000_000, what);
  }

  /**
   * The class path of the platform JVMs: this test's class path without the project's own classes
   * (the job brings its code in its jar; brokers and Flink need none of it), except ops/stack's
   * logging configuration. For Flink also without the connector, Kafka client and Avro jars that
   * the job jar bundles: Flink loads {@code org.apache.flink.*} parent-first, so a connector on the
   * cluster class path would meet the job's own Kafka classes from another class loader.
   */
  static String platformClasspath(String classpath, boolean forFlink) {
    return Arrays.stream(classpath.split(File.pathSeparator))
        .filter(
            e -> {
              String p = e.replace('\\', '/');
              boolean stack = p.contains("reelflow-stack") || p.contains("ops/stack/target");
              if (!stack
                  && (p.contains("/dev/reelflow/")
                      || p.endsWith("/target/classes")
                      || p.endsWith("/target/test-classes"))) {
                return false;
              }
              if (forFlink) {
                String name = p.substring(p.lastIndexOf('/') + 1);
                return !(name.startsWith("flink-connector-kafka")
                    || name.startsWith("flink-avro")
                    || name.startsWith("kafka-clients")
                    || name.startsWith("avro-"));
              }
              return true;
            })
        .collect(Collectors.joining(File.pathSeparator));
  }

  private static void assertReplicatedThreeWays(String bootstrap, String... topics)
      throws Exception {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      Map<String, TopicDescription> d =
          admin.describeTopics(List.of(topics)).allTopicNames().get(60, TimeUnit.SECONDS);
      for (TopicDescription t : d.values()) {
        t.partitions()
            .forEach(p -> assertThat(p.replicas()).as("%s replicas", t.name()).hasSize(3));
      }
    }
  }

  private Path writeOrchestratorConfig(
      KafkaClusterProcesses kafka, SchemaRegistryServer registry, S3Endpoint s3)
      throws IOException {
    Properties p = new Properties();
    p.setProperty(OrchestratorConfig.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
    p.setProperty(OrchestratorConfig.REGISTRY_URL, registry.url());
    p.setProperty(OrchestratorConfig.BUCKET, s3.bucket());
    p.setProperty(
        OrchestratorConfig.CHECKPOINT_DIR, dir.resolve("flink/checkpoints").toUri().toString());
    p.setProperty(OrchestratorConfig.STATE_BACKEND, "hashmap");
    p.setProperty(OrchestratorConfig.CHECKPOINT_INTERVAL, "2s");
    p.setProperty(OrchestratorConfig.PARALLELISM, "2");
    p.setProperty(OrchestratorConfig.LEASE, "60s");
    p.setProperty(OrchestratorConfig.RETRY_INITIAL_BACKOFF, "500ms");
    p.setProperty(OrchestratorConfig.POSITION_INTERVAL, "1s");
    p.setProperty(OrchestratorConfig.JOB_NAME, "reelflow-orchestrator (distributed IT)");
    Path file = dir.resolve("orchestrator.properties");
    try (OutputStream out = Files.newOutputStream(file)) {
      p.store(out, "DistributedIT");
    }
    return file;
  }

  private void startWorker(
      String classpath, String id, String pool, String engine, Map<String, String> connection)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx768m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-Dlogback.configurationFile=logback-worker.xml");
    cmd.add("-cp");
    cmd.add(classpath);
    cmd.add(WorkerMain.class.getName());
    cmd.addAll(List.of("--pool", pool, "--engine", engine));
    Map<String, String> settings = new LinkedHashMap<>(connection);
    settings.put(WorkerConfig.WORKER_ID, id);
    settings.put(WorkerConfig.SLOTS, "1");
    settings.put(WorkerConfig.WORK_DIR, dir.resolve("workers").resolve(id).toString());
    settings.put(WorkerConfig.METRICS_PORT, "-1");
    settings.put(WorkerConfig.DEVICE_NAME, "cpu");
    settings.put(WorkerConfig.DEVICE_MEMORY_BYTES, Long.toString(4L << 30));
    settings.put(WorkerConfig.HEARTBEAT_INTERVAL_MS, "2000");
    settings.forEach(
        (k, v) -> {
          cmd.add("--set");
          cmd.add(k + "=" + v);
        });
    Path log = dir.resolve("workers").resolve(id + ".log");
    Files.createDirectories(log.getParent());
    workers.add(
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
  }

  private IngestServer startIngest(
      KafkaClusterProcesses kafka, SchemaRegistryServer registry, S3Endpoint s3, LocalTenant tenant)
      throws Exception {
    Properties p = new Properties();
    p.setProperty(IngestConfig.PORT, "0");
    p.setProperty(IngestConfig.HOST, "127.0.0.1");
    p.setProperty(IngestConfig.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
    p.setProperty(IngestConfig.SCHEMA_REGISTRY_URL, registry.url());
    p.setProperty(IngestConfig.S3_ENDPOINT, s3.endpoint());
    p.setProperty(IngestConfig.S3_ACCESS_KEY, s3.accessKey());
    p.setProperty(IngestConfig.S3_SECRET_KEY, s3.secretKey());
    p.setProperty(IngestConfig.S3_BUCKET, s3.bucket());
    p.setProperty(IngestConfig.API_KEYS_FILE, tenant.apiKeysFile().toString());
    Path file = dir.resolve("ingest.properties");
    try (OutputStream out = Files.newOutputStream(file)) {
      p.store(out, "DistributedIT");
    }
    IngestServer ingest = IngestServer.builder(IngestConfig.load(file, Map.of())).build().start();
    assertThat(ingest.awaitReady(WAIT)).as("ingest ready").isTrue();
    return ingest;
  }

  /** POST /v1/batches with three preview rows (the first upscaled to 1080p); the batch id. */
  private static String submitBatch(String baseUrl, String apiKey) throws Exception {
    String rows =
        String.join(
            "\n",
            "{\"prompt\":\"a lighthouse at dusk, distributed\",\"resolution\":\"preview\","
                + "\"aspectRatio\":\"16:9\",\"frames\":9,\"steps\":2,\"seed\":1,"
                + "\"upscale\":\"1080p\"}",
            "{\"prompt\":\"a paper boat on a river\",\"resolution\":\"preview\","
                + "\"aspectRatio\":\"1:1\",\"frames\":9,\"steps\":2,\"seed\":2,"
                + "\"upscale\":\"none\"}",
            "{\"prompt\":\"snow falling on a pine forest\",\"resolution\":\"preview\","
                + "\"aspectRatio\":\"9:16\",\"frames\":9,\"steps\":2,\"seed\":3,"
                + "\"upscale\":\"none\"}",
            "");
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(baseUrl + "/v1/batches"))
                    .timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + apiKey)
                    .header("Content-Type", "application/x-ndjson")
                    .POST(HttpRequest.BodyPublishers.ofString(rows))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("POST /v1/batches: %s", r.body()).isEqualTo(202);
    JsonNode json = JSON.readTree(r.body());
    assertThat(json.path("count").asInt()).isEqualTo(3);
    return json.path("batchId").asText();
  }
}
