package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.reelflow.cli.LocalPipeline;
import dev.reelflow.e2e.guide.RenderEventsReader;
import dev.reelflow.orchestrator.OrchestratorSettings;
import dev.reelflow.schemas.AsyncApiDocument;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.WireNumbers;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.stack.RequiredTools;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The contract with downstream consumers outside Java (issue 19): after real renders through a
 * local pipeline of its own (native base engine, bicubic upscale), the README's Node consumer
 * ({@code src/test/node/reelflow-events.mjs}: kafkajs, {@code @confluentinc/schemaregistry}'s
 * AvroDeserializer with default settings, read_committed) reads every record of every topic from
 * the beginning with no failure: a render with the largest seed a client may give (2^53 − 2), one
 * with a seed ReelFlow chose, a cancelled one (render.commands), a schedule created, deleted and
 * tombstoned (render.schedules), and a poison request the orchestrator refuses (render.dlq). The
 * README's Java consumer agrees with it. The AsyncAPI document ingest serves validates against the
 * official schema from npm. The README's Python consumer reads a render too where confluent-kafka
 * imports. Skips, saying so, where node or npm is missing.
 */
class NodeConsumerIT {
  private static final Logger LOG = LoggerFactory.getLogger(NodeConsumerIT.class);
  static final Duration WAIT = Duration.ofMinutes(4);
  static final ObjectMapper JSON = new ObjectMapper();

  static Path dir;
  static LocalPipeline pipeline;
  static RenderApi api;
  static NodeProject node;

  @BeforeAll
  static void start() throws Exception {
    Optional<NodeProject> found = NodeProject.find();
    if (found.isEmpty()) {
      LOG.warn(
          "\n*************************************************************************\n"
              + "NodeConsumerIT SKIPPED: node and npm are not both on the PATH. The Node\n"
              + "consumer contract test needs Node.js 20+ with npm (CI has them).\n"
              + "*************************************************************************");
    }
    RequiredTools.assume(
        "node",
        found.isPresent(),
        "NodeConsumerIT needs node and npm on the PATH (install Node.js 20+)");
    node = found.get();
    CompletableFuture<Void> install =
        CompletableFuture.runAsync(() -> node.install(Duration.ofMinutes(5)));
    dir = Files.createTempDirectory("reelflow-node-consumer");
    long t0 = System.nanoTime();
    pipeline =
        LocalPipeline.start(
            new LocalPipeline.Options(
                dir,
                1,
                1,
                "native",
                "bicubic",
                0,
                freePort(),
                Map.of(
                    OrchestratorSettings.CHECKPOINT_INTERVAL.name(), "2s",
                    OrchestratorSettings.STATE_BACKEND.name(), "hashmap",
                    OrchestratorSettings.POSITION_INTERVAL.name(), "1s"),
                Map.of()),
            new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8));
    LOG.info("pipeline up in {} ms", (System.nanoTime() - t0) / 1_000_000);
    api = new RenderApi(pipeline.apiUrl(), pipeline.apiKey());
    install.get(6, TimeUnit.MINUTES);
  }

  @AfterAll
  static void stop() throws IOException {
    if (pipeline != null) {
      pipeline.close();
    }
    if (dir != null) {
      try (var all = Files.walk(dir)) {
        all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String bootstrap() {
    return pipeline.stack().bootstrapServers();
  }

  private static String registry() {
    return pipeline.stack().schemaRegistryUrl();
  }

  private static JsonNode submit(String body) {
    RenderApi.Answer a = api.call("POST", "/v1/renders", body);
    assertThat(a.status()).as(a.body()).isEqualTo(202);
    return a.json();
  }

  @Test
  void theNodeConsumerReadsEveryRecordOfEveryTopicWithNoFailure() throws Exception {
    long t0 = System.nanoTime();
    // A client-chosen seed at the maximum, upscaled (both task topics).
    JsonNode max =
        submit(
            "{\"prompt\":\"a red fox in the snow\",\"resolution\":\"preview\",\"frames\":9,"
                + "\"steps\":2,\"upscale\":\"1080p\",\"seed\":"
                + WireNumbers.MAX_SEED
                + "}");
    assertThat(max.get("seed").asLong()).isEqualTo(WireNumbers.MAX_SEED);
    // A seed ReelFlow chose.
    JsonNode chosen =
        submit(
            "{\"prompt\":\"a lighthouse at dusk\",\"resolution\":\"preview\",\"frames\":9,"
                + "\"steps\":2,\"upscale\":\"none\"}");
    long chosenSeed = chosen.get("seed").asLong();
    assertThat(chosenSeed).isBetween(0L, WireNumbers.MAX_SEED);
    // One more seed is refused, naming the field and the limit.
    RenderApi.Answer refused =
        api.call(
            "POST",
            "/v1/renders",
            "{\"prompt\":\"x\",\"seed\":" + (WireNumbers.MAX_SEED + 1) + "}");
    assertThat(refused.status()).isEqualTo(422);
    assertThat(refused.body()).contains("seed", Long.toString(WireNumbers.MAX_SEED));
    // A cancel (render.commands).
    String cancelled =
        submit(
                "{\"prompt\":\"a cancelled clock tower\",\"resolution\":\"preview\",\"frames\":9,"
                    + "\"steps\":2,\"upscale\":\"none\"}")
            .get("id")
            .asText();
    assertThat(api.cancel(cancelled).status()).isEqualTo(202);
    // A schedule (render.schedules): created, deleted, and tombstoned as an operator would.
    RenderApi.Answer schedule =
        api.call(
            "POST",
            "/v1/schedules",
            "{\"name\":\"new year\",\"cron\":\"0 3 1 1 *\",\"timezone\":\"Europe/Berlin\","
                + "\"template\":{\"prompt\":\"fireworks\",\"resolution\":\"preview\"}}");
    assertThat(schedule.status()).as(schedule.body()).isEqualTo(201);
    String scheduleId = schedule.json().get("id").asText();
    assertThat(api.call("DELETE", "/v1/schedules/" + scheduleId, null).status()).isEqualTo(204);
    // A poison record (render.dlq): valid Avro the orchestrator refuses, as its id cannot be
    // part of an object key.
    String poison = "nc/../poison";
    produce(poison, scheduleId);

    EventLog log = new EventLog(bootstrap(), registry());
    try {
      String maxId = max.get("id").asText();
      String chosenId = chosen.get("id").asText();
      awaitState(log, maxId, RenderState.SUCCEEDED);
      awaitState(log, chosenId, RenderState.SUCCEEDED);
      awaitState(log, cancelled, RenderState.CANCELLED);
      awaitState(log, poison, RenderState.FAILED);
      log.awaitDead(WAIT, "dead letter of " + poison, d -> poison.equals(d.letter().getKey()));
      LOG.info("renders done in {} s", (System.nanoTime() - t0) / 1_000_000_000);

      long t1 = System.nanoTime();
      Map<String, Long> before = committedRecords();
      long t2 = System.nanoTime();
      NodeProject.Result run =
          node.node(
              Duration.ofMinutes(2),
              "reelflow-events.mjs",
              concat(List.of(bootstrap(), registry()), Topics.defaults().names()));
      long t3 = System.nanoTime();
      Map<String, Long> after = committedRecords();
      LOG.info(
          "Java count {} ms, Node consumer {} ms", (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
      assertThat(run.exit()).as(run.output()).isZero();
      List<JsonNode> lines = run.jsonLines();
      JsonNode summary = lines.get(lines.size() - 1);
      LOG.info("Node consumer: {}", summary);
      assertThat(summary.path("failures")).as(run.output()).isEmpty();
      for (String topic : Topics.defaults().names()) {
        long read = summary.path("records").path(topic).asLong(-1);
        assertThat(read)
            .as("records of %s read from Node", topic)
            .isPositive()
            .isBetween(before.get(topic), after.get(topic));
      }
      Map<String, JsonNode> renders = new HashMap<>();
      lines.stream()
          .filter(l -> l.hasNonNull("requestId"))
          .forEach(l -> renders.put(l.get("requestId").asText(), l));

      JsonNode m = renders.get(maxId);
      assertThat(m.path("state").asText()).isEqualTo("SUCCEEDED");
      assertThat(m.path("final").asBoolean()).isTrue();
      assertThat(m.path("seed").asLong()).as("exact in JavaScript").isEqualTo(WireNumbers.MAX_SEED);
      assertThat(m.path("outputs")).hasSize(3);
      assertThat(m.path("lineage").toString()).contains("START", "RUNNING", "COMPLETE");
      assertThat(m.path("datasets").toString()).contains(maxId + "/final/video.mp4");
      assertThat(renders.get(chosenId).path("seed").asLong()).isEqualTo(chosenSeed);
      assertThat(renders.get(chosenId).path("state").asText()).isEqualTo("SUCCEEDED");
      assertThat(renders.get(cancelled).path("state").asText()).isEqualTo("CANCELLED");
      assertThat(renders.get(poison).path("state").asText()).isEqualTo("FAILED");

      // The README's Java consumer sees the same newest statuses.
      Map<String, RenderStatus> java = RenderEventsReader.newestStatuses(bootstrap(), registry());
      for (String id : List.of(maxId, chosenId, cancelled, poison)) {
        assertThat(java.get(id).getState().name())
            .isEqualTo(renders.get(id).path("state").asText());
        assertThat(java.get(id).getVersion()).isEqualTo(renders.get(id).path("version").asLong());
      }
      assertThat(java.get(maxId).getSeed()).isEqualTo(WireNumbers.MAX_SEED);
      Map<String, List<JsonNode>> lineage = RenderEventsReader.lineage(bootstrap());
      assertThat(lineage.get(maxId).stream().map(e -> e.path("eventType").asText()).toList())
          .isEqualTo(JSON.convertValue(m.path("lineage"), List.class));
      // The AsyncAPI document describes the lineage events as they are.
      Schema documented = documentedLineageSchema();
      for (String id : List.of(maxId, chosenId, cancelled, poison)) {
        for (JsonNode event : lineage.getOrDefault(id, List.of())) {
          assertThat(documented.validate(event)).as("lineage event %s", event).isEmpty();
        }
      }
    } finally {
      log.close();
    }
  }

  @Test
  void theServedAsyncApiDocumentValidatesAgainstTheOfficialSchemaFromNpm() throws Exception {
    RenderApi.Answer doc = api.call("GET", "/asyncapi.json", null);
    assertThat(doc.status()).isEqualTo(200);
    Path file = NodeProject.DIR.resolve("asyncapi.json");
    Files.writeString(file, doc.body());
    NodeProject.Result r =
        node.node(Duration.ofMinutes(1), "validate-asyncapi.mjs", List.of("asyncapi.json"));
    assertThat(r.exit()).as(r.output()).isZero();
    JsonNode result = r.jsonLines().get(0);
    assertThat(result.path("errors")).as(r.output()).isEmpty();
    assertThat(result.path("valid").asBoolean()).isTrue();
    // The copy the schemas module's test validates with is the npm package's file.
    Path copy =
        Path.of(System.getProperty("reelflow.repo.root", "../.."))
            .resolve("schemas/src/test/resources/asyncapi-spec/asyncapi-3.0.0.json.gz");
    byte[] spec;
    try (GZIPInputStream in =
        new GZIPInputStream(new ByteArrayInputStream(Files.readAllBytes(copy)))) {
      spec = in.readAllBytes();
    }
    assertThat(result.path("specSha256").asText())
        .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(spec)));
  }

  /** The tool name of confluent-kafka's Python package with its Avro support. */
  static final String PYTHON_KAFKA = "confluent-kafka-python";

  /**
   * The README's Python consumer against the live pipeline, where confluent-kafka with its Avro
   * support imports. CI cannot install it (no PyPI there), so CI does not list {@value
   * #PYTHON_KAFKA} in reelflow.require and this test is skipped there, saying why; the script's
   * syntax and its own logic run everywhere in ConsumerGuideTest (on a stand-in package).
   */
  @Test
  void theReadmesPythonConsumerReadsARenderWhereConfluentKafkaImports() throws Exception {
    RequiredTools.assume(
        PYTHON_KAFKA,
        pythonImports("confluent_kafka.schema_registry.avro"),
        "the README's Python consumer needs python3 with confluent-kafka and its Avro support"
            + " (pip install \"confluent-kafka[avro]\"); its syntax and logic are checked by"
            + " ConsumerGuideTest");
    JsonNode max =
        submit(
            "{\"prompt\":\"a python reads the fox\",\"resolution\":\"preview\",\"frames\":9,"
                + "\"steps\":2,\"upscale\":\"none\",\"seed\":"
                + WireNumbers.MAX_SEED
                + "}");
    String maxId = max.get("id").asText();
    try (EventLog log = new EventLog(bootstrap(), registry())) {
      awaitState(log, maxId, RenderState.SUCCEEDED);
    }
    Path script =
        Path.of(System.getProperty("reelflow.repo.root", "../.."))
            .resolve("ops/e2e/src/test/python/reelflow_events.py")
            .toAbsolutePath();
    Process p =
        new ProcessBuilder("python3", script.toString(), bootstrap(), registry())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out)
        .contains(maxId + " SUCCEEDED (final) seed=" + WireNumbers.MAX_SEED)
        .contains("'COMPLETE'");
    LOG.info("Python example ran:\n{}", out);
  }

  /** Whether python3 is on the PATH and imports {@code module}. */
  private static boolean pythonImports(String module) throws InterruptedException {
    try {
      Process p =
          new ProcessBuilder("python3", "-c", "import " + module).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException noPython) {
      return false;
    }
  }

  private static void awaitState(EventLog log, String id, RenderState state) {
    log.awaitStatus(
        WAIT, state + " of " + id, s -> s.getRequestId().equals(id) && s.getState() == state);
  }

  /** The poison request, and a tombstone for the deleted schedule. */
  private static void produce(String poison, String scheduleId) throws Exception {
    RenderRequest request =
        RenderRequest.newBuilder()
            .setRequestId(poison)
            .setTenant(pipeline.tenant())
            .setParams(
                RenderParams.newBuilder()
                    .setPrompt("poison")
                    .setResolution(Resolution.PREVIEW)
                    .setFrames(9)
                    .setUpscale(UpscaleTarget.NONE)
                    .build())
            .setSubmittedAt(Instant.now())
            .build();
    byte[] value =
        AvroRecordSerializer.<RenderRequest>builder()
            .client(SchemaRegistryClient.create(registry()))
            .build()
            .serialize(Topics.REQUESTS, request);
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", bootstrap(), "acks", "all"),
            new StringSerializer(),
            new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(Topics.REQUESTS, poison, value)).get();
      producer.send(new ProducerRecord<>(Topics.SCHEDULES, scheduleId, null)).get();
    }
  }

  /** Records of every topic a read_committed consumer sees now, from the beginning. */
  private static Map<String, Long> committedRecords() {
    Map<String, Long> counts = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(
            Map.of("bootstrap.servers", bootstrap(), "isolation.level", "read_committed"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      for (String topic : Topics.defaults().names()) {
        counts.put(topic, 0L);
        c.partitionsFor(topic).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      }
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (parts.stream().anyMatch(p -> c.position(p) < end.get(p))) {
        assertThat(System.nanoTime()).as("reading every topic").isLessThan(deadline);
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
            counts.merge(r.topic(), 1L, Long::sum);
          }
        }
      }
    }
    return counts;
  }

  private static Schema documentedLineageSchema() throws IOException {
    JsonNode doc = JSON.readTree(AsyncApiDocument.generated().orElseThrow());
    JsonNode payload =
        doc.path("components").path("messages").path("OpenLineageRunEvent").path("payload");
    return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7).getSchema(payload);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
