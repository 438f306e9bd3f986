package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.RenderTask;

/**
 * What the lifecycle asks of a pool's scheduler: queue a task, take a render's queued task out, or
 * move it (reprioritize). The lifecycle decides what is queued; the scheduler decides when and
 * where it runs.
 */
public class PoolCommand {
  /** Kinds of commands. */
  public enum Kind {
    ENQUEUE,
    REMOVE,
    REPRIORITIZE
  }

  public Kind kind;
  public String pool;
  public String requestId;

  /** ENQUEUE: the task to release. */
  public RenderTask task;

  /** ENQUEUE: the QUEUED status the queue-position updates are derived from. */
  public RenderStatus status;

  /** REPRIORITIZE: new priority. */
  public int priority;

  /** REPRIORITIZE: new deadline in epoch millis, or null for none. */
  public Long deadline;

  public PoolCommand() {}

  static PoolCommand enqueue(RenderTask task, RenderStatus status) {
    PoolCommand c = new PoolCommand();
    c.kind = Kind.ENQUEUE;
    c.pool = task.getStage().name();
    c.requestId = task.getRequestId();
    c.task = task;
    c.status = status;
    c.priority = task.getPriority();
    c.deadline = task.getDeadline() == null ? null : task.getDeadline().toEpochMilli();
    return c;
  }

  static PoolCommand remove(String pool, String requestId) {
    PoolCommand c = new PoolCommand();
    c.kind = Kind.REMOVE;
    c.pool = pool;
    c.requestId = requestId;
    return c;
  }

  static PoolCommand reprioritize(String pool, String requestId, int priority, Long deadline) {
    PoolCommand c = new PoolCommand();
    c.kind = Kind.REPRIORITIZE;
    c.pool = pool;
    c.requestId = requestId;
    c.priority = priority;
    c.deadline = deadline;
    return c;
  }

  @Override
  public String toString() {
    return kind + "(" + pool + "," + requestId + (task == null ? "" : "," + task.getTaskId()) + ")";
  }
}
