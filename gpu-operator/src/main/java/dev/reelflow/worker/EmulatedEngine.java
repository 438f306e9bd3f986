package dev.reelflow.worker;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Durations;
import dev.reelflow.config.Setting;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A latency model for orchestration benchmarks: sleeps per step and produces a synthetic clip
 * (moving colour bars) with zero latents. Never renders content, never the default; its
 * description, facts and every manifest say {@code emulated}. Options: {@link #OPTIONS}.
 */
final class EmulatedEngine implements BaseVideoEngine {
  static final String NAME = "emulated";

  static final Setting<Duration> STEP =
      Setting.duration("step")
          .doc(
              "Fixed time per denoising step; overrides the latency model (overhead +"
                  + " tokens/1000 * ms-per-ktoken) when set.")
          .oldName("step-ms", Durations::fromMillis)
          .build();
  static final Setting<Double> MS_PER_KTOKEN =
      Setting.decimal("ms-per-ktoken")
          .defaultValue("20")
          .check(v -> v >= 0, ">= 0")
          .doc(
              "Latency model: milliseconds of step time per 1000 latent tokens. A rate, not a"
                  + " duration (fractions allowed), so it keeps its unit in the name.")
          .build();
  static final Setting<Duration> OVERHEAD =
      Setting.duration("overhead")
          .defaultValue("5ms")
          .doc("Latency model: fixed time of every step.")
          .oldName("overhead-ms", Durations::fromMillis)
          .build();
  static final Setting<Integer> DEFAULT_STEPS =
      Setting.integer("default-steps")
          .defaultValue("8")
          .check(n -> n > 0, "> 0")
          .doc("Steps of a task that names none.")
          .build();
  static final Setting<Long> WEIGHTS_BYTES =
      Setting.longInteger("weights-bytes")
          .defaultValue("0")
          .check(n -> n >= 0, ">= 0")
          .doc("Device memory the emulated model claims, for the memory plan.")
          .build();

  /** The options, {@code engine.emulated.*}. */
  static final ConfigSpec OPTIONS =
      ConfigSpec.builder("engine " + NAME)
          .add(STEP, MS_PER_KTOKEN, OVERHEAD, DEFAULT_STEPS, WEIGHTS_BYTES)
          .build();

  private final EngineSettings settings;
  private final Duration fixedStep;
  private final double msPerKToken;
  private final long overheadMs;
  private final int defaultSteps;
  private final long weightsBytes;

  EmulatedEngine(EngineSettings settings) {
    this.settings = settings;
    ConfigValues o = settings.options(OPTIONS);
    this.fixedStep = o.get(STEP);
    this.msPerKToken = o.get(MS_PER_KTOKEN);
    this.overheadMs = o.get(OVERHEAD).toMillis();
    this.defaultSteps = o.get(DEFAULT_STEPS);
    this.weightsBytes = o.get(WEIGHTS_BYTES);
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
    if (fixedStep != null) {
      return fixedStep.toMillis();
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
