package dev.reelflow.worker.spi;

import dev.reelflow.schemas.avro.ErrorCode;

/**
 * Thrown by {@link EngineContext#step} and {@link EngineContext#checkCancelled} when the runtime
 * stopped the task: a cancel command ({@link ErrorCode#CANCELLED}), a drain whose grace period ran
 * out ({@link ErrorCode#DRAINED}), a timeout ({@link ErrorCode#TIMEOUT}) or a lease the task
 * outlived while its process was frozen ({@link ErrorCode#LEASE_EXPIRED}). Engines let it propagate
 * after releasing what they hold.
 */
public final class TaskCancelledException extends EngineException {
  private static final long serialVersionUID = 1L;

  public TaskCancelledException(ErrorCode reason, String message) {
    super(reason, message, reason != ErrorCode.CANCELLED, null);
  }
}
