package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.openlineage.client.OpenLineage;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class LineageEventsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant AT = Instant.parse("2026-11-25T10:15:30.123Z");
  private static final String SHA = "ab".repeat(32);
  private final LineageEvents events = LineageEvents.forBucket("reelflow");

  private static LineageEvents.Render render() {
    return LineageEvents.Render.of("r-42", "demo")
        .withParent(LineageEvents.Parent.batch("b-7"))
        .withResolution("1080p", 1920, 1080)
        .withModel("hunyuanvideo-1.5-480p", Manifest.RANDOM_INIT, false);
  }

  /** The fields the OpenLineage 2-0-x RunEvent schema requires, and their shapes. */
  private static void assertSpecShape(JsonNode e, String type) {
    assertThat(e.get("eventType").asText()).isEqualTo(type);
    assertThat(Instant.parse(e.get("eventTime").asText().replace("+00:00", "Z"))).isEqualTo(AT);
    assertThat(e.get("producer").asText()).isEqualTo(LineageEvents.DEFAULT_PRODUCER.toString());
    assertThat(e.get("schemaURL").asText())
        .startsWith("https://openlineage.io/spec/")
        .endsWith("/OpenLineage.json#/$defs/RunEvent");
    assertThat(UUID.fromString(e.get("run").get("runId").asText()))
        .isEqualTo(LineageEvents.runId("r-42"));
    assertThat(e.get("job").get("namespace").asText()).isEqualTo("reelflow");
    assertThat(e.get("job").get("name").asText()).isEqualTo("render");
    assertThat(e.get("inputs").isArray()).isTrue();
    assertThat(e.get("outputs").isArray()).isTrue();
    // Every facet carries _producer and _schemaURL.
    e.get("run")
        .get("facets")
        .fields()
        .forEachRemaining(
            f -> {
              assertThat(f.getValue().has("_producer")).as(f.getKey()).isTrue();
              assertThat(f.getValue().has("_schemaURL")).as(f.getKey()).isTrue();
            });
  }

  @Test
  void startHasTheSpecFieldsAndTheParentRun() throws Exception {
    JsonNode e = JSON.readTree(events.start(render(), AT));
    assertSpecShape(e, "START");
    JsonNode parent = e.get("run").get("facets").get("parent");
    assertThat(parent.get("run").get("runId").asText())
        .isEqualTo(LineageEvents.parentRunId("batch", "b-7").toString());
    assertThat(parent.get("job").get("namespace").asText()).isEqualTo("reelflow");
    assertThat(parent.get("job").get("name").asText()).isEqualTo("batch");
    assertThat(e.get("run").get("facets").get("reelflow_render").get("tenant").asText())
        .isEqualTo("demo");
  }

  @Test
  void runningNamesTheStageAndItsInputs() throws Exception {
    String key = "demo/2026/11/25/r-42/base/attempt-1/latents.safetensors";
    JsonNode e =
        JSON.readTree(events.running(render(), "UPSCALE", 2, "worker-vsr-1", List.of(key), AT));
    assertSpecShape(e, "RUNNING");
    JsonNode stage = e.get("run").get("facets").get("reelflow_stage");
    assertThat(stage.get("stage").asText()).isEqualTo("upscale");
    assertThat(stage.get("attempt").asInt()).isEqualTo(2);
    assertThat(stage.get("workerId").asText()).isEqualTo("worker-vsr-1");
    assertThat(e.get("inputs").get(0).get("namespace").asText()).isEqualTo("s3://reelflow");
    assertThat(e.get("inputs").get(0).get("name").asText()).isEqualTo(key);

    JsonNode baseDone =
        JSON.readTree(
            events.running(
                render(),
                "base",
                1,
                "worker-base-1",
                List.of(),
                List.of(new Manifest.Output("latents", key, 77, SHA, "application/octet-stream")),
                AT));
    assertThat(baseDone.get("outputs").get(0).get("name").asText()).isEqualTo(key);
    assertThat(
            baseDone
                .get("outputs")
                .get(0)
                .get("facets")
                .get("reelflow_artifact")
                .get("name")
                .asText())
        .isEqualTo("latents");
  }

  @Test
  void completeCarriesOutputDatasetsWithSizeChecksumResolutionAndModel() throws Exception {
    String key = "demo/2026/11/25/r-42/final/video.mp4";
    JsonNode e =
        JSON.readTree(
            events.complete(
                render(),
                List.of(),
                List.of(new Manifest.Output("video", key, 5_000_000, SHA, "video/mp4")),
                AT));
    assertSpecShape(e, "COMPLETE");
    JsonNode out = e.get("outputs").get(0);
    assertThat(out.get("namespace").asText()).isEqualTo("s3://reelflow");
    assertThat(out.get("name").asText()).isEqualTo(key);
    assertThat(out.get("facets").get("version").get("datasetVersion").asText()).isEqualTo(SHA);
    JsonNode artifact = out.get("facets").get("reelflow_artifact");
    assertThat(artifact.get("sha256").asText()).isEqualTo(SHA);
    assertThat(artifact.get("sizeBytes").asLong()).isEqualTo(5_000_000);
    assertThat(artifact.get("resolution").asText()).isEqualTo("1080p");
    assertThat(artifact.get("width").asInt()).isEqualTo(1920);
    assertThat(artifact.get("modelId").asText()).isEqualTo("hunyuanvideo-1.5-480p");
    assertThat(artifact.get("weightsId").asText()).isEqualTo("random-init");
    assertThat(artifact.get("_producer").asText()).isNotBlank();
    assertThat(artifact.get("_schemaURL").asText()).contains("ArtifactDatasetFacet");
    assertThat(out.get("outputFacets").get("outputStatistics").get("size").asLong())
        .isEqualTo(5_000_000);
  }

  @Test
  void failCarriesTheErrorMessageFacet() throws Exception {
    JsonNode e = JSON.readTree(events.fail(render(), "CUDA out of memory at step 12", "trace", AT));
    assertSpecShape(e, "FAIL");
    JsonNode err = e.get("run").get("facets").get("errorMessage");
    assertThat(err.get("message").asText()).isEqualTo("CUDA out of memory at step 12");
    assertThat(err.get("programmingLanguage").asText()).isEqualTo("JAVA");
    assertThat(err.get("_schemaURL").asText()).contains("ErrorMessageRunFacet");
  }

  /** The custom facets carry what the module's lineage-facets.json schema requires. */
  @Test
  void customFacetsMatchTheirPublishedSchema() throws Exception {
    JsonNode defs =
        JSON.readTree(java.nio.file.Path.of("lineage-facets.json").toFile()).get("$defs");
    JsonNode e =
        JSON.readTree(
            events.complete(
                render(),
                List.of(),
                List.of(new Manifest.Output("video", "demo/k.mp4", 1, SHA, "video/mp4")),
                AT));
    JsonNode running = JSON.readTree(events.running(render(), "base", 1, "w-1", List.of(), AT));
    assertRequired(defs.get("RenderRunFacet"), e.get("run").get("facets").get("reelflow_render"));
    assertRequired(
        defs.get("StageRunFacet"), running.get("run").get("facets").get("reelflow_stage"));
    assertRequired(
        defs.get("ArtifactDatasetFacet"),
        e.get("outputs").get(0).get("facets").get("reelflow_artifact"));
  }

  private static void assertRequired(JsonNode schema, JsonNode facet) {
    for (JsonNode field : schema.get("required")) {
      assertThat(facet.has(field.asText())).as(field.asText()).isTrue();
    }
    facet
        .fieldNames()
        .forEachRemaining(f -> assertThat(schema.get("properties").has(f)).as(f).isTrue());
    assertThat(facet.get("_schemaURL").asText())
        .startsWith("https://github.com/reelflow/reelflow/tree/main/storage/lineage-facets.json");
  }

  @Test
  void runIdIsDeterministicPerRequestAndDistinctAcrossRequests() {
    assertThat(LineageEvents.runId("r-42")).isEqualTo(LineageEvents.runId("r-42"));
    assertThat(LineageEvents.runId("r-42")).isNotEqualTo(LineageEvents.runId("r-43"));
    assertThat(LineageEvents.runId("r-42"))
        .isNotEqualTo(LineageEvents.parentRunId("batch", "r-42"));
  }

  @Test
  void eventsParseBackWithTheOpenLineageClient() {
    OpenLineage.RunEvent back = LineageEvents.parse(events.start(render(), AT));
    assertThat(back.getEventType()).isEqualTo(OpenLineage.RunEvent.EventType.START);
    assertThat(back.getRun().getRunId()).isEqualTo(LineageEvents.runId("r-42"));
    assertThat(back.getJob().getName()).isEqualTo("render");
  }
}
