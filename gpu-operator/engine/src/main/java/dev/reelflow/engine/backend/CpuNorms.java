package dev.reelflow.engine.backend;

import static dev.reelflow.engine.backend.CpuBackend.ELEMENTWISE_GRAIN;
import static dev.reelflow.engine.backend.CpuBackend.requireF32;

import java.nio.FloatBuffer;

/**
 * The CPU backend's normalisations (layer, RMS, channel RMS) and the rotary position embedding.
 * Moved out of {@link CpuBackend}, which delegates to it.
 */
final class CpuNorms {
  private final Parallel parallel;
  private final CpuBackend backend;

  CpuNorms(Parallel parallel, CpuBackend backend) {
    this.parallel = parallel;
    this.backend = backend;
  }

  void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, int groupSize, Tensor out) {
    checkGroups(x, out, groupSize, "layerNorm");
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    FloatBuffer w = weight == null ? null : weight.floats();
    FloatBuffer bb = bias == null ? null : bias.floats();
    int groups = (int) (x.size() / groupSize);
    parallel.forRange(
        groups,
        Math.max(1, ELEMENTWISE_GRAIN / groupSize),
        (s, e) -> {
          for (int g = s; g < e; g++) {
            int off = g * groupSize;
            double mean = 0;
            for (int c = 0; c < groupSize; c++) {
              mean += a.get(off + c);
            }
            mean /= groupSize;
            double var = 0;
            for (int c = 0; c < groupSize; c++) {
              double d = a.get(off + c) - mean;
              var += d * d;
            }
            var /= groupSize;
            float inv = (float) (1.0 / Math.sqrt(var + eps));
            float mu = (float) mean;
            for (int c = 0; c < groupSize; c++) {
              float v = (a.get(off + c) - mu) * inv;
              if (w != null) {
                v *= w.get(c);
              }
              if (bb != null) {
                v += bb.get(c);
              }
              o.put(off + c, v);
            }
          }
        });
  }

  void rmsNorm(Tensor x, Tensor weight, float eps, int groupSize, Tensor out) {
    checkGroups(x, out, groupSize, "rmsNorm");
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    FloatBuffer w = weight == null ? null : weight.floats();
    int groups = (int) (x.size() / groupSize);
    parallel.forRange(
        groups,
        Math.max(1, ELEMENTWISE_GRAIN / groupSize),
        (s, e) -> {
          for (int g = s; g < e; g++) {
            int off = g * groupSize;
            double ss = 0;
            for (int c = 0; c < groupSize; c++) {
              float v = a.get(off + c);
              ss += v * v;
            }
            float inv = (float) (1.0 / Math.sqrt(ss / groupSize + eps));
            for (int c = 0; c < groupSize; c++) {
              float v = a.get(off + c) * inv;
              o.put(off + c, w == null ? v : v * w.get(c));
            }
          }
        });
  }

  private static void checkGroups(Tensor x, Tensor out, int groupSize, String op) {
    requireF32(x, op);
    requireF32(out, op);
    if (groupSize <= 0 || x.size() % groupSize != 0 || out.size() != x.size()) {
      throw new IllegalArgumentException(op + ": " + x + " in groups of " + groupSize);
    }
  }

  void rope(Tensor x, int heads, int headDim, Tensor cos, Tensor sin, int tokens, Tensor out) {
    int half = headDim / 2;
    int row = heads * headDim;
    if (x.cols() * (x.rank() == 3 ? x.dim(1) : 1) != row && x.size() % row != 0) {
      throw new IllegalArgumentException(
          "rope: " + x + " is not [tokens, " + heads + "*" + headDim);
    }
    if (cos.size() < (long) tokens * half || sin.size() < (long) tokens * half) {
      throw new IllegalArgumentException("rope: tables shorter than " + tokens + " x " + half);
    }
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    FloatBuffer cb = cos.floats();
    FloatBuffer sb = sin.floats();
    if (out != x) {
      backend.copy(x, 0, out, 0, x.size());
    }
    parallel.forRange(
        tokens,
        Math.max(1, ELEMENTWISE_GRAIN / row),
        (s, e) -> {
          for (int t = s; t < e; t++) {
            int tOff = t * half;
            for (int h = 0; h < heads; h++) {
              int off = t * row + h * headDim;
              for (int j = 0; j < half; j++) {
                float c = cb.get(tOff + j);
                float sn = sb.get(tOff + j);
                float x0 = a.get(off + 2 * j);
                float x1 = a.get(off + 2 * j + 1);
                o.put(off + 2 * j, x0 * c - x1 * sn);
                o.put(off + 2 * j + 1, x0 * sn + x1 * c);
              }
            }
          }
        });
  }

  void channelRmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
    int channels = (int) x.dim(0);
    int plane = (int) (x.size() / channels);
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    FloatBuffer g = gamma == null ? null : gamma.floats();
    float root = (float) Math.sqrt(channels);
    parallel.forRange(
        plane,
        256,
        (s0, e0) -> {
          int len = e0 - s0;
          double[] ss = new double[len];
          for (int c = 0; c < channels; c++) {
            int base = c * plane;
            for (int p = s0; p < e0; p++) {
              float v = a.get(base + p);
              ss[p - s0] += v * v;
            }
          }
          float[] inv = new float[len];
          for (int i = 0; i < len; i++) {
            inv[i] = root / (float) Math.max(Math.sqrt(ss[i]), eps);
          }
          for (int c = 0; c < channels; c++) {
            int base = c * plane;
            float gc = g == null ? 1f : g.get(c);
            for (int p = s0; p < e0; p++) {
              o.put(base + p, a.get(base + p) * inv[p - s0] * gc);
            }
          }
        });
  }
}
