package dev.reelflow.engine;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.attention.SstaAttention;
import dev.reelflow.engine.backend.BlockMask;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import java.util.Random;

/**
 * Engine benchmark (a harness, not a test). Prints:
 *
 * <ol>
 *   <li>attention at the 480p/121-frame layer shape (latent grid 31x30x53 + 256 text tokens, head
 *       dim 128), on a stated slice: {@code heads} heads (default 2 of the 16; heads are
 *       independent) and {@code queryTiles} query tiles of 384 tokens (default 8, spread over the
 *       grid) against all keys: SSTA vs our dense flash-style kernel vs a naive GEMM-softmax-GEMM
 *       that materialises the score rows; the SSTA/dense time ratio and the kept-block fractions of
 *       the full mask;
 *   <li>tiny-config end-to-end seconds per step and per clip (33 frames, 128x128, CFG).
 * </ol>
 *
 * Run: {@code mvn -B -o -q -pl gpu-operator/engine exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.reelflow.engine.EngineBenchmark -Dexec.args="2 8"}.
 */
public final class EngineBenchmark {
  private EngineBenchmark() {}

  public static void main(String[] args) {
    boolean onlyEndToEnd = args.length > 0 && args[0].equals("e2e");
    int heads = args.length > 0 && !onlyEndToEnd ? Integer.parseInt(args[0]) : 2;
    int queryTiles = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    int threads = Runtime.getRuntime().availableProcessors();
    try (CpuBackend be = new CpuBackend(threads)) {
      System.out.printf("threads=%d%n", threads);
      gemmPeak(be);
      if (!onlyEndToEnd) {
        attention(be, heads, queryTiles);
      }
      endToEnd(be);
    }
  }

  private static void attention(CpuBackend be, int heads, int queryTiles) {
    int d = 128;
    int ld = heads * d;
    int[] grid = {31, 30, 53};
    int text = 256;
    SstaAttention ssta = new SstaAttention(AttentionConfig.ssta());
    SstaAttention.Layout l = ssta.layout(grid, text);
    int block = l.blockSize();
    int padded = l.paddedTokens();
    int rows = grid[0] * grid[1] * grid[2] + text;
    Random r = new Random(1);
    float[] buf = new float[1 << 20];
    try (Tensor q = be.allocate(rows, ld);
        Tensor k = be.allocate(rows, ld);
        Tensor v = be.allocate(rows, ld);
        Tensor pq = be.allocate(padded, ld);
        Tensor pk = be.allocate(padded, ld);
        Tensor pv = be.allocate(padded, ld)) {
      for (Tensor t : new Tensor[] {q, k, v}) {
        for (long off = 0; off < t.size(); off += buf.length) {
          int n = (int) Math.min(buf.length, t.size() - off);
          for (int i = 0; i < n; i++) {
            buf[i] = (float) r.nextGaussian();
          }
          be.write(t, off, buf, 0, n);
        }
      }
      int[] perm = SstaAttention.permutation(l, text);
      be.gatherRows(q, perm, pq);
      be.gatherRows(k, perm, pk);
      be.gatherRows(v, perm, pv);
      long m0 = System.nanoTime();
      int nv = l.videoTiles();
      float[][][] scores;
      try (Tensor qm = be.allocate(nv, ld);
          Tensor km = be.allocate(nv, ld)) {
        be.groupMeanRows(pq.slice(0, (long) nv * block, ld), block, qm);
        be.groupMeanRows(pk.slice(0, (long) nv * block, ld), block, km);
        scores = SstaAttention.importanceScores(be.toArray(qm), be.toArray(km), nv, heads, d, 0.7);
      }
      BlockMask full = ssta.mask(l, scores, heads);
      double maskSec = (System.nanoTime() - m0) / 1e9;
      SstaAttention.Stats st = new SstaAttention.Stats(full, l);
      System.out.printf(
          "480p/121f grid 31x30x53 + %d text: %d video tiles (%dx%dx%d) + %d text tile(s), %d padded tokens; topk %d%n",
          text,
          nv,
          l.tiles()[0],
          l.tiles()[1],
          l.tiles()[2],
          l.textTiles(),
          padded,
          AttentionConfig.ssta().effectiveTopk(grid[0]));
      System.out.printf(
          "SSTA kept blocks: video x video %.4f, whole mask incl. text %.4f (mask built in %.2f s)%n",
          st.keptVideoFraction(), st.keptFraction(), maskSec);
      // the slice: queryTiles video tiles spread over the grid, all keys
      int[] tiles = new int[queryTiles];
      for (int i = 0; i < queryTiles; i++) {
        tiles[i] = (int) ((long) i * nv / queryTiles);
      }
      int sq = queryTiles * block;
      BlockMask sub = new BlockMask(heads, queryTiles, l.totalTiles());
      long keptBlocks = 0;
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < queryTiles; i++) {
          for (int j = 0; j < l.totalTiles(); j++) {
            boolean kb = full.get(h, tiles[i], j);
            sub.set(h, i, j, kb);
            keptBlocks += kb ? 1 : 0;
          }
        }
      }
      sub.freeze();
      float scale = (float) (1 / Math.sqrt(d));
      try (Tensor qs = be.allocate(sq, ld);
          Tensor o1 = be.allocate(sq, ld);
          Tensor o2 = be.allocate(sq, ld);
          Tensor o3 = be.allocate(sq, ld)) {
        for (int i = 0; i < queryTiles; i++) {
          be.copy(pq, (long) tiles[i] * block * ld, qs, (long) i * block * ld, (long) block * ld);
        }
        double flopsDense = 4.0 * sq * padded * d * heads;
        double flopsSparse = 4.0 * keptBlocks * block * block * d;
        be.attention(qs, pk, pv, o1, heads, d, scale); // warm-up
        double dense = time(() -> be.attention(qs, pk, pv, o1, heads, d, scale));
        double sparse =
            time(() -> be.blockSparseAttention(qs, pk, pv, o2, heads, d, block, sub, scale));
        double naive = time(() -> naive(be, qs, pk, pv, o3, heads, d, scale));
        double err = 0;
        float[] a = be.toArray(o1);
        float[] b = be.toArray(o3);
        for (int i = 0; i < a.length; i++) {
          err = Math.max(err, Math.abs(a[i] - b[i]));
        }
        System.out.printf(
            "slice: %d heads x %d query tiles (%d queries) against %d keys (padded sequence)%n",
            heads, queryTiles, sq, padded);
        System.out.printf(
            "dense flash-style kernel : %7.3f s  %6.1f GFLOP/s%n", dense, flopsDense / dense / 1e9);
        System.out.printf(
            "naive GEMM-softmax-GEMM  : %7.3f s  %6.1f GFLOP/s (max |diff| vs dense %.2e)%n",
            naive, flopsDense / naive / 1e9, err);
        System.out.printf(
            "SSTA block-sparse kernel : %7.3f s  %6.1f GFLOP/s on kept blocks (slice kept fraction %.4f)%n",
            sparse,
            flopsSparse / sparse / 1e9,
            (double) keptBlocks / ((long) heads * queryTiles * l.totalTiles()));
        System.out.printf(
            "ratio SSTA/dense time   : %.3f  (speed-up %.2fx)%n", sparse / dense, dense / sparse);
        double fullDense = dense * (16.0 / heads) * ((double) l.totalTiles() / queryTiles);
        System.out.printf(
            "extrapolated full layer (16 heads, all %d query tiles): dense %.0f s, SSTA %.0f s%n",
            l.totalTiles(),
            fullDense,
            fullDense
                * st.keptFraction()
                / ((double) keptBlocks / ((long) heads * queryTiles * l.totalTiles()))
                * (sparse / dense));
      }
    }
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

  /** Plain sgemm rate through the backend (context for the attention figures). */
  private static void gemmPeak(CpuBackend be) {
    int n = 1024;
    try (Tensor a = be.allocate(n, n);
        Tensor b = be.allocate(n, n);
        Tensor c = be.allocate(n, n)) {
      be.fill(a, 0.5f);
      be.fill(b, 0.25f);
      be.gemm(false, true, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
      double best = Double.MAX_VALUE;
      for (int i = 0; i < 5; i++) {
        best =
            Math.min(
                best, time(() -> be.gemm(false, true, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n)));
      }
      System.out.printf(
          "backend sgemm 1024^3 (best of 5): %.1f GFLOP/s%n", 2.0 * n * n * n / best / 1e9);
    }
  }

  private static double time(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  private static void endToEnd(CpuBackend be) {
    for (AttentionConfig a :
        new AttentionConfig[] {AttentionConfig.dense(), AttentionConfig.ssta()}) {
      try (NativeVideoEngine engine =
          NativeVideoEngine.builder().backend(be).attention(a).build()) {
        GenerationSpec spec =
            GenerationSpec.builder()
                .prompt("a red fox runs through snow, \"REELFLOW\"")
                .size(128, 128)
                .frames(33)
                .steps(8)
                .guidance(6)
                .build();
        engine.generate(
            GenerationSpec.builder().prompt("warm-up").size(64, 64).frames(5).steps(1).build(),
            null);
        long t0 = System.nanoTime();
        GenerationResult r = engine.generate(spec, null);
        double total = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
            "tiny end-to-end (%s): 33 frames 128x128, 8 steps, CFG 6: %.3f s/step (denoise %.2f s), decode %.2f s, clip %.2f s%n",
            a, r.stepSeconds() / 8, r.stepSeconds(), r.decodeSeconds(), total);
      }
    }
  }
}
