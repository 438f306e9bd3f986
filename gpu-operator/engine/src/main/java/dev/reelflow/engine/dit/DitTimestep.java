package dev.reelflow.engine.dit;

/**
 * The scalar inputs of one transformer forward: the timestep {@code t} in [0, 1000], the mean-flow
 * target timestep {@code r} of the step-distilled variants ({@code timestep_r}: the next step's
 * timestep, 0 at the last step) and the embedded guidance value of a guidance-distilled model
 * (already scaled as the official pipeline feeds it: {@code embedded_guidance_scale * 1000}). NaN
 * marks an input that is not given.
 *
 * @param timestep t in [0, 1000]
 * @param timestepR mean-flow r, or NaN
 * @param guidance embedded guidance, or NaN
 */
public record DitTimestep(float timestep, float timestepR, float guidance) {
  /** Only a timestep. */
  public static DitTimestep of(float timestep) {
    return new DitTimestep(timestep, Float.NaN, Float.NaN);
  }

  /** With the mean-flow target timestep r. */
  public DitTimestep withTimestepR(float r) {
    return new DitTimestep(timestep, r, guidance);
  }

  /** With the embedded guidance input. */
  public DitTimestep withGuidance(float g) {
    return new DitTimestep(timestep, timestepR, g);
  }

  public boolean hasTimestepR() {
    return !Float.isNaN(timestepR);
  }

  public boolean hasGuidance() {
    return !Float.isNaN(guidance);
  }
}
