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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
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
 * <p>CI size (the default suite): the embedded single-broker Kafka, schema registry and S3 endpoint
 * and the ingest API in this JVM; the JobManager, two TaskManagers of one slot (job parallelism 1:
 * the second stands by for the failover) and two base workers as JVMs, started while the stack
 * starts; {@link #RENDERS_CI} renders; Flink's failure detection shortened ({@link
 * #CI_FLINK_SETTINGS}). Full size ({@code -Pslow}): the whole {@code ops/cluster/pipeline.sh}
 * deployment (three brokers, every part its own JVM, Flink at the scripts' settings), 16 renders,
 * and the recovery through {@code pipeline.sh recover}. Each run writes its phases (wall and CPU
 * time, {@link PhaseTimes}) to the timeline.
 */
class ClusterFaultIT {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterFaultIT.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final boolean SLOW = Boolean.getBoolean("reelflow.slow");

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

  /**
   * CI size only, on top of {@link #FLINK_SETTINGS}: the TaskManagers notice a dead JobManager
   * after 8 s of silence (a dead TaskManager is noticed sooner, at its second failed heartbeat RPC,
   * 1 s apart), retry a refused connection to the restarted JobManager after 1 s instead of 10 s,
   * and free the slots of a job whose JobManager went away after 5 s instead of 10 s; a failed job
   * restarts after 1 s.
   */
  private static final Map<String, String> CI_FLINK_SETTINGS =
      Map.of(
          "heartbeat.interval",
          "1 s",
          "heartbeat.timeout",
          "8 s",
          "cluster.registration.error-delay",
          "1000",
          "taskmanager.slot.timeout",
          "5 s",
          "restart-strategy.fixed-delay.delay",
          "1 s");

  /** CI size: renders in the batch. */
  private static final int RENDERS_CI = 4;

  /** CI size: the job's parallelism and each TaskManager's slots (the other one stands by). */
  private static final int CI_PARALLELISM = 1;

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
    phases = new PhaseTimes(dir, workers);
    Deployment d = SLOW ? startScripted() : startEmbedded();
    long upMs = (System.nanoTime() - t0) / 1_000_000;
    LOG.info("scenario 4: deployment up in {} ms", upMs);
    int n = SLOW ? 16 : RENDERS_CI;
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
      phases.mark("batch submitted");
      String jobId = onlyRunningJob(d.restUrl());
      events.awaitStage(
          WAIT,
          "a PROGRESS of the batch",
          e -> ids.contains(e.getRequestId()) && e.getType() == StageEventType.PROGRESS);
      phases.mark("first PROGRESS of the batch");

      // 1. SIGKILL a TaskManager that runs the job's tasks; Flink restarts the job on the other.
      String victim = taskManagerRunning(d.restUrl(), jobId);
      long tmPid =
          recordedPid(d.flinkDir(), victim.replace("taskmanager-", "taskmanager.") + ".pid");
      int failoversBefore = exceptionCount(d.restUrl(), jobId);
      phases.sample();
      Instant tmKilled = kill(tmPid);
      LOG.info("scenario 4: {} (pid {}) killed", victim, tmPid);
      awaitRestartedAndRunning(d.restUrl(), jobId, failoversBefore);
      phases.mark("TaskManager SIGKILL -> job failed over and RUNNING");
      timeline.put("taskManagerKilled", victim);
      timeline.put("tmKillToJobRunningMs", Duration.between(tmKilled, Instant.now()).toMillis());
      // What step 3 restores: the failed-over job's own checkpoint. Killed before one completed (a
      // slow machine, the TaskManager killed before the first), the resubmitted job would find none
      // and take the renders over from the topics instead (OrchestratorRestartIT covers that).
      CompletedCheckpoints.awaitNew(d.checkpoints(), 1, WAIT);
      phases.mark("a checkpoint of the failed-over job completed");
      assertThat(finals(events, ids))
          .as("the JobManager must die while the batch is unfinished: speed the kills up")
          .isLessThan(n);

      // 2. SIGKILL the JobManager while the batch is unfinished.
      long jmPid = recordedPid(d.flinkDir(), "jobmanager.pid");
      int finalBefore = finals(events, ids);
      phases.sample();
      Instant jmKilled = kill(jmPid);
      LOG.info(
          "scenario 4: JobManager (pid {}) killed; {}/{} renders final", jmPid, finalBefore, n);
      timeline.put("finalAtJobManagerKill", finalBefore);

      // 3. Recovery: a new JobManager, the job submitted again, restored from its checkpoint.
      String newJob = d.recover();
      h.healed();
      phases.mark("recovered job RUNNING");
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
      phases.mark("every render final");
      // A late duplicate would be committed and read once the checkpoints begun now completed.
      CompletedCheckpoints.awaitCommitted(d.checkpoints(), WAIT);
      phases.mark("checkpoints after the last final completed");
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
      phases.mark("checker, old checkpoint folders pruned");
      timeline.put("phases", phases.rows());
      timeline.put("cpuMsByProcess", phases.cpuMsByProcess());
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
  private PhaseTimes phases;

  /** The worker JVMs the CI size started (their CPU time is counted). */
  private final List<WorkerJvm> workers = new ArrayList<>();

  /** Every status and stage event of the renders, for failure messages. */
  private static String describe(EventLog events, List<String> ids) {
    StringBuilder sb = new StringBuilder();
    ids.forEach(id -> sb.append(events.describe(id)).append('\n'));
    return sb.toString();
  }

  @AfterEach
  void stopEverything() {
    long t0 = System.nanoTime();
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
    LOG.info("scenario 4: teardown {} ms", (System.nanoTime() - t0) / 1_000_000);
  }

  // ---- CI size: embedded stack and ingest, Flink and workers as JVMs -------------------------

  private Deployment startEmbedded() throws Exception {
    FlinkSessionProcesses.Builder fb =
        FlinkSessionProcesses.builder(dir.resolve("flink"))
            .taskManagers(2)
            .slots(CI_PARALLELISM)
            .jvmOption("-XX:TieredStopAtLevel=1");
    fb.classpath(clusterClasspath());
    FLINK_SETTINGS.forEach(fb::property);
    CI_FLINK_SETTINGS.forEach(fb::property);
    FlinkSessionProcesses flink = fb.build();
    toClose.add(flink);
    // The Flink JVMs need nothing of the stack: they boot while the stack starts in this JVM.
    FutureTask<FlinkSessionProcesses> flinkUp = new FutureTask<>(flink::start);
    Thread starter = new Thread(flinkUp, "flink-cluster-start");
    starter.setDaemon(true);
    starter.start();

    LocalStack stack = LocalStack.builder().workDir(dir.resolve("stack")).all().build().start();
    toClose.add(stack);
    TopicProvisioner.builder()
        .bootstrapServers(stack.bootstrapServers())
        .replicationFactor(1)
        .build()
        .provision();
    SchemaProvisioner.registerAll(
        SchemaRegistryClient.create(stack.schemaRegistryUrl()), Topics.defaults());
    phases.mark("stack (Kafka, registry, S3) up, topics and schemas");

    // Workers and the ingest API start while the Flink cluster does.
    Map<String, String> connection = new LinkedHashMap<>();
    connection.put(WorkerConfig.BOOTSTRAP_SERVERS.name(), stack.bootstrapServers());
    connection.put(WorkerConfig.SCHEMA_REGISTRY_URL.name(), stack.schemaRegistryUrl());
    connection.put(WorkerConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    connection.put(WorkerConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    connection.put(WorkerConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    connection.put(WorkerConfig.S3_BUCKET.name(), stack.bucket());
    connection.put(WorkerConfig.S3_REGION.name(), stack.s3Region());
    for (int i = 1; i <= 2; i++) {
      WorkerJvm w =
          WorkerJvm.start(
              "cluster-base-" + i,
              dir.resolve("workers"),
              connection,
              SharedPipeline.workerSettings(300, 5_000));
      toClose.add(w);
      workers.add(w);
    }
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
    phases.mark("worker JVMs started, ingest API ready");

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
    o.setProperty(OrchestratorSettings.PARALLELISM.name(), Integer.toString(CI_PARALLELISM));
    o.setProperty(OrchestratorSettings.RETRY_INITIAL_BACKOFF.name(), "500ms");
    try (OutputStream out = Files.newOutputStream(config)) {
      o.store(out, "ClusterFaultIT orchestrator");
    }
    Path jar = jobJar();
    try {
      flinkUp.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception x) {
        throw x;
      }
      throw new AssertionError(e.getCause());
    }
    phases.mark("Flink cluster up (JobManager, 2 TaskManagers)");
    String jobId = flink.submitJar(jar, JOB_MAIN, List.of("--config", config.toString()));
    phases.mark("orchestrator jar uploaded and submitted");
    flink.awaitJobRunning(jobId, Duration.ofMinutes(3));
    phases.mark("orchestrator job RUNNING");

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
        phases.mark("JobManager SIGKILL -> restarted, the TaskManager re-registered");
        String job = flink.submitJar(jar, JOB_MAIN, List.of("--config", config.toString()));
        phases.mark("orchestrator jar uploaded and submitted again");
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
    phases.mark("pipeline.sh start");
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

  /** How many failures the job's exception history holds. */
  private int exceptionCount(String restUrl, String jobId) throws Exception {
    return get(restUrl + "/jobs/" + jobId + "/exceptions")
        .path("exceptionHistory")
        .path("entries")
        .size();
  }

  /**
   * Waits until the job failed over (a new entry in its exception history, past {@code before}: the
   * lost TaskManager) and then runs every vertex again.
   */
  private void awaitRestartedAndRunning(String restUrl, String jobId, int before) throws Exception {
    Await.until(
        WAIT,
        "job " + jobId + " failing over after the TaskManager died",
        () -> {
          try {
            return exceptionCount(restUrl, jobId) > before ? Optional.of(true) : Optional.empty();
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

  /**
   * Wall and CPU time of each phase of the scenario, for the CI budget: the CPU seconds of this JVM
   * and of every process recorded in a {@code cluster.properties} under the test folder (the Flink
   * nodes, pipeline.sh's parts) or started as a worker JVM, sampled at each mark (and just before a
   * kill, so a killed process's CPU counts). On a machine shared with other builds the wall times
   * stretch; the CPU seconds do not, and CPU seconds / cores bounds the wall time on an idle
   * machine of that size from below. Written to the timeline as {@code phases}.
   */
  static final class PhaseTimes {
    private final Path dir;
    private final List<WorkerJvm> workers;
    private final long t0 = System.nanoTime();
    private long last = t0;
    private long lastCpuMs;
    private final Map<Long, Long> cpuMsByPid = new java.util.HashMap<>();
    private final Map<Long, String> names = new java.util.HashMap<>();
    private long selfCpuMs;
    private final List<Map<String, Object>> rows = new ArrayList<>();

    PhaseTimes(Path dir, List<WorkerJvm> workers) {
      this.dir = dir;
      this.workers = workers;
      this.lastCpuMs = sample(); // this JVM's CPU before the scenario (the test framework's start)
    }

    /** Samples the CPU time of every known process now (before one is killed). */
    synchronized long sample() {
      List<Long> pids = new ArrayList<>();
      workers.forEach(
          w -> {
            pids.add(w.pid());
            names.putIfAbsent(w.pid(), w.id);
          });
      // The CI size's Flink cluster, or every part pipeline.sh started (the full size).
      List<Path> files = new ArrayList<>(List.of(dir.resolve("flink/cluster.properties")));
      try {
        if (Files.isDirectory(dir.resolve("pipeline"))) {
          try (Stream<Path> parts = Files.list(dir.resolve("pipeline"))) {
            parts.forEach(part -> files.add(part.resolve("cluster.properties")));
          }
        }
        for (Path f : files) {
          if (!Files.isRegularFile(f)) {
            continue;
          }
          Properties p = new Properties();
          try (InputStream in = Files.newInputStream(f)) {
            p.load(in);
          }
          String part = f.getParent().getFileName().toString();
          p.stringPropertyNames().stream()
              .filter(k -> k.endsWith(".pid"))
              .forEach(
                  k -> {
                    long pid = Long.parseLong(p.getProperty(k).trim());
                    pids.add(pid);
                    names.putIfAbsent(
                        pid, part + "/" + k.replace(".pid", "") + " (pid " + pid + ")");
                  });
        }
      } catch (IOException | RuntimeException e) {
        LOG.debug("cpu sample: {}", e.toString());
      }
      for (long pid : pids) {
        ProcessHandle.of(pid)
            .flatMap(h -> h.info().totalCpuDuration())
            .ifPresent(d -> cpuMsByPid.merge(pid, d.toMillis(), Math::max));
      }
      selfCpuMs =
          ((com.sun.management.OperatingSystemMXBean)
                      java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                  .getProcessCpuTime()
              / 1_000_000;
      return selfCpuMs + cpuMsByPid.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Ends the phase that ran since the previous mark. */
    synchronized void mark(String phase) {
      long now = System.nanoTime();
      long cpu = sample();
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("phase", phase);
      row.put("wallMs", (now - last) / 1_000_000);
      row.put("cpuMs", cpu - lastCpuMs);
      row.put("atMs", (now - t0) / 1_000_000);
      row.put(
          "load1",
          Math.round(
                  java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                          .getSystemLoadAverage()
                      * 10)
              / 10.0);
      rows.add(row);
      LOG.info(
          "scenario 4 phase: {} ms wall, {} ms CPU, at {} s, load {}: {}",
          row.get("wallMs"),
          row.get("cpuMs"),
          (now - t0) / 1e9,
          row.get("load1"),
          phase);
      last = now;
      lastCpuMs = cpu;
    }

    synchronized List<Map<String, Object>> rows() {
      return List.copyOf(rows);
    }

    /** CPU milliseconds of each process until its last sample, this JVM's as "test JVM". */
    synchronized Map<String, Long> cpuMsByProcess() {
      Map<String, Long> all = new LinkedHashMap<>();
      all.put("test JVM (stack, ingest, checker)", selfCpuMs);
      cpuMsByPid.forEach((pid, ms) -> all.put(names.getOrDefault(pid, "pid " + pid), ms));
      return all;
    }
  }
}
