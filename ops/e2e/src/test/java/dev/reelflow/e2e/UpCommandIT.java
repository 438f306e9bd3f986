package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.cli.ReelflowCli;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code reelflow up} as a user runs it: a separate JVM that prints its addresses, writes {@code
 * .reelflow/local.json}, serves the README's API calls (the curl examples, made here with
 * java.net.http) and stops cleanly on SIGTERM. Base renders use the EMULATED engine (labelled so)
 * to keep the test short.
 */
class UpCommandIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir Path dir;

  private String api;
  private String key;

  @Test
  void upServesTheReadmeApiAndStopsCleanly() throws Exception {
    List<String> cmd =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx1g",
            "-Dreelflow.log.dir=" + dir.resolve("logs"),
            "-cp",
            System.getProperty("java.class.path"),
            ReelflowCli.class.getName(),
            "up",
            "--dir",
            dir.toString(),
            "--engine",
            "emulated",
            "--upscale-engine",
            "bicubic");
    Process up = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    List<String> printed = new ArrayList<>();
    CountDownLatch ready = new CountDownLatch(1);
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(up.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  synchronized (printed) {
                    printed.add(line);
                  }
                  if (line.startsWith("Written to")) {
                    ready.countDown();
                  }
                }
              } catch (Exception e) {
                // the process ended
              }
            });
    reader.setDaemon(true);
    reader.start();
    try {
      assertThat(ready.await(240, TimeUnit.SECONDS))
          .as("up printed its addresses: %s", printed)
          .isTrue();
      synchronized (printed) {
        assertThat(String.join("\n", printed))
            .contains("ReelFlow is up:")
            .contains("api.url")
            .contains("api.key")
            .contains("kafka.bootstrapServers")
            .contains("schemaRegistry.url")
            .contains("s3.endpoint")
            .contains("console.url");
      }
      JsonNode local = JSON.readTree(dir.resolve(".reelflow/local.json").toFile());
      api = local.path("api").path("url").asText();
      key = local.path("api").path("key").asText();
      assertThat(api).startsWith("http://");
      assertThat(key).isNotEmpty();

      exerciseTheReadmeApi();
    } finally {
      up.destroy(); // SIGTERM, as Ctrl-C: the shutdown hook stops everything
      boolean exited = up.waitFor(90, TimeUnit.SECONDS);
      if (!exited) {
        up.destroyForcibly();
      }
      assertThat(exited).as("up stopped within 90 s of SIGTERM").isTrue();
      reader.join(10_000);
    }
    assertThat(up.descendants().count()).isZero();
  }

  private void exerciseTheReadmeApi() throws Exception {
    String body =
        "{\"prompt\":\"a red fox in the snow\",\"resolution\":\"preview\",\"frames\":9,"
            + "\"steps\":2,\"upscale\":\"none\"}";
    HttpResponse<String> first = post("/v1/renders", body, "application/json", "fox-1");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(202);
    String id = JSON.readTree(first.body()).path("id").asText();
    HttpResponse<String> again = post("/v1/renders", body, "application/json", "fox-1");
    assertThat(again.statusCode()).isIn(200, 202);
    assertThat(JSON.readTree(again.body()).path("id").asText()).isEqualTo(id);

    JsonNode done = awaitFinal(id, Duration.ofSeconds(180));
    assertThat(done.path("status").asText()).as("%s", done).isEqualTo("SUCCEEDED");
    assertThat(done.path("outputs").path("video").asText()).startsWith("http");

    // The SSE stream of a finished render replays its state and ends.
    HttpResponse<String> events =
        HTTP.send(
            request("/v1/renders/" + id + "/events").timeout(Duration.ofSeconds(60)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(events.statusCode()).isEqualTo(200);
    assertThat(events.headers().firstValue("content-type").orElse(""))
        .contains("text/event-stream");
    assertThat(events.body()).contains("SUCCEEDED");

    // Its manifest (from the object store, through the API) and its lineage events.
    HttpResponse<String> manifest =
        HTTP.send(
            request("/v1/renders/" + id + "/manifest").GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(manifest.statusCode()).as(manifest.body()).isEqualTo(200);
    assertThat(JSON.readTree(manifest.body()).path("requestId").asText()).isEqualTo(id);
    assertThat(JSON.readTree(manifest.body()).path("emulated").asBoolean()).isTrue();
    HttpResponse<String> lineage =
        HTTP.send(
            request("/v1/renders/" + id + "/lineage").GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(lineage.statusCode()).as(lineage.body()).isEqualTo(200);
    assertThat(JSON.readTree(lineage.body()).path(0).path("eventType").asText()).isEqualTo("START");

    String sample =
        Files.readString(
            Path.of("..", "cli", "src", "main", "resources", "samples", "demo-batch.ndjson"));
    HttpResponse<String> batch = post("/v1/batches", sample, "application/x-ndjson", null);
    assertThat(batch.statusCode()).as(batch.body()).isEqualTo(202);
    assertThat(JSON.readTree(batch.body()).path("count").asInt())
        .isEqualTo((int) sample.lines().filter(l -> !l.isBlank()).count());
    String batchRender = JSON.readTree(batch.body()).path("batchId").asText() + "-000000";

    HttpResponse<String> patch =
        HTTP.send(
            request("/v1/renders/" + batchRender)
                .header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"priority\":9}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    // Accepted while queued; a conflict once it already runs or ended.
    assertThat(patch.statusCode()).as(patch.body()).isIn(200, 202, 404, 409);

    HttpResponse<String> cancel =
        HTTP.send(
            request("/v1/renders/" + batchRender).DELETE().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(cancel.statusCode()).as(cancel.body()).isIn(202, 404, 409);

    HttpResponse<String> schedule =
        post(
            "/v1/schedules",
            "{\"name\":\"nightly\",\"cron\":\"0 2 * * *\",\"timezone\":\"Europe/Berlin\","
                + "\"template\":{\"prompt\":\"catalogue item\",\"resolution\":\"preview\"}}",
            "application/json",
            null);
    assertThat(schedule.statusCode()).as(schedule.body()).isEqualTo(201);

    for (String path : List.of("/openapi.json", "/healthz", "/readyz", "/metrics")) {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(api + path)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(path).isEqualTo(200);
    }
    HttpResponse<String> problem = post("/v1/renders", "{\"frames\":10}", "application/json", null);
    assertThat(problem.statusCode()).isEqualTo(422);
    assertThat(problem.headers().firstValue("content-type").orElse(""))
        .contains("application/problem+json");
    assertThat(problem.body()).contains("\"field\"").contains("prompt");
  }

  private JsonNode awaitFinal(String id, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      HttpResponse<String> r =
          HTTP.send(
              request("/v1/renders/" + id).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() == 200) {
        last = JSON.readTree(r.body());
        String status = last.path("status").asText();
        if (List.of("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED").contains(status)) {
          return last;
        }
      }
      Thread.sleep(500);
    }
    throw new AssertionError("render " + id + " did not end in " + timeout + ": " + last);
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(api + path))
        .timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + key);
  }

  private HttpResponse<String> post(String path, String body, String type, String idempotencyKey)
      throws Exception {
    HttpRequest.Builder b =
        request(path).header("Content-Type", type).POST(HttpRequest.BodyPublishers.ofString(body));
    if (idempotencyKey != null) {
      b.header("Idempotency-Key", idempotencyKey);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
