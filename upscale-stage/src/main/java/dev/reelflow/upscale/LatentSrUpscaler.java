package dev.reelflow.upscale;

import dev.reelflow.engine.GenerationCancelledException;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.Backends;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.sr.SrBuckets;
import dev.reelflow.engine.sr.SrPipeline;
import dev.reelflow.engine.sr.SrStage;
import dev.reelflow.engine.sr.SrVariant;
import dev.reelflow.engine.vae.VaeTiling;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The official HunyuanVideo-1.5 SR stage (the engine's {@link SrPipeline}) for the upscale pool:
 * from the released checkpoint folder when one is configured (transformer/, upsampler/ and vae/ of
 * the variant, read strictly), else with seeded random weights of the same structure, labelled
 * {@code random-init} everywhere. The SR grid (e.g. 1904x1072) is resized to the delivered size
 * (e.g. 1920x1080) with the pool's bicubic {@link Resampler}.
 *
 * <p>The variant follows the base size as the official pipeline routes it: a base on a 720p bucket
 * goes to 1080p_sr_distilled, one on a 480p bucket to 720p_sr_distilled, anything else (e.g.
 * previews) to the configured default. The SR transformer sees the render's prompt through the
 * engine's text encoder (the byte-level stand-in until the real encoders are wired); an
 * image-to-video render's first frame conditions it as in the official SR pipeline (see {@link
 * #upscale}).
 */
final class LatentSrUpscaler implements AutoCloseable {
  static final int LATENT = SrPipeline.LATENT;

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
  private final SrPipeline pipeline;

  LatentSrUpscaler(Settings s) {
    this.settings = s;
    this.fixed = s.variant().equals("auto") ? null : SrVariant.named(s.variant());
    this.backend = Backends.open(s.backend(), s.threads());
    this.pipeline =
        new SrPipeline(
            new SrPipeline.Options(
                s.modelDir(),
                s.model(),
                s.steps(),
                s.shift(),
                s.hrBaseSize(),
                s.weightSeed(),
                s.tiling()),
            backend);
    try {
      // a misconfigured folder fails the worker's start, not its first task
      pipeline.load(fixed != null ? fixed : SrVariant.SR_1080P);
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
    return pipeline.weightsId();
  }

  /** The weights of the parts used so far (after a run: what that run read). */
  String weightsId(SrVariant v) {
    return pipeline.weightsId(v);
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

  /**
   * An estimate of the memory the SR stage needs for base latents of T x h x w ({@link SrMemory}:
   * weights as this engine keeps them, float32 activations).
   */
  long estimateBytes(int t, int h, int w) {
    return pipeline.estimateBytes(variantFor(w * SrBuckets.PATCH, h * SrBuckets.PATCH), t, h, w);
  }

  /**
   * Encodes RGB24 frames (F = 4k+1, sides multiples of 16) to scaled latents [32, T, h, w] with the
   * VAE of the variant this size routes to.
   */
  float[] encode(List<byte[]> frames, int width, int height, int[] shapeOut) {
    SrVariant v = variantFor(width, height);
    pipeline.load(v);
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
        Tensor lat = pipeline.encodeLatents(v, x)) {
      for (int i = 0; i < 4; i++) {
        shapeOut[i] = (int) lat.dim(i);
      }
      return backend.toArray(lat);
    }
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
    SrPipeline.Run run = pipeline.prepare(v, prompt, reference, t, h, w);
    SrStage stage = run.stage();
    SrStage.Grid grid = run.grid();
    Tensor imageLatents = run.imageLatents();
    String condition = run.condition();
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
    pipeline.close();
    backend.close();
  }
}
