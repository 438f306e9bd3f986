package dev.reelflow.worker.spi;

/**
 * Receives the progress an engine reports; implemented by the runtime (PROGRESS events, step-time
 * metrics, ETA). Engines do not call it directly but through {@link EngineContext#step}.
 */
@FunctionalInterface
public interface StepListener {

  /**
   * Called after each unit of work.
   *
   * @param phase what the engine is doing, e.g. {@code denoise}, {@code decode}, {@code upscale}
   * @param done units done so far in this phase, 1..total
   * @param total units in this phase
   */
  void onStep(String phase, int done, int total);
}
