package dev.reelflow.bench;

import dev.reelflow.upscale.BicubicUpscaler;
import dev.reelflow.upscale.EsrganUpscaler;
import dev.reelflow.upscale.EsrganWeights;
import dev.reelflow.upscale.RgbFrame;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code upscale}: the ESRGAN upscalers of the 1080p stage on the CPU backend, each against a
 * baseline from the same run: the default upscaler (esrgan-thick, scale chosen for the target) on a
 * preview-tier frame (thick costs minutes a 480p frame on a small CPU) against bicubic resampling
 * of that frame; slim x2 on 2 threads against 1 thread (thread scaling); slim with the scale chosen
 * for the target (x3) against slim x2; and the slim x2 network against the same weights in
 * TensorFlow.js (wasm backend, one thread), when Node.js is present.
 */
public final class UpscaleSuite implements BenchSuite {

  @Override
  public String name() {
    return "upscale";
  }

  @Override
  public String description() {
    return "ESRGAN thick and slim frames/s on the CPU backend vs bicubic, 1 thread, x2 and TF.js";
  }

  /** Slim upscales width x height, thick the preview tier thickWidth x thickHeight (x8). */
  private record Params(
      int width, int height, int thickWidth, int thickHeight, int targetWidth, int targetHeight) {}

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    Params p =
        ctx.size()
            .pick(
                new Params(106, 60, 32, 18, 240, 135),
                new Params(848, 480, 256, 144, 1920, 1080),
                new Params(848, 480, 256, 144, 1920, 1080));
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .parameter("input", p.width() + "x" + p.height())
            .parameter("thickInput", p.thickWidth() + "x" + p.thickHeight())
            .parameter("target", p.targetWidth() + "x" + p.targetHeight())
            .note("CPU backend (OpenBLAS) only; no GPU path ran")
            .note("input: a synthetic frame (gradients and noise), the same for every method");
    RgbFrame frame = EngineSuite.syntheticFrame(p.width(), p.height());
    // thick costs about 30x slim (minutes a 480p frame on a 2-core CPU): it runs the preview tier
    RgbFrame small = EngineSuite.syntheticFrame(p.thickWidth(), p.thickHeight());
    int tw = p.targetWidth();
    int th = p.targetHeight();
    Figure.Builder thick =
        new Figure.Builder(
            "ESRGAN thick (default 1080p upscaler), preview tier + resize, 2 threads",
            "frames/s",
            "bicubic resampling of the same preview frame, frames/s",
            Figure.BaselineKind.MEASURED);
    Figure.Builder threads =
        new Figure.Builder(
            "ESRGAN slim x2 + resize, 2 threads",
            "frames/s",
            "the same on 1 thread",
            Figure.BaselineKind.MEASURED);
    Figure.Builder auto =
        new Figure.Builder(
            "ESRGAN slim, scale for the target (x3) + resize, 1 thread",
            "frames/s",
            "ESRGAN slim x2 + resize, 1 thread",
            Figure.BaselineKind.MEASURED);
    Figure.Builder tfjs =
        new Figure.Builder(
            "ESRGAN slim x2 + resize, CPU backend, 1 thread",
            "frames/s",
            "the same weights in TensorFlow.js (wasm, 1 thread), network only",
            Figure.BaselineKind.MEASURED);
    BicubicUpscaler bicubic = new BicubicUpscaler();
    Path root = ctx.repositoryRoot().orElse(null);
    Path tools = root == null ? null : root.resolve("upscale-stage/tools");
    // the tiny size (the smoke test) never reaches for npm
    String tfjsMissing =
        ctx.size() == BenchSize.TINY
            ? "not run at size tiny"
            : tools == null ? "the repository root is not known" : tfjsReady(tools);
    if (tfjsMissing != null) {
      out.note("TF.js anchor skipped: " + tfjsMissing);
    }
    // a build with -DskipThickWeights has no esrgan-thick: the suite then measures slim only
    boolean hasThick = EsrganWeights.THICK.bundled();
    if (!hasThick) {
      out.note("esrgan-thick is not in this build (built with -DskipThickWeights): no thick row");
    }
    try (EsrganUpscaler thickUp =
            hasThick
                ? EsrganUpscaler.builder().weights(EsrganWeights.THICK).threads(2).build()
                : null;
        EsrganUpscaler slim1 = EsrganUpscaler.builder().scale(2).threads(1).build();
        EsrganUpscaler slim2 = EsrganUpscaler.builder().scale(2).threads(2).build();
        EsrganUpscaler slimAuto = EsrganUpscaler.builder().threads(1).build()) {
      ctx.progress().step("loading weights, warming up");
      if (thickUp != null) {
        thickUp.upscale(small, tw, th, () -> false);
      }
      for (EsrganUpscaler u : List.of(slim1, slim2, slimAuto)) {
        u.upscale(frame, tw, th, () -> false);
      }
      bicubic.upscale(small, tw, th, () -> false);
      for (int rep = 0; rep < ctx.repetitions(); rep++) {
        ctx.progress().bar("repetitions", rep, ctx.repetitions());
        if (thickUp != null) {
          double b = framesPerSecond(() -> bicubic.upscale(small, tw, th, () -> false), 0.2);
          thick.add(framesPerSecond(() -> thickUp.upscale(small, tw, th, () -> false), 0), b);
        }
        double s1 = framesPerSecond(() -> slim1.upscale(frame, tw, th, () -> false), 0);
        double s2 = framesPerSecond(() -> slim2.upscale(frame, tw, th, () -> false), 0);
        double sa = framesPerSecond(() -> slimAuto.upscale(frame, tw, th, () -> false), 0);
        threads.add(s2, s1);
        auto.add(sa, s1);
        if (tfjsMissing == null) {
          tfjs.add(s1, 1 / tfjsSecondsPerFrame(ctx, root, tools, frame));
        }
      }
      ctx.progress().bar("repetitions", ctx.repetitions(), ctx.repetitions());
    }
    if (!thick.isEmpty()) {
      out.figure(thick);
    }
    out.figure(threads).figure(auto);
    if (!tfjs.isEmpty()) {
      out.figure(tfjs);
    }
    return out.build();
  }

  /** Frames/s of {@code once}, repeated until at least {@code minSeconds} have passed. */
  private static double framesPerSecond(Supplier<?> once, double minSeconds) {
    long t0 = System.nanoTime();
    int n = 0;
    do {
      once.get();
      n++;
    } while ((System.nanoTime() - t0) / 1e9 < minSeconds);
    return n / ((System.nanoTime() - t0) / 1e9);
  }

  /** Null when the TF.js anchor can run, else why not. */
  private static String tfjsReady(Path tools) {
    if (!Files.isDirectory(tools)) {
      return tools + " is missing";
    }
    if (!Files.isDirectory(tools.resolve("node_modules/@tensorflow/tfjs-backend-wasm"))) {
      // the anchor's two packages come from npm; installing them is part of building the suite
      try {
        Process p =
            new ProcessBuilder("npm", "install", "--no-audit", "--no-fund")
                .directory(tools.toFile())
                .redirectErrorStream(true)
                .start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
          return "`npm install` in upscale-stage/tools failed: " + lastLine(log);
        }
      } catch (IOException e) {
        return "Node.js/npm not found (" + e.getMessage() + ")";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "interrupted";
      }
    }
    return null;
  }

  private static double tfjsSecondsPerFrame(BenchContext ctx, Path root, Path tools, RgbFrame frame)
      throws IOException, InterruptedException {
    Path models =
        root.resolve("upscale-stage/src/main/resources/dev/reelflow/upscale/esrgan-slim/x2");
    Path f32 = ctx.workDir().resolve("frame.f32");
    ByteBuffer bb = ByteBuffer.allocate(frame.pixels().length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(frame.pixels());
    Files.write(f32, bb.array());
    Process p =
        new ProcessBuilder(
                "node",
                "tfjs-benchmark.mjs",
                models.toAbsolutePath().toString(),
                f32.toAbsolutePath().toString(),
                Integer.toString(frame.height()),
                Integer.toString(frame.width()),
                "1")
            .directory(tools.toFile())
            .redirectErrorStream(true)
            .start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor(30, TimeUnit.MINUTES);
    String last = lastLine(log);
    String marker = "secondsPerFrame=";
    int at = last.indexOf(marker);
    if (at < 0) {
      throw new IllegalStateException("the TF.js anchor printed no " + marker + ": " + last);
    }
    return Double.parseDouble(last.substring(at + marker.length()).split(" ")[0].trim());
  }

  private static String lastLine(String log) {
    String t = log.trim();
    return t.substring(t.lastIndexOf('\n') + 1);
  }
}
