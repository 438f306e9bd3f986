package dev.reelflow.cli;

import dev.reelflow.ingest.IngestConfig;
import dev.reelflow.ingest.IngestServer;
import dev.reelflow.ingest.LocalTenant;
import dev.reelflow.orchestrator.OrchestratorConfig;
import dev.reelflow.orchestrator.OrchestratorJob;
import dev.reelflow.schemas.SchemaProvisioner;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.stack.LocalStack;
import dev.reelflow.stack.LocalStackInfo;
import dev.reelflow.worker.WorkerConfig;
import dev.reelflow.worker.WorkerProcess;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The whole local pipeline in one JVM: the embedded stack (Kafka KRaft broker, schema registry, S3
 * endpoint), topics and schemas, the orchestrator in a Flink MiniCluster, the base and upscale
 * worker pools and the ingest API. Everything lives under {@code <dir>/.reelflow/}; a restart on
 * the same directory keeps the data.
 */
public final class LocalPipeline implements AutoCloseable {
  private static final String PROMETHEUS_REPORTER =
      "org.apache.flink.metrics.prometheus.PrometheusReporterFactory";

  /**
   * What to start.
   *
   * @param dir directory whose {@code .reelflow/} holds data, logs and {@code local.json}
   * @param baseWorkers in-process base workers (0: none, e.g. when tests run worker JVMs)
   * @param upscaleWorkers in-process upscale workers
   * @param baseEngine engine of the base workers (native, command, emulated)
   * @param upscaleEngine engine of the upscale workers (esrgan, bicubic, latent-sr)
   * @param apiPort ingest port, 0 for a free one
   * @param flinkUiPort MiniCluster REST/web port
   * @param orchestratorSettings orchestrator config keys to override (e.g. {@code task.lease})
   * @param workerSettings worker config keys to override (e.g. {@code engine.emulated.*})
   */
  public record Options(
      Path dir,
      int baseWorkers,
      int upscaleWorkers,
      String baseEngine,
      String upscaleEngine,
      int apiPort,
      int flinkUiPort,
      Map<String, String> orchestratorSettings,
      Map<String, String> workerSettings) {

    public Options {
      orchestratorSettings = Map.copyOf(orchestratorSettings);
      workerSettings = Map.copyOf(workerSettings);
    }

    /** Defaults of {@code reelflow up} in {@code dir}. */
    public static Options defaults(Path dir) {
      return new Options(dir, 1, 1, "native", "esrgan", 0, FreePort.find(), Map.of(), Map.of());
    }

    public Path stateDir() {
      return dir.resolve(".reelflow");
    }
  }

  private final Options options;
  private final PrintStream log;
  private LocalStack stack;
  private JobClient orchestrator;
  private final List<WorkerProcess> workers = new ArrayList<>();
  private IngestServer ingest;
  private LocalTenant tenant;
  private LocalStackInfo info;

  private LocalPipeline(Options options, PrintStream log) {
    this.options = options;
    this.log = log;
  }

  /** Starts every part, in dependency order; on failure, stops what was started. */
  public static LocalPipeline start(Options options, PrintStream log) {
    LocalPipeline pipeline = new LocalPipeline(options, log);
    try {
      pipeline.startAll();
      return pipeline;
    } catch (RuntimeException | Error e) {
      pipeline.close();
      throw e;
    } catch (Exception e) {
      pipeline.close();
      throw new CliException(ExitCode.API_ERROR, "the local pipeline did not start: " + e, e);
    }
  }

  private void startAll() throws Exception {
    Path state = options.stateDir();
    Files.createDirectories(state);
    long t0 = System.nanoTime();
    step("stack (Kafka KRaft broker, schema registry, S3 endpoint)");
    stack = LocalStack.builder().workDir(state.resolve("stack")).all().build().start();

    step("topics and schemas");
    TopicProvisioner.builder()
        .bootstrapServers(stack.bootstrapServers())
        .replicationFactor(1)
        .build()
        .provision();
    SchemaProvisioner.registerAll(
        SchemaRegistryClient.create(stack.schemaRegistryUrl()), Topics.defaults());

    step("orchestrator (Flink MiniCluster)");
    OrchestratorConfig.Builder orchestratorBuilder =
        OrchestratorConfig.builder()
            .bootstrapServers(stack.bootstrapServers())
            .registryUrl(stack.schemaRegistryUrl())
            .bucket(stack.bucket())
            .checkpointDir(state.resolve("flink/checkpoints").toUri().toString())
            // Schedules with a source read their rows from the same bucket.
            .storage(
                stack.s3Endpoint(), stack.s3AccessKey(), stack.s3SecretKey(), stack.s3Region());
    options.orchestratorSettings().forEach(orchestratorBuilder::set);
    OrchestratorConfig orchestratorConfig = orchestratorBuilder.build();
    Configuration flink = new Configuration();
    flink.set(RestOptions.PORT, options.flinkUiPort());
    // The JobManager's checkpoint store reads this from the cluster's configuration: keep the
    // newest 3 so a restart can fall back when the newest was cut off by a kill.
    flink.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 3);
    // The same reporter as the FlinkDeployment, so the dashboards and KEDA read the same names.
    int flinkMetricsPort = FreePort.find();
    flink.setString("metrics.reporter.prom.factory.class", PROMETHEUS_REPORTER);
    flink.setString("metrics.reporter.prom.port", Integer.toString(flinkMetricsPort));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, flink);
    OrchestratorJob job = OrchestratorJob.builder().config(orchestratorConfig).build();
    orchestrator = job.start(env);
    // What a restart resumed from, said where the user looks (the full reasoning is in the log).
    if (job.restoredFrom().isPresent()) {
      log.println(
          "reelflow: orchestrator restored from retained checkpoint " + job.restoredFrom().get());
    } else {
      log.println(
          "reelflow: no retained checkpoint found under "
              + orchestratorConfig.checkpointDir()
              + "; orchestrator started with empty state"
              + (job.rendersTakenOver() + job.rendersEndedLost() > 0
                  ? ", took over "
                      + job.rendersTakenOver()
                      + " unfinished render(s) from the topics and ended "
                      + job.rendersEndedLost()
                      + " whose request is past retention FAILED"
                  : ""));
    }

    if (options.baseWorkers() > 0) {
      step(options.baseWorkers() + " base worker(s), engine " + options.baseEngine());
      workers.add(startWorkers("base", options.baseWorkers(), options.baseEngine()));
    }
    if (options.upscaleWorkers() > 0) {
      step(options.upscaleWorkers() + " upscale worker(s), engine " + options.upscaleEngine());
      workers.add(startWorkers("upscale", options.upscaleWorkers(), options.upscaleEngine()));
    }
    for (WorkerProcess worker : workers) {
      if (!worker.awaitReady(Duration.ofSeconds(60))) {
        throw new CliException(ExitCode.API_ERROR, "workers " + worker.workerIds() + " not ready");
      }
    }

    step("ingest API and web console");
    tenant = LocalTenant.ensure(state.resolve("tenant"));
    Path ingestProperties = state.resolve("ingest.properties");
    Properties p =
        ingestSettings(stack, stack.bootstrapServers(), options.apiPort(), tenant.apiKeysFile());
    promptModelDir(options.workerSettings())
        .ifPresent(d -> p.setProperty(IngestConfig.PROMPT_MODEL_DIR.name(), d));
    try (OutputStream out = Files.newOutputStream(ingestProperties)) {
      p.store(out, "written by reelflow up");
    }
    ingest = IngestServer.builder(IngestConfig.load(ingestProperties, Map.of())).build().start();
    if (!ingest.awaitReady(Duration.ofSeconds(60))) {
      throw new CliException(ExitCode.API_ERROR, "the ingest API did not become ready");
    }

    info =
        stack
            .info()
            .with("api.url", ingest.baseUrl())
            .with("api.key", tenant.apiKey())
            .with("api.tenant", tenant.tenant())
            .with("console.url", ingest.baseUrl() + "/console/")
            .with("flink.jobId", orchestrator.getJobID().toString())
            .with("flink.checkpoints", state.resolve("flink/checkpoints").toString())
            .with("flink.webUi", "http://localhost:" + options.flinkUiPort())
            .with("flink.metrics", "http://localhost:" + flinkMetricsPort + "/metrics");
    for (WorkerProcess worker : workers) {
      if (worker.metricsPort() > 0) {
        info =
            info.with(
                "workers." + worker.workerIds().get(0) + ".metrics",
                "http://localhost:" + worker.metricsPort() + "/metrics");
      }
    }
    info.writeTo(state.resolve("local.json"));
    log.printf("reelflow: pipeline up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  /**
   * Worker settings that connect a worker to this pipeline's stack: for tests and tools that run
   * workers in their own JVMs ({@code reelflow worker --set key=value ...}).
   */
  public Map<String, String> workerConnection() {
    Map<String, String> values = new LinkedHashMap<>();
    values.put(WorkerConfig.BOOTSTRAP_SERVERS.name(), stack.bootstrapServers());
    values.put(WorkerConfig.SCHEMA_REGISTRY_URL.name(), stack.schemaRegistryUrl());
    values.put(WorkerConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    values.put(WorkerConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    values.put(WorkerConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    values.put(WorkerConfig.S3_BUCKET.name(), stack.bucket());
    values.put(WorkerConfig.S3_REGION.name(), stack.s3Region());
    return values;
  }

  private WorkerProcess startWorkers(String pool, int count, String engine) throws Exception {
    Map<String, String> values = new LinkedHashMap<>();
    values.put(WorkerConfig.POOL.name(), pool);
    values.put(WorkerConfig.SLOTS.name(), Integer.toString(count));
    values.put(WorkerConfig.ENGINE.name(), engine);
    values.put(WorkerConfig.WORKER_ID.name(), "local-" + pool);
    values.putAll(workerConnection());
    values.put(WorkerConfig.METRICS_PORT.name(), "0");
    values.put(
        WorkerConfig.WORK_DIR.name(), options.stateDir().resolve("workers/" + pool).toString());
    values.putAll(options.workerSettings());
    return WorkerProcess.start(WorkerConfig.of(values));
  }

  private void step(String what) {
    log.println("reelflow: starting " + what + " ...");
  }

  /** Every address and credential (what {@code local.json} holds). */
  public LocalStackInfo info() {
    return info;
  }

  /** The embedded stack, e.g. for fault tests that stop the broker or the S3 endpoint. */
  public LocalStack stack() {
    return stack;
  }

  public String apiUrl() {
    return ingest.baseUrl();
  }

  public String apiKey() {
    return tenant.apiKey();
  }

  public String tenant() {
    return tenant.tenant();
  }

  /** Stops in reverse order: API first (no new work), then workers (drain), job, stack. */
  @Override
  public synchronized void close() {
    if (ingest != null) {
      quietly(ingest::close);
      ingest = null;
    }
    for (WorkerProcess worker : workers) {
      quietly(worker::close);
    }
    workers.clear();
    if (orchestrator != null) {
      JobClient job = orchestrator;
      quietly(() -> job.cancel().get());
      orchestrator = null;
    }
    if (stack != null) {
      quietly(stack::close);
      stack = null;
    }
  }

  private interface Step {
    void run() throws Exception;
  }

  private void quietly(Step step) {
    try {
      step.run();
    } catch (Exception e) {
      log.println("reelflow: while stopping: " + e);
    }
  }

  static void ensureDirectory(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new CliException(ExitCode.USAGE, "cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * The settings of an ingest instance on {@code stack} (Kafka at {@code bootstrapServers}, which
   * may be another cluster than the stack's own broker) on loopback port {@code port} (0: free).
   */
  public static Properties ingestSettings(
      LocalStack stack, String bootstrapServers, int port, Path apiKeysFile) {
    Properties p = new Properties();
    p.setProperty(IngestConfig.PORT.name(), Integer.toString(port));
    p.setProperty(IngestConfig.HOST.name(), "127.0.0.1");
    p.setProperty(IngestConfig.BOOTSTRAP_SERVERS.name(), bootstrapServers);
    p.setProperty(IngestConfig.SCHEMA_REGISTRY_URL.name(), stack.schemaRegistryUrl());
    p.setProperty(IngestConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    p.setProperty(IngestConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    p.setProperty(IngestConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    p.setProperty(IngestConfig.S3_BUCKET.name(), stack.bucket());
    p.setProperty(IngestConfig.API_KEYS_FILE.name(), apiKeysFile.toString());
    return p;
  }

  /**
   * The checkpoint folder ingest counts prompts with: the workers' {@code model-dir} when it has
   * the text encoder's tokenizer, so a prompt the encoder cannot take is a 422 at submit. A folder
   * without text encoders renders on the byte-level stand-in, which has no token limit.
   */
  static Optional<String> promptModelDir(Map<String, String> workerSettings) {
    String dir = workerSettings.get(WorkerConfig.MODEL_DIR.name());
    return dir != null && Files.isRegularFile(Path.of(dir, "text_encoder", "llm", "tokenizer.json"))
        ? Optional.of(dir)
        : Optional.empty();
  }
}
