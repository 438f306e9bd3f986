package dev.reelflow.bench;

import dev.reelflow.engine.GenerationResult;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.NativeVideoEngine;
import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.upscale.BicubicUpscaler;
import dev.reelflow.upscale.EsrganUpscaler;
import dev.reelflow.upscale.RgbFrame;
import java.util.List;
import java.util.Random;

/**
 * {@code engine}: the native engine's tiny configuration end to end on the CPU backend (RANDOM-INIT
 * weights: the computation is real, the weights are not), seconds per denoising step and per clip
 * with SSTA attention against dense attention; and video super-resolution frames/s of the slim
 * ESRGAN (x2, then resized to the target) against bicubic resampling of the same frame.
 */
public final class EngineSuite implements BenchSuite {

  @Override
  public String name() {
    return "engine";
  }

  @Override
  public String description() {
    return "tiny engine (random-init) s/step and s/clip SSTA vs dense; VSR frames/s ESRGAN vs"
        + " bicubic (CPU backend)";
  }

  private record Params(
      int size, int frames, int steps, int vsrWidth, int vsrHeight, int vsrThreads) {}

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    Params p =
        ctx.size()
            .pick(
                new Params(64, 5, 2, 212, 120, 2),
                new Params(128, 33, 8, 848, 480, 2),
                new Params(128, 33, 8, 848, 480, 2));
    int vsrTargetW = p.vsrWidth() * 1920 / 848;
    int vsrTargetH = p.vsrHeight() * 1080 / 480;
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .parameter("clip", p.size() + "x" + p.size() + ", " + p.frames() + " frames")
            .parameter("steps", p.steps())
            .parameter("guidance", 6)
            .parameter(
                "vsr", p.vsrWidth() + "x" + p.vsrHeight() + " -> " + vsrTargetW + "x" + vsrTargetH)
            .parameter("vsrThreads", p.vsrThreads())
            .note("engine: RANDOM-INIT tiny weights on the CPU backend; no GPU path ran")
            .note("VSR input: a synthetic frame (gradients and noise), the same for both methods");
    Figure.Builder step =
        new Figure.Builder(
            "tiny engine s/step, SSTA",
            "s",
            "dense attention s/step",
            Figure.BaselineKind.MEASURED);
    Figure.Builder clip =
        new Figure.Builder(
            "tiny engine s/clip, SSTA",
            "s",
            "dense attention s/clip",
            Figure.BaselineKind.MEASURED);
    Figure.Builder vsr =
        new Figure.Builder(
            "ESRGAN slim x2 + resize frames/s",
            "frames/s",
            "bicubic resampling frames/s",
            Figure.BaselineKind.MEASURED);
    int threads = Runtime.getRuntime().availableProcessors();
    try (CpuBackend be = new CpuBackend(threads);
        NativeVideoEngine dense =
            NativeVideoEngine.builder().backend(be).attention(AttentionConfig.dense()).build();
        NativeVideoEngine ssta =
            NativeVideoEngine.builder().backend(be).attention(AttentionConfig.ssta()).build()) {
      GenerationSpec spec =
          GenerationSpec.builder()
              .prompt("a red fox runs through snow, \"REELFLOW\"")
              .size(p.size(), p.size())
              .frames(p.frames())
              .steps(p.steps())
              .guidance(6)
              .build();
      GenerationSpec warm =
          GenerationSpec.builder().prompt("warm-up").size(64, 64).frames(5).steps(1).build();
      ctx.progress().step("warming up both engines");
      dense.generate(warm, null);
      ssta.generate(warm, null);
      for (int rep = 0; rep < ctx.repetitions(); rep++) {
        ctx.progress().bar("clips", rep, ctx.repetitions());
        double[] d = clip(dense, spec);
        double[] s = clip(ssta, spec);
        step.add(s[0] / p.steps(), d[0] / p.steps());
        clip.add(s[1], d[1]);
      }
      ctx.progress().bar("clips", ctx.repetitions(), ctx.repetitions());
    }
    RgbFrame frame = syntheticFrame(p.vsrWidth(), p.vsrHeight());
    BicubicUpscaler bicubic = new BicubicUpscaler();
    try (EsrganUpscaler esrgan =
        EsrganUpscaler.builder().scale(2).threads(p.vsrThreads()).build()) {
      ctx.progress().step("VSR: loading ESRGAN, warming up");
      esrgan.upscale(List.of(frame), vsrTargetW, vsrTargetH, () -> false);
      bicubic.upscale(frame, vsrTargetW, vsrTargetH, () -> false);
      for (int rep = 0; rep < ctx.repetitions(); rep++) {
        ctx.progress().bar("VSR frames", rep, ctx.repetitions());
        double e = seconds(() -> esrgan.upscale(frame, vsrTargetW, vsrTargetH, () -> false));
        // bicubic takes milliseconds a frame: time a run of frames, at least 0.2 s
        int frames = 0;
        long t0 = System.nanoTime();
        do {
          bicubic.upscale(frame, vsrTargetW, vsrTargetH, () -> false);
          frames++;
        } while (System.nanoTime() - t0 < 200_000_000L);
        double b = (System.nanoTime() - t0) / 1e9 / frames;
        vsr.add(1 / e, 1 / b);
      }
      ctx.progress().bar("VSR frames", ctx.repetitions(), ctx.repetitions());
    }
    return out.figure(step).figure(clip).figure(vsr).build();
  }

  /** Denoising seconds and whole-clip seconds of one generation. */
  private static double[] clip(NativeVideoEngine engine, GenerationSpec spec) {
    long t0 = System.nanoTime();
    GenerationResult r = engine.generate(spec, null);
    return new double[] {r.stepSeconds(), (System.nanoTime() - t0) / 1e9};
  }

  private static double seconds(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  /** Smooth gradients with a little noise: texture for the network, deterministic. */
  static RgbFrame syntheticFrame(int w, int h) {
    Random r = new Random(7);
    float[] px = new float[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = (y * w + x) * 3;
        px[i] = (float) x / w;
        px[i + 1] = (float) y / h;
        px[i + 2] = (float) (0.5 + 0.5 * Math.sin(x * 0.2) * Math.cos(y * 0.15));
        for (int c = 0; c < 3; c++) {
          px[i + c] = Math.max(0f, Math.min(1f, px[i + c] + (float) (r.nextGaussian() * 0.02)));
        }
      }
    }
    return new RgbFrame(w, h, px);
  }
}
