package dev.reelflow.engine.sampler;

/**
 * Called after every denoising step. Return {@code false} (or throw) to stop the generation; the
 * engine then throws {@link dev.reelflow.engine.GenerationCancelledException}.
 */
@FunctionalInterface
public interface StepListener {
  /**
   * @param step the step just finished, 1-based
   * @param totalSteps all steps
   * @param sigma the noise level reached
   * @return true to continue, false to stop
   */
  boolean onStep(int step, int totalSteps, float sigma);

  /** A listener that never stops. */
  static StepListener none() {
    return (s, n, sigma) -> true;
  }
}
