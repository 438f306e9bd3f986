package dev.reelflow.engine.weights;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The parameters of one model, by checkpoint name, either loaded from safetensors files or filled
 * by a seeded random initialisation. {@link #id()} says which ({@code random-init} or the
 * checkpoint file names), so manifests never pretend random weights are trained ones.
 */
public final class WeightSet implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WeightSet.class);

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

  /**
   * Wraps tensors the caller built (e.g. weights computed by a test formula or converted from
   * another format), under the given id; the set owns and closes them.
   */
  public static WeightSet of(Map<String, Tensor> tensors, String id) {
    return new WeightSet(new LinkedHashMap<>(tensors), id);
  }

  /** Box-Muller normal sample (SplittableRandom has no nextGaussian on Java 17). */
  static double gaussian(SplittableRandom r) {
    double u1 = r.nextDouble();
    double u2 = r.nextDouble();
    return Math.sqrt(-2 * Math.log(Math.max(u1, 1e-300))) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Loads every declared parameter from the given safetensors files (a sharded checkpoint may be
   * split over several), strictly: a tensor of the files that no parameter declares is an error, as
   * are missing, mis-shaped, duplicated or unreadable (not F32/F16/BF16) tensors; {@link
   * WeightLoadException} lists all of them. To skip tensors on purpose, use {@link #loader} with
   * {@link Loader#ignore}.
   *
   * @param keepHalf keep F16/BF16 weights in 16-bit storage (2-D linear weights only)
   */
  public static WeightSet load(
      List<ParamSpec> specs, List<Path> files, Backend backend, boolean keepHalf) {
    return loader(specs).keepHalf(keepHalf).load(files, backend);
  }

  /** A strict loader for these parameters; add ignore rules and options, then load or check. */
  public static Loader loader(List<ParamSpec> specs) {
    return new Loader(specs);
  }

  /**
   * Strict checkpoint loading with rules for the tensors a model ignores on purpose. Every tensor
   * of the checkpoint must be consumed by a declared parameter or matched by an {@link #ignore}
   * rule, which states why; {@link #check} does the matching from the headers alone.
   */
  public static final class Loader {
    private record IgnoreRule(Pattern pattern, String reason) {}

    private final List<ParamSpec> specs;
    private final List<IgnoreRule> ignores = new ArrayList<>();
    private boolean keepHalf;

    private Loader(List<ParamSpec> specs) {
      this.specs = List.copyOf(specs);
      Set<String> seen = new HashSet<>();
      for (ParamSpec p : specs) {
        if (!seen.add(p.name())) {
          throw new IllegalArgumentException("parameter " + p.name() + " declared twice");
        }
      }
    }

    /** Keep F16/BF16 linear weights 16-bit (see {@link ParamSpec#halfStorage()}); default false. */
    public Loader keepHalf(boolean k) {
      this.keepHalf = k;
      return this;
    }

    /**
     * Ignores every tensor whose whole name matches {@code regex}, for the stated reason (reported
     * by {@link #check} and logged on load). A declared parameter is never ignored.
     */
    public Loader ignore(String regex, String reason) {
      if (reason == null || reason.isBlank()) {
        throw new IllegalArgumentException("an ignore rule needs a reason");
      }
      ignores.add(new IgnoreRule(Pattern.compile(regex), reason));
      return this;
    }

    /** Matches the checkpoint's headers against the parameters; reads no tensor data. */
    public WeightCheck check(List<Path> files) {
      List<SafetensorsFile> opened = new ArrayList<>();
      try {
        for (Path f : files) {
          opened.add(SafetensorsFile.open(f));
        }
        return check(opened, files.toString());
      } catch (IOException e) {
        throw new WeightLoadException("cannot read checkpoint " + files + ": " + e.getMessage(), e);
      } finally {
        closeAll(opened);
      }
    }

    WeightCheck check(List<SafetensorsFile> files, String source) {
      Map<String, SafetensorsFile.Entry> entries = new LinkedHashMap<>();
      Map<String, Path> where = new LinkedHashMap<>();
      List<String> duplicated = new ArrayList<>();
      for (SafetensorsFile f : files) {
        for (SafetensorsFile.Entry e : f.entries().values()) {
          Path before = where.putIfAbsent(e.name(), f.path());
          if (before != null) {
            duplicated.add(
                e.name() + ": in " + before.getFileName() + " and " + f.path().getFileName());
          } else {
            entries.put(e.name(), e);
          }
        }
      }
      return check(entries, where, duplicated, source);
    }

    /**
     * Matches the tensors of one checkpoint file of another format (for example a PyTorch state
     * dict, see {@link TorchCheckpoint#entries}) against the parameters; reads no tensor data.
     */
    public WeightCheck check(Path file, Map<String, SafetensorsFile.Entry> entries) {
      Map<String, Path> where = new LinkedHashMap<>();
      entries.keySet().forEach(n -> where.put(n, file));
      return check(entries, where, List.of(), file.toString());
    }

    private WeightCheck check(
        Map<String, SafetensorsFile.Entry> entries,
        Map<String, Path> where,
        List<String> duplicated,
        String source) {
      Map<String, ParamSpec> declared = new LinkedHashMap<>();
      specs.forEach(p -> declared.put(p.name(), p));
      List<WeightCheck.Use> consumed = new ArrayList<>();
      Map<String, String> ignored = new LinkedHashMap<>();
      List<String> missing = new ArrayList<>();
      List<String> misshaped = new ArrayList<>();
      List<String> wrongDtype = new ArrayList<>();
      List<String> unexpected = new ArrayList<>();
      for (ParamSpec p : specs) {
        SafetensorsFile.Entry e = entries.get(p.name());
        if (e == null) {
          missing.add(p.name());
          continue;
        }
        boolean good = true;
        if (!Arrays.equals(e.shape(), p.shape())) {
          misshaped.add(
              p.name()
                  + ": expected "
                  + Arrays.toString(p.shape())
                  + " got "
                  + Arrays.toString(e.shape()));
          good = false;
        }
        if (!WeightCheck.READABLE_DTYPES.contains(e.dtype())) {
          wrongDtype.add(
              p.name() + ": stored as " + e.dtype() + "; the engine reads F32, F16 or BF16");
          good = false;
        }
        if (good) {
          consumed.add(new WeightCheck.Use(p, e.dtype(), where.get(p.name())));
        }
      }
      for (String name : where.keySet()) {
        if (declared.containsKey(name)) {
          continue;
        }
        String reason = null;
        for (IgnoreRule r : ignores) {
          if (r.pattern().matcher(name).matches()) {
            reason = r.reason();
            break;
          }
        }
        if (reason != null) {
          ignored.put(name, reason);
        } else {
          unexpected.add(name);
        }
      }
      return new WeightCheck(
          source, consumed, ignored, missing, misshaped, wrongDtype, unexpected, duplicated);
    }

    /** Checks, then reads every declared parameter into the backend. */
    public WeightSet load(List<Path> files, Backend backend) {
      List<SafetensorsFile> opened = new ArrayList<>();
      try {
        for (Path f : files) {
          opened.add(SafetensorsFile.open(f));
        }
        WeightCheck check = check(opened, files.toString());
        check.throwIfBad();
        if (!check.ignored().isEmpty()) {
          Map<String, Integer> byReason = new TreeMap<>();
          check.ignored().values().forEach(r -> byReason.merge(r, 1, Integer::sum));
          byReason.forEach(
              (reason, n) -> LOG.info("{}: {} tensor(s) ignored: {}", files, n, reason));
        }
        Map<Path, SafetensorsFile> byPath = new LinkedHashMap<>();
        opened.forEach(f -> byPath.put(f.path(), f));
        Map<String, Tensor> map = new LinkedHashMap<>();
        try {
          for (WeightCheck.Use u : check.consumed()) {
            ParamSpec p = u.spec();
            boolean half = keepHalf && p.halfStorage();
            map.put(p.name(), byPath.get(u.file()).read(p.name(), backend, half));
          }
        } catch (IOException | RuntimeException e) {
          map.values().forEach(Tensor::close);
          throw e;
        }
        StringBuilder id = new StringBuilder();
        for (Path f : files) {
          id.append(id.length() == 0 ? "" : "+").append(f.getFileName());
        }
        return new WeightSet(map, id.toString());
      } catch (IOException e) {
        throw new WeightLoadException("cannot read checkpoint " + files + ": " + e.getMessage(), e);
      } finally {
        closeAll(opened);
      }
    }
  }

  private static void closeAll(List<SafetensorsFile> files) {
    for (SafetensorsFile f : files) {
      try {
        f.close();
      } catch (IOException ignored) {
        // read-only mapping; nothing to flush
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

  /** Bytes the tensors hold in their storage types (for memory plans). */
  public long bytes() {
    long n = 0;
    for (Tensor t : tensors.values()) {
      n += t.size() * t.dtype().bytes();
    }
    return n;
  }

  public Map<String, Tensor> all() {
    return java.util.Collections.unmodifiableMap(tensors);
  }

  @Override
  public void close() {
    tensors.values().forEach(Tensor::close);
  }
}
