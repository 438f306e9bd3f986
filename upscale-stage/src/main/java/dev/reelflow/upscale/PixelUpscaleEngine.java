package dev.reelflow.upscale;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.TaskCancelledException;
import dev.reelflow.worker.spi.UpscaleEngine;
import dev.reelflow.worker.spi.UpscaleJob;
import dev.reelflow.worker.spi.UpscaleResult;
import dev.reelflow.worker.spi.VideoFrames;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link UpscaleEngine} over a pixel-space {@link FrameUpscaler} ({@code esrgan}, {@code
 * bicubic}): upscales the base preview in batches of {@code batch} frames (one device batch for an
 * engine that batches) to the delivered size, spooling results to the task's scratch directory,
 * reporting progress after every batch and polling cancellation between tiles.
 */
final class PixelUpscaleEngine implements UpscaleEngine {
  private static final Logger LOG = LoggerFactory.getLogger(PixelUpscaleEngine.class);

  private final FrameUpscaler upscaler;
  private final EngineDescription description;
  private final int batch;

  PixelUpscaleEngine(FrameUpscaler upscaler, EngineDescription description, int batch) {
    this.upscaler = upscaler;
    this.description = description;
    this.batch = batch;
  }

  /** The frame upscaler this engine runs (for tests of what a factory chose). */
  FrameUpscaler upscaler() {
    return upscaler;
  }

  @Override
  public EngineDescription describe() {
    return description;
  }

  @Override
  public UpscaleResult upscale(UpscaleJob job, EngineContext context)
      throws EngineException, InterruptedException {
    VideoFrames in = job.baseFrames();
    int n = in.count();
    if (n == 0) {
      throw EngineException.badParameters("the base preview of " + job.taskId() + " has no frames");
    }
    SpooledFrames out;
    try {
      out =
          new SpooledFrames(
              context.workDir().resolve("upscaled.rgb"), job.targetWidth(), job.targetHeight());
    } catch (IOException e) {
      throw EngineException.engineError("cannot create the frame spool: " + e.getMessage(), e);
    }
    long t0 = System.nanoTime();
    try {
      for (int i = 0; i < n; i += batch) {
        if (Thread.interrupted()) {
          throw new InterruptedException("upscale of " + job.taskId() + " interrupted");
        }
        int end = Math.min(n, i + batch);
        List<RgbFrame> frames = new ArrayList<>(end - i);
        for (int j = i; j < end; j++) {
          frames.add(RgbFrame.fromRgb24(in.width(), in.height(), in.rgb(j)));
        }
        List<RgbFrame> up;
        try {
          up =
              upscaler.upscale(
                  frames, job.targetWidth(), job.targetHeight(), context::cancelRequested);
        } catch (UpscaleCancelledException e) {
          context.checkCancelled();
          throw new TaskCancelledException(ErrorCode.CANCELLED, e.getMessage());
        }
        for (RgbFrame f : up) {
          out.append(f.toRgb24());
        }
        context.step("upscale", end, n);
      }
    } catch (IOException e) {
      closeQuietly(out);
      throw EngineException.engineError("cannot spool upscaled frames: " + e.getMessage(), e);
    } catch (EngineException | InterruptedException | RuntimeException e) {
      closeQuietly(out);
      throw e;
    }
    closeQuietly(out); // writing is done; reads open the spool file themselves
    double ms = (System.nanoTime() - t0) / 1e6;
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("upscaleEngine", upscaler.id());
    facts.put("upscaleWeights", upscaler.weightsId());
    facts.put("upscaleFrom", in.width() + "x" + in.height());
    facts.put("upscaleTo", job.targetWidth() + "x" + job.targetHeight());
    if (upscaler instanceof EsrganUpscaler e) {
      int s = e.scaleFor(in.width(), in.height(), job.targetWidth(), job.targetHeight());
      facts.put("networkScale", "x" + s);
    }
    facts.put("millisPerFrame", String.format("%.1f", ms / n));
    LOG.info(
        "{}: upscaled {} frames {}x{} -> {}x{} with {} in {} ms ({} ms/frame)",
        job.taskId(),
        n,
        in.width(),
        in.height(),
        job.targetWidth(),
        job.targetHeight(),
        upscaler.id(),
        Math.round(ms),
        Math.round(ms / n));
    return new UpscaleResult(out, facts);
  }

  private static void closeQuietly(SpooledFrames f) {
    try {
      f.close();
    } catch (IOException e) {
      LOG.warn("closing the frame spool failed: {}", e.toString());
    }
  }

  @Override
  public void close() {
    upscaler.close();
  }
}
