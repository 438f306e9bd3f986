package dev.reelflow.orchestrator;

import static dev.reelflow.orchestrator.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RenderLifecycleTest {
  static final long LEASE = 30_000;
  static final OrchestratorConfig.RetryPolicy RETRY =
      new OrchestratorConfig.RetryPolicy(3, 2_000, 60_000, 2.0);
  static final long START = T0.toEpochMilli();

  private KeyedOneInputStreamOperatorTestHarness<String, Inbound, RenderStatus> h;

  @BeforeEach
  void open() throws Exception {
    h = harness();
    h.open();
  }

  @AfterEach
  void close() throws Exception {
    h.close();
  }

  static KeyedOneInputStreamOperatorTestHarness<String, Inbound, RenderStatus> harness()
      throws Exception {
    return harness(0, 0);
  }

  /** A lifecycle with expected stage durations before any is observed (0: none). */
  static KeyedOneInputStreamOperatorTestHarness<String, Inbound, RenderStatus> harness(
      long expectedBase, long expectedUpscale) throws Exception {
    KeyedOneInputStreamOperatorTestHarness<String, Inbound, RenderStatus> h =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(
                new RenderLifecycle(
                    LEASE, RETRY, 86_400_000L, "reelflow", expectedBase, expectedUpscale)),
            Inbound::requestId,
            Types.STRING);
    h.setProcessingTime(START);
    return h;
  }

  private void in(Object o) throws Exception {
    Inbound i =
        o instanceof RenderRequest r
            ? Inbound.of(r)
            : o instanceof dev.reelflow.schemas.avro.RenderCommand c
                ? Inbound.of(c)
                : Inbound.of((dev.reelflow.schemas.avro.StageEvent) o);
    h.processElement(new StreamRecord<>(i));
  }

  /** Snapshots the lifecycle at {@code at} and restores it into a new harness. */
  private void restore(long at) throws Exception {
    OperatorSubtaskState snap = h.snapshot(1, at);
    h.close();
    h = harness();
    h.setup();
    h.initializeState(snap);
    h.open();
  }

  private List<RenderStatus> statuses() {
    return h.extractOutputValues();
  }

  private RenderStatus last() {
    List<RenderStatus> s = statuses();
    return s.get(s.size() - 1);
  }

  private <T> List<T> side(OutputTag<T> tag) {
    var q = h.getSideOutput(tag);
    return q == null
        ? List.of()
        : q.stream().map(StreamRecord::getValue).collect(Collectors.toList());
  }

  private List<String> states() {
    return statuses().stream()
        .map(s -> s.getState() + (s.getStage() == null ? "" : "/" + s.getStage()))
        .collect(Collectors.toList());
  }

  @Test
  void walksEveryStateOfARenderWithUpscale() throws Exception {
    in(Fixtures.request("r-1"));
    assertThat(states()).containsExactly("ACCEPTED/BASE", "QUEUED/BASE");
    PoolCommand base = side(RenderLifecycle.POOL).get(0);
    assertThat(base.kind).isEqualTo(PoolCommand.Kind.ENQUEUE);
    assertThat(base.task.getTaskId()).isEqualTo("r-1:BASE:1");
    assertThat(base.task.getPublishFinal()).isFalse();
    assertThat(base.task.getOutputPrefix()).isEqualTo("demo/2026/11/25/r-1/base/attempt-1/");
    assertThat(base.task.getFinalPrefix()).isEqualTo("demo/2026/11/25/r-1/final/");
    assertThat(base.task.getLeaseMillis()).isEqualTo(LEASE);

    in(Fixtures.event("r-1", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    assertThat(last().getState()).isEqualTo(RenderState.RENDERING);
    assertThat(last().getWorkerId()).isEqualTo("w1");
    // Every status carries the request's seed, so any ingest instance can show it.
    assertThat(statuses())
        .extracting(RenderStatus::getSeed)
        .containsOnly(Fixtures.request("r-1").getParams().getSeed());

    in(Fixtures.completed("r-1", Stage.BASE, 1, "w1"));
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getStage()).isEqualTo(Stage.UPSCALE);
    PoolCommand up = side(RenderLifecycle.POOL).get(1);
    assertThat(up.task.getTaskId()).isEqualTo("r-1:UPSCALE:1");
    assertThat(up.task.getPublishFinal()).isTrue();
    assertThat(up.task.getInputs())
        .containsEntry("latents", "demo/2026/11/25/r-1/base/attempt-1/latents.safetensors")
        .containsEntry("preview", "demo/2026/11/25/r-1/base/attempt-1/preview.mp4")
        .containsEntry("manifest", "demo/2026/11/25/r-1/base/attempt-1/manifest.json");

    in(Fixtures.event("r-1", Stage.UPSCALE, 1, StageEventType.STARTED, "u1"));
    assertThat(last().getState()).isEqualTo(RenderState.UPSCALING);
    in(Fixtures.completed("r-1", Stage.UPSCALE, 1, "u1"));
    assertThat(last().getState()).isEqualTo(RenderState.SUCCEEDED);
    assertThat(last().getOutputs())
        .extracting(o -> o.getName())
        .containsExactlyInAnyOrder("video", "poster", "manifest");

    assertThat(states())
        .containsExactly(
            "ACCEPTED/BASE",
            "QUEUED/BASE",
            "RENDERING/BASE",
            "QUEUED/UPSCALE",
            "UPSCALING/UPSCALE",
            "SUCCEEDED/UPSCALE");
    List<Long> versions = statuses().stream().map(RenderStatus::getVersion).toList();
    for (int i = 1; i < versions.size(); i++) {
      assertThat(versions.get(i)).isGreaterThan(versions.get(i - 1));
    }
    assertThat(side(RenderLifecycle.LINEAGE))
        .extracting(l -> l.eventType)
        .containsExactly("START", "RUNNING", "RUNNING", "COMPLETE");
    assertThat(side(RenderLifecycle.LINEAGE).get(0).json)
        .contains("\"runId\":\"" + LineageJson.runId("r-1"));
    assertThat(side(RenderLifecycle.LINEAGE).get(3).json)
        .contains(
            "\"eventType\":\"COMPLETE\"", "demo/2026/11/25/r-1/final/video.mp4", "s3://reelflow");
  }

  @Test
  void upscaleNoneEndsAfterTheBaseStage() throws Exception {
    in(Fixtures.request("r-2", "demo", 5, UpscaleTarget.NONE));
    PoolCommand base = side(RenderLifecycle.POOL).get(0);
    assertThat(base.task.getPublishFinal()).isTrue();
    in(Fixtures.event("r-2", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    in(Fixtures.completed("r-2", Stage.BASE, 1, "w1"));
    assertThat(last().getState()).isEqualTo(RenderState.SUCCEEDED);
    assertThat(side(RenderLifecycle.POOL)).hasSize(1);
  }

  @Test
  void duplicateRequestsAreIgnored() throws Exception {
    in(Fixtures.request("r-3"));
    int n = statuses().size();
    in(Fixtures.request("r-3"));
    assertThat(statuses()).hasSize(n);
    assertThat(side(RenderLifecycle.POOL)).hasSize(1);
  }

  @Test
  void expiredLeaseQueuesTheNextAttemptAndFencesTheOldOne() throws Exception {
    in(Fixtures.request("r-4"));
    in(Fixtures.event("r-4", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    h.setProcessingTime(START + 20_000);
    in(Fixtures.event("r-4", Stage.BASE, 1, StageEventType.HEARTBEAT, "w1"));
    h.setProcessingTime(START + LEASE + 1_000);
    assertThat(last().getState()).isEqualTo(RenderState.RENDERING); // heartbeat renewed it
    h.setProcessingTime(START + 20_000 + LEASE + 1);
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getAttempt()).isEqualTo(2);
    assertThat(side(RenderLifecycle.POOL))
        .extracting(c -> c.task.getTaskId())
        .containsExactly("r-4:BASE:1", "r-4:BASE:2");

    int n = statuses().size();
    in(Fixtures.completed("r-4", Stage.BASE, 1, "w1")); // late event of the fenced attempt
    in(Fixtures.event("r-4", Stage.BASE, 1, StageEventType.HEARTBEAT, "w1"));
    assertThat(statuses()).hasSize(n);
    assertThat(side(RenderLifecycle.POOL)).hasSize(2);

    in(Fixtures.event("r-4", Stage.BASE, 2, StageEventType.STARTED, "w2"));
    assertThat(last().getState()).isEqualTo(RenderState.RENDERING);
    assertThat(last().getWorkerId()).isEqualTo("w2");
  }

  /**
   * The scheduler took a release back (its STARTED unread within the dispatch lease) and released
   * the same attempt to a second worker (BurstIT's duplicate): the worker whose STARTED came first
   * owns the attempt; the second runner's events and its completion are refused.
   */
  @Test
  void aSecondRunnerOfTheRunningAttemptIsFenced() throws Exception {
    in(Fixtures.request("r-two"));
    in(Fixtures.event("r-two", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    int n = statuses().size();
    in(Fixtures.event("r-two", Stage.BASE, 1, StageEventType.STARTED, "w2"));
    in(Fixtures.event("r-two", Stage.BASE, 1, StageEventType.PROGRESS, "w2"));
    in(Fixtures.completed("r-two", Stage.BASE, 1, "w2"));
    assertThat(statuses()).hasSize(n);
    assertThat(last().getState()).isEqualTo(RenderState.RENDERING);
    assertThat(last().getWorkerId()).isEqualTo("w1");
    // w2's heartbeats keep nothing alive: the lease runs on w1's.
    h.setProcessingTime(START + LEASE - 1);
    in(Fixtures.event("r-two", Stage.BASE, 1, StageEventType.HEARTBEAT, "w2"));
    h.setProcessingTime(START + LEASE + 1);
    assertThat(last().getAttempt()).isEqualTo(2);

    in(Fixtures.request("r-owner"));
    in(Fixtures.event("r-owner", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    in(Fixtures.completed("r-owner", Stage.BASE, 1, "w2")); // refused
    in(Fixtures.completed("r-owner", Stage.BASE, 1, "w1"));
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getStage()).isEqualTo(Stage.UPSCALE);
    assertThat(side(RenderLifecycle.POOL))
        .extracting(c -> c.task.getTaskId())
        .containsExactly("r-two:BASE:1", "r-two:BASE:2", "r-owner:BASE:1", "r-owner:UPSCALE:1");
  }

  @Test
  void retryableFailuresBackOffExponentiallyThenFail() throws Exception {
    in(Fixtures.request("r-5"));
    in(Fixtures.event("r-5", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    in(Fixtures.failed("r-5", Stage.BASE, 1, ErrorCode.OUT_OF_MEMORY, true));
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getAttempt()).isEqualTo(2);
    assertThat(last().getAttempts()).isEqualTo(2);
    assertThat(last().getError().getCode()).isEqualTo(ErrorCode.OUT_OF_MEMORY);
    assertThat(side(RenderLifecycle.POOL)).hasSize(1);
    h.setProcessingTime(START + 1_999);
    assertThat(side(RenderLifecycle.POOL)).hasSize(1);
    h.setProcessingTime(START + 2_000);
    assertThat(side(RenderLifecycle.POOL))
        .extracting(c -> c.task.getTaskId())
        .containsExactly("r-5:BASE:1", "r-5:BASE:2");

    in(Fixtures.event("r-5", Stage.BASE, 2, StageEventType.STARTED, "w1"));
    in(Fixtures.failed("r-5", Stage.BASE, 2, ErrorCode.STORAGE_ERROR, true));
    h.setProcessingTime(START + 2_000 + 3_999);
    assertThat(side(RenderLifecycle.POOL)).hasSize(2); // second backoff is 4 s
    h.setProcessingTime(START + 2_000 + 4_000);
    assertThat(side(RenderLifecycle.POOL)).hasSize(3);

    in(Fixtures.event("r-5", Stage.BASE, 3, StageEventType.STARTED, "w1"));
    assertThat(last().getAttempts()).isEqualTo(3);
    in(Fixtures.failed("r-5", Stage.BASE, 3, ErrorCode.STORAGE_ERROR, true));
    assertThat(last().getState()).isEqualTo(RenderState.FAILED);
    assertThat(last().getError().getCode()).isEqualTo(ErrorCode.RETRIES_EXHAUSTED);
    List<DeadLetter> dlq = side(RenderLifecycle.DLQ);
    assertThat(dlq).hasSize(1);
    assertThat(dlq.get(0).getRequestId()).isEqualTo("r-5");
    assertThat(side(RenderLifecycle.LINEAGE)).extracting(l -> l.eventType).endsWith("FAIL");
  }

  @Test
  void permanentFailureEndsFailedWithADeadLetter() throws Exception {
    in(Fixtures.request("r-6"));
    in(Fixtures.event("r-6", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    in(Fixtures.failed("r-6", Stage.BASE, 1, ErrorCode.BAD_PARAMETERS, false));
    assertThat(last().getState()).isEqualTo(RenderState.FAILED);
    assertThat(last().getError().getCode()).isEqualTo(ErrorCode.BAD_PARAMETERS);
    assertThat(side(RenderLifecycle.DLQ)).hasSize(1);
    assertThat(side(RenderLifecycle.POOL)).hasSize(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"QUEUED_BASE", "RENDERING", "QUEUED_UPSCALE", "UPSCALING", "BACKOFF"})
  void cancellationWorksInEveryState(String where) throws Exception {
    in(Fixtures.request("r-7"));
    boolean queued = true;
    switch (where) {
      case "RENDERING" -> {
        in(Fixtures.event("r-7", Stage.BASE, 1, StageEventType.STARTED, "w1"));
        queued = false;
      }
      case "QUEUED_UPSCALE" -> {
        in(Fixtures.event("r-7", Stage.BASE, 1, StageEventType.STARTED, "w1"));
        in(Fixtures.completed("r-7", Stage.BASE, 1, "w1"));
      }
      case "UPSCALING" -> {
        in(Fixtures.event("r-7", Stage.BASE, 1, StageEventType.STARTED, "w1"));
        in(Fixtures.completed("r-7", Stage.BASE, 1, "w1"));
        in(Fixtures.event("r-7", Stage.UPSCALE, 1, StageEventType.STARTED, "u1"));
        queued = false;
      }
      case "BACKOFF" -> {
        in(Fixtures.event("r-7", Stage.BASE, 1, StageEventType.STARTED, "w1"));
        in(Fixtures.failed("r-7", Stage.BASE, 1, ErrorCode.OUT_OF_MEMORY, true));
      }
      default -> {}
    }
    int commands = side(RenderLifecycle.POOL).size();
    in(Fixtures.cancel("r-7"));
    assertThat(last().getState()).isEqualTo(RenderState.CANCELLED);
    assertThat(last().getError().getCode()).isEqualTo(ErrorCode.CANCELLED);
    List<PoolCommand> pool = side(RenderLifecycle.POOL);
    if (queued) {
      assertThat(pool).hasSize(commands + 1);
      assertThat(pool.get(commands).kind).isEqualTo(PoolCommand.Kind.REMOVE);
    } else {
      assertThat(pool).hasSize(commands); // the worker stops it from render.commands
    }
    // Nothing moves a cancelled render any more: no retry, no late completion.
    int n = statuses().size();
    h.setProcessingTime(START + 600_000);
    in(Fixtures.completed("r-7", Stage.BASE, 1, "w1"));
    in(Fixtures.cancel("r-7"));
    assertThat(statuses()).hasSize(n);
    assertThat(side(RenderLifecycle.POOL)).hasSize(pool.size());
    assertThat(side(RenderLifecycle.LINEAGE)).extracting(l -> l.eventType).endsWith("FAIL");
    assertThat(side(RenderLifecycle.LINEAGE).get(side(RenderLifecycle.LINEAGE).size() - 1).json)
        .contains("cancelled");
  }

  @Test
  void deadlineExpiresQueuedAndRunningRenders() throws Exception {
    RenderRequest queued = Fixtures.request("r-8");
    queued.setDeadline(Instant.ofEpochMilli(START + 60_000));
    in(queued);
    RenderRequest running = Fixtures.request("r-9");
    running.setDeadline(Instant.ofEpochMilli(START + 60_000));
    in(running);
    in(Fixtures.event("r-9", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    for (int t = 10_000; t <= 50_000; t += 10_000) {
      h.setProcessingTime(START + t);
      in(Fixtures.event("r-9", Stage.BASE, 1, StageEventType.HEARTBEAT, "w1"));
    }
    h.setProcessingTime(START + 60_000);
    List<RenderStatus> finals =
        statuses().stream().filter(s -> s.getState() == RenderState.EXPIRED).toList();
    assertThat(finals)
        .extracting(RenderStatus::getRequestId)
        .containsExactlyInAnyOrder("r-8", "r-9");
    assertThat(finals.get(0).getError().getCode()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
    assertThat(side(RenderLifecycle.POOL))
        .filteredOn(c -> c.kind == PoolCommand.Kind.REMOVE)
        .extracting(c -> c.requestId)
        .containsExactly("r-8");
    // The running render's worker is told to stop; so is any worker the queued one may have been
    // released to just before the removal reached its pool.
    assertThat(side(RenderLifecycle.COMMANDS))
        .allSatisfy(
            c -> {
              assertThat(c.getType()).isEqualTo(CommandType.CANCEL);
              assertThat(c.getTenant()).isEqualTo("demo");
              assertThat(c.getReason()).startsWith("expired: ");
            })
        .extracting(RenderCommand::getRequestId)
        .containsExactlyInAnyOrder("r-8", "r-9");
  }

  @Test
  void queuedRenderExpiresOnceItsRemainingWorkNoLongerFits() throws Exception {
    h.close();
    h = harness(20_000, 10_000);
    h.open();
    RenderRequest r = Fixtures.request("r-20");
    r.setDeadline(Instant.ofEpochMilli(START + 60_000));
    in(r);
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    // Base 20 s plus upscale 10 s must start by deadline - 30 s.
    h.setProcessingTime(START + 29_999);
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    h.setProcessingTime(START + 30_000);
    assertThat(last().getState()).isEqualTo(RenderState.EXPIRED);
    assertThat(last().getError().getCode()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
    assertThat(last().getError().getMessage())
        .contains("cannot finish before its deadline")
        .contains("about 30.0 s of work remain (BASE ~20.0 s, UPSCALE ~10.0 s)")
        .contains("deadline is in 30.0 s");
    assertThat(side(RenderLifecycle.POOL))
        .extracting(c -> c.kind)
        .containsExactly(PoolCommand.Kind.ENQUEUE, PoolCommand.Kind.REMOVE);
    assertThat(side(RenderLifecycle.COMMANDS))
        .extracting(RenderCommand::getRequestId)
        .containsExactly("r-20");
    // Nothing fires later for it: the deadline timer finds a final render.
    int n = statuses().size();
    h.setProcessingTime(START + 60_000);
    assertThat(statuses()).hasSize(n);
  }

  @Test
  void requestWhoseWorkCannotFitIsNeverQueued() throws Exception {
    h.close();
    h = harness(20_000, 0);
    h.open();
    RenderRequest r = Fixtures.request("r-21", "demo", 5, UpscaleTarget.NONE);
    r.setDeadline(Instant.ofEpochMilli(START + 15_000));
    in(r);
    assertThat(states()).containsExactly("ACCEPTED/BASE", "EXPIRED/BASE");
    assertThat(side(RenderLifecycle.POOL)).isEmpty();
    assertThat(side(RenderLifecycle.COMMANDS)).isEmpty();
  }

  @Test
  void observedStageDurationsReplaceThePriorAndSurviveARestore() throws Exception {
    // No prior: the first render with a tight deadline is queued.
    RenderRequest first = Fixtures.request("r-22", "demo", 5, UpscaleTarget.NONE);
    in(first);
    in(Fixtures.event("r-22", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    h.setProcessingTime(START + 20_000);
    in(Fixtures.completed("r-22", Stage.BASE, 1, "w1"));
    assertThat(last().getState()).isEqualTo(RenderState.SUCCEEDED);

    restore(START + 20_000);
    h.setProcessingTime(START + 20_000);
    // Learned: a base stage of this resolution takes about 20 s.
    RenderRequest tight = Fixtures.request("r-23", "demo", 5, UpscaleTarget.NONE);
    tight.setDeadline(Instant.ofEpochMilli(START + 30_000));
    in(tight);
    assertThat(states()).containsExactly("ACCEPTED/BASE", "EXPIRED/BASE");
    RenderRequest roomy = Fixtures.request("r-24", "demo", 5, UpscaleTarget.NONE);
    roomy.setDeadline(Instant.ofEpochMilli(START + 60_000));
    in(roomy);
    assertThat(last().getRequestId()).isEqualTo("r-24");
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
  }

  @Test
  void requestArrivingPastItsDeadlineExpiresAtOnce() throws Exception {
    RenderRequest late = Fixtures.request("r-10");
    late.setDeadline(Instant.ofEpochMilli(START - 1));
    in(late);
    assertThat(states()).containsExactly("ACCEPTED/BASE", "EXPIRED/BASE");
    assertThat(side(RenderLifecycle.POOL)).isEmpty();
  }

  @Test
  void reprioritizeMovesTheQueuedTask() throws Exception {
    in(Fixtures.request("r-11"));
    in(Fixtures.reprioritize("r-11", 9));
    assertThat(last().getPriority()).isEqualTo(9);
    PoolCommand c = side(RenderLifecycle.POOL).get(1);
    assertThat(c.kind).isEqualTo(PoolCommand.Kind.REPRIORITIZE);
    assertThat(c.priority).isEqualTo(9);
  }

  @Test
  void requestWhoseIdCannotBeAKeySegmentFails() throws Exception {
    in(Fixtures.request("../escape"));
    assertThat(states()).containsExactly("ACCEPTED/BASE", "FAILED/BASE");
    assertThat(last().getError().getCode()).isEqualTo(ErrorCode.BAD_PARAMETERS);
    assertThat(side(RenderLifecycle.DLQ)).hasSize(1);
    assertThat(side(RenderLifecycle.POOL)).isEmpty();
  }

  @Test
  void requestsWithNumbersOutsideTheJavaScriptSafeRangeFailWithoutCarryingThem() throws Exception {
    RenderRequest max = Fixtures.request("r-seed-max");
    max.getParams().setSeed((1L << 53) - 2);
    in(max);
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getSeed()).isEqualTo((1L << 53) - 2);

    RenderRequest big = Fixtures.request("r-seed-big");
    big.getParams().setSeed((1L << 53) - 1);
    big.setDeadline(Instant.ofEpochMilli(Long.MAX_VALUE));
    in(big);
    List<RenderStatus> refused =
        statuses().stream().filter(s -> s.getRequestId().equals("r-seed-big")).toList();
    assertThat(refused)
        .extracting(RenderStatus::getState)
        .containsExactly(RenderState.ACCEPTED, RenderState.FAILED);
    assertThat(refused).allSatisfy(s -> assertThat(s.getSeed()).isNull());
    assertThat(refused).allSatisfy(s -> assertThat(s.getDeadline()).isNull());
    assertThat(last().getError().getCode()).isEqualTo(ErrorCode.BAD_PARAMETERS);
    assertThat(last().getError().getMessage()).contains("params.seed", "9007199254740990");
    assertThat(side(RenderLifecycle.DLQ)).hasSize(1);
    assertThat(side(RenderLifecycle.POOL)).hasSize(1); // only r-seed-max was queued
  }

  @Test
  void commandsForUnknownRendersAreDeadLetteredOnceTheHoldRunsOut() throws Exception {
    in(Fixtures.cancel("nope"));
    in(Fixtures.event("nope", Stage.BASE, 1, StageEventType.HEARTBEAT, "w1"));
    assertThat(statuses()).isEmpty();
    assertThat(side(RenderLifecycle.DLQ)).isEmpty();
    h.setProcessingTime(START + RenderLifecycle.EARLY_HOLD_MILLIS - 1);
    assertThat(side(RenderLifecycle.DLQ)).isEmpty();
    h.setProcessingTime(START + RenderLifecycle.EARLY_HOLD_MILLIS);
    assertThat(statuses()).isEmpty();
    assertThat(side(RenderLifecycle.DLQ))
        .extracting(DeadLetter::getSourceTopic)
        .containsExactly("render.commands");
    assertThat(side(RenderLifecycle.DLQ))
        .extracting(DeadLetter::getErrorClass)
        .containsExactly("UnknownRender");
    // Expired means forgotten: a request arriving later starts from scratch.
    in(Fixtures.request("nope"));
    assertThat(states()).containsExactly("ACCEPTED/BASE", "QUEUED/BASE");
  }

  /**
   * A job restored from an older checkpoint re-reads the topics side by side: here the worker's
   * STARTED and COMPLETED of the first attempt come before the request (ClusterFaultIT's hang).
   */
  @Test
  void stageEventsThatComeBeforeTheirRequestApplyOnceItArrives() throws Exception {
    in(Fixtures.event("r-early", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    for (int step = 0; step < RenderLifecycle.EARLY_MAX + 10; step++) {
      in(Fixtures.event("r-early", Stage.BASE, 1, StageEventType.PROGRESS, "w1"));
    }
    in(Fixtures.completed("r-early", Stage.BASE, 1, "w1"));
    assertThat(statuses()).isEmpty();
    h.setProcessingTime(START + 5_000);
    in(Fixtures.request("r-early"));
    assertThat(states()).startsWith("ACCEPTED/BASE", "QUEUED/BASE", "RENDERING/BASE");
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getStage()).isEqualTo(Stage.UPSCALE);
    // The base task queued with the request is withdrawn: its worker already ran it.
    assertThat(side(RenderLifecycle.POOL))
        .extracting(c -> c.kind + " " + (c.task == null ? c.pool : c.task.getTaskId()))
        .containsExactly("ENQUEUE r-early:BASE:1", "ENQUEUE r-early:UPSCALE:1", "REMOVE BASE");
    // Applied once: the hold's timer is gone with it, nothing more happens when it would fire.
    int before = statuses().size();
    h.setProcessingTime(START + RenderLifecycle.EARLY_HOLD_MILLIS + 1);
    assertThat(statuses()).hasSize(before);
    assertThat(side(RenderLifecycle.DLQ)).isEmpty();
  }

  @Test
  void aCancelThatComesBeforeItsRequestCancelsTheRenderAcrossARestore() throws Exception {
    in(Fixtures.cancel("r-early-cancel"));
    restore(START);
    in(Fixtures.request("r-early-cancel"));
    assertThat(states()).containsExactly("ACCEPTED/BASE", "QUEUED/BASE", "CANCELLED/BASE");
    assertThat(side(RenderLifecycle.POOL))
        .extracting(c -> c.kind)
        .containsExactly(PoolCommand.Kind.ENQUEUE, PoolCommand.Kind.REMOVE);
    assertThat(side(RenderLifecycle.DLQ)).isEmpty();
  }

  @Test
  void stateSurvivesASnapshotAndRestore() throws Exception {
    in(Fixtures.request("r-12"));
    in(Fixtures.event("r-12", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    restore(START);
    in(Fixtures.completed("r-12", Stage.BASE, 1, "w1"));
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getStage()).isEqualTo(Stage.UPSCALE);
    assertThat(last().getVersion()).isEqualTo(4L << RenderLifecycle.VERSION_SHIFT);
    // The lease timer of the running attempt survived too: after the upscale stage starts and
    // stops heartbeating, its lease expires.
    in(Fixtures.event("r-12", Stage.UPSCALE, 1, StageEventType.STARTED, "u1"));
    h.setProcessingTime(START + LEASE + 1);
    assertThat(last().getAttempt()).isEqualTo(2);
    assertThat(last().getStage()).isEqualTo(Stage.UPSCALE);
  }

  @Test
  void aRestoredLeaseWaitsOneLeaseForTheHeartbeatsOfLiveWorkers() throws Exception {
    in(Fixtures.request("r-13"));
    in(Fixtures.event("r-13", Stage.BASE, 1, StageEventType.STARTED, "w1"));
    restore(START);
    // the failover took longer than the lease: the restored deadline has passed
    long restoredAt = START + 3 * LEASE;
    h.setProcessingTime(restoredAt);
    assertThat(statuses()).isEmpty(); // not fenced at once
    h.setProcessingTime(restoredAt + LEASE / 2);
    in(Fixtures.event("r-13", Stage.BASE, 1, StageEventType.HEARTBEAT, "w1"));
    h.setProcessingTime(restoredAt + LEASE + 1);
    assertThat(statuses()).isEmpty(); // the heartbeat renewed it past the grace
    // a worker that is really gone is fenced one lease after its last heartbeat
    h.setProcessingTime(restoredAt + LEASE / 2 + LEASE + 1);
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getAttempt()).isEqualTo(2);
  }

  // ---- renders taken over after a start without state -------------------------------------

  /** What a lost job had written for a render: QUEUED or RENDERING, 2 attempts, version seq 5. */
  private static RenderStatus lostStatus(String id, RenderState state, Stage stage) {
    RenderRecord rec = new RenderRecord();
    rec.request = Fixtures.request(id);
    rec.state = state;
    rec.stage = stage;
    rec.attempt = 2;
    rec.attempts = 2;
    rec.seq = 5;
    rec.priority = 5;
    rec.createdAt = START;
    rec.lineageRunId = LineageJson.runId(id);
    return RenderLifecycle.status(rec, START, null, null);
  }

  private void recovered(
      String id,
      RenderStatus last,
      dev.reelflow.schemas.avro.StageEvent base,
      dev.reelflow.schemas.avro.StageEvent fin)
      throws Exception {
    RecoveredRender r = new RecoveredRender();
    r.request = Fixtures.request(id);
    r.lastStatus = last;
    r.baseCompleted = base;
    r.finalCompleted = fin;
    h.processElement(new StreamRecord<>(Inbound.recovered(r)));
  }

  @Test
  void aTakenOverRenderIsDispatchedAboveTheLostAttemptsAndVersions() throws Exception {
    RenderStatus last = lostStatus("r-t", RenderState.RENDERING, Stage.BASE);
    recovered("r-t", last, null, null);
    assertThat(states()).containsExactly("QUEUED/BASE");
    assertThat(last().getVersion()).isGreaterThan(last.getVersion());
    assertThat(last().getCreatedAt()).isEqualTo(last.getCreatedAt());
    PoolCommand task = side(RenderLifecycle.POOL).get(0);
    assertThat(task.task.getTaskId()).isEqualTo("r-t:BASE:3");
    assertThat(task.task.getFinalPrefix()).isEqualTo("demo/2026/11/25/r-t/final/");

    // Late events of the lost job's attempts are fenced; the new attempt runs.
    in(Fixtures.event("r-t", Stage.BASE, 2, StageEventType.HEARTBEAT, "old"));
    assertThat(states()).containsExactly("QUEUED/BASE");
    in(Fixtures.event("r-t", Stage.BASE, 3, StageEventType.STARTED, "w1"));
    assertThat(last().getState()).isEqualTo(RenderState.RENDERING);
    // A retryable failure still has the full retry budget (3 attempts from the floor).
    in(Fixtures.failed("r-t", Stage.BASE, 3, ErrorCode.ENGINE_ERROR, true));
    assertThat(last().getState()).isEqualTo(RenderState.QUEUED);
    assertThat(last().getAttempt()).isEqualTo(4);
    // The same request arriving again (its offset was not committed) is a duplicate.
    int before = statuses().size();
    in(Fixtures.request("r-t"));
    assertThat(statuses()).hasSize(before);
  }

  @Test
  void aTakenOverRenderWhoseFinalStageCompletedEndsWithItsOutputs() throws Exception {
    RenderStatus last = lostStatus("r-f", RenderState.UPSCALING, Stage.UPSCALE);
    recovered("r-f", last, null, Fixtures.completed("r-f", Stage.UPSCALE, 1, "u1"));
    assertThat(states()).containsExactly("SUCCEEDED/UPSCALE");
    assertThat(last().getVersion()).isGreaterThan(last.getVersion());
    assertThat(last().getOutputs())
        .extracting(o -> o.getKey())
        .contains("demo/2026/11/25/r-f/final/video.mp4");
    assertThat(side(RenderLifecycle.POOL)).isEmpty();
  }

  @Test
  void aTakenOverRenderWhoseBaseCompletedIsUpscaledAboveTheLostAttempts() throws Exception {
    RenderStatus last = lostStatus("r-b", RenderState.QUEUED, Stage.UPSCALE);
    recovered("r-b", last, Fixtures.completed("r-b", Stage.BASE, 2, "w1"), null);
    assertThat(states()).containsExactly("QUEUED/UPSCALE");
    PoolCommand up = side(RenderLifecycle.POOL).get(0);
    assertThat(up.task.getTaskId()).isEqualTo("r-b:UPSCALE:3");
    assertThat(up.task.getInputs())
        .containsEntry("latents", "demo/2026/11/25/r-b/base/attempt-2/latents.safetensors");
  }

  @Test
  void aLostAttemptThatPublishesAfterTheTakeOverEndsTheRenderOnce() throws Exception {
    RenderStatus last = lostStatus("r-l", RenderState.RENDERING, Stage.UPSCALE);
    recovered("r-l", last, Fixtures.completed("r-l", Stage.BASE, 1, "w1"), null);
    in(Fixtures.event("r-l", Stage.UPSCALE, 3, StageEventType.STARTED, "u2"));
    // The lost job's upscale attempt 2 finishes and publishes the final objects.
    in(Fixtures.completed("r-l", Stage.UPSCALE, 2, "u1"));
    assertThat(last().getState()).isEqualTo(RenderState.SUCCEEDED);
    assertThat(side(RenderLifecycle.COMMANDS))
        .singleElement()
        .satisfies(c -> assertThat(c.getReason()).contains("earlier attempt"));
    // The running attempt's own completion (refused publish or not) changes nothing.
    int before = statuses().size();
    in(Fixtures.completed("r-l", Stage.UPSCALE, 3, "u2"));
    assertThat(statuses()).hasSize(before);
    assertThat(statuses().stream().filter(s -> s.getState() == RenderState.SUCCEEDED)).hasSize(1);
  }

  @Test
  void aTakenOverRenderTheJobAlreadyKnowsIsIgnored() throws Exception {
    in(Fixtures.request("r-k"));
    int before = statuses().size();
    recovered("r-k", lostStatus("r-k", RenderState.QUEUED, Stage.BASE), null, null);
    assertThat(statuses()).hasSize(before);
  }

  @Test
  void aRenderWhoseRequestIsPastRetentionEndsFailedWithAReason() {
    RenderStatus last = lostStatus("r-g", RenderState.QUEUED, Stage.BASE);
    RenderStatus failed = UnfinishedRenders.lost(last, START + 1_000);
    assertThat(failed.getState()).isEqualTo(RenderState.FAILED);
    assertThat(failed.getVersion()).isGreaterThan(last.getVersion());
    assertThat(failed.getError().getRetryable()).isFalse();
    assertThat(failed.getError().getMessage()).contains("render.requests").contains("Submit it");
    assertThat(UnfinishedRenders.finished(failed)).isTrue();
  }
}
