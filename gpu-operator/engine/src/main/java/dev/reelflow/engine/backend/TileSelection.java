package dev.reelflow.engine.backend;

import java.util.Arrays;

/**
 * SSTA's top-k tile selection on the host: importance scores over L2-normalised tile means and the
 * k best key tiles per query tile and head. The reference implementation for {@link
 * Backend#topTiles}; backends with a device implement the same arithmetic there.
 */
public final class TileSelection {
  private TileSelection() {}

  /**
   * Importance scores per head: {@code scores[h][i][j] = lambda * (qm_i . km_j + 1)/2 - (1 -
   * lambda) * mean_{i' != j}((km_i' . km_j + 1)/2)} over tiles, with qm and km the L2-normalised
   * means (an all-zero mean stays zero). {@code qMeans} and {@code kMeans} are [tiles,
   * heads*headDim].
   */
  public static float[][][] scores(
      float[] qMeans, float[] kMeans, int tiles, int heads, int headDim, double lambda) {
    int nv = tiles;
    int ld = heads * headDim;
    float[][][] scores = new float[heads][nv][nv];
    for (int h = 0; h < heads; h++) {
      float[][] qm = normalised(qMeans, nv, ld, h, headDim);
      float[][] km = normalised(kMeans, nv, ld, h, headDim);
      double[] red = new double[nv];
      for (int j = 0; j < nv; j++) {
        double acc = 0;
        for (int i = 0; i < nv; i++) {
          if (i != j) {
            acc += (dot(km[i], km[j]) + 1.0) / 2.0;
          }
        }
        red[j] = nv > 1 ? acc / (nv - 1) : 0;
      }
      for (int i = 0; i < nv; i++) {
        for (int j = 0; j < nv; j++) {
          double sim = (dot(qm[i], km[j]) + 1.0) / 2.0;
          scores[h][i][j] = (float) (lambda * sim - (1 - lambda) * red[j]);
        }
      }
    }
    return scores;
  }

  private static float[][] normalised(float[] means, int tiles, int ld, int h, int d) {
    float[][] m = new float[tiles][d];
    for (int t = 0; t < tiles; t++) {
      double norm = 0;
      int off = t * ld + h * d;
      for (int c = 0; c < d; c++) {
        norm += (double) means[off + c] * means[off + c];
      }
      norm = Math.sqrt(norm);
      for (int c = 0; c < d; c++) {
        // an all-zero tile has no direction; upstream would produce NaN here
        m[t][c] = (float) (norm > 0 ? means[off + c] / norm : 0);
      }
    }
    return m;
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }

  /** Indices of the k largest values, ties broken towards the lower index (ascending order). */
  public static int[] topk(float[] v, int k) {
    int n = v.length;
    k = Math.min(k, n);
    if (k <= 0) {
      return new int[0];
    }
    float[] sorted = v.clone();
    Arrays.sort(sorted);
    float kth = sorted[n - k];
    int above = 0;
    for (float x : v) {
      if (x > kth) {
        above++;
      }
    }
    int ties = k - above;
    int[] out = new int[k];
    int o = 0;
    for (int i = 0; i < n && o < k; i++) {
      if (v[i] > kth) {
        out[o++] = i;
      } else if (v[i] == kth && ties > 0) {
        out[o++] = i;
        ties--;
      }
    }
    return out;
  }

  /** The k best tiles per head and query tile: [heads][tiles][min(k, tiles)], ascending. */
  public static int[][][] topTiles(float[][][] scores, int k) {
    int heads = scores.length;
    int[][][] top = new int[heads][][];
    for (int h = 0; h < heads; h++) {
      top[h] = new int[scores[h].length][];
      for (int i = 0; i < scores[h].length; i++) {
        top[h][i] = topk(scores[h][i], k);
      }
    }
    return top;
  }
}
