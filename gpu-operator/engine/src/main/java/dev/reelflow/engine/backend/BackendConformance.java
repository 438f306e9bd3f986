package dev.reelflow.engine.backend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The backend conformance checks: every {@link Backend} operation at edge shapes (element offsets,
 * leading dimensions, in-place calls, odd sizes, 16-bit weights) against straightforward reference
 * code with double accumulation. The unit tests run them on every backend CI can run; {@code
 * GpuSelfCheck} runs them on a GPU. Each check reports its largest error relative to the largest
 * reference magnitude (at least 1) and its tolerance: float32 paths 1e-4, 16-bit paths (bf16
 * weights or attention operands, {@link TorchBackend.Precision#MIXED16}) 3e-2.
 */
public final class BackendConformance {
  /** float32 tolerance, relative to max(1, max |reference|). */
  public static final double F32_TOLERANCE = 1e-4;

  /** Tolerance of operations that run in bf16/fp16 (16-bit weights, MIXED16 attention). */
  public static final double HALF_TOLERANCE = 3e-2;

  /** One check's outcome. */
  public record Check(String group, String name, double error, double tolerance) {
    public boolean passed() {
      return error <= tolerance;
    }

    @Override
    public String toString() {
      return String.format(
          java.util.Locale.ROOT,
          "%s/%s: error %.3g (tolerance %.1g) %s",
          group,
          name,
          error,
          tolerance,
          passed() ? "ok" : "FAILED");
    }
  }

  private final Backend b;
  private final double halfTol;
  private final double attnTol;
  private final String group;
  private final List<Check> out = new ArrayList<>();

  private BackendConformance(Backend b, String group) {
    this.b = b;
    this.group = group;
    boolean mixed = b instanceof TorchBackend t && t.precision() == TorchBackend.Precision.MIXED16;
    this.halfTol = mixed ? HALF_TOLERANCE : F32_TOLERANCE;
    this.attnTol = mixed ? HALF_TOLERANCE : F32_TOLERANCE;
  }

  /** Every check on one backend. */
  public static List<Check> all(Backend b) {
    List<Check> all = new ArrayList<>();
    all.addAll(memory(b));
    all.addAll(layout(b));
    all.addAll(gemm(b));
    all.addAll(linear(b));
    all.addAll(elementwise(b));
    all.addAll(norms(b));
    all.addAll(convolutions(b));
    all.addAll(attention(b));
    all.addAll(topTiles(b));
    return all;
  }

  private void check(String name, float[] actual, float[] expected, double tol) {
    if (actual.length != expected.length) {
      out.add(
          new Check(
              group, name + " (length " + actual.length + ")", Double.POSITIVE_INFINITY, tol));
      return;
    }
    double scale = 1;
    for (float e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double err = 0;
    for (int i = 0; i < actual.length; i++) {
      double d = Math.abs((double) actual[i] - expected[i]);
      if (Double.isNaN(d) || Double.isNaN(actual[i]) != Double.isNaN(expected[i])) {
        d = Double.POSITIVE_INFINITY;
      }
      err = Math.max(err, d);
    }
    out.add(new Check(group, name, err / scale, tol));
  }

  private void exact(String name, float[] actual, float[] expected) {
    check(name, actual, expected, 0);
  }

  private static float[] random(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  // ------------------------------------------------------------------ memory and layout

  /** allocate, fromArray, toArray, views, copy, write, fill, fromHost, convert. */
  public static List<Check> memory(Backend b) {
    BackendConformance c = new BackendConformance(b, "memory");
    Random r = new Random(1);
    float[] a = random(r, 3 * 5 * 7);
    try (Tensor t = b.fromArray(a, 3, 5, 7);
        Tensor z = b.allocate(2, 3)) {
      c.exact("fromArray/toArray", b.toArray(t), a);
      c.exact("allocate zeroes", b.toArray(z), new float[6]);
      float[] e = a.clone();
      b.fill(t.slice(11, 2, 4), 9f);
      Arrays.fill(e, 11, 19, 9f);
      c.exact("fill of a slice", b.toArray(t.view(105)), e);
      b.copy(t, 2, t, 50, 7);
      System.arraycopy(e, 2, e, 50, 7);
      b.write(t, 100, new float[] {1, 2, 3, 4, 5}, 1, 3);
      e[100] = 2;
      e[101] = 3;
      e[102] = 4;
      c.exact("copy/write at offsets", b.toArray(t), e);
    }
    short[] bits = new short[30];
    float[] widened = new float[30];
    float[] src = random(r, 30);
    for (int i = 0; i < 30; i++) {
      bits[i] = DType.floatToBf16(src[i]);
      widened[i] = DType.bf16ToFloat(bits[i]);
    }
    try (org.bytedeco.javacpp.FloatPointer fp = new org.bytedeco.javacpp.FloatPointer(src);
        org.bytedeco.javacpp.ShortPointer sp = new org.bytedeco.javacpp.ShortPointer(bits);
        Tensor f = b.fromHost(fp, DType.F32, 6, 5);
        Tensor h = b.fromHost(sp, DType.BF16, 6, 5);
        Tensor cv = b.convert(f, DType.BF16);
        Tensor eye = b.fromArray(identity(5), 5, 5);
        Tensor o1 = b.allocate(5, 6);
        Tensor o2 = b.allocate(5, 6)) {
      c.exact("fromHost F32", b.toArray(f), src);
      // I * W^T reads 16-bit weights back exactly: one 0/1 product per sum
      b.linear(eye, h, null, o1);
      b.linear(eye, cv, null, o2);
      c.exact("fromHost BF16 keeps bits", transpose(b.toArray(o1), 5, 6), widened);
      c.exact(
          "convert F32 to BF16 rounds to nearest even", transpose(b.toArray(o2), 5, 6), widened);
      c.out.add(
          new Check(
              c.group,
              "fromHost/convert keep BF16",
              h.dtype() == DType.BF16 && cv.dtype() == DType.BF16 ? 0 : 1,
              0));
    }
    return c.out;
  }

  static float[] identity(int n) {
    float[] e = new float[n * n];
    for (int i = 0; i < n; i++) {
      e[i * n + i] = 1f;
    }
    return e;
  }

  static float[] transpose(float[] a, int rows, int cols) {
    float[] t = new float[a.length];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < cols; j++) {
        t[j * rows + i] = a[i * cols + j];
      }
    }
    return t;
  }

  /** gatherRows (with -1 rows), permute, padReplicate3d, groupMeanRows. */
  public static List<Check> layout(Backend b) {
    BackendConformance c = new BackendConformance(b, "layout");
    Random r = new Random(3);
    int cols = 7;
    float[] src = random(r, 9 * cols);
    int[] idx = {8, -1, 0, 3, 3, -1, 5};
    try (Tensor s = b.fromArray(src, 9, cols);
        Tensor d = b.fromArray(random(r, idx.length * cols), idx.length, cols)) {
      b.gatherRows(s, idx, d);
      float[] e = new float[idx.length * cols];
      for (int i = 0; i < idx.length; i++) {
        if (idx[i] >= 0) {
          System.arraycopy(src, idx[i] * cols, e, i * cols, cols);
        }
      }
      c.exact("gatherRows with -1 rows", b.toArray(d), e);
    }
    int[] shape = {2, 3, 4, 5};
    int[] perm = {2, 0, 3, 1};
    float[] x = random(r, 120);
    try (Tensor xt = b.fromArray(x, 120);
        Tensor o = b.allocate(120)) {
      b.permute(xt, shape, perm, o);
      float[] e = new float[120];
      int[] os = {shape[perm[0]], shape[perm[1]], shape[perm[2]], shape[perm[3]]};
      for (int i0 = 0; i0 < 2; i0++) {
        for (int i1 = 0; i1 < 3; i1++) {
          for (int i2 = 0; i2 < 4; i2++) {
            for (int i3 = 0; i3 < 5; i3++) {
              int[] in = {i0, i1, i2, i3};
              int dst =
                  ((in[perm[0]] * os[1] + in[perm[1]]) * os[2] + in[perm[2]]) * os[3] + in[perm[3]];
              e[dst] = x[((i0 * 3 + i1) * 4 + i2) * 5 + i3];
            }
          }
        }
      }
      c.exact("permute 4d", b.toArray(o), e);
    }
    int ch = 2;
    int t = 3;
    int h = 4;
    int w = 5;
    float[] p = random(r, ch * t * h * w);
    int pt0 = 2;
    int pt1 = 1;
    int ph = 1;
    int pw = 2;
    int to = t + pt0 + pt1;
    int ho = h + 2 * ph;
    int wo = w + 2 * pw;
    try (Tensor pin = b.fromArray(p, ch, t, h, w);
        Tensor pout = b.allocate(ch, to, ho, wo)) {
      b.padReplicate3d(pin, pt0, pt1, ph, pw, pout);
      float[] e = new float[ch * to * ho * wo];
      for (int cc = 0; cc < ch; cc++) {
        for (int tt = 0; tt < to; tt++) {
          for (int yy = 0; yy < ho; yy++) {
            for (int xx = 0; xx < wo; xx++) {
              int ti = Math.min(t - 1, Math.max(0, tt - pt0));
              int yi = Math.min(h - 1, Math.max(0, yy - ph));
              int xi = Math.min(w - 1, Math.max(0, xx - pw));
              e[((cc * to + tt) * ho + yy) * wo + xx] = p[((cc * t + ti) * h + yi) * w + xi];
            }
          }
        }
      }
      c.exact("padReplicate3d", b.toArray(pout), e);
    }
    int group = 6;
    int rows = 5;
    float[] g = random(r, rows * group * cols);
    try (Tensor gx = b.fromArray(g, rows * group, cols);
        Tensor go = b.allocate(rows, cols)) {
      b.groupMeanRows(gx, group, go);
      float[] e = new float[rows * cols];
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
          double acc = 0;
          for (int k = 0; k < group; k++) {
            acc += g[(i * group + k) * cols + j];
          }
          e[i * cols + j] = (float) (acc / group);
        }
      }
      c.check("groupMeanRows", b.toArray(go), e, F32_TOLERANCE);
    }
    return c.out;
  }

  // ------------------------------------------------------------------ GEMM

  /** Reference {@code C = alpha op(A) op(B) + beta C} on flat arrays with offsets and lds. */
  static void refGemm(
      boolean ta,
      boolean tb,
      int m,
      int n,
      int k,
      float alpha,
      float[] a,
      int aOff,
      int lda,
      float[] bb,
      int bOff,
      int ldb,
      float beta,
      float[] c,
      int cOff,
      int ldc) {
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double acc = 0;
        for (int p = 0; p < k; p++) {
          float av = ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
          float bv = tb ? bb[bOff + j * ldb + p] : bb[bOff + p * ldb + j];
          acc += (double) av * bv;
        }
        int ci = cOff + i * ldc + j;
        c[ci] = (float) (alpha * acc + (beta == 0 ? 0 : beta * c[ci]));
      }
    }
  }

  /** gemm over all transposes with offsets, leading dimensions, beta 0 over NaN; batchedGemm. */
  public static List<Check> gemm(Backend b) {
    BackendConformance c = new BackendConformance(b, "gemm");
    Random r = new Random(4);
    int m = 13;
    int n = 11;
    int k = 9;
    for (boolean ta : new boolean[] {false, true}) {
      for (boolean tb : new boolean[] {false, true}) {
        int lda = (ta ? m : k) + 3;
        int ldb = (tb ? k : n) + 2;
        int ldc = n + 5;
        int aOff = 7;
        int bOff = 4;
        int cOff = 6;
        float[] a = random(r, aOff + (ta ? k : m) * lda);
        float[] bb = random(r, bOff + (tb ? n : k) * ldb);
        float[] cc = random(r, cOff + m * ldc);
        for (float beta : new float[] {0f, 0.5f}) {
          float[] c0 = cc.clone();
          if (beta == 0) {
            // BLAS semantics: with beta 0, C is not read (NaN there must not leak)
            for (int i = 0; i < m; i++) {
              c0[cOff + i * ldc] = Float.NaN;
            }
          }
          float[] e = c0.clone();
          refGemm(ta, tb, m, n, k, 1.5f, a, aOff, lda, bb, bOff, ldb, beta, e, cOff, ldc);
          try (Tensor at = b.fromArray(a, a.length);
              Tensor bt = b.fromArray(bb, bb.length);
              Tensor ct = b.fromArray(c0, c0.length)) {
            b.gemm(ta, tb, m, n, k, 1.5f, at, aOff, lda, bt, bOff, ldb, beta, ct, cOff, ldc);
            c.check(
                "gemm ta=" + ta + " tb=" + tb + " beta=" + beta, b.toArray(ct), e, F32_TOLERANCE);
          }
        }
      }
    }
    int batch = 3;
    int lda = k + 1;
    int ldb = k + 2; // B transposed: [n, k]
    int ldc = n;
    long sa = (long) m * lda + 5;
    long sb = (long) n * ldb + 3;
    long sc = (long) m * ldc + 2;
    float[] a = random(r, (int) (2 + batch * sa));
    float[] bb = random(r, (int) (1 + batch * sb));
    float[] cc = random(r, (int) (3 + batch * sc));
    float[] e = cc.clone();
    for (int i = 0; i < batch; i++) {
      refGemm(
          false,
          true,
          m,
          n,
          k,
          0.7f,
          a,
          (int) (2 + i * sa),
          lda,
          bb,
          (int) (1 + i * sb),
          ldb,
          1f,
          e,
          (int) (3 + i * sc),
          ldc);
    }
    try (Tensor at = b.fromArray(a, a.length);
        Tensor bt = b.fromArray(bb, bb.length);
        Tensor ct = b.fromArray(cc, cc.length)) {
      b.batchedGemm(
          batch, false, true, m, n, k, 0.7f, at, 2, lda, sa, bt, 1, ldb, sb, 1f, ct, 3, ldc, sc);
      c.check("batchedGemm with strides", b.toArray(ct), e, F32_TOLERANCE);
    }
    return c.out;
  }

  /** linear with F32, BF16 and F16 weights, with and without bias, on a slice of rows. */
  public static List<Check> linear(Backend b) {
    BackendConformance c = new BackendConformance(b, "linear");
    Random r = new Random(5);
    int rows = 37;
    int in = 29;
    int outF = 19;
    float[] x = random(r, (rows + 3) * in);
    float[] w = random(r, outF * in);
    float[] bias = random(r, outF);
    for (DType dt : DType.values()) {
      float[] wr = new float[w.length];
      short[] bits = new short[w.length];
      for (int i = 0; i < w.length; i++) {
        bits[i] = dt == DType.BF16 ? DType.floatToBf16(w[i]) : DType.floatToF16(w[i]);
        wr[i] =
            switch (dt) {
              case F32 -> w[i];
              case BF16 -> DType.bf16ToFloat(bits[i]);
              case F16 -> DType.f16ToFloat(bits[i]);
            };
      }
      for (boolean withBias : new boolean[] {true, false}) {
        float[] e = new float[rows * outF];
        for (int i = 0; i < rows; i++) {
          for (int j = 0; j < outF; j++) {
            double acc = withBias ? bias[j] : 0;
            for (int p = 0; p < in; p++) {
              acc += (double) x[(i + 3) * in + p] * wr[j * in + p];
            }
            e[i * outF + j] = (float) acc;
          }
        }
        try (Tensor xt = b.fromArray(x, rows + 3, in);
            Tensor wt =
                dt == DType.F32 ? b.fromArray(w, outF, in) : b.fromBits(dt, bits, outF, in);
            Tensor bt = b.fromArray(bias, outF);
            Tensor o = b.allocate(rows, outF)) {
          b.linear(xt.slice(3L * in, rows, in), wt, withBias ? bt : null, o);
          c.check(
              "linear " + dt + (withBias ? " + bias" : ""),
              b.toArray(o),
              e,
              dt == DType.F32 ? F32_TOLERANCE : c.halfTol);
        }
      }
    }
    return c.out;
  }

  // ------------------------------------------------------------------ elementwise

  private interface Op {
    double apply(double v);
  }

  private static float[] map(float[] a, Op f) {
    float[] o = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      o[i] = (float) f.apply(a[i]);
    }
    return o;
  }

  private static double erf(double x) {
    // Chebyshev fit of erfc (Numerical Recipes), fractional error below 1.2e-7
    double t = 1.0 / (1.0 + 0.5 * Math.abs(x));
    double y =
        1
            - t
                * Math.exp(
                    -x * x
                        - 1.26551223
                        + t
                            * (1.00002368
                                + t
                                    * (0.37409196
                                        + t
                                            * (0.09678418
                                                + t
                                                    * (-0.18628806
                                                        + t
                                                            * (0.27886807
                                                                + t
                                                                    * (-1.13520398
                                                                        + t
                                                                            * (1.48851587
                                                                                + t
                                                                                    * (-0.82215223
                                                                                        + t
                                                                                            * 0.17087277)))))))));
    return x >= 0 ? y : -y;
  }

  /**
   * add, mul, axpby, scale, relu, addRow, silu, gelu, geluTanh, modulate, addGated; in place too.
   */
  public static List<Check> elementwise(Backend b) {
    BackendConformance c = new BackendConformance(b, "elementwise");
    Random r = new Random(6);
    int rows = 7;
    int cols = 13;
    int n = rows * cols;
    float[] x = random(r, n);
    float[] y = random(r, n);
    float[] row = random(r, cols + 4);
    double tol = F32_TOLERANCE;
    try (Tensor xt = b.fromArray(x, rows, cols);
        Tensor yt = b.fromArray(y, rows, cols);
        Tensor rt = b.fromArray(row, cols + 4);
        Tensor o = b.allocate(rows, cols)) {
      float[] e = new float[n];
      b.add(xt, yt, o);
      for (int i = 0; i < n; i++) {
        e[i] = x[i] + y[i];
      }
      c.check("add", b.toArray(o), e, tol);
      b.mul(xt, yt, o);
      for (int i = 0; i < n; i++) {
        e[i] = x[i] * y[i];
      }
      c.check("mul", b.toArray(o), e, tol);
      b.axpby(0.3f, xt, -1.7f, yt, o);
      for (int i = 0; i < n; i++) {
        e[i] = 0.3f * x[i] - 1.7f * y[i];
      }
      c.check("axpby", b.toArray(o), e, tol);
      b.scale(xt, 2.5f, o);
      c.check("scale", b.toArray(o), map(x, v -> 2.5 * v), tol);
      b.relu(xt, o);
      c.check("relu", b.toArray(o), map(x, v -> Math.max(v, 0)), tol);
      Tensor rowView = rt.slice(4, cols);
      b.addRow(xt, rowView, o);
      for (int i = 0; i < n; i++) {
        e[i] = x[i] + row[4 + i % cols];
      }
      c.check("addRow (row at an offset)", b.toArray(o), e, tol);
      b.silu(xt, o);
      c.check("silu", b.toArray(o), map(x, v -> v / (1 + Math.exp(-v))), tol);
      b.gelu(xt, o);
      c.check("gelu", b.toArray(o), map(x, v -> 0.5 * v * (1 + erf(v / Math.sqrt(2)))), 2e-4);
      b.geluTanh(xt, o);
      c.check(
          "geluTanh",
          b.toArray(o),
          map(
              x,
              v -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))),
          tol);
      b.modulate(xt, rt, 1, rt, 3, o);
      for (int i = 0; i < n; i++) {
        e[i] = x[i] * (1 + row[3 + i % cols]) + row[1 + i % cols];
      }
      c.check("modulate (shift/scale at offsets)", b.toArray(o), e, tol);
      // in place: x = x + y, then x = silu(x), then x += gate * y
      b.add(xt, yt, xt);
      b.silu(xt, xt);
      b.addGated(xt, rt, 2, yt);
      for (int i = 0; i < n; i++) {
        double s = x[i] + y[i];
        s = s / (1 + Math.exp(-s));
        e[i] = (float) (s + row[2 + i % cols] * y[i]);
      }
      c.check("in place add, silu, addGated", b.toArray(xt), e, tol);
    }
    return c.out;
  }

  // ------------------------------------------------------------------ reductions and norms

  /** sumRows, sum, maxAbs, layerNorm, rmsNorm, rope, channelRmsNorm, softmax. */
  public static List<Check> norms(Backend b) {
    BackendConformance c = new BackendConformance(b, "norms");
    Random r = new Random(7);
    int rows = 6;
    int cols = 24;
    int n = rows * cols;
    float[] x = random(r, n);
    for (int i = 0; i < n; i++) {
      x[i] = x[i] * 3 + 1; // non-zero mean
    }
    float[] w = random(r, cols);
    float[] bias = random(r, cols);
    double tol = F32_TOLERANCE;
    try (Tensor xt = b.fromArray(x, rows, cols);
        Tensor wt = b.fromArray(w, cols);
        Tensor bt = b.fromArray(bias, cols);
        Tensor o = b.allocate(rows, cols);
        Tensor s = b.allocate(rows)) {
      b.sumRows(xt, s);
      float[] e = new float[rows];
      double total = 0;
      float mx = 0;
      for (int i = 0; i < rows; i++) {
        double acc = 0;
        for (int j = 0; j < cols; j++) {
          acc += x[i * cols + j];
          mx = Math.max(mx, Math.abs(x[i * cols + j]));
        }
        e[i] = (float) acc;
        total += acc;
      }
      c.check("sumRows", b.toArray(s), e, tol);
      c.check("sum", new float[] {(float) b.sum(xt)}, new float[] {(float) total}, tol);
      c.exact("maxAbs", new float[] {b.maxAbs(xt)}, new float[] {mx});
      for (int group : new int[] {cols, 8}) {
        for (boolean affine : new boolean[] {true, false}) {
          float[] ln = new float[n];
          float[] rms = new float[n];
          for (int g = 0; g < n / group; g++) {
            double mean = 0;
            double ss = 0;
            for (int j = 0; j < group; j++) {
              mean += x[g * group + j];
              ss += (double) x[g * group + j] * x[g * group + j];
            }
            mean /= group;
            double var = 0;
            for (int j = 0; j < group; j++) {
              double d = x[g * group + j] - mean;
              var += d * d;
            }
            var /= group;
            for (int j = 0; j < group; j++) {
              double v = (x[g * group + j] - mean) / Math.sqrt(var + 1e-6);
              double q = x[g * group + j] / Math.sqrt(ss / group + 1e-6);
              ln[g * group + j] = (float) (affine ? v * w[j] + bias[j] : v);
              rms[g * group + j] = (float) (affine ? q * w[j] : q);
            }
          }
          Tensor gw = affine ? wt.slice(0, group) : null;
          Tensor gb = affine ? bt.slice(0, group) : null;
          b.layerNorm(xt, gw, gb, 1e-6f, group, o);
          c.check("layerNorm group " + group + (affine ? " affine" : ""), b.toArray(o), ln, tol);
          b.rmsNorm(xt, gw, 1e-6f, group, o);
          c.check("rmsNorm group " + group + (affine ? " affine" : ""), b.toArray(o), rms, tol);
        }
      }
      b.softmax(xt, o);
      float[] sm = new float[n];
      for (int i = 0; i < rows; i++) {
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < cols; j++) {
          m = Math.max(m, x[i * cols + j]);
        }
        double z = 0;
        for (int j = 0; j < cols; j++) {
          z += Math.exp(x[i * cols + j] - m);
        }
        for (int j = 0; j < cols; j++) {
          sm[i * cols + j] = (float) (Math.exp(x[i * cols + j] - m) / z);
        }
      }
      c.check("softmax", b.toArray(o), sm, tol);
      // in place layerNorm
      b.layerNorm(xt, wt, bt, 1e-6f, cols, xt);
      b.layerNorm(o, null, null, 1e-6f, cols, o); // values irrelevant; exercises aliasing
      float[] ln = new float[n];
      for (int i = 0; i < rows; i++) {
        double mean = 0;
        for (int j = 0; j < cols; j++) {
          mean += x[i * cols + j];
        }
        mean /= cols;
        double var = 0;
        for (int j = 0; j < cols; j++) {
          var += (x[i * cols + j] - mean) * (x[i * cols + j] - mean);
        }
        var /= cols;
        for (int j = 0; j < cols; j++) {
          ln[i * cols + j] =
              (float) ((x[i * cols + j] - mean) / Math.sqrt(var + 1e-6) * w[j] + bias[j]);
        }
      }
      c.check("layerNorm in place", b.toArray(xt), ln, tol);
    }
    // rope: 5 rows of which 3 rotated, 2 heads x 8
    int heads = 2;
    int hd = 8;
    int tokens = 3;
    int total = 5;
    int half = hd / 2;
    float[] q = random(r, total * heads * hd);
    float[] cos = new float[tokens * half];
    float[] sin = new float[tokens * half];
    for (int i = 0; i < cos.length; i++) {
      double a = r.nextDouble() * 6;
      cos[i] = (float) Math.cos(a);
      sin[i] = (float) Math.sin(a);
    }
    float[] e = q.clone();
    for (int t = 0; t < tokens; t++) {
      for (int h = 0; h < heads; h++) {
        for (int j = 0; j < half; j++) {
          int off = (t * heads + h) * hd + 2 * j;
          float c0 = cos[t * half + j];
          float s0 = sin[t * half + j];
          e[off] = q[off] * c0 - q[off + 1] * s0;
          e[off + 1] = q[off] * s0 + q[off + 1] * c0;
        }
      }
    }
    try (Tensor qt = b.fromArray(q, total, heads * hd);
        Tensor ct = b.fromArray(cos, tokens, half);
        Tensor st = b.fromArray(sin, tokens, half);
        Tensor o = b.fromArray(random(r, q.length), total, heads * hd)) {
      b.rope(qt, heads, hd, ct, st, tokens, o);
      c.check("rope out of place (rows beyond tokens copied)", b.toArray(o), e, F32_TOLERANCE);
      b.rope(qt, heads, hd, ct, st, tokens, qt);
      c.check("rope in place", b.toArray(qt), e, F32_TOLERANCE);
    }
    // channelRmsNorm [C, P]
    int ch = 5;
    int plane = 11;
    float[] v = random(r, ch * plane);
    float[] gamma = random(r, ch);
    for (boolean withGamma : new boolean[] {true, false}) {
      float[] ee = new float[v.length];
      for (int p = 0; p < plane; p++) {
        double ss = 0;
        for (int k = 0; k < ch; k++) {
          ss += (double) v[k * plane + p] * v[k * plane + p];
        }
        double f = Math.sqrt(ch) / Math.max(Math.sqrt(ss), 1e-12);
        for (int k = 0; k < ch; k++) {
          ee[k * plane + p] = (float) (v[k * plane + p] * f * (withGamma ? gamma[k] : 1));
        }
      }
      try (Tensor vt = b.fromArray(v, ch, plane);
          Tensor gt = b.fromArray(gamma, ch);
          Tensor o = b.allocate(ch, plane)) {
        b.channelRmsNorm(vt, withGamma ? gt : null, 1e-12f, o);
        c.check("channelRmsNorm" + (withGamma ? " gamma" : ""), b.toArray(o), ee, F32_TOLERANCE);
      }
    }
    return c.out;
  }

  // ------------------------------------------------------------------ convolution

  /** conv3d with stride and padding, conv2d over a batch; with and without bias. */
  public static List<Check> convolutions(Backend b) {
    BackendConformance c = new BackendConformance(b, "conv");
    Random r = new Random(8);
    int ci = 3;
    int co = 4;
    int[] in = {5, 7, 6};
    int[] k = {3, 3, 2};
    int[] st = {1, 2, 1};
    int[] pd = {1, 1, 0};
    int[] o = new int[3];
    for (int i = 0; i < 3; i++) {
      o[i] = (in[i] + 2 * pd[i] - k[i]) / st[i] + 1;
    }
    float[] x = random(r, ci * in[0] * in[1] * in[2]);
    float[] w = random(r, co * ci * k[0] * k[1] * k[2]);
    float[] bias = random(r, co);
    float[] e = new float[co * o[0] * o[1] * o[2]];
    for (int oc = 0; oc < co; oc++) {
      for (int t = 0; t < o[0]; t++) {
        for (int y = 0; y < o[1]; y++) {
          for (int xx = 0; xx < o[2]; xx++) {
            double acc = bias[oc];
            for (int cc = 0; cc < ci; cc++) {
              for (int a = 0; a < k[0]; a++) {
                for (int bb = 0; bb < k[1]; bb++) {
                  for (int d = 0; d < k[2]; d++) {
                    int ti = t * st[0] - pd[0] + a;
                    int yi = y * st[1] - pd[1] + bb;
                    int xi = xx * st[2] - pd[2] + d;
                    if (ti < 0 || yi < 0 || xi < 0 || ti >= in[0] || yi >= in[1] || xi >= in[2]) {
                      continue;
                    }
                    acc +=
                        (double) x[((cc * in[0] + ti) * in[1] + yi) * in[2] + xi]
                            * w[((((oc * ci + cc) * k[0] + a) * k[1] + bb) * k[2]) + d];
                  }
                }
              }
            }
            e[((oc * o[0] + t) * o[1] + y) * o[2] + xx] = (float) acc;
          }
        }
      }
    }
    try (Tensor xt = b.fromArray(x, ci, in[0], in[1], in[2]);
        Tensor wt = b.fromArray(w, co, ci, k[0], k[1], k[2]);
        Tensor bt = b.fromArray(bias, co);
        Tensor ot = b.allocate(co, o[0], o[1], o[2])) {
      b.conv3d(xt, wt, bt, st, pd, ot);
      c.check("conv3d stride/padding + bias", b.toArray(ot), e, F32_TOLERANCE);
    }
    // conv2d: N=2, stride 2, padding 1, no bias
    int n = 2;
    int h = 7;
    int wd = 8;
    int kh = 3;
    float[] x2 = random(r, n * ci * h * wd);
    float[] w2 = random(r, co * ci * kh * kh);
    int ho = (h + 2 - kh) / 2 + 1;
    int wo = (wd + 2 - kh) / 2 + 1;
    float[] e2 = new float[n * co * ho * wo];
    for (int s = 0; s < n; s++) {
      for (int oc = 0; oc < co; oc++) {
        for (int y = 0; y < ho; y++) {
          for (int xx = 0; xx < wo; xx++) {
            double acc = 0;
            for (int cc = 0; cc < ci; cc++) {
              for (int a = 0; a < kh; a++) {
                for (int bb = 0; bb < kh; bb++) {
                  int yi = y * 2 - 1 + a;
                  int xi = xx * 2 - 1 + bb;
                  if (yi < 0 || xi < 0 || yi >= h || xi >= wd) {
                    continue;
                  }
                  acc +=
                      (double) x2[((s * ci + cc) * h + yi) * wd + xi]
                          * w2[((oc * ci + cc) * kh + a) * kh + bb];
                }
              }
            }
            e2[((s * co + oc) * ho + y) * wo + xx] = (float) acc;
          }
        }
      }
    }
    try (Tensor xt = b.fromArray(x2, n, ci, h, wd);
        Tensor wt = b.fromArray(w2, co, ci, kh, kh);
        Tensor ot = b.allocate(n, co, ho, wo)) {
      b.conv2d(xt, wt, null, 2, 2, 1, 1, ot);
      c.check("conv2d batch 2, stride 2, padding 1", b.toArray(ot), e2, F32_TOLERANCE);
    }
    // conv2d: N=2, stride 1, "same" padding, bias, 27 input channels (the ESRGAN x3 case;
    // libtorch's oneDNN convolution got 26-28 input channels wrong on the CPU)
    int c3 = 27;
    float[] x3 = random(r, n * c3 * h * wd);
    float[] w3 = random(r, co * c3 * kh * kh);
    float[] b3 = random(r, co);
    float[] e3 = new float[n * co * h * wd];
    for (int s = 0; s < n; s++) {
      for (int oc = 0; oc < co; oc++) {
        for (int y = 0; y < h; y++) {
          for (int xx = 0; xx < wd; xx++) {
            double acc = b3[oc];
            for (int cc = 0; cc < c3; cc++) {
              for (int a = 0; a < kh; a++) {
                for (int bb = 0; bb < kh; bb++) {
                  int yi = y - 1 + a;
                  int xi = xx - 1 + bb;
                  if (yi >= 0 && xi >= 0 && yi < h && xi < wd) {
                    acc +=
                        (double) x3[((s * c3 + cc) * h + yi) * wd + xi]
                            * w3[((oc * c3 + cc) * kh + a) * kh + bb];
                  }
                }
              }
            }
            e3[((s * co + oc) * h + y) * wd + xx] = (float) acc;
          }
        }
      }
    }
    try (Tensor xt = b.fromArray(x3, n, c3, h, wd);
        Tensor wt = b.fromArray(w3, co, c3, kh, kh);
        Tensor bt = b.fromArray(b3, co);
        Tensor ot = b.allocate(n, co, h, wd)) {
      b.conv2d(xt, wt, bt, 1, 1, 1, 1, ot);
      c.check("conv2d batch 2, stride 1, same padding + bias", b.toArray(ot), e3, F32_TOLERANCE);
    }
    return c.out;
  }

  // ------------------------------------------------------------------ attention

  /** Reference attention of query rows against key rows of one head (exact softmax). */
  static void refAttend(
      float[] q,
      float[] k,
      float[] v,
      float[] out,
      int ld,
      int h,
      int d,
      int[] qRows,
      int[] kRows,
      float scale) {
    for (int qi : qRows) {
      double[] s = new double[kRows.length];
      double m = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < kRows.length; j++) {
        double acc = 0;
        for (int x = 0; x < d; x++) {
          acc += (double) q[qi * ld + h * d + x] * k[kRows[j] * ld + h * d + x];
        }
        s[j] = acc * scale;
        m = Math.max(m, s[j]);
      }
      double z = 0;
      for (int j = 0; j < kRows.length; j++) {
        s[j] = Math.exp(s[j] - m);
        z += s[j];
      }
      for (int x = 0; x < d; x++) {
        double acc = 0;
        for (int j = 0; j < kRows.length; j++) {
          acc += s[j] * v[kRows[j] * ld + h * d + x];
        }
        out[qi * ld + h * d + x] = kRows.length == 0 ? 0 : (float) (acc / z);
      }
    }
  }

  private static int[] range(int from, int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = from + i;
    }
    return a;
  }

  /** Dense attention at odd lengths; block-sparse with a random mask and an empty row. */
  public static List<Check> attention(Backend b) {
    BackendConformance c = new BackendConformance(b, "attention");
    Random r = new Random(9);
    int heads = 3;
    int d = 16;
    int ld = heads * d;
    int sq = 37;
    int sk = 53;
    float scale = (float) (1 / Math.sqrt(d));
    float[] q = random(r, sq * ld);
    float[] k = random(r, sk * ld);
    float[] v = random(r, sk * ld);
    float[] e = new float[sq * ld];
    for (int h = 0; h < heads; h++) {
      refAttend(q, k, v, e, ld, h, d, range(0, sq), range(0, sk), scale);
    }
    try (Tensor qt = b.fromArray(q, sq, ld);
        Tensor kt = b.fromArray(k, sk, ld);
        Tensor vt = b.fromArray(v, sk, ld);
        Tensor ot = b.allocate(sq, ld)) {
      b.attention(qt, kt, vt, ot, heads, d, scale);
      c.check("dense Sq=37 Sk=53", b.toArray(ot), e, c.attnTol);
    }
    int block = 8;
    int qb = 5;
    int kb = 7;
    float[] q2 = random(r, qb * block * ld);
    float[] k2 = random(r, kb * block * ld);
    float[] v2 = random(r, kb * block * ld);
    BlockMask mask = new BlockMask(heads, qb, kb);
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < qb; i++) {
        for (int j = 0; j < kb; j++) {
          boolean empty = h == 1 && i == 2;
          mask.set(h, i, j, !empty && r.nextDouble() < 0.45);
        }
      }
    }
    mask.set(0, 0, 6, true);
    mask.freeze();
    float[] e2 = new float[qb * block * ld];
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < qb; i++) {
        int[] kept = mask.keptKeys(h, i);
        int[] rows = new int[kept.length * block];
        for (int j = 0; j < kept.length; j++) {
          for (int x = 0; x < block; x++) {
            rows[j * block + x] = kept[j] * block + x;
          }
        }
        refAttend(q2, k2, v2, e2, ld, h, d, range(i * block, block), rows, scale);
      }
    }
    try (Tensor qt = b.fromArray(q2, qb * block, ld);
        Tensor kt = b.fromArray(k2, kb * block, ld);
        Tensor vt = b.fromArray(v2, kb * block, ld);
        Tensor ot = b.fromArray(random(r, qb * block * ld), qb * block, ld)) {
      b.blockSparseAttention(qt, kt, vt, ot, heads, d, block, mask, scale);
      float[] got = b.toArray(ot);
      c.check("block-sparse random mask (one empty row)", got, e2, c.attnTol);
      float[] emptyRow = new float[block * d];
      float[] gotEmpty = new float[block * d];
      for (int x = 0; x < block; x++) {
        System.arraycopy(got, (2 * block + x) * ld + d, gotEmpty, x * d, d);
      }
      c.exact("block-sparse row without keys is zero", gotEmpty, emptyRow);
    }
    return c.out;
  }

  /** topTiles against the host selection on random tile means (one all-zero tile). */
  public static List<Check> topTiles(Backend b) {
    BackendConformance c = new BackendConformance(b, "ssta");
    Random r = new Random(10);
    int tiles = 23;
    int heads = 2;
    int d = 16;
    float[] qm = random(r, tiles * heads * d);
    float[] km = random(r, tiles * heads * d);
    Arrays.fill(km, 5 * heads * d, 6 * heads * d, 0f);
    int k = 6;
    int[][][] want = TileSelection.topTiles(TileSelection.scores(qm, km, tiles, heads, d, 0.7), k);
    try (Tensor qt = b.fromArray(qm, tiles, heads * d);
        Tensor kt = b.fromArray(km, tiles, heads * d)) {
      int[][][] got = b.topTiles(qt, kt, heads, d, 0.7, k);
      int mismatched = 0;
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < tiles; i++) {
          if (!Arrays.equals(got[h][i], want[h][i])) {
            mismatched++;
          }
        }
      }
      c.out.add(
          new Check(c.group, "topTiles rows differing from the host selection", mismatched, 0));
    }
    return c.out;
  }
}
