package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Schedule;
import java.time.Instant;
import java.util.Set;

/** The JSON shapes of the API: a render's status and a schedule. */
final class RenderJson {
  private static final Set<String> OUTPUTS = Set.of("video", "poster", "manifest");

  /** Turns an object key of a tenant's output into a URL (presigned where S3 is configured). */
  interface OutputLinks {
    String link(String tenant, String key);
  }

  private final ObjectMapper json;
  private final OutputLinks links;

  RenderJson(ObjectMapper json, OutputLinks links) {
    this.json = json;
    this.links = links;
  }

  ObjectNode status(RenderStatus s) {
    ObjectNode n = json.createObjectNode();
    String id = s.getRequestId();
    n.put("id", id);
    n.put("status", Vocabulary.state(s.getState()));
    n.put("stage", s.getStage() == null ? (String) null : Vocabulary.stage(s.getStage()));
    ObjectNode p = n.putObject("progress");
    p.put("step", s.getStep());
    p.put("totalSteps", s.getTotalSteps());
    if (s.getStep() != null && s.getTotalSteps() != null && s.getTotalSteps() > 0) {
      p.put("fraction", Math.min(1.0, s.getStep() / (double) s.getTotalSteps()));
    } else {
      p.put("fraction", s.getState() == RenderState.SUCCEEDED ? 1.0 : 0.0);
    }
    if (s.getEtaMillis() != null) {
      p.put("etaMillis", s.getEtaMillis());
    }
    n.put("queuePosition", s.getQueuePosition());
    if (s.getQueuePosition() != null) {
      n.put("queuePositionEstimated", s.getQueuePositionEstimated());
    }
    n.put("attempts", s.getAttempts());
    ObjectNode outputs = n.putObject("outputs");
    for (OutputArtifact a : s.getOutputs()) {
      if (OUTPUTS.contains(a.getName())) {
        outputs.put(a.getName(), links.link(s.getTenant(), a.getKey()));
      }
    }
    if (s.getError() != null) {
      ObjectNode e = n.putObject("error");
      e.put("code", s.getError().getCode().name());
      e.put("message", s.getError().getMessage());
      e.put("retryable", s.getError().getRetryable());
    } else {
      n.putNull("error");
    }
    n.put("priority", s.getPriority());
    n.put("deadline", iso(s.getDeadline()));
    n.put("batchId", s.getBatchId());
    n.put("scheduleId", s.getScheduleId());
    n.set("labels", json.valueToTree(s.getLabels()));
    n.put("prompt", s.getPrompt());
    // Every status carries the seed: the orchestrator's, and the provisional one of a render
    // this instance accepted.
    if (s.getSeed() != null) {
      n.put("seed", s.getSeed());
    }
    n.put("createdAt", iso(s.getCreatedAt()));
    n.put("updatedAt", iso(s.getUpdatedAt()));
    n.put("version", s.getVersion());
    n.put("statusUrl", "/v1/renders/" + id);
    n.put("eventsUrl", "/v1/renders/" + id + "/events");
    return n;
  }

  ObjectNode schedule(Schedule s) {
    ObjectNode n = json.createObjectNode();
    n.put("id", s.getScheduleId());
    n.put("name", s.getName());
    n.put("cron", s.getCron());
    n.put("timezone", s.getTimezone());
    ObjectNode t = n.putObject("template");
    var p = s.getTemplate();
    t.put("prompt", p.getPrompt());
    if (!p.getNegativePrompt().isEmpty()) {
      t.put("negativePrompt", p.getNegativePrompt());
    }
    t.put("mode", Vocabulary.mode(p.getMode()));
    if (p.getImageUrl() != null) {
      t.put("imageUrl", p.getImageUrl());
    }
    t.put("resolution", Vocabulary.resolution(p.getResolution()));
    t.put("aspectRatio", Vocabulary.aspectRatio(p.getAspectRatio()));
    t.put("frames", p.getFrames());
    t.put("fps", p.getFps());
    if (p.getSteps() != null) {
      t.put("steps", p.getSteps());
    }
    if (p.getGuidanceScale() != null) {
      t.put("guidanceScale", p.getGuidanceScale());
    }
    t.put("seed", p.getSeed());
    t.put("upscale", Vocabulary.upscale(p.getUpscale()));
    var rows = n.putArray("rows");
    for (String r : s.getRows()) {
      try {
        rows.add(json.readTree(r));
      } catch (java.io.IOException e) {
        rows.add(r);
      }
    }
    n.put("source", s.getSource());
    n.put("priority", s.getPriority());
    n.set("labels", json.valueToTree(s.getLabels()));
    n.put("callbackUrl", s.getCallbackUrl());
    n.put("enabled", s.getEnabled());
    n.put("runRequestedAt", iso(s.getRunRequestedAt()));
    n.put("createdAt", iso(s.getCreatedAt()));
    n.put("updatedAt", iso(s.getUpdatedAt()));
    return n;
  }

  static String iso(Instant t) {
    return t == null ? null : t.toString();
  }
}
