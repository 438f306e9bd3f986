package dev.reelflow.engine.sr;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.WeightLoadException;
import dev.reelflow.engine.weights.WeightSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The parts of the SR stage read from a released checkpoint folder, strictly: {@code
 * transformer/<variant>/} (the SR transformer, 98 input channels), {@code upsampler/<variant>/}
 * ({@code SRTo720pUpsampler} or {@code SRTo1080pUpsampler}, chosen by the variant as the official
 * loader does) and {@code vae/}. Each component folder holds a {@code config.json} and its weights:
 * one or more {@code *.safetensors}, or the shards a {@code *.safetensors.index.json} names.
 */
public final class SrCheckpoint implements AutoCloseable {
  private final Path dir;
  private final SrVariant variant;
  private final DitConfig ditConfig;
  private final VaeConfig vaeConfig;
  private final WeightSet ditWeights;
  private final WeightSet upWeights;
  private final WeightSet vaeWeights;
  private final HunyuanDit dit;
  private final LatentUpsampler upsampler;
  private final CausalVae vae;

  private SrCheckpoint(Path dir, SrVariant variant, Backend be, Options o) {
    this.dir = dir;
    this.variant = variant;
    List<WeightSet> loaded = new ArrayList<>();
    try {
      Path up = dir.resolve("upsampler").resolve(variant.folder());
      Map<String, Object> upJson = config(up);
      String cls =
          variant == SrVariant.SR_720P ? SrTo720pUpsampler.CLASS : SrTo1080pUpsampler.CLASS;
      Object declared = upJson.get("_class_name");
      if (declared != null && !cls.equals(declared)) {
        throw new WeightLoadException(
            up.resolve("config.json")
                + " declares "
                + declared
                + "; "
                + variant.folder()
                + " takes a "
                + cls,
            null);
      }
      if (variant == SrVariant.SR_720P) {
        SrTo720pUpsampler.Config c = SrTo720pUpsampler.Config.fromConfig(upJson);
        upWeights = load(WeightSet.loader(SrTo720pUpsampler.params(c)), up, be, loaded);
        upsampler = new SrTo720pUpsampler(c, upWeights, be);
      } else {
        SrTo1080pUpsampler.Config c = SrTo1080pUpsampler.Config.fromConfig(upJson);
        upWeights = load(WeightSet.loader(SrTo1080pUpsampler.params(c)), up, be, loaded);
        upsampler = new SrTo1080pUpsampler(c, upWeights, be);
      }

      Path vaeDir = dir.resolve("vae");
      vaeConfig = VaeConfig.fromConfig("vae", config(vaeDir));
      WeightSet.Loader vl =
          WeightSet.loader(
              o.withEncoder ? CausalVae.params(vaeConfig) : CausalVae.decoderParams(vaeConfig));
      if (!o.withEncoder) {
        vl.ignore(
            "encoder\\..*",
            "the SR stage decodes only (the encoder serves I2V images and preview re-encoding)");
      }
      vaeWeights = load(vl, vaeDir, be, loaded);
      vae = new CausalVae(vaeConfig, vaeWeights, be);

      Path tr = dir.resolve("transformer").resolve(variant.folder());
      ditConfig = DitConfig.fromJson(variant.folder(), config(tr));
      int want = vaeConfig.latentChannels() + SrCondition.channels(vaeConfig.latentChannels());
      if (ditConfig.inChannels() != want
          || ditConfig.latentChannels() != vaeConfig.latentChannels()) {
        throw new WeightLoadException(
            tr.resolve("config.json")
                + " describes a transformer of "
                + ditConfig.inChannels()
                + " input and "
                + ditConfig.latentChannels()
                + " output channels; the SR stage"
                + " with this VAE needs "
                + want
                + " and "
                + vaeConfig.latentChannels(),
            null);
      }
      ditWeights = load(HunyuanDit.loader(ditConfig).keepHalf(o.keepHalf), tr, be, loaded);
      dit = new HunyuanDit(ditConfig, ditWeights, be, o.attention);
    } catch (RuntimeException e) {
      loaded.forEach(WeightSet::close);
      throw e;
    }
  }

  /** Loading options. */
  public static final class Options {
    private boolean keepHalf = true;
    private boolean withEncoder;
    private AttentionConfig attention = AttentionConfig.dense();

    /** Keep the transformer's 16-bit linear weights 16-bit (default true). */
    public Options keepHalf(boolean k) {
      this.keepHalf = k;
      return this;
    }

    /** Also load the VAE encoder (to re-encode preview frames); default false. */
    public Options withEncoder(boolean w) {
      this.withEncoder = w;
      return this;
    }

    /** The SR transformer's attention (default dense). */
    public Options attention(AttentionConfig a) {
      this.attention = java.util.Objects.requireNonNull(a);
      return this;
    }
  }

  /**
   * Loads the variant's SR parts from {@code modelDir}.
   *
   * @throws WeightLoadException naming the folder, file or tensors that are missing or wrong
   * @throws IllegalArgumentException when a config.json has unknown or missing keys
   */
  public static SrCheckpoint load(Path modelDir, SrVariant variant, Backend be, Options options) {
    return new SrCheckpoint(modelDir, variant, be, options);
  }

  private static WeightSet load(
      WeightSet.Loader l, Path component, Backend be, List<WeightSet> all) {
    WeightSet w = l.load(weightFiles(component), be);
    all.add(w);
    return w;
  }

  /** The parsed {@code config.json} of a component folder. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> config(Path component) {
    Path f = component.resolve("config.json");
    if (!Files.isRegularFile(f)) {
      throw new WeightLoadException(
          "checkpoint folder "
              + component
              + " has no config.json; point the model directory at the released checkpoint"
              + " (transformer/, upsampler/, vae/ ...)",
          null);
    }
    try {
      Object v = Json.parse(Files.readString(f));
      if (!(v instanceof Map)) {
        throw new IllegalArgumentException("not a JSON object");
      }
      return (Map<String, Object>) v;
    } catch (IOException | IllegalArgumentException e) {
      throw new WeightLoadException(f + " is not a readable config.json: " + e.getMessage(), e);
    }
  }

  /**
   * The weight files of a component folder: the shards its {@code *.safetensors.index.json} maps
   * tensors to, else every {@code *.safetensors} in it.
   */
  @SuppressWarnings("unchecked")
  static List<Path> weightFiles(Path component) {
    List<Path> indexes;
    List<Path> plain;
    try (Stream<Path> s = Files.list(component)) {
      List<Path> all = s.sorted().toList();
      indexes =
          all.stream()
              .filter(p -> p.getFileName().toString().endsWith(".safetensors.index.json"))
              .toList();
      plain =
          all.stream().filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList();
    } catch (IOException e) {
      throw new WeightLoadException(
          "cannot list checkpoint folder " + component + ": " + e.getMessage(), e);
    }
    if (indexes.size() > 1) {
      throw new WeightLoadException(
          component + " has several safetensors index files: " + indexes, null);
    }
    if (indexes.size() == 1) {
      Path index = indexes.get(0);
      TreeSet<String> shards = new TreeSet<>();
      try {
        Map<String, Object> j = (Map<String, Object>) Json.parse(Files.readString(index));
        Object map = j.get("weight_map");
        if (!(map instanceof Map)) {
          throw new IllegalArgumentException("no weight_map");
        }
        ((Map<String, Object>) map).values().forEach(v -> shards.add(String.valueOf(v)));
      } catch (IOException | RuntimeException e) {
        throw new WeightLoadException(
            index + " is not a readable safetensors index: " + e.getMessage(), e);
      }
      List<Path> files = new ArrayList<>();
      List<String> absent = new ArrayList<>();
      for (String sh : shards) {
        Path p = component.resolve(sh);
        if (Files.isRegularFile(p)) {
          files.add(p);
        } else {
          absent.add(sh);
        }
      }
      if (!absent.isEmpty()) {
        throw new WeightLoadException(index + " names shards that are missing: " + absent, null);
      }
      return files;
    }
    if (plain.isEmpty()) {
      throw new WeightLoadException(
          "checkpoint folder " + component + " has no .safetensors weights", null);
    }
    return plain;
  }

  public SrVariant variant() {
    return variant;
  }

  public Path directory() {
    return dir;
  }

  public DitConfig ditConfig() {
    return ditConfig;
  }

  public VaeConfig vaeConfig() {
    return vaeConfig;
  }

  public HunyuanDit transformer() {
    return dit;
  }

  public LatentUpsampler upsampler() {
    return upsampler;
  }

  public CausalVae vae() {
    return vae;
  }

  /** For manifests: the folder and the components it read, with their weight files. */
  public String id() {
    return dir.getFileName()
        + ": transformer/"
        + variant.folder()
        + " ["
        + ditWeights.id()
        + "], upsampler/"
        + variant.folder()
        + " ["
        + upWeights.id()
        + "], vae ["
        + vaeWeights.id()
        + "]";
  }

  @Override
  public void close() {
    ditWeights.close();
    upWeights.close();
    vaeWeights.close();
  }
}
