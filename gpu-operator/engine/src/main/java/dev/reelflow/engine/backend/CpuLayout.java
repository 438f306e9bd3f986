package dev.reelflow.engine.backend;

import static dev.reelflow.engine.backend.CpuBackend.ELEMENTWISE_GRAIN;
import static dev.reelflow.engine.backend.CpuBackend.requireF32;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The CPU backend's layout kernels: fill, row gathers, permutes, replicate padding, row-group
 * means. Moved out of {@link CpuBackend}, which delegates to it.
 */
final class CpuLayout {
  private final Parallel parallel;

  CpuLayout(Parallel parallel) {
    this.parallel = parallel;
  }

  void fill(Tensor t, float value) {
    requireF32(t, "fill");
    FloatBuffer b = t.floats();
    parallel.forRange(
        (int) t.size(),
        ELEMENTWISE_GRAIN,
        (s, e) -> {
          for (int i = s; i < e; i++) {
            b.put(i, value);
          }
        });
  }

  void gatherRows(Tensor src, int[] index, Tensor dst) {
    int cols = src.cols();
    if (dst.cols() != cols || dst.rows() != index.length) {
      throw new IllegalArgumentException(
          "gatherRows: dst " + dst + " does not match " + index.length + " x " + cols);
    }
    FloatBuffer s = src.floats();
    FloatBuffer d = dst.floats();
    long srcRows = src.rows();
    parallel.forRange(
        index.length,
        64,
        (a, b) -> {
          for (int r = a; r < b; r++) {
            int i = index[r];
            int off = r * cols;
            if (i < 0) {
              for (int c = 0; c < cols; c++) {
                d.put(off + c, 0f);
              }
            } else {
              if (i >= srcRows) {
                throw new IndexOutOfBoundsException("row " + i + " of " + srcRows);
              }
              d.put(off, s, i * cols, cols);
            }
          }
        });
  }

  void permute(Tensor x, int[] viewShape, int[] perm, Tensor out) {
    int r = viewShape.length;
    long n = 1;
    for (int d : viewShape) {
      n *= d;
    }
    if (n != x.size() || out.size() != n || perm.length != r) {
      throw new IllegalArgumentException(
          "permute: " + x + " as " + Arrays.toString(viewShape) + " by " + Arrays.toString(perm));
    }
    long[] inStride = new long[r];
    long acc = 1;
    for (int i = r - 1; i >= 0; i--) {
      inStride[i] = acc;
      acc *= viewShape[i];
    }
    int[] outShape = new int[r];
    long[] srcStride = new long[r]; // source stride of each output axis
    for (int j = 0; j < r; j++) {
      outShape[j] = viewShape[perm[j]];
      srcStride[j] = inStride[perm[j]];
    }
    int last = outShape[r - 1];
    long lastStride = srcStride[r - 1];
    int outerRows = (int) (n / last);
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        outerRows,
        Math.max(1, ELEMENTWISE_GRAIN / Math.max(1, last)),
        (s0, e0) -> {
          int[] idx = new int[r];
          for (int row = s0; row < e0; row++) {
            // decompose row into the leading output indices
            int rem = row;
            long src = 0;
            for (int j = r - 2; j >= 0; j--) {
              idx[j] = rem % outShape[j];
              rem /= outShape[j];
              src += idx[j] * srcStride[j];
            }
            int dst = row * last;
            if (lastStride == 1) {
              o.put(dst, a, (int) src, last);
            } else {
              for (int c = 0; c < last; c++) {
                o.put(dst + c, a.get((int) (src + c * lastStride)));
              }
            }
          }
        });
  }

  void padReplicate3d(Tensor x, int padT0, int padT1, int padH, int padW, Tensor out) {
    int c = (int) x.dim(0);
    int t = (int) x.dim(1);
    int h = (int) x.dim(2);
    int w = (int) x.dim(3);
    int to = t + padT0 + padT1;
    int ho = h + 2 * padH;
    int wo = w + 2 * padW;
    if (out.dim(0) != c || out.dim(1) != to || out.dim(2) != ho || out.dim(3) != wo) {
      throw new IllegalArgumentException("padReplicate3d: out " + out + " for " + x);
    }
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        c * to,
        1,
        (s0, e0) -> {
          for (int ct = s0; ct < e0; ct++) {
            int ch = ct / to;
            int ti = Math.min(t - 1, Math.max(0, ct % to - padT0));
            for (int y = 0; y < ho; y++) {
              int yi = Math.min(h - 1, Math.max(0, y - padH));
              int src = ((ch * t + ti) * h + yi) * w;
              int dst = (ct * ho + y) * wo;
              for (int xx = 0; xx < wo; xx++) {
                int xi = Math.min(w - 1, Math.max(0, xx - padW));
                o.put(dst + xx, a.get(src + xi));
              }
            }
          }
        });
  }

  void groupMeanRows(Tensor x, int group, Tensor out) {
    int cols = x.cols();
    int rows = (int) out.rows();
    if (x.rows() != (long) rows * group || out.cols() != cols) {
      throw new IllegalArgumentException("groupMeanRows: " + x + " by " + group + " -> " + out);
    }
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    float inv = 1f / group;
    parallel.forRange(
        rows,
        1,
        (s0, e0) -> {
          for (int r = s0; r < e0; r++) {
            for (int c = 0; c < cols; c++) {
              float acc = 0f;
              for (int g = 0; g < group; g++) {
                acc += a.get((r * group + g) * cols + c);
              }
              o.put(r * cols + c, acc * inv);
            }
          }
        });
  }
}
