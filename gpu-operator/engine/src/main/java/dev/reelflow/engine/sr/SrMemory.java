package dev.reelflow.engine.sr;

import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.weights.ParamSpec;
import java.util.List;

/**
 * An estimate (not a measurement) of the memory the SR stage holds at its peak, from the shapes
 * alone: resident weights plus the largest of the three phases' working sets. The model of each
 * phase counts the tensors alive at once in the engine's code:
 *
 * <ul>
 *   <li>transformer step, per token: the residual stream, its modulated copy, q, k, v, the
 *       attention output and its projection (7 x hidden) plus the MLP's hidden layer, for the video
 *       tokens (the text tokens are few), plus the latents, the 98-channel input and the condition;
 *   <li>upsampler: four tensors of its widest layer on the SR grid (input, normed, conv output, the
 *       causally padded copy);
 *   <li>VAE decode of one tile over all frames: four tensors of the widest decoder level (its width
 *       x frames x pixels at that level), plus the decoded video.
 * </ul>
 *
 * @param weightBytes transformer, upsampler and VAE weights as the backend keeps them
 * @param transformerBytes working set of one transformer step
 * @param upsamplerBytes working set of the upsampler
 * @param vaeBytes working set of decoding one tile
 * @param videoBytes the decoded video (float32) the decode returns
 */
record SrMemory(
    long weightBytes, long transformerBytes, long upsamplerBytes, long vaeBytes, long videoBytes) {

  /** How a backend stores the weights. */
  public enum Weights {
    /** Everything float32. */
    F32,
    /**
     * The transformer's 2-D linear weights 16-bit, the rest float32 (the CPU backend's keepHalf).
     */
    LINEAR_16,
    /**
     * Transformer and VAE 16-bit (as the official pipeline runs them on a GPU: bf16 and fp16); the
     * upsampler stays float32, as the official pipeline runs it.
     */
    ALL_16
  }

  /** Weights plus the largest phase; the decoded video counts with the VAE phase. */
  public long peakBytes() {
    return weightBytes
        + Math.max(Math.max(transformerBytes, upsamplerBytes), vaeBytes + videoBytes);
  }

  /**
   * @param dit the SR transformer
   * @param upsampler the latent upsampler's parameters
   * @param vae the VAE (the decoder's parameters count)
   * @param tiling the decode's tiling
   * @param grid the SR grid
   * @param storage how the backend stores the weights
   * @param activationBytes bytes per activation value (4 for float32, 2 for 16-bit)
   */
  public static SrMemory estimate(
      DitConfig dit,
      List<ParamSpec> upsampler,
      VaeConfig vae,
      VaeTiling tiling,
      SrStage.Grid grid,
      Weights storage,
      int activationBytes) {
    long weights = 0;
    for (ParamSpec p : HunyuanDit.params(dit)) {
      boolean half = storage == Weights.ALL_16 || (storage == Weights.LINEAR_16 && p.halfStorage());
      weights += p.size() * (half ? 2 : 4);
    }
    int upWidest = 0;
    for (ParamSpec p : upsampler) {
      weights += 4 * p.size();
      upWidest = (int) Math.max(upWidest, p.shape()[0]);
    }
    for (ParamSpec p : CausalVae.decoderParams(vae)) {
      weights += (storage == Weights.ALL_16 ? 2 : 4) * p.size();
    }
    long voxels = (long) grid.frames() * grid.latentHeight() * grid.latentWidth();
    int[] patch = dit.patch();
    long tokens = voxels / ((long) patch[0] * patch[1] * patch[2]);
    long perToken = 7L * dit.hidden() + dit.mlpHidden();
    int c = vae.latentChannels();
    long transformer =
        activationBytes * (tokens * perToken + voxels * (2L * c + c + SrCondition.channels(c)));
    long up = 4L * 4 * upWidest * voxels; // float32, as the official pipeline runs it
    // the decoder's levels: width x frames x tile pixels, growing as it upsamples
    int tile = tiling.tileLatent(vae);
    int[] widths = reversed(vae.blockOut());
    long frames = grid.frames();
    long area = (long) Math.min(tile, grid.latentHeight()) * Math.min(tile, grid.latentWidth());
    long widest = 0;
    int in = widths[0];
    for (int i = 0; i < widths.length; i++) {
      widest = Math.max(widest, (long) Math.max(in, widths[i]) * frames * area);
      in = widths[i];
      if (i < log2(vae.spatialFactor())) {
        area *= 4;
        if (i < log2(vae.temporalFactor())) {
          frames = 2 * frames - 1;
        }
        in = vae.upsampleMatchChannel() && i + 1 < widths.length ? widths[i + 1] : in;
      }
    }
    long vaeBytes = 4L * activationBytes * widest;
    long pixelFrames = vae.pixelFrames(grid.frames());
    long video = 4L * vae.outChannels() * pixelFrames * grid.height() * grid.width();
    return new SrMemory(weights, transformer, up, vaeBytes, video);
  }

  private static int[] reversed(int[] a) {
    int[] r = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      r[i] = a[a.length - 1 - i];
    }
    return r;
  }

  private static int log2(int v) {
    return 31 - Integer.numberOfLeadingZeros(v);
  }

  private static String gib(long b) {
    return String.format("%.1f GiB", b / (double) (1L << 30));
  }

  @Override
  public String toString() {
    return "weights "
        + gib(weightBytes)
        + ", transformer step "
        + gib(transformerBytes)
        + ", upsampler "
        + gib(upsamplerBytes)
        + ", VAE tile "
        + gib(vaeBytes)
        + " + video "
        + gib(videoBytes)
        + ": peak about "
        + gib(peakBytes());
  }
}
