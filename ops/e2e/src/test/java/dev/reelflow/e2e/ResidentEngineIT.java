package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.stack.RequiredTools;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.StoredObject;
import dev.reelflow.worker.WorkerConfig;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A batch of renders through the whole pipeline (API, orchestrator, both pools as worker JVMs) with
 * the {@code resident} engine in both pools running the FAKE resident server (a Python 3 stand-in
 * that renders test patterns and says it is emulated): the base worker has two slots, so two
 * programs, each loading its model once for all the renders it takes; the upscale worker one. Every
 * render ends SUCCEEDED with exactly one final video.
 */
@ExtendWith(SharedPipeline.class)
class ResidentEngineIT {
  static final Duration WAIT = Duration.ofMinutes(4);
  static final Path FAKE =
      Path.of(
              "..",
              "..",
              "gpu-operator",
              "src",
              "test",
              "resources",
              "dev",
              "reelflow",
              "worker",
              "fake-resident-server.py")
          .toAbsolutePath()
          .normalize();
  static final ObjectMapper JSON = new ObjectMapper();

  static SharedPipeline p;
  static WorkerJvm base;
  static WorkerJvm upscale;
  static Path baseLoads;
  static Path upscaleLoads;

  static Path python() {
    if (Files.isExecutable(Path.of("/usr/bin/python3"))) {
      return Path.of("/usr/bin/python3");
    }
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, "python3"))) {
        return Path.of(d, "python3");
      }
    }
    return null;
  }

  static Map<String, String> resident(String loadLog) {
    Map<String, String> m = new HashMap<>(SharedPipeline.workerSettings(0, 30_000));
    m.put(WorkerConfig.ENGINE.name(), "resident");
    m.put(
        "engine.resident.command",
        "\""
            + python()
            + "\" \""
            + FAKE
            + "\" --load-seconds 2 --step-seconds 0.02 --load-log \""
            + loadLog
            + "\"");
    m.put("engine.resident.load-timeout", "60s");
    return m;
  }

  @BeforeAll
  static void startWorkers(SharedPipeline pipeline) throws Exception {
    RequiredTools.assume(
        "python3",
        python() != null,
        "no python3 (neither /usr/bin/python3 nor on PATH) for the fake resident server");
    p = pipeline;
    Path dir = Files.createTempDirectory("reelflow-resident-e2e");
    baseLoads = dir.resolve("base-loads.log");
    upscaleLoads = dir.resolve("upscale-loads.log");
    Map<String, String> b = resident(baseLoads.toString());
    b.put(WorkerConfig.SLOTS.name(), "2");
    Map<String, String> u = resident(upscaleLoads.toString());
    u.put(WorkerConfig.POOL.name(), "upscale");
    base = p.startWorker("rs-base", b);
    upscale = p.startWorker("rs-up", u);
    for (String id : List.of("rs-base-0", "rs-base-1", "rs-up")) {
      WorkerJvm jvm = id.startsWith("rs-up") ? upscale : base;
      try {
        p.events()
            .awaitWorker(
                WAIT,
                "a free slot from " + id + " once its program is loaded",
                e ->
                    e.getWorkerId().equals(id)
                        && e.getType() == WorkerEventType.READY
                        && e.getFreeSlots() > 0);
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "\n--- worker log ---\n" + jvm.tail(), e);
      }
    }
  }

  @AfterAll
  static void stopWorkers() {
    for (WorkerJvm w : new WorkerJvm[] {base, upscale}) {
      if (w != null) {
        w.close();
      }
    }
  }

  /** POST /v1/batches with {@code rows} NDJSON rows; the render ids in row order. */
  static List<String> submitBatch(List<String> rows) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(p.pipeline().apiUrl() + "/v1/batches"))
                    .timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + p.pipeline().apiKey())
                    .header("Content-Type", "application/x-ndjson")
                    .POST(HttpRequest.BodyPublishers.ofString(String.join("\n", rows) + "\n"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("POST /v1/batches: %s", r.body()).isEqualTo(202);
    JsonNode json = JSON.readTree(r.body());
    assertThat(json.path("count").asInt()).isEqualTo(rows.size());
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      ids.add(String.format("%s-%06d", json.path("batchId").asText(), i));
    }
    return ids;
  }

  @Test
  void aBatchRendersWithOneModelLoadPerSlotAndOneFinalVideoPerRender() throws Exception {
    List<String> rows = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      rows.add(
          "{\"prompt\":\"resident render "
              + i
              + "\",\"resolution\":\"preview\",\"frames\":9,\"steps\":3,\"seed\":"
              + (100 + i)
              + ",\"upscale\":\""
              + (i < 2 ? "1080p" : "none")
              + "\"}");
    }
    List<String> ids = submitBatch(rows);
    for (String id : ids) {
      try {
        p.events()
            .awaitStatus(
                WAIT,
                "SUCCEEDED of " + id,
                s -> {
                  if (s.getRequestId().equals(id) && s.getState() == RenderState.FAILED) {
                    throw new AssertionError("FAILED\n" + p.describe(id));
                  }
                  return s.getRequestId().equals(id) && s.getState() == RenderState.SUCCEEDED;
                });
      } catch (AssertionError e) {
        throw new AssertionError(
            e.getMessage()
                + "\n"
                + p.describe(id)
                + "\n--- base ---\n"
                + base.tail()
                + "\n--- upscale ---\n"
                + upscale.tail(),
            e);
      }
    }
    // A duplicate final status or COMPLETED would show once the checkpoints begun now completed.
    p.awaitCommitted();

    Set<String> baseWorkers = new HashSet<>();
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      boolean upscaled = i < 2;
      List<StageEvent> events = p.events().events(id);
      assertThat(events.stream().filter(e -> e.getType() == StageEventType.FAILED))
          .as("no failed attempt\n%s", p.describe(id))
          .isEmpty();
      List<StageEvent> completed =
          events.stream().filter(e -> e.getType() == StageEventType.COMPLETED).toList();
      assertThat(completed)
          .as("one COMPLETED per stage\n%s", p.describe(id))
          .hasSize(upscaled ? 2 : 1);
      StageEvent baseDone =
          completed.stream().filter(e -> e.getStage() == Stage.BASE).findFirst().orElseThrow();
      baseWorkers.add(baseDone.getWorkerId());
      assertThat(baseDone.getFacts())
          .containsEntry("engine", "resident")
          .containsEntry("emulated", "true")
          .containsEntry("modelId", "fake-resident");
      assertThat(
              p.events().statuses(id).stream().filter(s -> s.getState() == RenderState.SUCCEEDED))
          .as("one SUCCEEDED status")
          .hasSize(1);

      RenderStatus last = p.events().statuses(id).get(p.events().statuses(id).size() - 1);
      String finalPrefix = ArtifactKeys.finalPrefix(last.getTenant(), last.getCreatedAt(), id);
      List<String> finals = p.store().list(finalPrefix).stream().map(StoredObject::key).toList();
      assertThat(finals.stream().filter(k -> k.endsWith("/" + ArtifactKeys.VIDEO_FILE)))
          .as("final videos under %s: %s", finalPrefix, finals)
          .hasSize(1);
      JsonNode manifest =
          JSON.readTree(p.store().getBytes(finalPrefix + ArtifactKeys.MANIFEST_FILE, true));
      assertThat(manifest.path("emulated").asBoolean()).as("%s", manifest).isTrue();
      if (upscaled) {
        assertThat(manifest.path("resolution").path("width").asInt()).isEqualTo(1920);
        assertThat(manifest.path("resolution").path("height").asInt()).isEqualTo(1080);
        StageEvent up =
            completed.stream().filter(e -> e.getStage() == Stage.UPSCALE).findFirst().orElseThrow();
        assertThat(up.getWorkerId()).isEqualTo("rs-up");
        assertThat(up.getFacts())
            .containsEntry("engine", "resident")
            .as("the upscale program read the base latents")
            .containsEntry("fakeInputLatents", "32x3x9x16");
      }
    }
    List<String> loads = Files.readAllLines(baseLoads);
    assertThat(loads)
        .as("one model load per base slot for %d renders: %s", ids.size(), loads)
        .hasSize(2);
    assertThat(new HashSet<>(loads)).as("two programs").hasSize(2);
    assertThat(Files.readAllLines(upscaleLoads)).as("one load in the upscale slot").hasSize(1);
    assertThat(baseWorkers).as("base workers of the renders").isSubsetOf("rs-base-0", "rs-base-1");
  }
}
