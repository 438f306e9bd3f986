package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.storage.StoredObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 17's security probes on the whole pipeline (the ingest unit tests {@code
 * SecurityProbesTest} and {@code SlowClientProbesTest} probe the API alone): presigned output URLs
 * that expired or were altered are refused by the object store with 403, and after every probe the
 * leak check reads the pipeline's own records instead of trusting the API: the bucket listed under
 * the tenant and render.status read with read_committed hold nothing but the one legitimate render.
 * A base worker JVM with the EMULATED engine renders it.
 */
@ExtendWith(SharedPipeline.class)
class SecurityProbesIT {
  static final Duration WAIT = Duration.ofSeconds(120);
  static SharedPipeline p;
  static WorkerJvm worker;
  static Path workerDir;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    workerDir = RenderHistoryChecker.reportDir().resolve("workers-security-probes");
    worker =
        WorkerJvm.start(
            "sec-1",
            workerDir,
            p.pipeline().workerConnection(),
            SharedPipeline.workerSettings(10, 30_000));
    p.awaitReady(WAIT, worker);
  }

  @AfterAll
  static void stop() {
    if (worker != null) {
      worker.close();
    }
  }

  static int get(URI url) throws Exception {
    return http.send(
            HttpRequest.newBuilder(url).GET().build(), HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  static String body(URI url) throws Exception {
    return http.send(
            HttpRequest.newBuilder(url).GET().build(), HttpResponse.BodyHandlers.ofString())
        .body();
  }

  static URI replaceParam(URI url, String name, String value) {
    Matcher m = Pattern.compile("([?&]" + name + "=)([^&]*)").matcher(url.toString());
    assertThat(m.find()).as("%s has %s", url, name).isTrue();
    return URI.create(
        url.toString().substring(0, m.start(2)) + value + url.toString().substring(m.end(2)));
  }

  @Test
  void expiredOrAlteredPresignedUrlsAreRefusedAndNothingLeaks() throws Exception {
    String tenant = dev.reelflow.ingest.LocalTenant.DEFAULT_TENANT; // the local pipeline's one
    Instant probesBegan = Instant.now();
    int statusesBefore = p.events().statuses.size();
    Set<String> keysBefore = new HashSet<>();
    p.store().list(tenant + "/").forEach(o -> keysBefore.add(o.key()));

    String id = p.api().submitPreview("a locked vault, security probe", 1);
    JsonNode done = Await.until(WAIT, "SUCCEEDED of " + id, () -> p.api().inState(id, "SUCCEEDED"));
    URI video = URI.create(done.path("outputs").path("video").asText());
    URI poster = URI.create(done.path("outputs").path("poster").asText());
    assertThat(get(video)).as("the API's presigned URL works: %s", video).isEqualTo(200);

    // Altered: each part of the signed request changed with the signature kept.
    String videoPath = video.getRawPath();
    String posterPath = poster.getRawPath();
    URI otherObject = URI.create(video.toString().replace(videoPath, posterPath));
    URI longer = replaceParam(video, "X-Amz-Expires", "604800");
    URI earlier = replaceParam(video, "X-Amz-Date", "20200101T000000Z");
    Matcher sig = Pattern.compile("X-Amz-Signature=([0-9a-f]+)").matcher(video.toString());
    assertThat(sig.find()).isTrue();
    String flipped = (sig.group(1).charAt(0) == '0' ? "1" : "0") + sig.group(1).substring(1);
    URI badSignature = replaceParam(video, "X-Amz-Signature", flipped);
    URI otherTenant = URI.create(video.toString().replace("/" + tenant + "/", "/another-tenant/"));
    URI unsigned = URI.create(video.toString().substring(0, video.toString().indexOf('?')));
    Map<String, URI> altered =
        Map.of(
            "another object's key",
            otherObject,
            "a longer X-Amz-Expires",
            longer,
            "an earlier X-Amz-Date",
            earlier,
            "a changed signature",
            badSignature,
            "another tenant's prefix",
            otherTenant,
            "no signature",
            unsigned);
    List<String> accepted = new ArrayList<>();
    for (Map.Entry<String, URI> e : altered.entrySet()) {
      int status = get(e.getValue());
      if (status != 403) {
        accepted.add(e.getKey() + " → " + status);
      }
    }
    assertThat(accepted).as("altered presigned URLs answered other than 403").isEmpty();

    // Expired: the presigner the API uses, with the shortest validity S3 allows (1 s).
    String videoKey = done.path("outputs").path("video").asText();
    String key =
        URI.create(videoKey)
            .getPath()
            .substring(("/" + p.pipeline().stack().bucket() + "/").length());
    URI shortLived = p.store().presignGetForTenant(tenant, key, Duration.ofSeconds(1));
    Thread.sleep(2_500);
    assertThat(get(shortLived)).as("an expired presigned URL").isEqualTo(403);
    assertThat(body(shortLived)).contains("AccessDenied");

    // Refused submissions (the API's own probes, here against the real publisher).
    RenderApi wrongKey = new RenderApi(p.pipeline().apiUrl(), "rf_wrong");
    assertThat(wrongKey.call("POST", "/v1/renders", "{\"prompt\":\"x\"}").status()).isEqualTo(401);
    assertThat(
            p.api()
                .call("POST", "/v1/renders", "{\"prompt\":\"x\",\"labels\":{\"../etc\":\"v\"}}")
                .status())
        .isEqualTo(422);
    assertThat(
            p.api()
                .call("POST", "/v1/renders", "{\"prompt\":\"x\",\"labels\":{\"k\\u0001\":\"v\"}}")
                .status())
        .isEqualTo(422);
    assertThat(
            p.api()
                .call("POST", "/v1/renders", "{\"prompt\":\"" + "x".repeat(5_000) + "\"}")
                .status())
        .isEqualTo(422);

    // The leak check, from the pipeline's records: once the checkpoints begun after now completed,
    // anything the probes made the orchestrator write is committed and read.
    p.awaitCommitted();
    Set<String> others = new HashSet<>();
    List<RenderStatus> after = List.copyOf(p.events().statuses);
    for (RenderStatus s : after.subList(statusesBefore, after.size())) {
      if (!s.getRequestId().equals(id) && !s.getCreatedAt().isBefore(probesBegan)) {
        others.add(s.getRequestId());
      }
    }
    assertThat(others).as("renders on render.status created by the probes").isEmpty();
    assertThat(p.events().statuses(id))
        .filteredOn(s -> RenderHistoryChecker.terminal(s.getState()))
        .extracting(RenderStatus::getState)
        .containsExactly(RenderState.SUCCEEDED);
    List<String> newKeys = new ArrayList<>();
    for (StoredObject o : p.store().list(tenant + "/")) {
      if (!keysBefore.contains(o.key()) && !o.key().contains("/" + id + "/")) {
        newKeys.add(o.key());
      }
    }
    assertThat(newKeys).as("objects the probes left in the bucket").isEmpty();
  }
}
