package dev.reelflow.engine;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.backend.TorchBackend;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.weights.WeightSet;
import java.util.List;
import java.util.Random;

/**
 * CPU backend comparison (a harness, not a test): the OpenBLAS {@link CpuBackend} against {@link
 * TorchBackend} on the CPU (libtorch, float32) at the same thread count, for GEMM, a linear layer
 * with bf16 weights, dense attention and one tiny-config DiT forward (dense and SSTA). The two
 * backends alternate within every repetition so that load from other processes affects both; the
 * best of the repetitions is printed, with the load average.
 *
 * <p>Run: {@code java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp
 * gpu-operator/engine/target/test-classes:gpu-operator/engine/target/classes:$CP
 * dev.reelflow.engine.BackendComparisonBenchmark 2 5} (threads, repetitions).
 */
public final class BackendComparisonBenchmark {
  private BackendComparisonBenchmark() {}

  private interface Case {
    void run(Backend be);
  }

  public static void main(String[] args) throws Exception {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    try (CpuBackend cpu = new CpuBackend(threads);
        TorchBackend torch = TorchBackend.builder().threads(threads).build()) {
      Backend[] bes = {cpu, torch};
      System.out.printf(
          "threads=%d reps=%d; %s | %s%n", threads, reps, cpu.device(), torch.device());
      int n = 1024;
      report(
          "gemm f32 1024^3",
          2.0 * n * n * n,
          "GFLOP/s",
          bes,
          reps,
          be -> {
            Tensor a = random(be, 1, n * n, n, n);
            Tensor b = random(be, 2, n * n, n, n);
            Tensor c = be.allocate(n, n);
            return held(
                () -> be.gemm(false, true, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n), a, b, c);
          });
      report(
          "linear 1024x2048 -> 2048, bf16 weights",
          2.0 * 1024 * 2048 * 2048,
          "GFLOP/s",
          bes,
          reps,
          be -> {
            Tensor x = random(be, 3, 1024 * 2048, 1024, 2048);
            Tensor w32 = random(be, 4, 2048 * 2048, 2048, 2048);
            Tensor w = be.convert(w32, DType.BF16);
            Tensor o = be.allocate(1024, 2048);
            return held(() -> be.linear(x, w, null, o), x, w32, w, o);
          });
      int s = 4096 + 256;
      report(
          "dense attention 4352 tokens, 2 heads x 128",
          4.0 * s * s * 128 * 2,
          "GFLOP/s",
          bes,
          reps,
          be -> {
            Tensor q = random(be, 5, s * 256, s, 256);
            Tensor k = random(be, 6, s * 256, s, 256);
            Tensor v = random(be, 7, s * 256, s, 256);
            Tensor o = be.allocate(s, 256);
            return held(
                () -> be.attention(q, k, v, o, 2, 128, (float) (1 / Math.sqrt(128))), q, k, v, o);
          });
      for (AttentionConfig a :
          new AttentionConfig[] {
            AttentionConfig.dense(), AttentionConfig.ssta().withTile(1, 2, 2).withTopk(4)
          }) {
        report(
            "tiny DiT forward, latents 9x8x8, CFG 2 samples, " + a.mode(),
            Double.NaN,
            "",
            bes,
            reps,
            be -> {
              DitConfig cfg = DitConfig.tiny();
              ByteTextEncoder enc = new ByteTextEncoder(cfg.textDim(), cfg.glyphDim(), 1000);
              List<TextFeatures> texts =
                  List.of(enc.encode(""), enc.encode("a red fox runs through snow, \"REELFLOW\""));
              WeightSet w = WeightSet.random(HunyuanDit.params(cfg), be, 7);
              Tensor x = random(be, 8, cfg.inChannels() * 9 * 64, cfg.inChannels(), 9, 8, 8);
              HunyuanDit dit = new HunyuanDit(cfg, w, be, a);
              return held(() -> dit.forward(x, 500f, texts).close(), w, x);
            });
      }
    }
  }

  private static void report(
      String name, double flops, String unit, Backend[] bes, int reps, SetupOpen setup)
      throws Exception {
    double[] best = new double[bes.length];
    java.util.Arrays.fill(best, Double.MAX_VALUE);
    AutoCloseable[] held = new AutoCloseable[bes.length];
    Runnable[] runs = new Runnable[bes.length];
    for (int i = 0; i < bes.length; i++) {
      Held h = setup.open(bes[i]);
      held[i] = h.resources;
      runs[i] = h.run;
      runs[i].run(); // warm-up
    }
    for (int r = 0; r < reps; r++) {
      for (int i = 0; i < bes.length; i++) {
        long t0 = System.nanoTime();
        runs[i].run();
        best[i] = Math.min(best[i], (System.nanoTime() - t0) / 1e9);
      }
    }
    for (AutoCloseable c : held) {
      c.close();
    }
    StringBuilder s = new StringBuilder(String.format("%-58s", name));
    for (int i = 0; i < bes.length; i++) {
      s.append(String.format("  %s %8.1f ms", bes[i].name(), best[i] * 1e3));
      if (!Double.isNaN(flops)) {
        s.append(String.format(" (%.1f %s)", flops / best[i] / 1e9, unit));
      }
    }
    s.append(String.format("  torch/cpu time %.2f", best[1] / best[0]));
    s.append(
        String.format(
            "  [load %.1f]",
            java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                .getSystemLoadAverage()));
    System.out.println(s);
  }

  /** A case's body and the inputs it keeps open while it is timed. */
  private record Held(Runnable run, AutoCloseable resources) {}

  private static Held held(Runnable run, AutoCloseable... open) {
    return new Held(
        run,
        () -> {
          for (AutoCloseable c : open) {
            c.close();
          }
        });
  }

  private interface SetupOpen {
    Held open(Backend be) throws Exception;
  }

  private static Tensor random(Backend be, long seed, int n, long... shape) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return be.fromArray(a, shape);
  }
}
