package dev.reelflow.upscale;

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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Engine {@code latent-sr}: the reference model's VSR path (latent upsampler + few-step SR DiT +
 * VAE decode) on the native engine, with seeded random weights, labelled {@code random-init} in
 * every description and manifest. Options (prefix {@code engine.latent-sr.}): {@code model} (tiny,
 * 480p, 720p; default tiny), {@code steps} (default 6), {@code shift} (default 2), {@code
 * weightSeed} (default 1234), {@code threads} (default: available processors).
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
    LatentSrUpscaler sr =
        new LatentSrUpscaler(
            settings.option("model").orElse("tiny"),
            (int) settings.longOption("steps", 6),
            settings.doubleOption("shift", 2.0),
            settings.longOption("weightSeed", 1234),
            (int) settings.longOption("threads", Runtime.getRuntime().availableProcessors()));
    EngineDescription d =
        new EngineDescription(
            name(), false, "cpu", settings.device(), sr.modelId(), sr.weightsId());
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
      }
      Map<String, String> facts = new LinkedHashMap<>();
      facts.put("upscaleEngine", "latent-sr");
      facts.put("upscaleWeights", sr.weightsId());
      facts.put("srInput", source);
      facts.put("srLatentGrid", shape[1] + "x" + out.latentHeight() + "x" + out.latentWidth());
      facts.put("srSteps", Integer.toString(sr.steps()));
      facts.put("upscaleTo", out.width() + "x" + out.height());
      return new UpscaleResult(VideoFrames.of(out.width(), out.height(), out.frames()), facts);
    }

    @Override
    public void close() {
      sr.close();
    }
  }
}
