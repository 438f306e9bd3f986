package dev.reelflow.worker;

import dev.reelflow.schemas.FrameGeometry;
import dev.reelflow.worker.spi.BaseVideoJob;

/**
 * Device memory estimate of a base render, for refusing what cannot fit before it starts. The
 * model: resident weights (all of them, or two transformer blocks of 54 when weights are offloaded
 * to host memory between blocks) plus activations of one DiT block over the video tokens (hidden
 * 2048, float32, about 24 live tensors of that size at the attention/MLP peak) plus the VAE decode
 * of the frames.
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
