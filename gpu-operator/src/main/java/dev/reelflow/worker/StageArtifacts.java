package dev.reelflow.worker;

import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.Manifest;
import dev.reelflow.storage.ObjectAttributes;
import dev.reelflow.storage.PublishResult;
import dev.reelflow.storage.StoredObject;
import dev.reelflow.worker.spi.EngineDescription;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Uploads of one task: stage artifacts under the task's outputPrefix (plain puts, the attempt owns
 * the prefix) and the final result under finalPrefix through the write-once publish.
 */
final class StageArtifacts {

  private final ArtifactStore store;
  private final RenderTask task;
  private final List<OutputArtifact> outputs = new ArrayList<>();
  private final List<Manifest.Output> manifestOutputs = new ArrayList<>();

  StageArtifacts(ArtifactStore store, RenderTask task) {
    this.store = store;
    this.task = task;
  }

  static String stageKey(RenderTask task, String file) {
    return withSlash(task.getOutputPrefix()) + file;
  }

  static String finalKey(RenderTask task, String file) {
    return withSlash(task.getFinalPrefix()) + file;
  }

  private static String withSlash(String prefix) {
    return prefix.endsWith("/") ? prefix : prefix + "/";
  }

  private ObjectAttributes attrs(String contentType) {
    return ObjectAttributes.builder()
        .contentType(contentType)
        .requestId(task.getRequestId())
        .stage(ArtifactKeys.stageName(task.getStage()))
        .attempt(task.getAttempt())
        .build();
  }

  /** Uploads a stage artifact (overwrites: the attempt owns its prefix). */
  OutputArtifact putStage(String name, String file, Path source, String contentType) {
    return record(name, store.put(stageKey(task, file), source, attrs(contentType)));
  }

  OutputArtifact putStage(String name, String file, byte[] bytes, String contentType) {
    return record(name, store.put(stageKey(task, file), bytes, attrs(contentType)));
  }

  /**
   * Publishes a final artifact write-once. Replaying the same bytes is fine; different bytes
   * already there throw {@link dev.reelflow.storage.AlreadyPublishedException}.
   */
  OutputArtifact publishFinal(String name, String file, Path source, String contentType) {
    PublishResult r = store.publish(finalKey(task, file), source, attrs(contentType));
    return record(name, r.object());
  }

  OutputArtifact publishFinal(String name, String file, byte[] bytes, String contentType) {
    PublishResult r = store.publish(finalKey(task, file), bytes, attrs(contentType));
    return record(name, r.object());
  }

  private OutputArtifact record(String name, StoredObject o) {
    OutputArtifact a =
        OutputArtifact.newBuilder()
            .setName(name)
            .setKey(o.key())
            .setSizeBytes(o.sizeBytes())
            .setSha256(o.sha256())
            .setContentType(o.contentType())
            .build();
    outputs.add(a);
    if (o.sha256() != null && o.sha256().length() == 64) {
      manifestOutputs.add(Manifest.Output.of(name, o));
    }
    return a;
  }

  List<OutputArtifact> outputs() {
    return List.copyOf(outputs);
  }

  List<Manifest.Output> manifestOutputs() {
    return List.copyOf(manifestOutputs);
  }

  /** The manifest of this task: request parameters, engine, this stage run and its outputs. */
  static Manifest.Builder manifest(
      RenderTask task,
      EngineDescription engine,
      String tier,
      int width,
      int height,
      int steps,
      double guidance) {
    RenderParams p = task.getParams();
    String lineage =
        task.getLineageRunId() != null && !task.getLineageRunId().isBlank()
            ? task.getLineageRunId()
            : UUID.nameUUIDFromBytes(task.getRequestId().getBytes(StandardCharsets.UTF_8))
                .toString();
    return Manifest.builder()
        .requestId(task.getRequestId())
        .tenant(task.getTenant())
        .prompt(p.getPrompt())
        .negativePrompt(p.getNegativePrompt())
        .seed(p.getSeed())
        .mode(Vocabulary.mode(p.getMode()))
        .resolution(tier, width, height)
        .upscale(Vocabulary.upscale(p.getUpscale()))
        .aspectRatio(Vocabulary.aspectRatio(p.getAspectRatio()))
        .frames(p.getFrames())
        .fps(p.getFps())
        .steps(steps)
        .guidance(guidance)
        .modelId(engine.modelId())
        .weightsId(engine.weightsId())
        .engine(engine.name())
        .emulated(engine.emulated())
        .backend(engine.backend())
        .device(engine.device())
        .lineageRunId(lineage)
        .createdAt(task.getCreatedAt());
  }

  /** The stage run entry for the manifest. */
  static Manifest.StageRun stageRun(
      RenderTask task,
      String workerId,
      Instant started,
      EngineDescription engine,
      List<Manifest.Output> outs) {
    return new Manifest.StageRun(
        ArtifactKeys.stageName(task.getStage()),
        workerId,
        task.getAttempt(),
        started,
        Instant.now(),
        engine.name(),
        engine.backend(),
        engine.device(),
        engine.modelId(),
        engine.weightsId(),
        outs);
  }
}
