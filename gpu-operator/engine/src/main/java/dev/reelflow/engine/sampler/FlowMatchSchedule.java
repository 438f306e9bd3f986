package dev.reelflow.engine.sampler;

/**
 * The flow-matching discrete schedule of HunyuanVideo-1.5 ({@code FlowMatchDiscreteScheduler},
 * reverse, euler): {@code sigma = linspace(1, 0, steps + 1)} shifted by {@code s*sigma / (1 +
 * (s-1)*sigma)}; the model's timestep is {@code sigma * 1000}.
 */
public final class FlowMatchSchedule {
  private FlowMatchSchedule() {}

  /** The steps + 1 shifted sigmas, from 1 down to 0. */
  public static float[] sigmas(int steps, double shift) {
    if (steps < 1) {
      throw new IllegalArgumentException("steps must be >= 1");
    }
    if (shift <= 0) {
      throw new IllegalArgumentException("shift must be > 0");
    }
    float[] s = new float[steps + 1];
    for (int i = 0; i <= steps; i++) {
      // linspace in float32 like torch: start + i * (end - start) / steps
      float sigma = 1f - (float) i / steps;
      s[i] = (float) (shift * sigma / (1 + (shift - 1) * sigma));
    }
    return s;
  }

  /**
   * The mean-flow target timesteps of the step-distilled variants ({@code timestep_r} in the
   * official pipeline): each step's next timestep, 0 for the last step.
   */
  public static float[] meanFlowTimestepR(float[] timesteps) {
    float[] r = new float[timesteps.length];
    for (int i = 0; i + 1 < timesteps.length; i++) {
      r[i] = timesteps[i + 1];
    }
    return r;
  }

  /** Model timesteps {@code sigma[i] * 1000} for i in [0, steps). */
  public static float[] timesteps(float[] sigmas) {
    float[] t = new float[sigmas.length - 1];
    for (int i = 0; i < t.length; i++) {
      t[i] = sigmas[i] * 1000f;
    }
    return t;
  }
}
