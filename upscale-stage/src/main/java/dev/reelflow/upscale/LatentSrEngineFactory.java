package dev.reelflow.upscale;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Setting;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.sr.SrStage;
import dev.reelflow.engine.sr.SrVariant;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.TaskCancelledException;
import dev.reelflow.worker.spi.UpscaleEngine;
import dev.reelflow.worker.spi.UpscaleJob;
import dev.reelflow.worker.spi.UpscaleResult;
import dev.reelflow.worker.spi.VideoFrames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Engine {@code latent-sr}: the official HunyuanVideo-1.5 SR stage (latent upsampler, few-step SR
 * transformer, tiled VAE decode; see {@link dev.reelflow.engine.sr.SrStage}) on the native engine.
 * With {@code model-dir} (or the worker key {@code model-dir}) it reads the released checkpoint
 * folder (transformer/, upsampler/ and vae/ of the SR variant, strictly); without one its weights
 * are seeded random, labelled {@code random-init} in every description and manifest.
 *
 * <p>Options: {@link #OPTIONS}.
 */
public final class LatentSrEngineFactory implements EngineFactory {

  static final Setting<String> MODEL_DIR =
      Setting.string("model-dir")
          .doc(
              "The released HunyuanVideo-1.5 checkpoint folder; default the worker's model-dir,"
                  + " else none: seeded random-init weights.")
          .build();
  static final Setting<String> VARIANT =
      Setting.string("variant")
          .defaultValue("auto")
          .check(
              v -> v.equals("auto") || isVariant(v),
              "auto, 720p_sr_distilled or 1080p_sr_distilled")
          .doc("SR variant: auto picks it by the base size as the official pipeline routes it.")
          .build();
  static final Setting<String> MODEL =
      Setting.choice("model", "tiny", "480p", "720p")
          .defaultValue("tiny")
          .doc("Without model-dir: the random-init transformer's shape.")
          .build();
  static final Setting<Integer> STEPS =
      Setting.integer("steps")
          .defaultValue("0")
          .check(n -> n >= 0, ">= 0")
          .doc("SR denoising steps; 0: the variant's (8 or 6).")
          .build();
  static final Setting<Double> SHIFT =
      Setting.decimal("shift")
          .defaultValue("0")
          .check(v -> v >= 0, ">= 0")
          .doc("Flow shift; 0: the variant's (2).")
          .build();
  static final Setting<Integer> HR_BASE_SIZE =
      Setting.integer("hr-base-size")
          .defaultValue("0")
          .check(n -> n >= 0, ">= 0")
          .doc("SR bucket base size; 0: the variant's (1440 or 960), smaller for drafts.")
          .build();
  static final Setting<Integer> VAE_TILE =
      Setting.integer("vae-tile")
          .check(n -> n > 0, "> 0")
          .doc(
              "VAE decode tile side in pixels; default the official choice for the device"
                  + " memory: 256 px overlapping 0.125 above 21 GiB, else 128 px overlapping 0.25.")
          .build();
  static final Setting<Double> VAE_TILE_OVERLAP =
      Setting.decimal("vae-tile-overlap")
          .defaultValue("0.25")
          .check(v -> v >= 0 && v < 1, "in [0, 1)")
          .doc("Overlap of the VAE tiles, a fraction of a tile; with vae-tile only.")
          .build();
  static final Setting<Long> WEIGHT_SEED =
      Setting.longInteger("weight-seed")
          .defaultValue("1234")
          .doc("Seed of the random-init weights.")
          .oldName("weightSeed")
          .build();

  /** The options, {@code engine.latent-sr.*}. */
  static final ConfigSpec OPTIONS =
      ConfigSpec.builder("engine latent-sr")
          .add(
              MODEL_DIR,
              VARIANT,
              MODEL,
              STEPS,
              SHIFT,
              HR_BASE_SIZE,
              VAE_TILE,
              VAE_TILE_OVERLAP,
              WEIGHT_SEED,
              EngineSettings.THREADS)
          .build();

  @Override
  public String name() {
    return "latent-sr";
  }

  private static boolean isVariant(String name) {
    try {
      SrVariant.named(name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @Override
  public ConfigSpec optionSpec() {
    return OPTIONS;
  }

  @Override
  public boolean providesUpscale() {
    return true;
  }

  @Override
  public UpscaleEngine createUpscale(EngineSettings settings) {
    ConfigValues o = settings.options(OPTIONS);
    VaeTiling tiling =
        o.get(VAE_TILE) != null
            ? new VaeTiling(o.get(VAE_TILE), o.get(VAE_TILE_OVERLAP))
            : VaeTiling.forDeviceMemory(settings.deviceMemoryBytes());
    String modelDir = o.get(MODEL_DIR);
    LatentSrUpscaler sr =
        new LatentSrUpscaler(
            new LatentSrUpscaler.Settings(
                modelDir == null || modelDir.isBlank() ? null : Path.of(modelDir),
                o.get(VARIANT),
                o.get(MODEL),
                o.get(STEPS),
                o.get(SHIFT),
                o.get(HR_BASE_SIZE),
                o.get(WEIGHT_SEED),
                EngineSettings.threads(o),
                tiling,
                settings.backend()));
    EngineDescription d =
        new EngineDescription(
            name(),
            false,
            settings.backend().toString(),
            settings.device(),
            sr.modelId(),
            sr.weightsId());
    return new Engine(sr, d);
  }

  static final class Engine implements UpscaleEngine {
    private final LatentSrUpscaler sr;
    private final EngineDescription description;

    Engine(LatentSrUpscaler sr, EngineDescription description) {
      this.sr = sr;
      this.description = description;
    }

    @Override
    public EngineDescription describe() {
      return description;
    }

    /**
     * The SR stage's estimate ({@link dev.reelflow.engine.sr.SrPipeline#estimateBytes}) for the
     * job's base.
     */
    @Override
    public long estimateDeviceBytes(UpscaleJob job, boolean offloadWeights) {
      Latents l = job.baseLatents();
      if (l != null && l.shape().length == 4) {
        int[] s = l.shape();
        return sr.estimateBytes(s[1], s[2], s[3]);
      }
      VideoFrames f = job.baseFrames();
      return sr.estimateBytes((f.count() - 1) / 4 + 1, f.height() / 16, f.width() / 16);
    }

    @Override
    public UpscaleResult upscale(UpscaleJob job, EngineContext context)
        throws EngineException, InterruptedException {
      float[] lat;
      int[] shape;
      String source;
      Latents l = job.baseLatents();
      if (l != null) {
        shape = l.shape();
        if (shape.length != 4 || shape[0] != LatentSrUpscaler.LATENT) {
          throw EngineException.badParameters(
              "base latents of "
                  + job.taskId()
                  + " have shape "
                  + java.util.Arrays.toString(shape)
                  + ", expected [32, T, h, w]");
        }
        lat = l.data();
        source = "base latents";
      } else {
        VideoFrames f = job.baseFrames();
        if (f.width() % 16 != 0 || f.height() % 16 != 0 || (f.count() - 1) % 4 != 0) {
          throw EngineException.badParameters(
              "no base latents and the preview ("
                  + f.width()
                  + "x"
                  + f.height()
                  + ", "
                  + f.count()
                  + " frames) cannot be VAE-encoded: sides must be multiples of 16"
                  + " and frames 4k+1");
        }
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < f.count(); i++) {
          frames.add(f.rgb(i));
        }
        shape = new int[4];
        lat = sr.encode(frames, f.width(), f.height(), shape);
        source = "preview re-encoded by the VAE";
      }
      LatentSrUpscaler.Output out;
      try {
        out =
            sr.upscale(
                lat,
                shape[1],
                shape[2],
                shape[3],
                job.prompt(),
                job.referenceImage() == null
                    ? null
                    : new GenerationSpec.Image(
                        job.referenceImage().width(),
                        job.referenceImage().height(),
                        job.referenceImage().argb()),
                job.targetWidth(),
                job.targetHeight(),
                job.seed(),
                context::cancelRequested,
                (done, total) -> {
                  try {
                    context.step("sr-denoise", done, total);
                  } catch (TaskCancelledException e) {
                    throw new UpscaleCancelledException(e.getMessage());
                  }
                });
      } catch (UpscaleCancelledException e) {
        context.checkCancelled();
        throw new TaskCancelledException(ErrorCode.CANCELLED, e.getMessage());
      } catch (IllegalStateException e) {
        throw EngineException.engineError("latent-sr: " + e.getMessage(), e);
      }
      Map<String, String> facts = new LinkedHashMap<>();
      SrStage.Grid g = out.grid();
      facts.put("upscaleEngine", "latent-sr");
      facts.put("upscaleWeights", sr.weightsId(out.variant()));
      facts.put("srVariant", out.variant().folder());
      facts.put("srInput", source);
      facts.put("srGrid", g.width() + "x" + g.height());
      facts.put("srLatentGrid", g.frames() + "x" + g.latentHeight() + "x" + g.latentWidth());
      facts.put(
          "srBucket", g.officialBucket() ? "official" : "closest ratio (base off the buckets)");
      facts.put("srSteps", Integer.toString(out.steps()));
      facts.put("srCondition", out.condition());
      facts.put("upscaleTo", out.width() + "x" + out.height());
      return new UpscaleResult(VideoFrames.of(out.width(), out.height(), out.frames()), facts);
    }

    @Override
    public void close() {
      sr.close();
    }
  }
}
