package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The AsyncAPI document the build generated: valid against the official AsyncAPI 3.0.0 JSON schema
 * ({@code @asyncapi/specs} 6.11.1, see {@code asyncapi-spec/README.md}), equal to what the schemas
 * and the catalogue give now, and complete (every topic, key, schema, cleanup, retention, producer
 * and consumer).
 */
class AsyncApiDocumentTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String SPEC_SHA256 =
      "d4571a420e6ffb7fcc7066c95a6db1202f299a3c51daa103d0706bf30f95e626";

  static JsonNode doc;
  static Schema asyncApi3;

  @BeforeAll
  static void load() throws Exception {
    byte[] generated =
        AsyncApiDocument.generated()
            .orElseThrow(() -> new AssertionError("the build did not generate asyncapi.json"));
    doc = JSON.readTree(generated);
    byte[] spec;
    try (InputStream in =
        new GZIPInputStream(
            AsyncApiDocumentTest.class.getResourceAsStream(
                "/asyncapi-spec/asyncapi-3.0.0.json.gz"))) {
      spec = in.readAllBytes();
    }
    assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(spec)))
        .as("the official schema, unchanged")
        .isEqualTo(SPEC_SHA256);
    asyncApi3 =
        SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7)
            .getSchema(JSON.readTree(spec));
  }

  @Test
  void theGeneratedDocumentIsValidAsyncApi3() {
    List<Error> errors = asyncApi3.validate(doc);
    assertThat(errors).as("AsyncAPI 3.0.0 schema violations").isEmpty();
    assertThat(doc.path("asyncapi").asText()).isEqualTo("3.0.0");
  }

  @Test
  void theValidationCatchesABrokenDocument() {
    ObjectNode broken = doc.deepCopy();
    ((ObjectNode) broken.path("channels").path("render.status").path("bindings").path("kafka"))
        .put("partitions", 0);
    ((ObjectNode) broken.path("operations").path("orchestrator.send.render.status"))
        .put("action", "publish");
    JsonNode status = broken.path("components").path("messages").path("RenderStatus");
    ((ObjectNode) status.path("payload").path("schema")).put("type", "recordz");
    List<String> where = new ArrayList<>();
    asyncApi3.validate(broken).forEach(e -> where.add(e.getInstanceLocation().toString()));
    assertThat(where)
        .anyMatch(w -> w.endsWith("kafka/partitions"))
        .anyMatch(w -> w.endsWith("orchestrator.send.render.status/action"))
        .anyMatch(w -> w.endsWith("RenderStatus/payload/schema/type"));

    ObjectNode badBinding = doc.deepCopy();
    ((ObjectNode)
            badBinding
                .path("components")
                .path("messages")
                .path("DeadLetter")
                .path("bindings")
                .path("kafka"))
        .put("schemaIdLocation", "footer");
    assertThat(asyncApi3.validate(badBinding))
        .extracting(e -> e.getInstanceLocation().toString())
        .anyMatch(w -> w.startsWith("/components/messages/DeadLetter"));
  }

  @Test
  void theBuildsDocumentIsWhatTheSchemasAndCatalogueGiveNow() throws IOException {
    String now = AsyncApiDocument.toJson(AsyncApiDocument.build(Topics.defaults(), "x"));
    ObjectNode built = (ObjectNode) JSON.readTree(now);
    ((ObjectNode) built.path("info")).put("version", doc.path("info").path("version").asText());
    assertThat(built).isEqualTo(doc);
  }

  @Test
  void everyTopicIsAChannelWithItsKeySchemaCleanupAndProcesses() throws Exception {
    assertThat(doc.path("channels").size()).isEqualTo(Topic.values().length);
    for (Topics.Spec spec : Topics.defaults().specs()) {
      Topic topic = spec.topic();
      JsonNode ch = doc.path("channels").path(spec.name());
      assertThat(ch.path("address").asText()).isEqualTo(spec.name());
      JsonNode kafka = ch.path("bindings").path("kafka");
      assertThat(kafka.path("partitions").asInt()).isEqualTo(spec.partitions());
      assertThat(kafka.path("topicConfiguration").path("cleanup.policy").get(0).asText())
          .isEqualTo(topic.cleanupPolicy());
      assertThat(kafka.path("topicConfiguration").path("retention.ms").asLong(-1))
          .isEqualTo(topic.retention().map(r -> r.toMillis()).orElse(-1L));
      String name = AsyncApiDocument.messageName(topic);
      JsonNode message = doc.path("components").path("messages").path(name);
      assertThat(message.path("bindings").path("kafka").path("key").path("description").asText())
          .isEqualTo(topic.keyDescription());
      if (topic.valueSchema().isPresent()) {
        JsonNode payload = message.path("payload");
        assertThat(payload.path("schemaFormat").asText()).startsWith("application/vnd.apache.avro");
        assertThat(new org.apache.avro.Schema.Parser().parse(payload.path("schema").toString()))
            .as("the payload schema of %s is the registered one", spec.name())
            .isEqualTo(topic.valueSchema().get());
        assertThat(message.path("bindings").path("kafka").path("schemaIdPayloadEncoding").asText())
            .isEqualTo("confluent");
      } else {
        assertThat(message.path("contentType").asText()).isEqualTo("application/json");
      }
      assertThat(message.path("examples").size()).isPositive();
      for (Component c : topic.producers()) {
        JsonNode op = doc.path("operations").path(c.id() + ".send." + spec.name());
        assertThat(op.path("action").asText()).as(c + " writes " + spec.name()).isEqualTo("send");
      }
      for (Component c : topic.consumers()) {
        JsonNode op = doc.path("operations").path(c.id() + ".receive." + spec.name());
        assertThat(op.path("action").asText()).as(c + " reads " + spec.name()).isEqualTo("receive");
      }
    }
    assertThat(doc.path("channels").path("render.status").path("description").asText())
        .contains("compact");
    assertThat(doc.path("info").path("description").asText())
        .contains("magic byte 0", "TopicNameStrategy", "read_committed", "2^53 - 2");
  }

  @Test
  void examplesAreAsConsumersReadThem() {
    JsonNode status = doc.path("components").path("messages").path("RenderStatus");
    JsonNode succeeded = status.path("examples").get(1).path("payload");
    assertThat(succeeded.path("state").asText()).isEqualTo("SUCCEEDED");
    assertThat(succeeded.path("seed").asLong()).isEqualTo(WireNumbers.MAX_SEED);
    assertThat(succeeded.path("updatedAt").isIntegralNumber()).as("epoch millis").isTrue();
    assertThat(succeeded.path("stage").asText()).as("union unwrapped").isEqualTo("UPSCALE");
    JsonNode dead = doc.path("components").path("messages").path("DeadLetter");
    assertThat(dead.path("examples").get(0).path("headers").path("reelflow.dlq.reason").asText())
        .isEqualTo(dead.path("examples").get(0).path("payload").path("reason").asText());
    assertThat(dead.path("examples").get(0).path("payload").path("value").asText())
        .isEqualTo(new String("not avro".getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
  }
}
