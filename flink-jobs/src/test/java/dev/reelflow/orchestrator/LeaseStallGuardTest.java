package dev.reelflow.orchestrator;

import static dev.reelflow.orchestrator.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEventType;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lease stall guard inside {@link RenderLifecycle}, on Flink's operator test harness at the
 * default 4 s lease and 30 s stall hold: a lone silent worker (next to an idle one, or among live
 * ones) is fenced at the lease as before; several workers falling silent together (a stalled input)
 * keep their attempts until input resumes, and a worker that died during the stall is fenced one
 * lease after it resumed; a stall longer than the hold fences as before; the guard off fences
 * everything at the lease.
 */
class LeaseStallGuardTest {
  static final long LEASE = 4_000;
  static final long HOLD = 30_000;
  static final long START = T0.toEpochMilli();

  private KeyedOneInputStreamOperatorTestHarness<String, Inbound, RenderStatus> h;
  private long now;

  private void open(long hold) throws Exception {
    h =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(
                new RenderLifecycle(
                    LEASE,
                    new OrchestratorConfig.RetryPolicy(3, 500, 60_000, 2.0),
                    86_400_000L,
                    "reelflow",
                    0,
                    0,
                    hold)),
            Inbound::requestId,
            Types.STRING);
    now = START;
    h.setProcessingTime(now);
    h.open();
  }

  @AfterEach
  void close() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  /** Renders r-1..r-n started on workers w1..wn. */
  private void startRenders(int n) throws Exception {
    for (int i = 1; i <= n; i++) {
      h.processElement(new StreamRecord<>(Inbound.of(Fixtures.request("r-" + i))));
      beat("r-" + i, "w" + i, StageEventType.STARTED);
    }
  }

  private void beat(String id, String worker, StageEventType type) throws Exception {
    h.processElement(
        new StreamRecord<>(Inbound.of(Fixtures.event(id, Stage.BASE, 1, type, worker))));
  }

  /**
   * Advances the clock in 250 ms ticks to {@code until}, with the workers of {@code beating}
   * (render → worker) sending a heartbeat every second.
   */
  private void run(long until, Map<String, String> beating) throws Exception {
    while (now < until) {
      now = Math.min(until, now + 250);
      h.setProcessingTime(now);
      if ((now - START) % 1_000 == 0) {
        for (Map.Entry<String, String> b : beating.entrySet()) {
          beat(b.getKey(), b.getValue(), StageEventType.HEARTBEAT);
        }
      }
    }
  }

  private List<RenderStatus> statusesOf(String id) {
    return h.extractOutputValues().stream()
        .filter(s -> s.getRequestId().equals(id))
        .collect(Collectors.toList());
  }

  private RenderStatus last(String id) {
    List<RenderStatus> s = statusesOf(id);
    return s.get(s.size() - 1);
  }

  /** When the render's attempt 2 was queued (its lease fenced attempt 1), or -1. */
  private long fencedAt(String id) {
    return statusesOf(id).stream()
        .filter(s -> s.getState() == RenderState.QUEUED && s.getAttempt() == 2)
        .mapToLong(s -> s.getUpdatedAt().toEpochMilli())
        .findFirst()
        .orElse(-1);
  }

  @Test
  void aSigkilledWorkerNextToAnIdleOneIsFencedAtTheLease() throws Exception {
    open(HOLD);
    startRenders(1); // w2 is idle: idle workers send nothing, so it is no evidence
    run(START + 5_000, Map.of("r-1", "w1"));
    long killed = now; // last heartbeat at START + 5 s
    run(killed + 10_000, Map.of());
    assertThat(fencedAt("r-1")).isEqualTo(killed + LEASE);
  }

  @Test
  void oneDeadWorkerAmongLiveOnesIsFencedAtTheLease() throws Exception {
    open(HOLD);
    startRenders(3);
    run(START + 5_000, Map.of("r-1", "w1", "r-2", "w2", "r-3", "w3"));
    long killed = now;
    run(killed + 10_000, Map.of("r-2", "w2", "r-3", "w3"));
    assertThat(fencedAt("r-1")).isEqualTo(killed + LEASE);
    assertThat(fencedAt("r-2")).isEqualTo(-1);
    assertThat(fencedAt("r-3")).isEqualTo(-1);
    assertThat(last("r-2").getState()).isEqualTo(RenderState.RENDERING);
  }

  @Test
  void aStallThatSilencesSeveralWorkersHoldsTheirLeasesUntilInputResumes() throws Exception {
    open(HOLD);
    startRenders(3);
    run(START + 5_000, Map.of("r-1", "w1", "r-2", "w2", "r-3", "w3"));
    long stalled = now;
    // r-1 and r-2 fall silent together (their partitions' broker is gone); r-3 keeps beating
    run(stalled + 20_000, Map.of("r-3", "w3"));
    assertThat(fencedAt("r-1")).isEqualTo(-1);
    assertThat(fencedAt("r-2")).isEqualTo(-1);
    assertThat(last("r-1").getState()).isEqualTo(RenderState.RENDERING);
    // input resumes: both keep their first attempts
    run(now + 20_000, Map.of("r-1", "w1", "r-2", "w2", "r-3", "w3"));
    assertThat(statusesOf("r-1")).noneMatch(s -> s.getAttempt() > 1);
    assertThat(statusesOf("r-2")).noneMatch(s -> s.getAttempt() > 1);
    assertThat(statusesOf("r-3")).noneMatch(s -> s.getAttempt() > 1);
  }

  @Test
  void aWorkerThatDiedDuringTheStallIsFencedOneLeaseAfterInputResumed() throws Exception {
    open(HOLD);
    startRenders(2);
    run(START + 5_000, Map.of("r-1", "w1", "r-2", "w2"));
    long stalled = now;
    run(stalled + 12_000, Map.of());
    assertThat(fencedAt("r-1")).isEqualTo(-1);
    long resumed = now;
    // only w2 comes back: w1 died while the input was stalled
    run(resumed + 10_000, Map.of("r-2", "w2"));
    // w2's first heartbeat after the stall arrives at resumed + 1 s; the held lease is looked at
    // every quarter lease, then gets one full lease
    long fenced = fencedAt("r-1");
    assertThat(fenced)
        .isGreaterThanOrEqualTo(resumed + 1_000 + LEASE)
        .isLessThanOrEqualTo(resumed + 1_000 + LEASE + LEASE / 4);
    assertThat(fencedAt("r-2")).isEqualTo(-1);
  }

  @Test
  void aLeaseEndingJustAfterInputResumedWaitsForItsBacklog() throws Exception {
    open(HOLD);
    startRenders(2);
    run(START + 5_000, Map.of("r-1", "w1", "r-2", "w2"));
    long stalled = now;
    // r-2's backlog arrives 250 ms before the lease ends; r-1's comes 500 ms after it
    run(stalled + LEASE - 250, Map.of());
    beat("r-2", "w2", StageEventType.HEARTBEAT);
    run(stalled + LEASE + 500, Map.of());
    assertThat(fencedAt("r-1")).isEqualTo(-1);
    beat("r-1", "w1", StageEventType.HEARTBEAT);
    run(now + 10_000, Map.of("r-1", "w1", "r-2", "w2"));
    assertThat(statusesOf("r-1")).noneMatch(s -> s.getAttempt() > 1);
  }

  @Test
  void whenOnlyThePeerComesBackTheSilentOneIsFencedALeaseAfterIt() throws Exception {
    open(HOLD);
    startRenders(2);
    run(START + 5_000, Map.of("r-1", "w1", "r-2", "w2"));
    long stalled = now;
    run(stalled + LEASE - 250, Map.of());
    long peerBack = now;
    beat("r-2", "w2", StageEventType.HEARTBEAT);
    run(stalled + 12_000, Map.of("r-2", "w2"));
    assertThat(fencedAt("r-1")).isEqualTo(peerBack + LEASE);
  }

  @Test
  void aStallLongerThanTheHoldFencesAsBefore() throws Exception {
    open(HOLD);
    startRenders(2);
    run(START + 5_000, Map.of("r-1", "w1", "r-2", "w2"));
    long stalled = now;
    run(stalled + LEASE + HOLD + 2_000, Map.of());
    assertThat(fencedAt("r-1")).isEqualTo(stalled + LEASE + HOLD);
    assertThat(fencedAt("r-2")).isEqualTo(stalled + LEASE + HOLD);
  }

  @Test
  void withTheGuardOffEverySilentAttemptIsFencedAtTheLease() throws Exception {
    open(0);
    startRenders(2);
    run(START + 5_000, Map.of("r-1", "w1", "r-2", "w2"));
    long stalled = now;
    run(stalled + 10_000, Map.of());
    assertThat(fencedAt("r-1")).isEqualTo(stalled + LEASE);
    assertThat(fencedAt("r-2")).isEqualTo(stalled + LEASE);
  }

  @Test
  void attemptsOfOneWorkerFallingSilentTogetherAreOneDeadWorker() throws Exception {
    open(HOLD);
    startRenders(1);
    h.processElement(new StreamRecord<>(Inbound.of(Fixtures.request("r-9"))));
    beat("r-9", "w1", StageEventType.STARTED); // a second slot of the same worker id
    run(START + 5_000, Map.of("r-1", "w1", "r-9", "w1"));
    long killed = now;
    run(killed + 10_000, Map.of());
    assertThat(fencedAt("r-1")).isEqualTo(killed + LEASE);
    assertThat(fencedAt("r-9")).isEqualTo(killed + LEASE);
  }

  @Test
  void refusesANegativeHold() {
    assertThatThrownBy(() -> new LeaseStallGuard(4_000, -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stall hold");
  }
}
