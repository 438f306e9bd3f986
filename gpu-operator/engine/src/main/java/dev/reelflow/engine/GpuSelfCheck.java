package dev.reelflow.engine;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.attention.SstaAttention;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.BackendConformance;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.Backends;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.backend.DeviceInfo;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.backend.TorchBackend;
import dev.reelflow.engine.backend.TorchRuntime;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.dit.Rope3d;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsWriter;
import dev.reelflow.engine.weights.WeightSet;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The GPU self-check behind {@code reelflow doctor --backend cuda|torch}: what the machine has,
 * whether the backend computes correctly there, and how fast it is, in a few minutes.
 *
 * <ol>
 *   <li>device, driver and library versions;
 *   <li>the backend conformance checks ({@link BackendConformance}) on the chosen device, and a
 *       tiny DiT forward on it against {@link CpuBackend};
 *   <li>a short benchmark: dense attention ({@code scaled_dot_product_attention}) against SSTA at
 *       the 720p/121-frame shape (31x45x80 latents, 16 heads x 128, 256 text tokens), one DiT block
 *       at 480p and 720p (bf16 weights), and GEMM throughput against the card's peak. On a CPU
 *       device the shapes are small stand-ins, labelled as such;
 *   <li>{@link Probe}s the caller adds for what lives outside the engine (ESRGAN frames/s, NVENC
 *       encode): a probe that fails is reported, not thrown.
 * </ol>
 *
 * The report is a {@link Report} (printable table, JSON). Benchmarks are skipped, and say so, once
 * the time budget is spent. This class logs progress; printing is the caller's.
 */
@EngineApi
public final class GpuSelfCheck {
  private static final Logger LOG = LoggerFactory.getLogger(GpuSelfCheck.class);

  /** A measurement the engine does not own, added by the caller (ESRGAN, NVENC, ...). */
  public interface Probe {
    /** Short name, e.g. {@code esrgan-x2-1080p}. */
    String name();

    /** Runs the probe on the self-check's backend. */
    Measurement run(Backend backend) throws Exception;
  }

  /**
   * One benchmark figure.
   *
   * @param name what was measured
   * @param shape the problem size, in words
   * @param seconds wall time of one repetition (median), or NaN when not run
   * @param value the derived figure (e.g. TFLOP/s, frames/s), or NaN
   * @param unit the unit of value
   * @param note anything a reader needs (stand-in shape, peak comparison, skip reason, error)
   */
  public record Measurement(
      String name, String shape, double seconds, double value, String unit, String note) {}

  /** The self-check's findings. */
  public record Report(
      String backend,
      String device,
      List<DeviceInfo> devices,
      String libraries,
      boolean fullShapes,
      List<BackendConformance.Check> conformance,
      double ditParityError,
      double ditParityTolerance,
      List<Measurement> benchmarks,
      double elapsedSeconds) {

    /** Whether every conformance check and the DiT parity passed. */
    public boolean passed() {
      return conformance.stream().allMatch(BackendConformance.Check::passed)
          && ditParityError <= ditParityTolerance;
    }

    /** Human-readable summary: devices, checks, and the benchmark table. */
    public String table() {
      StringBuilder s = new StringBuilder();
      s.append("backend  ").append(backend).append(" - ").append(device).append('\n');
      s.append("software ").append(libraries).append('\n');
      for (DeviceInfo d : devices) {
        s.append("device   ").append(d).append('\n');
      }
      long failed = conformance.stream().filter(c -> !c.passed()).count();
      s.append(
          String.format(
              Locale.ROOT,
              "checks   %d conformance checks, %d failed; tiny DiT vs cpu: error %.2g (tolerance %.0g)%n",
              conformance.size(),
              failed,
              ditParityError,
              ditParityTolerance));
      conformance.stream()
          .filter(c -> !c.passed())
          .forEach(c -> s.append("  FAILED ").append(c).append('\n'));
      s.append(
          fullShapes ? "shapes   full size\n" : "shapes   CPU stand-ins (not the real sizes)\n");
      String fmt = "%-34s %-44s %10s %14s  %s%n";
      s.append(String.format(Locale.ROOT, fmt, "benchmark", "shape", "ms", "value", "note"));
      for (Measurement m : benchmarks) {
        s.append(
            String.format(
                Locale.ROOT,
                fmt,
                m.name(),
                m.shape(),
                Double.isNaN(m.seconds())
                    ? "-"
                    : String.format(Locale.ROOT, "%.1f", m.seconds() * 1e3),
                Double.isNaN(m.value())
                    ? "-"
                    : String.format(Locale.ROOT, "%.3g %s", m.value(), m.unit()),
                m.note()));
      }
      s.append(String.format(Locale.ROOT, "elapsed  %.1f s%n", elapsedSeconds));
      s.append(passed() ? "result   PASSED\n" : "result   FAILED\n");
      return s.toString();
    }

    /** The report as a JSON document. */
    public String toJson() {
      StringBuilder j = new StringBuilder("{\n");
      field(j, "backend", backend).append(",\n");
      field(j, "device", device).append(",\n");
      field(j, "software", libraries).append(",\n");
      j.append("  \"devices\": [");
      for (int i = 0; i < devices.size(); i++) {
        DeviceInfo d = devices.get(i);
        j.append(i == 0 ? "\n" : ",\n")
            .append("    {\"spec\": ")
            .append(quote(d.spec()))
            .append(", \"name\": ")
            .append(quote(d.name()))
            .append(", \"totalBytes\": ")
            .append(d.totalBytes())
            .append(", \"freeBytes\": ")
            .append(d.freeBytes())
            .append(", \"computeCapability\": ")
            .append(quote(d.computeCapability()))
            .append('}');
      }
      j.append("\n  ],\n");
      j.append("  \"fullShapes\": ").append(fullShapes).append(",\n");
      j.append("  \"passed\": ").append(passed()).append(",\n");
      j.append("  \"ditParity\": {\"error\": ")
          .append(num(ditParityError))
          .append(", \"tolerance\": ")
          .append(num(ditParityTolerance))
          .append("},\n");
      j.append("  \"conformance\": [");
      for (int i = 0; i < conformance.size(); i++) {
        BackendConformance.Check c = conformance.get(i);
        j.append(i == 0 ? "\n" : ",\n")
            .append("    {\"group\": ")
            .append(quote(c.group()))
            .append(", \"name\": ")
            .append(quote(c.name()))
            .append(", \"error\": ")
            .append(num(c.error()))
            .append(", \"tolerance\": ")
            .append(num(c.tolerance()))
            .append(", \"passed\": ")
            .append(c.passed())
            .append('}');
      }
      j.append("\n  ],\n  \"benchmarks\": [");
      for (int i = 0; i < benchmarks.size(); i++) {
        Measurement m = benchmarks.get(i);
        j.append(i == 0 ? "\n" : ",\n")
            .append("    {\"name\": ")
            .append(quote(m.name()))
            .append(", \"shape\": ")
            .append(quote(m.shape()))
            .append(", \"seconds\": ")
            .append(num(m.seconds()))
            .append(", \"value\": ")
            .append(num(m.value()))
            .append(", \"unit\": ")
            .append(quote(m.unit()))
            .append(", \"note\": ")
            .append(quote(m.note()))
            .append('}');
      }
      j.append("\n  ],\n");
      j.append("  \"elapsedSeconds\": ").append(num(elapsedSeconds)).append("\n}\n");
      return j.toString();
    }

    private static StringBuilder field(StringBuilder j, String k, String v) {
      return j.append("  ").append(quote(k)).append(": ").append(quote(v));
    }

    private static String num(double v) {
      return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private static String quote(String s) {
      StringBuilder q = new StringBuilder("\"");
      for (char c : String.valueOf(s).toCharArray()) {
        switch (c) {
          case '"' -> q.append("\\\"");
          case '\\' -> q.append("\\\\");
          case '\n' -> q.append("\\n");
          case '\r' -> q.append("\\r");
          case '\t' -> q.append("\\t");
          default -> {
            if (c < 0x20) {
              q.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
              q.append(c);
            }
          }
        }
      }
      return q.append('"').toString();
    }
  }

  /**
   * Peak dense bf16 tensor throughput (TFLOP/s, without sparsity) of known cards, by a fragment of
   * the CUDA device name; first match wins.
   */
  private static final String[][] PEAK_BF16_TFLOPS = {
    {"H100 PCIe", "756"},
    {"H100 NVL", "835"},
    {"H100", "989"}, // SXM (reports "H100 80GB HBM3")
    {"H200", "989"},
    {"GH200", "989"},
    {"B200", "2250"},
    {"A100", "312"},
    {"L40S", "362"},
    {"L40", "181"},
    {"L4", "121"},
    {"A10G", "70"},
    {"A10", "125"},
    {"RTX 4090", "165"},
    {"RTX 6000 Ada", "364"},
  };

  /** The card's peak dense bf16 TFLOP/s, or NaN when the name is not in the table. */
  public static double peakBf16Tflops(String deviceName) {
    for (String[] p : PEAK_BF16_TFLOPS) {
      if (deviceName.contains(p[0])) {
        return Double.parseDouble(p[1]);
      }
    }
    return Double.NaN;
  }

  private final BackendSpec spec;
  private final int threads;
  private final Path output;
  private final List<Probe> probes;
  private final Duration budget;
  private final boolean fullShapes;

  private GpuSelfCheck(Builder b) {
    this.spec = b.spec;
    this.threads = b.threads;
    this.output = b.output;
    this.probes = List.copyOf(b.probes);
    this.budget = b.budget;
    this.fullShapes = b.fullShapes != null ? b.fullShapes : spec.isCuda();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Options of a self-check. */
  public static final class Builder {
    private BackendSpec spec = BackendSpec.cuda(0);
    private int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private Path output;
    private final List<Probe> probes = new ArrayList<>();
    private Duration budget = Duration.ofMinutes(7);
    private Boolean fullShapes;

    private Builder() {}

    /** The backend to check ({@code cuda:N} or {@code torch}; {@code cpu} checks OpenBLAS). */
    public Builder backend(BackendSpec spec) {
      this.spec = Objects.requireNonNull(spec, "spec");
      return this;
    }

    /** CPU threads for the CPU backends (the reference and {@code torch}). */
    public Builder threads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("threads must be >= 1, got " + threads);
      }
      this.threads = threads;
      return this;
    }

    /** Where to write the JSON report (null: not written). */
    public Builder output(Path json) {
      this.output = json;
      return this;
    }

    /** Adds a measurement from outside the engine (ESRGAN frames/s, NVENC encode). */
    public Builder probe(Probe probe) {
      this.probes.add(Objects.requireNonNull(probe, "probe"));
      return this;
    }

    /** Time after which remaining benchmarks are skipped (default 7 minutes). */
    public Builder budget(Duration budget) {
      if (budget.isNegative() || budget.isZero()) {
        throw new IllegalArgumentException("budget must be positive");
      }
      this.budget = budget;
      return this;
    }

    /**
     * Full-size benchmark shapes (default on CUDA) or small CPU stand-ins (default elsewhere; the
     * full sizes take hours on a CPU).
     */
    public Builder fullShapes(boolean full) {
      this.fullShapes = full;
      return this;
    }

    public GpuSelfCheck build() {
      return new GpuSelfCheck(this);
    }
  }

  /**
   * Runs the self-check and writes the JSON report when an output was given.
   *
   * @throws dev.reelflow.engine.backend.BackendUnavailableException when the backend cannot open
   */
  public Report run() throws IOException {
    long start = System.nanoTime();
    long deadline = start + budget.toNanos();
    try (Backend be = Backends.open(spec, threads);
        CpuBackend ref = new CpuBackend(threads)) {
      String libs =
          spec.kind() == BackendSpec.Kind.CPU
              ? "OpenBLAS (JavaCPP)"
              : "libtorch " + TorchRuntime.version() + ", " + TorchRuntime.cudaVersions();
      List<DeviceInfo> devices =
          spec.kind() == BackendSpec.Kind.CPU ? List.of() : Backends.devices();
      LOG.info("self-check on {}: conformance", be.device());
      List<BackendConformance.Check> checks = BackendConformance.all(be);
      double tol =
          be instanceof TorchBackend t && t.precision() == TorchBackend.Precision.MIXED16
              ? 3e-2
              : 1e-4;
      double parity = relError(tinyDit(be), tinyDit(ref));
      List<Measurement> bench = new ArrayList<>();
      LOG.info("self-check: benchmarks ({})", fullShapes ? "full size" : "CPU stand-ins");
      attention(be, bench, deadline);
      ditBlocks(be, bench, deadline);
      gemm(be, bench, deadline, devices);
      for (Probe p : probes) {
        if (System.nanoTime() > deadline) {
          bench.add(skipped(p.name()));
          continue;
        }
        try {
          bench.add(p.run(be));
        } catch (Exception | LinkageError e) {
          LOG.warn("probe {} failed", p.name(), e);
          bench.add(new Measurement(p.name(), "-", Double.NaN, Double.NaN, "", "failed: " + e));
        }
      }
      Report r =
          new Report(
              spec.toString(),
              be.device(),
              devices,
              libs,
              fullShapes,
              checks,
              parity,
              tol,
              bench,
              (System.nanoTime() - start) / 1e9);
      if (output != null) {
        Path parent = output.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        Files.writeString(output, r.toJson(), StandardCharsets.UTF_8);
      }
      return r;
    }
  }

  private static Measurement skipped(String name) {
    return new Measurement(name, "-", Double.NaN, Double.NaN, "", "skipped: time budget spent");
  }

  static double relError(float[] actual, float[] expected) {
    double scale = 1e-6;
    double err = 0;
    for (int i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]));
      double d = Math.abs((double) actual[i] - expected[i]);
      err = Math.max(err, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
    }
    return actual.length == expected.length ? err / scale : Double.POSITIVE_INFINITY;
  }

  /** A tiny-config DiT forward (seeded random weights) on a backend. */
  private static float[] tinyDit(Backend be) {
    DitConfig cfg = DitConfig.tiny().toBuilder().depth(2).build();
    int[] grid = {3, 6, 8};
    ByteTextEncoder enc = new ByteTextEncoder(cfg.textDim(), cfg.glyphDim(), 1000);
    List<TextFeatures> texts = List.of(enc.encode("a red kite over a beach"));
    float[] input = uniformNoise(5, cfg.inChannels() * grid[0] * grid[1] * grid[2], 1f);
    try (WeightSet w = WeightSet.random(HunyuanDit.params(cfg), be, 7);
        Tensor x = be.fromArray(input, cfg.inChannels(), grid[0], grid[1], grid[2])) {
      HunyuanDit dit =
          new HunyuanDit(cfg, w, be, AttentionConfig.ssta().withTile(1, 2, 2).withTopk(2));
      try (Tensor v = dit.forward(x, 500f, texts)) {
        return be.toArray(v);
      }
    }
  }

  /** Benchmark inputs: zero-mean, standard deviation {@code std}; uniform, which is cheap. */
  private static float[] uniformNoise(long seed, int n, float std) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[n];
    float w = (float) (std * Math.sqrt(3) * 2);
    for (int i = 0; i < n; i++) {
      a[i] = (r.nextInt() >>> 8) * 0x1p-24f * w - w / 2;
    }
    return a;
  }

  private static Tensor randomTensor(Backend be, long seed, long rows, int cols, float std) {
    Tensor t = be.allocate(rows, cols);
    int chunk = Math.max(cols, (1 << 22) / cols * cols);
    long n = rows * cols;
    for (long off = 0; off < n; off += chunk) {
      int len = (int) Math.min(chunk, n - off);
      be.write(t, off, uniformNoise(seed + off, len, std), 0, len);
    }
    return t;
  }

  private static void sync(Backend be) {
    if (be instanceof TorchBackend t) {
      t.synchronize();
    }
  }

  /** Median wall time of {@code reps} runs after one warm-up. */
  private static double time(Backend be, int reps, Runnable r) {
    r.run();
    sync(be);
    double[] s = new double[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      r.run();
      sync(be);
      s[i] = (System.nanoTime() - t0) / 1e9;
    }
    java.util.Arrays.sort(s);
    return s[reps / 2];
  }

  // ------------------------------------------------------------------ benchmarks

  private void attention(Backend be, List<Measurement> out, long deadline) {
    int[] grid = fullShapes ? new int[] {31, 45, 80} : new int[] {6, 24, 32};
    int heads = fullShapes ? 16 : 2;
    int d = fullShapes ? 128 : 64;
    int text = fullShapes ? 256 : 32;
    AttentionConfig cfg =
        fullShapes ? AttentionConfig.ssta() : AttentionConfig.ssta().withTile(2, 4, 4);
    String shape =
        String.format(
            Locale.ROOT,
            "%dx%dx%d+%d text, %dx%d%s",
            grid[0],
            grid[1],
            grid[2],
            text,
            heads,
            d,
            fullShapes ? " (720p 121f)" : " (cpu stand-in)");
    if (System.nanoTime() > deadline) {
      out.add(skipped("attention dense"));
      out.add(skipped("attention ssta"));
      return;
    }
    int rows = grid[0] * grid[1] * grid[2] + text;
    int ld = heads * d;
    float scale = (float) (1 / Math.sqrt(d));
    int reps = fullShapes ? 3 : 1;
    try (Tensor q = randomTensor(be, 1, rows, ld, 1f);
        Tensor k = randomTensor(be, 2, rows, ld, 1f);
        Tensor v = randomTensor(be, 3, rows, ld, 1f);
        Tensor o = be.allocate(rows, ld)) {
      double flops = 4.0 * rows * (double) rows * d * heads;
      double dense = time(be, reps, () -> be.attention(q, k, v, o, heads, d, scale));
      out.add(
          new Measurement(
              "attention dense",
              shape,
              dense,
              flops / dense / 1e12,
              "TFLOP/s",
              (be instanceof TorchBackend
                      ? "scaled_dot_product_attention, "
                      : "flash-style kernel, ")
                  + precisionNote(be)));
      SstaAttention ssta = new SstaAttention(cfg);
      SstaAttention.Stats[] stats = new SstaAttention.Stats[1];
      double sparse =
          time(be, reps, () -> stats[0] = ssta.attend(be, q, k, v, o, grid, text, heads, d, scale));
      out.add(
          new Measurement(
              "attention ssta",
              shape,
              sparse,
              dense / sparse,
              "x dense",
              String.format(
                  Locale.ROOT,
                  "kept %.1f%% of blocks (video %.1f%%); incl. padding, tile scores, mask",
                  100 * stats[0].keptFraction(),
                  100 * stats[0].keptVideoFraction())));
    }
  }

  private static String precisionNote(Backend be) {
    return be instanceof TorchBackend t ? t.precision().toString() : "f32";
  }

  private void ditBlocks(Backend be, List<Measurement> out, long deadline) {
    DitConfig cfg =
        fullShapes
            ? DitConfig.p720().toBuilder().depth(1).build()
            : DitConfig.tiny().toBuilder().depth(1).build();
    int[][] grids =
        fullShapes ? new int[][] {{31, 30, 53}, {31, 45, 80}} : new int[][] {{2, 8, 8}, {4, 8, 8}};
    String[] labels = fullShapes ? new String[] {"480p", "720p"} : new String[] {"a", "b"};
    Path dir = null;
    try {
      List<ParamSpec> specs =
          HunyuanDit.params(cfg).stream()
              .filter(p -> p.name().startsWith("double_blocks.0."))
              .toList();
      dir = Files.createTempDirectory("reelflow-selfcheck");
      Path file = dir.resolve("block.safetensors");
      writeBf16Checkpoint(file, specs, 11);
      try (WeightSet w = WeightSet.load(specs, List.of(file), be, true)) {
        HunyuanDit dit = new HunyuanDit(cfg, w, be, AttentionConfig.ssta());
        for (int gi = 0; gi < grids.length; gi++) {
          int[] grid = grids[gi];
          String name = "dit block " + (fullShapes ? labels[gi] : "(tiny config)");
          if (System.nanoTime() > deadline) {
            out.add(skipped(name));
            continue;
          }
          out.add(ditBlock(be, dit, cfg, grid, name, gi));
        }
      }
    } catch (IOException | dev.reelflow.engine.backend.DeviceOutOfMemoryException e) {
      out.add(
          new Measurement(
              "dit block", "-", Double.NaN, Double.NaN, "", "failed: " + e.getMessage()));
    } finally {
      if (dir != null) {
        try (var files = Files.list(dir)) {
          for (Path p : files.toList()) {
            Files.deleteIfExists(p);
          }
          Files.deleteIfExists(dir);
        } catch (IOException ignored) {
          // a temp file left behind is harmless
        }
      }
    }
  }

  private Measurement ditBlock(
      Backend be, HunyuanDit dit, DitConfig cfg, int[] grid, String name, int seed) {
    int h = cfg.hidden();
    int n = grid[0] * grid[1] * grid[2];
    int text = fullShapes ? 256 : 16;
    float[][] rope = Rope3d.tables(grid, cfg.ropeDims(), cfg.ropeTheta());
    try (Tensor img = randomTensor(be, 20 + seed, n, h, 1f);
        Tensor txt = randomTensor(be, 30 + seed, text, h, 1f);
        Tensor sv = randomTensor(be, 40, 1, h, 1f);
        Tensor cos = be.fromArray(rope[0], n, cfg.headDim() / 2);
        Tensor sin = be.fromArray(rope[1], n, cfg.headDim() / 2)) {
      double s =
          time(
              be,
              fullShapes ? 3 : 1,
              () -> dit.doubleBlock(0, img, txt, 1, new int[] {text}, sv, grid, cos, sin));
      return new Measurement(
          name,
          String.format(
              Locale.ROOT,
              "%dx%dx%d+%d text, hidden %d, 1 sample%s",
              grid[0],
              grid[1],
              grid[2],
              text,
              h,
              fullShapes ? "" : " (cpu stand-in)"),
          s,
          cfg.depth() == 1 ? s * 54 : Double.NaN,
          "s per 54 blocks",
          "bf16 weights, SSTA attention, " + precisionNote(be));
    }
  }

  /** A safetensors file of the given parameters with seeded random bf16 values. */
  static void writeBf16Checkpoint(Path file, List<ParamSpec> specs, long seed) throws IOException {
    List<SafetensorsWriter.Declared> tensors = new ArrayList<>();
    for (ParamSpec p : specs) {
      tensors.add(new SafetensorsWriter.Declared(p.name(), "BF16", p.shape(), p.size() * 2));
    }
    try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      SafetensorsWriter.writeHeader(os, Map.of(), tensors);
      SplittableRandom r = new SplittableRandom(seed);
      ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (ParamSpec p : specs) {
        double std =
            switch (p.init()) {
              case ONES, ZEROS -> 0;
              case SMALL -> 0.02;
              case FAN_IN -> 1 / Math.sqrt(p.shape().length < 2 ? 1 : p.size() / p.shape()[0]);
            };
        float base = p.init() == ParamSpec.Init.ONES ? 1f : 0f;
        for (long i = 0; i < p.size(); i++) {
          float v =
              base + (float) ((r.nextDouble() + r.nextDouble() + r.nextDouble() - 1.5) * 2 * std);
          if (!buf.hasRemaining()) {
            os.write(buf.array(), 0, buf.position());
            buf.clear();
          }
          buf.putShort(DType.floatToBf16(v));
        }
      }
      os.write(buf.array(), 0, buf.position());
    }
  }

  private void gemm(Backend be, List<Measurement> out, long deadline, List<DeviceInfo> devices) {
    int m = fullShapes ? 8192 : 512;
    int k = fullShapes ? 8192 : 512;
    int n = fullShapes ? 8192 : 512;
    String shape = m + "x" + k + " * " + k + "x" + n + (fullShapes ? "" : " (cpu stand-in)");
    if (System.nanoTime() > deadline) {
      out.add(skipped("gemm"));
      return;
    }
    double flops = 2.0 * m * n * k;
    String peakNote = "peak unknown";
    double peak = Double.NaN;
    if (spec.isCuda()) {
      String name =
          devices.stream()
              .filter(d -> d.spec().equals(spec.toString()))
              .map(DeviceInfo::name)
              .findFirst()
              .orElse("");
      peak = peakBf16Tflops(name);
      peakNote =
          Double.isNaN(peak)
              ? "peak unknown for " + name
              : "peak " + (long) peak + " TFLOP/s (" + name + ")";
    }
    try (Tensor x = randomTensor(be, 50, m, k, 1f);
        Tensor w32 = randomTensor(be, 51, n, k, 0.02f);
        Tensor w16 = be.convert(w32, DType.BF16);
        Tensor o = be.allocate(m, n)) {
      int reps = fullShapes ? 5 : 1;
      double s16 = time(be, reps, () -> be.linear(x, w16, null, o));
      double t16 = flops / s16 / 1e12;
      out.add(
          new Measurement(
              "linear bf16 weights",
              shape,
              s16,
              t16,
              "TFLOP/s",
              (Double.isNaN(peak)
                      ? peakNote
                      : String.format(Locale.ROOT, "%.0f%% of %s", 100 * t16 / peak, peakNote))
                  + "; f32 activations cast per call, "
                  + precisionNote(be)));
      double s32 =
          time(be, reps, () -> be.gemm(false, true, m, n, k, 1f, x, 0, k, w32, 0, k, 0f, o, 0, n));
      out.add(
          new Measurement(
              "gemm f32", shape, s32, flops / s32 / 1e12, "TFLOP/s", "float32 operands"));
    }
  }
}
