package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.StoredObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGTERM to a base worker JVM in the middle of a render, with a drain grace shorter than the task:
 * the worker announces DRAINING, hands the task back (FAILED, retryable, DRAINED), says STOPPED and
 * exits; the orchestrator retries at once on the other worker JVM and the render succeeds exactly
 * once.
 */
@ExtendWith(SharedPipeline.class)
class DrainIT {
  private static final Logger LOG = LoggerFactory.getLogger(DrainIT.class);
  static final long STEP_MS = 1000;
  static final int STEPS = 10;
  static final long DRAIN_GRACE_MS = 1000;
  static final Duration WAIT = Duration.ofSeconds(90);

  static SharedPipeline p;
  static WorkerJvm a;
  static WorkerJvm b;

  /** The API's view of the drained render once SUCCEEDED (for the attempts counter check). */
  @BeforeAll
  static void startWorkers(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    a = p.startWorker("dr-a", SharedPipeline.workerSettings(STEP_MS, DRAIN_GRACE_MS));
    b = p.startWorker("dr-b", SharedPipeline.workerSettings(STEP_MS, DRAIN_GRACE_MS));
    p.awaitReady(WAIT, a, b);
  }

  @AfterAll
  static void stopWorkers() {
    for (WorkerJvm w : new WorkerJvm[] {a, b}) {
      if (w != null) {
        w.close();
      }
    }
  }

  @Test
  void sigtermHandsTheTaskBackAndTheOtherWorkerFinishesItExactlyOnce() throws Exception {
    EventLog log = p.events();
    String id = p.api().submitPreview("a harbour at dawn, drained", STEPS);
    StageEvent progress =
        log.awaitStage(
            WAIT,
            "PROGRESS of " + id,
            e ->
                e.getRequestId().equals(id)
                    && e.getType() == StageEventType.PROGRESS
                    && e.getStep() != null
                    && e.getStep() >= 1);
    String taskId = progress.getTaskId();
    WorkerJvm drained = a.owns(progress.getWorkerId()) ? a : b;
    WorkerJvm other = drained == a ? b : a;
    assertThat(drained.owns(progress.getWorkerId())).isTrue();

    java.time.Instant sigterm = java.time.Instant.now();
    drained.process.destroy(); // SIGTERM: drain
    StageEvent handBack =
        log.awaitStage(
            WAIT,
            "FAILED or COMPLETED of " + taskId,
            e ->
                e.getTaskId().equals(taskId)
                    && (e.getType() == StageEventType.FAILED
                        || e.getType() == StageEventType.COMPLETED));
    LOG.info(
        "drain: task handed back ({}) {} ms after SIGTERM (grace {} ms)",
        handBack.getType(),
        Duration.between(sigterm, handBack.getAt()).toMillis(),
        DRAIN_GRACE_MS);
    WorkerEvent draining =
        log.awaitWorker(
            WAIT,
            "DRAINING of " + drained.id,
            e -> drained.owns(e.getWorkerId()) && e.getType() == WorkerEventType.DRAINING);
    WorkerEvent stopped =
        log.awaitWorker(
            WAIT,
            "STOPPED of " + drained.id,
            e -> drained.owns(e.getWorkerId()) && e.getType() == WorkerEventType.STOPPED);
    assertThat(draining.getFreeSlots()).as("a draining worker takes no more work").isZero();
    assertThat(stopped.getAt()).isAfterOrEqualTo(handBack.getAt());
    assertThat(drained.process.waitFor(30, TimeUnit.SECONDS))
        .as("worker JVM exits after draining")
        .isTrue();
    // 10 steps of 1 s cannot finish within a 1 s grace: the task must be handed back.
    assertThat(handBack.getType()).as(p.describe(id)).isEqualTo(StageEventType.FAILED);
    assertThat(handBack.getError().getCode()).isEqualTo(ErrorCode.DRAINED);
    assertThat(handBack.getError().getRetryable()).isTrue();

    // A second attempt ran: the final status names attempt 2 or later.
    JsonNode done = p.awaitSucceededOnALaterAttempt(id, "other worker", other, WAIT);

    // The API counts the handed-back attempt: the render took two.
    assertThat(done.path("attempts").asInt()).as("%s", done).isEqualTo(2);

    List<StageEvent> completed =
        log.events(id).stream().filter(e -> e.getType() == StageEventType.COMPLETED).toList();
    assertThat(completed).as(p.describe(id)).hasSize(1);
    assertThat(other.owns(completed.get(0).getWorkerId())).isTrue();
    assertThat(completed.get(0).getAttempt()).isGreaterThan(progress.getAttempt());

    // Observation window for a duplicate final status (see WorkerFailoverIT).
    p.awaitCommitted();
    List<RenderStatus> statuses = log.statuses(id);
    assertThat(statuses.stream().filter(s -> s.getState() == RenderState.SUCCEEDED))
        .as(p.describe(id))
        .hasSize(1);
    assertThat(statuses.stream().filter(s -> WorkerFailoverIT.terminal(s.getState()))).hasSize(1);
    RenderStatus last = statuses.get(statuses.size() - 1);
    String finalPrefix = ArtifactKeys.finalPrefix(last.getTenant(), last.getCreatedAt(), id);
    assertThat(
            p.store().list(finalPrefix).stream()
                .map(StoredObject::key)
                .filter(k -> k.endsWith("/" + ArtifactKeys.VIDEO_FILE)))
        .hasSize(1);
  }
}
