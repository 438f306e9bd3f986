package dev.reelflow.upscale;

import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.sr.SrStage;
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
 * <p>Options (prefix {@code engine.latent-sr.}): {@code model-dir} (the released checkpoint folder,
 * also the worker key {@code model-dir}; default none = random-init), {@code variant} ({@code
 * auto}: by the base size as the official pipeline routes it, or {@code 720p_sr_distilled} / {@code
 * 1080p_sr_distilled}), {@code model} (random-init transformer shape: tiny, 480p, 720p; default
 * tiny), {@code steps} and {@code shift} (default: the variant's, 8 or 6 steps, shift 2), {@code
 * hr-base-size} (SR bucket base; default the variant's 1440 or 960, smaller for drafts), {@code
 * vae-tile} and {@code vae-tile-overlap} (VAE tiling; default the official choice for the device
 * memory: 256 px overlapping 0.125 above 21 GiB, else 128 px overlapping 0.25), {@code weightSeed}
 * (default 1234), {@code threads} (default: available processors).
 */
public final class LatentSrEngineFactory implements EngineFactory {

  @Override
  public String name() {
    return "latent-sr";
  }

  @Override
  public boolean providesUpscale() {
    return true;
  }

  @Override
  public UpscaleEngine createUpscale(EngineSettings settings) {
    VaeTiling tiling =
        settings.option("vae-tile").isPresent()
            ? new VaeTiling(
                (int) settings.longOption("vae-tile", 0),
                settings.doubleOption("vae-tile-overlap", 0.25))
            : VaeTiling.forDeviceMemory(settings.deviceMemoryBytes());
    LatentSrUpscaler sr =
        new LatentSrUpscaler(
            new LatentSrUpscaler.Settings(
                settings.option("model-dir").filter(d -> !d.isBlank()).map(Path::of).orElse(null),
                settings.option("variant").orElse("auto"),
                settings.option("model").orElse("tiny"),
                (int) settings.longOption("steps", 0),
                settings.doubleOption("shift", 0),
                (int) settings.longOption("hr-base-size", 0),
                settings.longOption("weightSeed", 1234),
                (int) settings.longOption("threads", Runtime.getRuntime().availableProcessors()),
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
