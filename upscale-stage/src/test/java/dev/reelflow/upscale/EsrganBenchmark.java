package dev.reelflow.upscale;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Frames per second of 480p → 1080p (848x480 → 1920x1080) with the esrgan engine on the CPU backend
 * (1 and 2 backend threads; {@code -Dbatch=N} adds a row with N frames per batch), and the TF.js
 * anchor (same weights, @tensorflow/tfjs on the wasm backend, one thread) run on the same machine
 * in the same run. Not a test; run:
 *
 * <pre>
 *   (cd upscale-stage/tools &amp;&amp; npm install)
 *   mvn -B -o -q -pl upscale-stage test-compile exec:java \
 *     -Dexec.mainClass=dev.reelflow.upscale.EsrganBenchmark -Dexec.classpathScope=test
 * </pre>
 *
 * Optional system properties: {@code reps} (default 2), {@code tfjs=false} to skip the anchor,
 * {@code weights=thick} for the default upscaler's rows instead (480p and preview to 1080p).
 */
public final class EsrganBenchmark {
  private static final int W = 848;
  private static final int H = 480;

  public static void main(String[] args) throws Exception {
    int reps = Integer.getInteger("reps", 2);
    RgbFrame frame = frame();
    System.out.printf(
        "esrgan benchmark: frame %dx%d -> 1920x1080, %d timed frames per row, %d cores%n",
        W, H, reps, Runtime.getRuntime().availableProcessors());
    List<String> rows = new ArrayList<>();
    if ("thick".equals(System.getProperty("weights"))) {
      // the default 1080p upscaler: 480p and the preview tier to 1080p, 2 threads
      rows.add(
          run("thick auto (x3) + resize, CpuBackend, 2 threads", EsrganWeights.THICK, frame, 2, 1));
      rows.add(
          run(
              "thick auto (x8) 256x144 + resize, CpuBackend, 2 threads",
              EsrganWeights.THICK,
              Resampler.resize(frame, 256, 144),
              2,
              reps));
      System.out.println();
      rows.forEach(System.out::println);
      return;
    }
    int batch = Integer.getInteger("batch", 1);
    rows.add(run("slim x2 + resize, CpuBackend, 1 thread", 2, 1, 1, frame, reps));
    rows.add(run("slim x2 + resize, CpuBackend, 2 threads", 2, 2, 1, frame, reps));
    if (batch > 1) {
      rows.add(
          run("slim x2 + resize, CpuBackend, 2 threads, batch " + batch, 2, 2, batch, frame, reps));
    }
    rows.add(run("slim auto (x3) + resize, CpuBackend, 1 thread", 0, 1, 1, frame, reps));
    rows.add(bicubic(frame, reps));
    if (!"false".equals(System.getProperty("tfjs"))) {
      rows.add(tfjs(frame, reps));
    }
    System.out.println();
    rows.forEach(System.out::println);
  }

  private static String run(
      String label, int scale, int threads, int batch, RgbFrame frame, int reps) {
    List<RgbFrame> frames = java.util.Collections.nCopies(batch, frame);
    try (EsrganUpscaler up = EsrganUpscaler.builder().scale(scale).threads(threads).build()) {
      up.upscale(frames, 1920, 1080, () -> false); // warm-up: load weights, JIT, buffers
      long c0 = processCpuNanos();
      long t0 = System.nanoTime();
      for (int i = 0; i < reps; i++) {
        up.upscale(frames, 1920, 1080, () -> false);
      }
      double s = (System.nanoTime() - t0) / 1e9 / reps / batch;
      double cpu = (processCpuNanos() - c0) / 1e9 / reps / batch;
      int net = up.scaleFor(W, H, 1920, 1080);
      double gflop = up.network(net).flopsPerInputPixel * W * H / 1e9;
      return String.format(
          "%-50s %7.3f s/frame  %6.3f fps  %7.3f CPU-s/frame  (%.0f GFLOP network, %.1f GFLOP/s)",
          label, s, 1 / s, cpu, gflop, gflop / s);
    }
  }

  private static String run(
      String label, EsrganWeights weights, RgbFrame frame, int threads, int reps) {
    try (EsrganUpscaler up = EsrganUpscaler.builder().weights(weights).threads(threads).build()) {
      int w = frame.width();
      int h = frame.height();
      int net = up.scaleFor(w, h, 1920, 1080);
      up.network(net); // load the weights before timing
      long c0 = processCpuNanos();
      long t0 = System.nanoTime();
      for (int i = 0; i < reps; i++) {
        up.upscale(frame, 1920, 1080, () -> false);
      }
      double s = (System.nanoTime() - t0) / 1e9 / reps;
      double cpu = (processCpuNanos() - c0) / 1e9 / reps;
      double gflop = up.network(net).flopsPerInputPixel * w * h / 1e9;
      return String.format(
          "%-50s %7.3f s/frame  %6.3f fps  %7.3f CPU-s/frame  (%.0f GFLOP network, %.1f GFLOP/s)",
          label, s, 1 / s, cpu, gflop, gflop / s);
    }
  }

  /** CPU time of this process (all threads): robust to other load on a shared machine. */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static String bicubic(RgbFrame frame, int reps) {
    BicubicUpscaler b = new BicubicUpscaler();
    b.upscale(frame, 1920, 1080, () -> false);
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      b.upscale(frame, 1920, 1080, () -> false);
    }
    double s = (System.nanoTime() - t0) / 1e9 / reps;
    return String.format("%-50s %7.3f s/frame  %6.3f fps", "bicubic, 1 thread", s, 1 / s);
  }

  private static String tfjs(RgbFrame frame, int reps) throws IOException, InterruptedException {
    Path tools = Paths.get("tools");
    if (!Files.isDirectory(tools)) {
      tools = Paths.get("upscale-stage", "tools");
    }
    if (!Files.isDirectory(tools.resolve("node_modules"))) {
      return "tfjs anchor skipped: run `npm install` in " + tools;
    }
    Path models = tools.resolveSibling("src/main/resources/dev/reelflow/upscale/esrgan-slim/x2");
    Path f32 = Files.createTempFile("frame", ".f32");
    try {
      ByteBuffer bb = ByteBuffer.allocate(frame.pixels().length * 4).order(ByteOrder.LITTLE_ENDIAN);
      bb.asFloatBuffer().put(frame.pixels());
      Files.write(f32, bb.array());
      Process p =
          new ProcessBuilder(
                  "node",
                  "tfjs-benchmark.mjs",
                  models.toAbsolutePath().toString(),
                  f32.toAbsolutePath().toString(),
                  Integer.toString(H),
                  Integer.toString(W),
                  Integer.toString(reps))
              .directory(tools.toFile())
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor(30, TimeUnit.MINUTES);
      String last = out.substring(out.lastIndexOf('\n') + 1);
      String marker = "secondsPerFrame=";
      int at = last.indexOf(marker);
      if (at < 0) {
        return "tfjs anchor failed: " + out;
      }
      double s = Double.parseDouble(last.substring(at + marker.length()).split(" ")[0].trim());
      String cpuMarker = "cpuSecondsPerFrame=";
      double cpu = Double.parseDouble(last.substring(last.indexOf(cpuMarker) + cpuMarker.length()));
      return String.format(
          "%-50s %7.3f s/frame  %6.3f fps  %7.3f CPU-s/frame  [%s] (network only, no resize)",
          "TF.js wasm slim x2, 1 thread", s, 1 / s, cpu, last);
    } finally {
      Files.deleteIfExists(f32);
    }
  }

  /** A natural 848x480 frame: the bundled photo crops side by side, resized. */
  static RgbFrame frame() throws IOException {
    String[] names = {"astronaut", "chelsea", "coffee", "rocket"};
    float[] strip = new float[192 * 4 * 192 * 3];
    for (int i = 0; i < names.length; i++) {
      RgbFrame p = Photos.load(names[i]);
      for (int y = 0; y < 192; y++) {
        System.arraycopy(p.pixels(), y * 192 * 3, strip, (y * 192 * 4 + i * 192) * 3, 192 * 3);
      }
    }
    return Resampler.resize(new RgbFrame(192 * 4, 192, strip), W, H);
  }
}
