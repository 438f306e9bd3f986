package dev.reelflow.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.UpscaleJob;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The resident engine's line protocol, version 1: one JSON object per line on the program's stdin
 * (task, cancel, shutdown) and stdout (loading, ready, progress, log, result, error, cancelled).
 * The specification is {@code gpu-operator/docs/resident-protocol.md}; this class builds what the
 * worker sends and reads what the program answers, nothing else.
 */
final class ResidentProtocol {

  /** The protocol version a program must announce in its ready message. */
  static final int VERSION = 1;

  /** Stage names on the wire. */
  static final String BASE = "base";

  static final String UPSCALE = "upscale";

  private static final ObjectMapper JSON = new ObjectMapper();

  private ResidentProtocol() {}

  /** A message from the program: its type, the task id it is about (or null), and its fields. */
  record Message(String type, String id, ObjectNode body) {

    /** A text field, or null when absent or JSON null. */
    String text(String field) {
      JsonNode n = body.get(field);
      return n == null || n.isNull() ? null : n.asText();
    }

    /** An integer field, or {@code dflt} when absent or not a number. */
    long number(String field, long dflt) {
      JsonNode n = body.get(field);
      return n != null && n.isNumber() ? n.asLong() : dflt;
    }

    boolean flag(String field, boolean dflt) {
      JsonNode n = body.get(field);
      return n != null && n.isBoolean() ? n.asBoolean() : dflt;
    }

    boolean has(String field) {
      JsonNode n = body.get(field);
      return n != null && !n.isNull();
    }

    /** An object of strings (numbers and booleans as text), empty when absent. */
    Map<String, String> strings(String field) {
      Map<String, String> out = new LinkedHashMap<>();
      JsonNode n = body.get(field);
      if (n != null && n.isObject()) {
        Iterator<Map.Entry<String, JsonNode>> it = n.fields();
        while (it.hasNext()) {
          Map.Entry<String, JsonNode> e = it.next();
          if (e.getValue().isValueNode() && !e.getValue().isNull()) {
            out.put(e.getKey(), e.getValue().asText());
          }
        }
      }
      return out;
    }

    /** The text of a list of strings, empty when absent. */
    List<String> list(String field) {
      List<String> out = new ArrayList<>();
      JsonNode n = body.get(field);
      if (n != null && n.isArray()) {
        n.forEach(x -> out.add(x.asText()));
      }
      return out;
    }
  }

  /**
   * Parses one stdout line; null when it is not a JSON object with a string {@code type} (the
   * worker logs such lines as program output).
   */
  static Message parse(String line) {
    String t = line.strip();
    if (!t.startsWith("{")) {
      return null;
    }
    try {
      JsonNode n = JSON.readTree(t);
      if (!(n instanceof ObjectNode o) || !o.path("type").isTextual()) {
        return null;
      }
      JsonNode id = o.get("id");
      return new Message(o.get("type").asText(), id == null || id.isNull() ? null : id.asText(), o);
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  /** A base-stage task; {@code latents} null when no SR stage needs them. */
  static String baseTask(BaseVideoJob job, int steps, Path workDir, Path video, Path latents) {
    ObjectNode o = task(job.taskId(), BASE, job.requestId(), workDir);
    o.put("prompt", job.prompt());
    o.put("negative_prompt", job.negativePrompt());
    o.put("image", job.imageUrl());
    o.put("resolution", job.resolution());
    o.put("width", job.width());
    o.put("height", job.height());
    o.put("frames", job.frames());
    o.put("fps", job.fps());
    o.put("steps", steps);
    if (job.guidanceScale() == null) {
      o.putNull("guidance");
    } else {
      o.put("guidance", job.guidanceScale().doubleValue());
    }
    o.put("seed", job.seed());
    ObjectNode out = o.putObject("output");
    out.put("video", video.toString());
    out.put("latents", latents == null ? null : latents.toString());
    return line(o);
  }

  /** An upscale-stage task; {@code inputLatents} null when the base stage wrote none. */
  static String upscaleTask(
      UpscaleJob job, Path workDir, Path inputVideo, Path inputLatents, Path video) {
    ObjectNode o = task(job.taskId(), UPSCALE, job.requestId(), workDir);
    o.put("prompt", job.prompt());
    o.put("seed", job.seed());
    o.put("width", job.targetWidth());
    o.put("height", job.targetHeight());
    o.put("frames", job.baseFrames().count());
    o.put("fps", job.fps());
    ObjectNode in = o.putObject("input");
    in.put("video", inputVideo.toString());
    in.put("latents", inputLatents == null ? null : inputLatents.toString());
    in.put("width", job.baseFrames().width());
    in.put("height", job.baseFrames().height());
    ObjectNode facts = o.putObject("base_facts");
    job.baseFacts().forEach(facts::put);
    o.putObject("output").put("video", video.toString());
    return line(o);
  }

  private static ObjectNode task(String id, String stage, String requestId, Path workDir) {
    ObjectNode o = JSON.createObjectNode();
    o.put("type", "task");
    o.put("id", id);
    o.put("stage", stage);
    o.put("request_id", requestId);
    o.put("workdir", workDir.toString());
    return o;
  }

  static String cancel(String id, String reason) {
    ObjectNode o = JSON.createObjectNode();
    o.put("type", "cancel");
    o.put("id", id);
    o.put("reason", reason);
    return line(o);
  }

  static String shutdown() {
    ObjectNode o = JSON.createObjectNode();
    o.put("type", "shutdown");
    return line(o);
  }

  private static String line(ObjectNode o) {
    try {
      return JSON.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a protocol message", e);
    }
  }

  /** The error code of an error message; unknown codes read as ENGINE_ERROR. */
  static ErrorCode code(String code) {
    if (code == null) {
      return ErrorCode.ENGINE_ERROR;
    }
    return switch (code) {
      case "BAD_PARAMETERS" -> ErrorCode.BAD_PARAMETERS;
      case "OUT_OF_MEMORY" -> ErrorCode.OUT_OF_MEMORY;
      case "TIMEOUT" -> ErrorCode.TIMEOUT;
      default -> ErrorCode.ENGINE_ERROR;
    };
  }

  /**
   * Whether an error is retryable when the program does not say: BAD_PARAMETERS and OUT_OF_MEMORY
   * are permanent (the same task fails again on the same kind of device), the rest retryable.
   */
  static boolean retryableByDefault(ErrorCode code) {
    return code != ErrorCode.BAD_PARAMETERS && code != ErrorCode.OUT_OF_MEMORY;
  }
}
