package dev.reelflow.engine.dit;

/**
 * 3D rotary position tables for a latent grid: for token (t, h, w) in row-major order, the head
 * dim's pairs are split over the axes ({@code dims} = 16/56/56 for head dim 128) with frequencies
 * {@code theta^(-2j/d_axis)}, as {@code get_nd_rotary_pos_embed(use_real=True)} (the reference
 * repeats each value for the pair; here one value per pair).
 */
public final class Rope3d {
  private Rope3d() {}

  /** Returns {cos, sin}, each [t*h*w, headDim/2] row-major. */
  public static float[][] tables(int[] grid, int[] dims, double theta) {
    int n = grid[0] * grid[1] * grid[2];
    int half = (dims[0] + dims[1] + dims[2]) / 2;
    float[][] freqs = new float[3][];
    for (int a = 0; a < 3; a++) {
      freqs[a] = new float[dims[a] / 2];
      for (int j = 0; j < dims[a] / 2; j++) {
        // float32 like the reference: 1 / theta ** (arange(0, d, 2) / d)
        float e = (float) (2 * j) / dims[a];
        freqs[a][j] = (float) (1.0 / Math.pow(theta, e));
      }
    }
    float[] cos = new float[n * half];
    float[] sin = new float[n * half];
    int row = 0;
    for (int t = 0; t < grid[0]; t++) {
      for (int h = 0; h < grid[1]; h++) {
        for (int w = 0; w < grid[2]; w++) {
          int[] pos = {t, h, w};
          int c = 0;
          for (int a = 0; a < 3; a++) {
            for (float f : freqs[a]) {
              float ang = pos[a] * f;
              cos[row * half + c] = (float) Math.cos(ang);
              sin[row * half + c] = (float) Math.sin(ang);
              c++;
            }
          }
          row++;
        }
      }
    }
    return new float[][] {cos, sin};
  }
}
