package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A task whose heartbeats were silent for longer than its lease (its process was frozen, e.g.
 * SIGSTOP) fences itself: the next heartbeat is not sent and the next check stops the task with
 * LEASE_EXPIRED, before it can publish a result the orchestrator no longer accepts. Regular
 * heartbeats keep it alive however long the render runs.
 */
class TaskRunFencingTest {
  static final Duration HEARTBEAT = Duration.ofMillis(50);
  static final Duration LEASE = Duration.ofMillis(300);

  WorkerMetrics metrics;

  @BeforeEach
  void metrics() {
    try (GpuTelemetry gpus = GpuTelemetry.open()) {
      metrics = new WorkerMetrics("BASE", 1L << 30, gpus);
    }
  }

  TaskRun run() {
    RenderTask task =
        RenderTask.newBuilder()
            .setTaskId("r-1:BASE:1")
            .setRequestId("r-1")
            .setTenant("demo")
            .setStage(Stage.BASE)
            .setAttempt(1)
            .setParams(RenderParams.newBuilder().setPrompt("a fox").setSeed(7).build())
            .setOutputPrefix("demo/2026/12/06/r-1/base/attempt-1/")
            .setFinalPrefix("demo/2026/12/06/r-1/final/")
            .setPublishFinal(true)
            .setLeaseMillis(LEASE.toMillis())
            .setCreatedAt(Instant.now())
            .setDispatchedAt(Instant.now())
            .build();
    TaskRun r = new TaskRun(task, Path.of("unused"), 1L << 30, false, null, metrics, "BASE");
    r.fenceAfter(LEASE, HEARTBEAT);
    r.markStarted();
    return r;
  }

  @Test
  void regularHeartbeatsKeepALongTaskAlive() throws Exception {
    TaskRun r = run();
    long end = System.nanoTime() + LEASE.multipliedBy(3).toNanos();
    while (System.nanoTime() < end) {
      assertThat(r.beat()).isTrue();
      r.checkCancelled();
      Thread.sleep(HEARTBEAT.toMillis());
    }
    assertThat(r.cancelReason()).isNull();
  }

  @Test
  void aFrozenTaskStopsAtItsNextCheckWithLeaseExpired() throws Exception {
    TaskRun r = run();
    Thread.sleep(LEASE.toMillis() + 200); // frozen: no heartbeat for longer than the lease
    assertThatThrownBy(r::checkCancelled)
        .isInstanceOf(TaskCancelledException.class)
        .hasMessageContaining("longer than the lease")
        .satisfies(e -> assertThat(((TaskCancelledException) e).retryable()).isTrue());
    assertThat(r.cancelReason()).isEqualTo(ErrorCode.LEASE_EXPIRED);
    assertThat(r.beat()).as("no late heartbeat after the fence").isFalse();
  }

  @Test
  void theHeartbeatThreadWakingFirstFencesTooAndSendsNothing() throws Exception {
    TaskRun r = run();
    Thread.sleep(LEASE.toMillis() + 200);
    assertThat(r.beat()).isFalse();
    assertThat(r.cancelReason()).isEqualTo(ErrorCode.LEASE_EXPIRED);
    assertThatThrownBy(r::checkCancelled).isInstanceOf(TaskCancelledException.class);
  }

  @Test
  void aLeaseOfNoMoreThanTwoHeartbeatsNeverFences() throws Exception {
    TaskRun r = run();
    r.fenceAfter(HEARTBEAT.multipliedBy(2), HEARTBEAT);
    Thread.sleep(HEARTBEAT.multipliedBy(4).toMillis());
    assertThat(r.beat()).isTrue();
    r.checkCancelled();
  }

  @Test
  void aCancelBeforeTheFreezeKeepsItsReason() throws Exception {
    TaskRun r = run();
    r.cancel(ErrorCode.CANCELLED, "cancelled by a command");
    Thread.sleep(LEASE.toMillis() + 200);
    assertThatThrownBy(r::checkCancelled).hasMessage("cancelled by a command");
    assertThat(r.cancelReason()).isEqualTo(ErrorCode.CANCELLED);
  }
}
