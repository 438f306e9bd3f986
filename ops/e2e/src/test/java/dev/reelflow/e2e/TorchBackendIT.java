package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.worker.WorkerConfig;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A render through the whole pipeline with both pools on {@code backend=torch}: libtorch on the
 * CPU, the same Java code the {@code cuda} backend runs on a GPU. The base pool runs the native
 * engine (tiny, seeded random weights), the upscale pool the official SR stage (latent-sr, tiny,
 * random weights); the manifest's stage entries say which backend ran them.
 */
@ExtendWith(SharedPipeline.class)
class TorchBackendIT {
  static final Duration WAIT = Duration.ofMinutes(4);

  static SharedPipeline p;
  static WorkerJvm base;
  static WorkerJvm upscale;

  @BeforeAll
  static void startWorkers(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    Map<String, String> common = new HashMap<>(SharedPipeline.workerSettings(0, 30_000));
    common.put(WorkerConfig.BACKEND.name(), "torch");
    Map<String, String> b = new HashMap<>(common);
    b.put(WorkerConfig.ENGINE.name(), "native");
    b.put("engine.native.threads", "1");
    Map<String, String> u = new HashMap<>(common);
    u.put(WorkerConfig.POOL.name(), "upscale");
    u.put(WorkerConfig.ENGINE.name(), "latent-sr");
    u.put("engine.latent-sr.threads", "1");
    u.put("engine.latent-sr.steps", "2");
    u.put("engine.latent-sr.hr-base-size", "128");
    base = p.startWorker("tb-base", b);
    upscale = p.startWorker("tb-up", u);
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

  @Test
  void bothStagesRunOnLibtorchAndSaySo() {
    RenderApi.Answer a =
        p.api()
            .call(
                "POST",
                "/v1/renders",
                "{\"prompt\":\"a paper boat, torch\",\"resolution\":\"preview\",\"frames\":9,"
                    + "\"steps\":2,\"upscale\":\"1080p\",\"seed\":5}");
    assertThat(a.status()).as(a.body()).isEqualTo(202);
    String id = a.json().get("id").asText();
    p.events()
        .awaitStatus(
            WAIT,
            "SUCCEEDED status of " + id,
            s -> s.getRequestId().equals(id) && s.getState() == RenderState.SUCCEEDED);
    RenderApi.Answer m = p.api().call("GET", "/v1/renders/" + id + "/manifest", null);
    assertThat(m.status()).as(m.body()).isEqualTo(200);
    JsonNode manifest = m.json();
    assertThat(manifest.path("backend").asText()).isEqualTo("torch");
    assertThat(manifest.path("stages")).hasSize(2);
    for (JsonNode stage : manifest.path("stages")) {
      assertThat(stage.path("backend").asText()).as("%s", stage).isEqualTo("torch");
    }
    assertThat(manifest.path("resolution").path("width").asInt()).isEqualTo(1920);
  }
}
