package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.stack.CompletedCheckpoints;
import dev.reelflow.stack.ServiceProcesses;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The distributed mode on one machine exactly as an operator runs it: {@code
 * ops/cluster/pipeline.sh start} brings up every part as its own JVM (a three-broker KRaft Kafka
 * cluster with replication 3 and min.insync.replicas 2, the schema registry, the S3 endpoint, a
 * standalone Flink session cluster of a JobManager and two TaskManagers running the orchestrator
 * job jar submitted over Flink's REST API, a base and an upscale worker, the ingest API) and writes
 * {@code pipeline.json}. This test reads only that file, submits a batch of three preview renders
 * (one upscaled to 1080p) over the ingest HTTP API, kills one broker (SIGKILL) while they run, and
 * checks that every render SUCCEEDED exactly once with its outputs in S3, that the job runs on the
 * standalone cluster, and that {@code pipeline.sh stop} leaves no process of the pipeline. Slow
 * (minutes): behind {@code -Pslow}.
 *
 * <p>Needs the build: {@code mvn -B install -DskipTests} (the scripts run the ops/stack and ops/cli
 * class paths and the flink-jobs job jar). System properties: {@code reelflow.repo.root} and {@code
 * reelflow.job.jar} (set by the pom), {@code reelflow.distributed.base-engine} (default {@code
 * native}, the tiny model), {@code reelflow.distributed.upscale-engine} (default {@code bicubic}),
 * {@code reelflow.distributed.kill-broker} (default {@code true}). The scripts get this JVM's
 * environment (e.g. {@code MVN_OPTS}).
 */
@EnabledIfSystemProperty(named = "reelflow.slow", matches = "true")
class DistributedIT {
  private static final Logger LOG = LoggerFactory.getLogger(DistributedIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SCRIPT_TIMEOUT = Duration.ofMinutes(10);
  private static final Duration WAIT = Duration.ofMinutes(4);
  private static final Duration BATCH_WAIT = Duration.ofMinutes(12);

  @TempDir Path dir;

  private Path pipelineDir;
  private boolean stopped;

  @Test
  void aBatchCompletesOnThePipelineStartedByPipelineShWhileABrokerDies() throws Exception {
    long t0 = System.nanoTime();
    Path root =
        Path.of(System.getProperty("reelflow.repo.root", "../..")).toAbsolutePath().normalize();
    Path jobJar = Path.of(System.getProperty("reelflow.job.jar", "missing-job-jar"));
    assertThat(jobJar)
        .as("the orchestrator job jar; build it with: mvn -pl flink-jobs package -DskipTests")
        .isRegularFile();
    pipelineDir = dir.resolve("pipeline");
    String baseEngine = System.getProperty("reelflow.distributed.base-engine", "native");
    String upscaleEngine = System.getProperty("reelflow.distributed.upscale-engine", "bicubic");

    // 1. The whole pipeline from the script, as documented in ops/cluster/README.md.
    Script start =
        script(
            root,
            "start",
            "--base-workers",
            "1",
            "--upscale-workers",
            "1",
            "--engine",
            baseEngine,
            "--upscale-engine",
            upscaleEngine,
            "--job-jar",
            jobJar.toString(),
            "--set-orchestrator",
            "checkpoint.interval=2s");
    assertThat(start.exitCode()).as("pipeline.sh start:\n%s", start.output()).isZero();
    lap(t0, "pipeline.sh start");
    JsonNode pipeline = JSON.readTree(pipelineDir.resolve("pipeline.json").toFile());
    String apiUrl = pipeline.path("api").path("url").asText();
    String apiKey = pipeline.path("api").path("key").asText();
    String bootstrap = pipeline.path("kafka").path("bootstrapServers").asText();
    String flinkUrl = pipeline.path("flink").path("restUrl").asText();
    String jobId = pipeline.path("flink").path("jobId").asText();
    String s3Endpoint = pipeline.path("s3").path("endpoint").asText();
    assertThat(List.of(apiUrl, apiKey, bootstrap, flinkUrl, jobId, s3Endpoint))
        .as("pipeline.json: %s", pipeline)
        .allMatch(v -> !v.isBlank());
    assertThat(bootstrap.split(",")).hasSize(3);
    assertThat(start.output()).contains(apiUrl).contains(apiKey).contains(bootstrap);

    // 2. Every part is its own running JVM, none of them a child of this one.
    List<ServiceProcesses.RecordedProcess> processes = ServiceProcesses.recordedTree(pipelineDir);
    assertThat(processes)
        .extracting(p -> pipelineDir.relativize(p.dir()) + "/" + p.name())
        .containsExactlyInAnyOrder(
            "kafka/broker.1",
            "kafka/broker.2",
            "kafka/broker.3",
            "registry/registry",
            "s3/s3",
            "flink/jobmanager",
            "flink/taskmanager.1",
            "flink/taskmanager.2",
            "workers-base/base-1",
            "workers-upscale/upscale-1",
            "ingest/ingest");
    assertThat(processes).allMatch(ServiceProcesses.RecordedProcess::running);
    assertThat(processes.stream().map(ServiceProcesses.RecordedProcess::pid).distinct())
        .hasSize(processes.size());
    Script status = script(root, "status");
    assertThat(status.exitCode()).as("pipeline.sh status:\n%s", status.output()).isZero();
    assertThat(status.output()).contains(jobId + " RUNNING");
    assertReplicatedThreeWays(bootstrap, "render.requests", "render.tasks.base", "render.status");

    // 3. The orchestrator runs on the standalone session cluster (Flink REST API).
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    JsonNode jobs = getJson(http, flinkUrl + "/jobs/overview").path("jobs");
    assertThat(jobs).as("%s", jobs).hasSize(1);
    assertThat(jobs.get(0).path("jid").asText()).isEqualTo(jobId);
    assertThat(jobs.get(0).path("state").asText()).isEqualTo("RUNNING");
    assertThat(getJson(http, flinkUrl + "/taskmanagers").path("taskmanagers")).hasSize(2);

    // 4. The batch over the ingest HTTP API, a broker killed while it runs.
    try (EventLog events =
        new EventLog(bootstrap, pipeline.path("schemaRegistry").path("url").asText())) {
      long batchStart = System.nanoTime();
      String batchId = submitBatch(http, apiUrl, apiKey);
      RenderApi api = new RenderApi(apiUrl, apiKey);
      List<String> ids = List.of(batchId + "-000000", batchId + "-000001", batchId + "-000002");
      boolean killBroker =
          Boolean.parseBoolean(System.getProperty("reelflow.distributed.kill-broker", "true"));
      if (killBroker) {
        Await.until(
            WAIT,
            "a render of the batch RENDERING",
            () -> ids.stream().flatMap(id -> api.inState(id, "RENDERING").stream()).findFirst());
        long broker2 = recordedPid(pipelineDir.resolve("kafka"), "broker.2");
        ProcessHandle.of(broker2).ifPresent(ProcessHandle::destroyForcibly);
        Await.until(
            Duration.ofSeconds(30),
            "broker 2 gone",
            () ->
                ProcessHandle.of(broker2).map(ProcessHandle::isAlive).orElse(false)
                    ? Optional.empty()
                    : Optional.of(true));
        lap(t0, "broker 2 (pid " + broker2 + ") killed while the batch runs");
      }
      Map<String, JsonNode> done = new LinkedHashMap<>();
      for (String id : ids) {
        done.put(id, awaitSucceeded(api, id));
      }
      long batchMs = (System.nanoTime() - batchStart) / 1_000_000;
      lap(t0, "batch of " + ids.size() + " SUCCEEDED in " + batchMs + " ms");

      // 5. SUCCEEDED exactly once per render on render.status (read_committed), outputs in S3.
      for (String id : ids) {
        Await.until(
            WAIT,
            "the committed SUCCEEDED status of " + id,
            () -> succeeded(events, id).isEmpty() ? Optional.empty() : Optional.of(true));
      }
      // A late duplicate (a replayed transaction) would be committed and read once the checkpoints
      // begun now completed.
      CompletedCheckpoints.awaitCommitted(pipelineDir.resolve("flink/checkpoints"), WAIT);
      for (String id : ids) {
        assertThat(succeeded(events, id)).as("SUCCEEDED records of %s", id).hasSize(1);
      }
      for (Map.Entry<String, JsonNode> e : done.entrySet()) {
        String link = e.getValue().path("outputs").path("video").asText();
        assertThat(link)
            .as("video link of %s: %s", e.getKey(), e.getValue())
            .startsWith(s3Endpoint);
        HttpResponse<byte[]> video =
            http.send(
                HttpRequest.newBuilder(URI.create(link)).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(video.statusCode()).as("GET %s", link).isEqualTo(200);
        assertThat(video.body().length).isGreaterThan(1000);
        // An MP4 starts with its 'ftyp' box.
        assertThat(new String(video.body(), 4, 4, StandardCharsets.US_ASCII)).isEqualTo("ftyp");
      }
      // Row 0 went through the upscale worker (1920x1080); row 1 is the 1:1 preview (192x192).
      JsonNode upscaled = manifest(http, done.get(ids.get(0)));
      assertThat(upscaled.path("upscale").asText()).as("%s", upscaled).isEqualTo("1080p");
      assertThat(upscaled.path("resolution").path("width").asInt()).isEqualTo(1920);
      assertThat(upscaled.path("resolution").path("height").asInt()).isEqualTo(1080);
      JsonNode plain = manifest(http, done.get(ids.get(1)));
      assertThat(plain.path("resolution").path("width").asInt()).as("%s", plain).isEqualTo(192);
      assertThat(plain.path("resolution").path("height").asInt()).isEqualTo(192);
      assertThat(getJson(http, flinkUrl + "/jobs/" + jobId).path("state").asText())
          .isEqualTo("RUNNING");

      // The cluster's nodes export the job's metrics to Prometheus, as the FlinkDeployment does:
      // the renders went through the lifecycle of one of the TaskManagers.
      List<String> metricsUrls =
          List.of(pipeline.path("flink").path("metrics").asText().split(","));
      assertThat(metricsUrls).as("pipeline.json flink.metrics").hasSize(3);
      StringBuilder scraped = new StringBuilder();
      for (String url : metricsUrls) {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s", url).isEqualTo(200);
        scraped.append(r.body());
      }
      assertThat(scraped.toString())
          .contains("flink_jobmanager_numRegisteredTaskManagers")
          .containsPattern(
              "flink_taskmanager_job_task_operator_scheduler_pool_backlog\\{[^}]*pool=\"BASE\"")
          .containsPattern(
              "flink_taskmanager_job_task_operator_lifecycle_final_state_renders\\{[^}]*final_state=\"SUCCEEDED\"[^}]*\\} [1-9]");
    }

    // 6. Stop: every process of the pipeline is gone, and stopping again is fine.
    long stopStart = System.nanoTime();
    Script stop = script(root, "stop");
    stopped = true;
    assertThat(stop.exitCode()).as("pipeline.sh stop:\n%s", stop.output()).isZero();
    lap(t0, "pipeline.sh stop in " + (System.nanoTime() - stopStart) / 1_000_000 + " ms");
    for (ServiceProcesses.RecordedProcess p : processes) {
      assertThat(ProcessHandle.of(p.pid()).map(ProcessHandle::isAlive).orElse(false))
          .as("%s/%s (pid %d) after pipeline.sh stop", p.dir().getFileName(), p.name(), p.pid())
          .isFalse();
    }
    assertThat(ServiceProcesses.recordedTree(pipelineDir)).noneMatch(p -> p.running());
    assertThat(script(root, "stop").exitCode()).isZero();
    LOG.info("distributed run: whole test {} ms", (System.nanoTime() - t0) / 1_000_000);
  }

  /** Whatever a failed run left: stopped through the script, then checked by pid. */
  @AfterEach
  void stopEverything() throws Exception {
    if (pipelineDir == null) {
      return;
    }
    if (!stopped) {
      Path root =
          Path.of(System.getProperty("reelflow.repo.root", "../..")).toAbsolutePath().normalize();
      Script stop = script(root, "stop");
      LOG.info("pipeline.sh stop after the test: exit {}\n{}", stop.exitCode(), stop.output());
    }
    assertThat(ServiceProcesses.recordedTree(pipelineDir))
        .as("processes of the pipeline left behind")
        .noneMatch(p -> p.running());
  }

  private record Script(int exitCode, String output) {}

  /** Runs {@code ops/cluster/pipeline.sh COMMAND <pipeline dir> ARGS...} from the repository. */
  private Script script(Path root, String command, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("bash");
    cmd.add(root.resolve("ops/cluster/pipeline.sh").toString());
    cmd.add(command);
    cmd.add(pipelineDir.toString());
    cmd.addAll(List.of(args));
    Path log = dir.resolve("pipeline-" + command + ".log");
    Process p =
        new ProcessBuilder(cmd)
            .directory(root.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!p.waitFor(SCRIPT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError(
          "pipeline.sh " + command + " ran longer than " + SCRIPT_TIMEOUT + ":\n" + read(log));
    }
    String output = read(log);
    LOG.info("pipeline.sh {}: exit {}\n{}", command, p.exitValue(), output);
    return new Script(p.exitValue(), output);
  }

  private static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file) : "";
  }

  private static long recordedPid(Path componentDir, String name) throws IOException {
    Properties p = new Properties();
    try (var in = Files.newInputStream(componentDir.resolve("cluster.properties"))) {
      p.load(in);
    }
    return Long.parseLong(p.getProperty(name + ".pid"));
  }

  private static List<RenderStatus> succeeded(EventLog events, String id) {
    return events.statuses.stream()
        .filter(s -> s.getRequestId().equals(id) && s.getState() == RenderState.SUCCEEDED)
        .toList();
  }

  private static JsonNode awaitSucceeded(RenderApi api, String id) {
    return Await.until(
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
        });
  }

  private static JsonNode getJson(HttpClient http, String url) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s: %s", url, r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
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

  /** Replication 3 and min.insync.replicas 2 on the given topics. */
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
      List<ConfigResource> resources =
          List.of(topics).stream()
              .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t))
              .toList();
      Map<ConfigResource, Config> configs =
          admin.describeConfigs(resources).all().get(60, TimeUnit.SECONDS);
      configs.forEach(
          (r, c) ->
              assertThat(c.get("min.insync.replicas").value())
                  .as("%s min.insync.replicas", r.name())
                  .isEqualTo("2"));
    }
  }

  /** POST /v1/batches with three preview rows (the first upscaled to 1080p); the batch id. */
  private static String submitBatch(HttpClient http, String baseUrl, String apiKey)
      throws Exception {
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
        http.send(
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
