package dev.reelflow.engine.checkpoint;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.weights.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A HunyuanVideo-1.5 checkpoint folder in the released layout:
 *
 * <pre>
 *   transformer/{480p_t2v, 480p_i2v, 480p_t2v_distilled, 480p_i2v_distilled,
 *                480p_i2v_step_distilled, 720p_t2v, 720p_i2v, 720p_i2v_distilled,
 *                720p_i2v_distilled_sparse, 720p_sr_distilled, 1080p_sr_distilled}/
 *       config.json + diffusion_pytorch_model.safetensors (or shards + their index)
 *   upsampler/{720p_sr_distilled, 1080p_sr_distilled}/   vae/   scheduler/
 *   text_encoder/{llm, byt5-small, Glyph-SDXL-v2}/   vision_encoder/siglip/
 * </pre>
 *
 * Any subset may be present: {@link #variants()} lists the transformer variants found, {@link
 * #select} picks the one a render needs, and a missing piece fails with a {@link
 * ModelFolderException} that names it and what the folder has. Opening reads only folder listings;
 * variants are read (config and index) on first use.
 */
@EngineApi
public final class ModelFolder {
  private final Path dir;
  private final List<String> variants;
  private final Map<String, TransformerVariant> loaded = new ConcurrentHashMap<>();

  private ModelFolder(Path dir, List<String> variants) {
    this.dir = dir;
    this.variants = List.copyOf(variants);
  }

  /**
   * Opens a checkpoint folder.
   *
   * @throws ModelFolderException if {@code dir} is not a folder or has no {@code transformer/}
   */
  public static ModelFolder open(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    if (!Files.isDirectory(abs)) {
      throw new ModelFolderException(
          abs + " is not a folder; pass the HunyuanVideo-1.5 checkpoint folder");
    }
    Path t = abs.resolve("transformer");
    if (!Files.isDirectory(t)) {
      throw new ModelFolderException(
          abs
              + " has no transformer/ folder: it is not a HunyuanVideo-1.5 checkpoint folder"
              + " (expected transformer/, vae/, scheduler/, text_encoder/, ...)");
    }
    return new ModelFolder(abs, subfolders(t));
  }

  private static List<String> subfolders(Path p) {
    if (!Files.isDirectory(p)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(p)) {
      return s.filter(Files::isDirectory).map(x -> x.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new ModelFolderException(p + ": cannot list the folder: " + e.getMessage(), e);
    }
  }

  /** The checkpoint folder (absolute). */
  public Path dir() {
    return dir;
  }

  /** Names of the folders under {@code transformer/}, sorted. */
  public List<String> variants() {
    return variants;
  }

  /** Whether {@code transformer/<name>/} exists. */
  public boolean hasVariant(String name) {
    return variants.contains(name);
  }

  /**
   * The variant {@code transformer/<name>/}, its config read.
   *
   * @throws ModelFolderException if it is absent (the message lists what the folder has) or its
   *     config is missing or unreadable
   */
  public TransformerVariant variant(String name) {
    if (!hasVariant(name)) {
      throw new ModelFolderException(
          dir
              + " has no transformer/"
              + name
              + "; it has "
              + variants
              + ". Download that variant into the folder or choose another");
    }
    return loaded.computeIfAbsent(
        name,
        n -> {
          Path d = dir.resolve("transformer").resolve(n);
          Map<String, Object> json = readJson(d.resolve("config.json"));
          return new TransformerVariant(n, d, json, WeightFiles.in(d));
        });
  }

  /**
   * The transformer variant a base render uses: resolution and task from the request, the kind from
   * the worker's preference, tried in order (e.g. [SPARSE, DISTILLED, BASE]: the first the folder
   * has wins), as the official {@code get_transformer_version} names them.
   *
   * @param resolution 480p or 720p
   * @param imageToVideo whether the render has a first frame
   * @param preference kinds in the worker's order of preference (at least one)
   * @throws ModelFolderException naming every variant tried and what the folder has
   */
  public TransformerVariant select(
      String resolution, boolean imageToVideo, List<VariantName.Kind> preference) {
    if (preference.isEmpty()) {
      throw new IllegalArgumentException("a variant preference needs at least one kind");
    }
    List<String> tried = new ArrayList<>();
    for (VariantName.Kind k : preference) {
      String name = VariantName.base(resolution, imageToVideo, k).toString();
      if (hasVariant(name)) {
        return variant(name);
      }
      tried.add(name);
    }
    throw new ModelFolderException(
        "a "
            + resolution
            + (imageToVideo ? " image-to-video" : " text-to-video")
            + " render needs transformer/"
            + String.join(" or transformer/", tried)
            + " (the worker's variant preference "
            + preference
            + "), but "
            + dir
            + " has "
            + variants
            + ". Download one of them or change the worker's variant preference");
  }

  /** The SR transformer the official pipeline pairs with a base variant, if the folder has it. */
  public Optional<TransformerVariant> srVariantFor(TransformerVariant base) {
    String sr =
        base.variantName()
            .map(v -> v.srVariant().toString())
            .orElseThrow(
                () ->
                    new ModelFolderException(
                        base + " is not an official variant name; no SR pairing is known"));
    return hasVariant(sr) ? Optional.of(variant(sr)) : Optional.empty();
  }

  /** {@code vae/} with its config. */
  public Component vae() {
    return component("vae", "config.json");
  }

  /** {@code upsampler/<name>/} (e.g. {@code 1080p_sr_distilled}) with its config. */
  public Component upsampler(String name) {
    return component("upsampler/" + name, "config.json");
  }

  /** Names of the folders under {@code upsampler/}. */
  public List<String> upsamplers() {
    return subfolders(dir.resolve("upsampler"));
  }

  /** {@code scheduler/} with its {@code scheduler_config.json}, if present. */
  public Optional<Component> scheduler() {
    Path d = dir.resolve("scheduler");
    return Files.isDirectory(d)
        ? Optional.of(component("scheduler", "scheduler_config.json"))
        : Optional.empty();
  }

  /** {@code text_encoder/<name>/} (llm, byt5-small, Glyph-SDXL-v2); config empty if none. */
  public Component textEncoder(String name) {
    return component("text_encoder/" + name, "config.json");
  }

  /** {@code vision_encoder/siglip/}; config empty if none at its top level. */
  public Component visionEncoder() {
    return component("vision_encoder/siglip", "config.json");
  }

  /** Any component folder {@code <relative>/} with its {@code config.json} (empty if none). */
  public Component component(String relative) {
    return component(relative, "config.json");
  }

  /** Whether {@code <relative>/} exists. */
  public boolean has(String relative) {
    return Files.isDirectory(dir.resolve(relative));
  }

  private Component component(String relative, String configName) {
    Path d = dir.resolve(relative);
    if (!Files.isDirectory(d)) {
      throw new ModelFolderException(
          dir + " has no " + relative + "/; download that part of the checkpoint into the folder");
    }
    Path c = d.resolve(configName);
    Map<String, Object> json = Files.isRegularFile(c) ? readJson(c) : Map.of();
    return new Component(relative, d, json);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> readJson(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ModelFolderException(
          file + " is missing; every checkpoint component folder has its config");
    }
    try {
      Object o = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
      if (!(o instanceof Map<?, ?> m)) {
        throw new ModelFolderException(file + " is not a JSON object");
      }
      return new LinkedHashMap<>((Map<String, Object>) m);
    } catch (IOException | IllegalArgumentException e) {
      throw new ModelFolderException(file + " is not readable JSON: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "ModelFolder[" + dir + ", variants " + variants + "]";
  }
}
