package dev.reelflow.orchestrator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Stage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * OpenLineage RunEvents of a render as JSON (the OpenLineage Kafka transport convention): START
 * when accepted, RUNNING per stage, COMPLETE with the output datasets, FAIL with an error facet,
 * ABORT when cancelled. The run id is derived from the request id, so replays produce the same run;
 * batch and schedule renders carry a parent run facet.
 */
final class LineageJson {
  static final String NAMESPACE = "reelflow";
  static final String PRODUCER = "urn:reelflow:orchestrator";
  static final String SCHEMA_URL =
      "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
  private static final String PARENT_FACET_URL =
      "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet";
  private static final String ERROR_FACET_URL =
      "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final String bucket;

  LineageJson(String bucket) {
    this.bucket = bucket;
  }

  /** Deterministic OpenLineage run id (a name-based UUID) of a render. */
  static String runId(String requestId) {
    return UUID.nameUUIDFromBytes(("render:" + requestId).getBytes(StandardCharsets.UTF_8))
        .toString();
  }

  LineageRecord start(RenderRequest r, long now) {
    ObjectNode e = event("START", r, now);
    return record(r, "START", e);
  }

  LineageRecord running(RenderRequest r, Stage stage, int attempt, String workerId, long now) {
    ObjectNode e = event("RUNNING", r, now);
    ObjectNode facet = runFacets(e).putObject("reelflow_stage");
    common(facet);
    facet.put("stage", stage.name());
    facet.put("attempt", attempt);
    if (workerId != null) {
      facet.put("workerId", workerId);
    }
    return record(r, "RUNNING", e);
  }

  LineageRecord complete(
      RenderRequest r, List<OutputArtifact> outputs, Map<String, String> facts, long now) {
    ObjectNode e = event("COMPLETE", r, now);
    ArrayNode out = e.putArray("outputs");
    for (OutputArtifact a : outputs) {
      ObjectNode ds = out.addObject();
      ds.put("namespace", "s3://" + bucket);
      ds.put("name", a.getKey());
      ObjectNode facets = ds.putObject("facets");
      ObjectNode art = facets.putObject("reelflow_artifact");
      common(art);
      art.put("role", a.getName());
      art.put("sizeBytes", a.getSizeBytes());
      art.put("sha256", a.getSha256());
      art.put("contentType", a.getContentType());
      art.put(
          "resolution",
          r.getParams().getUpscale().name().equals("NONE")
              ? r.getParams().getResolution().name()
              : r.getParams().getUpscale().name());
      if (facts != null) {
        for (String k : new String[] {"modelId", "weightsId", "width", "height", "frames"}) {
          String v = facts.get(k);
          if (v != null) {
            art.put(k, v);
          }
        }
      }
      ObjectNode stats = ds.putObject("outputFacets").putObject("outputStatistics");
      common(stats);
      stats.put("size", a.getSizeBytes());
      stats.put("fileCount", 1);
    }
    return record(r, "COMPLETE", e);
  }

  LineageRecord fail(RenderRequest r, String message, long now) {
    ObjectNode e = event("FAIL", r, now);
    ObjectNode err = runFacets(e).putObject("errorMessage");
    err.put("_producer", PRODUCER);
    err.put("_schemaURL", ERROR_FACET_URL);
    err.put("message", message == null ? "" : message);
    err.put("programmingLanguage", "java");
    return record(r, "FAIL", e);
  }

  LineageRecord abort(RenderRequest r, String reason, long now) {
    ObjectNode e = event("ABORT", r, now);
    if (reason != null) {
      ObjectNode f = runFacets(e).putObject("reelflow_cancellation");
      common(f);
      f.put("reason", reason);
    }
    return record(r, "ABORT", e);
  }

  private ObjectNode event(String type, RenderRequest r, long now) {
    ObjectNode e = MAPPER.createObjectNode();
    e.put("eventType", type);
    e.put("eventTime", Instant.ofEpochMilli(now).toString());
    e.put("producer", PRODUCER);
    e.put("schemaURL", SCHEMA_URL);
    ObjectNode run = e.putObject("run");
    run.put("runId", runId(r.getRequestId()));
    ObjectNode facets = run.putObject("facets");
    String parentJob = null;
    String parentKey = null;
    if (r.getScheduleId() != null) {
      parentJob = "schedule." + r.getScheduleId();
      parentKey =
          "schedule:"
              + r.getScheduleId()
              + ":"
              + (r.getScheduleFireTime() == null ? "" : r.getScheduleFireTime().toEpochMilli());
    } else if (r.getBatchId() != null) {
      parentJob = "batch";
      parentKey = "batch:" + r.getBatchId();
    }
    if (parentJob != null) {
      ObjectNode parent = facets.putObject("parent");
      parent.put("_producer", PRODUCER);
      parent.put("_schemaURL", PARENT_FACET_URL);
      parent
          .putObject("run")
          .put(
              "runId",
              UUID.nameUUIDFromBytes(parentKey.getBytes(StandardCharsets.UTF_8)).toString());
      ObjectNode job = parent.putObject("job");
      job.put("namespace", NAMESPACE);
      job.put("name", parentJob);
    }
    ObjectNode job = e.putObject("job");
    job.put("namespace", NAMESPACE);
    job.put("name", "render." + r.getTenant());
    e.putArray("inputs");
    e.putArray("outputs");
    return e;
  }

  private static ObjectNode runFacets(ObjectNode e) {
    return (ObjectNode) e.get("run").get("facets");
  }

  private static void common(ObjectNode facet) {
    facet.put("_producer", PRODUCER);
    facet.put("_schemaURL", PRODUCER + "#facet");
  }

  private static LineageRecord record(RenderRequest r, String type, ObjectNode e) {
    try {
      return new LineageRecord(r.getRequestId(), type, MAPPER.writeValueAsString(e));
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException("cannot write lineage event of " + r.getRequestId(), ex);
    }
  }
}
