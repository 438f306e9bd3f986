package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.stack.LocalStackExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker runtime (in-process) on the embedded stack, the test as orchestrator, on the emulated
 * engine (a fixed 200 ms per step, labelled emulated; no ffmpeg CLI): duplicate delivery, adoption
 * of a published final result, cancel mid-render, refusals, dead letters, metrics and drain. Each
 * test renders what it needs itself, so any order works; the rendering paths (command engine to a
 * playable MP4, native engine) are in {@link WorkerRenderIT}.
 */
class WorkerRuntimeIT {

  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  @TempDir static Path dir;

  static OrchestratorDouble orch;
  static WorkerProcess worker;
  static final String WORKER = "w-runtime";
  static final Duration WAIT = Duration.ofSeconds(60);

  @BeforeAll
  static void start() throws Exception {
    orch = new OrchestratorDouble(STACK.stack());
    worker = WorkerProcess.start(WorkerConfig.of(config(WORKER, "0")));
    assertThat(worker.awaitReady(WAIT)).isTrue();
  }

  static Map<String, String> config(String workerId, String metricsPort) {
    Map<String, String> cfg = orch.workerConfig(workerId, "emulated");
    cfg.put("engine.emulated.step", "200ms");
    cfg.put(WorkerConfig.WORK_DIR.name(), dir.resolve(workerId).toString());
    cfg.put(WorkerConfig.METRICS_PORT.name(), metricsPort);
    return cfg;
  }

  @AfterAll
  static void stop() {
    if (worker != null) {
      worker.close();
    }
    if (orch != null) {
      orch.close();
    }
  }

  static int partitionOf(String workerId) throws InterruptedException {
    WorkerEvent ready = orch.awaitReady(workerId, WAIT);
    return ready.getOwnedPartitions().get(0);
  }

  @Test
  void duplicateDeliveryOfACompletedTaskIsSkipped() throws Exception {
    RenderTask task = OrchestratorDouble.task("r-dup", 1, 17, 4, true, 30_000);
    int partition = partitionOf(WORKER);
    orch.dispatch(task, partition);
    orch.await(task.getTaskId(), StageEventType.COMPLETED, WAIT);
    orch.dispatch(task, partition);
    // Ordered after the duplicate on the same partition: once it completed, the duplicate was
    // handled.
    RenderTask next = OrchestratorDouble.task("r-after-dup", 1, 17, 2, false, 30_000);
    orch.dispatch(next, partition);

    orch.await(next.getTaskId(), StageEventType.COMPLETED, WAIT);
    assertThat(
            orch.events(task.getTaskId()).stream()
                .filter(e -> e.getType() == StageEventType.STARTED))
        .as("the duplicate was not started again")
        .hasSize(1);
    assertThat(
            orch.events(task.getTaskId()).stream()
                .filter(e -> e.getType() == StageEventType.COMPLETED))
        .hasSize(1);
  }

  /**
   * A record read more than a lease after its release (held up by a broker outage) is skipped, and
   * the READY that frees the slot does not list it as taken: the scheduler releases that task again
   * under the same id, and confirming it would leave the new release to nobody.
   */
  @Test
  void aRecordReadAfterItsLeaseIsSkippedWithoutConfirmingItsTaskAsTaken() throws Exception {
    int partition = partitionOf(WORKER);
    RenderTask task = OrchestratorDouble.task("r-stale", 1, 17, 2, false, 1_000);
    Instant before = Instant.now();
    orch.dispatch(task, partition, before.minusSeconds(5));
    WorkerEvent ready =
        orch.awaitWorker(
            e ->
                e.getWorkerId().equals(WORKER)
                    && e.getType() == WorkerEventType.READY
                    && e.getAt().isAfter(before),
            WAIT);
    assertThat(ready.getFreeSlots()).isEqualTo(1);
    assertThat(ready.getRunningTaskIds()).doesNotContain(task.getTaskId());
    assertThat(orch.events(task.getTaskId())).isEmpty();
    // Released again, on time: it runs.
    orch.dispatch(task, partition);
    orch.await(task.getTaskId(), StageEventType.COMPLETED, WAIT);
  }

  @Test
  void aLaterAttemptAdoptsTheCompleteFinalResultAnEarlierAttemptPublished() throws Exception {
    // Attempt 1 publishes the write-once final keys; as if it died before its COMPLETED counted,
    // attempt 2 of the same render runs, finds them complete and completes with them.
    int partition = partitionOf(WORKER);
    RenderTask first = OrchestratorDouble.task("r-adopt", 1, 17, 2, true, 30_000);
    orch.dispatch(first, partition);
    StageEvent done1 = orch.await(first.getTaskId(), StageEventType.COMPLETED, WAIT);
    RenderTask second = OrchestratorDouble.task("r-adopt", 2, 17, 2, true, 30_000);
    orch.dispatch(second, partition);
    StageEvent done2 = orch.await(second.getTaskId(), StageEventType.COMPLETED, WAIT);
    assertThat(done1.getFacts()).doesNotContainKey("adoptedPublication");
    assertThat(done2.getFacts()).containsEntry("adoptedPublication", "true");
    Function<StageEvent, List<String>> finals =
        e ->
            e.getOutputs().stream()
                .filter(o -> o.getKey().startsWith(first.getFinalPrefix()))
                .map(o -> o.getName() + " " + o.getKey() + " " + o.getSha256())
                .sorted()
                .toList();
    assertThat(finals.apply(done2))
        .as("the adopted outputs are attempt 1's final video, poster and manifest")
        .hasSize(3)
        .isEqualTo(finals.apply(done1));
  }

  @Test
  void cancellationMidRenderStopsWithinOneStep() throws Exception {
    cancelMidRender("r-cancel");
  }

  /** Cancels a 40-step render after its second step; asserts it stopped within a step or so. */
  private static void cancelMidRender(String requestId) throws Exception {
    RenderTask task = OrchestratorDouble.task(requestId, 1, 17, 40, false, 30_000);
    orch.dispatch(task, partitionOf(WORKER));
    StageEvent second =
        orch.await(
            e ->
                e.getTaskId().equals(task.getTaskId())
                    && e.getType() == StageEventType.PROGRESS
                    && e.getStep() != null
                    && e.getStep() >= 2,
            WAIT);
    long sent = System.currentTimeMillis();
    orch.cancel(requestId);

    StageEvent failed = orch.await(task.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(failed.getError().getCode()).isEqualTo(ErrorCode.CANCELLED);
    assertThat(failed.getError().getRetryable()).isFalse();
    int lastStep =
        orch.events(task.getTaskId()).stream()
            .filter(e -> e.getType() == StageEventType.PROGRESS && e.getStep() != null)
            .mapToInt(StageEvent::getStep)
            .max()
            .orElseThrow();
    // Steps take 200 ms; the bound adds Kafka delivery of the command on a loaded 2-core CI box.
    // The exact "stops at the next step" property is asserted in CommandEngineTest.
    assertThat(failed.getAt().toEpochMilli() - sent).isLessThan(2_500);
    assertThat(lastStep).isLessThan(second.getStep() + 8).isLessThan(40);
    assertThat(orch.store.list(task.getOutputPrefix())).isEmpty();
  }

  @Test
  void badParametersAndWhatCannotFitAreRefusedPermanently() throws Exception {
    int partition = partitionOf(WORKER);
    RenderTask badFrames = OrchestratorDouble.task("r-bad", 1, 18, 2, false, 30_000);
    orch.dispatch(badFrames, partition);
    StageEvent f1 = orch.await(badFrames.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(f1.getError().getCode()).isEqualTo(ErrorCode.BAD_PARAMETERS);
    assertThat(f1.getError().getRetryable()).isFalse();
    assertThat(f1.getError().getMessage()).contains("4k+1");

    RenderTask huge = OrchestratorDouble.task("r-huge", 1, 241, 2, false, 30_000);
    huge.getParams().setResolution(Resolution.P720);
    orch.dispatch(huge, partitionOf(WORKER));
    StageEvent f2 = orch.await(huge.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(f2.getError().getCode()).isEqualTo(ErrorCode.BAD_PARAMETERS);
    assertThat(f2.getError().getMessage()).contains("device memory", "GiB");
    assertThat(orch.events(huge.getTaskId()))
        .noneMatch(e -> e.getType() == StageEventType.PROGRESS);
  }

  @Test
  void unreadableTaskRecordGoesToTheDeadLetterTopicAndTheWorkerGoesOn() throws Exception {
    int partition = partitionOf(WORKER);
    orch.dispatchRaw("r-garbage", "not avro".getBytes(StandardCharsets.UTF_8), partition);
    RenderTask next = OrchestratorDouble.task("r-after-garbage", 1, 17, 2, false, 30_000);
    orch.dispatch(next, partition);

    DeadLetter dl = orch.awaitDeadLetter("r-garbage", WAIT);
    assertThat(dl.getSourceTopic()).isEqualTo("render.tasks.base");
    assertThat(dl.getPartition()).isEqualTo(partition);
    assertThat(dl.getComponent()).isEqualTo("worker");
    assertThat(dl.getValue().remaining()).isEqualTo(8);
    assertThat(dl.getReason()).isNotBlank();
    orch.await(next.getTaskId(), StageEventType.COMPLETED, WAIT);
  }

  @Test
  void metricsAndHealthzAreServed() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://localhost:" + worker.metricsPort();
    // Counters are per process and other tests may have run first: this test renders one task
    // and cancels one, and asserts the counters moved by exactly that.
    String before = get(http, base + "/metrics");
    RenderTask done = OrchestratorDouble.task("r-metrics", 1, 17, 2, false, 30_000);
    orch.dispatch(done, partitionOf(WORKER));
    orch.await(done.getTaskId(), StageEventType.COMPLETED, WAIT);
    cancelMidRender("r-metrics-cancel");

    HttpResponse<String> health =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"status\":\"UP\"", WORKER);
    String metrics = get(http, base + "/metrics");
    String completed = "reelflow_worker_tasks_total{outcome=\"completed\",pool=\"BASE\"}";
    String cancelled = "reelflow_worker_tasks_total{outcome=\"cancelled\",pool=\"BASE\"}";
    assertThat(metrics)
        .contains(completed)
        .contains(cancelled)
        .contains("reelflow_worker_step_seconds_bucket")
        .contains("reelflow_worker_busy_fraction{pool=\"BASE\",worker=\"" + WORKER + "\"}");
    assertThat(counter(metrics, completed)).isGreaterThanOrEqualTo(counter(before, completed) + 1);
    assertThat(counter(metrics, cancelled)).isEqualTo(counter(before, cancelled) + 1);
  }

  private static String get(HttpClient http, String url) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s", url).isEqualTo(200);
    return r.body();
  }

  /** The value of a Prometheus sample line; 0 when the series is absent (never incremented). */
  private static double counter(String exposition, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(exposition);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  @Test
  void drainFinishesATaskThatFitsTheGracePeriodThenStops() throws Exception {
    // Same path as SIGTERM in WorkerMain (its shutdown hook calls drain()); the hand-back case
    // runs against a separate JVM in WorkerFaultIT. Its own worker: the drain stops it.
    String id = "w-drain-inproc";
    try (WorkerProcess drained = WorkerProcess.start(WorkerConfig.of(config(id, "-1")))) {
      assertThat(drained.awaitReady(WAIT)).isTrue();
      RenderTask task = OrchestratorDouble.task("r-finish", 1, 17, 5, false, 30_000);
      orch.dispatch(task, partitionOf(id));
      orch.await(
          e -> e.getTaskId().equals(task.getTaskId()) && e.getType() == StageEventType.PROGRESS,
          WAIT);
      Thread drainer = new Thread(drained::drain, "test-drain");
      drainer.start();

      StageEvent done = orch.await(task.getTaskId(), StageEventType.COMPLETED, WAIT);
      WorkerEvent draining =
          orch.awaitWorker(
              e -> e.getWorkerId().equals(id) && e.getType() == WorkerEventType.DRAINING, WAIT);
      WorkerEvent stopped =
          orch.awaitWorker(
              e -> e.getWorkerId().equals(id) && e.getType() == WorkerEventType.STOPPED, WAIT);
      assertThat(done.getWorkerId()).isEqualTo(id);
      assertThat(draining.getFreeSlots()).isZero();
      assertThat(draining.getAt()).isBeforeOrEqualTo(done.getAt());
      assertThat(stopped.getAt()).isAfterOrEqualTo(done.getAt());
      assertThat(orch.events(task.getTaskId()))
          .noneMatch(e -> e.getType() == StageEventType.FAILED);
      drainer.join(30_000);
      assertThat(drained.healthy()).isFalse();
    }
  }
}
