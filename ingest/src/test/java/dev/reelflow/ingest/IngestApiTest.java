package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.AsyncApiDocument;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.ErrorInfo;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP API end to end over real HTTP, with Kafka replaced by {@link InMemoryPublisher} and the
 * status view fed directly (the ITs do the same against the embedded broker).
 */
class IngestApiTest {
  static final String KEY_A = "key-tenant-a";
  static final String KEY_B = "key-tenant-b";
  static final String KEY_SLOW = "key-tenant-slow";
  static final String KEY_SMALL = "key-tenant-small";
  static final String KEY_FIVE = "key-tenant-five";
  static InMemoryPublisher publisher;
  static IngestServer server;
  static ApiClient a;
  static ApiClient b;

  @BeforeAll
  static void start() throws Exception {
    publisher = new InMemoryPublisher();
    IngestConfig config =
        IngestConfig.builder().port(0).batchLimits(5000, 4 << 20).bodyMaxBytes(64 * 1024).build();
    ApiKeys keys =
        ApiKeys.of(
            Map.of(
                KEY_A, new Tenant("acme", "secret-a", 10_000, 10_000, 1_000_000),
                KEY_B, new Tenant("globex", "secret-b", 10_000, 10_000, 1_000_000),
                KEY_SLOW, new Tenant("slow", "s", 1, 2, 1_000_000),
                KEY_SMALL, new Tenant("small", "s", 1000, 1000, 3),
                KEY_FIVE, new Tenant("five", "s", 1000, 1000, 5)));
    server =
        IngestServer.builder(config)
            .publisher(publisher)
            .apiKeys(keys)
            .withoutKafkaViews()
            .build()
            .start();
    a = new ApiClient(server.baseUrl(), KEY_A);
    b = new ApiClient(server.baseUrl(), KEY_B);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void reset() {
    publisher.ack(true);
    synchronized (publisher) {
      publisher.records.clear();
      publisher.failing = false;
    }
  }

  static String body(String extra) {
    return "{\"prompt\":\"a red fox running through snow\",\"resolution\":\"preview\",\"frames\":17"
        + extra
        + "}";
  }

  @Test
  void submitAnswers202AfterPublishingTheRequest() {
    ApiClient.Answer r = a.post("/v1/renders", "application/json", body(",\"upscale\":\"none\""));
    assertThat(r.status()).isEqualTo(202);
    JsonNode n = r.json();
    String id = n.get("id").asText();
    assertThat(id).startsWith("r-");
    assertThat(n.get("status").asText()).isEqualTo("ACCEPTED");
    assertThat(n.get("statusUrl").asText()).isEqualTo("/v1/renders/" + id);
    assertThat(n.get("eventsUrl").asText()).isEqualTo("/v1/renders/" + id + "/events");
    List<EventPublisher.Outgoing> out = publisher.on("render.requests");
    assertThat(out).hasSize(1);
    RenderRequest req = (RenderRequest) out.get(0).value();
    assertThat(out.get(0).key()).isEqualTo(id);
    assertThat(req.getTenant()).isEqualTo("acme");
    assertThat(req.getParams().getResolution()).isEqualTo(Resolution.PREVIEW);
    assertThat(req.getParams().getUpscale()).isEqualTo(UpscaleTarget.NONE);
    assertThat(req.getParams().getFrames()).isEqualTo(17);
    assertThat(req.getParams().getSeed()).isEqualTo(n.get("seed").asLong());
    assertThat(req.getPriority()).isEqualTo(5);
  }

  @Test
  void absentSeedIsRandomAndGivenSeedIsKept() {
    long s1 = a.post("/v1/renders", "application/json", body("")).json().get("seed").asLong();
    long s2 = a.post("/v1/renders", "application/json", body("")).json().get("seed").asLong();
    assertThat(s1).isNotEqualTo(s2);
    JsonNode n = a.post("/v1/renders", "application/json", body(",\"seed\":42")).json();
    assertThat(n.get("seed").asLong()).isEqualTo(42);
    String id = n.get("id").asText();
    assertThat(a.get("/v1/renders/" + id).json().get("seed").asLong()).isEqualTo(42);
  }

  @Test
  void seedsStayJavaScriptSafe() {
    // The largest seed a client may give is taken and shown exactly.
    JsonNode max =
        a.post("/v1/renders", "application/json", body(",\"seed\":9007199254740990")).json();
    assertThat(max.get("seed").asLong()).isEqualTo(9_007_199_254_740_990L);
    RenderRequest req = (RenderRequest) publisher.on("render.requests").get(0).value();
    assertThat(req.getParams().getSeed()).isEqualTo(9_007_199_254_740_990L);
    // One more is refused with a 422 naming the field and the limit; nothing is published.
    ApiClient.Answer r =
        a.post("/v1/renders", "application/json", body(",\"seed\":9007199254740991"));
    assertProblem(r, 422);
    JsonNode e = r.json().get("errors").get(0);
    assertThat(e.get("field").asText()).isEqualTo("seed");
    assertThat(e.get("message").asText()).contains("9007199254740990", "2^53 - 2");
    assertThat(publisher.on("render.requests")).hasSize(1);
    // A batch row likewise, by row.
    ApiClient.Answer batch =
        a.post(
            "/v1/batches",
            "application/x-ndjson",
            "{\"prompt\":\"a\",\"seed\":1}\n{\"prompt\":\"b\",\"seed\":18446744073709551615}\n");
    assertProblem(batch, 422);
    assertThat(batch.body()).contains("seed", "9007199254740990");
    // Seeds ReelFlow picks are below the limit.
    for (int i = 0; i < 20; i++) {
      long seed = a.post("/v1/renders", "application/json", body("")).json().get("seed").asLong();
      assertThat(seed).isBetween(0L, (1L << 53) - 2);
    }
  }

  @Test
  void missingOrWrongKeyIs401() {
    ApiClient none = a.as(null);
    ApiClient wrong = a.as("not-a-key");
    for (ApiClient c : List.of(none, wrong)) {
      ApiClient.Answer r = c.post("/v1/renders", "application/json", body(""));
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.header("Content-Type")).startsWith("application/problem+json");
      assertThat(r.header("WWW-Authenticate")).isEqualTo("Bearer");
      assertThat(c.get("/v1/renders").status()).isEqualTo(401);
    }
    assertThat(publisher.size()).isZero();
  }

  @Test
  void badInputAnswersProblemsAndPublishesNothing() {
    ApiClient.Answer malformed = a.post("/v1/renders", "application/json", "{\"prompt\": ");
    assertProblem(malformed, 400);
    ApiClient.Answer wrongType = a.post("/v1/renders", "text/plain", body(""));
    assertProblem(wrongType, 415);
    ApiClient.Answer noType = a.call("POST", "/v1/renders", null, body(""), null);
    assertProblem(noType, 415);
    String huge = body(",\"negativePrompt\":\"" + "x".repeat(70_000) + "\"");
    assertProblem(a.post("/v1/renders", "application/json", huge), 413);
    ApiClient.Answer invalid =
        a.post(
            "/v1/renders",
            "application/json",
            "{\"prompt\":\"\",\"frames\":16,\"resolution\":\"1080p\",\"priority\":12,\"bogus\":1}");
    assertProblem(invalid, 422);
    Set<String> fields = new HashSet<>();
    invalid.json().get("errors").forEach(e -> fields.add(e.get("field").asText()));
    assertThat(fields)
        .containsExactlyInAnyOrder("prompt", "frames", "resolution", "priority", "bogus");
    assertProblem(a.get("/v1/nothing-here"), 404);
    assertProblem(a.call("PUT", "/v1/renders", "application/json", body(""), null), 405);
    assertThat(publisher.size()).isZero();
  }

  static void assertProblem(ApiClient.Answer r, int status) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.header("Content-Type")).startsWith("application/problem+json");
    JsonNode n = r.json();
    assertThat(n.get("status").asInt()).isEqualTo(status);
    assertThat(n.get("title").asText()).isNotBlank();
    assertThat(n.get("detail").asText()).isNotBlank();
    assertThat(n.get("errors").isArray()).isTrue();
  }

  @Test
  void sameIdempotencyKeyAndBodyGiveTheSameRenderADifferentBodyIs409() {
    ApiClient.Answer first = a.call("POST", "/v1/renders", "application/json", body(""), "k-1");
    assertThat(first.status()).isEqualTo(202);
    ApiClient.Answer again = a.call("POST", "/v1/renders", "application/json", body(""), "k-1");
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().get("id")).isEqualTo(first.json().get("id"));
    assertThat(again.json().get("seed")).isEqualTo(first.json().get("seed"));
    ApiClient.Answer other =
        a.call("POST", "/v1/renders", "application/json", body(",\"priority\":7"), "k-1");
    assertProblem(other, 409);
    // The same key from another tenant is another render.
    ApiClient.Answer otherTenant =
        b.call("POST", "/v1/renders", "application/json", body(""), "k-1");
    assertThat(otherTenant.status()).isEqualTo(202);
    assertThat(otherTenant.json().get("id")).isNotEqualTo(first.json().get("id"));
    assertThat(publisher.on("render.requests")).hasSize(2);
    assertThat(publisher.on("render.idempotency")).hasSize(2);
  }

  @Test
  void tenantsNeverSeeEachOthersRenders() {
    String id = a.post("/v1/renders", "application/json", body("")).json().get("id").asText();
    assertThat(a.get("/v1/renders/" + id).status()).isEqualTo(200);
    assertProblem(b.get("/v1/renders/" + id), 404);
    assertProblem(b.call("DELETE", "/v1/renders/" + id, null, null, null), 404);
    assertProblem(
        b.call("PATCH", "/v1/renders/" + id, "application/json", "{\"priority\":9}", null), 404);
    assertProblem(b.get("/v1/renders/" + id + "/events"), 404);
    for (JsonNode item : b.get("/v1/renders?limit=1000").json().get("items")) {
      assertThat(item.get("id").asText()).isNotEqualTo(id);
    }
    assertThat(publisher.on("render.commands")).isEmpty();
  }

  @Test
  void rateLimitAndQuotaAnswer429WithRetryAfter() {
    ApiClient slow = a.as(KEY_SLOW);
    int limited = 0;
    for (int i = 0; i < 5; i++) {
      ApiClient.Answer r = slow.get("/v1/renders");
      if (r.status() == 429) {
        limited++;
        assertThat(Integer.parseInt(r.header("Retry-After"))).isPositive();
      }
    }
    assertThat(limited).isGreaterThanOrEqualTo(2);
    ApiClient small = a.as(KEY_SMALL);
    for (int i = 0; i < 3; i++) {
      assertThat(small.post("/v1/renders", "application/json", body("")).status()).isEqualTo(202);
    }
    ApiClient.Answer over = small.post("/v1/renders", "application/json", body(""));
    assertProblem(over, 429);
    assertThat(over.header("Retry-After")).isNotNull();
    assertThat(publisher.on("render.requests")).hasSize(3);
  }

  @Test
  void kafkaDownIs503WithRetryAfterNever202() {
    publisher.failing = true;
    ApiClient.Answer r = a.post("/v1/renders", "application/json", body(""));
    assertProblem(r, 503);
    assertThat(r.header("Retry-After")).isNotNull();
    ApiClient.Answer batch =
        a.post("/v1/batches", "application/x-ndjson", body("") + "\n" + body("") + "\n");
    assertProblem(batch, 503);
    assertProblem(a.get("/readyz"), 503);
    publisher.failing = false;
    assertThat(publisher.size()).isZero();
    assertThat(a.get("/readyz").status()).isEqualTo(200);
  }

  @Test
  void aSinglePostIsAnsweredOnlyOnceTheBrokerAcknowledgedIt() throws Exception {
    publisher.holdingAcks = true;
    List<CompletableFuture<ApiClient.Answer>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      calls.add(
          CompletableFuture.supplyAsync(() -> a.post("/v1/renders", "application/json", body(""))));
    }
    awaitHeld(3);
    Thread.sleep(300); // long enough for a 202 sent before the acknowledgement to arrive
    assertThat(calls).noneMatch(CompletableFuture::isDone);
    // requests waiting for their acknowledgements do not hold up other requests
    assertThat(a.get("/v1/renders?limit=1").status()).isEqualTo(200);
    publisher.ack(true);
    for (CompletableFuture<ApiClient.Answer> c : calls) {
      ApiClient.Answer r = c.get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(r.status()).as(r.body()).isEqualTo(202);
      assertThat(a.get(r.header("Location")).status()).isEqualTo(200);
    }

    publisher.holdingAcks = true;
    CompletableFuture<ApiClient.Answer> lost =
        CompletableFuture.supplyAsync(() -> a.post("/v1/renders", "application/json", body("")));
    awaitHeld(1);
    publisher.ack(false);
    ApiClient.Answer r = lost.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertProblem(r, 503);
    assertThat(r.header("Retry-After")).isNotNull();
  }

  private static void awaitHeld(int n) throws InterruptedException {
    long end = System.nanoTime() + 10_000_000_000L;
    while (publisher.heldAcks() < n && System.nanoTime() < end) {
      Thread.sleep(10);
    }
    assertThat(publisher.heldAcks()).isEqualTo(n);
  }

  @Test
  void ndjsonBatchIsOneTransactionWithDeterministicIds() {
    StringBuilder nd = new StringBuilder();
    for (int i = 0; i < 3000; i++) {
      nd.append("{\"prompt\":\"variant ")
          .append(i)
          .append("\",\"labels\":{\"row\":\"")
          .append(i)
          .append("\"}}\n");
    }
    int before = publisher.transactions;
    ApiClient.Answer r =
        a.post(
            "/v1/batches?resolution=preview&upscale=none&label=campaign:spring",
            "application/x-ndjson",
            nd.toString());
    assertThat(r.status()).as(r.body()).isEqualTo(202);
    String batchId = r.json().get("batchId").asText();
    assertThat(r.json().get("count").asInt()).isEqualTo(3000);
    assertThat(publisher.transactions).isEqualTo(before + 1);
    List<EventPublisher.Outgoing> out = publisher.on("render.requests");
    assertThat(out).hasSize(3000);
    RenderRequest row17 = (RenderRequest) out.get(17).value();
    assertThat(row17.getRequestId()).isEqualTo(batchId + "-000017");
    assertThat(row17.getBatchRow()).isEqualTo(17);
    assertThat(row17.getBatchId()).isEqualTo(batchId);
    assertThat(row17.getParams().getResolution()).isEqualTo(Resolution.PREVIEW);
    assertThat(row17.getLabels()).containsEntry("campaign", "spring").containsEntry("row", "17");
    JsonNode counts = a.get("/v1/batches/" + batchId).json();
    assertThat(counts.get("count").asInt()).isEqualTo(3000);
    assertThat(counts.get("counts").get("ACCEPTED").asInt()).isEqualTo(3000);
    assertProblem(b.get("/v1/batches/" + batchId), 404);
  }

  @Test
  void batchIdempotencyKeyReplaysTheSameBatchAndRefusesAnotherBody() {
    String nd = body("") + "\n" + body(",\"priority\":2") + "\n";
    ApiClient.Answer first =
        a.call("POST", "/v1/batches", "application/x-ndjson", nd, "batch-key-1");
    assertThat(first.status()).isEqualTo(202);
    ApiClient.Answer again =
        a.call("POST", "/v1/batches", "application/x-ndjson", nd, "batch-key-1");
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().get("batchId")).isEqualTo(first.json().get("batchId"));
    assertThat(again.json().get("count").asInt()).isEqualTo(2);
    assertProblem(
        a.call("POST", "/v1/batches", "application/x-ndjson", nd + body("") + "\n", "batch-key-1"),
        409);
    assertProblem(a.call("POST", "/v1/renders", "application/json", body(""), "batch-key-1"), 409);
    assertThat(publisher.on("render.requests")).hasSize(2);
    // The batch bytes limit (4 MiB here) answers 413 before anything is parsed.
    byte[] big = new byte[(4 << 20) + 10];
    java.util.Arrays.fill(big, (byte) ' ');
    assertProblem(a.callBytes("POST", "/v1/batches", "application/x-ndjson", big, null), 413);
    assertThat(publisher.on("render.requests")).hasSize(2);
  }

  @Test
  void csvBatchWithQuotedCellsAndLabelColumns() {
    String csv =
        "prompt,frames,resolution,label.team\r\n"
            + "\"a cat, sleeping\",17,preview,red\r\n"
            + "\"say \"\"hello\"\"\nplease\",21,480p,blue\r\n";
    ApiClient.Answer r = a.post("/v1/batches", "text/csv; charset=utf-8", csv);
    assertThat(r.status()).as(r.body()).isEqualTo(202);
    List<EventPublisher.Outgoing> out = publisher.on("render.requests");
    assertThat(out).hasSize(2);
    RenderRequest second = (RenderRequest) out.get(1).value();
    assertThat(second.getParams().getPrompt()).isEqualTo("say \"hello\"\nplease");
    assertThat(second.getParams().getFrames()).isEqualTo(21);
    assertThat(second.getLabels()).containsEntry("team", "blue");
  }

  @Test
  void batchWithBadRowsIs422ListingEachRowAndPublishesNothing() {
    String nd =
        body("") + "\n" + "{\"prompt\":\"x\",\"frames\":\"many\"}\n" + body("") + "\n{not json\n";
    ApiClient.Answer r = a.post("/v1/batches", "application/x-ndjson", nd);
    assertProblem(r, 422);
    Set<String> fields = new HashSet<>();
    r.json().get("errors").forEach(e -> fields.add(e.get("field").asText()));
    assertThat(fields).containsExactlyInAnyOrder("rows[1].frames", "rows[3]");
    assertProblem(a.post("/v1/batches", "application/json", body("")), 415);
    StringBuilder tooMany = new StringBuilder();
    for (int i = 0; i < 5001; i++) {
      tooMany.append("{\"prompt\":\"p\"}\n");
    }
    assertProblem(a.post("/v1/batches", "application/x-ndjson", tooMany.toString()), 413);
    assertProblem(a.post("/v1/batches?colour=red", "application/x-ndjson", body("")), 422);
    assertThat(publisher.size()).isZero();
  }

  static String rows(int valid, String then) {
    StringBuilder nd = new StringBuilder();
    for (int i = 0; i < valid; i++) {
      nd.append(body("")).append('\n');
    }
    return nd.append(then).toString();
  }

  static final String BAD_ROW = "{\"prompt\":\"x\",\"frames\":\"many\"}\n";

  @Test
  void aBatchSendsRowsAsTheyValidateAndTheFirstInvalidRowAbortsTheTransaction() {
    int transactions = publisher.transactions;
    int aborted = publisher.aborted;
    int abortedRecords = publisher.abortedRecords;
    ApiClient.Answer r =
        a.post("/v1/batches", "application/x-ndjson", rows(10, BAD_ROW + rows(5, "")));
    assertProblem(r, 422);
    assertThat(r.json().get("errors")).hasSize(1);
    assertThat(r.json().get("errors").get(0).get("field").asText()).isEqualTo("rows[10].frames");
    assertThat(r.json().get("detail").asText()).contains("1 of 16 rows are invalid");
    // the ten rows before it were already in the transaction; nothing was committed
    assertThat(publisher.aborted).isEqualTo(aborted + 1);
    assertThat(publisher.abortedRecords - abortedRecords).isEqualTo(10);
    assertThat(publisher.transactions).isEqualTo(transactions);
    assertThat(publisher.size()).isZero();
  }

  @Test
  void aBatchsRendersAreReadableOnlyOnceItsTransactionCommitted() {
    StatusView view = server.services().statuses();
    long inFlight = view.inFlight("acme");
    int listed = view.list("acme", null, Integer.MAX_VALUE, st -> true).size();
    List<Integer> seenDuringCommit = new ArrayList<>();
    publisher.duringCommit =
        () -> {
          // recorded by now (counted against the quota), but not readable before the commit
          assertThat(view.inFlight("acme")).isEqualTo(inFlight + 4);
          seenDuringCommit.add(
              view.list("acme", null, Integer.MAX_VALUE, st -> true).size() - listed);
        };
    publisher.failingCommits = true;
    try {
      assertProblem(a.post("/v1/batches", "application/x-ndjson", rows(4, "")), 503);
    } finally {
      publisher.failingCommits = false;
    }
    assertThat(view.inFlight("acme")).isEqualTo(inFlight);

    ApiClient.Answer ok = a.post("/v1/batches", "application/x-ndjson", rows(4, ""));
    publisher.duringCommit = () -> {};
    assertThat(ok.status()).isEqualTo(202);
    assertThat(seenDuringCommit).containsExactly(0, 0);
    String batchId = ok.json().get("batchId").asText();
    assertThat(view.batch("acme", batchId)).hasSize(4);
    assertThat(a.get("/v1/batches/" + batchId).json().get("count").asInt()).isEqualTo(4);
    assertThat(view.inFlight("acme")).isEqualTo(inFlight + 4);
  }

  @Test
  void invalidRowsAreReportedBeforeAnOutageTheQuotaOrAUsedKey() {
    publisher.failing = true;
    assertProblem(a.post("/v1/batches", "application/x-ndjson", rows(3, BAD_ROW)), 422);
    assertProblem(a.post("/v1/batches", "application/x-ndjson", rows(3, "")), 503);
    publisher.failing = false;

    ApiClient five = a.as(KEY_FIVE);
    assertProblem(five.post("/v1/batches", "application/x-ndjson", rows(6, BAD_ROW)), 422);
    assertProblem(five.post("/v1/batches", "application/x-ndjson", rows(6, "")), 429);
    assertThat(publisher.size()).isZero();

    String key = "five-batch-" + System.nanoTime();
    ApiClient.Answer first =
        five.call("POST", "/v1/batches", "application/x-ndjson", rows(2, ""), key);
    assertThat(first.status()).as(first.body()).isEqualTo(202);
    assertProblem(
        five.call("POST", "/v1/batches", "application/x-ndjson", rows(1, BAD_ROW), key), 422);
    assertProblem(five.call("POST", "/v1/batches", "application/x-ndjson", rows(3, ""), key), 409);
    ApiClient.Answer replay =
        five.call("POST", "/v1/batches", "application/x-ndjson", rows(2, ""), key);
    assertThat(replay.status()).isEqualTo(200);
    assertThat(replay.json().get("batchId")).isEqualTo(first.json().get("batchId"));
    assertThat(publisher.on("render.requests")).hasSize(2);
  }

  @Test
  void statusComesFromTheViewWithPresignedOutputs() {
    String id = a.post("/v1/renders", "application/json", body("")).json().get("id").asText();
    JsonNode accepted = a.get("/v1/renders/" + id).json();
    assertThat(accepted.get("status").asText()).isEqualTo("ACCEPTED");
    server
        .services()
        .statuses()
        .apply(
            status(id, "acme", RenderState.RENDERING, 3)
                .setStage(Stage.BASE)
                .setStep(5)
                .setTotalSteps(20)
                .build());
    JsonNode running = a.get("/v1/renders/" + id).json();
    assertThat(running.get("status").asText()).isEqualTo("RENDERING");
    assertThat(running.get("stage").asText()).isEqualTo("BASE");
    assertThat(running.get("progress").get("fraction").asDouble()).isEqualTo(0.25);
    server
        .services()
        .statuses()
        .apply(
            status(id, "acme", RenderState.SUCCEEDED, 9)
                .setOutputs(
                    List.of(
                        new OutputArtifact(
                            "video",
                            "acme/2026/11/25/" + id + "/final/video.mp4",
                            10L,
                            "ab",
                            "video/mp4")))
                .build());
    JsonNode done = a.get("/v1/renders/" + id).json();
    assertThat(done.get("outputs").get("video").asText())
        .isEqualTo("s3://reelflow/acme/2026/11/25/" + id + "/final/video.mp4");
    // An older version never replaces a newer one.
    server.services().statuses().apply(status(id, "acme", RenderState.QUEUED, 2).build());
    assertThat(a.get("/v1/renders/" + id).json().get("status").asText()).isEqualTo("SUCCEEDED");
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
  void cancelPublishesOnceIdempotentlyAndRefusesFinishedRenders() {
    String id = a.post("/v1/renders", "application/json", body("")).json().get("id").asText();
    ApiClient.Answer c1 = a.call("DELETE", "/v1/renders/" + id, null, null, null);
    assertThat(c1.status()).isEqualTo(202);
    assertThat(c1.json().get("status").asText()).isEqualTo("ACCEPTED");
    List<EventPublisher.Outgoing> cmds = publisher.on("render.commands");
    assertThat(cmds).hasSize(1);
    RenderCommand cmd = (RenderCommand) cmds.get(0).value();
    assertThat(cmd.getType()).isEqualTo(CommandType.CANCEL);
    assertThat(cmd.getRequestId()).isEqualTo(id);
    assertThat(cmd.getCommandId()).isEqualTo(id + ":cancel");
    server.services().statuses().apply(status(id, "acme", RenderState.CANCELLED, 5).build());
    ApiClient.Answer c2 = a.call("DELETE", "/v1/renders/" + id, null, null, null);
    assertThat(c2.status()).isEqualTo(202);
    assertThat(c2.json().get("status").asText()).isEqualTo("CANCELLED");
    String other = a.post("/v1/renders", "application/json", body("")).json().get("id").asText();
    server.services().statuses().apply(status(other, "acme", RenderState.SUCCEEDED, 5).build());
    assertProblem(a.call("DELETE", "/v1/renders/" + other, null, null, null), 409);
    assertThat(publisher.on("render.commands")).hasSize(1);
  }

  @Test
  void manifestAndLineageRoutesWithoutAnObjectStoreOrKafka() {
    String id = "r-api-inspect-1";
    server.services().statuses().apply(status(id, "acme", RenderState.QUEUED, 1).build());
    assertProblem(a.get("/v1/renders/" + id + "/manifest"), 404);
    assertThat(a.get("/v1/renders/" + id + "/manifest").json().get("detail").asText())
        .contains("has no manifest yet: it is QUEUED");
    assertThat(a.get("/v1/renders/" + id + "/lineage").body()).isEqualTo("[]");
    server
        .services()
        .lineage()
        .append(id, "{\"eventType\":\"START\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    server
        .services()
        .lineage()
        .append(
            id, "{\"eventType\":\"COMPLETE\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    String key = "acme/2026/11/25/" + id + "/final/manifest.json";
    server
        .services()
        .statuses()
        .apply(
            status(id, "acme", RenderState.SUCCEEDED, 9)
                .setOutputs(
                    List.of(new OutputArtifact("manifest", key, 1L, "", "application/json")))
                .build());
    ApiClient.Answer lineage = a.get("/v1/renders/" + id + "/lineage");
    assertThat(lineage.status()).isEqualTo(200);
    assertThat(lineage.body())
        .isEqualTo("[{\"eventType\":\"START\"},{\"eventType\":\"COMPLETE\"}]");
    // No s3.endpoint here: the manifest cannot be read, and the answer names the setting.
    ApiClient.Answer manifest = a.get("/v1/renders/" + id + "/manifest");
    assertProblem(manifest, 503);
    assertThat(manifest.json().get("detail").asText()).contains(IngestConfig.S3_ENDPOINT.name());
    assertProblem(b.get("/v1/renders/" + id + "/manifest"), 404);
    assertProblem(b.get("/v1/renders/" + id + "/lineage"), 404);
  }

  @Test
  void patchPublishesReprioritizeForQueuedRenders() {
    String id = a.post("/v1/renders", "application/json", body("")).json().get("id").asText();
    String deadline =
        Instant.now()
            .plus(Duration.ofHours(2))
            .truncatedTo(java.time.temporal.ChronoUnit.MILLIS)
            .toString();
    ApiClient.Answer r =
        a.call(
            "PATCH",
            "/v1/renders/" + id,
            "application/json",
            "{\"priority\":9,\"deadline\":\"" + deadline + "\"}",
            null);
    assertThat(r.status()).as(r.body()).isEqualTo(202);
    RenderCommand cmd = (RenderCommand) publisher.on("render.commands").get(0).value();
    assertThat(cmd.getType()).isEqualTo(CommandType.REPRIORITIZE);
    assertThat(cmd.getPriority()).isEqualTo(9);
    assertThat(cmd.getDeadline()).isEqualTo(Instant.parse(deadline));
    assertProblem(
        a.call("PATCH", "/v1/renders/" + id, "application/json", "{\"priority\":10}", null), 422);
    assertProblem(
        a.call("PATCH", "/v1/renders/" + id, "application/json", "{\"prompt\":\"x\"}", null), 422);
    server.services().statuses().apply(status(id, "acme", RenderState.RENDERING, 4).build());
    assertProblem(
        a.call("PATCH", "/v1/renders/" + id, "application/json", "{\"priority\":1}", null), 409);
    assertThat(publisher.on("render.commands")).hasSize(1);
  }

  @Test
  void listPagesWithACursorAndFilters() {
    ApiClient c = a.as(KEY_B);
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 7; i++) {
      ids.add(
          c.post("/v1/renders", "application/json", body(",\"labels\":{\"page\":\"yes\"}"))
              .json()
              .get("id")
              .asText());
    }
    c.post("/v1/renders", "application/json", body(",\"labels\":{\"page\":\"no\"}"));
    Set<String> seen = new HashSet<>();
    String cursor = null;
    int pages = 0;
    do {
      JsonNode page =
          c.get("/v1/renders?label=page:yes&limit=3" + (cursor == null ? "" : "&cursor=" + cursor))
              .json();
      page.get("items").forEach(i -> seen.add(i.get("id").asText()));
      cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
      pages++;
    } while (cursor != null);
    assertThat(seen).isEqualTo(ids);
    assertThat(pages).isEqualTo(3);
    assertThat(c.get("/v1/renders?status=QUEUED&label=page:yes").json().get("items")).isEmpty();
    assertProblem(c.get("/v1/renders?status=DANCING"), 422);
  }

  @Test
  void renderEventsStreamUntilAFinalState() throws Exception {
    String id = a.post("/v1/renders", "application/json", body("")).json().get("id").asText();
    SseStream sse =
        SseStream.open(a.http(), server.baseUrl() + "/v1/renders/" + id + "/events", KEY_A);
    assertThat(sse.status).isEqualTo(200);
    assertThat(sse.contentType).startsWith("text/event-stream");
    assertThat(sse.next().get("status").asText()).isEqualTo("ACCEPTED");
    CompletableFuture<List<String>> rest = sse.rest();
    StatusView view = server.services().statuses();
    view.apply(status(id, "acme", RenderState.QUEUED, 1).build());
    view.apply(status(id, "acme", RenderState.RENDERING, 2).build());
    view.apply(
        status(id, "acme", RenderState.FAILED, 3)
            .setError(new ErrorInfo(ErrorCode.ENGINE_ERROR, "boom", false))
            .build());
    assertThat(rest.get(10, java.util.concurrent.TimeUnit.SECONDS))
        .containsExactly(id + "=QUEUED", id + "=RENDERING", id + "=FAILED");
  }

  @Test
  void schedulesCrudAndRunNow() {
    String sched =
        "{\"name\":\"nightly\",\"cron\":\"0 2 * * *\",\"timezone\":\"Europe/Berlin\","
            + "\"template\":{\"prompt\":\"catalogue shot\",\"resolution\":\"preview\"},"
            + "\"rows\":[{\"prompt\":\"red shoe\"},{\"prompt\":\"blue shoe\",\"frames\":33}]}";
    ApiClient.Answer created = a.post("/v1/schedules", "application/json", sched);
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    String id = created.json().get("id").asText();
    Schedule published = (Schedule) publisher.on("render.schedules").get(0).value();
    assertThat(published.getScheduleId()).isEqualTo(id);
    assertThat(published.getTimezone()).isEqualTo("Europe/Berlin");
    assertThat(published.getRows()).hasSize(2);
    assertThat(published.getTemplate().getResolution()).isEqualTo(Resolution.PREVIEW);
    assertThat(a.get("/v1/schedules/" + id).json().get("cron").asText()).isEqualTo("0 2 * * *");
    assertThat(a.get("/v1/schedules").json().get("items")).hasSize(1);
    assertProblem(b.get("/v1/schedules/" + id), 404);
    ApiClient.Answer put =
        a.call(
            "PUT",
            "/v1/schedules/" + id,
            "application/json",
            sched.replace("0 2 * * *", "0 0 3 * * ?"),
            null);
    assertThat(put.status()).as(put.body()).isEqualTo(200);
    assertThat(a.post("/v1/schedules/" + id + "/run", null, null).status()).isEqualTo(202);
    Schedule run = (Schedule) publisher.on("render.schedules").get(2).value();
    assertThat(run.getRunRequestedAt()).isNotNull();
    assertThat(run.getCron()).isEqualTo("0 0 3 * * ?");
    assertThat(a.call("DELETE", "/v1/schedules/" + id, null, null, null).status()).isEqualTo(204);
    Schedule deleted = (Schedule) publisher.on("render.schedules").get(3).value();
    assertThat(deleted.getDeleted()).isTrue();
    assertProblem(a.get("/v1/schedules/" + id), 404);
    ApiClient.Answer bad =
        a.post(
            "/v1/schedules",
            "application/json",
            "{\"cron\":\"every day\",\"timezone\":\"Mars/Base\",\"template\":{}}");
    assertProblem(bad, 422);
    Set<String> fields = new HashSet<>();
    bad.json().get("errors").forEach(e -> fields.add(e.get("field").asText()));
    assertThat(fields).contains("cron", "timezone", "template.prompt");
  }

  @Test
  void scheduleSourcesMustLieUnderTheTenantsPrefix() {
    String tpl = "{\"cron\":\"0 2 * * *\",\"template\":{\"prompt\":\"shot\"},\"source\":";
    ApiClient.Answer foreign =
        a.post("/v1/schedules", "application/json", tpl + "\"other/rows.ndjson\"}");
    assertProblem(foreign, 422);
    assertThat(foreign.json().get("errors").get(0).get("field").asText()).isEqualTo("source");
    assertThat(foreign.json().get("errors").get(0).get("message").asText()).contains("acme/");
    ApiClient.Answer own =
        a.post("/v1/schedules", "application/json", tpl + "\"acme/rows.ndjson\"}");
    assertThat(own.status()).as(own.body()).isEqualTo(201);
    Schedule published = (Schedule) publisher.on("render.schedules").get(0).value();
    assertThat(published.getSource()).isEqualTo("acme/rows.ndjson");
    assertThat(published.getRows()).isEmpty();
  }

  @Test
  void openApiDescribesExactlyTheRegisteredRoutes() {
    JsonNode doc = a.as(null).get("/openapi.json").json();
    Set<String> documented = new HashSet<>();
    doc.get("paths")
        .fields()
        .forEachRemaining(
            p ->
                p.getValue()
                    .fieldNames()
                    .forEachRemaining(
                        m -> {
                          if (!m.equals("parameters")) {
                            documented.add(m.toUpperCase() + " " + p.getKey());
                          }
                        }));
    assertThat(documented)
        .containsExactlyInAnyOrderElementsOf(new HashSet<>(server.routeSignatures()));
  }

  @Test
  void asyncApiDescribesEveryTopicWithoutAKey() throws Exception {
    ApiClient.Answer r = a.as(null).get("/asyncapi.json");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Content-Type")).startsWith("application/json");
    JsonNode doc = r.json();
    assertThat(doc.get("asyncapi").asText()).isEqualTo("3.0.0");
    Set<String> channels = new HashSet<>();
    doc.get("channels").fieldNames().forEachRemaining(channels::add);
    assertThat(channels).containsExactlyInAnyOrderElementsOf(Topics.defaults().names());
    assertThat(r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo(AsyncApiDocument.generated().orElseThrow());
  }

  @Test
  void consoleFilesAreServedFromTheClasspathHook() {
    ApiClient.Answer r = a.as(null).get("/console/index.html");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).contains("console placeholder");
  }

  @Test
  void healthAndMetrics() {
    assertThat(a.as(null).get("/healthz").status()).isEqualTo(200);
    a.post("/v1/renders", "application/json", body(""));
    String metrics = a.as(null).get("/metrics").body();
    assertThat(metrics)
        .contains(
            "reelflow_ingest_requests_total{code=\"202\",method=\"POST\",route=\"/v1/renders\"}")
        .contains("reelflow_ingest_publish_seconds")
        .contains("reelflow_ingest_batch_rows");
  }
}
