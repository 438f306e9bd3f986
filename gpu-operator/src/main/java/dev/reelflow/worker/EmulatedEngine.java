package dev.reelflow.worker;

import dev.reelflow.schemas.FrameGeometry;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.VideoFrames;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A latency model for orchestration benchmarks: sleeps per step and produces a synthetic clip
 * (moving colour bars) with zero latents. Never renders content, never the default; its
 * description, facts and every manifest say {@code emulated}.
 *
 * <p>Options ({@code engine.emulated.*}): {@code step-ms} fixed time per step (overrides the
 * model), {@code ms-per-ktoken} (default 20) and {@code overhead-ms} (default 5) of the model
 * {@code step = overhead + tokens/1000 * ms-per-ktoken}, {@code default-steps} (default 8), {@code
 * weights-bytes} for memory planning (default 0).
 */
final class EmulatedEngine implements BaseVideoEngine {
  static final String NAME = "emulated";

  private final EngineSettings settings;
  private final long fixedStepMs;
  private final double msPerKToken;
  private final long overheadMs;
  private final int defaultSteps;
  private final long weightsBytes;

  EmulatedEngine(EngineSettings settings) {
    this.settings = settings;
    this.fixedStepMs = settings.longOption("step-ms", -1);
    this.msPerKToken = settings.doubleOption("ms-per-ktoken", 20);
    this.overheadMs = settings.longOption("overhead-ms", 5);
    this.defaultSteps = (int) settings.longOption("default-steps", 8);
    this.weightsBytes = settings.longOption("weights-bytes", 0);
    if (defaultSteps <= 0) {
      throw new IllegalArgumentException("engine.emulated.default-steps must be > 0");
    }
  }

  @Override
  public EngineDescription describe() {
    return new EngineDescription(
        NAME, true, "emulated", settings.device(), "emulated-latency-model", "none");
  }

  @Override
  public int defaultSteps() {
    return defaultSteps;
  }

  @Override
  public long estimateDeviceBytes(BaseVideoJob job, boolean offloadWeights) {
    return MemoryPlan.baseBytes(job, weightsBytes, offloadWeights);
  }

  /** Milliseconds one step takes for the job under the latency model. */
  long stepMillis(BaseVideoJob job) {
    if (fixedStepMs >= 0) {
      return fixedStepMs;
    }
    return overheadMs + Math.round(MemoryPlan.tokens(job) / 1000.0 * msPerKToken);
  }

  @Override
  public BaseVideoResult generate(BaseVideoJob job, EngineContext context)
      throws EngineException, InterruptedException {
    int steps = job.stepsOr(defaultSteps);
    long stepMs = stepMillis(job);
    for (int k = 1; k <= steps; k++) {
      sleepInterruptibly(stepMs, context);
      context.step("denoise", k, steps);
    }
    List<byte[]> frames = new ArrayList<>(job.frames());
    for (int f = 0; f < job.frames(); f++) {
      frames.add(bars(job.width(), job.height(), f));
    }
    int t = (job.frames() - 1) / FrameGeometry.TEMPORAL_STRIDE + 1;
    int[] shape = {
      32,
      t,
      Math.max(1, job.height() / FrameGeometry.SPATIAL_STRIDE),
      Math.max(1, job.width() / FrameGeometry.SPATIAL_STRIDE)
    };
    int n = shape[0] * shape[1] * shape[2] * shape[3];
    Latents latents = new Latents(shape, new float[n], Map.of("emulated", "true", "engine", NAME));
    return BaseVideoResult.ofFrames(
        VideoFrames.of(job.width(), job.height(), frames),
        latents,
        Map.of("emulated", "true", "stepMillis", Long.toString(stepMs)));
  }

  /** Sleeps in short slices so a cancel is seen quickly even with long steps. */
  private static void sleepInterruptibly(long millis, EngineContext context)
      throws InterruptedException, EngineException {
    long end = System.nanoTime() + millis * 1_000_000L;
    while (true) {
      long left = (end - System.nanoTime()) / 1_000_000L;
      if (left <= 0) {
        return;
      }
      Thread.sleep(Math.min(left, 50));
      context.checkCancelled();
    }
  }

  private static byte[] bars(int w, int h, int frame) {
    byte[] rgb = new byte[w * h * 3];
    int shift = frame * 2;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int bar = ((x + shift) * 8 / Math.max(1, w)) & 7;
        int i = (y * w + x) * 3;
        rgb[i] = (byte) ((bar & 1) != 0 ? 200 : 30);
        rgb[i + 1] = (byte) ((bar & 2) != 0 ? 200 : 30);
        rgb[i + 2] = (byte) ((bar & 4) != 0 ? 200 : 30);
      }
    }
    return rgb;
  }
}
