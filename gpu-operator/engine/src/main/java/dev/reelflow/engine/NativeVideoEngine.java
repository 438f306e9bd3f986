package dev.reelflow.engine;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.checkpoint.Component;
import dev.reelflow.engine.checkpoint.ModelCheck;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.checkpoint.TransformerVariant;
import dev.reelflow.engine.checkpoint.WeightFiles;
import dev.reelflow.engine.dit.DitCondition;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.DitTimestep;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.sampler.FlowMatchSchedule;
import dev.reelflow.engine.sampler.SamplerDefaults;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.text.HunyuanTextEncoder;
import dev.reelflow.engine.text.TextEncoder;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.vision.ReferenceImages;
import dev.reelflow.engine.vision.VisionEncoder;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The native text/image-to-video engine: text encoder, HunyuanVideo-1.5-style DiT with dense or
 * SSTA attention, flow-matching Euler sampler with classifier-free guidance, causal VAE decoder.
 *
 * <p>Usage:
 *
 * <pre>{@code
 * try (NativeVideoEngine engine = NativeVideoEngine.builder().model("tiny").build()) {
 *   GenerationResult r = engine.generate(
 *       GenerationSpec.builder().prompt("a red fox").size(128, 128).frames(33).steps(8).build(),
 *       (phase, step, total) -> checkCancelled());   // a throw stops: GenerationCancelledException
 *   r.frames();  r.writeLatents(out);  r.weightsId();  // "random-init" without a checkpoint
 * }
 * }</pre>
 *
 * <p>From a checkpoint folder in the released layout, the transformer variant's {@code config.json}
 * drives the model and its weights load strictly, the VAE comes from {@code vae/}:
 *
 * <pre>{@code
 * ModelFolder folder = ModelFolder.open(dir);
 * TransformerVariant v = folder.select("720p", false, List.of(Kind.DISTILLED, Kind.BASE));
 * SamplerDefaults d = v.samplerDefaults();       // steps, shift, guidance of the official pipeline
 * NativeVideoEngine e = NativeVideoEngine.builder().modelFolder(folder, v.name()).build();
 * e.checkpoint();                                 // folder, variant and fingerprints for manifests
 * }</pre>
 *
 * <p>One engine runs one generation at a time ({@link #generate} is synchronized); it owns its
 * backend unless one was passed in. Without checkpoints, weights are seeded random ({@code
 * weightsId = random-init}) and the frames are noise-like: the pipeline is real, the weights are
 * not.
 */
@EngineApi
public final class NativeVideoEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NativeVideoEngine.class);

  private final Backend backend;
  private final boolean ownsBackend;
  private final DitConfig ditConfig;
  private final VaeConfig vaeConfig;
  private final AttentionConfig attention;
  private final TextEncoder text;
  private final boolean ownsText;
  private final WeightSet ditWeights;
  private final WeightSet vaeWeights;
  private final HunyuanDit dit;
  private final CausalVae vae;
  private final VaeTiling vaeTiling;
  private final Checkpoint checkpoint;
  private final VisionEncoder vision;
  private final double embeddedGuidance;

  /**
   * Where the weights came from when the engine was built from a checkpoint folder.
   *
   * @param folder the checkpoint folder
   * @param variant the transformer variant, e.g. {@code 720p_i2v_distilled}
   * @param fingerprint the variant's fingerprint ({@code WeightFiles#fingerprint})
   * @param vaeFingerprint the VAE's fingerprint
   */
  public record Checkpoint(
      Path folder, String variant, String fingerprint, String vaeFingerprint) {}

  private NativeVideoEngine(Builder b) {
    this.ownsBackend = b.backend == null;
    this.backend = b.backend != null ? b.backend : new CpuBackend(b.threads);
    TransformerVariant variant = null;
    Component vaeFolder = null;
    if (b.folder != null) {
      variant = b.folder.variant(b.variant);
      b.ditConfig = variant.config();
      vaeFolder = b.folder.vae();
      if (b.vaeConfig == null) {
        try {
          b.vaeConfig = ModelCheck.vaeConfig(vaeFolder.config());
        } catch (IllegalArgumentException e) {
          throw new ModelFolderException(vaeFolder.dir() + "/config.json: " + e.getMessage(), e);
        }
      }
    }
    this.ditConfig = b.ditConfig;
    // the real VAE only with the real model sizes; every other config gets the reduced VAE
    this.vaeConfig =
        b.vaeConfig != null
            ? b.vaeConfig
            : (b.ditConfig.hidden() >= 2048 ? VaeConfig.reference() : VaeConfig.tiny());
    this.attention = b.attention != null ? b.attention : ditConfig.attention();
    this.vision = b.vision;
    this.embeddedGuidance = b.embeddedGuidance;
    if (ditConfig.guidanceEmbed() && Double.isNaN(embeddedGuidance)) {
      throw new IllegalArgumentException(
          ditConfig.name()
              + " has a guidance embedding (guidance_embed): set the builder's embeddedGuidance");
    }
    // a folder with text_encoder/ gets the real encoders; the byte-level stand-in otherwise
    this.ownsText =
        b.textEncoder == null && b.folder != null && HunyuanTextEncoder.present(b.folder);
    this.text =
        b.textEncoder != null
            ? b.textEncoder
            : ownsText
                ? HunyuanTextEncoder.open(b.folder, backend, b.keepHalf)
                : new ByteTextEncoder(ditConfig.textDim(), ditConfig.glyphDim(), 1000);
    try {
      checkTextDims();
    } catch (RuntimeException e) {
      closeText();
      throw e;
    }
    if (variant != null) {
      try {
        this.ditWeights = variant.load(backend, b.keepHalf);
      } catch (RuntimeException e) {
        closeText();
        throw e;
      }
      WeightFiles vf = vaeFolder.weights();
      try {
        this.vaeWeights = WeightSet.load(CausalVae.params(vaeConfig), vf.files(), backend, false);
      } catch (RuntimeException e) {
        ditWeights.close();
        closeText();
        throw e;
      }
      this.checkpoint =
          new Checkpoint(b.folder.dir(), variant.name(), variant.fingerprint(), vf.fingerprint());
    } else {
      this.ditWeights =
          b.ditCheckpoint.isEmpty()
              ? WeightSet.random(HunyuanDit.params(ditConfig), backend, b.weightSeed)
              : HunyuanDit.loader(ditConfig).keepHalf(b.keepHalf).load(b.ditCheckpoint, backend);
      this.vaeWeights =
          b.vaeCheckpoint.isEmpty()
              ? WeightSet.random(CausalVae.params(vaeConfig), backend, b.weightSeed + 1)
              : WeightSet.load(CausalVae.params(vaeConfig), b.vaeCheckpoint, backend, false);
      this.checkpoint = null;
    }
    this.dit = new HunyuanDit(ditConfig, ditWeights, backend, attention);
    if (b.offloadBlocks) {
      dit.offloadBlocks();
    }
    this.vae = new CausalVae(vaeConfig, vaeWeights, backend);
    this.vaeTiling = b.vaeTiling;
    LOG.info(
        "native engine: model={} vae={} attention={} weights={} backend={} text={}",
        modelId(),
        vaeConfig.name(),
        attention,
        weightsId(),
        backend.device(),
        text.id());
  }

  public static Builder builder() {
    return new Builder();
  }

  private void checkTextDims() {
    if (text.dim() != ditConfig.textDim() || text.glyphDim() != ditConfig.glyphDim()) {
      throw new IllegalArgumentException(
          "text encoder "
              + text.id()
              + " dims "
              + text.dim()
              + "/"
              + text.glyphDim()
              + " do not match the model's "
              + ditConfig.textDim()
              + "/"
              + ditConfig.glyphDim());
    }
  }

  private void closeText() {
    if (ownsText && text instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.warn("closing the text encoder failed", e);
      }
    }
  }

  /** The text encoder's id (as in manifests). */
  public String textEncoderId() {
    return text.id();
  }

  /** {@code hunyuanvideo-1.5-<config>}, e.g. {@code hunyuanvideo-1.5-720p_i2v_distilled}. */
  public String modelId() {
    return "hunyuanvideo-1.5-" + ditConfig.name();
  }

  /**
   * {@code random-init} if neither DiT nor VAE weights were loaded; from a checkpoint folder {@code
   * dit=<variant>@<fingerprint>;vae=vae@<fingerprint>}; else the checkpoint file names.
   */
  public String weightsId() {
    if (checkpoint != null) {
      return "dit="
          + checkpoint.variant()
          + "@"
          + checkpoint.fingerprint()
          + ";vae=vae@"
          + checkpoint.vaeFingerprint();
    }
    String d = ditWeights.id();
    String v = vaeWeights.id();
    if (d.equals(WeightSet.RANDOM_INIT) && v.equals(WeightSet.RANDOM_INIT)) {
      return WeightSet.RANDOM_INIT;
    }
    return "dit=" + d + ";vae=" + v;
  }

  public Backend backend() {
    return backend;
  }

  /** The vision encoder's id (for manifests), when one is configured. */
  public Optional<String> visionEncoderId() {
    return vision == null ? Optional.empty() : Optional.of(vision.id());
  }

  public DitConfig ditConfig() {
    return ditConfig;
  }

  /** The checkpoint folder, variant and fingerprints, when built from a folder. */
  public Optional<Checkpoint> checkpoint() {
    return Optional.ofNullable(checkpoint);
  }

  /** The official sampler settings of the loaded variant (empty without a folder variant). */
  public Optional<SamplerDefaults> samplerDefaults() {
    return checkpoint == null
        ? Optional.empty()
        : Optional.of(SamplerDefaults.forVariant(checkpoint.variant()));
  }

  /** Seeded standard-normal noise, identical on every backend. */
  static float[] noise(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i += 2) {
      double u1 = Math.max(r.nextDouble(), 1e-300);
      double u2 = r.nextDouble();
      double rad = Math.sqrt(-2 * Math.log(u1));
      v[i] = (float) (rad * Math.cos(2 * Math.PI * u2));
      if (i + 1 < n) {
        v[i + 1] = (float) (rad * Math.sin(2 * Math.PI * u2));
      }
    }
    return v;
  }

  /**
   * Runs one generation.
   *
   * @param spec what to generate
   * @param listener called after every denoising step ({@link StepListener#DENOISE}); throwing
   *     stops the run with {@link GenerationCancelledException}
   * @return latents, decoded frames and provenance (model, weights, backend)
   */
  public synchronized GenerationResult generate(GenerationSpec spec, StepListener listener) {
    Objects.requireNonNull(spec, "spec");
    StepListener cb = listener == null ? StepListener.none() : listener;
    int c = ditConfig.latentChannels();
    if (ditConfig.inChannels() != 2 * c + 1) {
      throw new IllegalStateException(
          modelId()
              + " takes "
              + ditConfig.inChannels()
              + " input channels: it is not a base (latents + condition + mask) model; an SR"
              + " transformer runs in the latent-sr stage");
    }
    boolean i2v = spec.firstFrame() != null;
    String task = ditConfig.idealTask();
    if (task != null && !task.equals(i2v ? "i2v" : "t2v")) {
      // as the official pipeline: a model trained for one task refuses the other
      throw new IllegalArgumentException(
          modelId()
              + " is trained for "
              + task
              + " but the render is "
              + (i2v ? "image-to-video" : "text-to-video")
              + "; use the matching variant");
    }
    // the reference image at the render size, as the official pipeline feeds both SigLIP and the
    // VAE
    GenerationSpec.Image firstFrame =
        i2v ? ReferenceImages.fit(spec.firstFrame(), spec.width(), spec.height()) : null;
    float[] visionStates = null;
    if (i2v && ditConfig.visionDim() > 0) {
      if (vision == null) {
        throw new IllegalStateException(
            modelId()
                + " conditions image-to-video on SigLIP vision states (vision_projection):"
                + " configure a vision encoder");
      }
      if (vision.dim() != ditConfig.visionDim()) {
        throw new IllegalStateException(
            "vision encoder "
                + vision.id()
                + " gives "
                + vision.dim()
                + "-d states, the model takes "
                + ditConfig.visionDim());
      }
      visionStates = vision.encode(firstFrame);
    }
    int t = vaeConfig.latentFrames(spec.frames());
    int h = spec.height() / vaeConfig.spatialFactor();
    int w = spec.width() / vaeConfig.spatialFactor();
    int plane = t * h * w;
    boolean cfg = spec.guidance() > 1.0;
    List<DitCondition> samples = new ArrayList<>();
    if (cfg) {
      samples.add(condition(text.encodeNegative(spec.negativePrompt()), visionStates));
    }
    samples.add(condition(text.encode(spec.prompt()), visionStates));
    float[] sigmas = FlowMatchSchedule.sigmas(spec.steps(), spec.shift());
    float[] timesteps = FlowMatchSchedule.timesteps(sigmas);
    float[] timestepR = FlowMatchSchedule.meanFlowTimestepR(timesteps);
    long t0 = System.nanoTime();
    try (Tensor x = backend.fromArray(noise(spec.seed(), c * plane), c, t, h, w);
        Tensor input = backend.allocate(2L * c + 1, t, h, w)) {
      if (firstFrame != null) {
        conditionOnFirstFrame(firstFrame, input, c, t, h, w);
      }
      for (int i = 0; i < spec.steps(); i++) {
        backend.copy(x, 0, input, 0, (long) c * plane);
        DitTimestep step = DitTimestep.of(timesteps[i]);
        if (ditConfig.meanFlow()) {
          step = step.withTimestepR(timestepR[i]);
        }
        if (ditConfig.guidanceEmbed()) {
          step = step.withGuidance((float) (embeddedGuidance * 1000));
        }
        try (Tensor v = dit.forward(input, step, samples)) {
          Tensor vel = v.slice((long) (samples.size() - 1) * c * plane, c, t, h, w);
          if (cfg) {
            Tensor un = v.slice(0, c, t, h, w);
            float g = (float) spec.guidance();
            // uncond + g * (cond - uncond)
            backend.axpby(g, vel, 1f - g, un, vel);
          }
          backend.axpby(1f, x, sigmas[i + 1] - sigmas[i], vel, x);
        }
        try {
          cb.onStep(StepListener.DENOISE, i + 1, spec.steps());
        } catch (RuntimeException e) {
          throw new GenerationCancelledException(i + 1, e);
        }
      }
      double stepSeconds = (System.nanoTime() - t0) / 1e9;
      float[] latents = backend.toArray(x);
      long t1 = System.nanoTime();
      List<int[]> frames;
      try (Tensor pixels = vae.decodeLatents(x, vaeTiling)) {
        frames =
            toFrames(backend.toArray(pixels), (int) pixels.dim(1), spec.height(), spec.width());
      }
      double decodeSeconds = (System.nanoTime() - t1) / 1e9;
      return new GenerationResult(
          new long[] {c, t, h, w},
          latents,
          frames,
          spec.width(),
          spec.height(),
          modelId(),
          weightsId(),
          backend.name(),
          backend.device(),
          attention.toString(),
          text.id(),
          stepSeconds,
          decodeSeconds);
    }
  }

  private DitCondition condition(TextFeatures tf, float[] visionStates) {
    return visionStates == null
        ? DitCondition.t2v(tf)
        : DitCondition.i2v(tf, visionStates, vision.tokens());
  }

  /** I2V: cond[:, 0] = VAE(image) * scaling, mask[0, 0] = 1 (T2V leaves both zero). */
  private void conditionOnFirstFrame(
      GenerationSpec.Image img, Tensor input, int c, int t, int h, int w) {
    try (Tensor image =
            backend.fromArray(ReferenceImages.pixels(img), 3, 1, img.height(), img.width());
        Tensor lat = vae.encodeLatents(image)) {
      long plane = (long) t * h * w;
      long frame = (long) h * w;
      for (int ch = 0; ch < c; ch++) {
        backend.copy(lat, ch * frame, input, (c + ch) * plane, frame);
      }
      float[] ones = new float[(int) frame];
      java.util.Arrays.fill(ones, 1f);
      backend.write(input, 2L * c * plane, ones, 0, ones.length);
    }
  }

  private static List<int[]> toFrames(float[] px, int frames, int height, int width) {
    List<int[]> out = new ArrayList<>(frames);
    int plane = height * width;
    for (int f = 0; f < frames; f++) {
      int[] argb = new int[plane];
      for (int i = 0; i < plane; i++) {
        int r = toByte(px[(0 * frames + f) * plane + i]);
        int g = toByte(px[(1 * frames + f) * plane + i]);
        int b = toByte(px[(2 * frames + f) * plane + i]);
        argb[i] = 0xff000000 | (r << 16) | (g << 8) | b;
      }
      out.add(argb);
    }
    return out;
  }

  private static int toByte(float v) {
    float c = Math.max(-1f, Math.min(1f, v));
    return Math.round((c + 1f) * 127.5f);
  }

  @Override
  public void close() {
    dit.close();
    ditWeights.close();
    vaeWeights.close();
    closeText();
    if (ownsBackend) {
      backend.close();
    }
  }

  /**
   * Options: {@code model} (tiny | 480p | 720p, default tiny) or {@code modelFolder} (a checkpoint
   * folder and variant: config, weights and VAE from the folder), {@code attention} (default: the
   * config's, dense for the presets; {@link AttentionConfig#ssta()} for SSTA), {@code
   * visionEncoder} (needed for image-to-video with a vision projection), {@code embeddedGuidance}
   * (only for guidance-embedded configs), {@code backend} (default a new {@link CpuBackend} with
   * {@code threads}, default all processors), {@code ditCheckpoint}/{@code vaeCheckpoint}
   * (safetensors files; default none = seeded random weights with {@code weightSeed}, default 0),
   * {@code keepHalfWeights} (keep bf16/fp16 linear weights 16-bit, default true), {@code
   * offloadBlocks} (stream blocks from host memory, default false), {@code vaeTiling} (the official
   * spatial VAE tiling, default 256 px tiles overlapping 0.125, the official choice above 21 GiB),
   * {@code textEncoder}.
   */
  public static final class Builder {
    private Backend backend;
    private int threads = Runtime.getRuntime().availableProcessors();
    private DitConfig ditConfig = DitConfig.tiny();
    private VaeConfig vaeConfig;
    private AttentionConfig attention;
    private ModelFolder folder;
    private String variant;
    private VisionEncoder vision;
    private double embeddedGuidance = Double.NaN;
    private TextEncoder textEncoder;
    private List<Path> ditCheckpoint = List.of();
    private List<Path> vaeCheckpoint = List.of();
    private long weightSeed = 0;
    private boolean keepHalf = true;
    private boolean offloadBlocks;
    private VaeTiling vaeTiling = VaeTiling.forDeviceMemory(Long.MAX_VALUE);

    public Builder model(String name) {
      this.ditConfig = DitConfig.named(name);
      return this;
    }

    public Builder model(DitConfig c) {
      this.ditConfig = Objects.requireNonNull(c);
      return this;
    }

    /**
     * The transformer variant {@code transformer/<variant>/} of a checkpoint folder (its config and
     * weights, loaded strictly) and the folder's {@code vae/}; replaces {@code model}, {@code
     * ditCheckpoint} and {@code vaeCheckpoint}.
     */
    public Builder modelFolder(ModelFolder f, String variantName) {
      this.folder = Objects.requireNonNull(f);
      this.variant = Objects.requireNonNull(variantName);
      return this;
    }

    /** The SigLIP-style encoder of image-to-video reference images. */
    public Builder visionEncoder(VisionEncoder v) {
      this.vision = v;
      return this;
    }

    /** Embedded guidance scale of a guidance-embedded config (fed as scale * 1000). */
    public Builder embeddedGuidance(double g) {
      this.embeddedGuidance = g;
      return this;
    }

    public Builder vae(VaeConfig c) {
      this.vaeConfig = c;
      return this;
    }

    public Builder attention(AttentionConfig a) {
      this.attention = Objects.requireNonNull(a);
      return this;
    }

    public Builder backend(Backend b) {
      this.backend = b;
      return this;
    }

    public Builder threads(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("threads must be >= 1");
      }
      this.threads = n;
      return this;
    }

    public Builder textEncoder(TextEncoder t) {
      this.textEncoder = t;
      return this;
    }

    public Builder ditCheckpoint(List<Path> files) {
      this.ditCheckpoint = List.copyOf(files);
      return this;
    }

    public Builder vaeCheckpoint(List<Path> files) {
      this.vaeCheckpoint = List.copyOf(files);
      return this;
    }

    public Builder weightSeed(long s) {
      this.weightSeed = s;
      return this;
    }

    public Builder keepHalfWeights(boolean k) {
      this.keepHalf = k;
      return this;
    }

    /**
     * Streams transformer blocks from host memory one block ahead instead of keeping every block on
     * the device (for GPUs smaller than the model; torch backends only). Default false.
     */
    public Builder offloadBlocks(boolean offload) {
      this.offloadBlocks = offload;
      return this;
    }

    public Builder vaeTiling(VaeTiling tiling) {
      this.vaeTiling = Objects.requireNonNull(tiling);
      return this;
    }

    /** Loads or initialises the weights; fails with WeightLoadException on a bad checkpoint. */
    public NativeVideoEngine build() {
      return new NativeVideoEngine(this);
    }
  }
}
