package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestTest {
  private static final String SHA_A = "a".repeat(64);
  private static final String SHA_B = "0123456789abcdef".repeat(4);
  private static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");

  static Manifest sample() {
    return Manifest.builder()
        .requestId("r-42")
        .tenant("demo")
        .prompt("a red fox in the snow")
        .negativePrompt("blurry")
        .seed(1234567890123L)
        .mode("t2v")
        .resolution("480p", 848, 480)
        .upscale("1080p")
        .aspectRatio("16:9")
        .frames(121)
        .fps(24)
        .steps(50)
        .guidance(6.0)
        .modelId("hunyuanvideo-1.5-480p")
        .weightsId(Manifest.RANDOM_INIT)
        .engine("native")
        .backend("cpu")
        .device("cpu x2")
        .addStage(
            new Manifest.StageRun(
                "BASE",
                "worker-base-1",
                1,
                T0,
                T0.plusMillis(65_000),
                null,
                null,
                null,
                List.of(
                    new Manifest.Output(
                        "latents",
                        "demo/2026/11/25/r-42/base/attempt-1/latents.safetensors",
                        1024,
                        SHA_A,
                        "application/octet-stream"))))
        .addStage(
            new Manifest.StageRun(
                "upscale",
                "worker-vsr-1",
                2,
                T0.plusSeconds(70),
                T0.plusSeconds(90),
                "esrgan",
                "cuda",
                "NVIDIA H100",
                "upscalerjs-esrgan-thick-x2",
                "esrgan-thick@1.0.0",
                List.of()))
        .addOutput(
            new Manifest.Output(
                "video", "demo/2026/11/25/r-42/final/video.mp4", 5_000_000, SHA_B, "video/mp4"))
        .lineageRunId(LineageEvents.runId("r-42").toString())
        .createdAt(T0)
        .build();
  }

  @Test
  void roundTripsThroughJson() {
    Manifest m = sample();
    Manifest back = Manifest.fromJson(m.toJson());
    assertThat(back).isEqualTo(m);
    assertThat(back.stages()).hasSize(2);
    assertThat(back.stages().get(0).stage()).isEqualTo("base");
    assertThat(back.stages().get(0).duration().toMillis()).isEqualTo(65_000);
    assertThat(back.stages().get(1).backend()).isEqualTo("cuda");
    assertThat(back.outputs().get(0).sha256()).isEqualTo(SHA_B);
    assertThat(back.seed()).isEqualTo(1234567890123L);
    assertThat(back.randomInit()).isTrue();
  }

  @Test
  void jsonCarriesSchemaVersionAndTheDocumentedFields() throws Exception {
    JsonNode json = new ObjectMapper().readTree(sample().toJson());
    assertThat(json.get("schema").asText()).isEqualTo("reelflow.manifest/v1");
    assertThat(json.get("weightsId").asText()).isEqualTo("random-init");
    assertThat(json.get("resolution").get("width").asInt()).isEqualTo(848);
    assertThat(json.get("resolution").get("tier").asText()).isEqualTo("480p");
    assertThat(json.get("emulated").asBoolean()).isFalse();
    assertThat(json.get("stages").get(0).get("durationMillis").asLong()).isEqualTo(65_000);
    assertThat(json.get("stages").get(0).has("weightsId")).isFalse();
    assertThat(json.get("stages").get(1).get("weightsId").asText()).isEqualTo("esrgan-thick@1.0.0");
    assertThat(json.get("stages").get(1).get("modelId").asText())
        .isEqualTo("upscalerjs-esrgan-thick-x2");
    assertThat(json.get("stages").get(0).get("outputs").get(0).get("sizeBytes").asLong())
        .isEqualTo(1024);
    assertThat(json.get("lineageRunId").asText()).isEqualTo(LineageEvents.runId("r-42").toString());
  }

  @Test
  void emulatedEngineIsAlwaysFlagged() throws Exception {
    Manifest m = sample().toBuilder().engine("emulated").emulated(false).build();
    assertThat(m.emulated()).isTrue();
    assertThat(new ObjectMapper().readTree(m.toJson()).get("emulated").asBoolean()).isTrue();
  }

  @Test
  void refusesAnotherSchemaVersion() throws Exception {
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(sample().toJson());
    json.put("schema", "reelflow.manifest/v2");
    assertThatThrownBy(() -> Manifest.fromJson(json.toString()))
        .isInstanceOf(ManifestFormatException.class)
        .hasMessageContaining("reelflow.manifest/v2")
        .hasMessageContaining("reelflow.manifest/v1");
  }

  @Test
  void namesTheMissingField() throws Exception {
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(sample().toJson());
    json.remove("modelId");
    assertThatThrownBy(() -> Manifest.fromJson(json.toString()))
        .isInstanceOf(ManifestFormatException.class)
        .hasMessageContaining("\"modelId\"");
  }

  @Test
  void refusesABadChecksumAndBadJson() throws Exception {
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(sample().toJson());
    ((ObjectNode) json.get("outputs").get(0)).put("sha256", "XYZ");
    assertThatThrownBy(() -> Manifest.fromJson(json.toString()))
        .isInstanceOf(ManifestFormatException.class)
        .hasMessageContaining("sha256");
    assertThatThrownBy(() -> Manifest.fromJson("{not json"))
        .isInstanceOf(ManifestFormatException.class)
        .hasMessageContaining("not valid JSON");
    assertThatThrownBy(() -> Manifest.fromJson("{}"))
        .isInstanceOf(ManifestFormatException.class)
        .hasMessageContaining("schema");
  }

  @Test
  void outputsConvertToAndFromTheAvroRecord() {
    Manifest.Output o =
        new Manifest.Output("video", "demo/2026/11/25/r-1/final/video.mp4", 42, SHA_B, "video/mp4");
    dev.reelflow.schemas.avro.OutputArtifact avro = o.toAvro();
    assertThat(avro.getSha256()).isEqualTo(SHA_B);
    assertThat(avro.getSizeBytes()).isEqualTo(42);
    assertThat(Manifest.Output.fromAvro(avro)).isEqualTo(o);
  }

  @Test
  void builderValidates() {
    assertThatThrownBy(() -> sample().toBuilder().frames(0).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("frames");
    assertThatThrownBy(() -> sample().toBuilder().requestId("a/b").build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                new Manifest.StageRun(
                    "base", "w", 1, T0, T0.minusSeconds(1), null, null, null, List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("before");
  }
}
