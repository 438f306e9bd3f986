package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.Manifest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers (in-process) with the resident engine running the FAKE resident server, on the embedded
 * stack with the test as orchestrator: one model load for every task of a slot, the slot not free
 * until the model is loaded, cancel within the grace period (and a hung program killed and
 * reloaded), a crash mid-task failing the task as retryable and restarting the program, and a
 * program that cannot start announced UNAVAILABLE with the reason.
 */
// Orders the report only: each test stands alone (the faulty worker is started by whichever test
// needs it first, and its model loads are read as before/after deltas).
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ResidentWorkerIT {

  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  @TempDir static Path dir;
  static OrchestratorDouble orch;
  static WorkerProcess faulty;
  static final Duration WAIT = Duration.ofSeconds(60);
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    FakeResident.requirePython();
    orch = new OrchestratorDouble(STACK.stack());
  }

  @AfterAll
  static void stop() {
    if (faulty != null) {
      faulty.close();
    }
    if (orch != null) {
      orch.close();
    }
  }

  static WorkerProcess startWorker(String id, String fakeArgs, Map<String, String> extra)
      throws Exception {
    Map<String, String> cfg = orch.workerConfig(id, "resident");
    cfg.putAll(FakeResident.workerConfig(fakeArgs));
    cfg.put(WorkerConfig.WORK_DIR.name(), dir.resolve(id).toString());
    cfg.putAll(extra);
    return WorkerProcess.start(WorkerConfig.of(cfg));
  }

  static RenderTask task(String requestId, String prompt, int steps, boolean publishFinal) {
    RenderTask t = OrchestratorDouble.task(requestId, 1, 9, steps, publishFinal, 30_000);
    return RenderTask.newBuilder(t)
        .setParams(RenderParams.newBuilder(t.getParams()).setPrompt(prompt).build())
        .build();
  }

  static List<WorkerEvent> eventsOf(String workerId) {
    return orch.workerEvents.stream().filter(e -> e.getWorkerId().equals(workerId)).toList();
  }

  static int lines(Path file) throws Exception {
    return Files.exists(file) ? Files.readAllLines(file).size() : 0;
  }

  static String get(int port, String path) throws Exception {
    return HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  @Test
  @Order(1)
  void oneModelLoadServesEveryTaskAndTheSlotIsNotFreeUntilLoaded() throws Exception {
    Path loads = dir.resolve("loads-once.log");
    try (WorkerProcess w =
        startWorker("w-once", "--load-seconds 4 --load-log " + loads, Map.of())) {
      WorkerEvent ready = orch.awaitReady("w-once", WAIT);
      assertThat(ready.getEngineState()).isEqualTo("READY");
      List<WorkerEvent> before = eventsOf("w-once");
      assertThat(before)
          .as("never free while the model loads")
          .allMatch(e -> e.getFreeSlots() == 0 || "READY".equals(e.getEngineState()));
      assertThat(before)
          .as("announced as loading first")
          .anyMatch(
              e ->
                  e.getType() == WorkerEventType.READY
                      && e.getFreeSlots() == 0
                      && "LOADING".equals(e.getEngineState())
                      && e.getEngineReason().contains("loading the model"));

      int partition = ready.getOwnedPartitions().get(0);
      List<RenderTask> tasks = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        RenderTask t = task("r-once-" + i, "a paper boat, take " + i, 3, i % 2 == 0);
        tasks.add(t);
        orch.dispatch(t, partition);
      }
      for (RenderTask t : tasks) {
        StageEvent done = orch.await(t.getTaskId(), StageEventType.COMPLETED, WAIT);
        assertThat(done.getFacts())
            .containsEntry("engine", "resident")
            .containsEntry("emulated", "true")
            .containsEntry("modelId", "fake-resident")
            .containsEntry("fakeServer", "true")
            .containsEntry("frames", "9");
        List<String> progress =
            orch.events(t.getTaskId()).stream()
                .filter(e -> e.getType() == StageEventType.PROGRESS)
                .filter(e -> "denoise".equals(e.getMessage()))
                .map(e -> e.getStep() + "/" + e.getTotalSteps())
                .toList();
        assertThat(progress).containsExactly("1/3", "2/3", "3/3");
        Map<String, OutputArtifact> out =
            done.getOutputs().stream().collect(Collectors.toMap(OutputArtifact::getName, o -> o));
        if (t.getPublishFinal()) {
          assertThat(out).containsKeys("preview", "video", "poster", "manifest");
          Manifest m =
              Manifest.fromJson(orch.store.getBytes(t.getFinalPrefix() + "manifest.json", true));
          assertThat(m.emulated()).as("the fake's renders say so").isTrue();
          assertThat(m.engine()).isEqualTo("resident");
        } else {
          assertThat(out).as("latents for the upscale stage").containsKeys("preview", "latents");
        }
      }
      assertThat(lines(loads)).as("one model load for five tasks").isEqualTo(1);
      String metrics = get(w.metricsPort(), "/metrics");
      assertThat(metrics)
          .containsPattern(
              "reelflow_worker_resident_messages_total\\{direction=\"out\",pool=\"BASE\","
                  + "type=\"task\",worker=\"w-once\"\\} 5\\.0")
          .containsPattern(
              "reelflow_worker_resident_load_seconds_count\\{pool=\"BASE\",worker=\"w-once\"\\} 1")
          .containsPattern(
              "reelflow_worker_engine_state\\{pool=\"BASE\",state=\"READY\",worker=\"w-once\"\\}"
                  + " 1\\.0");
      assertThat(get(w.metricsPort(), "/healthz")).contains("\"engine\":\"READY\"");
    }
  }

  static Path faultyLoads() {
    return dir.resolve("loads-faulty.log");
  }

  static int faultyPartition() throws Exception {
    if (faulty == null) {
      faulty =
          startWorker(
              "w-faulty",
              "--load-seconds 1 --load-log " + faultyLoads(),
              Map.of("engine.resident.cancel-grace", "1500ms"));
    }
    return orch.awaitReady("w-faulty", WAIT).getOwnedPartitions().get(0);
  }

  @Test
  @Order(2)
  void cancelStopsTheTaskWithinTheGracePeriodAndAHungProgramIsKilledAndReloaded() throws Exception {
    int partition = faultyPartition();
    int loadsBefore = lines(faultyLoads());

    // The program honours the cancel: the task ends at its next step, no restart.
    RenderTask slow = task("r-cancel-slow", "slow [slow]", 40, true);
    orch.dispatch(slow, partition);
    orch.await(
        e -> e.getTaskId().equals(slow.getTaskId()) && e.getType() == StageEventType.PROGRESS,
        WAIT);
    long t0 = System.nanoTime();
    orch.cancel(slow.getRequestId());
    StageEvent failed = orch.await(slow.getTaskId(), StageEventType.FAILED, WAIT);
    long cancelMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(failed.getError().getCode()).isEqualTo(ErrorCode.CANCELLED);
    assertThat(cancelMs).as("stopped at its next step, not after 40 x 200 ms").isLessThan(3_000);
    assertThat(lines(faultyLoads())).isEqualTo(loadsBefore);

    // The program hangs on cancel: killed after the 1.5 s grace, reloaded, then free again.
    partition = orch.awaitReady("w-faulty", WAIT).getOwnedPartitions().get(0);
    RenderTask hung = task("r-cancel-hang", "stuck [hang]", 40, true);
    orch.dispatch(hung, partition);
    orch.await(
        e -> e.getTaskId().equals(hung.getTaskId()) && e.getType() == StageEventType.PROGRESS,
        WAIT);
    t0 = System.nanoTime();
    orch.cancel(hung.getRequestId());
    StageEvent hungFailed = orch.await(hung.getTaskId(), StageEventType.FAILED, WAIT);
    long hungMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(hungFailed.getError().getCode()).isEqualTo(ErrorCode.CANCELLED);
    assertThat(hungMs).as("the grace period, then the kill").isBetween(1_500L, 8_000L);
    Instant failedAt = hungFailed.getAt();
    WorkerEvent reloading =
        orch.awaitWorker(
            e ->
                e.getWorkerId().equals("w-faulty")
                    && e.getFreeSlots() == 0
                    && "LOADING".equals(e.getEngineState())
                    && !e.getAt().isBefore(failedAt),
            WAIT);
    assertThat(reloading.getEngineReason()).contains("cancel-grace=1500ms");
    WorkerEvent back =
        orch.awaitWorker(
            e ->
                e.getWorkerId().equals("w-faulty")
                    && e.getFreeSlots() == 1
                    && e.getAt().isAfter(reloading.getAt()),
            WAIT);
    assertThat(lines(faultyLoads())).isEqualTo(loadsBefore + 1);
    RenderTask next = task("r-after-hang", "after the hang", 2, true);
    orch.dispatch(next, back.getOwnedPartitions().get(0));
    orch.await(next.getTaskId(), StageEventType.COMPLETED, WAIT);
  }

  @Test
  @Order(3)
  void aCrashMidTaskFailsItAsRetryableAndTheProgramIsRestarted() throws Exception {
    int partition = faultyPartition();
    int loadsBefore = lines(faultyLoads());
    RenderTask crash = task("r-crash", "boom [crash]", 6, true);
    orch.dispatch(crash, partition);
    StageEvent failed = orch.await(crash.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(failed.getError().getCode()).isEqualTo(ErrorCode.ENGINE_ERROR);
    assertThat(failed.getError().getRetryable()).isTrue();
    assertThat(failed.getError().getMessage())
        .contains("exited with code 7")
        .contains("simulated crash");
    Instant failedAt = failed.getAt();
    WorkerEvent back =
        orch.awaitWorker(
            e ->
                e.getWorkerId().equals("w-faulty")
                    && e.getFreeSlots() == 1
                    && e.getAt().isAfter(failedAt),
            WAIT);
    assertThat(
            eventsOf("w-faulty").stream()
                .filter(e -> !e.getAt().isBefore(failedAt) && e.getAt().isBefore(back.getAt())))
        .as("not free while it restarts")
        .anyMatch(e -> e.getFreeSlots() == 0 && "LOADING".equals(e.getEngineState()));
    assertThat(lines(faultyLoads())).isEqualTo(loadsBefore + 1);
    RenderTask retry = task("r-crash-retry", "boom again, but fine", 2, true);
    orch.dispatch(retry, back.getOwnedPartitions().get(0));
    orch.await(retry.getTaskId(), StageEventType.COMPLETED, WAIT);
  }

  @Test
  @Order(4)
  void aProgramThatCannotStartIsAnnouncedUnavailableWithTheReason() throws Exception {
    Path loads = dir.resolve("loads-broken.log");
    try (WorkerProcess w =
        startWorker(
            "w-broken",
            "--crash-at-start --load-seconds 0 --load-log " + loads,
            Map.of("engine.resident.max-start-failures", "2"))) {
      WorkerEvent unavailable =
          orch.awaitWorker(
              e ->
                  e.getWorkerId().equals("w-broken")
                      && e.getType() == WorkerEventType.READY
                      && "UNAVAILABLE".equals(e.getEngineState()),
              WAIT);
      assertThat(unavailable.getFreeSlots()).isZero();
      assertThat(unavailable.getEngineReason())
          .contains("failed to start 2 times in a row")
          .contains("simulated start crash");
      Thread.sleep(1_000);
      assertThat(lines(loads)).as("not started again").isEqualTo(2);
      assertThat(eventsOf("w-broken")).noneMatch(e -> e.getFreeSlots() > 0);
      assertThat(get(w.metricsPort(), "/healthz"))
          .contains("\"engine\":\"UNAVAILABLE\"")
          .contains("failed to start 2 times");
    }
  }
}
