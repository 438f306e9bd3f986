package dev.reelflow.engine.sr;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.dit.DitCondition;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.vision.ReferenceImages;
import dev.reelflow.engine.vision.SiglipVisionEncoder;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The SR stage's facade: the parts of each {@link SrVariant} (SR transformer, latent upsampler,
 * VAE, the byte-level text encoder), from the released checkpoint folder when one is given
 * (transformer/, upsampler/ and vae/ of the variant, read strictly), else seeded random weights of
 * the same structure, labelled {@code random-init}; and the {@link SrStage} of one run, conditioned
 * on the prompt and, for an image-to-video render, on its reference image as the official SR
 * pipeline does. A variant's parts load on first use and stay loaded; the caller owns the backend.
 */
@EngineApi
public final class SrPipeline implements AutoCloseable {
  /** Latent channels of the SR variants. */
  public static final int LATENT = 32;

  /**
   * Settings.
   *
   * @param modelDir the released checkpoint folder, or null for random-init
   * @param model random-init transformer size (tiny, 480p, 720p)
   * @param steps Euler steps, 0 for the variant's
   * @param shift flow shift, 0 for the variant's
   * @param hrBaseSize SR bucket base size, 0 for the variant's (1440 or 960)
   * @param weightSeed random-init seed
   * @param tiling the VAE decode's tiling
   */
  public record Options(
      Path modelDir,
      String model,
      int steps,
      double shift,
      int hrBaseSize,
      long weightSeed,
      VaeTiling tiling) {}

  /**
   * One run's stage, ready to denoise.
   *
   * @param stage the SR stage, conditioned on the prompt (and the reference image's SigLIP states)
   * @param grid where it works
   * @param imageLatents the reference image's latents on the SR grid, or null (the caller closes
   *     them)
   * @param condition how the run is conditioned, for descriptions
   */
  public record Run(SrStage stage, SrStage.Grid grid, Tensor imageLatents, String condition) {}

  /** The parts of one variant: loaded from the folder or random. */
  private record Parts(
      HunyuanDit dit,
      LatentUpsampler upsampler,
      CausalVae vae,
      ByteTextEncoder text,
      String weightsId,
      List<AutoCloseable> resources) {}

  private final Options settings;
  private final Backend backend;
  private final Map<SrVariant, Parts> parts = new EnumMap<>(SrVariant.class);
  private SiglipVisionEncoder siglip;
  private ModelFolder folder;

  public SrPipeline(Options settings, Backend backend) {
    this.settings = settings;
    this.backend = backend;
  }

  public boolean randomInit() {
    return settings.modelDir() == null;
  }

  /** The weights this pipeline reads: the folder's name, or random-init with its seed. */
  public String weightsId() {
    return randomInit()
        ? WeightSet.RANDOM_INIT + " (seed " + settings.weightSeed() + ")"
        : "model-dir " + settings.modelDir().getFileName();
  }

  /** The weights of the variant's parts (loading them if needed). */
  public String weightsId(SrVariant v) {
    return parts(v).weightsId();
  }

  /** Loads the variant's parts now (a misconfigured folder fails here, not at the first run). */
  public void load(SrVariant v) {
    parts(v);
  }

  private synchronized ModelFolder folder() {
    if (folder == null) {
      folder = ModelFolder.open(settings.modelDir());
    }
    return folder;
  }

  private synchronized Parts parts(SrVariant v) {
    return parts.computeIfAbsent(v, this::open);
  }

  private Parts open(SrVariant v) {
    if (!randomInit()) {
      SrCheckpoint ck =
          SrCheckpoint.load(folder(), v, backend, new SrCheckpoint.Options().withEncoder(true));
      DitConfig dc = ck.ditConfig();
      return new Parts(
          ck.transformer(),
          ck.upsampler(),
          ck.vae(),
          new ByteTextEncoder(dc.textDim(), dc.glyphDim(), 256),
          ck.id(),
          List.of(ck));
    }
    long seed = settings.weightSeed();
    DitConfig dc =
        DitConfig.named(settings.model()).toBuilder()
            .name(settings.model() + "-sr")
            .inChannels(LATENT + 2 * LATENT + 2)
            .idealResolution(v.resolution())
            .build();
    VaeConfig vc = settings.model().equals("tiny") ? VaeConfig.tiny() : VaeConfig.reference();
    List<AutoCloseable> res = new ArrayList<>();
    WeightSet dw = WeightSet.random(HunyuanDit.params(dc), backend, seed);
    res.add(dw);
    WeightSet vw = WeightSet.random(CausalVae.params(vc), backend, seed + 1);
    res.add(vw);
    LatentUpsampler up;
    if (v == SrVariant.SR_720P) {
      // the official class defaults: hidden 64, 6 blocks
      SrTo720pUpsampler.Config c = new SrTo720pUpsampler.Config(LATENT, LATENT, 64, 6, false);
      WeightSet uw = WeightSet.random(SrTo720pUpsampler.params(c), backend, seed + 2);
      res.add(uw);
      up = new SrTo720pUpsampler(c, uw, backend);
    } else {
      SrTo1080pUpsampler.Config c =
          new SrTo1080pUpsampler.Config(LATENT, LATENT, new int[] {64, 64}, 1, false);
      WeightSet uw = WeightSet.random(SrTo1080pUpsampler.params(c), backend, seed + 2);
      res.add(uw);
      up = new SrTo1080pUpsampler(c, uw, backend);
    }
    return new Parts(
        new HunyuanDit(dc, dw, backend, AttentionConfig.dense()),
        up,
        new CausalVae(vc, vw, backend),
        new ByteTextEncoder(dc.textDim(), dc.glyphDim(), 256),
        weightsId(),
        res);
  }

  /**
   * An estimate of the memory the variant's SR stage needs for base latents of T x h x w ({@link
   * SrMemory}: weights as this engine keeps them, float32 activations).
   */
  public long estimateBytes(SrVariant v, int t, int h, int w) {
    Parts p = parts(v);
    SrStage stage = stage(v, p, "");
    return SrMemory.estimate(
            p.dit().config(),
            p.upsampler().params(),
            p.vae().config(),
            settings.tiling(),
            stage.grid(t, h, w),
            randomInit() ? SrMemory.Weights.F32 : SrMemory.Weights.LINEAR_16,
            4)
        .peakBytes();
  }

  private SrStage stage(SrVariant v, Parts p, String prompt) {
    return stage(v, p, DitCondition.t2v(p.text().encode(prompt)));
  }

  private SrStage stage(SrVariant v, Parts p, DitCondition condition) {
    SrStage.Builder b =
        SrStage.builder()
            .backend(backend)
            .variant(v)
            .upsampler(p.upsampler())
            .vae(p.vae())
            .velocity(new SrTransformer(p.dit(), condition, backend))
            .tiling(settings.tiling());
    if (settings.steps() > 0) {
      b.steps(settings.steps());
    }
    if (settings.shift() > 0) {
      b.shift(settings.shift());
    }
    if (settings.hrBaseSize() > 0) {
      b.bucketBases(v.lrBaseSize(), settings.hrBaseSize());
    }
    return b.build();
  }

  /**
   * Encodes pixels [3, F, H, W] in [-1, 1] to scaled latents [32, T, h, w] with the variant's VAE
   * (the caller closes them).
   */
  public Tensor encodeLatents(SrVariant v, Tensor pixels) {
    return parts(v).vae().encodeLatents(pixels);
  }

  /** The folder's SigLIP tower for image-to-video SR, loaded on first use. */
  private synchronized SiglipVisionEncoder siglip() {
    if (siglip == null) {
      if (randomInit()) {
        throw new IllegalStateException(
            "a random-init SR transformer with a vision projection has no SigLIP tower to use");
      }
      if (!folder().has("vision_encoder/siglip/" + SiglipVisionEncoder.IMAGE_ENCODER)) {
        throw new IllegalStateException(
            folder().dir()
                + " has no vision_encoder/siglip/"
                + SiglipVisionEncoder.IMAGE_ENCODER
                + ": the image-to-video SR stage conditions on SigLIP states; download"
                + " FLUX.1-Redux-dev into vision_encoder/siglip");
      }
      siglip = SiglipVisionEncoder.open(folder(), backend, true);
    }
    return siglip;
  }

  /**
   * The SR stage of one run on base latents [32, t, h, w]; {@code reference} (an image-to-video
   * render's first frame, any size, or null) conditions it as the official SR pipeline does: the
   * image fitted to the SR grid's pixel size, its VAE latents in frame 0 of the condition, and,
   * where the SR transformer has a vision projection, its SigLIP states.
   */
  public Run prepare(
      SrVariant v, String prompt, GenerationSpec.Image reference, int t, int h, int w) {
    Parts p = parts(v);
    SrStage stage = stage(v, p, prompt);
    SrStage.Grid grid = stage.grid(t, h, w);
    Tensor imageLatents = null;
    String condition = "t2v";
    if (reference != null) {
      GenerationSpec.Image fitted = ReferenceImages.fit(reference, grid.width(), grid.height());
      TextFeatures text = p.text().encode(prompt);
      condition = "i2v (reference image latents at " + grid.width() + "x" + grid.height();
      if (p.dit().config().visionDim() > 0) {
        SiglipVisionEncoder s = siglip();
        stage = stage(v, p, DitCondition.i2v(text, s.encode(fitted), s.tokens()));
        condition += ", SigLIP states " + s.id() + ")";
      } else {
        condition += "; the transformer has no vision projection)";
      }
      try (Tensor px =
          backend.fromArray(ReferenceImages.pixels(fitted), 3, 1, grid.height(), grid.width())) {
        imageLatents = p.vae().encodeLatents(px);
      }
    }
    return new Run(stage, grid, imageLatents, condition);
  }

  /** Closes the loaded parts (not the backend). */
  @Override
  public void close() {
    for (Parts p : parts.values()) {
      for (AutoCloseable c : p.resources()) {
        try {
          c.close();
        } catch (Exception e) {
          // weights are native memory; closing cannot meaningfully fail
        }
      }
    }
    if (siglip != null) {
      siglip.close();
    }
  }
}
