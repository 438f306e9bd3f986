package dev.reelflow.worker;

import dev.reelflow.schemas.FrameGeometry;
import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.Manifest;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineStatus;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.UpscaleEngine;
import dev.reelflow.worker.spi.UpscaleJob;
import dev.reelflow.worker.spi.UpscaleResult;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The upscale stage on the shared runtime: fetches the base attempt's preview (and latents and
 * manifest when present) named in the task's inputs, runs the upscale engine, encodes the delivered
 * 1080p video (resizing the engine's grid to the delivered size) and a poster, publishes them with
 * the final manifest write-once, and writes its stage manifest last.
 */
final class UpscaleStage implements StageRunner {

  /** Where the base preview is fetched in the task directory (external upscalers read it there). */
  static final String BASE_PREVIEW_FILE = "base-" + ArtifactKeys.PREVIEW_FILE;

  private final UpscaleEngine engine;
  private final ArtifactStore store;
  private final String workerId;
  private final VideoCodec.Encoder encoder;
  private final long memoryBudget;
  private final boolean offload;

  private final ReferenceImageLoader images;

  UpscaleStage(
      UpscaleEngine engine,
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

  /** {@code images} fetches the reference images of image-to-video renders. */
  UpscaleStage(
      UpscaleEngine engine,
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
  }

  @Override
  public EngineDescription describe() {
    return engine.describe();
  }

  @Override
  public EngineStatus status() {
    return engine.status();
  }

  @Override
  public Result run(RenderTask task, TaskRun run) throws EngineException, InterruptedException {
    Instant started = Instant.now();
    RenderParams p = task.getParams();
    String previewKey = task.getInputs().get("preview");
    if (previewKey == null) {
      throw EngineException.badParameters(
          "upscale task "
              + task.getTaskId()
              + " has no inputs.preview (the base attempt's preview.mp4)");
    }
    if (p.getUpscale() == UpscaleTarget.NONE) {
      throw EngineException.badParameters("upscale task for a render with upscale NONE");
    }
    FrameGeometry.FrameSize target = FrameGeometry.upscaled(p.getAspectRatio());
    Path dir = run.workDir();

    run.phase("fetch");
    Path previewFile = dir.resolve(BASE_PREVIEW_FILE);
    store.download(previewKey, previewFile, true);
    VideoCodec.Decoded base;
    try {
      base = VideoCodec.decode(previewFile);
    } catch (IOException e) {
      throw EngineException.engineError(
          "cannot decode the base preview " + previewKey + ": " + e.getMessage(), e);
    }
    Latents latents = null;
    String latentsKey = task.getInputs().get("latents");
    if (latentsKey != null) {
      try {
        latents = LatentsFile.read(store.getBytes(latentsKey, true));
      } catch (IOException e) {
        throw EngineException.engineError(
            "cannot read base latents " + latentsKey + ": " + e.getMessage(), e);
      }
    }
    Manifest baseManifest = null;
    String manifestKey = task.getInputs().get("manifest");
    if (manifestKey != null) {
      baseManifest = Manifest.fromJson(store.getBytes(manifestKey, true));
    }
    Map<String, String> baseFacts = new LinkedHashMap<>();
    if (baseManifest != null) {
      baseFacts.put("engine", baseManifest.engine());
      baseFacts.put("modelId", baseManifest.modelId());
      baseFacts.put("weightsId", baseManifest.weightsId());
      baseFacts.put("emulated", Boolean.toString(baseManifest.emulated()));
    }
    UpscaleJob job =
        new UpscaleJob(
            task.getTaskId(),
            task.getRequestId(),
            p.getSeed(),
            base.frames(),
            latents,
            target.width(),
            target.height(),
            p.getFps(),
            baseFacts,
            p.getPrompt() == null ? "" : p.getPrompt().toString(),
            p.getMode() == Mode.I2V && p.getImageUrl() != null && !p.getImageUrl().isBlank()
                ? images.load(task, dir)
                : null);
    long needed = engine.estimateDeviceBytes(job, offload);
    if (memoryBudget > 0 && needed > memoryBudget) {
      throw EngineException.badParameters(
          MemoryPlan.refusal(needed, memoryBudget, offload, "upscale to " + target));
    }

    long t0 = System.nanoTime();
    run.phase("upscale");
    UpscaleResult result = engine.upscale(job, run);
    long t1 = System.nanoTime();

    run.phase("encode");
    run.checkCancelled();
    Path video = dir.resolve(ArtifactKeys.VIDEO_FILE);
    Path poster = dir.resolve(ArtifactKeys.POSTER_FILE);
    String usedEncoder;
    try {
      usedEncoder =
          VideoCodec.encodeMp4(
              result.frames(), p.getFps(), target.width(), target.height(), video, encoder);
      VideoCodec.Decoded check = VideoCodec.decode(video);
      BaseStage.posterOf(check.frames(), poster);
    } catch (IOException e) {
      throw EngineException.engineError("encoding failed: " + e.getMessage(), e);
    }
    long t2 = System.nanoTime();

    run.phase("upload");
    run.checkCancelled();
    EngineDescription d = engine.describe();
    StageArtifacts out = new StageArtifacts(store, task);
    out.publishFinal("video", ArtifactKeys.VIDEO_FILE, video, "video/mp4");
    out.publishFinal("poster", ArtifactKeys.POSTER_FILE, poster, "image/jpeg");
    String tier = Vocabulary.upscale(p.getUpscale());
    Manifest.Builder fm =
        baseManifest != null
            ? baseManifest.toBuilder().resolution(tier, target.width(), target.height())
            : StageArtifacts.manifest(task, d, tier, target.width(), target.height(), 1, 0.0);
    if (baseManifest != null) {
      fm.upscale(tier);
    }
    Manifest.StageRun stageRun =
        StageArtifacts.stageRun(task, workerId, started, d, out.manifestOutputs());
    fm.addStage(stageRun);
    for (Manifest.Output o : out.manifestOutputs()) {
      fm.addOutput(o);
    }
    out.publishFinal(
        "manifest", ArtifactKeys.MANIFEST_FILE, fm.build().toJsonBytes(), Manifest.CONTENT_TYPE);
    Manifest.Builder sm =
        StageArtifacts.manifest(task, d, tier, target.width(), target.height(), 1, 0.0);
    sm.addStage(stageRun);
    for (Manifest.Output o : out.manifestOutputs()) {
      sm.addOutput(o);
    }
    out.putStage(
        "stage-manifest",
        ArtifactKeys.MANIFEST_FILE,
        sm.build().toJsonBytes(),
        Manifest.CONTENT_TYPE);

    Map<String, String> facts = new LinkedHashMap<>(d.facts());
    facts.putAll(result.facts());
    facts.put("width", Integer.toString(target.width()));
    facts.put("height", Integer.toString(target.height()));
    facts.put("frames", Integer.toString(result.frames().count()));
    facts.put("fps", Integer.toString(p.getFps()));
    facts.put("encoder", usedEncoder);
    facts.put("upscaleMillis", Long.toString((t1 - t0) / 1_000_000));
    facts.put("encodeMillis", Long.toString((t2 - t1) / 1_000_000));
    facts.put("uploadMillis", Long.toString((System.nanoTime() - t2) / 1_000_000));
    return new Result(out.outputs(), facts);
  }

  @Override
  public void close() {
    engine.close();
    images.close();
  }
}
