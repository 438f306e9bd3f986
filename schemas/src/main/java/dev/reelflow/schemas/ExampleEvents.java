package dev.reelflow.schemas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.schemas.serde.UnreadableRecordException;
import dev.reelflow.schemas.serde.WireFormat;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * One realistic example of each message of the AsyncAPI document, built with the generated
 * SpecificRecord builders (so they always match the schemas) and shown as a consumer's deserializer
 * returns them ({@link AvroPlainJson}). They all describe the one sample render of {@link
 * ExampleRecords}, which uses the largest seed a client may give.
 */
final class ExampleEvents {

  /** An example message: its name, one line, headers (render.dlq only) and payload. */
  record Example(String name, String summary, Map<String, String> headers, JsonNode payload) {}

  static final String ID = ExampleRecords.ID;
  static final String TENANT = ExampleRecords.TENANT;
  static final Instant T0 = ExampleRecords.SUBMITTED_AT;
  static final String FINAL = TENANT + "/2026/11/25/" + ID + "/final/";
  static final String BASE = TENANT + "/2026/11/25/" + ID + "/base/attempt-1/";

  private ExampleEvents() {}

  static List<Example> of(String messageName) {
    return switch (messageName) {
      case "RenderRequest" -> List.of(avro("fox", "A render asked for through the API", request()));
      case "RenderCommand" ->
          List.of(
              avro(
                  "cancel",
                  "DELETE /v1/renders/{id}",
                  RenderCommand.newBuilder()
                      .setCommandId("c-2kq7w9x4m3")
                      .setRequestId(ID)
                      .setTenant(TENANT)
                      .setType(CommandType.CANCEL)
                      .setReason("cancelled through the API")
                      .setIssuedAt(T0.plusSeconds(20))
                      .build()));
      case "RenderTask" ->
          List.of(
              avro("base", "The base stage's first attempt", task(Stage.BASE)),
              avro("upscale", "The upscale stage, pointing at the base artifacts", upscaleTask()));
      case "StageEvent" ->
          List.of(
              avro("progress", "Step 4 of 8 of the base stage", progress()),
              avro("completed", "The upscale stage published the final objects", completed()));
      case "WorkerEvent" -> List.of(avro("ready", "A base worker with a free slot", worker()));
      case "RenderStatus" ->
          List.of(
              avro("rendering", "The base stage at step 4 of 8", rendering()),
              avro("succeeded", "The final status: outputs published", succeeded()));
      case "DeadLetter" -> List.of(deadLetter());
      case "Schedule" ->
          List.of(avro("nightly", "A nightly bulk render in Berlin time", nightly()));
      case "OpenLineageRunEvent" -> List.of(lineageComplete());
      default -> throw new IllegalArgumentException("no example of " + messageName);
    };
  }

  private static Example avro(String name, String summary, SpecificRecord record) {
    return new Example(name, summary, Map.of(), AvroPlainJson.of(record));
  }

  static RenderParams params() {
    return ExampleRecords.renderParams();
  }

  static RenderRequest request() {
    return ExampleRecords.renderRequest();
  }

  static RenderTask task(Stage stage) {
    String stageDir = stage == Stage.BASE ? "base" : "upscale";
    return RenderTask.newBuilder()
        .setTaskId(ID + ":" + stage + ":1")
        .setRequestId(ID)
        .setTenant(TENANT)
        .setStage(stage)
        .setAttempt(1)
        .setParams(params())
        .setPriority(5)
        .setOutputPrefix(TENANT + "/2026/11/25/" + ID + "/" + stageDir + "/attempt-1/")
        .setFinalPrefix(FINAL)
        .setPublishFinal(stage == Stage.UPSCALE)
        .setLeaseMillis(30_000L)
        .setLineageRunId("5b0f5d0e-3c8e-3a43-9a55-0d4c2a6f1e21")
        .setCreatedAt(T0)
        .setDispatchedAt(T0.plusMillis(410))
        .build();
  }

  static RenderTask upscaleTask() {
    RenderTask t = task(Stage.UPSCALE);
    t.setInputs(
        new LinkedHashMap<>(
            Map.of(
                "latents", BASE + "latents.safetensors",
                "preview", BASE + "preview.mp4",
                "manifest", BASE + "manifest.json")));
    t.setDispatchedAt(T0.plusSeconds(14));
    return t;
  }

  static StageEvent progress() {
    return StageEvent.newBuilder()
        .setEventId("e-9m2k4q7x")
        .setTaskId(ID + ":BASE:1")
        .setRequestId(ID)
        .setTenant(TENANT)
        .setStage(Stage.BASE)
        .setAttempt(1)
        .setWorkerId("base-0")
        .setType(StageEventType.PROGRESS)
        .setAt(T0.plusSeconds(6))
        .setStep(4)
        .setTotalSteps(8)
        .setEtaMillis(4_800L)
        .setMessage("denoise")
        .build();
  }

  static List<OutputArtifact> finalOutputs() {
    List<OutputArtifact> out = new ArrayList<>();
    out.add(artifact("video", FINAL + "video.mp4", 1_843_225L, "video/mp4"));
    out.add(artifact("poster", FINAL + "poster.jpg", 48_310L, "image/jpeg"));
    out.add(artifact("manifest", FINAL + "manifest.json", 2_911L, "application/json"));
    return out;
  }

  private static OutputArtifact artifact(String name, String key, long size, String type) {
    return OutputArtifact.newBuilder()
        .setName(name)
        .setKey(key)
        .setSizeBytes(size)
        .setSha256("9f2c" + "0".repeat(56) + "a1b2")
        .setContentType(type)
        .build();
  }

  static StageEvent completed() {
    return StageEvent.newBuilder(progress())
        .setEventId("e-3h8w5n1c")
        .setTaskId(ID + ":UPSCALE:1")
        .setStage(Stage.UPSCALE)
        .setWorkerId("upscale-0")
        .setType(StageEventType.COMPLETED)
        .setAt(T0.plusSeconds(31))
        .setStep(null)
        .setTotalSteps(null)
        .setEtaMillis(null)
        .setMessage(null)
        .setOutputs(finalOutputs())
        .setFacts(
            new LinkedHashMap<>(
                Map.of(
                    "engine", "esrgan",
                    "backend", "cuda:0",
                    "width", "1920",
                    "height", "1080",
                    "frames", "33")))
        .build();
  }

  static WorkerEvent worker() {
    return WorkerEvent.newBuilder()
        .setEventId("w-4j7p2x9q")
        .setWorkerId("base-0")
        .setPool(Stage.BASE)
        .setType(WorkerEventType.READY)
        .setFreeSlots(1)
        .setTotalSlots(1)
        .setOwnedPartitions(new ArrayList<>(List.of(0, 1, 2, 3)))
        .setDevice("NVIDIA H100 80GB HBM3")
        .setDeviceMemoryBytes(85_520_809_984L)
        .setEngine("native")
        .setAt(T0)
        .build();
  }

  static RenderStatus rendering() {
    return RenderStatus.newBuilder()
        .setRequestId(ID)
        .setTenant(TENANT)
        .setState(RenderState.RENDERING)
        .setStage(Stage.BASE)
        .setAttempt(1)
        .setAttempts(1)
        .setStep(4)
        .setTotalSteps(8)
        .setEtaMillis(4_800L)
        .setWorkerId("base-0")
        .setPriority(5)
        .setLabels(new LinkedHashMap<>(Map.of("campaign", "winter")))
        .setPrompt(params().getPrompt())
        .setSeed(WireNumbers.MAX_SEED)
        .setLineageRunId("5b0f5d0e-3c8e-3a43-9a55-0d4c2a6f1e21")
        .setVersion(5L << 20)
        .setCreatedAt(T0)
        .setUpdatedAt(T0.plusSeconds(6))
        .build();
  }

  static RenderStatus succeeded() {
    return RenderStatus.newBuilder(rendering())
        .setState(RenderState.SUCCEEDED)
        .setStage(Stage.UPSCALE)
        .setAttempts(2)
        .setStep(null)
        .setTotalSteps(null)
        .setEtaMillis(null)
        .setWorkerId("upscale-0")
        .setOutputs(finalOutputs())
        .setVersion(11L << 20)
        .setUpdatedAt(T0.plusSeconds(31))
        .build();
  }

  static Schedule nightly() {
    return Schedule.newBuilder()
        .setScheduleId("s-nightly-catalogue")
        .setTenant(TENANT)
        .setName("nightly catalogue")
        .setCron("0 2 * * *")
        .setTimezone("Europe/Berlin")
        .setTemplate(RenderParams.newBuilder(params()).setSeed(0L).build())
        .setRows(
            new ArrayList<>(
                List.of("{\"prompt\":\"catalogue item 1\"}", "{\"prompt\":\"catalogue item 2\"}")))
        .setPriority(3)
        .setLabels(new LinkedHashMap<>(Map.of("team", "catalogue")))
        .setCreatedAt(T0)
        .setUpdatedAt(T0)
        .build();
  }

  private static Example deadLetter() {
    byte[] raw = "not avro".getBytes(StandardCharsets.UTF_8);
    UnreadableRecordException error;
    try {
      WireFormat.schemaId(raw);
      throw new IllegalStateException("\"not avro\" read as Confluent wire format");
    } catch (UnreadableRecordException e) {
      error = e;
    }
    DeadLetter letter =
        DeadLetters.builder()
            .sourceTopic(Topics.REQUESTS)
            .partition(3)
            .offset(1_204L)
            .key("r-garbage")
            .value(raw)
            .error(error)
            .component("orchestrator")
            .at(T0)
            .build();
    return new Example(
        "unreadable",
        "Bytes on render.requests that are not Confluent wire format",
        DeadLetters.headerValues(letter),
        AvroPlainJson.of(letter));
  }

  private static Example lineageComplete() {
    String json =
        """
        {
          "eventType": "COMPLETE",
          "eventTime": "2026-11-25T10:16:01.123Z",
          "run": {
            "runId": "5b0f5d0e-3c8e-3a43-9a55-0d4c2a6f1e21",
            "facets": {
              "reelflow_render": {
                "_producer": "https://github.com/reelflow/reelflow/tree/main/storage",
                "_schemaURL": "https://github.com/reelflow/reelflow/tree/main/storage/lineage-facets.json#/$defs/RenderRunFacet",
                "requestId": "%1$s",
                "tenant": "acme",
                "resolution": "preview",
                "modelId": "hunyuanvideo-1.5-480p_t2v",
                "weightsId": "dit=480p_t2v@sha256:4be1;vae=vae@sha256:77d0",
                "emulated": false
              }
            }
          },
          "job": {
            "namespace": "reelflow",
            "name": "render",
            "facets": {
              "jobType": {
                "_producer": "https://github.com/reelflow/reelflow/tree/main/storage",
                "_schemaURL": "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
                "processingType": "BATCH",
                "integration": "REELFLOW",
                "jobType": "RENDER"
              }
            }
          },
          "inputs": [],
          "outputs": [
            {
              "namespace": "s3://reelflow",
              "name": "%2$svideo.mp4",
              "facets": {
                "version": {
                  "_producer": "https://github.com/reelflow/reelflow/tree/main/storage",
                  "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
                  "datasetVersion": "9f2c00000000000000000000000000000000000000000000000000000000a1b2"
                },
                "reelflow_artifact": {
                  "_producer": "https://github.com/reelflow/reelflow/tree/main/storage",
                  "_schemaURL": "https://github.com/reelflow/reelflow/tree/main/storage/lineage-facets.json#/$defs/ArtifactDatasetFacet",
                  "name": "video",
                  "sha256": "9f2c00000000000000000000000000000000000000000000000000000000a1b2",
                  "sizeBytes": 1843225,
                  "contentType": "video/mp4",
                  "resolution": "preview",
                  "width": 1920,
                  "height": 1080,
                  "modelId": "hunyuanvideo-1.5-480p_t2v",
                  "weightsId": "dit=480p_t2v@sha256:4be1;vae=vae@sha256:77d0",
                  "emulated": false
                }
              },
              "outputFacets": {
                "outputStatistics": {
                  "_producer": "https://github.com/reelflow/reelflow/tree/main/storage",
                  "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
                  "rowCount": 1,
                  "size": 1843225
                }
              }
            }
          ],
          "producer": "https://github.com/reelflow/reelflow/tree/main/storage",
          "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
        }
        """
            .formatted(ID, FINAL);
    try {
      return new Example(
          "complete",
          "The render finished: its published objects are the output datasets",
          Map.of(),
          new ObjectMapper().readTree(json));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
