package dev.reelflow.engine.backend;

import static dev.reelflow.engine.backend.CpuBackend.ELEMENTWISE_GRAIN;
import static dev.reelflow.engine.backend.CpuBackend.requireF32;

import java.nio.FloatBuffer;

/**
 * The CPU backend's elementwise kernels (arithmetic, activations, modulation, gated adds), row
 * reductions and the row softmax. Moved out of {@link CpuBackend}, which delegates to it.
 */
final class CpuElementwise {
  private final Parallel parallel;

  CpuElementwise(Parallel parallel) {
    this.parallel = parallel;
  }

  private interface Binary {
    float apply(float a, float b);
  }

  private void zip(Tensor a, Tensor b, Tensor out, Binary f, String op) {
    requireF32(a, op);
    requireF32(b, op);
    requireF32(out, op);
    if (a.size() != b.size() || a.size() != out.size()) {
      throw new IllegalArgumentException(op + ": sizes differ: " + a + ", " + b + ", " + out);
    }
    FloatBuffer x = a.floats();
    FloatBuffer y = b.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) a.size(),
        ELEMENTWISE_GRAIN,
        (s, e) -> {
          for (int i = s; i < e; i++) {
            o.put(i, f.apply(x.get(i), y.get(i)));
          }
        });
  }

  void add(Tensor a, Tensor b, Tensor out) {
    zip(a, b, out, Float::sum, "add");
  }

  void mul(Tensor a, Tensor b, Tensor out) {
    zip(a, b, out, (p, q) -> p * q, "mul");
  }

  void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out) {
    zip(a, b, out, (p, q) -> alpha * p + beta * q, "axpby");
  }

  private interface Unary {
    float apply(float v);
  }

  private void map(Tensor x, Tensor out, Unary f, String op) {
    requireF32(x, op);
    requireF32(out, op);
    if (x.size() != out.size()) {
      throw new IllegalArgumentException(op + ": sizes differ: " + x + ", " + out);
    }
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) x.size(),
        ELEMENTWISE_GRAIN,
        (s, e) -> {
          for (int i = s; i < e; i++) {
            o.put(i, f.apply(a.get(i)));
          }
        });
  }

  void scale(Tensor x, float s, Tensor out) {
    map(x, out, v -> v * s, "scale");
  }

  void relu(Tensor x, Tensor out) {
    map(x, out, v -> v < 0f ? 0f : v, "relu");
  }

  void silu(Tensor x, Tensor out) {
    map(x, out, v -> v / (1f + FastMath.exp(-v)), "silu");
  }

  private static final float GELU_C = 0.7978845608028654f; // sqrt(2/pi)

  static float gelu(float v) {
    return 0.5f * v * (1f + FastMath.tanh(GELU_C * (v + 0.044715f * v * v * v)));
  }

  void gelu(Tensor x, Tensor out) {
    map(x, out, v -> 0.5f * v * (1f + FastMath.erf(v * 0.70710678f)), "gelu");
  }

  void geluTanh(Tensor x, Tensor out) {
    map(x, out, CpuElementwise::gelu, "geluTanh");
  }

  void addRow(Tensor x, Tensor row, Tensor out) {
    int cols = x.cols();
    if (row.size() != cols || out.size() != x.size()) {
      throw new IllegalArgumentException("addRow: " + x + " + " + row + " -> " + out);
    }
    FloatBuffer a = x.floats();
    FloatBuffer r = row.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            for (int c = 0; c < cols; c++) {
              o.put(off + c, a.get(off + c) + r.get(c));
            }
          }
        });
  }

  void modulate(Tensor x, Tensor shift, long shiftOff, Tensor scale, long scaleOff, Tensor out) {
    int cols = x.cols();
    FloatBuffer a = x.floats();
    FloatBuffer sh = shift.floats();
    FloatBuffer sc = scale.floats();
    FloatBuffer o = out.floats();
    int so = (int) shiftOff;
    int co = (int) scaleOff;
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            for (int c = 0; c < cols; c++) {
              o.put(off + c, a.get(off + c) * (1f + sc.get(co + c)) + sh.get(so + c));
            }
          }
        });
  }

  void addGated(Tensor x, Tensor gate, long gateOff, Tensor y) {
    int cols = x.cols();
    if (y.size() != x.size()) {
      throw new IllegalArgumentException("addGated: " + x + " vs " + y);
    }
    FloatBuffer a = x.floats();
    FloatBuffer g = gate.floats();
    FloatBuffer b = y.floats();
    int go = (int) gateOff;
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            for (int c = 0; c < cols; c++) {
              a.put(off + c, a.get(off + c) + g.get(go + c) * b.get(off + c));
            }
          }
        });
  }

  void sumRows(Tensor x, Tensor out) {
    int cols = x.cols();
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            float acc = 0f;
            for (int c = 0; c < cols; c++) {
              acc += a.get(off + c);
            }
            o.put(i, acc);
          }
        });
  }

  double sum(Tensor x) {
    FloatBuffer a = x.floats();
    double acc = 0;
    for (int i = 0, n = (int) x.size(); i < n; i++) {
      acc += a.get(i);
    }
    return acc;
  }

  float maxAbs(Tensor x) {
    FloatBuffer a = x.floats();
    float m = 0f;
    for (int i = 0, n = (int) x.size(); i < n; i++) {
      m = Math.max(m, Math.abs(a.get(i)));
    }
    return m;
  }

  void softmax(Tensor x, Tensor out) {
    int cols = x.cols();
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            float mx = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) {
              mx = Math.max(mx, a.get(off + c));
            }
            float sum = 0f;
            for (int c = 0; c < cols; c++) {
              float p = FastMath.exp(a.get(off + c) - mx);
              o.put(off + c, p);
              sum += p;
            }
            float inv = 1f / sum;
            for (int c = 0; c < cols; c++) {
              o.put(off + c, o.get(off + c) * inv);
            }
          }
        });
  }
}
