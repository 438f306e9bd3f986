package dev.reelflow.engine.sr;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;

/**
 * The condition the official SR pipeline concatenates to the latents (for C = 32 latent channels,
 * 98 transformer input channels in all): {@code [image condition C | task mask 1 | lq C | ones 1]},
 * where the image condition holds the I2V reference latents in frame 0 only (zeros for T2V), the
 * task mask is 1 in frame 0 for I2V (0 for T2V), and lq is the upsampled base latents mixed with
 * noise. Once the timestep falls below 700 (1000 x the noise strength) the lq part and its ones
 * channel are zeroed.
 */
final class SrCondition {
  /** The strength of the noise mixed into lq ({@code noise_scale} = 0.7). */
  public static final float NOISE_STRENGTH = 0.7f;

  /** Below this model timestep the lq condition is zeroed: {@code 1000 * noise_scale}. */
  public static final float LOW_RES_UNTIL = 1000f * NOISE_STRENGTH;

  private SrCondition() {}

  /** Channels of the condition for C latent channels: 2C + 2. */
  public static int channels(int latentChannels) {
    return 2 * latentChannels + 2;
  }

  /**
   * {@code add_noise_to_lq}: {@code (1 - t/1000) lq + (t/1000) noise} with t = 1000 x 0.7 in
   * float32, i.e. weights 0.3 and 0.7 as float32 computes them. Writes into {@code out}.
   */
  public static void mixNoise(Backend be, Tensor lq, Tensor noise, Tensor out) {
    float t = 1000f * NOISE_STRENGTH;
    float s = t / 1000f;
    be.axpby(1f - s, lq, s, noise, out);
  }

  /**
   * Builds {@code [image | mask | lq | ones]} for lq [C, T, H, W] and the I2V reference latents [C,
   * 1, H, W] (null for T2V).
   */
  public static Tensor build(Backend be, Tensor lq, Tensor imageLatents) {
    int c = (int) lq.dim(0);
    int t = (int) lq.dim(1);
    long frame = lq.dim(2) * lq.dim(3);
    long plane = t * frame;
    Tensor out = be.allocate(channels(c), t, lq.dim(2), lq.dim(3));
    if (imageLatents != null) {
      if (imageLatents.dim(0) != c
          || imageLatents.dim(1) != 1
          || imageLatents.dim(2) != lq.dim(2)
          || imageLatents.dim(3) != lq.dim(3)) {
        out.close();
        throw new IllegalArgumentException(
            "image condition latents must be ["
                + c
                + ", 1, "
                + lq.dim(2)
                + ", "
                + lq.dim(3)
                + "] on the SR grid, got "
                + java.util.Arrays.toString(imageLatents.shape()));
      }
      for (int ch = 0; ch < c; ch++) {
        be.copy(imageLatents, ch * frame, out, ch * plane, frame);
      }
      float[] one = new float[(int) frame];
      java.util.Arrays.fill(one, 1f);
      be.write(out, c * plane, one, 0, one.length);
    }
    be.copy(lq, 0, out, (c + 1) * plane, c * plane);
    float[] ones = new float[(int) plane];
    java.util.Arrays.fill(ones, 1f);
    be.write(out, (2L * c + 1) * plane, ones, 0, ones.length);
    return out;
  }

  /** The condition with its lq part and ones channel zeroed (channels C+1 .. 2C+1). */
  public static Tensor withoutLowRes(Backend be, Tensor condition, int latentChannels) {
    Tensor out = be.allocate(condition.shape());
    long plane = condition.size() / condition.dim(0);
    be.copy(condition, 0, out, 0, (latentChannels + 1) * plane);
    return out;
  }

  /** Whether the step at this model timestep still sees lq: {@code !(t < 700)}. */
  public static boolean usesLowRes(float timestep) {
    return !(timestep < LOW_RES_UNTIL);
  }
}
