package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.LineageEvents;
import dev.reelflow.storage.Manifest;
import dev.reelflow.storage.ObjectAttributes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code GET /v1/renders/{id}/manifest} and {@code /lineage} on the embedded stack: the manifest
 * from the S3 endpoint, the lineage from render.lineage, the tenant from render.status.
 */
class RenderInspectionIT {
  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  static final String KEY_A = "it-key-acme";
  static final String KEY_B = "it-key-globex";
  static IngestServer server;
  static ApiClient a;
  static ApiClient b;
  static KafkaTopics kafka;
  static KafkaProducer<String, String> lineageProducer;
  static ArtifactStore store;
  static final LineageEvents EVENTS = LineageEvents.forBucket("reelflow");

  static IngestConfig.Builder config() {
    return IngestConfig.builder()
        .port(0)
        .bootstrapServers(STACK.stack().bootstrapServers())
        .schemaRegistryUrl(STACK.stack().schemaRegistryUrl())
        .apiKeys("acme:" + ApiKeys.hash(KEY_A) + ",globex:" + ApiKeys.hash(KEY_B))
        .rateLimit(100_000, 100_000)
        .set(IngestConfig.WEBHOOKS_ENABLED, "false");
  }

  @BeforeAll
  static void start() throws Exception {
    TopicProvisioner.builder()
        .bootstrapServers(STACK.stack().bootstrapServers())
        .build()
        .provision();
    store =
        ArtifactStore.builder()
            .endpoint(STACK.stack().s3Endpoint())
            .credentials(STACK.stack().s3AccessKey(), STACK.stack().s3SecretKey())
            .bucket(STACK.stack().bucket())
            .build();
    store.ensureBucket();
    server =
        IngestServer.builder(
                config()
                    .instanceId("it-inspect")
                    .s3(
                        STACK.stack().s3Endpoint(),
                        STACK.stack().s3AccessKey(),
                        STACK.stack().s3SecretKey(),
                        STACK.stack().bucket())
                    .build())
            .build()
            .start();
    assertThat(server.awaitReady(Duration.ofSeconds(60))).isTrue();
    a = new ApiClient(server.baseUrl(), KEY_A);
    b = new ApiClient(server.baseUrl(), KEY_B);
    kafka = new KafkaTopics(STACK.stack().bootstrapServers(), STACK.stack().schemaRegistryUrl());
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, STACK.stack().bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    lineageProducer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (lineageProducer != null) {
      lineageProducer.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    if (store != null) {
      store.close();
    }
  }

  static RenderStatus.Builder status(String id, String tenant, RenderState state, long version) {
    Instant now = Instant.now();
    return RenderStatus.newBuilder()
        .setRequestId(id)
        .setTenant(tenant)
        .setState(state)
        .setSeed(4711L)
        .setVersion(version)
        .setCreatedAt(now)
        .setUpdatedAt(now);
  }

  /** Publishes a manifest of the render and a SUCCEEDED status that lists it. */
  static String succeeded(String id, String tenant, boolean uploadManifest) {
    Instant created = Instant.parse("2026-11-25T10:00:00Z");
    String key = ArtifactKeys.finalManifest(tenant, created, id);
    byte[] manifest =
        ("{\"schema\":\""
                + Manifest.SCHEMA
                + "\",\"requestId\":\""
                + id
                + "\",\"tenant\":\""
                + tenant
                + "\",\"seed\":4711,\"resolution\":{\"tier\":\"preview\",\"width\":256,"
                + "\"height\":144},\"weightsId\":\"random-init\"}")
            .getBytes(StandardCharsets.UTF_8);
    if (uploadManifest) {
      store.publish(key, manifest, ObjectAttributes.ofType(Manifest.CONTENT_TYPE));
    }
    kafka.write(
        "render.status",
        id,
        status(id, tenant, RenderState.SUCCEEDED, 9)
            .setOutputs(
                List.of(
                    new OutputArtifact(
                        "manifest",
                        key,
                        (long) manifest.length,
                        sha256(manifest),
                        Manifest.CONTENT_TYPE)))
            .build());
    return key;
  }

  static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of()
          .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static void lineage(String id, String json) {
    try {
      lineageProducer.send(new ProducerRecord<>("render.lineage", id, json)).get();
    } catch (Exception e) {
      throw new AssertionError("write to render.lineage failed", e);
    }
  }

  static ApiClient.Answer await(
      ApiClient c, String path, Predicate<ApiClient.Answer> done, Duration timeout) {
    long until = System.nanoTime() + timeout.toNanos();
    ApiClient.Answer last = c.get(path);
    while (!done.test(last) && System.nanoTime() < until) {
      sleep(100);
      last = c.get(path);
    }
    return last;
  }

  static void sleep(long ms) {
    try {
      TimeUnit.MILLISECONDS.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static void assertProblem(ApiClient.Answer r, int status, String detailContains) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.header("Content-Type")).startsWith("application/problem+json");
    assertThat(r.json().get("detail").asText()).contains(detailContains);
  }

  @Test
  void manifestOfAFinishedRenderIsReadFromTheObjectStore() {
    String id = "r-it-manifest-1";
    succeeded(id, "acme", true);
    ApiClient.Answer r =
        await(a, "/v1/renders/" + id + "/manifest", x -> x.status() == 200, Duration.ofSeconds(20));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.header("Content-Type")).startsWith("application/json");
    JsonNode m = r.json();
    assertThat(m.get("requestId").asText()).isEqualTo(id);
    assertThat(m.get("seed").asLong()).isEqualTo(4711);
    assertThat(m.get("resolution").get("width").asInt()).isEqualTo(256);
    assertThat(m.get("weightsId").asText()).isEqualTo("random-init");

    // Another tenant's render is absent, as on every other render route.
    assertProblem(b.get("/v1/renders/" + id + "/manifest"), 404, "No render '" + id + "'");
    assertProblem(b.get("/v1/renders/" + id + "/lineage"), 404, "No render '" + id + "'");
    assertProblem(a.get("/v1/renders/r-it-nobody/manifest"), 404, "No render");
  }

  @Test
  void noManifestYetSaysWhy() {
    String running = "r-it-manifest-running";
    kafka.write(
        "render.status",
        running,
        status(running, "acme", RenderState.RENDERING, 3).setStage(Stage.BASE).build());
    ApiClient.Answer r =
        await(
            a,
            "/v1/renders/" + running + "/manifest",
            x -> x.body().contains("RENDERING"),
            Duration.ofSeconds(20));
    assertProblem(r, 404, "has no manifest yet: it is RENDERING (stage BASE)");

    String failed = "r-it-manifest-failed";
    kafka.write("render.status", failed, status(failed, "acme", RenderState.FAILED, 5).build());
    r =
        await(
            a,
            "/v1/renders/" + failed + "/manifest",
            x -> x.body().contains("FAILED"),
            Duration.ofSeconds(20));
    assertProblem(r, 404, "ended FAILED without a manifest");

    // Listed by the status but not (or no longer) in the store.
    String lost = "r-it-manifest-lost";
    String key = succeeded(lost, "acme", false);
    r =
        await(
            a,
            "/v1/renders/" + lost + "/manifest",
            x -> x.body().contains("object store"),
            Duration.ofSeconds(20));
    assertProblem(r, 404, key);
  }

  @Test
  void objectStoreDownAnswers503() throws Exception {
    String id = "r-it-manifest-s3-down";
    succeeded(id, "acme", true);
    int deadPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    try (IngestServer down =
        IngestServer.builder(
                config()
                    .instanceId("it-s3-down")
                    .s3("http://localhost:" + deadPort, "ak", "sk", "reelflow")
                    .set(IngestConfig.S3_READ_TIMEOUT, "1s")
                    .build())
            .build()
            .start()) {
      assertThat(down.awaitReady(Duration.ofSeconds(60))).isTrue();
      ApiClient c = new ApiClient(down.baseUrl(), KEY_A);
      await(c, "/v1/renders/" + id, x -> x.status() == 200, Duration.ofSeconds(20));
      long t0 = System.nanoTime();
      ApiClient.Answer r = c.get("/v1/renders/" + id + "/manifest");
      assertProblem(r, 503, "object store");
      assertThat(r.header("Retry-After")).isNotNull();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    }
  }

  @Test
  void lineageEventsComeBackInTheOrderTheyWereProduced() throws Exception {
    String id = "r-it-lineage-1";
    Instant t = Instant.parse("2026-11-25T10:00:00Z");
    LineageEvents.Render render = LineageEvents.Render.of(id, "acme");
    byte[] bytes = "video".getBytes(StandardCharsets.UTF_8);
    String key = ArtifactKeys.finalVideo("acme", t, id);
    List<String> produced =
        List.of(
            EVENTS.start(render, t),
            EVENTS.running(render, "base", 1, "w-1", List.of(), t.plusSeconds(1)),
            EVENTS.running(render, "upscale", 1, "w-2", List.of(), t.plusSeconds(2)),
            EVENTS.complete(
                render.withResolution("P1080", 1920, 1080).withModel("m", "random-init", false),
                List.of(),
                List.of(
                    new Manifest.Output("video", key, bytes.length, sha256(bytes), "video/mp4")),
                t.plusSeconds(3)));
    // The render is known (QUEUED) before any event: an empty list, not an error.
    kafka.write("render.status", id, status(id, "acme", RenderState.QUEUED, 1).build());
    ApiClient.Answer empty =
        await(a, "/v1/renders/" + id + "/lineage", x -> x.status() == 200, Duration.ofSeconds(20));
    assertThat(empty.status()).as(empty.body()).isEqualTo(200);
    assertThat(empty.json().isArray()).isTrue();
    assertThat(empty.json()).isEmpty();
    for (String e : produced) {
      lineage(id, e);
    }
    kafka.write("render.status", id, status(id, "acme", RenderState.SUCCEEDED, 9).build());
    ApiClient.Answer r =
        await(
            a,
            "/v1/renders/" + id + "/lineage",
            x -> x.status() == 200 && x.json().size() == 4,
            Duration.ofSeconds(20));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.header("Content-Type")).startsWith("application/json");
    List<String> types = new ArrayList<>();
    r.json().forEach(e -> types.add(e.get("eventType").asText()));
    assertThat(types).containsExactly("START", "RUNNING", "RUNNING", "COMPLETE");
    JsonNode complete = r.json().get(3);
    assertThat(complete.get("run").get("runId").asText())
        .isEqualTo(LineageEvents.runId(id).toString());
    assertThat(complete.get("job").get("name").asText()).isEqualTo("render");
    assertThat(complete.get("outputs").get(0).get("name").asText()).isEqualTo(key);
    assertThat(r.json().get(1).get("run").get("facets").get("reelflow_stage").get("stage").asText())
        .isEqualTo("base");
    // Each event as produced, byte for byte (the view does not rewrite them).
    for (int i = 0; i < produced.size(); i++) {
      assertThat(r.json().get(i)).isEqualTo(ApiClient.JSON.readTree(produced.get(i)));
    }
  }

  @Test
  void evictedLineageAnswers404SayingSo() throws Exception {
    try (IngestServer small =
        IngestServer.builder(config().instanceId("it-lineage-small").lineageMaxRenders(2).build())
            .build()
            .start()) {
      ApiClient c = new ApiClient(small.baseUrl(), KEY_A);
      List<String> ids = List.of("r-it-evict-1", "r-it-evict-2", "r-it-evict-3");
      for (String id : ids) {
        kafka.write("render.status", id, status(id, "acme", RenderState.SUCCEEDED, 9).build());
        lineage(id, EVENTS.start(LineageEvents.Render.of(id, "acme"), Instant.now()));
        // One at a time, so the view's order of latest events is the order written here.
        ApiClient.Answer held =
            await(
                c,
                "/v1/renders/" + id + "/lineage",
                x -> x.status() == 200 && x.json().size() == 1,
                Duration.ofSeconds(30));
        assertThat(held.status()).as(held.body()).isEqualTo(200);
      }
      ApiClient.Answer gone = c.get("/v1/renders/r-it-evict-1/lineage");
      assertProblem(gone, 404, "evicted");
      assertThat(gone.json().get("detail").asText())
          .contains(IngestConfig.LINEAGE_MAX_RENDERS.name())
          .contains("render.lineage");
      assertThat(c.get("/v1/renders/r-it-evict-3/lineage").json()).hasSize(1);
      // The instance with the default bound still holds all three.
      ApiClient.Answer big =
          await(
              a,
              "/v1/renders/r-it-evict-1/lineage",
              x -> x.status() == 200 && x.json().size() == 1,
              Duration.ofSeconds(20));
      assertThat(big.status()).as(big.body()).isEqualTo(200);
    }
  }
}
