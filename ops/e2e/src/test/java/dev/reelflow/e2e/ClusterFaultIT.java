package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.reelflow.cli.LocalPipeline;
import dev.reelflow.ingest.IngestConfig;
import dev.reelflow.ingest.IngestServer;
import dev.reelflow.ingest.LocalTenant;
import dev.reelflow.orchestrator.OrchestratorSettings;
import dev.reelflow.schemas.SchemaProvisioner;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.stack.CompletedCheckpoints;
import dev.reelflow.stack.FlinkSessionProcesses;
import dev.reelflow.stack.LocalStack;
import dev.reelflow.worker.WorkerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fault scenario 4 (issue 17), distributed mode: the orchestrator runs as a job on a standalone
 * Flink session cluster whose JobManager and two TaskManagers are separate JVMs (as in {@code
 * ops/cluster}); a batch runs on emulated base workers (separate JVMs); a TaskManager that runs the
 * job's tasks is killed (SIGKILL) mid-batch, then, once the job runs again, the JobManager. The
 * deployment has no Flink HA: recovery is the documented restart, a new JobManager on the same
 * configuration (the surviving TaskManagers re-register) and the orchestrator jar submitted again,
 * which restores its newest usable retained checkpoint. {@link RenderHistoryChecker} then proves
 * every acknowledged render ended exactly once (0 lost, 0 duplicated) and measures the recovery
 * from the restart; the table goes to {@code target/fault-suite/04-cluster*.{json,md}}.
 *
 * <p>CI size: the embedded single-broker Kafka, schema registry and S3 endpoint in this JVM, the
 * ingest API in this JVM, the Flink cluster and two base workers as JVMs, 6 renders. Full size
 * ({@code -Pslow}): the whole {@code ops/cluster/pipeline.sh} deployment (three brokers, every part
 * its own JVM), 16 renders, and the recovery through {@code pipeline.sh recover}.
 *
 * <p>Not in the default suite: even the CI size starts a JobManager, two TaskManagers and the
 * workers as JVMs and restarts the JobManager (minutes on 2 cores), beyond the suite's budget. Runs
 * with {@code -Pslow} (full size) or {@code -Dreelflow.cluster=true} (the CI size).
 */
@EnabledIf("enabled")
class ClusterFaultIT {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterFaultIT.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final boolean SLOW = Boolean.getBoolean("reelflow.slow");

  static boolean enabled() {
    return SLOW || Boolean.getBoolean("reelflow.cluster");
  }

  private static final Duration WAIT = Duration.ofMinutes(SLOW ? 6 : 3);
  private static final String JOB_MAIN = "dev.reelflow.orchestrator.OrchestratorJob";

  /** Faster failure detection than Flink's 50 s default, for the kills (both sizes). */
  private static final Map<String, String> FLINK_SETTINGS =
      Map.of(
          "heartbeat.interval",
          "2 s",
          "heartbeat.timeout",
          "12 s",
          // On a loaded CI machine the RPC actor system has taken more than the default 10 s.
          "pekko.startup-timeout",
          "60 s");

  @TempDir Path dir;

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** What the scenario needs of a deployment, whichever size started it. */
  private interface Deployment {
    String bootstrap();

    String registry();

    RenderApi api();

    RenderHistoryChecker.Bucket bucket();

    /** The Flink cluster's folder (conf, logs, cluster.properties). */
    Path flinkDir();

    String restUrl();

    Path checkpoints();

    /** Restarts the dead JobManager and submits the orchestrator again; the new job id. */
    String recover() throws Exception;
  }

  @Test
  void aTaskManagerThenTheJobManagerKilledMidBatchAndEveryRenderEndsExactlyOnce() throws Exception {
    long t0 = System.nanoTime();
    Deployment d = SLOW ? startScripted() : startEmbedded();
    long upMs = (System.nanoTime() - t0) / 1_000_000;
    LOG.info("scenario 4: deployment up in {} ms", upMs);
    int n = SLOW ? 16 : 6;
    int steps = 16;
    Map<String, Object> timeline = new LinkedHashMap<>();
    timeline.put("size", SLOW ? "full" : "ci");
    timeline.put("deploymentUpMs", upMs);
    try (EventLog events = new EventLog(d.bootstrap(), d.registry())) {
      RenderHistory h = new RenderHistory(SLOW ? "04-cluster-full" : "04-cluster");
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        h.submitted();
        String id = d.api().submitPreview("a harbour crane at night, fault 4, " + i, steps);
        h.acknowledged(id);
        ids.add(id);
      }
      String jobId = onlyRunningJob(d.restUrl());
      events.awaitStage(
          WAIT,
          "a PROGRESS of the batch",
          e -> ids.contains(e.getRequestId()) && e.getType() == StageEventType.PROGRESS);

      // 1. SIGKILL a TaskManager that runs the job's tasks; Flink restarts the job on the other.
      String victim = taskManagerRunning(d.restUrl(), jobId);
      long tmPid =
          recordedPid(d.flinkDir(), victim.replace("taskmanager-", "taskmanager.") + ".pid");
      Instant tmKilled = kill(tmPid);
      LOG.info("scenario 4: {} (pid {}) killed", victim, tmPid);
      awaitRestartedAndRunning(d.restUrl(), jobId);
      timeline.put("taskManagerKilled", victim);
      timeline.put("tmKillToJobRunningMs", Duration.between(tmKilled, Instant.now()).toMillis());
      assertThat(finals(events, ids))
          .as("the JobManager must die while the batch is unfinished: speed the kills up")
          .isLessThan(n);

      // 2. SIGKILL the JobManager while the batch is unfinished.
      long jmPid = recordedPid(d.flinkDir(), "jobmanager.pid");
      int finalBefore = finals(events, ids);
      Instant jmKilled = kill(jmPid);
      LOG.info(
          "scenario 4: JobManager (pid {}) killed; {}/{} renders final", jmPid, finalBefore, n);
      timeline.put("finalAtJobManagerKill", finalBefore);

      // 3. Recovery: a new JobManager, the job submitted again, restored from its checkpoint.
      String newJob = d.recover();
      h.healed();
      timeline.put("jmKillToJobRunningMs", Duration.between(jmKilled, Instant.now()).toMillis());
      assertThat(newJob).isNotEqualTo(jobId);
      String jmLog = Files.readString(d.flinkDir().resolve("jobmanager.log"));
      assertThat(jmLog)
          .as("the resubmitted orchestrator restores its retained checkpoint (jobmanager.log)")
          .contains("restoring the orchestrator from retained checkpoint")
          .contains(jobId);

      // 4. Every acknowledged render ends exactly once.
      for (String id : ids) {
        try {
          events.awaitStatus(
              WAIT,
              "a final status of " + id,
              s -> s.getRequestId().equals(id) && RenderHistoryChecker.terminal(s.getState()));
        } catch (AssertionError e) {
          throw new AssertionError(e.getMessage() + "\n" + describe(events, ids), e);
        }
      }
      // A late duplicate would be committed and read once the checkpoints begun now completed.
      CompletedCheckpoints.awaitCommitted(d.checkpoints(), WAIT);
      RenderHistoryChecker.Result r =
          RenderHistoryChecker.check(h, RenderHistoryChecker.Observed.of(events, d.bucket()));
      RenderHistoryChecker.report(r, RenderHistoryChecker.reportDir());
      timeline.put("result", r);
      assertThat(r.violations()).as("checker violations").isEmpty();
      assertThat(r.lost()).isZero();
      assertThat(r.duplicated()).isZero();
      assertThat(r.succeeded()).isEqualTo(n);

      // 5. Restart hygiene: once the new job has its own checkpoint, older jobs' folders go.
      Await.until(
          Duration.ofSeconds(60),
          "only the new job's folder under " + d.checkpoints(),
          () ->
              jobFolders(d.checkpoints()).equals(List.of(newJob))
                  ? Optional.of(true)
                  : Optional.empty());
      timeline.put("checkpointFolders", jobFolders(d.checkpoints()));
      Files.createDirectories(RenderHistoryChecker.reportDir());
      JSON.writeValue(
          RenderHistoryChecker.reportDir().resolve(r.scenario() + "-timeline.json").toFile(),
          timeline);
      LOG.info("scenario 4 timeline: {}", JSON.writeValueAsString(timeline));
    }
    LOG.info("scenario 4: whole test {} ms", (System.nanoTime() - t0) / 1_000_000);
    passed = true;
  }

  private boolean passed;

  /** Every status and stage event of the renders, for failure messages. */
  private static String describe(EventLog events, List<String> ids) {
    StringBuilder sb = new StringBuilder();
    ids.forEach(id -> sb.append(events.describe(id)).append('\n'));
    return sb.toString();
  }

  @AfterEach
  void stopEverything() {
    if (!passed) {
      // The Flink and worker logs live in the temporary folder: keep them for the post-mortem.
      Path keep = RenderHistoryChecker.reportDir().resolve("04-cluster-logs");
      try (Stream<Path> logs = Files.walk(dir)) {
        Files.createDirectories(keep);
        for (Path log :
            logs.filter(p -> p.toString().endsWith(".log"))
                .filter(p -> !dir.relativize(p).startsWith("stack")) // Kafka's segments
                .toList()) {
          Files.copy(
              log,
              keep.resolve(dir.relativize(log).toString().replace('/', '_')),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      } catch (IOException e) {
        LOG.warn("could not keep the logs of {}: {}", dir, e.toString());
      }
    }
    for (int i = toClose.size() - 1; i >= 0; i--) {
      try {
        toClose.get(i).close();
      } catch (Exception e) {
        LOG.warn("closing {}: {}", toClose.get(i), e.toString());
      }
    }
  }

  // ---- CI size: embedded stack and ingest, Flink and workers as JVMs -------------------------

  private Deployment startEmbedded() throws Exception {
    LocalStack stack = LocalStack.builder().workDir(dir.resolve("stack")).all().build().start();
    toClose.add(stack);
    TopicProvisioner.builder()
        .bootstrapServers(stack.bootstrapServers())
        .replicationFactor(1)
        .build()
        .provision();
    SchemaProvisioner.registerAll(
        SchemaRegistryClient.create(stack.schemaRegistryUrl()), Topics.defaults());

    FlinkSessionProcesses.Builder fb =
        FlinkSessionProcesses.builder(dir.resolve("flink")).taskManagers(2).slots(2);
    fb.classpath(clusterClasspath());
    FLINK_SETTINGS.forEach(fb::property);
    FlinkSessionProcesses flink = fb.build();
    toClose.add(flink);

    // Workers start while the Flink cluster does (both are JVMs of their own).
    Map<String, String> connection = new LinkedHashMap<>();
    connection.put(WorkerConfig.BOOTSTRAP_SERVERS.name(), stack.bootstrapServers());
    connection.put(WorkerConfig.SCHEMA_REGISTRY_URL.name(), stack.schemaRegistryUrl());
    connection.put(WorkerConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    connection.put(WorkerConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    connection.put(WorkerConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    connection.put(WorkerConfig.S3_BUCKET.name(), stack.bucket());
    connection.put(WorkerConfig.S3_REGION.name(), stack.s3Region());
    for (int i = 1; i <= 2; i++) {
      toClose.add(
          WorkerJvm.start(
              "cluster-base-" + i,
              dir.resolve("workers"),
              connection,
              SharedPipeline.workerSettings(300, 5_000)));
    }
    flink.start();

    Path checkpoints = dir.resolve("flink/checkpoints");
    Path config = dir.resolve("orchestrator.properties");
    Properties o = new Properties();
    o.setProperty(OrchestratorSettings.BOOTSTRAP_SERVERS.name(), stack.bootstrapServers());
    o.setProperty(OrchestratorSettings.REGISTRY_URL.name(), stack.schemaRegistryUrl());
    o.setProperty(OrchestratorSettings.S3_BUCKET.name(), stack.bucket());
    o.setProperty(OrchestratorSettings.S3_ENDPOINT.name(), stack.s3Endpoint());
    o.setProperty(OrchestratorSettings.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    o.setProperty(OrchestratorSettings.S3_SECRET_KEY.name(), stack.s3SecretKey());
    o.setProperty(OrchestratorSettings.S3_REGION.name(), stack.s3Region());
    o.setProperty(OrchestratorSettings.CHECKPOINT_DIR.name(), checkpoints.toUri().toString());
    o.setProperty(OrchestratorSettings.CHECKPOINT_INTERVAL.name(), "2s");
    o.setProperty(OrchestratorSettings.STATE_BACKEND.name(), "hashmap");
    o.setProperty(OrchestratorSettings.PARALLELISM.name(), "2");
    o.setProperty(OrchestratorSettings.RETRY_INITIAL_BACKOFF.name(), "500ms");
    try (OutputStream out = Files.newOutputStream(config)) {
      o.store(out, "ClusterFaultIT orchestrator");
    }
    Path jar = jobJar();
    String jobId = flink.submitJar(jar, JOB_MAIN, List.of("--config", config.toString()));
    flink.awaitJobRunning(jobId, Duration.ofMinutes(3));

    LocalTenant tenant = LocalTenant.ensure(dir.resolve("tenant"));
    Path ingestProperties = dir.resolve("ingest.properties");
    Properties p =
        LocalPipeline.ingestSettings(stack, stack.bootstrapServers(), 0, tenant.apiKeysFile());
    p.setProperty(IngestConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    p.setProperty(IngestConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    p.setProperty(IngestConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    p.setProperty(IngestConfig.S3_BUCKET.name(), stack.bucket());
    p.setProperty(IngestConfig.API_KEYS_FILE.name(), tenant.apiKeysFile().toString());
    try (OutputStream out = Files.newOutputStream(ingestProperties)) {
      p.store(out, "ClusterFaultIT ingest");
    }
    IngestServer ingest =
        IngestServer.builder(IngestConfig.load(ingestProperties, Map.of())).build().start();
    toClose.add(ingest);
    assertThat(ingest.awaitReady(Duration.ofSeconds(60))).as("ingest ready").isTrue();
    RenderApi api = new RenderApi(ingest.baseUrl(), tenant.apiKey());
    RenderHistoryChecker.Bucket bucket = RenderHistoryChecker.Bucket.of(stack);
    return new Deployment() {
      @Override
      public String bootstrap() {
        return stack.bootstrapServers();
      }

      @Override
      public String registry() {
        return stack.schemaRegistryUrl();
      }

      @Override
      public RenderApi api() {
        return api;
      }

      @Override
      public RenderHistoryChecker.Bucket bucket() {
        return bucket;
      }

      @Override
      public Path flinkDir() {
        return flink.workDir();
      }

      @Override
      public String restUrl() {
        return flink.restUrl();
      }

      @Override
      public Path checkpoints() {
        return checkpoints;
      }

      @Override
      public String recover() {
        flink.restartJobManager();
        String job = flink.submitJar(jar, JOB_MAIN, List.of("--config", config.toString()));
        flink.awaitJobRunning(job, Duration.ofMinutes(3));
        return job;
      }
    };
  }

  // ---- full size: ops/cluster/pipeline.sh -------------------------------------------------------

  private Deployment startScripted() throws Exception {
    Path root =
        Path.of(System.getProperty("reelflow.repo.root", "../..")).toAbsolutePath().normalize();
    Path pipelineDir = dir.resolve("pipeline");
    List<String> start =
        new ArrayList<>(
            List.of(
                "--base-workers",
                "2",
                "--upscale-workers",
                "0",
                "--engine",
                "emulated",
                "--job-jar",
                jobJar().toString(),
                "--set-orchestrator",
                "checkpoint.interval=2s",
                "--set-worker",
                "engine.emulated.step=300ms",
                "--set-worker",
                WorkerConfig.HEARTBEAT_INTERVAL.name() + "=1s"));
    FLINK_SETTINGS.forEach((k, v) -> start.addAll(List.of("--set-flink", k + "=" + v)));
    toClose.add(() -> script(root, pipelineDir, "stop"));
    String out = script(root, pipelineDir, "start", start.toArray(new String[0]));
    JsonNode pipeline = JSON.readTree(pipelineDir.resolve("pipeline.json").toFile());
    LOG.info("pipeline.sh start:\n{}", out);
    RenderApi api =
        new RenderApi(
            pipeline.path("api").path("url").asText(), pipeline.path("api").path("key").asText());
    JsonNode s3 = pipeline.path("s3");
    RenderHistoryChecker.Bucket bucket =
        RenderHistoryChecker.Bucket.s3(
            s3.path("endpoint").asText(),
            s3.path("accessKey").asText(),
            s3.path("secretKey").asText(),
            s3.path("region").asText(),
            s3.path("bucket").asText());
    return new Deployment() {
      @Override
      public String bootstrap() {
        return pipeline.path("kafka").path("bootstrapServers").asText();
      }

      @Override
      public String registry() {
        return pipeline.path("schemaRegistry").path("url").asText();
      }

      @Override
      public RenderApi api() {
        return api;
      }

      @Override
      public RenderHistoryChecker.Bucket bucket() {
        return bucket;
      }

      @Override
      public Path flinkDir() {
        return pipelineDir.resolve("flink");
      }

      @Override
      public String restUrl() {
        return pipeline.path("flink").path("restUrl").asText();
      }

      @Override
      public Path checkpoints() {
        return pipelineDir.resolve("flink/checkpoints");
      }

      @Override
      public String recover() throws Exception {
        LOG.info("pipeline.sh recover:\n{}", script(root, pipelineDir, "recover"));
        return JSON.readTree(pipelineDir.resolve("pipeline.json").toFile())
            .path("flink")
            .path("jobId")
            .asText();
      }
    };
  }

  /** Runs {@code ops/cluster/pipeline.sh COMMAND DIR ARGS...}; its output; fails on exit != 0. */
  private String script(Path root, Path pipelineDir, String command, String... args)
      throws Exception {
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
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError(
          "pipeline.sh " + command + " ran too long:\n" + Files.readString(log));
    }
    String output = Files.readString(log);
    if (p.exitValue() != 0) {
      throw new AssertionError(
          "pipeline.sh " + command + " exit " + p.exitValue() + ":\n" + output);
    }
    return output;
  }

  // ---- helpers -----------------------------------------------------------------------------

  private static Path jobJar() {
    Path jar = Path.of(System.getProperty("reelflow.job.jar", "missing-job-jar"));
    assertThat(jar)
        .as("the orchestrator job jar; build it with: mvn -pl flink-jobs package -DskipTests")
        .isRegularFile();
    return jar;
  }

  /**
   * The class path of the Flink JVMs: ops/stack with its runtime dependencies (the file {@code mvn
   * -pl ops/stack package} writes), without the job's classes.
   */
  private static String clusterClasspath() throws IOException {
    Path root =
        Path.of(System.getProperty("reelflow.repo.root", "../..")).toAbsolutePath().normalize();
    Path cp = root.resolve("ops/stack/target/cluster-classpath.txt");
    assertThat(cp).as("build ops/stack first: mvn -pl ops/stack package").isRegularFile();
    return root.resolve("ops/stack/target/classes") + ":" + Files.readString(cp).trim();
  }

  private static int finals(EventLog events, List<String> ids) {
    return (int)
        ids.stream()
            .filter(
                id ->
                    events.statuses(id).stream()
                        .anyMatch(s -> RenderHistoryChecker.terminal(s.getState())))
            .count();
  }

  private static Instant kill(long pid) throws InterruptedException {
    ProcessHandle h =
        ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no process " + pid));
    Instant at = Instant.now();
    h.destroyForcibly(); // SIGKILL
    Await.until(
        Duration.ofSeconds(30),
        "pid " + pid + " gone",
        () -> h.isAlive() ? Optional.empty() : Optional.of(true));
    return at;
  }

  private static long recordedPid(Path flinkDir, String key) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(flinkDir.resolve("cluster.properties"))) {
      p.load(in);
    }
    String v = p.getProperty(key);
    assertThat(v).as("%s in %s", key, flinkDir.resolve("cluster.properties")).isNotNull();
    return Long.parseLong(v);
  }

  private JsonNode get(String url) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s: %s", url, r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private String onlyRunningJob(String restUrl) throws Exception {
    List<String[]> jobs =
        FlinkSessionProcesses.jobs(restUrl).stream().filter(j -> j[2].equals("RUNNING")).toList();
    assertThat(jobs).as("running jobs on %s", restUrl).hasSize(1);
    return jobs.get(0)[0];
  }

  /** A TaskManager ({@code taskmanager-N}) that runs a subtask of the job. */
  private String taskManagerRunning(String restUrl, String jobId) throws Exception {
    for (JsonNode v : get(restUrl + "/jobs/" + jobId).path("vertices")) {
      JsonNode tms =
          get(restUrl + "/jobs/" + jobId + "/vertices/" + v.path("id").asText() + "/taskmanagers")
              .path("taskmanagers");
      for (JsonNode tm : tms) {
        String id = tm.path("taskmanager-id").asText();
        if (id.startsWith("taskmanager-")) {
          return id;
        }
      }
    }
    throw new AssertionError("no TaskManager of job " + jobId + " found on " + restUrl);
  }

  /**
   * Waits until the job failed over (an entry in its exception history: the lost TaskManager) and
   * then runs every vertex again.
   */
  private void awaitRestartedAndRunning(String restUrl, String jobId) throws Exception {
    Await.until(
        WAIT,
        "job " + jobId + " failing over after the TaskManager died",
        () -> {
          try {
            JsonNode history =
                get(restUrl + "/jobs/" + jobId + "/exceptions").path("exceptionHistory");
            return history.path("entries").size() > 0 ? Optional.of(true) : Optional.empty();
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        });
    FlinkSessionProcesses.awaitJobRunning(restUrl, jobId, WAIT);
  }

  private static List<String> jobFolders(Path checkpoints) {
    try (Stream<Path> s = Files.list(checkpoints)) {
      return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }
}
