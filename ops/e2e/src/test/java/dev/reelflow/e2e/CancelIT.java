package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.storage.ArtifactKeys;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DELETE /v1/renders/{id} in the middle of a render: the cancel command reaches the running worker
 * JVM through render.commands, which stops within one denoising step (FAILED with code CANCELLED),
 * publishes nothing, frees its slot, and the render ends CANCELLED.
 */
@ExtendWith(SharedPipeline.class)
class CancelIT {
  private static final Logger LOG = LoggerFactory.getLogger(CancelIT.class);
  static final long STEP_MS = 1500;
  static final int STEPS = 40;

  /** Scheduling slack on a loaded 2-core machine on top of one step. */
  static final long SLACK_MS = 3000;

  static final Duration WAIT = Duration.ofSeconds(90);

  static SharedPipeline p;
  static WorkerJvm worker;

  @BeforeAll
  static void startWorker(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    worker = p.startWorker("cx-a", SharedPipeline.workerSettings(STEP_MS, 30_000));
    p.awaitReady(WAIT, worker);
  }

  @AfterAll
  static void stopWorker() {
    if (worker != null) {
      worker.close();
    }
  }

  @Test
  void cancelMidRenderStopsTheWorkerWithinOneStepAndEndsCancelled() {
    EventLog log = p.events();
    RenderHistory history = new RenderHistory("cancel-mid-render");
    history.submitted();
    String id = p.api().submitPreview("a clock tower at dusk, cancelled", STEPS);
    history.acknowledged(id);
    history.expect(id, RenderState.CANCELLED);
    StageEvent progress =
        log.awaitStage(
            WAIT,
            "PROGRESS step 2 of " + id,
            e ->
                e.getRequestId().equals(id)
                    && e.getType() == StageEventType.PROGRESS
                    && e.getStep() != null
                    && e.getStep() >= 2);
    String taskId = progress.getTaskId();
    assertThat(worker.owns(progress.getWorkerId())).isTrue();

    Instant cancelSent = Instant.now();
    RenderApi.Answer answer = p.api().cancel(id);
    Instant cancelAccepted = Instant.now();
    assertThat(answer.status()).as(answer.body()).isEqualTo(202);

    StageEvent failed =
        log.awaitStage(
            Duration.ofSeconds(30),
            "FAILED of " + taskId,
            e -> e.getTaskId().equals(taskId) && e.getType() == StageEventType.FAILED);
    assertThat(failed.getError()).isNotNull();
    assertThat(failed.getError().getCode()).isEqualTo(ErrorCode.CANCELLED);
    long stopMillis = Duration.between(cancelSent, failed.getAt()).toMillis();
    LOG.info(
        "cancel: worker reported CANCELLED {} ms after the DELETE (step {} ms)",
        stopMillis,
        STEP_MS);
    assertThat(stopMillis)
        .as("worker stopped %d ms after the DELETE (one step is %d ms)", stopMillis, STEP_MS)
        .isLessThan(STEP_MS + SLACK_MS);
    // Within one step: at most one step boundary can fall between the accepted DELETE and the
    // worker seeing the command.
    List<StageEvent> stepsAfter =
        log.events(id).stream()
            .filter(e -> e.getType() == StageEventType.PROGRESS)
            .filter(e -> e.getAt().isAfter(cancelAccepted))
            .toList();
    assertThat(stepsAfter).as(p.describe(id)).hasSizeLessThanOrEqualTo(1);

    RenderStatus cancelled =
        log.awaitStatus(
            WAIT,
            "CANCELLED status of " + id,
            s -> s.getRequestId().equals(id) && s.getState() == RenderState.CANCELLED);
    Await.until(WAIT, "API shows CANCELLED for " + id, () -> p.api().inState(id, "CANCELLED"));

    // The slot is free again (READY after the failure) and nothing was published.
    log.awaitWorker(
        WAIT,
        "worker READY again",
        e ->
            worker.owns(e.getWorkerId())
                && e.getType() == WorkerEventType.READY
                && e.getFreeSlots() > 0
                && !e.getAt().isBefore(failed.getAt()));
    assertThat(log.events(id)).noneMatch(e -> e.getType() == StageEventType.COMPLETED);
    assertThat(log.statuses(id)).noneMatch(s -> s.getState() == RenderState.SUCCEEDED);
    String finalPrefix =
        ArtifactKeys.finalPrefix(cancelled.getTenant(), cancelled.getCreatedAt(), id);
    assertThat(p.store().list(finalPrefix)).as("objects under %s", finalPrefix).isEmpty();
    assertThat(worker.process.isAlive()).as("a cancel stops the task, not the worker").isTrue();
    RenderHistoryChecker.Result checked = p.check(history);
    assertThat(checked.violations()).isEmpty();
    assertThat(checked.cancelled()).isEqualTo(1);
  }
}
