package dev.reelflow.engine.testing;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Deterministic tensor values from a formula of a name and an element index, computed bit for bit
 * alike here and in the golden generator (gpu-operator/engine/tools/make_official_goldens.py), so
 * that goldens need not store weights or inputs:
 *
 * <pre>
 *   h = FNV-1a 64 of the name's UTF-8 bytes
 *   z = splitmix64 finaliser of (h + (i + 1) * 0x9E3779B97F4A7C15)        (mod 2^64)
 *   u = (z &gt;&gt;&gt; 40) / 2^23 - 1                                         (in [-1, 1))
 *   parameter of rank 1 named *bias: (float) (0.1 * u)
 *   parameter of rank 1 otherwise:   (float) (1 + 0.1 * u)
 *   parameter of higher rank:        (float) (u * sqrt(3 / fanIn)), fanIn = prod(shape[1:])
 *   input:                           (float) u
 * </pre>
 *
 * Test scaffolding (published in the engine's test-jar), not a weight initialisation for models.
 */
public final class FormulaValues {
  private static final long GAMMA = 0x9E3779B97F4A7C15L;

  private FormulaValues() {}

  static long fnv1a64(String name) {
    long h = 0xCBF29CE484222325L;
    for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001B3L;
    }
    return h;
  }

  /** The stream's u in [-1, 1) for element {@code i}. */
  static double uniform(long hash, long i) {
    long z = hash + (i + 1) * GAMMA;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z = z ^ (z >>> 31);
    return (z >>> 40) / 8388608.0 - 1.0;
  }

  /** Input values: u for elements 0..n-1 of the named stream. */
  public static float[] input(String name, int n) {
    long h = fnv1a64(name);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) uniform(h, i);
    }
    return v;
  }

  /** Parameter values for a tensor of this name and shape (see the class comment). */
  public static float[] parameter(String name, long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    long h = fnv1a64(name);
    float[] v = new float[Math.toIntExact(n)];
    if (shape.length == 1) {
      boolean bias = name.endsWith("bias");
      for (int i = 0; i < v.length; i++) {
        double u = uniform(h, i);
        v[i] = (float) (bias ? 0.1 * u : 1.0 + 0.1 * u);
      }
    } else {
      double s = Math.sqrt(3.0 / (n / shape[0]));
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (uniform(h, i) * s);
      }
    }
    return v;
  }

  /** Every parameter filled by the formula, as a weight set labelled {@code formula}. */
  public static WeightSet weights(List<ParamSpec> specs, Backend backend) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    for (ParamSpec p : specs) {
      m.put(p.name(), backend.fromArray(parameter(p.name(), p.shape()), p.shape()));
    }
    return WeightSet.of(m, "formula");
  }
}
