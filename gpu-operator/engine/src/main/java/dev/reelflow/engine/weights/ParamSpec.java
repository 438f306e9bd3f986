package dev.reelflow.engine.weights;

import java.util.Arrays;

/**
 * One parameter a model expects: its checkpoint name, shape and how a seeded random initialisation
 * fills it when no checkpoint is given.
 */
public record ParamSpec(String name, long[] shape, Init init) {
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
        && p.init == init;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }
}
