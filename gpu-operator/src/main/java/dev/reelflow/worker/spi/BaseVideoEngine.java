package dev.reelflow.worker.spi;

/**
 * Renders the base clip of a task (480p/720p or the preview tier): parameters in, latents and
 * frames out. One instance serves one worker slot and runs one job at a time; it may keep weights
 * loaded between jobs.
 */
public interface BaseVideoEngine extends AutoCloseable {

  /** What this engine is (name, emulated flag, backend, device, model and weights ids). */
  EngineDescription describe();

  /** Default denoising steps when a task does not set them. */
  int defaultSteps();

  /**
   * Bytes of device memory the job needs (weights plus activations), used by the runtime to refuse
   * what cannot fit before starting. Return 0 when unknown; the runtime then uses its own estimate.
   */
  default long estimateDeviceBytes(BaseVideoJob job, boolean offloadWeights) {
    return 0L;
  }

  /**
   * Renders the job, calling {@link EngineContext#step} after every denoising step.
   *
   * @throws TaskCancelledException when the runtime stopped the task between steps
   * @throws EngineException with a code and retryability for every other failure
   * @throws InterruptedException when the worker thread is interrupted (shutdown)
   */
  BaseVideoResult generate(BaseVideoJob job, EngineContext context)
      throws EngineException, InterruptedException;

  /**
   * Whether the engine can take a task now; the runtime asks between tasks and announces a slot
   * whose engine is not ready without a free slot, with the reason. Default: always ready.
   */
  default EngineStatus status() {
    return EngineStatus.ready();
  }

  /** Releases weights and device memory. */
  @Override
  default void close() {}
}
