package dev.reelflow.worker.spi;

/**
 * Upscales a base clip to the delivery resolution. Engines call {@link EngineContext#step} after
 * every tile or frame batch, where the runtime may cancel them.
 */
public interface UpscaleEngine extends AutoCloseable {

  /** What this engine is (name, emulated flag, backend, device, model and weights ids). */
  EngineDescription describe();

  /** Bytes of device memory the job needs; 0 when unknown. */
  default long estimateDeviceBytes(UpscaleJob job, boolean offloadWeights) {
    return 0L;
  }

  /**
   * Upscales the job's frames (or latents).
   *
   * @throws TaskCancelledException when the runtime stopped the task between batches
   * @throws EngineException with a code and retryability for every other failure
   * @throws InterruptedException when the worker thread is interrupted (shutdown)
   */
  UpscaleResult upscale(UpscaleJob job, EngineContext context)
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
