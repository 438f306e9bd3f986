package dev.reelflow.engine;

/**
 * Progress of long work, one call per finished unit: a denoising step, a decoded tile, a batch of
 * frames. The engine and the worker runtime (and every worker engine) share this one interface. To
 * stop, throw an unchecked exception: the engine then ends with {@link
 * GenerationCancelledException}, the thrown exception as its cause.
 */
@EngineApi
@FunctionalInterface
public interface StepListener {
  /** Phase of the transformer's denoising steps. */
  String DENOISE = "denoise";

  /**
   * @param phase what is being done, e.g. {@link #DENOISE}, {@code decode}, {@code upscale}
   * @param done units finished so far in this phase, 1..total
   * @param total units in this phase
   */
  void onStep(String phase, int done, int total);

  /** A listener that ignores progress. */
  static StepListener none() {
    return (phase, done, total) -> {};
  }
}
