package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEventType;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A render whose deadline passes while it runs: the orchestrator ends it EXPIRED and sends a CANCEL
 * on render.commands, so the worker JVM stops the task within a step instead of rendering on for
 * nothing, and its slot is free again.
 */
@ExtendWith(SharedPipeline.class)
class DeadlineIT {
  private static final Logger LOG = LoggerFactory.getLogger(DeadlineIT.class);
  static final long STEP_MS = 1500;
  static final int STEPS = 40;

  /** The command goes through Kafka (at-least-once, no transaction) then one step boundary. */
  static final long SLACK_MS = 4000;

  static final Duration WAIT = Duration.ofSeconds(90);

  static SharedPipeline p;
  static WorkerJvm worker;

  @BeforeAll
  static void startWorker(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    worker = p.startWorker("dl-a", SharedPipeline.workerSettings(STEP_MS, 30_000));
    p.awaitReady(WAIT, worker);
  }

  @AfterAll
  static void stopWorker() {
    if (worker != null) {
      worker.close();
    }
  }

  @Test
  void runningRenderPastItsDeadlineEndsExpiredAndItsWorkerStops() {
    EventLog log = p.events();
    // 40 steps of 1.5 s cannot finish in 10 s.
    Instant deadline = Instant.now().plusSeconds(10);
    String id = p.api().submitPreview("a lighthouse in a storm, too late", STEPS, deadline);
    StageEvent started =
        log.awaitStage(
            WAIT,
            "PROGRESS of " + id,
            e -> e.getRequestId().equals(id) && e.getType() == StageEventType.PROGRESS);
    assertThat(worker.owns(started.getWorkerId())).isTrue();

    RenderStatus expired =
        log.awaitStatus(
            WAIT,
            "EXPIRED status of " + id,
            s -> s.getRequestId().equals(id) && s.getState() == RenderState.EXPIRED);
    assertThat(expired.getError().getCode()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
    assertThat(expired.getUpdatedAt()).isAfterOrEqualTo(deadline);

    StageEvent failed =
        log.awaitStage(
            Duration.ofSeconds(30),
            "FAILED of " + started.getTaskId(),
            e -> e.getTaskId().equals(started.getTaskId()) && e.getType() == StageEventType.FAILED);
    assertThat(failed.getError().getCode()).isEqualTo(ErrorCode.CANCELLED);
    assertThat(failed.getError().getMessage()).startsWith("expired: ");
    long stopMillis = Duration.between(deadline, failed.getAt()).toMillis();
    LOG.info("deadline: worker stopped the task {} ms after the deadline", stopMillis);
    assertThat(stopMillis)
        .as("worker stopped %d ms after the deadline (one step is %d ms)", stopMillis, STEP_MS)
        .isLessThan(STEP_MS + SLACK_MS);

    log.awaitWorker(
        WAIT,
        "worker READY again",
        e ->
            worker.owns(e.getWorkerId())
                && e.getType() == WorkerEventType.READY
                && e.getFreeSlots() > 0
                && !e.getAt().isBefore(failed.getAt()));
    assertThat(log.events(id)).noneMatch(e -> e.getType() == StageEventType.COMPLETED);
    Await.until(WAIT, "API shows EXPIRED for " + id, () -> p.api().inState(id, "EXPIRED"));
  }
}
