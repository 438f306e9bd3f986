package dev.reelflow.engine.attention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.backend.BlockMask;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class SstaAttentionTest {
  private static final CpuBackend BE = new CpuBackend(2);

  @AfterAll
  static void close() {
    BE.close();
  }

  private static float[] random(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  private static double maxDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  @Test
  void windowCoveringEverythingEqualsDenseOverThePaddedSequence() {
    Random r = new Random(11);
    int[] grid = {5, 7, 9};
    int text = 13;
    int heads = 2;
    int d = 16;
    int ld = heads * d;
    int rows = 5 * 7 * 9 + text;
    SstaAttention ssta =
        new SstaAttention(
            AttentionConfig.ssta().withTile(2, 4, 4).withWindow(99, 99, 99).withTopk(0));
    float scale = 0.25f;
    try (Tensor q = BE.fromArray(random(r, rows * ld), rows, ld);
        Tensor k = BE.fromArray(random(r, rows * ld), rows, ld);
        Tensor v = BE.fromArray(random(r, rows * ld), rows, ld);
        Tensor out = BE.allocate(rows, ld)) {
      SstaAttention.Stats stats = ssta.attend(BE, q, k, v, out, grid, text, heads, d, scale);
      assertThat(stats.keptFraction()).isEqualTo(1.0);
      // reference: dense attention over the zero-padded, text-padded sequence (order irrelevant)
      SstaAttention.Layout l = stats.layout();
      int[] perm = SstaAttention.permutation(l, text);
      int padded = l.paddedTokens();
      try (Tensor pq = BE.allocate(padded, ld);
          Tensor pk = BE.allocate(padded, ld);
          Tensor pv = BE.allocate(padded, ld);
          Tensor po = BE.allocate(padded, ld);
          Tensor dense = BE.allocate(rows, ld)) {
        BE.gatherRows(q, perm, pq);
        BE.gatherRows(k, perm, pk);
        BE.gatherRows(v, perm, pv);
        BE.attention(pq, pk, pv, po, heads, d, scale);
        float[] pos = BE.toArray(po);
        float[] expected = new float[rows * ld];
        boolean[] done = new boolean[rows];
        for (int i = 0; i < perm.length; i++) {
          if (perm[i] >= 0 && !done[perm[i]]) {
            done[perm[i]] = true;
            System.arraycopy(pos, i * ld, expected, perm[i] * ld, ld);
          }
        }
        assertThat(maxDiff(BE.toArray(out), expected)).isLessThan(1e-5);
        // and padding matters: plain dense attention over the original tokens differs
        BE.attention(q, k, v, dense, heads, d, scale);
        assertThat(maxDiff(BE.toArray(dense), expected)).isGreaterThan(1e-3);
      }
    }
  }

  /** Straightforward reference mask: loops over tile coordinates, tokens and the formulas. */
  private static boolean[][][] referenceMask(
      float[] q,
      float[] k,
      int[] grid,
      int[] tile,
      int[] window,
      int topk,
      double lambda,
      int text,
      int heads,
      int d) {
    int ld = heads * d;
    int nt = (grid[0] + tile[0] - 1) / tile[0];
    int nh = (grid[1] + tile[1] - 1) / tile[1];
    int nw = (grid[2] + tile[2] - 1) / tile[2];
    int nv = nt * nh * nw;
    int block = tile[0] * tile[1] * tile[2];
    int ntext = (text + block - 1) / block;
    int n = nv + ntext;
    int videoTokens = grid[0] * grid[1] * grid[2];
    boolean[][][] m = new boolean[heads][n][n];
    for (int h = 0; h < heads; h++) {
      double[][] qm = new double[nv][d];
      double[][] km = new double[nv][d];
      for (int t = 0; t < grid[0]; t++) {
        for (int y = 0; y < grid[1]; y++) {
          for (int x = 0; x < grid[2]; x++) {
            int tileId = ((t / tile[0]) * nh + y / tile[1]) * nw + x / tile[2];
            int tok = (t * grid[1] + y) * grid[2] + x;
            for (int c = 0; c < d; c++) {
              qm[tileId][c] += q[tok * ld + h * d + c] / (double) block;
              km[tileId][c] += k[tok * ld + h * d + c] / (double) block;
            }
          }
        }
      }
      for (double[][] mm : new double[][][] {qm, km}) {
        for (double[] row : mm) {
          double norm = Math.sqrt(Arrays.stream(row).map(z -> z * z).sum());
          for (int c = 0; c < d; c++) {
            row[c] /= norm;
          }
        }
      }
      double[] red = new double[nv];
      for (int j = 0; j < nv; j++) {
        for (int i = 0; i < nv; i++) {
          if (i != j) {
            double dot = 0;
            for (int c = 0; c < d; c++) {
              dot += km[i][c] * km[j][c];
            }
            red[j] += (dot + 1) / 2 / (nv - 1);
          }
        }
      }
      for (int i = 0; i < nv; i++) {
        double[] score = new double[nv];
        for (int j = 0; j < nv; j++) {
          double dot = 0;
          for (int c = 0; c < d; c++) {
            dot += qm[i][c] * km[j][c];
          }
          score[j] = lambda * (dot + 1) / 2 - (1 - lambda) * red[j];
        }
        double[] sorted = score.clone();
        Arrays.sort(sorted);
        double kth = topk > 0 ? sorted[nv - Math.min(topk, nv)] : Double.POSITIVE_INFINITY;
        int[] qi = {i / (nh * nw), (i / nw) % nh, i % nw};
        int[] counts = {nt, nh, nw};
        for (int j = 0; j < nv; j++) {
          int[] kj = {j / (nh * nw), (j / nw) % nh, j % nw};
          boolean win = true;
          for (int a = 0; a < 3; a++) {
            int half = window[a] / 2;
            int lo = half;
            int hi = counts[a] - 1 - half;
            int centre = lo > hi ? hi : Math.max(lo, Math.min(hi, qi[a]));
            win &= Math.abs(centre - kj[a]) <= half;
          }
          m[h][i][j] = win || (topk > 0 && score[j] >= kth);
        }
      }
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          if (i >= nv || j >= nv) {
            m[h][i][j] = true;
          }
        }
      }
    }
    assertThat(videoTokens).isPositive();
    return m;
  }

  private static void assertMaskMatches(
      int[] grid, int[] tile, int[] window, int topk, int text, long seed) {
    Random r = new Random(seed);
    int heads = 3;
    int d = 8;
    int ld = heads * d;
    int rows = grid[0] * grid[1] * grid[2] + text;
    float[] q = random(r, rows * ld);
    float[] k = random(r, rows * ld);
    AttentionConfig cfg =
        new AttentionConfig(AttentionConfig.Mode.SSTA, tile, window, topk, 0.7, 0);
    SstaAttention ssta = new SstaAttention(cfg);
    try (Tensor tq = BE.fromArray(q, rows, ld);
        Tensor tk = BE.fromArray(k, rows, ld);
        Tensor tv = BE.fromArray(k, rows, ld);
        Tensor out = BE.allocate(rows, ld)) {
      SstaAttention.Stats s = ssta.attend(BE, tq, tk, tv, out, grid, text, heads, d, 0.3f);
      BlockMask m = s.mask();
      boolean[][][] ref = referenceMask(q, k, grid, tile, window, topk, 0.7, text, heads, d);
      assertThat(m.qBlocks()).isEqualTo(ref[0].length);
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < ref[h].length; i++) {
          for (int j = 0; j < ref[h].length; j++) {
            assertThat(m.get(h, i, j)).as("head %d q %d k %d", h, i, j).isEqualTo(ref[h][i][j]);
          }
        }
      }
    }
  }

  @Test
  void selectedBlocksMatchAStraightforwardReference() {
    assertMaskMatches(new int[] {6, 8, 12}, new int[] {2, 2, 2}, new int[] {3, 3, 3}, 5, 9, 1);
    assertMaskMatches(new int[] {4, 4, 4}, new int[] {2, 2, 2}, new int[] {1, 1, 1}, 3, 4, 2);
  }

  @Test
  void oddGridsClampWindowsAtBordersAndKeepTextTiles() {
    // 7x9x11 with 2x4x4 tiles -> 4x3x3 tiles, padded; 13 text tokens -> one 32-token text tile
    assertMaskMatches(new int[] {7, 9, 11}, new int[] {2, 4, 4}, new int[] {3, 3, 3}, 0, 13, 3);
    assertMaskMatches(new int[] {3, 5, 7}, new int[] {2, 2, 2}, new int[] {3, 3, 3}, 2, 40, 4);
    SstaAttention s = new SstaAttention(AttentionConfig.ssta().withTile(2, 4, 4).withTopk(0));
    SstaAttention.Layout l = s.layout(new int[] {7, 9, 11}, 13);
    assertThat(l.tiles()).containsExactly(4, 3, 3);
    assertThat(l.textTiles()).isEqualTo(1);
    BlockMask m = s.mask(l, new float[1][36][36], 1);
    // corner tile (0,0,0): window slides inward to centre (1,1,1): 3x3x3 tiles kept + text
    int kept = 0;
    for (int j = 0; j < l.totalTiles(); j++) {
      kept += m.get(0, 0, j) ? 1 : 0;
    }
    assertThat(kept).isEqualTo(27 + 1);
    // last time tile (3,1,1) keeps time tiles 1..3 only
    int last = (3 * 3 + 1) * 3 + 1;
    assertThat(m.get(0, last, (0 * 3 + 1) * 3 + 1)).isFalse();
    assertThat(m.get(0, last, (1 * 3 + 1) * 3 + 1)).isTrue();
    // text rows and columns are always kept
    for (int j = 0; j < l.totalTiles(); j++) {
      assertThat(m.get(0, 36, j)).isTrue();
      assertThat(m.get(0, j, 36)).isTrue();
    }
    // permutation: zero padding is -1, text padding repeats the last text token
    int[] perm = SstaAttention.permutation(l, 13);
    assertThat(perm).hasSize(37 * 32);
    assertThat(perm[perm.length - 1]).isEqualTo(7 * 9 * 11 + 12);
    assertThat(Arrays.stream(perm).filter(i -> i < 0).count()).isEqualTo(36 * 32 - 7 * 9 * 11);
    // an axis with fewer tiles than the window is kept whole
    assertThat(
            SstaAttention.inWindow(
                new int[] {0, 0, 0}, new int[] {1, 0, 0}, new int[] {2, 1, 1}, new int[] {3, 3, 3}))
        .isTrue();
  }

  @Test
  void keptBlockFractionAt720p121Frames() {
    // 720p 121 frames: latent grid 31x45x80 -> 6x6x10 = 360 video tiles; topk 64 halved to 32
    AttentionConfig cfg = AttentionConfig.ssta();
    SstaAttention s = new SstaAttention(cfg);
    int heads = 16;
    SstaAttention.Layout l = s.layout(new int[] {31, 45, 80}, 256);
    assertThat(l.videoTiles()).isEqualTo(360);
    assertThat(cfg.effectiveTopk(31)).isEqualTo(32);
    Random r = new Random(5);
    int nv = l.videoTiles();
    float[] qm = random(r, nv * heads * 128);
    float[] km = random(r, nv * heads * 128);
    BlockMask m = s.mask(l, SstaAttention.importanceScores(qm, km, nv, heads, 128, 0.7), heads);
    SstaAttention.Stats st = new SstaAttention.Stats(m, l);
    System.out.printf(
        "SSTA 720p/121f: %d video tiles + %d text tile(s); kept fraction video x video %.4f, whole mask (text incl.) %.4f%n",
        nv, l.textTiles(), st.keptVideoFraction(), st.keptFraction());
    // at most 27 window + 32 top-k of 360 per row (16.4%); at least the window's share
    assertThat(st.keptVideoFraction()).isBetween(12.0 / 360, 59.0 / 360);
    assertThat(st.keptFraction()).isGreaterThan(st.keptVideoFraction());
  }

  @Test
  void textTilesAfterTheLastValidOneKeepOnlyThemselves() {
    // 2x4x4 grid in 1x2x2 tiles: 8 video tiles of 4 tokens; 10 text tokens (3 tiles), 5 valid
    SstaAttention s = new SstaAttention(AttentionConfig.ssta().withTile(1, 2, 2).withTopk(0));
    SstaAttention.Layout l = s.layout(new int[] {2, 4, 4}, 10, 5);
    assertThat(l.textTiles()).isEqualTo(3);
    assertThat(l.validTextTiles()).isEqualTo(2);
    BlockMask m = s.mask(l, new float[1][8][8], 1);
    int lastValid = 8 + 1;
    int masked = 8 + 2;
    for (int j = 0; j < l.totalTiles(); j++) {
      assertThat(m.get(0, lastValid, j)).as("valid text row keeps %d", j).isEqualTo(j < masked);
      assertThat(m.get(0, masked, j))
          .as("masked text row keeps only itself")
          .isEqualTo(j == masked);
      assertThat(m.get(0, j, masked)).isEqualTo(j == masked);
    }
    // the text padding of the permutation repeats the last text token, padding or not
    int[] perm = SstaAttention.permutation(l, 10);
    assertThat(perm[perm.length - 1]).isEqualTo(2 * 4 * 4 + 9);
    // without the text mask every text tile is kept
    SstaAttention all =
        new SstaAttention(AttentionConfig.ssta().withTile(1, 2, 2).withTopk(0).withTextMask(false));
    assertThat(all.layout(new int[] {2, 4, 4}, 10, 5).validTextTiles()).isEqualTo(3);
    // no valid token still keeps one text tile, as upstream's clamp
    assertThat(s.layout(new int[] {2, 4, 4}, 10, 0).validTextTiles()).isEqualTo(1);
  }

  @Test
  void repeatPaddingAndTheSingleFrameTile() {
    SstaAttention repeat =
        new SstaAttention(AttentionConfig.ssta().withTile(2, 4, 4).withRepeatPad(true));
    SstaAttention.Layout l = repeat.layout(new int[] {3, 5, 5}, 4);
    int[] perm = SstaAttention.permutation(l, 4);
    // no zero rows: every padded position points at the nearest border token
    assertThat(Arrays.stream(perm).filter(i -> i < 0).count()).isZero();
    // tile (it 0, ih 0, iw 1) starts at w = 4; its second position (t 0, h 0, w 5) lies past the
    // grid's w = 0..4 and repeats token (0, 0, 4)
    int tile001 = 1;
    assertThat(perm[tile001 * 32 + 1]).isEqualTo(4);
    // one latent frame: the 1-frame image tile of the same block size and a 1x1x1 window
    SstaAttention s = new SstaAttention(AttentionConfig.ssta());
    SstaAttention.Layout img = s.layout(new int[] {1, 30, 53}, 100);
    assertThat(img.tile()).containsExactly(1, 16, 24);
    assertThat(img.window()).containsExactly(1, 1, 1);
    assertThat(AttentionConfig.ssta().effectiveTopk(1)).isEqualTo(64);
    assertThat(AttentionConfig.ssta().effectiveTopk(2)).isEqualTo(32);
  }
}
