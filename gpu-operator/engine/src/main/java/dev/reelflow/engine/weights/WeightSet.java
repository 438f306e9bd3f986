package dev.reelflow.engine.weights;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The parameters of one model, by checkpoint name, either loaded from safetensors files or filled
 * by a seeded random initialisation. {@link #id()} says which ({@code random-init} or the
 * checkpoint file names), so manifests never pretend random weights are trained ones.
 */
public final class WeightSet implements AutoCloseable {
  /** The weights id reported when no checkpoint was loaded. */
  public static final String RANDOM_INIT = "random-init";

  private final Map<String, Tensor> tensors;
  private final String id;

  private WeightSet(Map<String, Tensor> tensors, String id) {
    this.tensors = tensors;
    this.id = id;
  }

  /**
   * Seeded random initialisation: each tensor draws from its own stream derived from {@code seed}
   * and its name, so the result does not depend on declaration order or thread count.
   */
  public static WeightSet random(List<ParamSpec> specs, Backend backend, long seed) {
    Map<String, Tensor> map = new LinkedHashMap<>();
    for (ParamSpec p : specs) {
      float[] v = new float[Math.toIntExact(p.size())];
      long[] shape = p.shape();
      switch (p.init()) {
        case ONES -> Arrays.fill(v, 1f);
        case ZEROS -> {}
        case SMALL, FAN_IN -> {
          SplittableRandom r =
              new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ p.name().hashCode());
          long fanIn = shape.length < 2 ? 1 : p.size() / shape[0];
          double std = p.init() == ParamSpec.Init.SMALL ? 0.02 : 1.0 / Math.sqrt(fanIn);
          for (int i = 0; i < v.length; i++) {
            v[i] = (float) (gaussian(r) * std);
          }
        }
      }
      map.put(p.name(), backend.fromArray(v, shape));
    }
    return new WeightSet(map, RANDOM_INIT);
  }

  /** Box-Muller normal sample (SplittableRandom has no nextGaussian on Java 17). */
  static double gaussian(SplittableRandom r) {
    double u1 = r.nextDouble();
    double u2 = r.nextDouble();
    return Math.sqrt(-2 * Math.log(Math.max(u1, 1e-300))) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Loads every declared parameter from the given safetensors files (a sharded checkpoint may be
   * split over several). Extra tensors in the files are ignored. Missing or mis-shaped tensors fail
   * with a {@link WeightLoadException} that lists all of them.
   *
   * @param keepHalf keep F16/BF16 weights in 16-bit storage (2-D linear weights only)
   */
  public static WeightSet load(
      List<ParamSpec> specs, List<Path> files, Backend backend, boolean keepHalf) {
    List<SafetensorsFile> opened = new ArrayList<>();
    try {
      for (Path f : files) {
        opened.add(SafetensorsFile.open(f));
      }
      List<String> missing = new ArrayList<>();
      List<String> misshaped = new ArrayList<>();
      Map<String, SafetensorsFile> where = new LinkedHashMap<>();
      for (ParamSpec p : specs) {
        SafetensorsFile src = null;
        for (SafetensorsFile f : opened) {
          if (f.entries().containsKey(p.name())) {
            src = f;
            break;
          }
        }
        if (src == null) {
          missing.add(p.name());
          continue;
        }
        long[] got = src.entries().get(p.name()).shape();
        if (!Arrays.equals(got, p.shape())) {
          misshaped.add(
              p.name()
                  + ": expected "
                  + Arrays.toString(p.shape())
                  + " got "
                  + Arrays.toString(got));
          continue;
        }
        where.put(p.name(), src);
      }
      String source = files.toString();
      if (!missing.isEmpty() || !misshaped.isEmpty()) {
        throw new WeightLoadException(source, missing, misshaped);
      }
      Map<String, Tensor> map = new LinkedHashMap<>();
      for (ParamSpec p : specs) {
        boolean half = keepHalf && p.shape().length == 2 && p.init() == ParamSpec.Init.FAN_IN;
        map.put(p.name(), where.get(p.name()).read(p.name(), backend, half));
      }
      StringBuilder id = new StringBuilder();
      for (Path f : files) {
        id.append(id.length() == 0 ? "" : "+").append(f.getFileName());
      }
      return new WeightSet(map, id.toString());
    } catch (IOException e) {
      throw new WeightLoadException("cannot read checkpoint " + files + ": " + e.getMessage(), e);
    } finally {
      for (SafetensorsFile f : opened) {
        try {
          f.close();
        } catch (IOException ignored) {
          // read-only mapping; nothing to flush
        }
      }
    }
  }

  /** {@code random-init} or the checkpoint file names joined by '+'. */
  public String id() {
    return id;
  }

  /** The tensor of a declared parameter. */
  public Tensor get(String name) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no parameter " + name);
    }
    return t;
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  public Map<String, Tensor> all() {
    return java.util.Collections.unmodifiableMap(tensors);
  }

  @Override
  public void close() {
    tensors.values().forEach(Tensor::close);
  }
}
