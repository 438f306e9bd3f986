package dev.reelflow.engine.checkpoint;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.sampler.SamplerDefaults;
import dev.reelflow.engine.weights.WeightCheck;
import dev.reelflow.engine.weights.WeightLoadException;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One transformer variant of a checkpoint folder ({@code transformer/<name>/}): its {@code
 * config.json}, the {@link DitConfig} read from it, its weight files and their fingerprint.
 */
@EngineApi
public final class TransformerVariant {
  private final String name;
  private final VariantName parsed;
  private final Path dir;
  private final Map<String, Object> json;
  private final DitConfig config;
  private final WeightFiles files;
  private String fingerprint;

  TransformerVariant(String name, Path dir, Map<String, Object> json, WeightFiles files) {
    this.name = name;
    this.parsed = VariantName.parse(name).orElse(null);
    this.dir = dir;
    this.json = json;
    try {
      this.config = DitConfig.fromJson(name, json);
    } catch (IllegalArgumentException e) {
      throw new ModelFolderException(dir.resolve("config.json") + ": " + e.getMessage(), e);
    }
    this.files = files;
  }

  /** The folder name, e.g. {@code 720p_i2v_distilled}. */
  public String name() {
    return name;
  }

  /** The parsed name, empty for a folder outside the official naming scheme. */
  public Optional<VariantName> variantName() {
    return Optional.ofNullable(parsed);
  }

  public Path dir() {
    return dir;
  }

  /** The parsed {@code config.json}. */
  public Map<String, Object> json() {
    return json;
  }

  /** The transformer config the {@code config.json} describes. */
  public DitConfig config() {
    return config;
  }

  public WeightFiles files() {
    return files;
  }

  /** See {@link WeightFiles#fingerprint()}; computed once. */
  public synchronized String fingerprint() {
    if (fingerprint == null) {
      fingerprint = files.fingerprint();
    }
    return fingerprint;
  }

  /** The official sampler settings of this variant. */
  public SamplerDefaults samplerDefaults() {
    return SamplerDefaults.forVariant(name);
  }

  /**
   * Problems of the config against the folder name: an {@code ideal_task} or {@code
   * ideal_resolution} that contradicts it (a mislabelled folder).
   */
  public List<String> configProblems() {
    List<String> out = new ArrayList<>();
    if (parsed == null) {
      out.add("folder name " + name + " is not an official variant name");
      return out;
    }
    String task = config.idealTask();
    if (parsed.task() != VariantName.Task.SR
        && task != null
        && !task.equalsIgnoreCase(parsed.task().name())) {
      out.add("config.json says ideal_task " + task + " but the folder is " + name);
    }
    String res = config.idealResolution();
    if (res != null && !res.equals(parsed.resolution())) {
      out.add("config.json says ideal_resolution " + res + " but the folder is " + name);
    }
    if ((parsed.kind() == VariantName.Kind.STEP_DISTILLED) != config.meanFlow()) {
      out.add(
          "config.json says use_meanflow "
              + config.meanFlow()
              + " for "
              + name
              + " (step-distilled variants use mean-flow, the others do not)");
    }
    return out;
  }

  /** Matches the weight files' headers against the config (no tensor data read). */
  public WeightCheck check() {
    return HunyuanDit.loader(config).check(files.files());
  }

  /**
   * Loads the weights strictly (every tensor consumed or ignored with a reason).
   *
   * @param keepHalf keep 16-bit linear weights 16-bit (the CPU backend's memory saver)
   * @throws WeightLoadException listing every missing, mis-shaped, unreadable or unexpected tensor
   * @throws ModelFolderException when the folder's index and files disagree
   */
  public WeightSet load(Backend backend, boolean keepHalf) {
    List<String> problems = new ArrayList<>(files.problems());
    problems.addAll(files.indexProblems());
    if (!problems.isEmpty()) {
      throw new ModelFolderException("transformer/" + name + ": " + String.join("; ", problems));
    }
    return HunyuanDit.loader(config).keepHalf(keepHalf).load(files.files(), backend);
  }

  @Override
  public String toString() {
    return "transformer/" + name;
  }
}
