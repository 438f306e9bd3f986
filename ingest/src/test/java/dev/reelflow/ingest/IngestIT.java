package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.stack.LocalStackExtension;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Ingest on the embedded stack (Kafka KRaft broker, schema registry): two ingest instances on one
 * broker, real transactions, the status view fed through render.status, SSE and webhooks.
 */
class IngestIT {
  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  static final String KEY_A = "it-key-acme";
  static final String KEY_B = "it-key-globex";
  static IngestServer one;
  static IngestServer two;
  static ApiClient a1;
  static ApiClient a2;
  static ApiClient b1;
  static KafkaTopics kafka;
  static final List<Received> hooks = new CopyOnWriteArrayList<>();
  static final AtomicInteger hookFailuresLeft = new AtomicInteger();
  static HttpServer receiver;

  record Received(String deliveryId, String signature, byte[] body) {}

  static IngestConfig.Builder config() {
    return IngestConfig.builder()
        .port(0)
        .bootstrapServers(STACK.stack().bootstrapServers())
        .schemaRegistryUrl(STACK.stack().schemaRegistryUrl())
        .apiKeys(
            "acme:"
                + ApiKeys.hash(KEY_A)
                + ":whsec-acme,globex:"
                + ApiKeys.hash(KEY_B)
                + ":whsec-globex")
        .rateLimit(100_000, 100_000)
        .webhooks(true, Duration.ofMillis(200), Duration.ofHours(1))
        .webhookAllow(true, "127.0.0.1");
  }

  @BeforeAll
  static void start() throws Exception {
    TopicProvisioner.builder()
        .bootstrapServers(STACK.stack().bootstrapServers())
        .build()
        .provision();
    one =
        IngestServer.builder(
                config()
                    .instanceId("it-one")
                    .s3(
                        STACK.stack().s3Endpoint(),
                        STACK.stack().s3AccessKey(),
                        STACK.stack().s3SecretKey(),
                        STACK.stack().bucket())
                    .build())
            .build()
            .start();
    two =
        IngestServer.builder(
                config().instanceId("it-two").set(IngestConfig.WEBHOOKS_ENABLED, "false").build())
            .build()
            .start();
    assertThat(one.awaitReady(Duration.ofSeconds(60))).isTrue();
    assertThat(two.awaitReady(Duration.ofSeconds(60))).isTrue();
    a1 = new ApiClient(one.baseUrl(), KEY_A);
    a2 = new ApiClient(two.baseUrl(), KEY_A);
    b1 = new ApiClient(one.baseUrl(), KEY_B);
    kafka = new KafkaTopics(STACK.stack().bootstrapServers(), STACK.stack().schemaRegistryUrl());
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext(
        "/hook",
        ex -> {
          byte[] body = ex.getRequestBody().readAllBytes();
          hooks.add(
              new Received(
                  ex.getRequestHeaders().getFirst(WebhookDispatcher.DELIVERY),
                  ex.getRequestHeaders().getFirst(WebhookDispatcher.SIGNATURE),
                  body));
          int code = hookFailuresLeft.getAndDecrement() > 0 ? 503 : 204;
          ex.sendResponseHeaders(code, -1);
          ex.close();
        });
    receiver.start();
  }

  @AfterAll
  static void stop() {
    if (receiver != null) {
      receiver.stop(0);
    }
    for (AutoCloseable c : new AutoCloseable[] {one, two}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // keep closing the rest
      }
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  static String body(String prompt) {
    return "{\"prompt\":\"" + prompt + "\",\"resolution\":\"preview\",\"frames\":17}";
  }

  static RenderStatus.Builder status(String id, String tenant, RenderState state, long version) {
    Instant now = Instant.now();
    return RenderStatus.newBuilder()
        .setRequestId(id)
        .setTenant(tenant)
        .setState(state)
        .setVersion(version)
        .setCreatedAt(now)
        .setUpdatedAt(now);
  }

  @Test
  void submitPublishesAvroAndCommandsAndSchedulesReachTheirTopics() throws Exception {
    ApiClient.Answer r = a1.post("/v1/renders", "application/json", body("it submit"));
    assertThat(r.status()).as(r.body()).isEqualTo(202);
    String id = r.json().get("id").asText();
    List<RenderRequest> reqs =
        kafka.readAll(
            "render.requests",
            RenderRequest.class,
            x -> x.getRequestId().equals(id),
            1,
            Duration.ofSeconds(20));
    assertThat(reqs).hasSize(1);
    assertThat(reqs.get(0).getTenant()).isEqualTo("acme");
    assertThat(reqs.get(0).getParams().getSeed()).isEqualTo(r.json().get("seed").asLong());

    assertThat(a1.call("DELETE", "/v1/renders/" + id, null, null, null).status()).isEqualTo(202);
    List<RenderCommand> cmds =
        kafka.readAll(
            "render.commands",
            RenderCommand.class,
            x -> x.getRequestId().equals(id),
            1,
            Duration.ofSeconds(20));
    assertThat(cmds).extracting(RenderCommand::getType).containsExactly(CommandType.CANCEL);

    String sched =
        "{\"name\":\"it\",\"cron\":\"*/5 * * * *\",\"template\":{\"prompt\":\"scheduled\",\"resolution\":\"preview\"}}";
    ApiClient.Answer created = a1.post("/v1/schedules", "application/json", sched);
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    String sid = created.json().get("id").asText();
    // The other instance sees the schedule through the compacted topic.
    ApiClient.Answer seen = a2.get("/v1/schedules/" + sid);
    assertThat(seen.status()).as(seen.body()).isEqualTo(200);
    assertThat(a2.post("/v1/schedules/" + sid + "/run", null, null).status()).isEqualTo(202);
    assertThat(a2.call("DELETE", "/v1/schedules/" + sid, null, null, null).status()).isEqualTo(204);
    List<Schedule> versions =
        kafka.readAll(
            "render.schedules",
            Schedule.class,
            x -> x.getScheduleId().equals(sid),
            3,
            Duration.ofSeconds(20));
    assertThat(versions).hasSizeGreaterThanOrEqualTo(1);
    assertThat(versions.get(versions.size() - 1).getDeleted()).isTrue();
    assertThat(a1.get("/v1/schedules/" + sid).status()).isEqualTo(404);
  }

  @Test
  void batchIsOneTransactionAndAFailureMidBatchPublishesNothing() throws Exception {
    AtomicInteger seen = new AtomicInteger();
    // Fails serializing row 1500 of a 3000-row batch: the transaction must abort as a whole.
    class FailingSerializer implements IngestServer.WrappingSerializer {
      Serializer<Object> avro;

      @Override
      public void wrap(Serializer<Object> avro) {
        this.avro = avro;
      }

      @Override
      public byte[] serialize(String topic, Object data) {
        if (data instanceof RenderRequest r
            && "tx-fail".equals(r.getLabels().get("run"))
            && r.getBatchRow() == 1500) {
          seen.incrementAndGet();
          throw new SerializationException("injected failure at row 1500");
        }
        return avro.serialize(topic, data);
      }
    }
    try (IngestServer failing =
        IngestServer.builder(
                config()
                    .instanceId("it-failing")
                    .set(IngestConfig.WEBHOOKS_ENABLED, "false")
                    .build())
            .valueSerializer(new FailingSerializer())
            .withoutKafkaViews()
            .build()
            .start()) {
      ApiClient c = new ApiClient(failing.baseUrl(), KEY_A);
      StringBuilder nd = new StringBuilder();
      for (int i = 0; i < 3000; i++) {
        nd.append("{\"prompt\":\"row ").append(i).append("\"}\n");
      }
      ApiClient.Answer r =
          c.post(
              "/v1/batches?label=run:tx-fail&resolution=preview",
              "application/x-ndjson",
              nd.toString());
      assertThat(r.status()).isGreaterThanOrEqualTo(500);
      assertThat(seen.get()).isEqualTo(1);
      // Rows go into the transaction as they validate: an invalid last row aborts the 3,000 sent
      // before it.
      ApiClient.Answer invalid =
          c.post(
              "/v1/batches?label=run:tx-invalid&resolution=preview",
              "application/x-ndjson",
              nd + "{\"prompt\":\"last\",\"frames\":\"many\"}\n");
      assertThat(invalid.status()).as(invalid.body()).isEqualTo(422);
      ApiClient.Answer ok =
          c.post(
              "/v1/batches?label=run:tx-ok&resolution=preview",
              "application/x-ndjson",
              nd.toString());
      assertThat(ok.status()).as(ok.body()).isEqualTo(202);
    }
    List<RenderRequest> okRows =
        kafka.readAll(
            "render.requests",
            RenderRequest.class,
            x -> "tx-ok".equals(x.getLabels().get("run")),
            3000,
            Duration.ofSeconds(30));
    assertThat(okRows).hasSize(3000);
    List<RenderRequest> failedRows =
        kafka.readAll(
            "render.requests",
            RenderRequest.class,
            x -> "tx-fail".equals(x.getLabels().get("run")),
            0,
            Duration.ofSeconds(5));
    assertThat(failedRows)
        .as("rows of the aborted transaction visible to read_committed")
        .isEmpty();
    assertThat(
            kafka.readAll(
                "render.requests",
                RenderRequest.class,
                x -> "tx-invalid".equals(x.getLabels().get("run")),
                0,
                Duration.ofSeconds(5)))
        .as("rows sent before the invalid row, visible to read_committed")
        .isEmpty();
  }

  @Test
  @org.junit.jupiter.api.condition.EnabledIfSystemProperty(
      named = "reelflow.slow",
      matches = "true")
  void fiftyThousandRowBatchIsAcceptedInOneTransaction() {
    StringBuilder nd = new StringBuilder();
    for (int i = 0; i < 50_000; i++) {
      nd.append("{\"prompt\":\"catalogue item ")
          .append(i)
          .append("\",\"labels\":{\"sku\":\"")
          .append(i)
          .append("\"}}\n");
    }
    long t0 = System.nanoTime();
    ApiClient.Answer r =
        a1.post(
            "/v1/batches?label=run:fifty-k&resolution=preview&upscale=none",
            "application/x-ndjson",
            nd.toString());
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.status()).as(r.body()).isEqualTo(202);
    assertThat(r.json().get("count").asInt()).isEqualTo(50_000);
    System.out.println("50,000-row batch accepted in " + ms + " ms");
    List<RenderRequest> rows =
        kafka.readAll(
            "render.requests",
            RenderRequest.class,
            x -> "fifty-k".equals(x.getLabels().get("run")),
            50_000,
            Duration.ofSeconds(120));
    assertThat(rows).hasSize(50_000);
    assertThat(rows.stream().map(RenderRequest::getRequestId).distinct().count()).isEqualTo(50_000);
  }

  @Test
  void idempotencyHoldsAcrossTwoInstances() {
    ApiClient.Answer first =
        a1.call("POST", "/v1/renders", "application/json", body("idem"), "order-4711");
    assertThat(first.status()).as(first.body()).isEqualTo(202);
    ApiClient.Answer same =
        a2.call("POST", "/v1/renders", "application/json", body("idem"), "order-4711");
    assertThat(same.status()).as(same.body()).isEqualTo(200);
    assertThat(same.json().get("id")).isEqualTo(first.json().get("id"));
    ApiClient.Answer different =
        a2.call("POST", "/v1/renders", "application/json", body("other"), "order-4711");
    assertThat(different.status()).isEqualTo(409);
    String id = first.json().get("id").asText();
    List<RenderRequest> reqs =
        kafka.readAll(
            "render.requests",
            RenderRequest.class,
            x -> x.getRequestId().equals(id),
            1,
            Duration.ofSeconds(10));
    assertThat(reqs).hasSize(1);
  }

  /** Issue 17, scenario 9: one Idempotency-Key sent 100 times at once across two instances. */
  @Test
  void oneIdempotencyKeySentConcurrentlyToTwoInstancesMakesOneRender() throws Exception {
    String key = "scenario-9-" + System.nanoTime();
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(32);
    List<java.util.concurrent.Future<ApiClient.Answer>> answers = new java.util.ArrayList<>();
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    try {
      for (int i = 0; i < 100; i++) {
        ApiClient c = i % 2 == 0 ? a1 : a2;
        answers.add(
            pool.submit(
                () -> {
                  go.await();
                  return c.call("POST", "/v1/renders", "application/json", body("nine"), key);
                }));
      }
      go.countDown();
      java.util.Set<String> ids = new java.util.HashSet<>();
      int accepted = 0;
      for (java.util.concurrent.Future<ApiClient.Answer> f : answers) {
        ApiClient.Answer a = f.get(60, TimeUnit.SECONDS);
        assertThat(a.status()).as(a.body()).isIn(200, 202);
        accepted += a.status() == 202 ? 1 : 0;
        ids.add(a.json().get("id").asText());
      }
      assertThat(ids).hasSize(1);
      // Requests on one instance take turns on the key: at most one first use per instance.
      assertThat(accepted).isBetween(1, 2);
      String id = ids.iterator().next();
      // Racing first uses may publish the same derived id more than once (the orchestrator
      // dedupes on it); no other render exists for this key.
      List<RenderRequest> reqs =
          kafka.readAll(
              "render.requests",
              RenderRequest.class,
              x -> key.equals(String.valueOf(x.getIdempotencyKey())),
              accepted,
              Duration.ofSeconds(20));
      assertThat(reqs).isNotEmpty();
      assertThat(reqs).allSatisfy(r -> assertThat(r.getRequestId().toString()).isEqualTo(id));
      assertThat(reqs).hasSize(accepted);
      LOG_SCENARIO_9.info(
          "scenario 9: 100 requests, {} answered 202, {} answered 200, 1 render id, {} records",
          accepted,
          100 - accepted,
          reqs.size());
    } finally {
      pool.shutdownNow();
    }
  }

  private static final org.slf4j.Logger LOG_SCENARIO_9 =
      org.slf4j.LoggerFactory.getLogger(IngestIT.class);

  @Test
  void statusViewIsSharedAndTenantsAreIsolated() {
    String id = "r-it-view-1";
    kafka.write(
        "render.status",
        id,
        status(id, "acme", RenderState.QUEUED, 1)
            .setQueuePosition(3L)
            .setLabels(Map.of("c", "v"))
            .build());
    for (ApiClient c : List.of(a1, a2)) {
      JsonNode n = awaitStatus(c, id, "QUEUED");
      assertThat(n.get("queuePosition").asLong()).isEqualTo(3);
    }
    assertThat(b1.get("/v1/renders/" + id).status()).isEqualTo(404);
    assertThat(b1.call("DELETE", "/v1/renders/" + id, null, null, null).status()).isEqualTo(404);
    assertThat(b1.get("/v1/renders/" + id + "/events").status()).isEqualTo(404);
    assertThat(a1.get("/v1/renders?label=c:v").json().get("items").toString()).contains(id);
    assertThat(b1.get("/v1/renders?label=c:v").json().get("items")).isEmpty();
  }

  @Test
  void finishedRendersShowPresignedOutputUrls() {
    String id = "r-it-outputs-1";
    String key = "acme/2026/11/25/" + id + "/final/video.mp4";
    kafka.write(
        "render.status",
        id,
        status(id, "acme", RenderState.SUCCEEDED, 7)
            .setOutputs(
                List.of(
                    new dev.reelflow.schemas.avro.OutputArtifact(key, key, 1L, "", "video/mp4"),
                    new dev.reelflow.schemas.avro.OutputArtifact(
                        "video", key, 1L, "", "video/mp4")))
            .build());
    JsonNode n = awaitStatus(a1, id, "SUCCEEDED");
    String url = n.get("outputs").get("video").asText();
    assertThat(url)
        .startsWith(STACK.stack().s3Endpoint())
        .contains(key)
        .contains("X-Amz-Signature");
    assertThat(n.get("progress").get("fraction").asDouble()).isEqualTo(1.0);
  }

  static JsonNode awaitStatus(ApiClient c, String id, String state) {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    JsonNode last = null;
    while (System.nanoTime() < until) {
      ApiClient.Answer r = c.get("/v1/renders/" + id);
      if (r.status() == 200) {
        last = r.json();
        if (last.get("status").asText().equals(state)) {
          return last;
        }
      }
      sleep(100);
    }
    throw new AssertionError("render " + id + " never reached " + state + "; last " + last);
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void sseStreamsFollowRenderStatusUntilFinal() throws Exception {
    String id = "r-it-sse-1";
    kafka.write(
        "render.status",
        id,
        status(id, "acme", RenderState.QUEUED, 1).setBatchId("b-it-sse").build());
    String id2 = "r-it-sse-2";
    kafka.write(
        "render.status",
        id2,
        status(id2, "acme", RenderState.QUEUED, 1).setBatchId("b-it-sse").build());
    awaitStatus(a1, id, "QUEUED");
    awaitStatus(a1, id2, "QUEUED");
    SseStream single =
        SseStream.open(a1.http(), one.baseUrl() + "/v1/renders/" + id + "/events", KEY_A);
    assertThat(single.next().get("status").asText()).isEqualTo("QUEUED");
    SseStream whole =
        SseStream.open(a1.http(), one.baseUrl() + "/v1/events?batchId=b-it-sse", KEY_A);
    assertThat(whole.next().get("status").asText()).isEqualTo("QUEUED");
    assertThat(whole.next().get("status").asText()).isEqualTo("QUEUED");
    CompletableFuture<List<String>> oneRest = single.rest();
    CompletableFuture<List<String>> batch = whole.rest();
    kafka.write(
        "render.status",
        id,
        status(id, "acme", RenderState.RENDERING, 2)
            .setStage(Stage.BASE)
            .setStep(1)
            .setTotalSteps(4)
            .setBatchId("b-it-sse")
            .build());
    kafka.write(
        "render.status",
        id,
        status(id, "acme", RenderState.SUCCEEDED, 3).setBatchId("b-it-sse").build());
    assertThat(oneRest.get(20, TimeUnit.SECONDS))
        .containsExactly(id + "=RENDERING", id + "=SUCCEEDED");
    assertThat(batch.isDone()).isFalse();
    kafka.write(
        "render.status",
        id2,
        status(id2, "acme", RenderState.CANCELLED, 2).setBatchId("b-it-sse").build());
    List<String> all = batch.get(20, TimeUnit.SECONDS);
    assertThat(all).contains(id + "=SUCCEEDED", id2 + "=CANCELLED");
    assertThat(all.get(all.size() - 1)).isEqualTo(id2 + "=CANCELLED");
  }

  @Test
  void webhooksAreSignedAndRetriedOnStateChangesOnly() throws Exception {
    hookFailuresLeft.set(2);
    String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
    String id = "r-it-hook-1";
    kafka.write(
        "render.status", id, status(id, "acme", RenderState.QUEUED, 1).setCallbackUrl(url).build());
    kafka.write(
        "render.status",
        id,
        status(id, "acme", RenderState.RENDERING, 2)
            .setStep(1)
            .setTotalSteps(8)
            .setCallbackUrl(url)
            .build());
    kafka.write(
        "render.status",
        id,
        status(id, "acme", RenderState.RENDERING, 3)
            .setStep(2)
            .setTotalSteps(8)
            .setCallbackUrl(url)
            .build());
    kafka.write(
        "render.status",
        id,
        status(id, "acme", RenderState.SUCCEEDED, 4).setCallbackUrl(url).build());
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < until
        && (one.pendingWebhooks() > 0
            || hooks.stream().map(Received::deliveryId).distinct().count() < 3)) {
      sleep(100);
    }
    List<String> ids = hooks.stream().map(Received::deliveryId).toList();
    // Two failed attempts, then each of the three state changes delivered once; progress is not.
    assertThat(hooks).hasSize(5);
    assertThat(ids.stream().distinct().toList())
        .containsExactlyInAnyOrder(id + ".QUEUED.0", id + ".RENDERING.0", id + ".SUCCEEDED.0");
    for (String d : ids) {
      assertThat(ids.stream().filter(d::equals).count()).isBetween(1L, 3L);
    }
    for (Received h : hooks) {
      assertThat(h.signature())
          .isEqualTo("sha256=" + WebhookDispatcher.sign("whsec-acme", h.body()));
      JsonNode n = ApiClient.JSON.readTree(h.body());
      assertThat(n.get("deliveryId").asText()).isEqualTo(h.deliveryId());
      assertThat(n.get("render").get("id").asText()).isEqualTo(id);
    }
  }

  @Test
  void kafkaUnreachableAnswers503AndNotReady() throws Exception {
    int deadPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    IngestConfig cfg =
        config()
            .bootstrapServers("localhost:" + deadPort)
            .kafkaTimeouts(Duration.ofMillis(1500), Duration.ofMillis(3000))
            .set(IngestConfig.WEBHOOKS_ENABLED, "false")
            .build();
    try (IngestServer dead = IngestServer.builder(cfg).build().start()) {
      ApiClient c = new ApiClient(dead.baseUrl(), KEY_A);
      long t0 = System.nanoTime();
      ApiClient.Answer r = c.post("/v1/renders", "application/json", body("nobody listens"));
      assertThat(r.status()).as(r.body()).isEqualTo(503);
      assertThat(r.header("Retry-After")).isNotNull();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(15));
      assertThat(c.post("/v1/batches", "application/x-ndjson", body("x")).status()).isEqualTo(503);
      assertThat(c.get("/readyz").status()).isEqualTo(503);
    }
  }

  @Test
  void fuzzedBodiesReachNothingOnTheRealBroker() {
    ApiClient fuzzClient = new ApiClient(one.baseUrl(), KEY_B);
    BodyFuzzer fuzzer = new BodyFuzzer(99);
    for (int i = 0; i < 400; i++) {
      BodyFuzzer.Case c = fuzzer.next();
      ApiClient.Answer r =
          fuzzClient.callBytes(
              c.method(),
              c.path(),
              c.contentType().isEmpty() ? null : c.contentType(),
              c.body(),
              null);
      assertThat(r.status()).as(c.kind() + ": " + r.body()).isBetween(400, 499);
    }
    assertThat(
            kafka.readAll(
                "render.requests",
                RenderRequest.class,
                x -> x.getTenant().equals("globex"),
                0,
                Duration.ofSeconds(3)))
        .isEmpty();
    assertThat(
            kafka.readAll(
                "render.schedules",
                Schedule.class,
                x -> x.getTenant().equals("globex"),
                0,
                Duration.ofSeconds(2)))
        .isEmpty();
  }
}
