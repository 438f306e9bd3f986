package dev.reelflow.engine.backend;

import static dev.reelflow.engine.backend.CpuBackend.requireF32;
import static dev.reelflow.engine.backend.CpuGemm.at;
import static dev.reelflow.engine.backend.CpuGemm.sgemm;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The CPU backend's convolutions: conv3d and conv2d by im2col + GEMM in bounded chunks, and the
 * stride-1 "same" conv2d without im2col. Moved out of {@link CpuBackend}, which delegates to it.
 */
final class CpuConvolution {
  private static final long COL_BUDGET = 1L << 24; // floats per im2col chunk (64 MiB)

  private final Parallel parallel;
  private final ThreadLocal<CpuScratch> scratch;
  private final CpuGemm gemm;
  private final CpuBackend backend;

  CpuConvolution(
      Parallel parallel, ThreadLocal<CpuScratch> scratch, CpuGemm gemm, CpuBackend backend) {
    this.parallel = parallel;
    this.scratch = scratch;
    this.gemm = gemm;
    this.backend = backend;
  }

  void conv3d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, Tensor out) {
    if (x.rank() != 4 || weight.rank() != 5 || out.rank() != 4) {
      throw new IllegalArgumentException(
          "conv3d: x [C,T,H,W], weight [O,C,kt,kh,kw], out [O,T,H,W]");
    }
    int c = (int) x.dim(0);
    if (weight.dim(1) != c) {
      throw new IllegalArgumentException("conv3d: weight " + weight + " vs input " + x);
    }
    int[] in = {(int) x.dim(1), (int) x.dim(2), (int) x.dim(3)};
    int[] k = {(int) weight.dim(2), (int) weight.dim(3), (int) weight.dim(4)};
    int[] o = new int[3];
    for (int i = 0; i < 3; i++) {
      o[i] = (in[i] + 2 * padding[i] - k[i]) / stride[i] + 1;
    }
    int outC = (int) weight.dim(0);
    if (out.dim(0) != outC || out.dim(1) != o[0] || out.dim(2) != o[1] || out.dim(3) != o[2]) {
      throw new IllegalArgumentException(
          "conv3d: out " + out + " should be [" + outC + ", " + Arrays.toString(o) + "]");
    }
    convSample(x, 0, c, in, weight, bias, k, stride, padding, out, 0, outC, o);
  }

  void conv2d(
      Tensor x,
      Tensor weight,
      Tensor bias,
      int strideH,
      int strideW,
      int padH,
      int padW,
      Tensor out) {
    if (x.rank() != 4 || weight.rank() != 4 || out.rank() != 4) {
      throw new IllegalArgumentException("conv2d: x [N,C,H,W], weight [O,C,kh,kw], out [N,O,H,W]");
    }
    int n = (int) x.dim(0);
    int c = (int) x.dim(1);
    if (weight.dim(1) != c) {
      throw new IllegalArgumentException("conv2d: weight " + weight + " vs input " + x);
    }
    int[] in = {1, (int) x.dim(2), (int) x.dim(3)};
    int[] k = {1, (int) weight.dim(2), (int) weight.dim(3)};
    int[] st = {1, strideH, strideW};
    int[] pd = {0, padH, padW};
    int[] o = {1, (in[1] + 2 * padH - k[1]) / strideH + 1, (in[2] + 2 * padW - k[2]) / strideW + 1};
    int outC = (int) weight.dim(0);
    if (out.dim(0) != n || out.dim(1) != outC || out.dim(2) != o[1] || out.dim(3) != o[2]) {
      throw new IllegalArgumentException(
          "conv2d: out "
              + out
              + " should be ["
              + n
              + ", "
              + outC
              + ", "
              + o[1]
              + ", "
              + o[2]
              + "]");
    }
    if (strideH == 1
        && strideW == 1
        && k[1] * k[2] > 1
        && k[1] % 2 == 1
        && k[2] % 2 == 1
        && padH == (k[1] - 1) / 2
        && padW == (k[2] - 1) / 2
        && in[2] > 2 * padW) {
      conv2dSame(x, weight, bias, out);
      return;
    }
    for (int s = 0; s < n; s++) {
      convSample(
          x,
          (long) s * c * in[1] * in[2],
          c,
          in,
          weight,
          bias,
          k,
          st,
          pd,
          out,
          (long) s * outC * o[1] * o[2],
          outC,
          o);
    }
  }

  /** Output columns per task of {@link #conv2dSame}; fixed so results do not depend on threads. */
  private static final int SAME_CONV_COLUMNS = 2048;

  /**
   * Stride-1 "same" conv2d (odd kernel, padding (k - 1) / 2) without im2col or a padded copy. The
   * output is first set to the bias; then every tap (dy, dx) is one GEMM [O, C] x [C, positions]
   * that reads the input plane shifted by oy * W + ox, over the positions whose source row exists
   * (the zero padding of the top and bottom rows). Only the pw columns at each side read across a
   * row end; they are recomputed exactly afterwards from a small im2col of just those columns. The
   * GEMMs run over column slices sized for the cache, all taps of a slice on one thread.
   */
  private void conv2dSame(Tensor x, Tensor weight, Tensor bias, Tensor out) {
    requireF32(x, "conv2d");
    requireF32(weight, "conv2d weight");
    requireF32(out, "conv2d");
    int n = (int) x.dim(0);
    int c = (int) x.dim(1);
    int h = (int) x.dim(2);
    int w = (int) x.dim(3);
    int o = (int) weight.dim(0);
    int kh = (int) weight.dim(2);
    int kw = (int) weight.dim(3);
    int ph = (kh - 1) / 2;
    int pw = (kw - 1) / 2;
    int taps = kh * kw;
    int ck = c * taps;
    int plane = Math.multiplyExact(h, w);
    // weights regrouped per tap: [taps][O][C]
    float[] wt = new float[taps * o * c];
    FloatBuffer wb = weight.floats();
    for (int oo = 0; oo < o; oo++) {
      for (int cc = 0; cc < c; cc++) {
        int src = (oo * c + cc) * taps;
        for (int t = 0; t < taps; t++) {
          wt[(t * o + oo) * c + cc] = wb.get(src + t);
        }
      }
    }
    int[] borderX = new int[Math.min(w, 2 * pw)];
    for (int i = 0; i < borderX.length; i++) {
      borderX[i] = i < pw ? i : w - 2 * pw + i;
    }
    int nb = borderX.length * h;
    CpuScratch sc = scratch.get();
    // views, so that the scratch pointers' own position and limit stay untouched
    FloatPointer col = new FloatPointer(sc.a(Math.max(1L, (long) ck * nb))).position(0);
    FloatPointer res = new FloatPointer(sc.b(Math.max(1L, (long) o * nb))).position(0);
    FloatBuffer cb = col.limit((long) ck * nb).asBuffer();
    FloatBuffer rb = res.limit((long) o * nb).asBuffer();
    FloatBuffer xb = x.floats();
    FloatBuffer ob = out.floats();
    float[] bv = new float[o];
    if (bias != null) {
      bias.floats().get(0, bv);
    }
    int chunks = (plane + SAME_CONV_COLUMNS - 1) / SAME_CONV_COLUMNS;
    try (FloatPointer wtp = new FloatPointer(wt)) {
      for (int s = 0; s < n; s++) {
        long xOff = (long) s * c * plane;
        long outOff = (long) s * o * plane;
        parallel.forRange(
            o,
            1,
            (o0, o1) -> {
              float[] row = new float[Math.min(plane, 1 << 14)];
              for (int oo = o0; oo < o1; oo++) {
                java.util.Arrays.fill(row, bv[oo]);
                for (int p = 0; p < plane; p += row.length) {
                  ob.put(
                      (int) (outOff + (long) oo * plane + p),
                      row,
                      0,
                      Math.min(row.length, plane - p));
                }
              }
            });
        parallel.forEach(
            chunks,
            (k0, k1) -> {
              for (int k = k0; k < k1; k++) {
                int c0 = k * SAME_CONV_COLUMNS;
                int c1 = Math.min(plane, c0 + SAME_CONV_COLUMNS);
                for (int t = 0; t < taps; t++) {
                  int oy = t / kw - ph;
                  int shift = oy * w + t % kw - pw;
                  int lo = Math.max(c0, Math.max(Math.max(0, -oy) * w, -shift));
                  int hi = Math.min(c1, Math.min(Math.min(h, h - oy) * w, plane - shift));
                  if (hi > lo) {
                    sgemm(
                        false,
                        false,
                        o,
                        hi - lo,
                        c,
                        1f,
                        new FloatPointer(wtp).position((long) t * o * c),
                        c,
                        at(x, xOff + lo + shift),
                        plane,
                        1f,
                        at(out, outOff + lo),
                        plane);
                  }
                }
              }
            });
        if (nb == 0) {
          continue;
        }
        // the border columns, exactly: im2col of those positions, one GEMM, bias, scatter
        parallel.forRange(
            ck,
            4,
            (r0, r1) -> {
              for (int r = r0; r < r1; r++) {
                int dx = r % kw - pw;
                int dy = (r / kw) % kh - ph;
                int ch = r / taps;
                int j = r * nb;
                for (int y = 0; y < h; y++) {
                  int yi = y + dy;
                  for (int bx : borderX) {
                    int xi = bx + dx;
                    cb.put(
                        j++,
                        yi >= 0 && yi < h && xi >= 0 && xi < w
                            ? xb.get((int) (xOff + (long) ch * plane + yi * w + xi))
                            : 0f);
                  }
                }
              }
            });
        sgemm(false, false, o, nb, ck, 1f, at(weight, 0), ck, col, nb, 0f, res, nb);
        for (int oo = 0; oo < o; oo++) {
          int j = oo * nb;
          long base = outOff + (long) oo * plane;
          for (int y = 0; y < h; y++) {
            for (int bx : borderX) {
              ob.put((int) (base + y * w + bx), rb.get(j++) + bv[oo]);
            }
          }
        }
      }
    }
  }

  /** im2col + GEMM for one sample, chunked by output rows so the column buffer stays bounded. */
  private void convSample(
      Tensor x,
      long xOff,
      int c,
      int[] in,
      Tensor weight,
      Tensor bias,
      int[] k,
      int[] stride,
      int[] pad,
      Tensor out,
      long outOff,
      int outC,
      int[] o) {
    requireF32(x, "conv");
    requireF32(weight, "conv weight");
    requireF32(out, "conv");
    int ck = c * k[0] * k[1] * k[2];
    long outPlane = (long) o[0] * o[1] * o[2];
    boolean pointwise =
        k[0] == 1
            && k[1] == 1
            && k[2] == 1
            && pad[0] == 0
            && pad[1] == 0
            && pad[2] == 0
            && stride[0] == 1
            && stride[1] == 1
            && stride[2] == 1;
    if (pointwise) {
      gemm.parallelGemm(
          false,
          false,
          outC,
          (int) outPlane,
          c,
          1f,
          weight,
          0,
          c,
          x,
          xOff,
          (int) outPlane,
          0f,
          out,
          outOff,
          (int) outPlane);
    } else {
      int chunkRows = (int) Math.max(1, Math.min(o[1], COL_BUDGET / ((long) ck * o[2])));
      Tensor col = backend.allocate((long) ck * chunkRows * o[2]);
      try {
        FloatBuffer xb = x.floats();
        FloatBuffer cb = col.floats();
        for (int t = 0; t < o[0]; t++) {
          for (int h0 = 0; h0 < o[1]; h0 += chunkRows) {
            int rowsHere = Math.min(chunkRows, o[1] - h0);
            int n = rowsHere * o[2];
            int tt = t;
            int hh0 = h0;
            parallel.forRange(
                ck,
                4,
                (r0, r1) -> {
                  for (int r = r0; r < r1; r++) {
                    int kw = r % k[2];
                    int kh = (r / k[2]) % k[1];
                    int kt = (r / (k[2] * k[1])) % k[0];
                    int ch = r / (k[2] * k[1] * k[0]);
                    int ti = tt * stride[0] - pad[0] + kt;
                    int base = r * n;
                    boolean tIn = ti >= 0 && ti < in[0];
                    for (int yy = 0; yy < rowsHere; yy++) {
                      int hi = (hh0 + yy) * stride[1] - pad[1] + kh;
                      int dst = base + yy * o[2];
                      if (!tIn || hi < 0 || hi >= in[1]) {
                        for (int xx = 0; xx < o[2]; xx++) {
                          cb.put(dst + xx, 0f);
                        }
                        continue;
                      }
                      long src = xOff + (((long) ch * in[0] + ti) * in[1] + hi) * in[2];
                      if (stride[2] == 1) {
                        // contiguous source run: bulk copy the valid span, zero the borders
                        int lo = Math.max(0, pad[2] - kw);
                        int hiX = Math.min(o[2], in[2] + pad[2] - kw);
                        for (int xx = 0; xx < lo; xx++) {
                          cb.put(dst + xx, 0f);
                        }
                        if (hiX > lo) {
                          cb.put(dst + lo, xb, (int) (src + lo - pad[2] + kw), hiX - lo);
                        }
                        for (int xx = Math.max(lo, hiX); xx < o[2]; xx++) {
                          cb.put(dst + xx, 0f);
                        }
                        continue;
                      }
                      for (int xx = 0; xx < o[2]; xx++) {
                        int wi = xx * stride[2] - pad[2] + kw;
                        cb.put(dst + xx, wi >= 0 && wi < in[2] ? xb.get((int) (src + wi)) : 0f);
                      }
                    }
                  }
                });
            long cOff = outOff + ((long) t * o[1] + h0) * o[2];
            gemm.parallelGemm(
                false,
                false,
                outC,
                n,
                ck,
                1f,
                weight,
                0,
                ck,
                col,
                0,
                n,
                0f,
                out,
                cOff,
                (int) outPlane);
          }
        }
      } finally {
        col.close();
      }
    }
    if (bias != null) {
      FloatBuffer ob = out.floats();
      FloatBuffer bb = bias.floats();
      int plane = (int) outPlane;
      parallel.forRange(
          outC,
          1,
          (s, e) -> {
            for (int oc = s; oc < e; oc++) {
              float b = bb.get(oc);
              int base = (int) (outOff + (long) oc * plane);
              for (int i = 0; i < plane; i++) {
                ob.put(base + i, ob.get(base + i) + b);
              }
            }
          });
    }
  }
}
