package dev.reelflow.engine.sr;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.checkpoint.Component;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.checkpoint.TransformerVariant;
import dev.reelflow.engine.checkpoint.WeightFiles;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.WeightLoadException;
import dev.reelflow.engine.weights.WeightSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parts of the SR stage read from a released checkpoint folder ({@link ModelFolder}), strictly:
 * {@code transformer/<variant>/} (the SR transformer, 98 input channels), {@code
 * upsampler/<variant>/} ({@code SRTo720pUpsampler} or {@code SRTo1080pUpsampler}, chosen by the
 * variant as the official loader does) and {@code vae/}.
 */
public final class SrCheckpoint implements AutoCloseable {
  private final ModelFolder folder;
  private final SrVariant variant;
  private final DitConfig ditConfig;
  private final VaeConfig vaeConfig;
  private final WeightSet ditWeights;
  private final WeightSet upWeights;
  private final WeightSet vaeWeights;
  private final HunyuanDit dit;
  private final LatentUpsampler upsampler;
  private final CausalVae vae;
  private final String fingerprint;

  private SrCheckpoint(ModelFolder folder, SrVariant variant, Backend be, Options o) {
    this.folder = folder;
    this.variant = variant;
    List<WeightSet> loaded = new ArrayList<>();
    try {
      Component up = folder.upsampler(variant.folder());
      upWeights = load(upsamplerLoader(variant, up.config()), up, be, loaded);
      upsampler = upsampler(variant, up.config(), upWeights, be);

      Component vaeDir = folder.vae();
      vaeConfig = VaeConfig.fromConfig("vae", vaeDir.config());
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

      TransformerVariant tr = folder.variant(variant.folder());
      ditConfig = tr.config();
      int want = vaeConfig.latentChannels() + SrCondition.channels(vaeConfig.latentChannels());
      if (ditConfig.inChannels() != want
          || ditConfig.latentChannels() != vaeConfig.latentChannels()) {
        throw new WeightLoadException(
            tr.dir().resolve("config.json")
                + " describes a transformer of "
                + ditConfig.inChannels()
                + " input and "
                + ditConfig.latentChannels()
                + " output channels; the SR stage with this VAE needs "
                + want
                + " and "
                + vaeConfig.latentChannels(),
            null);
      }
      ditWeights = tr.load(be, o.keepHalf);
      loaded.add(ditWeights);
      dit = new HunyuanDit(ditConfig, ditWeights, be, o.attention);
      fingerprint = tr.fingerprint();
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
   * Loads the variant's SR parts from a checkpoint folder.
   *
   * @throws dev.reelflow.engine.checkpoint.ModelFolderException naming a missing folder or file
   * @throws WeightLoadException naming the tensors that are missing, unexpected or wrong
   * @throws IllegalArgumentException when a config.json has unknown or missing keys
   */
  public static SrCheckpoint load(
      ModelFolder folder, SrVariant variant, Backend be, Options options) {
    return new SrCheckpoint(folder, variant, be, options);
  }

  /** The strict loader of {@code upsampler/<variant>/} for its config: exactly its tensors. */
  public static WeightSet.Loader upsamplerLoader(SrVariant variant, Map<String, Object> config) {
    return WeightSet.loader(upsamplerParams(variant, config));
  }

  /**
   * The tensors of {@code upsampler/<variant>/} for its config: those of the official class the
   * variant takes ({@code _class_name} must agree when present).
   */
  public static List<ParamSpec> upsamplerParams(SrVariant variant, Map<String, Object> config) {
    String cls = variant == SrVariant.SR_720P ? SrTo720pUpsampler.CLASS : SrTo1080pUpsampler.CLASS;
    Object declared = config.get("_class_name");
    if (declared != null && !cls.equals(declared)) {
      throw new IllegalArgumentException(
          "upsampler/"
              + variant.folder()
              + "/config.json declares "
              + declared
              + "; "
              + variant.folder()
              + " takes a "
              + cls);
    }
    return variant == SrVariant.SR_720P
        ? SrTo720pUpsampler.params(SrTo720pUpsampler.Config.fromConfig(config))
        : SrTo1080pUpsampler.params(SrTo1080pUpsampler.Config.fromConfig(config));
  }

  private static LatentUpsampler upsampler(
      SrVariant variant, Map<String, Object> config, WeightSet w, Backend be) {
    return variant == SrVariant.SR_720P
        ? new SrTo720pUpsampler(SrTo720pUpsampler.Config.fromConfig(config), w, be)
        : new SrTo1080pUpsampler(SrTo1080pUpsampler.Config.fromConfig(config), w, be);
  }

  private static WeightSet load(WeightSet.Loader l, Component c, Backend be, List<WeightSet> all) {
    WeightFiles files = c.weights();
    List<String> problems = new ArrayList<>(files.problems());
    problems.addAll(files.indexProblems());
    if (!problems.isEmpty()) {
      throw new ModelFolderException(c.name() + ": " + String.join("; ", problems));
    }
    WeightSet w = l.load(files.files(), be);
    all.add(w);
    return w;
  }

  public SrVariant variant() {
    return variant;
  }

  public ModelFolder folder() {
    return folder;
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

  /** The SR transformer's fingerprint ({@link TransformerVariant#fingerprint}). */
  public String fingerprint() {
    return fingerprint;
  }

  /** For manifests: the folder and the components it read, with their weight files. */
  public String id() {
    return folder.dir().getFileName()
        + ": transformer/"
        + variant.folder()
        + " ["
        + ditWeights.id()
        + ", "
        + fingerprint
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
