package dev.reelflow.orchestrator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.storage.LineageEvents;
import dev.reelflow.storage.Manifest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

  private static final Logger LOG = LoggerFactory.getLogger(LineageJson.class);

  private final String bucket;
  private final LineageEvents events;

  LineageJson(String bucket) {
    this.bucket = bucket;
    this.events = LineageEvents.forBucket(bucket);
  }

  // Events are built by storage's LineageEvents (the project's one OpenLineage builder). A render
  // it refuses (an id that cannot be a key segment, an output without a valid checksum) still gets
  // its event, built here with the same shape, so lineage never stops the job.

  LineageRecord start(RenderRequest r, long now) {
    try {
      return new LineageRecord(
          r.getRequestId(), "START", events.start(render(r, null), Instant.ofEpochMilli(now)));
    } catch (RuntimeException e) {
      return fallback(r, e, () -> startFallback(r, now));
    }
  }

  LineageRecord running(
      RenderRequest r, Stage stage, int attempt, String workerId, List<String> inputs, long now) {
    try {
      return new LineageRecord(
          r.getRequestId(),
          "RUNNING",
          events.running(
              render(r, null), stage.name(), attempt, workerId, inputs, Instant.ofEpochMilli(now)));
    } catch (RuntimeException e) {
      return fallback(r, e, () -> runningFallback(r, stage, attempt, workerId, now));
    }
  }

  LineageRecord complete(
      RenderRequest r, List<OutputArtifact> outputs, Map<String, String> facts, long now) {
    try {
      List<Manifest.Output> outs = new ArrayList<>();
      for (OutputArtifact a : outputs) {
        outs.add(
            new Manifest.Output(
                a.getName(), a.getKey(), a.getSizeBytes(), a.getSha256(), a.getContentType()));
      }
      return new LineageRecord(
          r.getRequestId(),
          "COMPLETE",
          events.complete(render(r, facts), List.of(), outs, Instant.ofEpochMilli(now)));
    } catch (RuntimeException e) {
      return fallback(r, e, () -> completeFallback(r, outputs, facts, now));
    }
  }

  LineageRecord fail(RenderRequest r, String message, long now) {
    try {
      return new LineageRecord(
          r.getRequestId(),
          "FAIL",
          events.fail(render(r, null), message, null, Instant.ofEpochMilli(now)));
    } catch (RuntimeException e) {
      return fallback(r, e, () -> failFallback(r, message, now));
    }
  }

  /** Cancelled: a FAIL event whose message says so (storage's convention). */
  LineageRecord cancelled(RenderRequest r, String reason, long now) {
    return fail(r, "cancelled: " + (reason == null ? "by request" : reason), now);
  }

  private LineageRecord fallback(
      RenderRequest r, RuntimeException e, java.util.function.Supplier<LineageRecord> own) {
    LOG.warn("lineage of {} built without LineageEvents: {}", r.getRequestId(), e.getMessage());
    return own.get();
  }

  private static LineageEvents.Render render(RenderRequest r, Map<String, String> facts) {
    LineageEvents.Render render = LineageEvents.Render.of(r.getRequestId(), r.getTenant());
    if (r.getScheduleId() != null && r.getScheduleFireTime() != null) {
      render =
          render.withParent(
              LineageEvents.Parent.schedule(r.getScheduleId(), r.getScheduleFireTime()));
    } else if (r.getBatchId() != null) {
      render = render.withParent(LineageEvents.Parent.batch(r.getBatchId()));
    }
    String tier =
        r.getParams().getUpscale() == UpscaleTarget.NONE
            ? r.getParams().getResolution().name()
            : r.getParams().getUpscale().name();
    int w = 0;
    int h = 0;
    if (facts != null) {
      try {
        w = Integer.parseInt(facts.getOrDefault("width", "0"));
        h = Integer.parseInt(facts.getOrDefault("height", "0"));
      } catch (NumberFormatException ignored) {
        w = 0;
        h = 0;
      }
      render =
          render.withModel(
              facts.get("modelId"), facts.get("weightsId"), "emulated".equals(facts.get("engine")));
    }
    return render.withResolution(tier, w, h);
  }

  /** Deterministic OpenLineage run id (a name-based UUID) of a render. */
  static String runId(String requestId) {
    return LineageEvents.runId(requestId).toString();
  }

  private LineageRecord startFallback(RenderRequest r, long now) {
    ObjectNode e = event("START", r, now);
    return record(r, "START", e);
  }

  private LineageRecord runningFallback(
      RenderRequest r, Stage stage, int attempt, String workerId, long now) {
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

  private LineageRecord completeFallback(
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

  private LineageRecord failFallback(RenderRequest r, String message, long now) {
    ObjectNode e = event("FAIL", r, now);
    ObjectNode err = runFacets(e).putObject("errorMessage");
    err.put("_producer", PRODUCER);
    err.put("_schemaURL", ERROR_FACET_URL);
    err.put("message", message == null ? "" : message);
    err.put("programmingLanguage", "java");
    return record(r, "FAIL", e);
  }

  private LineageRecord abortFallback(RenderRequest r, String reason, long now) {
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
    String parentRun = null;
    if (r.getScheduleId() != null && r.getScheduleFireTime() != null) {
      parentJob = "schedule";
      parentRun =
          LineageEvents.parentRunId("schedule", r.getScheduleId() + "@" + r.getScheduleFireTime())
              .toString();
    } else if (r.getBatchId() != null) {
      parentJob = "batch";
      parentRun = LineageEvents.parentRunId("batch", r.getBatchId()).toString();
    }
    if (parentJob != null) {
      ObjectNode parent = facets.putObject("parent");
      parent.put("_producer", PRODUCER);
      parent.put("_schemaURL", PARENT_FACET_URL);
      parent.putObject("run").put("runId", parentRun);
      ObjectNode job = parent.putObject("job");
      job.put("namespace", NAMESPACE);
      job.put("name", parentJob);
    }
    ObjectNode job = e.putObject("job");
    job.put("namespace", NAMESPACE);
    job.put("name", LineageEvents.RENDER_JOB);
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
