package dev.reelflow.engine.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class CpuBackendTest {
  private static final CpuBackend CPU = new CpuBackend(2);

  @AfterAll
  static void close() {
    CPU.close();
  }

  private static float[] random(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  private static void assertClose(float[] actual, float[] expected, double tol) {
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < actual.length; i++) {
      assertThat((double) actual[i]).as("index %d", i).isCloseTo(expected[i], within(tol));
    }
  }

  @Test
  void linearMatchesNaiveForF32AndBf16Weights() {
    Random r = new Random(1);
    int rows = 300;
    int in = 70;
    int out = 130;
    float[] x = random(r, rows * in);
    float[] w = random(r, out * in);
    float[] b = random(r, out);
    short[] wb = new short[w.length];
    float[] wRounded = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      wb[i] = DType.floatToBf16(w[i]);
      wRounded[i] = DType.bf16ToFloat(wb[i]);
    }
    float[] expected = new float[rows * out];
    float[] expectedBf = new float[rows * out];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < out; j++) {
        double acc = b[j];
        double accB = b[j];
        for (int k = 0; k < in; k++) {
          acc += (double) x[i * in + k] * w[j * in + k];
          accB += (double) x[i * in + k] * wRounded[j * in + k];
        }
        expected[i * out + j] = (float) acc;
        expectedBf[i * out + j] = (float) accB;
      }
    }
    try (Tensor tx = CPU.fromArray(x, rows, in);
        Tensor tw = CPU.fromArray(w, out, in);
        Tensor tb = CPU.fromArray(b, out);
        Tensor twb = CPU.fromBits(DType.BF16, wb, out, in);
        Tensor y = CPU.allocate(rows, out)) {
      CPU.linear(tx, tw, tb, y);
      assertClose(CPU.toArray(y), expected, 1e-4);
      CPU.linear(tx, twb, tb, y);
      assertClose(CPU.toArray(y), expectedBf, 1e-4);
    }
  }

  @Test
  void halfConversionsRoundTrip() {
    assertThat(DType.f16ToFloat(DType.floatToF16(1.5f))).isEqualTo(1.5f);
    assertThat(DType.f16ToFloat(DType.floatToF16(-65504f))).isEqualTo(-65504f);
    assertThat(DType.f16ToFloat(DType.floatToF16(6.0e-8f))).isCloseTo(5.96e-8f, within(1e-9f));
    assertThat(DType.bf16ToFloat(DType.floatToBf16(3.140625f))).isEqualTo(3.140625f);
    assertThat(DType.f16ToFloat((short) 0x3c00)).isEqualTo(1f);
  }

  @Test
  void fastExpIsAccurate() {
    for (float x = -80f; x < 80f; x += 0.0173f) {
      double e = Math.exp(x);
      assertThat((double) FastMath.exp(x)).isCloseTo(e, within(e * 3e-7));
    }
  }

  @Test
  void reluClampsNegativesOutOfPlaceAndInPlace() {
    float[] x = random(new Random(3), 40_000); // above one chunk of the elementwise pool
    float[] expected = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      expected[i] = Math.max(x[i], 0f);
    }
    try (Tensor t = CPU.fromArray(x, 200, 200);
        Tensor o = CPU.allocate(200, 200)) {
      CPU.relu(t, o);
      assertThat(CPU.toArray(o)).containsExactly(expected);
      assertThat(CPU.toArray(t)).containsExactly(x);
      CPU.relu(t, t);
      assertThat(CPU.toArray(t)).containsExactly(expected);
    }
  }

  @Test
  void geluFormsMatchTheirDefinitions() {
    float[] x = {-3f, -1f, -0.1f, 0f, 0.5f, 2f, 4f};
    // exact GELU reference values x * Phi(x)
    double[] exact = {-0.00404969, -0.15865525, -0.04601721, 0, 0.34573123, 1.95449974, 3.99987332};
    try (Tensor t = CPU.fromArray(x, x.length);
        Tensor o = CPU.allocate(x.length)) {
      CPU.gelu(t, o);
      float[] y = CPU.toArray(o);
      for (int i = 0; i < x.length; i++) {
        assertThat((double) y[i]).isCloseTo(exact[i], within(1e-6));
      }
      CPU.geluTanh(t, o);
      y = CPU.toArray(o);
      for (int i = 0; i < x.length; i++) {
        double u = Math.sqrt(2 / Math.PI) * (x[i] + 0.044715 * x[i] * x[i] * x[i]);
        assertThat((double) y[i]).isCloseTo(0.5 * x[i] * (1 + Math.tanh(u)), within(1e-6));
      }
    }
  }

  @Test
  void conv2dMatchesNaive() {
    // strided (im2col), stride 1 (shifted GEMMs): same, valid, odd and non-square kernels,
    // pointwise, no bias, and a map wider than one column slice of the shifted path
    checkConv2d(2, 3, 9, 11, 5, 3, 3, 2, 1, 1, true);
    checkConv2d(2, 3, 9, 11, 5, 3, 3, 1, 1, 1, true);
    checkConv2d(1, 4, 8, 7, 6, 3, 3, 1, 0, 0, true);
    checkConv2d(3, 5, 10, 9, 4, 5, 5, 1, 2, 2, false);
    checkConv2d(1, 3, 7, 12, 2, 3, 1, 1, 1, 0, true);
    checkConv2d(2, 6, 5, 5, 3, 1, 1, 1, 0, 0, true);
    checkConv2d(2, 8, 50, 61, 7, 3, 3, 1, 1, 1, true);
  }

  private static void checkConv2d(
      int n,
      int c,
      int h,
      int w,
      int o,
      int kh,
      int kw,
      int stride,
      int padH,
      int padW,
      boolean withBias) {
    Random r = new Random(2 + n * 31 + c * 7 + kh);
    float[] x = random(r, n * c * h * w);
    float[] wt = random(r, o * c * kh * kw);
    float[] b = random(r, o);
    int ho = (h + 2 * padH - kh) / stride + 1;
    int wo = (w + 2 * padW - kw) / stride + 1;
    float[] expected = new float[n * o * ho * wo];
    for (int s = 0; s < n; s++) {
      for (int oc = 0; oc < o; oc++) {
        for (int y = 0; y < ho; y++) {
          for (int xx = 0; xx < wo; xx++) {
            double acc = withBias ? b[oc] : 0;
            for (int ic = 0; ic < c; ic++) {
              for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                  int iy = y * stride - padH + ky;
                  int ix = xx * stride - padW + kx;
                  if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                    acc +=
                        x[((s * c + ic) * h + iy) * w + ix]
                            * wt[((oc * c + ic) * kh + ky) * kw + kx];
                  }
                }
              }
            }
            expected[((s * o + oc) * ho + y) * wo + xx] = (float) acc;
          }
        }
      }
    }
    try (Tensor tx = CPU.fromArray(x, n, c, h, w);
        Tensor tw = CPU.fromArray(wt, o, c, kh, kw);
        Tensor tb = CPU.fromArray(b, o);
        Tensor y = CPU.allocate(n, o, ho, wo)) {
      CPU.conv2d(tx, tw, withBias ? tb : null, stride, stride, padH, padW, y);
      assertClose(CPU.toArray(y), expected, 1e-4);
    }
  }

  @Test
  void conv3dMatchesNaive() {
    Random r = new Random(3);
    int c = 4, t = 5, h = 6, w = 7, o = 3;
    int[] k = {3, 3, 3};
    int[] pad = {0, 1, 1};
    float[] x = random(r, c * t * h * w);
    float[] wt = random(r, o * c * 27);
    int to = t - 2;
    float[] expected = new float[o * to * h * w];
    for (int oc = 0; oc < o; oc++) {
      for (int tt = 0; tt < to; tt++) {
        for (int y = 0; y < h; y++) {
          for (int xx = 0; xx < w; xx++) {
            double acc = 0;
            for (int ic = 0; ic < c; ic++) {
              for (int kt = 0; kt < 3; kt++) {
                for (int ky = 0; ky < 3; ky++) {
                  for (int kx = 0; kx < 3; kx++) {
                    int iy = y - 1 + ky;
                    int ix = xx - 1 + kx;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                      acc +=
                          x[((ic * t + tt + kt) * h + iy) * w + ix]
                              * wt[(((oc * c + ic) * 3 + kt) * 3 + ky) * 3 + kx];
                    }
                  }
                }
              }
            }
            expected[((oc * to + tt) * h + y) * w + xx] = (float) acc;
          }
        }
      }
    }
    try (Tensor tx = CPU.fromArray(x, c, t, h, w);
        Tensor tw = CPU.fromArray(wt, o, c, 3, 3, 3);
        Tensor y = CPU.allocate(o, to, h, w)) {
      CPU.conv3d(tx, tw, null, new int[] {1, 1, 1}, pad, y);
      assertClose(CPU.toArray(y), expected, 1e-4);
    }
  }

  static float[] naiveAttention(
      float[] q, float[] k, float[] v, int sq, int sk, int heads, int d, float scale) {
    int ld = heads * d;
    float[] out = new float[sq * ld];
    double[] s = new double[sk];
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < sq; i++) {
        double mx = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < sk; j++) {
          double acc = 0;
          for (int c = 0; c < d; c++) {
            acc += (double) q[i * ld + h * d + c] * k[j * ld + h * d + c];
          }
          s[j] = acc * scale;
          mx = Math.max(mx, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < sk; j++) {
          s[j] = Math.exp(s[j] - mx);
          sum += s[j];
        }
        for (int c = 0; c < d; c++) {
          double acc = 0;
          for (int j = 0; j < sk; j++) {
            acc += s[j] * v[j * ld + h * d + c];
          }
          out[i * ld + h * d + c] = (float) (acc / sum);
        }
      }
    }
    return out;
  }

  @Test
  void denseAttentionMatchesNaiveAcrossKeyBlocks() {
    Random r = new Random(4);
    int heads = 2, d = 16, sq = 300, sk = 1100;
    float[] q = random(r, sq * heads * d);
    float[] k = random(r, sk * heads * d);
    float[] v = random(r, sk * heads * d);
    float scale = 0.25f;
    float[] expected = naiveAttention(q, k, v, sq, sk, heads, d, scale);
    try (Tensor tq = CPU.fromArray(q, sq, heads * d);
        Tensor tk = CPU.fromArray(k, sk, heads * d);
        Tensor tv = CPU.fromArray(v, sk, heads * d);
        Tensor o = CPU.allocate(sq, heads * d)) {
      CPU.attention(tq, tk, tv, o, heads, d, scale);
      assertClose(CPU.toArray(o), expected, 2e-5);
    }
  }

  @Test
  void blockSparseWithFullMaskEqualsDenseAndSkipsDroppedBlocks() {
    Random r = new Random(5);
    int heads = 2, d = 8, block = 32, sq = 96, sk = 128;
    float[] q = random(r, sq * heads * d);
    float[] k = random(r, sk * heads * d);
    float[] v = random(r, sk * heads * d);
    float scale = 0.3f;
    BlockMask full = new BlockMask(heads, 3, 4);
    BlockMask firstOnly = new BlockMask(heads, 3, 4);
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 4; j++) {
          full.set(h, i, j, true);
        }
        firstOnly.set(h, i, 0, true);
      }
    }
    float[] k0 = java.util.Arrays.copyOf(k, block * heads * d);
    float[] v0 = java.util.Arrays.copyOf(v, block * heads * d);
    try (Tensor tq = CPU.fromArray(q, sq, heads * d);
        Tensor tk = CPU.fromArray(k, sk, heads * d);
        Tensor tv = CPU.fromArray(v, sk, heads * d);
        Tensor dense = CPU.allocate(sq, heads * d);
        Tensor sparse = CPU.allocate(sq, heads * d)) {
      CPU.attention(tq, tk, tv, dense, heads, d, scale);
      CPU.blockSparseAttention(tq, tk, tv, sparse, heads, d, block, full, scale);
      assertClose(CPU.toArray(sparse), CPU.toArray(dense), 1e-5);
      CPU.blockSparseAttention(tq, tk, tv, sparse, heads, d, block, firstOnly, scale);
      assertClose(CPU.toArray(sparse), naiveAttention(q, k0, v0, sq, block, heads, d, scale), 2e-5);
    }
  }

  @Test
  void normsAndRopeMatchDefinitions() {
    Random r = new Random(6);
    float[] x = random(r, 4 * 8);
    try (Tensor t = CPU.fromArray(x, 4, 8);
        Tensor o = CPU.allocate(4, 8)) {
      CPU.rmsNorm(t, null, 1e-6f, 4, o);
      float[] y = CPU.toArray(o);
      double ss = 0;
      for (int i = 0; i < 4; i++) {
        ss += x[i] * x[i];
      }
      assertThat((double) y[0]).isCloseTo(x[0] / Math.sqrt(ss / 4 + 1e-6), within(1e-5));
      CPU.layerNorm(t, null, null, 1e-6f, 8, o);
      y = CPU.toArray(o);
      double mean = 0;
      for (int i = 0; i < 8; i++) {
        mean += y[i];
      }
      assertThat(mean).isCloseTo(0, within(1e-5));
      // rope with angle pi/2 rotates (a, b) to (-b, a)
      try (Tensor cos = CPU.fromArray(new float[] {0, 0, 0, 0, 0, 0, 0, 0}, 4, 2);
          Tensor sin = CPU.fromArray(new float[] {1, 1, 1, 1, 1, 1, 1, 1}, 4, 2)) {
        CPU.rope(t, 2, 4, cos, sin, 4, o);
        y = CPU.toArray(o);
        assertThat(y[0]).isEqualTo(-x[1]);
        assertThat(y[1]).isEqualTo(x[0]);
      }
    }
  }
}
