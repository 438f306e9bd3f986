package dev.reelflow.storage;

import io.openlineage.client.OpenLineage;
import io.openlineage.client.OpenLineage.RunEvent.EventType;
import io.openlineage.client.OpenLineageClientUtils;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Builds the OpenLineage RunEvents of a render, as JSON strings for {@code render.lineage} (keyed
 * by request id, the OpenLineage Kafka transport convention).
 *
 * <ul>
 *   <li>{@code START} when the render is accepted, {@code RUNNING} when a stage starts, {@code
 *       COMPLETE} with the output datasets, {@code FAIL} with an {@code errorMessage} facet.
 *   <li>Job namespace {@value #NAMESPACE}, job name {@value #RENDER_JOB} (per-stage events: a
 *       {@code reelflow_stage} run facet names the stage, attempt and worker).
 *   <li>The run id is derived from the request id ({@link #runId(String)}), so a replay of the same
 *       render emits the same run id and lineage consumers merge the events.
 *   <li>Output datasets: namespace {@code s3://{bucket}}, name = object key; facets {@code version}
 *       (the SHA-256), {@code outputStatistics} (size) and {@code reelflow_artifact} (sha256,
 *       content type, resolution, model and weights id, emulated).
 *   <li>A batch or schedule run is the {@code parent} run facet (job {@code batch} or {@code
 *       schedule}, run id derived from its id the same way).
 * </ul>
 */
public final class LineageEvents {
  /** Job namespace of every ReelFlow job. */
  public static final String NAMESPACE = "reelflow";

  /** Job name of a render. */
  public static final String RENDER_JOB = "render";

  /** Default producer URI. */
  public static final URI DEFAULT_PRODUCER =
      URI.create("https://github.com/reelflow/reelflow/tree/main/storage");

  /** Schema URL of the custom facets (documented next to this class). */
  static final URI FACET_SCHEMA =
      URI.create(
          "https://github.com/reelflow/reelflow/tree/main/storage/lineage-facets.json#/$defs/");

  private final OpenLineage ol;
  private final URI producer;
  private final String bucket;

  private LineageEvents(URI producer, String bucket) {
    this.producer = producer;
    this.bucket = bucket;
    this.ol = new OpenLineage(producer);
  }

  /** Events for objects in {@code bucket}, produced by {@link #DEFAULT_PRODUCER}. */
  public static LineageEvents forBucket(String bucket) {
    return new LineageEvents(DEFAULT_PRODUCER, bucket);
  }

  /** Events for objects in {@code bucket} with another producer URI. */
  public static LineageEvents of(URI producer, String bucket) {
    return new LineageEvents(Objects.requireNonNull(producer, "producer"), bucket);
  }

  /** Deterministic run id of a render: a name-based UUID of {@code reelflow:render:{id}}. */
  public static UUID runId(String requestId) {
    return nameUuid(RENDER_JOB, requestId);
  }

  /** Deterministic run id of a batch or schedule run ({@code kind} = batch, schedule). */
  public static UUID parentRunId(String kind, String id) {
    return nameUuid(kind, id);
  }

  private static UUID nameUuid(String kind, String id) {
    Objects.requireNonNull(id, "id");
    return UUID.nameUUIDFromBytes(
        (NAMESPACE + ":" + kind + ":" + id).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The parent of a render: a batch ({@code kind} {@code batch}, id = batch id) or a schedule
   * firing ({@code kind} {@code schedule}, id = scheduleId + fire time).
   */
  public record Parent(String kind, String id) {
    public Parent {
      if (kind == null || kind.isBlank() || id == null || id.isBlank()) {
        throw new IllegalArgumentException("parent kind and id must not be blank");
      }
    }

    public static Parent batch(String batchId) {
      return new Parent("batch", batchId);
    }

    public static Parent schedule(String scheduleId, Instant fireTime) {
      return new Parent("schedule", scheduleId + "@" + fireTime);
    }
  }

  /**
   * What lineage says about a render. {@code parent} may be null (a single request); {@code
   * width}/{@code height} 0 and ids null where not known yet (START).
   */
  public record Render(
      String requestId,
      String tenant,
      Parent parent,
      String resolution,
      int width,
      int height,
      String modelId,
      String weightsId,
      boolean emulated) {
    public Render {
      ArtifactKeys.validateId("requestId", requestId);
      ArtifactKeys.validateId("tenant", tenant);
    }

    /** A render with only ids known (START). */
    public static Render of(String requestId, String tenant) {
      return new Render(requestId, tenant, null, null, 0, 0, null, null, false);
    }

    public Render withParent(Parent p) {
      return new Render(
          requestId, tenant, p, resolution, width, height, modelId, weightsId, emulated);
    }

    public Render withResolution(String tier, int w, int h) {
      return new Render(requestId, tenant, parent, tier, w, h, modelId, weightsId, emulated);
    }

    public Render withModel(String model, String weights, boolean isEmulated) {
      return new Render(
          requestId, tenant, parent, resolution, width, height, model, weights, isEmulated);
    }
  }

  /** START: the render was accepted. */
  public String start(Render render, Instant at) {
    return json(event(EventType.START, render, at, null, null, List.of(), List.of()));
  }

  /**
   * RUNNING: a stage attempt started (stage {@code base} or {@code upscale}).
   *
   * @param inputs keys the stage reads (e.g. the base latents for upscale); may be empty
   */
  public String running(
      Render render, String stage, int attempt, String workerId, List<String> inputs, Instant at) {
    return running(render, stage, attempt, workerId, inputs, List.of(), at);
  }

  /**
   * RUNNING with the objects a finished stage wrote (e.g. the base latents and preview that the
   * upscale stage will read), so lineage links the two stages through those datasets.
   */
  public String running(
      Render render,
      String stage,
      int attempt,
      String workerId,
      List<String> inputs,
      List<Manifest.Output> outputs,
      Instant at) {
    Map<String, Object> stageFacet = new LinkedHashMap<>();
    stageFacet.put("stage", stage.toLowerCase(Locale.ROOT));
    stageFacet.put("attempt", attempt);
    stageFacet.put("workerId", workerId);
    return json(event(EventType.RUNNING, render, at, stageFacet, null, inputs, outputs));
  }

  /** COMPLETE: the render succeeded; {@code outputs} are the published objects. */
  public String complete(
      Render render, List<String> inputs, List<Manifest.Output> outputs, Instant at) {
    return json(event(EventType.COMPLETE, render, at, null, null, inputs, outputs));
  }

  /** FAIL: the render failed (or was cancelled or expired: say so in the message). */
  public String fail(Render render, String errorMessage, String stackTrace, Instant at) {
    OpenLineage.ErrorMessageRunFacet error =
        ol.newErrorMessageRunFacet(
            errorMessage == null ? "unknown error" : errorMessage, "JAVA", stackTrace);
    return json(event(EventType.FAIL, render, at, null, error, List.of(), List.of()));
  }

  /** Parses an event back (for consumers and tests). */
  public static OpenLineage.RunEvent parse(String json) {
    return OpenLineageClientUtils.runEventFromJson(json);
  }

  private OpenLineage.RunEvent event(
      EventType type,
      Render render,
      Instant at,
      Map<String, Object> stageFacet,
      OpenLineage.ErrorMessageRunFacet error,
      List<String> inputs,
      List<Manifest.Output> outputs) {
    OpenLineage.RunFacetsBuilder runFacets = ol.newRunFacetsBuilder();
    if (render.parent() != null) {
      Parent p = render.parent();
      runFacets.parent(
          ol.newParentRunFacet(
              ol.newParentRunFacetRun(parentRunId(p.kind(), p.id()), null),
              ol.newParentRunFacetJob(NAMESPACE, p.kind(), null),
              null));
    }
    Map<String, Object> renderFacet = new LinkedHashMap<>();
    renderFacet.put("requestId", render.requestId());
    renderFacet.put("tenant", render.tenant());
    if (render.resolution() != null) {
      renderFacet.put("resolution", render.resolution());
    }
    if (render.modelId() != null) {
      renderFacet.put("modelId", render.modelId());
    }
    if (render.weightsId() != null) {
      renderFacet.put("weightsId", render.weightsId());
    }
    renderFacet.put("emulated", render.emulated());
    runFacets.put("reelflow_render", customRunFacet("RenderRunFacet", renderFacet));
    if (stageFacet != null) {
      runFacets.put("reelflow_stage", customRunFacet("StageRunFacet", stageFacet));
    }
    if (error != null) {
      runFacets.errorMessage(error);
    }
    List<OpenLineage.InputDataset> in = new ArrayList<>();
    for (String key : inputs) {
      in.add(ol.newInputDataset(datasetNamespace(), key, null, null));
    }
    List<OpenLineage.OutputDataset> out = new ArrayList<>();
    for (Manifest.Output o : outputs) {
      Map<String, Object> artifact = new LinkedHashMap<>();
      artifact.put("name", o.name());
      artifact.put("sha256", o.sha256());
      artifact.put("sizeBytes", o.sizeBytes());
      artifact.put("contentType", o.contentType());
      if (render.resolution() != null) {
        artifact.put("resolution", render.resolution());
      }
      if (render.width() > 0 && render.height() > 0) {
        artifact.put("width", render.width());
        artifact.put("height", render.height());
      }
      if (render.modelId() != null) {
        artifact.put("modelId", render.modelId());
      }
      if (render.weightsId() != null) {
        artifact.put("weightsId", render.weightsId());
      }
      artifact.put("emulated", render.emulated());
      OpenLineage.DatasetFacets facets =
          ol.newDatasetFacetsBuilder()
              .version(ol.newDatasetVersionDatasetFacet(o.sha256()))
              .put("reelflow_artifact", customDatasetFacet("ArtifactDatasetFacet", artifact))
              .build();
      OpenLineage.OutputDatasetOutputFacets outFacets =
          ol.newOutputDatasetOutputFacetsBuilder()
              .outputStatistics(ol.newOutputStatisticsOutputDatasetFacet(null, o.sizeBytes(), 1L))
              .build();
      out.add(ol.newOutputDataset(datasetNamespace(), o.key(), facets, outFacets));
    }
    OpenLineage.JobFacets jobFacets =
        ol.newJobFacetsBuilder()
            .jobType(ol.newJobTypeJobFacet("BATCH", "REELFLOW", "RENDER", null))
            .build();
    return ol.newRunEventBuilder()
        .eventType(type)
        .eventTime(ZonedDateTime.ofInstant(at, ZoneOffset.UTC))
        .run(ol.newRun(runId(render.requestId()), runFacets.build()))
        .job(ol.newJob(NAMESPACE, RENDER_JOB, jobFacets))
        .inputs(in)
        .outputs(out)
        .build();
  }

  /** {@code s3://{bucket}}. */
  public String datasetNamespace() {
    return "s3://" + bucket;
  }

  private OpenLineage.RunFacet customRunFacet(String def, Map<String, Object> fields) {
    return new CustomRunFacet(producer, URI.create(FACET_SCHEMA + def), fields);
  }

  private OpenLineage.DatasetFacet customDatasetFacet(String def, Map<String, Object> fields) {
    return new CustomDatasetFacet(producer, URI.create(FACET_SCHEMA + def), fields);
  }

  private static String json(OpenLineage.RunEvent event) {
    return OpenLineageClientUtils.toJson(event);
  }

  /** A run facet of ours: {@code _producer}, {@code _schemaURL} and the fields. */
  static final class CustomRunFacet extends OpenLineage.DefaultRunFacet {
    private final URI schemaUrl;

    CustomRunFacet(URI producer, URI schemaUrl, Map<String, Object> fields) {
      super(producer);
      this.schemaUrl = schemaUrl;
      getAdditionalProperties().putAll(fields);
    }

    @Override
    public URI get_schemaURL() {
      return schemaUrl;
    }
  }

  /** A dataset facet of ours: {@code _producer}, {@code _schemaURL} and the fields. */
  static final class CustomDatasetFacet extends OpenLineage.DefaultDatasetFacet {
    private final URI schemaUrl;

    CustomDatasetFacet(URI producer, URI schemaUrl, Map<String, Object> fields) {
      super(producer, null);
      this.schemaUrl = schemaUrl;
      getAdditionalProperties().putAll(fields);
    }

    @Override
    public URI get_schemaURL() {
      return schemaUrl;
    }
  }
}
