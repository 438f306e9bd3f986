package dev.reelflow.upscale;

import dev.reelflow.engine.GenerationCancelledException;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.Backends;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.dit.DitCondition;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.sr.LatentUpsampler;
import dev.reelflow.engine.sr.SrBuckets;
import dev.reelflow.engine.sr.SrCheckpoint;
import dev.reelflow.engine.sr.SrMemory;
import dev.reelflow.engine.sr.SrStage;
import dev.reelflow.engine.sr.SrTo1080pUpsampler;
import dev.reelflow.engine.sr.SrTo720pUpsampler;
import dev.reelflow.engine.sr.SrTransformer;
import dev.reelflow.engine.sr.SrVariant;
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
import java.util.function.BooleanSupplier;

/**
 * The official HunyuanVideo-1.5 SR stage ({@link SrStage}) for the upscale pool: from the released
 * checkpoint folder when one is configured (transformer/, upsampler/ and vae/ of the variant, read
 * strictly), else with seeded random weights of the same structure, labelled {@code random-init}
 * everywhere. The SR grid (e.g. 1904x1072) is resized to the delivered size (e.g. 1920x1080) with
 * the pool's bicubic {@link Resampler}.
 *
 * <p>The variant follows the base size as the official pipeline routes it: a base on a 720p bucket
 * goes to 1080p_sr_distilled, one on a 480p bucket to 720p_sr_distilled, anything else (e.g.
 * previews) to the configured default. The SR transformer sees the render's prompt through the
 * engine's text encoder (the byte-level stand-in until the real encoders are wired); an
 * image-to-video render's first frame conditions it as in the official SR pipeline (see {@link
 * #upscale}).
 */
final class LatentSrUpscaler implements AutoCloseable {
  static final int LATENT = 32;

  /** Called after each denoising step with (step, total); may throw to stop. */
  interface Steps {
    void step(int done, int total);
  }

  /** The result: RGB24 frames of the delivered size and what the stage did. */
  record Output(
      int width,
      int height,
      List<byte[]> frames,
      SrVariant variant,
      SrStage.Grid grid,
      int steps,
      String condition) {}

  /** The parts of one variant: loaded from the folder or random. */
  private record Parts(
      HunyuanDit dit,
      LatentUpsampler upsampler,
      CausalVae vae,
      ByteTextEncoder text,
      String weightsId,
      List<AutoCloseable> resources) {}

  /**
   * Settings.
   *
   * @param modelDir the released checkpoint folder, or null for random-init
   * @param variant {@code auto} or a variant name
   * @param model random-init transformer size (tiny, 480p, 720p)
   * @param steps Euler steps, 0 for the variant's
   * @param shift flow shift, 0 for the variant's
   * @param hrBaseSize SR bucket base size, 0 for the variant's (1440 or 960)
   * @param weightSeed random-init seed
   * @param threads CPU threads
   * @param tiling the VAE decode's tiling
   * @param backend the worker slot's tensor backend
   */
  record Settings(
      Path modelDir,
      String variant,
      String model,
      int steps,
      double shift,
      int hrBaseSize,
      long weightSeed,
      int threads,
      VaeTiling tiling,
      BackendSpec backend) {}

  private final Settings settings;
  private final SrVariant fixed;
  private final Backend backend;
  private final Map<SrVariant, Parts> parts = new EnumMap<>(SrVariant.class);
  private SiglipVisionEncoder siglip;

  LatentSrUpscaler(Settings s) {
    this.settings = s;
    this.fixed = s.variant().equals("auto") ? null : SrVariant.named(s.variant());
    this.backend = Backends.open(s.backend(), s.threads());
    try {
      // a misconfigured folder fails the worker's start, not its first task
      parts(fixed != null ? fixed : SrVariant.SR_1080P);
    } catch (RuntimeException e) {
      backend.close();
      throw e;
    }
  }

  boolean randomInit() {
    return settings.modelDir() == null;
  }

  String modelId() {
    return "hunyuanvideo-1.5-sr "
        + (fixed == null ? "auto (720p_sr_distilled | 1080p_sr_distilled)" : fixed.folder())
        + (randomInit() ? " (random-init " + settings.model() + " shapes)" : "");
  }

  String weightsId() {
    return randomInit()
        ? WeightSet.RANDOM_INIT + " (seed " + settings.weightSeed() + ")"
        : "model-dir " + settings.modelDir().getFileName();
  }

  /** The weights of the parts used so far (after a run: what that run read). */
  String weightsId(SrVariant v) {
    return parts(v).weightsId();
  }

  /** The variant for a base of this pixel size. */
  SrVariant variantFor(int width, int height) {
    if (fixed != null) {
      return fixed;
    }
    if (SrBuckets.isBucket(width, height, SrVariant.SR_1080P.lrBaseSize())) {
      return SrVariant.SR_1080P;
    }
    if (SrBuckets.isBucket(width, height, SrVariant.SR_720P.lrBaseSize())) {
      return SrVariant.SR_720P;
    }
    return SrVariant.SR_1080P;
  }

  private ModelFolder folder;

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
   * An estimate of the memory the SR stage needs for base latents of T x h x w ({@link SrMemory}:
   * weights as this engine keeps them, float32 activations).
   */
  long estimateBytes(int t, int h, int w) {
    SrVariant v = variantFor(w * SrBuckets.PATCH, h * SrBuckets.PATCH);
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
   * Encodes RGB24 frames (F = 4k+1, sides multiples of 16) to scaled latents [32, T, h, w] with the
   * VAE of the variant this size routes to.
   */
  float[] encode(List<byte[]> frames, int width, int height, int[] shapeOut) {
    Parts p = parts(variantFor(width, height));
    int f = frames.size();
    int plane = width * height;
    float[] px = new float[3 * f * plane];
    for (int i = 0; i < f; i++) {
      byte[] rgb = frames.get(i);
      for (int q = 0; q < plane; q++) {
        for (int c = 0; c < 3; c++) {
          px[(c * f + i) * plane + q] = (rgb[q * 3 + c] & 0xff) / 127.5f - 1f;
        }
      }
    }
    try (Tensor x = backend.fromArray(px, 3, f, height, width);
        Tensor lat = p.vae().encodeLatents(x)) {
      for (int i = 0; i < 4; i++) {
        shapeOut[i] = (int) lat.dim(i);
      }
      return backend.toArray(lat);
    }
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
   * The SR stage on base latents [32, t, h, w]; {@code reference} (an image-to-video render's first
   * frame, any size, or null) conditions it as the official SR pipeline does: the image fitted to
   * the SR grid's pixel size, its VAE latents in frame 0 of the condition, and, where the SR
   * transformer has a vision projection, its SigLIP states.
   */
  Output upscale(
      float[] latents,
      int t,
      int h,
      int w,
      String prompt,
      GenerationSpec.Image reference,
      int targetWidth,
      int targetHeight,
      long seed,
      BooleanSupplier cancelled,
      Steps listener) {
    SrVariant v = variantFor(w * SrBuckets.PATCH, h * SrBuckets.PATCH);
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
    try (Tensor base = backend.fromArray(latents, LATENT, t, h, w);
        Tensor image = imageLatents;
        Tensor lat =
            stage.denoise(
                new SrStage.Request(base, seed, image, null, null),
                (phase, done, total) -> {
                  if (cancelled.getAsBoolean()) {
                    throw new UpscaleCancelledException("cancelled between SR denoising steps");
                  }
                  listener.step(done, total);
                });
        Tensor pixels = stage.decode(lat)) {
      int frames = (int) pixels.dim(1);
      int ph = (int) pixels.dim(2);
      int pw = (int) pixels.dim(3);
      float[] px = backend.toArray(pixels);
      List<byte[]> out = new ArrayList<>(frames);
      int pl = ph * pw;
      for (int f = 0; f < frames; f++) {
        if (cancelled.getAsBoolean()) {
          throw new UpscaleCancelledException("cancelled while resizing the SR frames");
        }
        float[] rgb = new float[pl * 3];
        for (int q = 0; q < pl; q++) {
          for (int ch = 0; ch < 3; ch++) {
            // the official output transform, (x / 2 + 0.5) clamped to [0, 1], on 0..255
            float val = px[(ch * frames + f) * pl + q] / 2f + 0.5f;
            rgb[q * 3 + ch] = 255f * Math.max(0f, Math.min(1f, val));
          }
        }
        RgbFrame sr = new RgbFrame(pw, ph, rgb);
        out.add(Resampler.resize(sr, targetWidth, targetHeight).toRgb24());
      }
      return new Output(targetWidth, targetHeight, out, v, grid, stage.steps(), condition);
    } catch (GenerationCancelledException e) {
      if (e.getCause() instanceof UpscaleCancelledException u) {
        throw u;
      }
      throw new UpscaleCancelledException(e.getMessage());
    }
  }

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
    backend.close();
  }
}
