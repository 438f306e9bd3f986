package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.cli.LocalPipeline;
import dev.reelflow.orchestrator.OrchestratorSettings;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.stack.CompletedCheckpoints;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.worker.WorkerConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One local pipeline (embedded stack, orchestrator in a Flink MiniCluster, ingest API, no
 * in-process base workers) shared by every e2e IT of the run: starting it costs tens of seconds on
 * a small machine. Tests bring their own base workers as separate JVMs ({@link WorkerJvm}) and use
 * their own request ids, so they do not see each other's renders. Resolved as a parameter of
 * {@code @BeforeAll}; closed when the test run ends.
 *
 * <p>Orchestrator timings are short so faults resolve quickly: 2 s checkpoints (status records
 * become visible to read_committed readers at each checkpoint). The task lease is the default (4 s,
 * four missed 1 s heartbeats), so the fault suite measures re-dispatch at default settings.
 */
final class SharedPipeline implements ParameterResolver, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SharedPipeline.class);

  /** Lease of a task (the orchestrator's default): a worker silent this long is presumed dead. */
  static final String LEASE = "4s";

  private Path dir;
  private Path checkpoints;
  private LocalPipeline pipeline;
  private EventLog events;
  private ArtifactStore store;
  private RenderApi api;
  private RenderHistoryChecker.Bucket bucket;

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext c) {
    return p.getParameter().getType() == SharedPipeline.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext c) {
    return c.getRoot()
        .getStore(ExtensionContext.Namespace.create(SharedPipeline.class))
        .getOrComputeIfAbsent("pipeline", k -> SharedPipeline.startNew(), SharedPipeline.class);
  }

  private static SharedPipeline startNew() {
    SharedPipeline s = new SharedPipeline();
    try {
      s.dir = Files.createTempDirectory("reelflow-e2e");
      long t0 = System.nanoTime();
      LocalPipeline.Options options =
          new LocalPipeline.Options(
              s.dir,
              0,
              0,
              "emulated",
              "bicubic",
              0,
              freePort(),
              Map.of(
                  OrchestratorSettings.CHECKPOINT_INTERVAL.name(), "2s",
                  OrchestratorSettings.STATE_BACKEND.name(), "hashmap",
                  OrchestratorSettings.RETRY_INITIAL_BACKOFF.name(), "500ms",
                  OrchestratorSettings.POSITION_INTERVAL.name(), "1s"),
              Map.of());
      s.checkpoints = options.stateDir().resolve("flink/checkpoints");
      s.pipeline =
          LocalPipeline.start(
              options,
              new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8));
      LOG.info("e2e pipeline up in {} ms", (System.nanoTime() - t0) / 1_000_000);
      s.events =
          new EventLog(
              s.pipeline.stack().bootstrapServers(), s.pipeline.stack().schemaRegistryUrl());
      s.store =
          ArtifactStore.builder()
              .endpoint(s.pipeline.stack().s3Endpoint())
              .credentials(s.pipeline.stack().s3AccessKey(), s.pipeline.stack().s3SecretKey())
              .region(s.pipeline.stack().s3Region())
              .bucket(s.pipeline.stack().bucket())
              .build();
      s.api = new RenderApi(s.pipeline.apiUrl(), s.pipeline.apiKey());
      return s;
    } catch (IOException e) {
      s.close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException | Error e) {
      s.close();
      throw e;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  LocalPipeline pipeline() {
    return pipeline;
  }

  EventLog events() {
    return events;
  }

  ArtifactStore store() {
    return store;
  }

  RenderApi api() {
    return api;
  }

  /**
   * The observation window before asserting that no duplicate appeared: waits until the
   * orchestrator's records emitted so far are committed and read ({@link
   * CompletedCheckpoints#awaitCommitted}), about three 2 s checkpoints.
   */
  void awaitCommitted() {
    CompletedCheckpoints.awaitCommitted(checkpoints, Duration.ofSeconds(90));
  }

  /** Starts an emulated base worker JVM connected to this pipeline. */
  WorkerJvm startWorker(String id, Map<String, String> settings) throws IOException {
    return WorkerJvm.start(id, dir.resolve("workers"), pipeline.workerConnection(), settings);
  }

  /**
   * Settings of an emulated base worker JVM: {@code stepMs} per denoising step, 1 s heartbeats and
   * a 12 s Kafka session. The session outlasts the 4 s task lease, as in production (45 s session
   * against the same lease): the orchestrator re-queues a dead worker's task as the next attempt
   * before its partitions move, and the new owner then fences the old attempt's record. With a
   * session shorter than the lease, the new owner could run the old attempt itself first.
   */
  static Map<String, String> workerSettings(long stepMs, long drainGraceMs) {
    return Map.of(
        "engine.emulated.step",
        stepMs + "ms",
        WorkerConfig.HEARTBEAT_INTERVAL.name(),
        "1s",
        WorkerConfig.DRAIN_GRACE.name(),
        drainGraceMs + "ms",
        "kafka.session.timeout.ms",
        "12000",
        "kafka.heartbeat.interval.ms",
        "1000");
  }

  /** Starts a worker JVM of {@code pool} with {@code engine} connected to this pipeline. */
  WorkerJvm startWorker(String id, String pool, String engine, Map<String, String> settings)
      throws IOException {
    return WorkerJvm.start(
        id, pool, engine, dir.resolve("workers"), pipeline.workerConnection(), settings);
  }

  /** The checker's view of the bucket: listings, bytes and incomplete multipart uploads. */
  synchronized RenderHistoryChecker.Bucket bucket() {
    if (bucket == null) {
      bucket = RenderHistoryChecker.Bucket.of(pipeline.stack());
    }
    return bucket;
  }

  /**
   * Checks {@code history} against everything published so far, writes the table under
   * target/fault-suite and returns the result.
   */
  RenderHistoryChecker.Result check(RenderHistory history) {
    RenderHistoryChecker.Result r =
        RenderHistoryChecker.check(history, RenderHistoryChecker.Observed.of(events, bucket()));
    RenderHistoryChecker.report(r, RenderHistoryChecker.reportDir());
    return r;
  }

  /** Waits until every worker of {@code jvms} announced READY on render.worker-events. */
  void awaitReady(Duration timeout, WorkerJvm... jvms) {
    events.awaitReady(timeout, java.util.List.of(jvms));
  }

  /** What the pipeline published about a render, for failure messages. */
  String describe(String requestId) {
    return events.describe(requestId);
  }

  /**
   * Waits until the API shows the render SUCCEEDED (failing at once when it shows FAILED) and
   * asserts that a later attempt did it: the final status on render.status names attempt 2 or more.
   * On failure the message carries the render's history and the log tail of {@code other}, the
   * worker expected to have taken over. Returns the render's JSON.
   */
  JsonNode awaitSucceededOnALaterAttempt(
      String id, String otherName, WorkerJvm other, Duration wait) {
    JsonNode done;
    try {
      done =
          Await.until(
              Duration.ofSeconds(120),
              "SUCCEEDED of " + id,
              () -> {
                Optional<JsonNode> ok = api.inState(id, "SUCCEEDED");
                if (ok.isEmpty() && api.inState(id, "FAILED").isPresent()) {
                  throw new AssertionError("render FAILED\n" + describe(id));
                }
                return ok;
              });
    } catch (AssertionError e) {
      throw new AssertionError(
          e.getMessage() + "\n" + describe(id) + "\n--- " + otherName + " ---\n" + other.tail(), e);
    }
    // (The API's "attempts" counter is checked by DrainIT.)
    RenderStatus succeeded =
        events.awaitStatus(
            wait,
            "SUCCEEDED on render.status for " + id,
            s -> s.getRequestId().equals(id) && s.getState() == RenderState.SUCCEEDED);
    assertThat(succeeded.getAttempt()).as("%s\n%s", done, describe(id)).isGreaterThanOrEqualTo(2);
    return done;
  }

  @Override
  public void close() {
    if (events != null) {
      events.close();
    }
    if (store != null) {
      store.close();
    }
    if (pipeline != null) {
      pipeline.close();
    }
    if (dir != null) {
      try (Stream<Path> all = Files.walk(dir)) {
        all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        LOG.warn("could not delete {}: {}", dir, e.toString());
      }
    }
  }
}
