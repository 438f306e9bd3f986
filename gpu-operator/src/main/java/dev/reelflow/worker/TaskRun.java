package dev.reelflow.worker;

import dev.reelflow.engine.StepListener;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One running task as the engine sees it ({@link EngineContext}): progress goes out as PROGRESS
 * events with an ETA from the mean step time of the phase, and a cancel request (command, drain,
 * timeout) is raised at the next step.
 */
final class TaskRun implements EngineContext {

  final RenderTask task;
  final long startedNanos = System.nanoTime();
  private final Path workDir;
  private final long memoryBudget;
  private final boolean offload;
  private final StageEvents events;
  private final WorkerMetrics metrics;
  private final String pool;

  private volatile boolean started;
  private volatile ErrorCode cancelReason;
  private volatile String cancelMessage;
  private volatile String phase = "starting";
  private volatile int step;
  private volatile int total;

  /** When the heartbeat thread last ran for this task (monotonic; it advances while frozen). */
  private long lastBeatNanos = System.nanoTime();

  /** Heartbeats silent this long mean the orchestrator has fenced this attempt; 0: never. */
  private long fenceAfterNanos;

  private long phaseStartNanos = System.nanoTime();
  private long lastStepNanos = System.nanoTime();
  private int stepsInPhase;

  TaskRun(
      RenderTask task,
      Path workDir,
      long memoryBudget,
      boolean offload,
      StageEvents events,
      WorkerMetrics metrics,
      String pool) {
    this.task = task;
    this.workDir = workDir;
    this.memoryBudget = memoryBudget;
    this.offload = offload;
    this.events = events;
    this.metrics = metrics;
    this.pool = pool;
  }

  @Override
  public String taskId() {
    return task.getTaskId();
  }

  @Override
  public Path workDir() {
    return workDir;
  }

  @Override
  public long deviceMemoryBudgetBytes() {
    return memoryBudget;
  }

  @Override
  public boolean offloadWeights() {
    return offload;
  }

  @Override
  public boolean cancelRequested() {
    return cancelReason != null;
  }

  @Override
  public void checkCancelled() throws TaskCancelledException {
    fenceIfFrozen(System.nanoTime());
    ErrorCode r = cancelReason;
    if (r != null) {
      throw new TaskCancelledException(r, cancelMessage);
    }
  }

  @Override
  public StepListener listener() {
    return this::onStep;
  }

  /** Asks the task to stop at its next step; the first reason wins. */
  synchronized void cancel(ErrorCode reason, String message) {
    if (cancelReason == null) {
      cancelMessage = message;
      cancelReason = reason;
    }
  }

  /** Marks that STARTED was sent; heartbeats follow it, never precede it. */
  void markStarted() {
    synchronized (this) {
      lastBeatNanos = System.nanoTime();
    }
    started = true;
  }

  /**
   * Self-fencing: once this task's heartbeats have been silent for {@code lease} (the process was
   * frozen: SIGSTOP, a stalled host), the orchestrator has presumed it dead and queued the next
   * attempt, so this one stops at its next check instead of publishing a result nobody accepts. Off
   * when {@code lease} is not more than twice the heartbeat interval (it would fire on normal
   * jitter).
   */
  synchronized void fenceAfter(Duration lease, Duration heartbeatInterval) {
    fenceAfterNanos = lease.compareTo(heartbeatInterval.multipliedBy(2)) > 0 ? lease.toNanos() : 0;
  }

  /**
   * Called by the heartbeat thread before each heartbeat: false (and the task cancelled with
   * LEASE_EXPIRED) when the previous beat is older than the lease, so no late heartbeat goes out.
   */
  synchronized boolean beat() {
    long now = System.nanoTime();
    if (fenceIfFrozen(now)) {
      return false;
    }
    lastBeatNanos = now;
    return true;
  }

  private synchronized boolean fenceIfFrozen(long now) {
    if (!started || fenceAfterNanos == 0 || cancelReason != null) {
      return cancelReason == ErrorCode.LEASE_EXPIRED;
    }
    long silent = now - lastBeatNanos;
    if (silent > fenceAfterNanos) {
      cancel(
          ErrorCode.LEASE_EXPIRED,
          "no heartbeat went out for "
              + silent / 1_000_000
              + " ms, longer than the lease of "
              + fenceAfterNanos / 1_000_000
              + " ms (was this worker frozen?): the orchestrator has fenced this attempt");
      return true;
    }
    return false;
  }

  boolean started() {
    return started;
  }

  ErrorCode cancelReason() {
    return cancelReason;
  }

  /** Marks the start of a runtime phase (encode, upload) for heartbeats. */
  synchronized void phase(String name) {
    phase = name;
    step = 0;
    total = 0;
  }

  String phase() {
    return phase;
  }

  int step() {
    return step;
  }

  int total() {
    return total;
  }

  private synchronized void onStep(String stepPhase, int done, int of) {
    long now = System.nanoTime();
    if (!stepPhase.equals(phase)) {
      phase = stepPhase;
      phaseStartNanos = lastStepNanos;
      stepsInPhase = 0;
    }
    double seconds = (now - lastStepNanos) / 1e9;
    metrics.stepSeconds.labelValues(pool, stepPhase).observe(seconds);
    lastStepNanos = now;
    stepsInPhase++;
    step = done;
    total = of;
    double meanNanos = (now - phaseStartNanos) / (double) Math.max(1, stepsInPhase);
    long eta = Math.round(meanNanos * Math.max(0, of - done) / 1e6);
    events.progress(task, done, of, eta, stepPhase);
  }
}
