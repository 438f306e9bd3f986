package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.KeyOutsideTenantException;
import dev.reelflow.storage.ObjectNotFoundException;
import dev.reelflow.storage.StorageException;
import io.javalin.http.Context;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a render produced, read through the API so that a browser never has to reach the object
 * store or Kafka itself: its final {@code manifest.json} (from the object store) and its
 * OpenLineage events (from the {@link LineageView} of render.lineage). Both are tenant-isolated
 * through the status view, like every other render route.
 */
final class InspectionRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(InspectionRoutes.class);
  private static final String MANIFEST_OUTPUT = "manifest";
  private static final Duration LINEAGE_CATCHUP = Duration.ofSeconds(1);

  private final IngestServices s;
  private final RenderRoutes renders;

  InspectionRoutes(IngestServices services, RenderRoutes renders) {
    this.s = services;
    this.renders = renders;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/renders/{id}/manifest", this::manifest, true),
        new Route("GET", "/v1/renders/{id}/lineage", this::lineage, true));
  }

  // ---------------------------------------------------------------- manifest

  void manifest(Context ctx, Tenant tenant) {
    RenderStatus st = renders.find(tenant, ctx.pathParam("id"));
    String id = st.getRequestId();
    String key = outputKey(st, MANIFEST_OUTPUT);
    if (key == null) {
      throw ApiException.notFound(noManifestYet(st));
    }
    ArtifactStore store =
        s.store()
            .orElseThrow(
                () ->
                    ApiException.unavailable(
                        "This ingest has no object store configured ("
                            + IngestConfig.S3_ENDPOINT
                            + "), so it cannot read the manifest of render "
                            + id,
                        60));
    byte[] body;
    try {
      // The status view already matched the tenant; the key check keeps a status that names
      // another tenant's object from ever serving it.
      ArtifactKeys.requireTenant(tenant.id(), key);
      body = store.getBytes(key, true);
    } catch (KeyOutsideTenantException e) {
      LOG.warn("Render {} of {} lists a manifest outside its tenant: {}", id, tenant.id(), key);
      throw ApiException.notFound("Render " + id + " has no manifest of its own");
    } catch (ObjectNotFoundException e) {
      throw ApiException.notFound(
          "Render "
              + id
              + " lists manifest.json at '"
              + key
              + "' but the object store has no object there");
    } catch (StorageException e) {
      LOG.warn("Reading the manifest of {} failed: {}", id, e.getMessage());
      throw ApiException.unavailable(
          "The object store did not answer in time; the manifest of render "
              + id
              + " could not be read. Retry later.",
          5);
    }
    try {
      JsonNode doc = s.json().readTree(body);
      if (doc == null || !doc.isObject()) {
        throw new IOException("not a JSON object");
      }
    } catch (IOException e) {
      // Served as application/json, so it must be JSON; the workers write it that way.
      LOG.error("manifest.json of {} at {} is not a JSON object: {}", id, key, e.getMessage());
      throw new ApiException(
          500, "Internal error", "The manifest of render " + id + " is not a JSON document");
    }
    ctx.status(200).contentType("application/json").result(body);
  }

  private static String outputKey(RenderStatus st, String name) {
    for (OutputArtifact a : st.getOutputs()) {
      if (name.equals(a.getName())) {
        return a.getKey();
      }
    }
    return null;
  }

  private static String noManifestYet(RenderStatus st) {
    String id = st.getRequestId();
    RenderState state = st.getState();
    if (state == RenderState.SUCCEEDED) {
      return "Render " + id + " succeeded but its status lists no manifest.json output";
    }
    if (Vocabulary.isTerminal(state)) {
      return "Render "
          + id
          + " ended "
          + Vocabulary.state(state)
          + " without a manifest: manifest.json is written only when a render succeeds";
    }
    return "Render "
        + id
        + " has no manifest yet: it is "
        + Vocabulary.state(state)
        + (st.getStage() == null ? "" : " (stage " + Vocabulary.stage(st.getStage()) + ")")
        + ", and manifest.json is written when it succeeds";
  }

  // ---------------------------------------------------------------- lineage

  void lineage(Context ctx, Tenant tenant) {
    RenderStatus st = renders.find(tenant, ctx.pathParam("id"));
    String id = st.getRequestId();
    LineageView view = s.lineage();
    if (!view.isReplayed()) {
      throw ApiException.unavailable(
          "The lineage view is still reading "
              + s.topic(IngestConfig.TOPIC_LINEAGE)
              + " from the beginning; retry shortly",
          2);
    }
    // Read what was committed before this call, so a render the status view shows as finished
    // usually has its final event too (both come from the same orchestrator checkpoint).
    s.catchup().lineage(LINEAGE_CATCHUP);
    Optional<List<byte[]>> events = view.get(id);
    if (events.isEmpty()
        && (view.wasEvicted(id) || (Vocabulary.isTerminal(st.getState()) && view.evictedAny()))) {
      // A finished render always had events (START at least): none held means evicted.
      throw ApiException.notFound(
          "The lineage events of render "
              + id
              + " are not held: this instance keeps the events of the "
              + view.maxRenders()
              + " renders with the most recent events ("
              + IngestConfig.LINEAGE_MAX_RENDERS
              + ") and evicted older ones; they remain on "
              + s.topic(IngestConfig.TOPIC_LINEAGE)
              + " for its retention");
    }
    // A render the orchestrator has not started yet has no events: an empty list, not an error.
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write('[');
    boolean first = true;
    for (byte[] e : events.orElse(List.of())) {
      if (!first) {
        out.write(',');
      }
      out.writeBytes(e);
      first = false;
    }
    out.write(']');
    ctx.status(200).contentType("application/json").result(out.toByteArray());
  }
}
