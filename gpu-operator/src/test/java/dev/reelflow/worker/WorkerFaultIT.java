package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.Manifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers as separate JVMs ({@link WorkerMain}) on the embedded stack, the test playing the
 * orchestrator, on the emulated engine: SIGTERM drains and hands back the running task, a forcibly
 * destroyed worker's task is re-dispatched as attempt 2 to another worker after its lease and
 * completes exactly once.
 */
class WorkerFaultIT {

  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  @TempDir static Path dir;
  static OrchestratorDouble orch;
  static final Duration WAIT = Duration.ofSeconds(60);
  final List<Process> started = new ArrayList<>();

  @BeforeAll
  static void start() {
    orch = new OrchestratorDouble(STACK.stack());
  }

  @AfterAll
  static void stop() {
    if (orch != null) {
      orch.close();
    }
  }

  @AfterEach
  void killLeftovers() throws Exception {
    if (Boolean.getBoolean("reelflow.worker.printLogs")) {
      try (var files = Files.list(dir)) {
        for (Path f : files.filter(x -> x.toString().endsWith(".log")).toList()) {
          System.out.println("==== " + f.getFileName() + "\n" + Files.readString(f));
        }
      }
    }
    for (Process p : started) {
      if (p.isAlive()) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  Map<String, String> config(String workerId, double stepSeconds) {
    // The emulated engine (a fixed time per step, labelled "emulated"): these are runtime faults,
    // independent of any engine or of the ffmpeg tools.
    Map<String, String> cfg = orch.workerConfig(workerId, "emulated");
    cfg.put("engine.emulated.step", Math.round(stepSeconds * 1000) + "ms");
    cfg.put(WorkerConfig.WORK_DIR.name(), dir.resolve(workerId).toString());
    cfg.put(WorkerConfig.METRICS_PORT.name(), "-1");
    return cfg;
  }

  /** Starts {@link WorkerMain} in its own JVM with the test's class path. */
  Process startJvm(String workerId, Map<String, String> cfg) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(WorkerMain.class.getName());
    cfg.forEach(
        (k, v) -> {
          cmd.add("--set");
          cmd.add(k + "=" + v);
        });
    Path log = dir.resolve(workerId + ".log");
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    started.add(p);
    return p;
  }

  String log(String workerId) throws Exception {
    return Files.readString(dir.resolve(workerId + ".log"));
  }

  @Test
  void sigtermDrainHandsBackTheRunningTaskAsRetryableDrained() throws Exception {
    Map<String, String> cfg = config("w-drain", 0.25);
    cfg.put(WorkerConfig.DRAIN_GRACE.name(), "800ms");
    Process p = startJvm("w-drain", cfg);
    WorkerEvent ready = orch.awaitReady("w-drain", WAIT);
    RenderTask task = OrchestratorDouble.task("r-drain", 1, 17, 40, false, 30_000);
    orch.dispatch(task, ready.getOwnedPartitions().get(0));
    orch.await(
        e -> e.getTaskId().equals(task.getTaskId()) && e.getType() == StageEventType.PROGRESS,
        WAIT);

    p.destroy(); // SIGTERM
    StageEvent failed = orch.await(task.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(failed.getError().getCode()).isEqualTo(ErrorCode.DRAINED);
    assertThat(failed.getError().getRetryable()).isTrue();
    WorkerEvent draining =
        orch.awaitWorker(
            e -> e.getWorkerId().equals("w-drain") && e.getType() == WorkerEventType.DRAINING,
            WAIT);
    WorkerEvent stopped =
        orch.awaitWorker(
            e -> e.getWorkerId().equals("w-drain") && e.getType() == WorkerEventType.STOPPED, WAIT);
    assertThat(draining.getFreeSlots()).isZero();
    assertThat(stopped.getAt()).isAfterOrEqualTo(failed.getAt());
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("worker JVM exits after draining").isTrue();
    assertThat(orch.events(task.getTaskId()))
        .noneMatch(e -> e.getType() == StageEventType.COMPLETED);
    assertThat(log("w-drain")).contains("worker config").contains("s3.secret-key = ********");
  }

  /**
   * A worker started while the schema registry is down (its client has no cached schema) cannot
   * send its READY; it must say it again once the registry is back, or the scheduler never learns
   * of the slot (BrokerFaultIT's scenario 7 at full size hung on this).
   */
  @Test
  void aReadyTheRegistryRefusedIsSentAgainOnceTheRegistryIsBack() throws Exception {
    STACK.stack().registry().stop();
    try {
      startJvm("w-registry", config("w-registry", 0.1));
      long end = System.nanoTime() + WAIT.toNanos();
      while (!Files.exists(dir.resolve("w-registry.log"))
          || !log("w-registry").contains("worker event READY not sent")) {
        assertThat(System.nanoTime()).as("the worker tried to announce").isLessThan(end);
        Thread.sleep(100);
      }
      Thread.sleep(1_500); // it keeps failing meanwhile: nothing announced, nothing lost
    } finally {
      STACK.stack().registry().start();
    }
    WorkerEvent ready = orch.awaitReady("w-registry", WAIT);
    assertThat(ready).as("READY from w-registry after the registry came back").isNotNull();
    assertThat(log("w-registry")).contains("announcing the idle slot again");
  }

  @Test
  void destroyedWorkersTaskIsRedispatchedAsAttempt2AndCompletesExactlyOnce() throws Exception {
    Map<String, String> cfgB = config("w-b", 0.1);
    try (WorkerProcess b = WorkerProcess.start(WorkerConfig.of(cfgB))) {
      assertThat(b.awaitReady(WAIT)).isTrue();
      Process a = startJvm("w-a", config("w-a", 0.25));
      WorkerEvent readyA = orch.awaitReady("w-a", WAIT);
      long lease = 2_000;
      RenderTask attempt1 = OrchestratorDouble.task("r-kill", 1, 17, 40, true, lease);
      orch.dispatch(attempt1, readyA.getOwnedPartitions().get(0));
      orch.await(
          e -> e.getTaskId().equals(attempt1.getTaskId()) && e.getType() == StageEventType.PROGRESS,
          WAIT);

      a.destroyForcibly(); // SIGKILL: no drain, no FAILED
      assertThat(a.waitFor(10, TimeUnit.SECONDS)).isTrue();

      // Orchestrator's lease: re-queue once no heartbeat or progress came within leaseMillis.
      while (true) {
        Instant last =
            orch.events(attempt1.getTaskId()).stream()
                .map(StageEvent::getAt)
                .max(Instant::compareTo)
                .orElseThrow();
        if (last.plusMillis(lease).isBefore(Instant.now())) {
          break;
        }
        Thread.sleep(100);
      }
      WorkerEvent readyB = orch.awaitReady("w-b", WAIT);
      RenderTask attempt2 = OrchestratorDouble.task("r-kill", 2, 17, 5, true, 30_000);
      orch.dispatch(attempt2, readyB.getOwnedPartitions().get(0));
      StageEvent done = orch.await(attempt2.getTaskId(), StageEventType.COMPLETED, WAIT);
      assertThat(done.getWorkerId()).isEqualTo("w-b");

      // After A's session times out, B inherits A's partitions and with them attempt 1's
      // uncommitted record: it must be fenced (lease expired), not rendered a second time.
      orch.awaitWorker(
          e ->
              e.getWorkerId().equals("w-b")
                  && e.getType() == WorkerEventType.READY
                  && e.getOwnedPartitions().size() == OrchestratorDouble.TASK_PARTITIONS,
          WAIT);
      // B announces a skipped (fenced or duplicate) record as taken on its next READY: once it
      // lists attempt 1, B has handled that record, so a second render would have shown by now.
      orch.awaitWorker(
          e ->
              e.getWorkerId().equals("w-b")
                  && e.getType() == WorkerEventType.READY
                  && e.getRunningTaskIds().contains(attempt1.getTaskId()),
          WAIT);
      List<StageEvent> all = orch.eventsOfRender("r-kill");
      assertThat(all.stream().filter(e -> e.getType() == StageEventType.COMPLETED)).hasSize(1);
      assertThat(
              all.stream()
                  .filter(
                      e -> e.getType() == StageEventType.STARTED && e.getWorkerId().equals("w-b")))
          .singleElement()
          .satisfies(e -> assertThat(e.getAttempt()).isEqualTo(2));
      Manifest m =
          Manifest.fromJson(orch.store.getBytes(attempt2.getFinalPrefix() + "manifest.json", true));
      assertThat(m.stages())
          .singleElement()
          .satisfies(
              s -> {
                assertThat(s.attempt()).isEqualTo(2);
                assertThat(s.workerId()).isEqualTo("w-b");
              });
      assertThat(orch.store.list(attempt1.getOutputPrefix())).isEmpty();
    }
  }
}
