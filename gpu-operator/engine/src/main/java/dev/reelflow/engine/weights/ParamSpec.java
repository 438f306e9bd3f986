package dev.reelflow.engine.weights;

import java.util.Arrays;

/**
 * One parameter a model expects: its checkpoint name, shape, how a seeded random initialisation
 * fills it when no checkpoint is given, and whether a backend that keeps 16-bit weights may keep
 * this one 16-bit ({@code halfStorage}; by default the 2-D linear weights, which only ever reach a
 * GEMM through {@code Backend.linear}).
 */
public record ParamSpec(String name, long[] shape, Init init, boolean halfStorage) {
  /** Random-initialisation rule. */
  public enum Init {
    /** Normal(0, std) scaled by 1/sqrt(fan-in) (linear and conv weights). */
    FAN_IN,
    /** Small normal(0, 0.02) (modulation and gate projections, embeddings). */
    SMALL,
    ZEROS,
    ONES
  }

  public ParamSpec {
    shape = shape.clone();
  }

  /** A parameter whose 16-bit storage follows the default rule (2-D fan-in weights). */
  public ParamSpec(String name, long[] shape, Init init) {
    this(name, shape, init, shape.length == 2 && init == Init.FAN_IN);
  }

  /** The same parameter, never kept 16-bit (e.g. a weight read in column blocks). */
  public ParamSpec fullPrecision() {
    return new ParamSpec(name, shape, init, false);
  }

  public long size() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ParamSpec p
        && p.name.equals(name)
        && Arrays.equals(p.shape, shape)
        && p.init == init
        && p.halfStorage == halfStorage;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }
}
