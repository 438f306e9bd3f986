package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.ErrorInfo;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.UUID;

/** Builders of the records the tests feed in. */
final class Fixtures {
  static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");

  private Fixtures() {}

  static RenderParams params(UpscaleTarget upscale) {
    return RenderParams.newBuilder()
        .setPrompt("a red fox in the snow")
        .setResolution(Resolution.PREVIEW)
        .setFrames(17)
        .setSteps(4)
        .setSeed(7)
        .setUpscale(upscale)
        .build();
  }

  static RenderRequest request(String id, String tenant, int priority, UpscaleTarget upscale) {
    return RenderRequest.newBuilder()
        .setRequestId(id)
        .setTenant(tenant)
        .setParams(params(upscale))
        .setPriority(priority)
        .setDeadline(null)
        .setLabels(new HashMap<>())
        .setSubmittedAt(T0)
        .build();
  }

  static RenderRequest request(String id) {
    return request(id, "demo", 5, UpscaleTarget.P1080);
  }

  static StageEvent event(
      String requestId, Stage stage, int attempt, StageEventType type, String worker) {
    return StageEvent.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setTaskId(RenderLifecycle.taskId(requestId, stage, attempt))
        .setRequestId(requestId)
        .setTenant("demo")
        .setStage(stage)
        .setAttempt(attempt)
        .setWorkerId(worker)
        .setType(type)
        .setAt(T0)
        .setOutputs(new ArrayList<>())
        .setFacts(new HashMap<>())
        .build();
  }

  static StageEvent completed(String requestId, Stage stage, int attempt, String worker) {
    StageEvent e = event(requestId, stage, attempt, StageEventType.COMPLETED, worker);
    List<OutputArtifact> outs = new ArrayList<>();
    String prefix =
        "demo/2026/11/25/"
            + requestId
            + "/"
            + stage.name().toLowerCase()
            + "/attempt-"
            + attempt
            + "/";
    if (stage == Stage.BASE) {
      outs.add(artifact("latents", prefix + "latents.safetensors"));
      outs.add(artifact("preview", prefix + "preview.mp4"));
      outs.add(artifact("manifest", prefix + "manifest.json"));
    }
    String fin = "demo/2026/11/25/" + requestId + "/final/";
    outs.add(artifact("video", fin + "video.mp4"));
    outs.add(artifact("poster", fin + "poster.jpg"));
    if (stage == Stage.UPSCALE) {
      outs.add(artifact("manifest", fin + "manifest.json"));
    }
    e.setOutputs(outs);
    return e;
  }

  static StageEvent failed(
      String requestId, Stage stage, int attempt, ErrorCode code, boolean retryable) {
    StageEvent e = event(requestId, stage, attempt, StageEventType.FAILED, "w1");
    e.setError(
        ErrorInfo.newBuilder().setCode(code).setMessage("boom").setRetryable(retryable).build());
    return e;
  }

  static OutputArtifact artifact(String name, String key) {
    return OutputArtifact.newBuilder()
        .setName(name)
        .setKey(key)
        .setSizeBytes(1234)
        .setSha256("ab".repeat(32))
        .setContentType("application/octet-stream")
        .build();
  }

  static RenderCommand cancel(String requestId) {
    return RenderCommand.newBuilder()
        .setCommandId(UUID.randomUUID().toString())
        .setRequestId(requestId)
        .setTenant("demo")
        .setType(CommandType.CANCEL)
        .setReason("user asked")
        .setIssuedAt(T0)
        .build();
  }

  static RenderCommand reprioritize(String requestId, int priority) {
    return RenderCommand.newBuilder()
        .setCommandId(UUID.randomUUID().toString())
        .setRequestId(requestId)
        .setTenant("demo")
        .setType(CommandType.REPRIORITIZE)
        .setPriority(priority)
        .setIssuedAt(T0)
        .build();
  }

  static WorkerEvent ready(
      String worker, Stage pool, int free, List<Integer> partitions, List<String> running) {
    return WorkerEvent.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setWorkerId(worker)
        .setPool(pool)
        .setType(WorkerEventType.READY)
        .setFreeSlots(free)
        .setTotalSlots(Math.max(1, free))
        .setOwnedPartitions(new ArrayList<>(partitions))
        .setRunningTaskIds(new ArrayList<>(running))
        .setAt(T0)
        .build();
  }

  static WorkerEvent stopped(String worker, Stage pool) {
    WorkerEvent e = ready(worker, pool, 0, List.of(), List.of());
    e.setType(WorkerEventType.STOPPED);
    return e;
  }
}
