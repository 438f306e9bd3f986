package dev.reelflow.orchestrator;

import dev.reelflow.schemas.WireNumbers;
import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.ErrorInfo;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.storage.ArtifactKeys;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeHint;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one render, keyed by request id: ACCEPTED → QUEUED(BASE) → RENDERING →
 * QUEUED(UPSCALE) → UPSCALING → SUCCEEDED, with FAILED, CANCELLED and EXPIRED. It decides what is
 * queued (a {@link PoolCommand} to the pool's {@link DispatchScheduler}); the scheduler decides
 * when and where. A worker's STARTED (or first heartbeat) of the current attempt confirms the
 * dispatch. Every transition emits a {@link RenderStatus} with a growing version ({@code seq <<
 * 20}; the scheduler's queue-position updates fill the gaps between two of them).
 *
 * <p>Leases: a running attempt without heartbeat for the lease is fenced (its late events are
 * ignored) and attempt n+1 is queued, unless the {@link LeaseStallGuard} sees the input stalled
 * rather than the worker dead (several workers fell silent together): then the lease is held until
 * input resumes (at most {@code task.lease.stall-hold}). Retryable failures retry after an
 * exponential backoff; permanent failures and exhausted retries end FAILED with a dead letter.
 *
 * <p>Deadlines: a queued render ends EXPIRED as soon as the work it still needs (the {@link
 * StageDurations} estimate) no longer fits before its deadline, so it is never dispatched in vain;
 * a running one ends EXPIRED at the deadline. Either way a CANCEL goes to render.commands, which
 * the workers read, so a worker that holds the task stops it.
 */
final class RenderLifecycle extends KeyedProcessFunction<String, Inbound, RenderStatus>
    implements CheckpointedFunction, CheckpointListener {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(RenderLifecycle.class);

  static final OutputTag<PoolCommand> POOL = new OutputTag<>("pool-commands") {};
  static final OutputTag<LineageRecord> LINEAGE = new OutputTag<>("lineage") {};
  static final OutputTag<DeadLetter> DLQ = new OutputTag<>("lifecycle-dead-letters") {};

  /** Cancels of expired renders for the workers (render.commands). */
  static final OutputTag<RenderCommand> COMMANDS = new OutputTag<>("lifecycle-commands") {};

  /** Bits left free below each lifecycle version for the scheduler's position updates. */
  static final int VERSION_SHIFT = 20;

  private final long leaseMillis;

  /**
   * No lease expires before this time: one lease after the first element or timer of this
   * (re)started operator. Restored lease deadlines date from before the failover, while the live
   * workers' heartbeats since then are still unread in the topic; with a lease of a few seconds,
   * expiring at once would re-run every render in flight after each restore.
   */
  private transient long leaseGraceUntil;

  private final long stallHoldMillis;
  private transient LeaseStallGuard stallGuard;
  private final OrchestratorConfig.RetryPolicy retry;
  private final long retentionMillis;
  private final String bucket;
  private final long expectedBaseMillis;
  private final long expectedUpscaleMillis;

  /**
   * Where the job's checkpoints go ({@code checkpoint.dir}); empty: none. Subtask 0 deletes the
   * folders of older jobs there after this job's first completed checkpoint.
   */
  private String checkpointDir = "";

  private transient boolean prunedOlderJobs;

  private transient ValueState<RenderRecord> state;

  /**
   * Commands and stage events of a render this job does not know yet, held until its request
   * arrives ({@link #EARLY_HOLD_MILLIS}). A job restored from a checkpoint re-reads every input
   * topic from the checkpoint's offsets, and the topics are read side by side: a worker's COMPLETED
   * (or a user's CANCEL) can come before the request it belongs to. Dropping it would leave the
   * render queued again for an attempt whose worker already finished it (the hang ClusterFaultIT
   * found); held, it applies right after the request, as it did the first time.
   */
  private transient ListState<Inbound> early;

  /** When the held inputs expire (f0, epoch millis) and how many are held (f1). */
  private transient ValueState<Tuple2<Long, Integer>> earlyMeta;

  private transient ListState<Tuple2<String, Double>> durationState;
  private transient StageDurations durations;
  private transient LineageJson lineage;
  private transient Counter duplicates;
  private transient Counter fenced;
  private transient Counter secondRunners;
  private transient Counter afterFinal;
  private transient Counter earlyHeld;
  private transient Counter earlyDropped;
  private transient Counter retries;
  private transient Counter leasesExpired;
  private transient Counter leasesHeld;
  private transient Counter expiredInfeasible;
  private transient Map<RenderState, Counter> finals;

  RenderLifecycle(OrchestratorConfig config) {
    this(
        config.lease().toMillis(),
        config.retry(),
        config.stateRetention().toMillis(),
        config.bucket(),
        config.expectedBase().toMillis(),
        config.expectedUpscale().toMillis(),
        config.leaseStallHold().toMillis());
    this.checkpointDir = config.checkpointDir() == null ? "" : config.checkpointDir();
  }

  RenderLifecycle(
      long leaseMillis, OrchestratorConfig.RetryPolicy retry, long retentionMillis, String bucket) {
    this(leaseMillis, retry, retentionMillis, bucket, 0, 0);
  }

  RenderLifecycle(
      long leaseMillis,
      OrchestratorConfig.RetryPolicy retry,
      long retentionMillis,
      String bucket,
      long expectedBaseMillis,
      long expectedUpscaleMillis) {
    this(leaseMillis, retry, retentionMillis, bucket, expectedBaseMillis, expectedUpscaleMillis, 0);
  }

  /** As above, with the {@link LeaseStallGuard}'s longest hold ({@code 0}: guard off). */
  RenderLifecycle(
      long leaseMillis,
      OrchestratorConfig.RetryPolicy retry,
      long retentionMillis,
      String bucket,
      long expectedBaseMillis,
      long expectedUpscaleMillis,
      long stallHoldMillis) {
    this.leaseMillis = leaseMillis;
    this.stallHoldMillis = stallHoldMillis;
    this.retry = retry;
    this.retentionMillis = retentionMillis;
    this.bucket = bucket;
    this.expectedBaseMillis = expectedBaseMillis;
    this.expectedUpscaleMillis = expectedUpscaleMillis;
  }

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    durations = new StageDurations(expectedBaseMillis, expectedUpscaleMillis);
    durationState =
        context
            .getOperatorStateStore()
            .getUnionListState(
                new ListStateDescriptor<>(
                    "stage-durations",
                    TypeInformation.of(new TypeHint<Tuple2<String, Double>>() {})));
    if (context.isRestored()) {
      durations.restore(durationState.get());
    }
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) {
    if (prunedOlderJobs
        || checkpointDir.isEmpty()
        || getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() != 0) {
      return;
    }
    prunedOlderJobs = true;
    try {
      RetainedCheckpoints.pruneOtherJobs(
          checkpointDir, getRuntimeContext().getJobInfo().getJobId().toHexString());
    } catch (IOException | RuntimeException e) {
      // Housekeeping only: the job runs on with the old folders left.
      LOG.warn("could not prune the checkpoint folders of older jobs: {}", e.toString());
    }
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    durationState.update(durations.snapshot());
  }

  @Override
  public void open(OpenContext openContext) {
    state = getRuntimeContext().getState(new ValueStateDescriptor<>("render", RenderRecord.class));
    early =
        getRuntimeContext().getListState(new ListStateDescriptor<>("early-inputs", Inbound.class));
    earlyMeta =
        getRuntimeContext()
            .getState(
                new ValueStateDescriptor<>(
                    "early-inputs-meta",
                    TypeInformation.of(new TypeHint<Tuple2<Long, Integer>>() {})));
    lineage = new LineageJson(bucket);
    MetricGroup g = getRuntimeContext().getMetricGroup().addGroup("lifecycle");
    duplicates = g.counter("duplicateRequests");
    fenced = g.counter("fencedEvents");
    secondRunners = g.counter("fencedSecondRunnerEvents");
    afterFinal = g.counter("eventsAfterFinal");
    earlyHeld = g.counter("inputsHeldForTheirRequest");
    earlyDropped = g.counter("inputsDroppedWithoutRequest");
    retries = g.counter("retries");
    leasesExpired = g.counter("leasesExpired");
    leasesHeld = g.counter("leasesHeldForStalledInput");
    stallGuard = new LeaseStallGuard(leaseMillis, stallHoldMillis);
    expiredInfeasible = g.counter("expiredBeforeDispatch");
    finals = new EnumMap<>(RenderState.class);
    for (RenderState s :
        new RenderState[] {
          RenderState.SUCCEEDED, RenderState.FAILED, RenderState.CANCELLED, RenderState.EXPIRED
        }) {
      finals.put(s, g.addGroup("final_state", s.name()).counter("renders"));
    }
  }

  @Override
  public void processElement(Inbound in, Context ctx, Collector<RenderStatus> out)
      throws Exception {
    long now = ctx.timerService().currentProcessingTime();
    startGrace(now);
    if (in.request != null) {
      onRequest(in.request, now, ctx, out);
      applyEarly(now, ctx, out);
    } else if (in.recovered != null) {
      onRecovered(in.recovered, now, ctx, out);
      applyEarly(now, ctx, out);
    } else if (state.value() == null && (in.command != null || in.stageEvent != null)) {
      holdEarly(in, now, ctx);
    } else if (in.command != null) {
      onCommand(in.command, now, ctx, out);
    } else if (in.stageEvent != null) {
      onStageEvent(in.stageEvent, now, ctx, out);
    }
  }

  /**
   * How long a command or stage event waits for its render's request. Long enough for a restored
   * job to read its backlog up to the request; a command still unknown after it is dead-lettered.
   */
  static final long EARLY_HOLD_MILLIS = 120_000;

  /**
   * Held inputs per render at most; beyond it heartbeats and progress are dropped (they only
   * refresh the lease and the step), starts, completions, failures and commands are always held.
   */
  static final int EARLY_MAX = 64;

  private void holdEarly(Inbound in, long now, Context ctx) throws Exception {
    Tuple2<Long, Integer> meta = earlyMeta.value();
    if (meta == null) {
      meta = Tuple2.of(now + EARLY_HOLD_MILLIS, 0);
      ctx.timerService().registerProcessingTimeTimer(meta.f0);
    }
    if (meta.f1 >= EARLY_MAX
        && in.stageEvent != null
        && (in.stageEvent.getType() == StageEventType.HEARTBEAT
            || in.stageEvent.getType() == StageEventType.PROGRESS)) {
      earlyDropped.inc();
      return;
    }
    early.add(in);
    meta.f1++;
    earlyMeta.update(meta);
    earlyHeld.inc();
  }

  /** Applies the inputs held for this render, in the order they came, once it is known. */
  private void applyEarly(long now, Context ctx, Collector<RenderStatus> out) throws Exception {
    Tuple2<Long, Integer> meta = earlyMeta.value();
    if (meta == null || state.value() == null) {
      return;
    }
    List<Inbound> held = new ArrayList<>();
    early.get().forEach(held::add);
    early.clear();
    earlyMeta.clear();
    ctx.timerService().deleteProcessingTimeTimer(meta.f0);
    LOG.info(
        "render {}: applying {} input(s) that came before its request",
        ctx.getCurrentKey(),
        held.size());
    RenderRecord before = state.value();
    boolean queued = before.state == RenderState.QUEUED && before.retryAt == 0;
    Stage queuedStage = before.stage;
    int queuedAttempt = before.attempt;
    for (Inbound in : held) {
      if (in.command != null) {
        onCommand(in.command, now, ctx, out);
      } else {
        onStageEvent(in.stageEvent, now, ctx, out);
      }
    }
    RenderRecord after = state.value();
    if (queued
        && after.state != RenderState.CANCELLED // a cancel withdraws it itself
        && !(after.state == RenderState.QUEUED
            && after.stage == queuedStage
            && after.attempt == queuedAttempt)) {
      // The task just queued was started (or finished) by a worker already: not again.
      ctx.output(POOL, PoolCommand.remove(queuedStage.name(), after.request.getRequestId()));
    }
  }

  /** The hold ran out and the render is still unknown: commands are dead-lettered. */
  private void expireEarly(long now, Context ctx) throws Exception {
    for (Inbound in : early.get()) {
      if (in.command != null) {
        RenderCommand c = in.command;
        ctx.output(
            DLQ,
            deadLetter(
                TopicNames.COMMANDS,
                c.getRequestId(),
                "UnknownRender",
                c.getType()
                    + " command "
                    + c.getCommandId()
                    + " for an unknown render (no request within "
                    + EARLY_HOLD_MILLIS / 1000
                    + " s)",
                now));
      } else {
        earlyDropped.inc();
      }
    }
    early.clear();
    earlyMeta.clear();
  }

  /**
   * An unfinished render found on the topics by a job that started without state (see {@link
   * UnfinishedRenders}). Ignored when this job knows the render (its state was restored after all,
   * or its request arrived first). Continues above the last status version and above every attempt
   * made before, so nothing of the lost job's attempts is mistaken for this job's.
   */
  private void onRecovered(RecoveredRender r, long now, Context ctx, Collector<RenderStatus> out)
      throws Exception {
    if (state.value() != null) {
      duplicates.inc();
      return;
    }
    RenderRequest req = r.request;
    RenderStatus last = r.lastStatus;
    RenderRecord rec = new RenderRecord();
    rec.request = req;
    rec.priority = last != null ? last.getPriority() : req.getPriority();
    Instant deadline = last != null ? last.getDeadline() : req.getDeadline();
    rec.deadline = deadline == null ? null : deadline.toEpochMilli();
    // The artifact keys derive from createdAt: keep the lost job's, so the final keys stay the
    // same.
    rec.createdAt =
        last != null && last.getCreatedAt() != null
            ? last.getCreatedAt().toEpochMilli()
            : req.getSubmittedAt() == null
                    || !WireNumbers.isSafe(req.getSubmittedAt().toEpochMilli())
                ? now
                : req.getSubmittedAt().toEpochMilli();
    rec.lineageRunId = LineageJson.runId(req.getRequestId());
    rec.seq = last == null ? 0 : last.getVersion() >>> VERSION_SHIFT;
    rec.attempts = last == null ? 0 : last.getAttempts();
    rec.attemptFloor = rec.attempts + 1;
    rec.state = RenderState.ACCEPTED;
    rec.stage = Stage.BASE;
    LOG.info(
        "taking over render {} after a start without state (last status {}, {} attempts,"
            + " base done: {}, final done: {})",
        req.getRequestId(),
        last == null ? "none" : last.getState() + "/" + last.getStage(),
        rec.attempts,
        r.baseCompleted != null,
        r.finalCompleted != null);
    if (last == null) {
      ctx.output(LINEAGE, lineage.start(req, now));
    }
    if (rec.deadline != null) {
      if (rec.deadline <= now) {
        finish(rec, RenderState.EXPIRED, now, deadlineError(), null, ctx, out);
        return;
      }
      ctx.timerService().registerProcessingTimeTimer(rec.deadline);
    }
    if (r.finalCompleted != null) {
      // Its final objects exist (write-once); the lost job never recorded the completion.
      rec.stage = r.finalCompleted.getStage();
      rec.attempt = r.finalCompleted.getAttempt();
      onCompleted(rec, r.finalCompleted, now, ctx, out);
      return;
    }
    if (r.baseCompleted != null) {
      rec.stage = Stage.BASE;
      rec.attempt = r.baseCompleted.getAttempt();
      onCompleted(rec, r.baseCompleted, now, ctx, out);
      return;
    }
    enqueue(rec, Stage.BASE, rec.attemptFloor, now, ctx, out);
  }

  // ---- requests -------------------------------------------------------------------------

  private void onRequest(RenderRequest r, long now, Context ctx, Collector<RenderStatus> out)
      throws Exception {
    if (state.value() != null) {
      duplicates.inc();
      LOG.debug("duplicate request {} ignored", r.getRequestId());
      return;
    }
    RenderRecord rec = new RenderRecord();
    rec.request = r;
    rec.priority = r.getPriority();
    rec.deadline = r.getDeadline() == null ? null : r.getDeadline().toEpochMilli();
    rec.createdAt =
        r.getSubmittedAt() == null || !WireNumbers.isSafe(r.getSubmittedAt().toEpochMilli())
            ? now
            : r.getSubmittedAt().toEpochMilli();
    rec.lineageRunId = LineageJson.runId(r.getRequestId());
    rec.state = RenderState.ACCEPTED;
    rec.stage = Stage.BASE;
    emit(rec, now, null, null, out);
    ctx.output(LINEAGE, lineage.start(r, now));
    try {
      ArtifactKeys.validateId("tenant", r.getTenant());
      ArtifactKeys.validateId("requestId", r.getRequestId());
      requireSafeNumbers(r);
    } catch (IllegalArgumentException e) {
      // Its artifacts could not have keys: refuse it instead of failing the job.
      ErrorInfo err =
          ErrorInfo.newBuilder()
              .setCode(ErrorCode.BAD_PARAMETERS)
              .setMessage(e.getMessage())
              .setRetryable(false)
              .build();
      ctx.output(DLQ, deadLetter(r.getRequestId(), "BAD_PARAMETERS", e.getMessage(), now));
      finish(rec, RenderState.FAILED, now, err, null, ctx, out);
      return;
    }
    if (rec.deadline != null && rec.deadline <= now) {
      finish(rec, RenderState.EXPIRED, now, deadlineError(), null, ctx, out);
      return;
    }
    if (rec.deadline != null) {
      ctx.timerService().registerProcessingTimeTimer(rec.deadline);
    }
    enqueue(rec, Stage.BASE, 1, now, ctx, out);
  }

  /**
   * Ingest keeps seeds in 0..2^53 − 2 and times before the year 10000; a record written to
   * render.requests by another producer is held to the same range, since every number of it reaches
   * the status, task and lineage consumers ({@link WireNumbers}).
   */
  static void requireSafeNumbers(RenderRequest r) {
    long seed = r.getParams().getSeed();
    if (!WireNumbers.isValidSeed(seed)) {
      throw new IllegalArgumentException(
          "params.seed " + WireNumbers.seedRangeMessage(Long.toString(seed)));
    }
    if (r.getDeadline() != null && r.getDeadline().isAfter(WireNumbers.MAX_TIME)) {
      throw new IllegalArgumentException("deadline must be at most " + WireNumbers.MAX_TIME);
    }
  }

  // ---- commands -------------------------------------------------------------------------

  private void onCommand(RenderCommand c, long now, Context ctx, Collector<RenderStatus> out)
      throws Exception {
    RenderRecord rec = state.value();
    if (!rec.request.getTenant().equals(c.getTenant())) {
      ctx.output(
          DLQ,
          deadLetter(
              TopicNames.COMMANDS,
              c.getRequestId(),
              "TenantMismatch",
              "tenant " + c.getTenant() + " does not own render " + c.getRequestId(),
              now));
      return;
    }
    if (rec.terminal()) {
      return;
    }
    if (c.getType() == CommandType.CANCEL) {
      if (rec.state == RenderState.QUEUED) {
        ctx.output(POOL, PoolCommand.remove(rec.stage.name(), rec.request.getRequestId()));
      }
      // A running attempt is stopped by its worker, which reads render.commands itself; its late
      // events are ignored because the render is final.
      String reason = c.getReason() == null ? "cancelled" : c.getReason();
      ErrorInfo err =
          ErrorInfo.newBuilder()
              .setCode(ErrorCode.CANCELLED)
              .setMessage(reason)
              .setRetryable(false)
              .build();
      finish(rec, RenderState.CANCELLED, now, err, null, ctx, out);
      return;
    }
    // REPRIORITIZE
    if (c.getPriority() != null) {
      rec.priority = Math.max(0, Math.min(9, c.getPriority()));
    }
    if (c.getDeadline() != null) {
      rec.deadline = c.getDeadline().toEpochMilli();
      ctx.timerService().registerProcessingTimeTimer(rec.deadline);
    }
    if (rec.state == RenderState.QUEUED && rec.retryAt == 0) {
      ctx.output(
          POOL,
          PoolCommand.reprioritize(
              rec.stage.name(), rec.request.getRequestId(), rec.priority, rec.deadline));
    }
    emit(rec, now, null, null, out);
    state.update(rec);
  }

  // ---- worker events --------------------------------------------------------------------

  private void onStageEvent(StageEvent e, long now, Context ctx, Collector<RenderStatus> out)
      throws Exception {
    RenderRecord rec = state.value();
    if (rec.terminal()) {
      // Not fenced (no later attempt refused it): the render is over, e.g. a heartbeat that crossed
      // the COMPLETED, progress that crossed a cancel. Counted apart from fencedEvents.
      afterFinal.inc();
      return;
    }
    if (lostAttemptPublished(rec, e)) {
      // An attempt of the job whose state was lost finished the final stage after the render was
      // taken over: its write-once final objects are the render's result, so the render ends with
      // them, and the attempt queued or running now is withdrawn (it could only be refused).
      LOG.info(
          "render {}: attempt {} of the lost job completed {}; ending SUCCEEDED with its outputs",
          rec.request.getRequestId(),
          e.getAttempt(),
          e.getStage());
      if (rec.state == RenderState.QUEUED && rec.retryAt == 0) {
        ctx.output(POOL, PoolCommand.remove(rec.stage.name(), rec.request.getRequestId()));
      }
      if (rec.state == RenderState.QUEUED || rec.running()) {
        ctx.output(
            COMMANDS,
            RenderCommand.newBuilder()
                .setCommandId("superseded-" + rec.request.getRequestId())
                .setRequestId(rec.request.getRequestId())
                .setTenant(rec.request.getTenant())
                .setType(CommandType.CANCEL)
                .setReason("completed by an earlier attempt")
                .setIssuedAt(Instant.ofEpochMilli(now))
                .build());
      }
      rec.stage = e.getStage();
      rec.attempt = e.getAttempt();
      onCompleted(rec, e, now, ctx, out);
      return;
    }
    if (e.getStage() != rec.stage || e.getAttempt() != rec.attempt || rec.retryAt != 0) {
      fenced.inc();
      LOG.debug(
          "fenced event {} of {} (current {}:{})",
          e.getType(),
          e.getTaskId(),
          rec.stage,
          rec.attempt);
      return;
    }
    if (rec.running() && rec.workerId != null && !rec.workerId.equals(e.getWorkerId())) {
      // A second runner of the running attempt: the scheduler took the release back before the
      // first runner's STARTED was read (the orchestrator behind its input) and released it again.
      // The worker whose STARTED came first owns the attempt; the other's results are refused.
      fenced.inc();
      secondRunners.inc();
      LOG.info(
          "fenced {} of {} from worker {}: the attempt runs on {}",
          e.getType(),
          e.getTaskId(),
          e.getWorkerId(),
          rec.workerId);
      return;
    }
    switch (e.getType()) {
      case STARTED, HEARTBEAT, PROGRESS -> {
        boolean changed = false;
        if (rec.state == RenderState.QUEUED) {
          rec.state = rec.stage == Stage.BASE ? RenderState.RENDERING : RenderState.UPSCALING;
          rec.workerId = e.getWorkerId();
          rec.runningSince = now;
          ctx.output(
              LINEAGE,
              lineage.running(
                  rec.request,
                  rec.stage,
                  rec.attempt,
                  rec.workerId,
                  rec.stage == Stage.UPSCALE
                      ? new ArrayList<>(rec.upscaleInputs.values())
                      : new ArrayList<>(),
                  now));
          changed = true;
        }
        if (e.getStep() != null) {
          rec.step = e.getStep();
          rec.totalSteps = e.getTotalSteps();
          rec.etaMillis = e.getEtaMillis();
          changed = true;
        }
        rec.leaseUntil = now + leaseMillis;
        stallGuard.heard(rec.request.getRequestId(), e.getWorkerId(), now);
        if (rec.leaseTimer == 0) {
          rec.leaseTimer = rec.leaseUntil;
          ctx.timerService().registerProcessingTimeTimer(rec.leaseTimer);
        }
        if (changed) {
          emit(rec, now, null, null, out);
        }
        state.update(rec);
      }
      case COMPLETED -> onCompleted(rec, e, now, ctx, out);
      case FAILED -> {
        ErrorInfo err =
            e.getError() != null
                ? e.getError()
                : ErrorInfo.newBuilder()
                    .setCode(ErrorCode.INTERNAL)
                    .setMessage("worker reported a failure without error")
                    .setRetryable(false)
                    .build();
        failAttempt(rec, err, now, ctx, out, true);
      }
      default -> {}
    }
  }

  /** A COMPLETED of the final stage by an attempt made before this render was taken over. */
  private static boolean lostAttemptPublished(RenderRecord rec, StageEvent e) {
    return rec.attemptFloor > 0
        && e.getAttempt() < rec.attemptFloor
        && e.getType() == dev.reelflow.schemas.avro.StageEventType.COMPLETED
        && (e.getStage() == Stage.UPSCALE
            || rec.request.getParams().getUpscale() == UpscaleTarget.NONE);
  }

  private void onCompleted(
      RenderRecord rec, StageEvent e, long now, Context ctx, Collector<RenderStatus> out)
      throws Exception {
    clearLease(rec, ctx);
    if (rec.runningSince > 0) {
      durations.observe(rec.stage, rec.request.getParams(), now - rec.runningSince);
    }
    boolean last =
        rec.stage == Stage.UPSCALE || rec.request.getParams().getUpscale() == UpscaleTarget.NONE;
    if (last) {
      // The published result lives under .../final/; a stage manifest next to it is not part of it.
      String finalPrefix =
          ArtifactKeys.finalPrefix(
              rec.request.getTenant(),
              Instant.ofEpochMilli(rec.createdAt),
              rec.request.getRequestId());
      List<OutputArtifact> finals = new ArrayList<>();
      for (OutputArtifact a : e.getOutputs()) {
        String n = a.getName();
        if ((n.equals("video") || n.equals("poster") || n.equals("manifest"))
            && a.getKey().startsWith(finalPrefix)) {
          finals.add(a);
        }
      }
      ctx.output(LINEAGE, lineage.complete(rec.request, finals, e.getFacts(), now));
      finish(rec, RenderState.SUCCEEDED, now, null, finals, ctx, out);
      return;
    }
    Map<String, String> inputs = new HashMap<>();
    for (OutputArtifact a : e.getOutputs()) {
      if (a.getName().equals("latents")
          || a.getName().equals("preview")
          || a.getName().equals("manifest")) {
        inputs.put(a.getName(), a.getKey());
      }
    }
    if (inputs.size() < 3) {
      ErrorInfo err =
          ErrorInfo.newBuilder()
              .setCode(ErrorCode.ENGINE_ERROR)
              .setMessage(
                  "base stage "
                      + e.getTaskId()
                      + " completed without latents, preview and manifest outputs (got "
                      + inputs.keySet()
                      + ")")
              .setRetryable(false)
              .build();
      failAttempt(rec, err, now, ctx, out, false);
      return;
    }
    rec.upscaleInputs = inputs;
    enqueue(rec, Stage.UPSCALE, Math.max(1, rec.attemptFloor), now, ctx, out);
  }

  /** A failed or lost attempt: retry with backoff, or end FAILED with a dead letter. */
  private void failAttempt(
      RenderRecord rec,
      ErrorInfo err,
      long now,
      Context ctx,
      Collector<RenderStatus> out,
      boolean withBackoff)
      throws Exception {
    clearLease(rec, ctx);
    int next = rec.attempt + 1;
    // A render taken over after state loss starts its attempts at the floor, with a full budget.
    int nextOfBudget = next - Math.max(0, rec.attemptFloor - 1);
    if (err.getRetryable() && nextOfBudget <= retry.maxAttempts()) {
      retries.inc();
      long backoff = withBackoff ? retry.backoffMillis(next) : 0;
      if (backoff <= 0) {
        enqueue(rec, rec.stage, next, now, ctx, out);
        return;
      }
      rec.state = RenderState.QUEUED;
      rec.attempt = next;
      // The retry is an attempt from now on, as when enqueue() queues one without a backoff.
      rec.attempts++;
      rec.workerId = null;
      rec.step = null;
      rec.totalSteps = null;
      rec.etaMillis = null;
      rec.retryAt = now + backoff;
      rec.queuedAt = now;
      rec.runningSince = 0;
      ctx.timerService().registerProcessingTimeTimer(rec.retryAt);
      emit(rec, now, err, null, out);
      state.update(rec);
      return;
    }
    ErrorInfo finalErr = err;
    if (err.getRetryable()) {
      finalErr =
          ErrorInfo.newBuilder()
              .setCode(ErrorCode.RETRIES_EXHAUSTED)
              .setMessage(
                  rec.stage
                      + " failed "
                      + rec.attempt
                      + " times, last: "
                      + err.getCode()
                      + " "
                      + err.getMessage())
              .setRetryable(false)
              .build();
    }
    ctx.output(
        DLQ,
        deadLetter(
            rec.request.getRequestId(),
            finalErr.getCode().name(),
            "render failed in stage "
                + rec.stage
                + " attempt "
                + rec.attempt
                + ": "
                + finalErr.getMessage(),
            now));
    finish(rec, RenderState.FAILED, now, finalErr, null, ctx, out);
  }

  // ---- timers ---------------------------------------------------------------------------

  private void startGrace(long now) {
    if (leaseGraceUntil == 0) {
      leaseGraceUntil = now + leaseMillis;
    }
  }

  @Override
  public void onTimer(long ts, OnTimerContext ctx, Collector<RenderStatus> out) throws Exception {
    RenderRecord rec = state.value();
    if (rec == null) {
      Tuple2<Long, Integer> meta = earlyMeta.value();
      if (meta != null && ts >= meta.f0) {
        expireEarly(ctx.timerService().currentProcessingTime(), ctx);
      }
      return;
    }
    long now = ctx.timerService().currentProcessingTime();
    startGrace(now);
    if (rec.terminal()) {
      if (rec.cleanupAt > 0 && ts >= rec.cleanupAt) {
        state.clear();
      }
      return;
    }
    if (rec.deadline != null && ts >= rec.deadline && now >= rec.deadline) {
      expire(
          rec, now, deadlineError(), rec.state == RenderState.QUEUED && rec.retryAt == 0, ctx, out);
      return;
    }
    if (rec.retryAt != 0 && ts >= rec.retryAt) {
      rec.retryAt = 0;
      if (expiredInfeasible(rec, now, false, ctx, out)) {
        return;
      }
      ctx.output(POOL, PoolCommand.enqueue(task(rec, now), status(rec, now, null, null)));
      state.update(rec);
      return;
    }
    if (rec.latestStart != 0 && ts == rec.latestStart) {
      rec.latestStart = 0;
      if (rec.state == RenderState.QUEUED
          && rec.retryAt == 0
          && expiredInfeasible(rec, now, true, ctx, out)) {
        return;
      }
      state.update(rec);
      return;
    }
    if (rec.leaseTimer != 0 && ts == rec.leaseTimer) {
      rec.leaseTimer = 0;
      if (!rec.running() && rec.state != RenderState.QUEUED) {
        state.update(rec);
        return;
      }
      if (now < rec.leaseUntil || now < leaseGraceUntil) {
        rec.leaseTimer = Math.max(rec.leaseUntil, leaseGraceUntil);
        ctx.timerService().registerProcessingTimeTimer(rec.leaseTimer);
        state.update(rec);
        return;
      }
      LeaseStallGuard.Decision d = stallGuard.onLeaseEnd(rec.request.getRequestId(), now);
      if (d.verdict() != LeaseStallGuard.Verdict.FENCE) {
        if (d.verdict() == LeaseStallGuard.Verdict.HOLD && d.news()) {
          leasesHeld.inc();
        }
        if (d.news()) {
          LOG.info(
              "lease of {}:{}:{} (worker {}) {}: {}",
              rec.request.getRequestId(),
              rec.stage,
              rec.attempt,
              rec.workerId,
              d.verdict() == LeaseStallGuard.Verdict.HOLD
                  ? "held, the input looks stalled"
                  : "re-armed for one lease",
              d.reason());
        }
        rec.leaseUntil = d.recheckAt();
        rec.leaseTimer = d.recheckAt();
        ctx.timerService().registerProcessingTimeTimer(rec.leaseTimer);
        state.update(rec);
        return;
      }
      leasesExpired.inc();
      LOG.info(
          "lease of {}:{}:{} (worker {}) expired; fencing it{}",
          rec.request.getRequestId(),
          rec.stage,
          rec.attempt,
          rec.workerId,
          d.reason().isEmpty() ? "" : " (" + d.reason() + ")");
      ErrorInfo err =
          ErrorInfo.newBuilder()
              .setCode(ErrorCode.LEASE_EXPIRED)
              .setMessage(
                  "no heartbeat from worker " + rec.workerId + " within " + leaseMillis + " ms")
              .setRetryable(true)
              .build();
      failAttempt(rec, err, now, ctx, out, false);
    }
  }

  // ---- helpers --------------------------------------------------------------------------

  private void enqueue(
      RenderRecord rec,
      Stage stage,
      int attempt,
      long now,
      Context ctx,
      Collector<RenderStatus> out)
      throws Exception {
    rec.state = RenderState.QUEUED;
    rec.stage = stage;
    rec.attempt = attempt;
    rec.attempts++;
    rec.workerId = null;
    rec.step = null;
    rec.totalSteps = null;
    rec.etaMillis = null;
    rec.retryAt = 0;
    rec.queuedAt = now;
    rec.runningSince = 0;
    if (expiredInfeasible(rec, now, false, ctx, out)) {
      return;
    }
    RenderStatus s = emit(rec, now, null, null, out);
    ctx.output(POOL, PoolCommand.enqueue(task(rec, now), s));
    state.update(rec);
  }

  /**
   * Ends a queued render EXPIRED when its remaining work no longer fits before the deadline;
   * otherwise (re)arms the timer at the latest start that still fits. Returns whether it expired.
   * Leaves {@code rec} unsaved when it did not expire: callers go on and save it. {@code inPool}:
   * the task is in its pool's backlog (or may have been released from it).
   */
  private boolean expiredInfeasible(
      RenderRecord rec, long now, boolean inPool, Context ctx, Collector<RenderStatus> out)
      throws Exception {
    if (rec.deadline == null) {
      return false;
    }
    RenderParams params = rec.request.getParams();
    long remaining = durations.remaining(rec.stage, params);
    if (remaining <= 0) {
      return false;
    }
    long latest = rec.deadline - remaining;
    if (now < latest) {
      if (rec.latestStart != latest) {
        if (rec.latestStart != 0) {
          ctx.timerService().deleteProcessingTimeTimer(rec.latestStart);
        }
        rec.latestStart = latest;
        ctx.timerService().registerProcessingTimeTimer(latest);
      }
      return false;
    }
    expiredInfeasible.inc();
    StringBuilder work =
        new StringBuilder()
            .append(rec.stage)
            .append(" ~")
            .append(seconds(durations.expected(rec.stage, params)));
    if (rec.stage == Stage.BASE && params.getUpscale() != UpscaleTarget.NONE) {
      work.append(", UPSCALE ~").append(seconds(durations.expected(Stage.UPSCALE, params)));
    }
    ErrorInfo err =
        ErrorInfo.newBuilder()
            .setCode(ErrorCode.DEADLINE_EXCEEDED)
            .setMessage(
                "the render cannot finish before its deadline: about "
                    + seconds(remaining)
                    + " of work remain ("
                    + work
                    + ") and the deadline is in "
                    + seconds(Math.max(0, rec.deadline - now)))
            .setRetryable(false)
            .build();
    expire(rec, now, err, inPool, ctx, out);
    return true;
  }

  /**
   * Ends the render EXPIRED: a queued task leaves its pool, and a CANCEL on render.commands stops a
   * worker that holds it (running, or released just before the removal reached the pool).
   */
  private void expire(
      RenderRecord rec,
      long now,
      ErrorInfo err,
      boolean inPool,
      Context ctx,
      Collector<RenderStatus> out)
      throws Exception {
    if (inPool) {
      ctx.output(POOL, PoolCommand.remove(rec.stage.name(), rec.request.getRequestId()));
    }
    if (inPool || rec.running()) {
      ctx.output(
          COMMANDS,
          RenderCommand.newBuilder()
              .setCommandId("expired-" + rec.request.getRequestId())
              .setRequestId(rec.request.getRequestId())
              .setTenant(rec.request.getTenant())
              .setType(CommandType.CANCEL)
              .setReason("expired: " + err.getMessage())
              .setIssuedAt(Instant.ofEpochMilli(now))
              .build());
    }
    finish(rec, RenderState.EXPIRED, now, err, null, ctx, out);
  }

  private static String seconds(long millis) {
    return String.format(java.util.Locale.ROOT, "%.1f s", millis / 1000.0);
  }

  private void finish(
      RenderRecord rec,
      RenderState end,
      long now,
      ErrorInfo err,
      List<OutputArtifact> outputs,
      Context ctx,
      Collector<RenderStatus> out)
      throws Exception {
    clearLease(rec, ctx);
    if (rec.latestStart != 0) {
      ctx.timerService().deleteProcessingTimeTimer(rec.latestStart);
      rec.latestStart = 0;
    }
    rec.state = end;
    rec.retryAt = 0;
    emit(rec, now, err, outputs, out);
    if (end == RenderState.FAILED || end == RenderState.EXPIRED) {
      ctx.output(
          LINEAGE, lineage.fail(rec.request, err == null ? end.name() : err.getMessage(), now));
    } else if (end == RenderState.CANCELLED) {
      ctx.output(
          LINEAGE, lineage.cancelled(rec.request, err == null ? null : err.getMessage(), now));
    }
    finals.get(end).inc();
    rec.cleanupAt = now + retentionMillis;
    ctx.timerService().registerProcessingTimeTimer(rec.cleanupAt);
    state.update(rec);
  }

  private void clearLease(RenderRecord rec, Context ctx) {
    stallGuard.forget(rec.request.getRequestId());
    if (rec.leaseTimer != 0) {
      ctx.timerService().deleteProcessingTimeTimer(rec.leaseTimer);
      rec.leaseTimer = 0;
    }
    rec.leaseUntil = 0;
  }

  private RenderStatus emit(
      RenderRecord rec,
      long now,
      ErrorInfo err,
      List<OutputArtifact> outputs,
      Collector<RenderStatus> out) {
    rec.seq++;
    RenderStatus s = status(rec, now, err, outputs);
    out.collect(s);
    return s;
  }

  /** A time for the topics: null when absent or out of the JavaScript-safe range (refused). */
  private static Instant safeTime(Long millis) {
    return millis == null || !WireNumbers.isSafe(millis) ? null : Instant.ofEpochMilli(millis);
  }

  static RenderStatus status(
      RenderRecord rec, long now, ErrorInfo err, List<OutputArtifact> outputs) {
    RenderRequest r = rec.request;
    return RenderStatus.newBuilder()
        .setRequestId(r.getRequestId())
        .setTenant(r.getTenant())
        .setState(rec.state)
        .setStage(rec.stage)
        .setAttempt(rec.state == RenderState.ACCEPTED ? 0 : rec.attempt)
        .setAttempts(rec.attempts)
        .setStep(rec.step)
        .setTotalSteps(rec.totalSteps)
        .setEtaMillis(rec.etaMillis)
        .setQueuePosition(null)
        .setQueuePositionEstimated(false)
        .setWorkerId(rec.workerId)
        .setOutputs(outputs == null ? new ArrayList<>() : new ArrayList<>(outputs))
        .setError(err)
        .setPriority(rec.priority)
        .setDeadline(safeTime(rec.deadline))
        .setBatchId(r.getBatchId())
        .setScheduleId(r.getScheduleId())
        .setLabels(new HashMap<>(r.getLabels()))
        .setCallbackUrl(r.getCallbackUrl())
        .setPrompt(r.getParams().getPrompt())
        // A refused request's seed may be out of range: never carried onto render.status.
        .setSeed(WireNumbers.isValidSeed(r.getParams().getSeed()) ? r.getParams().getSeed() : null)
        .setLineageRunId(rec.lineageRunId)
        .setVersion(rec.seq << VERSION_SHIFT)
        .setCreatedAt(Instant.ofEpochMilli(rec.createdAt))
        .setUpdatedAt(Instant.ofEpochMilli(now))
        .build();
  }

  private RenderTask task(RenderRecord rec, long now) {
    RenderRequest r = rec.request;
    Instant created = Instant.ofEpochMilli(rec.createdAt);
    boolean publishFinal =
        rec.stage == Stage.UPSCALE || r.getParams().getUpscale() == UpscaleTarget.NONE;
    return RenderTask.newBuilder()
        .setTaskId(taskId(r.getRequestId(), rec.stage, rec.attempt))
        .setRequestId(r.getRequestId())
        .setTenant(r.getTenant())
        .setStage(rec.stage)
        .setAttempt(rec.attempt)
        .setParams(r.getParams())
        .setPriority(rec.priority)
        .setDeadline(safeTime(rec.deadline))
        .setInputs(rec.stage == Stage.UPSCALE ? new HashMap<>(rec.upscaleInputs) : new HashMap<>())
        .setOutputPrefix(
            ArtifactKeys.stagePrefix(
                r.getTenant(), created, r.getRequestId(), rec.stage, rec.attempt))
        .setFinalPrefix(ArtifactKeys.finalPrefix(r.getTenant(), created, r.getRequestId()))
        .setPublishFinal(publishFinal)
        .setLeaseMillis(leaseMillis)
        .setLineageRunId(rec.lineageRunId)
        .setCreatedAt(created)
        .setDispatchedAt(Instant.ofEpochMilli(now))
        .build();
  }

  /** {@code {requestId}:{STAGE}:{attempt}}, e.g. {@code r-42:BASE:1}. */
  static String taskId(String requestId, Stage stage, int attempt) {
    return requestId + ":" + stage.name() + ":" + attempt;
  }

  private static ErrorInfo deadlineError() {
    return ErrorInfo.newBuilder()
        .setCode(ErrorCode.DEADLINE_EXCEEDED)
        .setMessage("the render could not finish before its deadline")
        .setRetryable(false)
        .build();
  }

  private static DeadLetter deadLetter(
      String requestId, String errorClass, String reason, long now) {
    return deadLetter(TopicNames.REQUESTS, requestId, errorClass, reason, now);
  }

  private static DeadLetter deadLetter(
      String topic, String requestId, String errorClass, String reason, long now) {
    return DeadLetter.newBuilder()
        .setSourceTopic(topic)
        .setPartition(-1)
        .setOffset(-1)
        .setKey(requestId)
        .setValue(null)
        .setErrorClass(errorClass)
        .setReason(reason)
        .setComponent("orchestrator")
        .setRequestId(requestId)
        .setAt(Instant.ofEpochMilli(now))
        .build();
  }
}
