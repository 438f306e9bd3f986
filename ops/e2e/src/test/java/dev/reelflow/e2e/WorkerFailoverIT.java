package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.StoredObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A base worker JVM killed with SIGKILL in the middle of a render (no drain, no FAILED event): the
 * orchestrator's lease expires, the render is re-queued as attempt 2 and finished by the other
 * worker JVM, exactly once: one SUCCEEDED status, one final video, one COMPLETED event.
 */
@ExtendWith(SharedPipeline.class)
class WorkerFailoverIT {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerFailoverIT.class);
  static final long STEP_MS = 1000;
  static final int STEPS = 10;
  static final Duration WAIT = Duration.ofSeconds(90);

  static SharedPipeline p;
  static WorkerJvm a;
  static WorkerJvm b;

  @BeforeAll
  static void startWorkers(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    a = p.startWorker("fo-a", SharedPipeline.workerSettings(STEP_MS, 30_000));
    b = p.startWorker("fo-b", SharedPipeline.workerSettings(STEP_MS, 30_000));
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
  void aKilledWorkersRenderIsRetakenAfterTheLeaseAndSucceedsExactlyOnce() throws Exception {
    EventLog log = p.events();
    RenderHistory history = new RenderHistory("worker-failover");
    history.submitted();
    String id = p.api().submitPreview("a lighthouse in a storm, failover", STEPS);
    history.acknowledged(id);
    StageEvent started =
        log.awaitStage(
            WAIT,
            "STARTED of " + id,
            e -> e.getRequestId().equals(id) && e.getType() == StageEventType.STARTED);
    assertThat(started.getAttempt()).isEqualTo(1);
    WorkerJvm victim = a.owns(started.getWorkerId()) ? a : b;
    WorkerJvm survivor = victim == a ? b : a;
    assertThat(victim.owns(started.getWorkerId()))
        .as("STARTED by one of this test's workers: %s", started.getWorkerId())
        .isTrue();
    log.awaitStage(
        WAIT,
        "a PROGRESS of " + started.getTaskId(),
        e ->
            e.getTaskId().equals(started.getTaskId())
                && e.getType() == StageEventType.PROGRESS
                && e.getStep() != null
                && e.getStep() >= 2);

    victim.process.destroyForcibly(); // SIGKILL mid-task: no drain, no FAILED event
    assertThat(victim.process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    Instant killedAt = Instant.now();
    history.healed(killedAt);

    // A second attempt ran: the final status names attempt 2 or later.
    JsonNode done = p.awaitSucceededOnALaterAttempt(id, "survivor", survivor, WAIT);

    LOG.info(
        "failover: SUCCEEDED {} ms after the kill (lease {}, {} steps of {} ms)",
        Duration.between(killedAt, Instant.now()).toMillis(),
        SharedPipeline.LEASE,
        STEPS,
        STEP_MS);
    List<StageEvent> completed =
        log.events(id).stream().filter(e -> e.getType() == StageEventType.COMPLETED).toList();
    assertThat(completed).as(p.describe(id)).hasSize(1);
    StageEvent win = completed.get(0);
    assertThat(win.getAttempt()).isGreaterThanOrEqualTo(2);
    assertThat(survivor.owns(win.getWorkerId())).as("completed by %s", win.getWorkerId()).isTrue();
    assertThat(win.getAt()).isAfter(killedAt);

    // Attempt 1's task record stays uncommitted on a partition the dead worker owned; once the
    // survivor inherits that partition it must fence the record (lease expired), not render it.
    log.awaitWorker(
        WAIT,
        "survivor idle again after the render",
        e ->
            survivor.owns(e.getWorkerId())
                && e.getType() == WorkerEventType.READY
                && e.getFreeSlots() > 0
                && !e.getAt().isBefore(win.getAt()));
    // Negative assertions need an observation window: until the checkpoints begun after now have
    // completed, so a duplicate final status (committed at a checkpoint) would be visible to the
    // read_committed reader.
    p.awaitCommitted();

    List<RenderStatus> statuses = log.statuses(id);
    assertThat(statuses.stream().filter(s -> s.getState() == RenderState.SUCCEEDED))
        .as("SUCCEEDED statuses on render.status\n%s", p.describe(id))
        .hasSize(1);
    assertThat(statuses.stream().filter(s -> terminal(s.getState())))
        .as("final statuses on render.status")
        .hasSize(1);
    assertThat(log.events(id).stream().filter(e -> e.getType() == StageEventType.COMPLETED))
        .as("COMPLETED events after the observation window\n%s", p.describe(id))
        .hasSize(1);
    assertThat(
            log.events(id).stream()
                .filter(e -> e.getAttempt() == 1 && e.getAt().isAfter(killedAt))
                .filter(e -> e.getType() != StageEventType.FAILED))
        .as("attempt 1 must not run again after the kill\n%s", p.describe(id))
        .isEmpty();

    RenderStatus last = statuses.get(statuses.size() - 1);
    String finalPrefix = ArtifactKeys.finalPrefix(last.getTenant(), last.getCreatedAt(), id);
    List<String> finals = p.store().list(finalPrefix).stream().map(StoredObject::key).toList();
    assertThat(finals.stream().filter(k -> k.endsWith("/" + ArtifactKeys.VIDEO_FILE)))
        .as("final videos under %s: %s", finalPrefix, finals)
        .hasSize(1);
    // The killed attempt never completed: no stage manifest under its attempt prefix.
    String attempt1 =
        ArtifactKeys.stagePrefix(last.getTenant(), last.getCreatedAt(), id, Stage.BASE, 1);
    assertThat(p.store().find(attempt1 + ArtifactKeys.MANIFEST_FILE))
        .as("stage manifest of the killed attempt")
        .isEmpty();
    String manifest =
        new String(
            p.store().getBytes(finalPrefix + ArtifactKeys.MANIFEST_FILE, true),
            java.nio.charset.StandardCharsets.UTF_8);
    assertThat(manifest).contains(win.getWorkerId()).contains("emulated");
    // And the fault suite's checker over the whole history agrees.
    RenderHistoryChecker.Result checked = p.check(history);
    assertThat(checked.violations()).isEmpty();
    assertThat(checked.succeeded()).isEqualTo(1);
  }

  static boolean terminal(RenderState s) {
    return s == RenderState.SUCCEEDED
        || s == RenderState.FAILED
        || s == RenderState.CANCELLED
        || s == RenderState.EXPIRED;
  }
}
