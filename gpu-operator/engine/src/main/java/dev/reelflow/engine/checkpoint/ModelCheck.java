package dev.reelflow.engine.checkpoint;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.sampler.SamplerDefaults;
import dev.reelflow.engine.sampler.SchedulerConfig;
import dev.reelflow.engine.sr.SrCheckpoint;
import dev.reelflow.engine.sr.SrVariant;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vision.SiglipConfig;
import dev.reelflow.engine.vision.SiglipVisionEncoder;
import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.WeightCheck;
import dev.reelflow.engine.weights.WeightSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Checks a checkpoint folder without loading tensor data: lists the transformer variants, matches
 * every tensor's name, shape and dtype (from the safetensors headers) against what the engine
 * expects for the variant's {@code config.json}, checks shards against their index, fingerprints
 * each variant, estimates memory per stage and backend, and names everything missing or wrong.
 *
 * <pre>{@code
 * ModelCheckReport r = ModelCheck.builder().build().check(Path.of("ckpts/HunyuanVideo-1.5"));
 * System.out.println(r.render());   // r.ok() false lists every problem
 * }</pre>
 *
 * Components other than the transformers are checked where a {@link ComponentSpec} says what the
 * engine expects of them (built in: {@code vae}, both {@code upsampler/<sr variant>} and the SigLIP
 * tower {@code vision_encoder/siglip/image_encoder}); the others are listed with their size.
 */
@EngineApi
public final class ModelCheck {
  /** What the engine expects of a component, from the component's parsed config. */
  @FunctionalInterface
  public interface ComponentSpec {
    /**
     * A strict loader describing the expected tensors; {@link IllegalArgumentException} for a
     * config the engine cannot use (reported as a problem).
     */
    WeightSet.Loader loader(Map<String, Object> config);
  }

  private static final int FRAMES = 121;

  private static final String VISION = "vision_encoder/siglip";

  /** The SigLIP tower's folder, checked against its config.json. */
  public static final String SIGLIP_TOWER = VISION + "/" + SiglipVisionEncoder.IMAGE_ENCODER;

  /** Live activation tensors of hidden width at a block's peak (as the worker's MemoryPlan). */
  private static final int LIVE_TENSORS = 24;

  private final Map<String, ComponentSpec> specs;
  private final boolean keepHalf;

  private ModelCheck(Builder b) {
    this.specs = new LinkedHashMap<>(b.specs);
    this.keepHalf = b.keepHalf;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Checks with the built-in component specs. */
  public static ModelCheckReport run(Path dir) {
    return builder().build().check(dir);
  }

  /** The engine's VAE tensors for a {@code vae/config.json} (every key read, see VaeConfig). */
  public static WeightSet.Loader vaeLoader(Map<String, Object> c) {
    return WeightSet.loader(CausalVae.params(vaeConfig(c)));
  }

  /**
   * The VAE of a {@code vae/config.json}: every key of the official class, see {@link
   * VaeConfig#fromConfig}.
   */
  public static VaeConfig vaeConfig(Map<String, Object> c) {
    return VaeConfig.fromConfig("vae", c);
  }

  /** Checks the folder; never throws for a bad folder content, it reports it. */
  public ModelCheckReport check(Path dir) {
    long t0 = System.nanoTime();
    List<String> problems = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    List<ModelCheckReport.VariantReport> variants = new ArrayList<>();
    List<ModelCheckReport.ComponentReport> components = new ArrayList<>();
    ModelFolder folder;
    try {
      folder = ModelFolder.open(dir);
    } catch (ModelFolderException e) {
      problems.add(e.getMessage());
      return new ModelCheckReport(
          dir.toAbsolutePath(), variants, components, notes, problems, seconds(t0));
    }
    if (folder.variants().isEmpty()) {
      problems.add("transformer/ holds no variant folders");
    }
    for (String name : folder.variants()) {
      ModelCheckReport.VariantReport v = checkVariant(folder, name, notes);
      variants.add(v);
      v.problems().forEach(p -> problems.add("transformer/" + name + ": " + p));
    }
    List<String> absent = new ArrayList<>();
    for (String r : VariantName.RELEASED) {
      if (!folder.hasVariant(r)) {
        absent.add(r);
      }
    }
    if (!absent.isEmpty()) {
      notes.add("released transformer variants not in the folder: " + absent);
    }
    for (String name : folder.variants()) {
      VariantName.parse(name)
          .filter(v -> v.task() != VariantName.Task.SR)
          .ifPresent(
              v -> {
                String sr = v.srVariant().toString();
                if (!folder.hasVariant(sr)) {
                  notes.add(name + " renders without its SR stage (transformer/" + sr + " absent)");
                }
              });
      VariantName.parse(name)
          .filter(v -> v.task() == VariantName.Task.SR)
          .ifPresent(
              v -> {
                if (!folder.has("upsampler/" + name)) {
                  problems.add(
                      "transformer/"
                          + name
                          + " needs upsampler/"
                          + name
                          + ", which is absent (the SR stage runs the upsampler first)");
                }
              });
    }
    // components
    components.add(component(folder, "vae", true, problems, notes));
    for (String u : folder.upsamplers()) {
      components.add(component(folder, "upsampler/" + u, true, problems, notes));
    }
    components.add(scheduler(folder, problems, notes));
    for (String t :
        List.of(
            "text_encoder/llm",
            "text_encoder/byt5-small",
            "text_encoder/Glyph-SDXL-v2",
            "vision_encoder/siglip")) {
      components.add(component(folder, t, false, problems, notes));
    }
    return new ModelCheckReport(folder.dir(), variants, components, notes, problems, seconds(t0));
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private ModelCheckReport.VariantReport checkVariant(
      ModelFolder folder, String name, List<String> notes) {
    List<String> problems = new ArrayList<>();
    TransformerVariant v;
    try {
      v = folder.variant(name);
    } catch (ModelFolderException e) {
      problems.add(e.getMessage());
      return new ModelCheckReport.VariantReport(name, null, null, null, null, null, problems);
    }
    SamplerDefaults sampler = null;
    if (v.variantName().isEmpty()) {
      notes.add(
          "transformer/"
              + name
              + " is not an official variant name: the engine never"
              + " selects it for a render");
    } else {
      problems.addAll(v.configProblems());
      try {
        sampler = SamplerDefaults.forVariant(name);
      } catch (IllegalArgumentException e) {
        notes.add(e.getMessage());
      }
    }
    problems.addAll(v.files().problems());
    problems.addAll(v.files().indexProblems());
    WeightCheck check = null;
    String fingerprint = null;
    try {
      check = v.check();
      problems.addAll(check.problems());
      fingerprint = v.fingerprint();
    } catch (RuntimeException e) {
      problems.add(e.getMessage());
    }
    ModelCheckReport.Memory memory =
        check == null ? null : memory(check, keepHalf, activations(v.config(), v, sampler));
    return new ModelCheckReport.VariantReport(
        name, fingerprint, v.config().describe(), sampler, check, memory, problems);
  }

  /** {tokens x batch x hidden x 4 B x live tensors, basis}, at the variant's own resolution. */
  private static Object[] activations(DitConfig c, TransformerVariant v, SamplerDefaults sampler) {
    int[] size =
        v.variantName()
            .map(
                n ->
                    switch (n.resolution()) {
                      case "480p" -> new int[] {480, 848};
                      case "720p" -> new int[] {720, 1280};
                      case "1080p" -> new int[] {1072, 1904};
                      default -> null;
                    })
            .orElse(null);
    if (size == null) {
      return new Object[] {0L, "no resolution known for the name"};
    }
    int[] p = c.patch();
    long latentFrames = (FRAMES - 1) / 4 + 1;
    long tokens = (latentFrames / p[0]) * ((size[0] / 16) / p[1]) * (long) ((size[1] / 16) / p[2]);
    int batch = sampler != null && sampler.classifierFreeGuidance() ? 2 : 1;
    long bytes = tokens * batch * c.hidden() * 4L * LIVE_TENSORS;
    String basis =
        size[1]
            + "x"
            + size[0]
            + ", "
            + FRAMES
            + " frames: "
            + tokens
            + " tokens x batch "
            + batch
            + " x hidden "
            + c.hidden()
            + " x f32 x "
            + LIVE_TENSORS
            + " live tensors";
    return new Object[] {bytes, basis};
  }

  private static ModelCheckReport.Memory memory(
      WeightCheck check, boolean keepHalf, Object[] activations) {
    return new ModelCheckReport.Memory(
        check.storedBytesByDtype(),
        check.residentBytes(keepHalf),
        check.residentBytes(false),
        check.storedBytes(),
        (Long) activations[0],
        (String) activations[1]);
  }

  private ModelCheckReport.ComponentReport component(
      ModelFolder folder,
      String folderName,
      boolean required,
      List<String> problems,
      List<String> notes) {
    // FLUX.1-Redux-dev's layout: the SigLIP tower sits one folder down
    String name = folderName.equals(VISION) && folder.has(SIGLIP_TOWER) ? SIGLIP_TOWER : folderName;
    if (!folder.has(name)) {
      if (name.equals("vae")) {
        problems.add("vae/ is absent: every render decodes its latents with the VAE");
      } else if (required) {
        problems.add(name + "/ is absent");
      } else {
        notes.add(name + "/ is absent");
      }
      return new ModelCheckReport.ComponentReport(name, false, false, null, null, 0, List.of());
    }
    List<String> own = new ArrayList<>();
    long fileBytes = treeBytes(folder.dir().resolve(name));
    ComponentSpec spec = specs.get(name);
    WeightCheck check = null;
    ModelCheckReport.Memory memory = null;
    if (name.startsWith("text_encoder/")) {
      try {
        check = textEncoderCheck(folder, name, notes);
        if (check != null) {
          own.addAll(check.problems());
          // the language model keeps 16-bit linear weights 16-bit; the glyph encoder runs in f32
          memory = memory(check, name.endsWith("/llm") && keepHalf, new Object[] {0L, ""});
        }
      } catch (RuntimeException e) {
        own.add(e.getMessage());
      }
      own.forEach(p -> problems.add(name + ": " + p));
      return new ModelCheckReport.ComponentReport(name, true, true, check, memory, fileBytes, own);
    }
    if (spec != null) {
      try {
        Component c = folder.component(name);
        WeightFiles files = c.weights();
        own.addAll(files.problems());
        own.addAll(files.indexProblems());
        check = spec.loader(c.config()).check(files.files());
        own.addAll(check.problems());
        // the engine loads these components in f32 (no 16-bit storage)
        memory = memory(check, false, new Object[] {0L, ""});
      } catch (RuntimeException e) {
        own.add(e.getMessage());
      }
    } else {
      memory = headerMemory(folder.dir().resolve(name), own);
      notes.add(
          name
              + "/: tensors not checked"
              + (name.startsWith("upsampler/")
                  ? " (the latent-sr stage registers its upsampler spec)"
                  : " (the engine does not load it yet: its encoder is the next step)"));
    }
    own.forEach(p -> problems.add(name + ": " + p));
    return new ModelCheckReport.ComponentReport(
        name, true, spec != null, check, memory, fileBytes, own);
  }

  /**
   * The text encoders, headers only: {@code llm} (config, shards and index, tokenizer.json present)
   * against the layers the encoder runs; {@code Glyph-SDXL-v2} (the pickled state dict's entries or
   * a safetensors conversion, against byt5-small's config and the assets' tokens); {@code
   * byt5-small} is config only (its weights are replaced by Glyph-SDXL-v2's), so no check.
   */
  private static WeightCheck textEncoderCheck(ModelFolder folder, String name, List<String> notes) {
    Path dir = folder.dir().resolve(name);
    switch (name) {
      case "text_encoder/llm" -> {
        WeightFiles files = WeightFiles.in(dir);
        List<String> p = new ArrayList<>(files.problems());
        p.addAll(files.indexProblems());
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
          p.add("tokenizer.json is missing (the text encoder tokenizes with it)");
        }
        if (!p.isEmpty()) {
          throw new ModelFolderException(String.join("; ", p));
        }
        var c = dev.reelflow.engine.text.QwenTextModel.config(dir);
        notes.add(
            name
                + "/: the engine runs "
                + c.layersUsed()
                + " of its "
                + c.layers()
                + " layers ("
                + c.parameterCount()
                + " parameters with the embedding, which stays in its file)");
        return dev.reelflow.engine.text.QwenTextModel.loader(c).check(files.files());
      }
      case "text_encoder/Glyph-SDXL-v2" -> {
        return dev.reelflow.engine.text.GlyphEncoder.check(
            folder.dir().resolve("text_encoder/byt5-small"), dir);
      }
      default -> {
        dev.reelflow.engine.text.T5Config.fromConfig(
            folder.textEncoder("byt5-small").config(),
            dev.reelflow.engine.text.GlyphTokenizer.BASE_VOCAB);
        notes.add(name + "/: config read; its weights are replaced by Glyph-SDXL-v2's");
        return null;
      }
    }
  }

  private ModelCheckReport.ComponentReport scheduler(
      ModelFolder folder, List<String> problems, List<String> notes) {
    if (!folder.has("scheduler")) {
      notes.add(
          "scheduler/ is absent (the engine, like the official pipeline, builds the"
              + " schedule from the variant's settings)");
      return new ModelCheckReport.ComponentReport(
          "scheduler", false, false, null, null, 0, List.of());
    }
    List<String> own = new ArrayList<>();
    try {
      Map<String, Object> cfg = folder.scheduler().orElseThrow().config();
      SchedulerConfig sc = SchedulerConfig.fromJson(cfg);
      notes.add(
          "scheduler/: "
              + sc
              + "; the official pipeline samples with each variant's shift instead");
    } catch (RuntimeException e) {
      own.add(e.getMessage());
    }
    own.forEach(p -> problems.add("scheduler: " + p));
    return new ModelCheckReport.ComponentReport(
        "scheduler", true, true, null, null, treeBytes(folder.dir().resolve("scheduler")), own);
  }

  /** Stored bytes by dtype of every safetensors file under a folder, from the headers. */
  private static ModelCheckReport.Memory headerMemory(Path dir, List<String> problems) {
    Map<String, Long> stored = new TreeMap<>();
    long elements = 0;
    long storedBytes = 0;
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path f : s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList()) {
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
          for (SafetensorsFile.Entry e : sf.entries().values()) {
            long n = 1;
            for (long d : e.shape()) {
              n *= d;
            }
            long b = e.end() - e.begin();
            stored.merge(e.dtype(), b, Long::sum);
            storedBytes += b;
            elements += n;
          }
        } catch (IOException e) {
          problems.add("unreadable " + dir.relativize(f) + ": " + e.getMessage());
        }
      }
    } catch (IOException e) {
      problems.add("cannot list " + dir + ": " + e.getMessage());
    }
    if (stored.isEmpty()) {
      return null;
    }
    return new ModelCheckReport.Memory(stored, elements * 4, elements * 4, storedBytes, 0, "");
  }

  private static long treeBytes(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .mapToLong(
              p -> {
                try {
                  return Files.size(p);
                } catch (IOException e) {
                  return 0;
                }
              })
          .sum();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Options: component specs and the CPU backend's 16-bit rule. */
  public static final class Builder {
    private final Map<String, ComponentSpec> specs = new LinkedHashMap<>();
    private boolean keepHalf = true;

    private Builder() {
      specs.put("vae", ModelCheck::vaeLoader);
      for (SrVariant v : SrVariant.values()) {
        specs.put("upsampler/" + v.folder(), c -> SrCheckpoint.upsamplerLoader(v, c));
      }
      specs.put(
          SIGLIP_TOWER,
          c -> SiglipVisionEncoder.loader(SiglipConfig.fromJson(SIGLIP_TOWER + "/config.json", c)));
    }

    /**
     * What the engine expects of a component folder, e.g. {@code upsampler/1080p_sr_distilled}
     * (replaces a built-in spec of the same name).
     */
    public Builder component(String name, ComponentSpec spec) {
      specs.put(name, spec);
      return this;
    }

    /** Whether the CPU estimate keeps 16-bit linear weights 16-bit (default true). */
    public Builder keepHalfWeights(boolean k) {
      keepHalf = k;
      return this;
    }

    public ModelCheck build() {
      return new ModelCheck(this);
    }
  }
}
