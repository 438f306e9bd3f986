package dev.reelflow.worker;

import dev.reelflow.schemas.FrameGeometry;
import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;

/**
 * Device memory estimate of a base render, for refusing what cannot fit before it starts. The
 * model: resident weights (all of them, or two transformer blocks of 54 when weights are offloaded
 * to host memory between blocks) plus activations of one DiT block over the video tokens (hidden
 * 2048, float32, about 24 live tensors of that size at the attention/MLP peak) plus the VAE decode
 * of the frames. Engines add their resident encoders to it (the native engine's text and vision
 * encoders are never offloaded).
 */
final class MemoryPlan {

  static final int HIDDEN = 2048;
  static final int LIVE_TENSORS = 24;
  static final int BLOCKS = 54;

  private MemoryPlan() {}

  /** Estimated bytes for the job with weights of {@code weightsBytes}. */
  static long baseBytes(BaseVideoJob job, long weightsBytes, boolean offload) {
    long tokens = tokens(job);
    long activations = tokens * HIDDEN * 4L * LIVE_TENSORS;
    // Decoded frames in float32 RGB plus the uint8 copy handed to the encoder.
    long frames = (long) job.frames() * job.width() * job.height() * 3 * 5;
    long resident = offload ? weightsBytes * 2 / BLOCKS : weightsBytes;
    return resident + activations + frames;
  }

  /** Video tokens of the DiT (patch 1x1x1 over the 16x-compressed latent grid). */
  static long tokens(BaseVideoJob job) {
    int latentFrames = (Math.max(1, job.frames()) - 1) / FrameGeometry.TEMPORAL_STRIDE + 1;
    return (long) latentFrames
        * Math.max(1, job.height() / FrameGeometry.SPATIAL_STRIDE)
        * Math.max(1, job.width() / FrameGeometry.SPATIAL_STRIDE);
  }

  /**
   * The start-up plan of a base engine: what a 16:9 clip of 121 frames at 480p and at 720p needs
   * against the budget (the engine's own estimate), so an operator sees before the first task which
   * renders this worker will refuse.
   */
  static String startPlan(BaseVideoEngine engine, long budget, boolean offload) {
    StringBuilder s =
        new StringBuilder("memory plan (budget ")
            .append(gib(budget))
            .append(offload ? ", weights offloaded between blocks):" : "):");
    for (Resolution r : new Resolution[] {Resolution.P480, Resolution.P720}) {
      FrameGeometry.FrameSize size = FrameGeometry.base(r, AspectRatio.AR_16_9);
      BaseVideoJob job =
          new BaseVideoJob(
              "plan",
              "plan",
              "plan",
              "",
              null,
              Vocabulary.resolution(r),
              size.width(),
              size.height(),
              121,
              24,
              null,
              null,
              0L);
      long needed = engine.estimateDeviceBytes(job, offload);
      s.append(' ')
          .append(job.resolution())
          .append(" 121 frames ")
          .append(gib(needed))
          .append(budget <= 0 || needed <= budget ? " fits;" : " REFUSED (over budget);");
    }
    return s.substring(0, s.length() - 1);
  }

  private static String gib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
  }

  /** A refusal message that says what to do. */
  static String refusal(long needed, long budget, boolean offload, String what) {
    return String.format(
        "%s needs about %.1f GiB of device memory but the worker's budget is %.1f GiB; "
            + "render fewer frames or a lower resolution%s",
        what,
        needed / (double) (1L << 30),
        budget / (double) (1L << 30),
        offload ? "" : ", or run it on a worker with device.offload-weights=true");
  }
}
