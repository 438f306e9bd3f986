package dev.reelflow.worker;

import dev.reelflow.schemas.FrameGeometry;
import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.Manifest;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineStatus;
import dev.reelflow.worker.spi.ReferenceImage;
import dev.reelflow.worker.spi.VideoFrames;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The base stage: runs the base engine, encodes the preview MP4, writes the latents (safetensors)
 * and the stage manifest under the attempt prefix, and, when the task publishes the final result
 * (upscale NONE), the final video, poster and manifest through the write-once publish. The stage
 * manifest is written last: it is the marker that the attempt completed.
 */
final class BaseStage implements StageRunner {
  private static final Logger LOG = LoggerFactory.getLogger(BaseStage.class);

  private final BaseVideoEngine engine;
  private final ArtifactStore store;
  private final String workerId;
  private final VideoCodec.Encoder encoder;
  private final long memoryBudget;
  private final boolean offload;
  private final ReferenceImageLoader images;

  BaseStage(
      BaseVideoEngine engine,
      ArtifactStore store,
      String workerId,
      VideoCodec.Encoder encoder,
      long memoryBudget,
      boolean offload) {
    this(
        engine,
        store,
        workerId,
        encoder,
        memoryBudget,
        offload,
        ReferenceImageLoader.strict(store));
  }

  /** {@code images} fetches the reference images of image-to-video tasks. */
  BaseStage(
      BaseVideoEngine engine,
      ArtifactStore store,
      String workerId,
      VideoCodec.Encoder encoder,
      long memoryBudget,
      boolean offload,
      ReferenceImageLoader images) {
    this.images = images;
    this.engine = engine;
    this.store = store;
    this.workerId = workerId;
    this.encoder = encoder;
    this.memoryBudget = memoryBudget;
    this.offload = offload;
    LOG.info("{}: {}", workerId, MemoryPlan.startPlan(engine, memoryBudget, offload));
  }

  @Override
  public EngineDescription describe() {
    return engine.describe();
  }

  @Override
  public EngineStatus status() {
    return engine.status();
  }

  /** Resolves the task's parameters; bad ones throw {@link EngineException} BAD_PARAMETERS. */
  static BaseVideoJob job(RenderTask task) throws EngineException {
    RenderParams p = task.getParams();
    try {
      FrameGeometry.requireValidFrameCount(p.getFrames());
      if (p.getFps() < 1 || p.getFps() > 120) {
        throw new IllegalArgumentException("fps must be in 1..120, got " + p.getFps());
      }
      if (p.getPrompt() == null || p.getPrompt().isBlank()) {
        throw new IllegalArgumentException("prompt is empty");
      }
      boolean image = p.getImageUrl() != null && !p.getImageUrl().isBlank();
      if (p.getMode() == Mode.I2V && !image) {
        throw new IllegalArgumentException("mode i2v needs an imageUrl (the first frame)");
      }
      if (p.getMode() != Mode.I2V && image) {
        throw new IllegalArgumentException("imageUrl is only for mode i2v");
      }
      FrameGeometry.FrameSize size = FrameGeometry.base(p.getResolution(), p.getAspectRatio());
      return new BaseVideoJob(
          task.getTaskId(),
          task.getRequestId(),
          p.getPrompt(),
          p.getNegativePrompt(),
          p.getImageUrl(),
          Vocabulary.resolution(p.getResolution()),
          size.width(),
          size.height(),
          p.getFrames(),
          p.getFps(),
          p.getSteps(),
          p.getGuidanceScale(),
          p.getSeed());
    } catch (IllegalArgumentException e) {
      throw EngineException.badParameters("bad task parameters: " + e.getMessage());
    }
  }

  /** Refuses what cannot fit the device (permanent BAD_PARAMETERS with the numbers). */
  static void checkMemory(long needed, long budget, boolean offload, BaseVideoJob job)
      throws EngineException {
    if (budget > 0 && needed > budget) {
      throw EngineException.badParameters(
          MemoryPlan.refusal(
              needed,
              budget,
              offload,
              job.resolution()
                  + " "
                  + job.width()
                  + "x"
                  + job.height()
                  + " x "
                  + job.frames()
                  + " frames"));
    }
  }

  @Override
  public Result run(RenderTask task, TaskRun run) throws EngineException, InterruptedException {
    Instant started = Instant.now();
    BaseVideoJob job = job(task);
    checkMemory(engine.estimateDeviceBytes(job, offload), memoryBudget, offload, job);
    if (job.imageToVideo()) {
      run.phase("reference-image");
      run.checkCancelled();
      job = job.withReferenceImage(images.load(task, run.workDir()));
    }

    long t0 = System.nanoTime();
    run.phase("denoise");
    BaseVideoResult result = engine.generate(job, run);
    long t1 = System.nanoTime();

    run.phase("encode");
    run.checkCancelled();
    Path dir = run.workDir();
    Path preview = dir.resolve(ArtifactKeys.PREVIEW_FILE);
    VideoFrames frames;
    try {
      frames =
          result.frames() != null
              ? result.frames()
              : VideoCodec.decode(result.videoFile()).frames();
    } catch (IOException e) {
      throw EngineException.engineError(
          "cannot read the video the engine wrote: " + e.getMessage(), e);
    }
    if (frames.count() == 0) {
      throw EngineException.engineError("the engine produced no frames", null);
    }
    String usedEncoder;
    Path latentsFile = null;
    Path poster = null;
    try {
      usedEncoder =
          VideoCodec.encodeMp4(frames, job.fps(), job.width(), job.height(), preview, encoder);
      if (result.latents() != null) {
        latentsFile = dir.resolve(ArtifactKeys.LATENTS_FILE);
        try (OutputStream os = Files.newOutputStream(latentsFile)) {
          LatentsFile.write(result.latents(), os);
        }
      }
      if (task.getPublishFinal()) {
        poster = dir.resolve(ArtifactKeys.POSTER_FILE);
        posterOf(frames, poster);
      }
    } catch (IOException e) {
      throw EngineException.engineError("encoding failed: " + e.getMessage(), e);
    }
    long t2 = System.nanoTime();

    run.phase("upload");
    run.checkCancelled();
    StageArtifacts out = new StageArtifacts(store, task);
    if (latentsFile != null) {
      out.putStage("latents", ArtifactKeys.LATENTS_FILE, latentsFile, "application/octet-stream");
    }
    out.putStage("preview", ArtifactKeys.PREVIEW_FILE, preview, "video/mp4");

    EngineDescription d = engine.describe();
    int steps = job.stepsOr(engine.defaultSteps());
    double guidance = job.guidanceScale() != null ? job.guidanceScale() : 0.0;
    Map<String, String> facts = new LinkedHashMap<>(d.facts());
    facts.putAll(result.facts());
    facts.put("width", Integer.toString(job.width()));
    facts.put("height", Integer.toString(job.height()));
    facts.put("frames", Integer.toString(frames.count()));
    facts.put("fps", Integer.toString(job.fps()));
    facts.put("steps", Integer.toString(steps));
    facts.put("resolution", job.resolution());
    if (job.referenceImage() != null) {
      ReferenceImage ref = job.referenceImage();
      facts.put("referenceImage", ref.source());
      facts.put("referenceImageSize", ref.width() + "x" + ref.height());
    }
    facts.put("encoder", usedEncoder);
    facts.put("latents", latentsFile != null ? "safetensors" : "none");
    facts.put("generateMillis", Long.toString((t1 - t0) / 1_000_000));
    facts.put("encodeMillis", Long.toString((t2 - t1) / 1_000_000));

    if (task.getPublishFinal()) {
      out.publishFinal("video", ArtifactKeys.VIDEO_FILE, preview, "video/mp4");
      out.publishFinal("poster", ArtifactKeys.POSTER_FILE, poster, "image/jpeg");
      Manifest.Builder fm =
          StageArtifacts.manifest(
              task, d, job.resolution(), job.width(), job.height(), steps, guidance);
      fm.addStage(StageArtifacts.stageRun(task, workerId, started, d, out.manifestOutputs()));
      for (Manifest.Output o : out.manifestOutputs()) {
        fm.addOutput(o);
      }
      out.publishFinal(
          "manifest", ArtifactKeys.MANIFEST_FILE, fm.build().toJsonBytes(), Manifest.CONTENT_TYPE);
    }
    Manifest.Builder sm =
        StageArtifacts.manifest(
            task, d, job.resolution(), job.width(), job.height(), steps, guidance);
    sm.addStage(StageArtifacts.stageRun(task, workerId, started, d, out.manifestOutputs()));
    for (Manifest.Output o : out.manifestOutputs()) {
      sm.addOutput(o);
    }
    // Written last: its presence marks the attempt as completed (dedupe).
    // "manifest" names the final manifest when this stage publishes it, else the stage manifest
    // (what the orchestrator hands the upscale task as inputs.manifest).
    String name = task.getPublishFinal() ? "stage-manifest" : "manifest";
    out.putStage(name, ArtifactKeys.MANIFEST_FILE, sm.build().toJsonBytes(), Manifest.CONTENT_TYPE);
    facts.put("uploadMillis", Long.toString((System.nanoTime() - t2) / 1_000_000));
    return new Result(out.outputs(), facts);
  }

  /** Poster: the middle frame, where generated clips are usually most settled. */
  static void posterOf(VideoFrames frames, Path out) throws IOException {
    int i = frames.count() / 2;
    VideoCodec.writeJpeg(frames.rgb(i), frames.width(), frames.height(), out);
  }

  @Override
  public void close() {
    engine.close();
    images.close();
  }
}
