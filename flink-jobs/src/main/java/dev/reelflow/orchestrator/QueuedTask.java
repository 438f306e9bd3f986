package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.RenderTask;

/** A task in a pool's backlog, or released and not yet confirmed by its worker (Flink POJO). */
public class QueuedTask {
  public RenderTask task;

  /** The QUEUED status the position updates copy. */
  public RenderStatus status;

  public String tenant;
  public int priority;
  public Long deadline;

  /** Arrival order in the pool; ties in every other criterion go first-come first-served. */
  public long seq;

  public long enqueuedAt;

  /** Worker it was released to, null while queued. */
  public String workerId;

  public long dispatchedAt;

  /**
   * Released, then removed (cancelled, or completed by a runner the lifecycle already knew): kept
   * until its worker confirms it or the lease runs out, so the worker's slot stays counted busy
   * meanwhile, but never released again.
   */
  public boolean withdrawn;

  public QueuedTask() {}
}
