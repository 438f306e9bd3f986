package dev.reelflow.bench;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.attention.SstaAttention;
import dev.reelflow.engine.backend.BlockMask;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code attention}: one attention layer's slice on the CPU backend, random-init tensors. A stated
 * number of heads and of 384-token query tiles (spread over the grid) against every key of the
 * padded sequence; SSTA's block-sparse kernel (the mask built from the tensors as the model does)
 * and a naive GEMM-softmax-GEMM that materialises score rows, each against our dense flash-style
 * kernel; and, when {@code python3} with NumPy is present, the naive attention in NumPy (OpenBLAS)
 * on the same shape as a bar for the naive Java path.
 */
public final class AttentionSuite implements BenchSuite {
  public static final String NUMPY_SCRIPT = "gpu-operator/engine/tools/numpy_attention_bar.py";
  private static final int HEAD_DIM = 128;

  @Override
  public String name() {
    return "attention";
  }

  @Override
  public String description() {
    return "SSTA vs dense vs naive attention on the CPU backend (random-init), NumPy bar when"
        + " python3 with numpy is present";
  }

  private record Params(int[] grid, int text, int heads, int queryTiles) {}

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    Params p =
        ctx.size()
            .pick(
                new Params(new int[] {12, 32, 48}, 64, 1, 2),
                new Params(new int[] {31, 30, 53}, 256, 2, 8),
                new Params(new int[] {31, 30, 53}, 256, 2, 16));
    int threads = Runtime.getRuntime().availableProcessors();
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .parameter("grid", Arrays.toString(p.grid()))
            .parameter("textTokens", p.text())
            .parameter("heads", p.heads())
            .parameter("queryTiles", p.queryTiles())
            .parameter("headDim", HEAD_DIM)
            .parameter("threads", threads)
            .note("RANDOM-INIT tensors (Gaussian); CPU backend (OpenBLAS) only");
    Figure.Builder sparseF =
        new Figure.Builder(
            "SSTA block-sparse kernel time",
            "s",
            "dense flash-style kernel time",
            Figure.BaselineKind.MEASURED);
    Figure.Builder naiveF =
        new Figure.Builder(
            "naive GEMM-softmax-GEMM time",
            "s",
            "dense flash-style kernel time",
            Figure.BaselineKind.MEASURED);
    Figure.Builder numpyF =
        new Figure.Builder(
            "naive GEMM-softmax-GEMM time (Java, CPU backend)",
            "s",
            "the same in NumPy (OpenBLAS)",
            Figure.BaselineKind.MEASURED);
    int d = HEAD_DIM;
    int heads = p.heads();
    int ld = heads * d;
    SstaAttention ssta = new SstaAttention(AttentionConfig.ssta());
    SstaAttention.Layout l = ssta.layout(p.grid(), p.text());
    int block = l.blockSize();
    int padded = l.paddedTokens();
    int rows = p.grid()[0] * p.grid()[1] * p.grid()[2] + p.text();
    int nv = l.videoTiles();
    int queryTiles = Math.min(p.queryTiles(), nv);
    int sq = queryTiles * block;
    out.parameter("queries", sq).parameter("keysPadded", padded);
    ctx.progress()
        .step(
            String.format(
                java.util.Locale.ROOT,
                "%d heads x %d queries against %d keys, %d threads",
                heads,
                sq,
                padded,
                threads));
    try (CpuBackend be = new CpuBackend(threads);
        Tensor q = be.allocate(rows, ld);
        Tensor k = be.allocate(rows, ld);
        Tensor v = be.allocate(rows, ld);
        Tensor pq = be.allocate(padded, ld);
        Tensor pk = be.allocate(padded, ld);
        Tensor pv = be.allocate(padded, ld)) {
      Random r = new Random(1);
      float[] buf = new float[1 << 20];
      for (Tensor t : new Tensor[] {q, k, v}) {
        for (long off = 0; off < t.size(); off += buf.length) {
          int n = (int) Math.min(buf.length, t.size() - off);
          for (int i = 0; i < n; i++) {
            buf[i] = (float) r.nextGaussian();
          }
          be.write(t, off, buf, 0, n);
        }
      }
      int[] perm = SstaAttention.permutation(l, p.text());
      be.gatherRows(q, perm, pq);
      be.gatherRows(k, perm, pk);
      be.gatherRows(v, perm, pv);
      float[][][] scores;
      try (Tensor qm = be.allocate(nv, ld);
          Tensor km = be.allocate(nv, ld)) {
        be.groupMeanRows(pq.slice(0, (long) nv * block, ld), block, qm);
        be.groupMeanRows(pk.slice(0, (long) nv * block, ld), block, km);
        scores = SstaAttention.importanceScores(be.toArray(qm), be.toArray(km), nv, heads, d, 0.7);
      }
      BlockMask full = ssta.mask(l, scores, heads);
      int[] tiles = new int[queryTiles];
      for (int i = 0; i < queryTiles; i++) {
        tiles[i] = (int) ((long) i * nv / queryTiles);
      }
      BlockMask sub = new BlockMask(heads, queryTiles, l.totalTiles());
      long kept = 0;
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < queryTiles; i++) {
          for (int j = 0; j < l.totalTiles(); j++) {
            boolean kb = full.get(h, tiles[i], j);
            sub.set(h, i, j, kb);
            kept += kb ? 1 : 0;
          }
        }
      }
      sub.freeze();
      double keptFraction = (double) kept / ((long) heads * queryTiles * l.totalTiles());
      out.parameter("keptBlockFraction", keptFraction);
      float scale = (float) (1 / Math.sqrt(d));
      try (Tensor qs = be.allocate(sq, ld);
          Tensor o1 = be.allocate(sq, ld);
          Tensor o2 = be.allocate(sq, ld);
          Tensor o3 = be.allocate(sq, ld)) {
        for (int i = 0; i < queryTiles; i++) {
          be.copy(pq, (long) tiles[i] * block * ld, qs, (long) i * block * ld, (long) block * ld);
        }
        be.attention(qs, pk, pv, o1, heads, d, scale); // warm-up
        List<Double> naiveTimes = new ArrayList<>();
        for (int rep = 0; rep < ctx.repetitions(); rep++) {
          ctx.progress().bar("repetitions", rep, ctx.repetitions());
          double dense = time(() -> be.attention(qs, pk, pv, o1, heads, d, scale));
          double sparse =
              time(() -> be.blockSparseAttention(qs, pk, pv, o2, heads, d, block, sub, scale));
          double naive = time(() -> naive(be, qs, pk, pv, o3, heads, d, scale));
          sparseF.add(sparse, dense);
          naiveF.add(naive, dense);
          naiveTimes.add(naive);
        }
        ctx.progress().bar("repetitions", ctx.repetitions(), ctx.repetitions());
        float[] a = be.toArray(o1);
        float[] b = be.toArray(o3);
        double err = 0;
        for (int i = 0; i < a.length; i++) {
          err = Math.max(err, Math.abs(a[i] - b[i]));
        }
        out.parameter("maxAbsDiffNaiveVsDense", err);
        numpy(ctx, heads, sq, padded, d, naiveTimes, numpyF, out);
      }
    }
    return out.figure(sparseF).figure(naiveF).figure(numpyF).build();
  }

  private static void numpy(
      BenchContext ctx,
      int heads,
      int sq,
      int sk,
      int d,
      List<Double> javaNaive,
      Figure.Builder f,
      SuiteResult.Builder out)
      throws InterruptedException {
    Optional<Path> script = ctx.repositoryRoot().map(r -> r.resolve(NUMPY_SCRIPT));
    if (script.isEmpty() || !Files.isRegularFile(script.get())) {
      out.note("NumPy bar skipped: " + NUMPY_SCRIPT + " not found (run from the checkout)");
      return;
    }
    Pattern seconds = Pattern.compile("GEMM-softmax-GEMM on the slice: ([0-9.]+) s");
    for (int rep = 0; rep < javaNaive.size(); rep++) {
      ctx.progress().step("NumPy bar " + (rep + 1) + "/" + javaNaive.size());
      try {
        Process proc =
            new ProcessBuilder(
                    "python3",
                    script.get().toString(),
                    Integer.toString(heads),
                    Integer.toString(sq),
                    Integer.toString(sk),
                    Integer.toString(d))
                .redirectErrorStream(true)
                .start();
        String text = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!proc.waitFor(10, TimeUnit.MINUTES) || proc.exitValue() != 0) {
          out.note("NumPy bar skipped: python3 failed: " + text.strip());
          return;
        }
        Matcher m = seconds.matcher(text);
        if (!m.find()) {
          out.note("NumPy bar skipped: unexpected output: " + text.strip());
          return;
        }
        f.add(javaNaive.get(rep), Double.parseDouble(m.group(1)));
      } catch (IOException e) {
        out.note("NumPy bar skipped: python3 not runnable here (" + e.getMessage() + ")");
        return;
      }
    }
  }

  private static double time(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  /** Materialises score rows per 384-query chunk: S = QK^T (sgemm), softmax, O = PV (sgemm). */
  private static void naive(
      CpuBackend be, Tensor q, Tensor k, Tensor v, Tensor out, int heads, int d, float scale) {
    int ld = heads * d;
    int sq = (int) q.dim(0);
    int sk = (int) k.dim(0);
    int chunk = 384;
    try (Tensor s = be.allocate(chunk, sk)) {
      for (int h = 0; h < heads; h++) {
        for (int q0 = 0; q0 < sq; q0 += chunk) {
          int n = Math.min(chunk, sq - q0);
          Tensor sv = s.slice(0, n, sk);
          be.gemm(
              false,
              true,
              n,
              sk,
              d,
              scale,
              q,
              (long) q0 * ld + h * d,
              ld,
              k,
              h * d,
              ld,
              0f,
              sv,
              0,
              sk);
          be.softmax(sv, sv);
          be.gemm(
              false,
              false,
              n,
              d,
              sk,
              1f,
              sv,
              0,
              sk,
              v,
              h * d,
              ld,
              0f,
              out,
              (long) q0 * ld + h * d,
              ld);
        }
      }
    }
  }
}
