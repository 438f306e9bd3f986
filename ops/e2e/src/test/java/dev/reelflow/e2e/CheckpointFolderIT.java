package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.worker.WorkerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Renders through the whole pipeline (API, orchestrator, both pools as their own JVMs) from a
 * checkpoint folder with the released layout: a synthetic one with tiny shapes, written by the
 * test. The base pool runs the native engine on the folder's 480p T2V variant, the upscale pool the
 * official SR stage (latent-sr) from its SR transformer, upsampler and VAE; both on the CPU. The
 * manifests name the folder's variants and fingerprints, never random-init. An image-to-video
 * render sends its first frame inline (ingest stores it, the base worker fetches it from S3) and
 * renders the folder's 480p I2V variant with the folder's tiny SigLIP; the SR stage fetches it too
 * and conditions on its latents and SigLIP states.
 */
@ExtendWith(SharedPipeline.class)
class CheckpointFolderIT {
  static final Duration WAIT = Duration.ofMinutes(4);

  static SharedPipeline p;
  static Path folder;
  static WorkerJvm base;
  static WorkerJvm upscale;

  @BeforeAll
  static void startWorkers(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    folder =
        SyntheticModelFolder.writeDefault(
            Files.createTempDirectory("reelflow-ckpt").resolve("HunyuanVideo-1.5"));
    Map<String, String> common = new HashMap<>(SharedPipeline.workerSettings(0, 30_000));
    common.put(WorkerConfig.MODEL_DIR.name(), folder.toString());
    Map<String, String> b = new HashMap<>(common);
    b.put(WorkerConfig.ENGINE.name(), "native");
    b.put("engine.native.threads", "1");
    Map<String, String> u = new HashMap<>(common);
    u.put(WorkerConfig.POOL.name(), "upscale");
    u.put(WorkerConfig.ENGINE.name(), "latent-sr");
    u.put("engine.latent-sr.threads", "1");
    u.put("engine.latent-sr.steps", "2");
    u.put("engine.latent-sr.hr-base-size", "128");
    base = p.startWorker("ck-base", b);
    upscale = p.startWorker("ck-up", u);
    p.awaitReady(WAIT, base, upscale);
  }

  @AfterAll
  static void stopWorkers() {
    for (WorkerJvm w : new WorkerJvm[] {base, upscale}) {
      if (w != null) {
        w.close();
      }
    }
  }

  private String submit(String upscaleTo) {
    RenderApi.Answer a =
        p.api()
            .call(
                "POST",
                "/v1/renders",
                "{\"prompt\":\"a lighthouse in fog\",\"resolution\":\"preview\",\"frames\":9,"
                    + "\"steps\":2,\"upscale\":\""
                    + upscaleTo
                    + "\",\"seed\":11}");
    assertThat(a.status()).as(a.body()).isEqualTo(202);
    return a.json().get("id").asText();
  }

  private JsonNode manifestOf(String id) {
    p.events()
        .awaitStatus(
            WAIT,
            "SUCCEEDED status of " + id,
            s -> s.getRequestId().equals(id) && s.getState() == RenderState.SUCCEEDED);
    RenderApi.Answer m = p.api().call("GET", "/v1/renders/" + id + "/manifest", null);
    assertThat(m.status()).as(m.body()).isEqualTo(200);
    return m.json();
  }

  @Test
  void aTextToVideoRenderNamesTheBaseVariantAndItsFingerprint() {
    String id = submit("none");
    JsonNode m = manifestOf(id);
    assertThat(m.path("modelId").asText()).isEqualTo("hunyuanvideo-1.5-480p_t2v");
    assertThat(m.path("weightsId").asText())
        .startsWith("dit=480p_t2v@sha256:")
        .contains(";vae=vae@sha256:")
        .doesNotContain("random-init");
    assertThat(m.path("engine").asText()).isEqualTo("native");
    // the folder's own text encoders ran (Qwen2.5-VL's language model and the byT5 glyph
    // encoder), not the byte-level stand-in of the random-init demo
    dev.reelflow.schemas.avro.StageEvent base =
        p.events()
            .awaitStage(
                WAIT,
                "base COMPLETED of " + id,
                e ->
                    e.getRequestId().equals(id)
                        && e.getStage() == dev.reelflow.schemas.avro.Stage.BASE
                        && e.getType() == dev.reelflow.schemas.avro.StageEventType.COMPLETED);
    assertThat(base.getFacts().get("textEncoder"))
        .startsWith("mllm=qwen2.5-vl-llm@")
        .contains("glyph=byt5-glyph@")
        .doesNotContain("stand-in");
  }

  @Test
  void anImageToVideoRenderFromAnInlineImageRunsTheI2vVariantWithSiglip() throws Exception {
    java.awt.image.BufferedImage im =
        new java.awt.image.BufferedImage(96, 64, java.awt.image.BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 64; y++) {
      for (int x = 0; x < 96; x++) {
        im.setRGB(x, y, (x * 2) << 16 | (y * 3) << 8 | 0x40);
      }
    }
    java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
    javax.imageio.ImageIO.write(im, "png", png);
    String dataUri =
        "data:image/png;base64," + java.util.Base64.getEncoder().encodeToString(png.toByteArray());
    RenderApi.Answer a =
        p.api()
            .call(
                "POST",
                "/v1/renders",
                "{\"prompt\":\"the lighthouse beam sweeps\",\"mode\":\"i2v\",\"imageUrl\":\""
                    + dataUri
                    + "\",\"resolution\":\"preview\",\"frames\":9,\"steps\":2,"
                    + "\"upscale\":\"1080p\",\"seed\":12}");
    assertThat(a.status()).as(a.body()).isEqualTo(202);
    String id = a.json().get("id").asText();
    JsonNode m = manifestOf(id);
    assertThat(m.path("mode").asText()).isEqualTo("i2v");
    // both stages conditioned on the first frame: the base on 480p_i2v, the SR stage as well
    dev.reelflow.schemas.avro.StageEvent up =
        p.events()
            .awaitStage(
                WAIT,
                "upscale COMPLETED of " + id,
                e ->
                    e.getRequestId().equals(id)
                        && e.getStage() == dev.reelflow.schemas.avro.Stage.UPSCALE
                        && e.getType() == dev.reelflow.schemas.avro.StageEventType.COMPLETED);
    assertThat(up.getFacts().get("srCondition"))
        .startsWith("i2v (reference image latents")
        .contains("SigLIP states siglip@sha256:");
    assertThat(m.path("modelId").asText()).isEqualTo("hunyuanvideo-1.5-480p_i2v");
    assertThat(m.path("weightsId").asText())
        .startsWith("dit=480p_i2v@sha256:")
        .contains(";vision=siglip@sha256:")
        .doesNotContain("random-init");
    assertThat(m.path("resolution").path("width").asInt()).isEqualTo(1920);
  }

  @Test
  void anUpscaledRenderRunsTheOfficialSrStageFromTheFolder() {
    JsonNode m = manifestOf(submit("1080p"));
    assertThat(m.path("weightsId").asText()).startsWith("dit=480p_t2v@sha256:");
    JsonNode up = null;
    for (JsonNode s : m.path("stages")) {
      if (s.path("stage").asText().equals("upscale")) {
        up = s;
      }
    }
    assertThat(up).as("upscale stage in %s", m).isNotNull();
    assertThat(up.path("engine").asText()).isEqualTo("latent-sr");
    // the SR stage's own model and weights: the folder, not random-init
    assertThat(up.path("weightsId").asText())
        .contains(folder.getFileName().toString())
        .doesNotContain("random-init");
    assertThat(up.path("modelId").asText()).contains("sr_distilled");
    assertThat(m.path("resolution").path("width").asInt()).isEqualTo(1920);
    assertThat(m.path("resolution").path("height").asInt()).isEqualTo(1080);
  }
}
