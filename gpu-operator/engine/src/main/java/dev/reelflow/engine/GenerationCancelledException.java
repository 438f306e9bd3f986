package dev.reelflow.engine;

/** The step listener asked to stop; the partial result is discarded. */
@EngineApi
public final class GenerationCancelledException extends RuntimeException {
  private final int completedSteps;

  public GenerationCancelledException(int completedSteps, Throwable cause) {
    super(
        "generation cancelled by the step listener after "
            + completedSteps
            + " step(s); nothing was produced",
        cause);
    this.completedSteps = completedSteps;
  }

  public int completedSteps() {
    return completedSteps;
  }
}
