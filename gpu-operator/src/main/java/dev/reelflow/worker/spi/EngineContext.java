package dev.reelflow.worker.spi;

import dev.reelflow.engine.StepListener;
import java.nio.file.Path;

/**
 * What the runtime gives an engine for one task: a scratch directory, progress reporting and the
 * cancellation check. Implemented by the runtime; engines call {@link #step} after every denoising
 * step, tile or frame batch.
 */
public interface EngineContext {

  /** Task id, for logs and file names. */
  String taskId();

  /** Scratch directory owned by this task; deleted by the runtime after the task. */
  Path workDir();

  /** Device memory the engine may use, in bytes (0 when unknown). */
  long deviceMemoryBudgetBytes();

  /** True when the worker is configured to offload weights to host memory between blocks. */
  boolean offloadWeights();

  /** True once the runtime has asked the task to stop; engines that block may poll it. */
  boolean cancelRequested();

  /**
   * Throws if the runtime has asked the task to stop.
   *
   * @throws TaskCancelledException with the reason (CANCELLED, DRAINED or TIMEOUT)
   */
  void checkCancelled() throws TaskCancelledException;

  /**
   * Reports that {@code done} of {@code total} units of {@code phase} are finished, then checks
   * cancellation; this is the point where a task stops within one step.
   *
   * @throws TaskCancelledException when the runtime has asked the task to stop
   */
  default void step(String phase, int done, int total) throws TaskCancelledException {
    listener().onStep(phase, done, total);
    checkCancelled();
  }

  /** Receiver of progress reports. */
  StepListener listener();
}
