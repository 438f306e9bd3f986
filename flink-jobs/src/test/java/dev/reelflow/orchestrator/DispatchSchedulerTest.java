package dev.reelflow.orchestrator;

import static dev.reelflow.orchestrator.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DispatchSchedulerTest {
  static final long LEASE = 30_000;
  static final long START = T0.toEpochMilli();

  private KeyedOneInputStreamOperatorTestHarness<String, PoolInput, TaskDispatch> h;
  private int exact = 1000;

  @BeforeEach
  void open() throws Exception {
    h = harness(exact);
    h.open();
  }

  @AfterEach
  void close() throws Exception {
    h.close();
  }

  static KeyedOneInputStreamOperatorTestHarness<String, PoolInput, TaskDispatch> harness(int exact)
      throws Exception {
    KeyedOneInputStreamOperatorTestHarness<String, PoolInput, TaskDispatch> h =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(new DispatchScheduler(LEASE, 5_000, exact, 1, 60_000)),
            PoolInput::pool,
            Types.STRING);
    h.setProcessingTime(START);
    return h;
  }

  /** A QUEUED status and BASE task as the lifecycle would send them. */
  static PoolCommand enqueue(String id, String tenant, int priority, Long deadline) {
    RenderRequest r = Fixtures.request(id, tenant, priority, UpscaleTarget.P1080);
    RenderRecord rec = new RenderRecord();
    rec.request = r;
    rec.state = RenderState.QUEUED;
    rec.stage = Stage.BASE;
    rec.attempt = 1;
    rec.attempts = 1;
    rec.seq = 2;
    rec.priority = priority;
    rec.deadline = deadline;
    rec.createdAt = START;
    RenderStatus status = RenderLifecycle.status(rec, START, null, null);
    RenderTask task =
        RenderTask.newBuilder()
            .setTaskId(RenderLifecycle.taskId(id, Stage.BASE, 1))
            .setRequestId(id)
            .setTenant(tenant)
            .setStage(Stage.BASE)
            .setAttempt(1)
            .setParams(r.getParams())
            .setPriority(priority)
            .setDeadline(deadline == null ? null : Instant.ofEpochMilli(deadline))
            .setInputs(new HashMap<>())
            .setOutputPrefix("p/")
            .setFinalPrefix("f/")
            .setCreatedAt(T0)
            .setDispatchedAt(T0)
            .build();
    return PoolCommand.enqueue(task, status);
  }

  private void in(PoolCommand c) throws Exception {
    h.processElement(new StreamRecord<>(PoolInput.of(c)));
  }

  private void ready(String worker, int free, List<Integer> partitions, List<String> running)
      throws Exception {
    h.processElement(
        new StreamRecord<>(
            PoolInput.of(Fixtures.ready(worker, Stage.BASE, free, partitions, running))));
  }

  private void started(String requestId, String worker) throws Exception {
    h.processElement(
        new StreamRecord<>(
            PoolInput.of(
                Fixtures.event(requestId, Stage.BASE, 1, StageEventType.STARTED, worker))));
  }

  private List<String> released() {
    return h.extractOutputValues().stream()
        .map(d -> d.task.getRequestId())
        .collect(Collectors.toList());
  }

  private List<RenderStatus> positions() {
    var q = h.getSideOutput(DispatchScheduler.POSITIONS);
    return q == null ? List.of() : q.stream().map(StreamRecord::getValue).toList();
  }

  @Test
  void releasesOnlyAgainstAnnouncedSlotsToTheWorkersPartition() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    assertThat(released()).isEmpty();
    ready("w1", 1, List.of(3, 4), List.of());
    assertThat(released()).containsExactly("a");
    TaskDispatch d = h.extractOutputValues().get(0);
    assertThat(d.topic).isEqualTo("render.tasks.base");
    assertThat(d.partition).isIn(3, 4);
    assertThat(d.workerId).isEqualTo("w1");
    // A READY sent before the worker saw its task does not release a second one.
    ready("w1", 1, List.of(3, 4), List.of());
    assertThat(released()).containsExactly("a");
    started("a", "w1");
    ready("w1", 1, List.of(3, 4), List.of("a:BASE:1"));
    assertThat(released()).containsExactly("a", "b");
  }

  @Test
  void workerWithoutPartitionsGetsNothing() throws Exception {
    in(enqueue("a", "t1", 5, null));
    ready("w1", 2, List.of(), List.of());
    assertThat(released()).isEmpty();
  }

  @Test
  void ordersByPriorityThenDeadlineThenArrival() throws Exception {
    in(enqueue("low", "t1", 3, null));
    in(enqueue("mid-late", "t1", 5, null));
    in(enqueue("mid-deadline", "t1", 5, START + 3_600_000));
    in(enqueue("high", "t1", 9, null));
    ready("w1", 4, List.of(0), List.of());
    assertThat(released()).containsExactly("high", "mid-deadline", "mid-late", "low");
  }

  @Test
  void aBigBatchDoesNotStarveAnotherTenant() throws Exception {
    for (int i = 0; i < 500; i++) {
      in(enqueue("batch-" + i, "bulk", 5, null));
    }
    in(enqueue("single", "other", 5, null));
    ready("w1", 2, List.of(0), List.of());
    assertThat(released()).contains("single").hasSize(2);
  }

  @Test
  void reprioritizeAndRemoveChangeTheBacklog() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    in(enqueue("c", "t1", 5, null));
    in(PoolCommand.reprioritize("BASE", "c", 8, null));
    in(PoolCommand.remove("BASE", "a"));
    ready("w1", 5, List.of(0), List.of());
    assertThat(released()).containsExactly("c", "b");
    assertThat(h.extractOutputValues().get(0).task.getPriority()).isEqualTo(8);
  }

  @Test
  void expiredDeadlinesAreNeverReleased() throws Exception {
    in(enqueue("soon", "t1", 5, START + 1_000));
    in(enqueue("later", "t1", 5, null));
    h.setProcessingTime(START + 2_000);
    ready("w1", 2, List.of(0), List.of());
    assertThat(released()).containsExactly("later");
  }

  @Test
  void unconfirmedReleaseGoesBackAfterTheLease() throws Exception {
    in(enqueue("a", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    assertThat(released()).containsExactly("a");
    h.setProcessingTime(START + LEASE);
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).containsExactly("a", "a");
    assertThat(h.extractOutputValues().get(1).workerId).isEqualTo("w2");
    assertThat(h.extractOutputValues().get(1).task.getTaskId()).isEqualTo("a:BASE:1");
  }

  /**
   * The dispatch stall (BurstIT under load): a release unconfirmed past the lease goes back to the
   * backlog, then its first worker's late STARTED arrives. Releasing it again would run attempt 1
   * twice and, once the second worker skips the duplicate, count that worker's slot busy.
   */
  @Test
  void aRequeuedReleaseThatStartedLateIsNotReleasedAgain() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    h.setProcessingTime(START + LEASE); // w1 silent past the lease: a goes back
    started("a", "w1"); // ... but w1 had started it
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).containsExactly("a", "b");
    assertThat(h.extractOutputValues().get(1).workerId).isEqualTo("w2");
  }

  @Test
  void aReadyListingARequeuedTaskTakesItOutOfTheBacklog() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    h.setProcessingTime(START + LEASE);
    ready("w1", 0, List.of(0), List.of("a:BASE:1"));
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).containsExactly("a", "b");
  }

  /**
   * A release removed on its way to the worker (a cancel right after dispatch, or a task whose
   * runner the lifecycle already knew after a restore): the worker's slot stays counted busy until
   * the worker confirms the task, not until the lease runs out; and the removed task is never
   * released again.
   */
  @Test
  void aRemovedReleaseHoldsItsSlotOnlyUntilItsWorkerSpeaksAndIsNeverReleasedAgain()
      throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    in(PoolCommand.remove("BASE", "a"));
    assertThat(released()).containsExactly("a");
    h.setProcessingTime(START + 1_000);
    started("a", "w1"); // the worker got it (and ran or skipped it)
    h.setProcessingTime(START + 2_000);
    ready("w1", 1, List.of(0), List.of());
    assertThat(released()).containsExactly("a", "b");
    started("b", "w1");

    in(enqueue("c", "t1", 5, null));
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).containsExactly("a", "b", "c");
    in(PoolCommand.remove("BASE", "c"));
    h.setProcessingTime(START + 2 * LEASE);
    ready("w2", 1, List.of(1), List.of());
    ready("w3", 1, List.of(2), List.of());
    assertThat(released()).containsExactly("a", "b", "c");
  }

  /**
   * A worker that skipped its release (a duplicate, or a stage already rendered) and announced its
   * slot free again must get work after the lease, not be counted busy until a READY that an idle
   * worker never sends again.
   */
  @Test
  void aSlotWhoseWorkerSkippedItsReleaseIsNotBusyForever() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    h.setProcessingTime(START + 1_000);
    ready("w1", 1, List.of(0), List.of()); // skipped a, idle again
    assertThat(released()).containsExactly("a");
    h.setProcessingTime(START + LEASE);
    // a was neither started nor reported anywhere: it goes back, and the free slot takes it
    assertThat(released()).containsExactly("a", "a");
    h.setProcessingTime(START + LEASE + 1_000);
    started("a", "w1");
    h.setProcessingTime(START + LEASE + 2_000);
    ready("w1", 1, List.of(0), List.of());
    assertThat(released()).containsExactly("a", "a", "b");
    assertThat(h.extractOutputValues()).extracting(d -> d.workerId).containsOnly("w1");
  }

  /**
   * Stage and worker events come on different topics: a READY can overtake the STARTED before it.
   */
  @Test
  void aStartedOvertakenByTheWorkersLaterReadyDoesNotTakeItsSlot() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    in(enqueue("c", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    h.setProcessingTime(START + 2_000);
    // w1 started a at T0+1 s and finished it; its READY of T0+2 s arrives first
    h.processElement(
        new StreamRecord<>(
            PoolInput.of(
                dev.reelflow.schemas.avro.WorkerEvent.newBuilder(
                        Fixtures.ready("w1", Stage.BASE, 1, List.of(0), List.of()))
                    .setAt(T0.plusSeconds(2))
                    .build())));
    assertThat(released()).containsExactly("a");
    h.processElement(
        new StreamRecord<>(
            PoolInput.of(
                dev.reelflow.schemas.avro.StageEvent.newBuilder(
                        Fixtures.event("a", Stage.BASE, 1, StageEventType.STARTED, "w1"))
                    .setAt(T0.plusSeconds(1))
                    .build())));
    assertThat(released()).containsExactly("a", "b");
    // a STARTED of b after that READY does take the slot
    h.processElement(
        new StreamRecord<>(
            PoolInput.of(
                dev.reelflow.schemas.avro.StageEvent.newBuilder(
                        Fixtures.event("b", Stage.BASE, 1, StageEventType.STARTED, "w1"))
                    .setAt(T0.plusSeconds(3))
                    .build())));
    assertThat(released()).containsExactly("a", "b");
  }

  /** A worker silent since its release gets no credit at the lease's end until it speaks again. */
  @Test
  void aWorkerSilentPastTheLeaseGetsNoCreditUntilItsNextReady() throws Exception {
    in(enqueue("a", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    h.setProcessingTime(START + LEASE);
    assertThat(released()).containsExactly("a");
    h.setProcessingTime(START + LEASE + 1_000);
    ready("w1", 1, List.of(0), List.of());
    assertThat(released()).containsExactly("a", "a");
  }

  @Test
  void stoppedWorkersUnconfirmedTasksGoBack() throws Exception {
    in(enqueue("a", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    h.processElement(new StreamRecord<>(PoolInput.of(Fixtures.stopped("w1", Stage.BASE))));
    ready("w2", 1, List.of(1), List.of());
    assertThat(h.extractOutputValues()).extracting(d -> d.workerId).containsExactly("w1", "w2");
  }

  @Test
  void publishesPositionsWhenTheyChangeAtMostEveryInterval() throws Exception {
    for (String id : List.of("a", "b", "c")) {
      in(enqueue(id, "t1", 5, null));
    }
    assertThat(positions()).isEmpty();
    h.setProcessingTime(START + 5_000);
    assertThat(positions())
        .extracting(s -> s.getRequestId() + "@" + s.getQueuePosition())
        .containsExactlyInAnyOrder("a@0", "b@1", "c@2");
    RenderStatus a =
        positions().stream().filter(s -> s.getRequestId().equals("a")).findFirst().get();
    assertThat(a.getVersion()).isEqualTo((2L << RenderLifecycle.VERSION_SHIFT) + 1);
    assertThat(a.getState()).isEqualTo(RenderState.QUEUED);
    ready("w1", 1, List.of(0), List.of());
    h.setProcessingTime(START + 7_000);
    assertThat(positions()).hasSize(3); // not before the interval is over
    h.setProcessingTime(START + 10_000);
    assertThat(positions()).hasSize(5);
    assertThat(positions().subList(3, 5))
        .extracting(s -> s.getRequestId() + "@" + s.getQueuePosition())
        .containsExactlyInAnyOrder("b@0", "c@1");
    h.setProcessingTime(START + 15_000);
    assertThat(positions()).hasSize(5); // unchanged positions are not repeated
  }

  @Test
  void positionsBeyondTheExactPrefixAreMarkedEstimated() throws Exception {
    h.close();
    h = harness(3);
    h.open();
    for (int i = 0; i < 8; i++) {
      in(enqueue("r" + i, i % 2 == 0 ? "t1" : "t2", 5, null));
    }
    h.setProcessingTime(START + 5_000);
    // the 3 exact ones and at most 3 estimates per interval; the other 2 in the next one
    assertThat(positions()).hasSize(6);
    h.setProcessingTime(START + 10_000);
    assertThat(positions()).hasSize(8);
    assertThat(positions()).extracting(RenderStatus::getRequestId).doesNotHaveDuplicates();
    assertThat(positions())
        .filteredOn(s -> !s.getQueuePositionEstimated())
        .extracting(RenderStatus::getQueuePosition)
        .containsExactlyInAnyOrder(0L, 1L, 2L);
    assertThat(positions())
        .filteredOn(RenderStatus::getQueuePositionEstimated)
        .allSatisfy(s -> assertThat(s.getQueuePosition()).isGreaterThanOrEqualTo(3L));
  }

  /** A release in the snapshot, restored 3 leases later (its timer overdue). */
  private void releaseThenRestoreLate() throws Exception {
    in(enqueue("a", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    assertThat(released()).containsExactly("a");
    OperatorSubtaskState snap = h.snapshot(1, START);
    h.close();
    h = harness(exact);
    h.setup();
    h.initializeState(snap);
    h.open();
    h.setProcessingTime(START + 3 * LEASE);
  }

  @Test
  void aRestoredReleaseWaitsOneLeaseForItsReplayedStarted() throws Exception {
    releaseThenRestoreLate();
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).as("taken back at once after the restore").isEmpty();
    started("a", "w1"); // the worker's STARTED, still unread in the topic at the restore
    h.setProcessingTime(START + 5 * LEASE);
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).as("confirmed: never dispatched twice").isEmpty();
  }

  @Test
  void aRestoredReleaseNobodyConfirmsGoesBackOneLeaseAfterTheRestart() throws Exception {
    releaseThenRestoreLate();
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).isEmpty();
    h.setProcessingTime(START + 4 * LEASE);
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).containsExactly("a");
    assertThat(h.extractOutputValues().get(0).workerId).isEqualTo("w2");
  }

  @Test
  void estimatesArePublishedInRotationWithinABudgetPerInterval() throws Exception {
    h.close();
    h = harness(2);
    h.open();
    for (int i = 0; i < 12; i++) {
      in(enqueue("r" + i, "t1", 5, null));
    }
    int seen = 0;
    for (int k = 1; k <= 5; k++) {
      h.setProcessingTime(START + k * 5_000L);
      int now = positions().size();
      // the 2 exact positions only change when the queue moves: at most 2 estimates a round
      assertThat(now - seen).isLessThanOrEqualTo(k == 1 ? 4 : 2);
      seen = now;
    }
    // 10 estimated renders at 2 an interval: every one has had its position by the 5th interval
    assertThat(positions())
        .extracting(RenderStatus::getRequestId)
        .containsAll(List.of("r0", "r1", "r2", "r5", "r8", "r11"));
    assertThat(positions().stream().map(RenderStatus::getRequestId).distinct().count())
        .isEqualTo(12);
    // each update of a render is newer than its last (the status gate drops the rest)
    RenderStatus first = positions().get(0);
    assertThat(first.getVersion()).isGreaterThan(first.getVersion() & ~((1L << 20) - 1));
  }

  @Test
  void eachUnconfirmedReleaseGoesBackAfterItsOwnLease() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    ready("w1", 1, List.of(0), List.of());
    h.setProcessingTime(START + 10_000);
    ready("w2", 1, List.of(1), List.of());
    assertThat(released()).containsExactly("a", "b");
    // a's lease ends first; b's 10 s later, each on time although one timer serves the pool
    h.setProcessingTime(START + LEASE);
    ready("w3", 1, List.of(2), List.of());
    assertThat(released()).containsExactly("a", "b", "a");
    h.setProcessingTime(START + 10_000 + LEASE - 1);
    ready("w4", 1, List.of(3), List.of());
    assertThat(released()).containsExactly("a", "b", "a");
    h.setProcessingTime(START + 10_000 + LEASE);
    assertThat(released()).containsExactly("a", "b", "a", "b");
    assertThat(h.extractOutputValues().get(3).workerId).isEqualTo("w4");
  }

  @Test
  void positionVersionsGrowWithEveryIntervalWithoutAStoredCounter() throws Exception {
    DispatchScheduler s = new DispatchScheduler(LEASE, 5_000, 1000, 1, 60_000);
    assertThat(s.positionVersion(0)).isEqualTo(1);
    assertThat(s.positionVersion(5_000)).isEqualTo(1);
    assertThat(s.positionVersion(5_001)).isEqualTo(2);
    assertThat(s.positionVersion(10_000)).isEqualTo(2);
    assertThat(s.positionVersion(Long.MAX_VALUE / 2)).isEqualTo((1L << 20) - 1);
  }

  @Test
  void backlogSurvivesASnapshotAndRestore() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t2", 9, null));
    OperatorSubtaskState snap = h.snapshot(1, START);
    h.close();
    h = harness(exact);
    h.setup();
    h.initializeState(snap);
    h.open();
    ready("w1", 2, List.of(0), List.of());
    assertThat(released()).containsExactly("b", "a");
  }

  @Test
  void workersAndUnconfirmedReleasesSurviveARestore() throws Exception {
    in(enqueue("a", "t1", 5, null));
    in(enqueue("b", "t1", 5, null));
    in(enqueue("c", "t1", 5, null));
    ready("w1", 2, List.of(0), List.of());
    assertThat(released()).containsExactly("a", "b");
    started("a", "w1"); // a confirmed, b not
    OperatorSubtaskState snap = h.snapshot(1, START + 1_000);
    h.close();
    h = harness(exact);
    h.setup();
    h.initializeState(snap);
    h.open();
    h.setProcessingTime(START + 1_000);
    // w1 is known again: its confirmed READY listing b frees nothing more (1 slot, 1 pending)
    ready("w1", 1, List.of(0), List.of("a:BASE:1"));
    assertThat(released()).isEmpty();
    // b's lease ran out at START + LEASE, but a restored release is taken back only after one
    // lease of grace from the restart (its STARTED may still be unread in the topic)
    h.setProcessingTime(START + LEASE);
    assertThat(released()).isEmpty();
    h.setProcessingTime(START + 1_000 + LEASE);
    ready("w2", 2, List.of(1), List.of());
    assertThat(released()).containsExactly("b", "c");
    // w1 announced its free slot after b's release and never reported b (it skipped b, or never
    // saw it): it keeps that slot, so b goes to it again; a silent worker would get nothing
    assertThat(h.extractOutputValues()).extracting(d -> d.workerId).containsExactly("w1", "w2");
  }

  @Test
  void roughlyKeepsTwoSignificantDigits() {
    assertThat(DispatchScheduler.roughly(42)).isEqualTo(42);
    assertThat(DispatchScheduler.roughly(1234)).isEqualTo(1200);
    assertThat(DispatchScheduler.roughly(49_999)).isEqualTo(49_000);
    assertThat(DispatchScheduler.requestIdOf("r:with:colons:BASE:2")).isEqualTo("r:with:colons");
  }
}
