package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.ParsedSchema;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.avro.AvroSchema;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.CachedSchemaRegistryClient;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.SchemaMetadata;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.rest.exceptions.RestClientException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchemaRegistryServerIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path workDir;
  static KafkaBroker broker;
  static SchemaRegistryServer registry;

  @BeforeAll
  static void start() {
    broker = KafkaBroker.builder(workDir).build();
    broker.start();
    registry = SchemaRegistryServer.builder(broker.bootstrapServers()).build();
    registry.start();
  }

  @AfterAll
  static void stop() {
    registry.close();
    broker.close();
  }

  static String record(String name, String... extraFields) {
    StringBuilder fields = new StringBuilder("{\"name\":\"id\",\"type\":\"string\"}");
    for (String f : extraFields) {
      fields.append(',').append(f);
    }
    return "{\"type\":\"record\",\"name\":\""
        + name
        + "\",\"namespace\":\"it\",\"fields\":["
        + fields
        + "]}";
  }

  record Reply(int status, JsonNode json, String contentType) {}

  static Reply call(String baseUrl, String method, String path, Object body, String auth)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .header("Accept", "application/vnd.schemaregistry.v1+json");
    if (auth != null) {
      b.header("Authorization", auth);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(
        r.statusCode(), JSON.readTree(r.body()), r.headers().firstValue("Content-Type").orElse(""));
  }

  static Reply call(String method, String path, Object body) throws Exception {
    return call(registry.url(), method, path, body, null);
  }

  static int register(String url, String subject, String schema) throws Exception {
    Reply r =
        call(url, "POST", "/subjects/" + subject + "/versions", Map.of("schema", schema), null);
    assertThat(r.status()).as(r.json().toString()).isEqualTo(200);
    return r.json().get("id").asInt();
  }

  @Test
  void registersLooksUpAndServesById() throws Exception {
    String v1 = record("Lookup");
    int id = register(registry.url(), "lookup-value", v1);
    assertThat(register(registry.url(), "lookup-value", v1)).isEqualTo(id);
    Reply byId = call("GET", "/schemas/ids/" + id, null);
    assertThat(byId.status()).isEqualTo(200);
    assertThat(byId.contentType()).isEqualTo("application/vnd.schemaregistry.v1+json");
    assertThat(JSON.readTree(byId.json().get("schema").asText())).isEqualTo(JSON.readTree(v1));
    Reply lookup = call("POST", "/subjects/lookup-value", Map.of("schema", v1));
    assertThat(lookup.json().get("id").asInt()).isEqualTo(id);
    assertThat(lookup.json().get("version").asInt()).isEqualTo(1);
    Reply latest = call("GET", "/subjects/lookup-value/versions/latest", null);
    assertThat(latest.json().get("subject").asText()).isEqualTo("lookup-value");
    assertThat(call("GET", "/subjects", null).json().toString()).contains("lookup-value");
  }

  @Test
  void enforcesCompatibilityAndAnswersConfluentErrorCodes() throws Exception {
    String v1 = record("Compat");
    register(registry.url(), "compat-value", v1);
    String compatible = record("Compat", "{\"name\":\"n\",\"type\":\"int\",\"default\":0}");
    // A new field without a default: the new schema cannot read data written before it.
    String breaking =
        record(
            "Compat",
            "{\"name\":\"n\",\"type\":\"int\",\"default\":0}",
            "{\"name\":\"m\",\"type\":\"int\"}");
    assertThat(register(registry.url(), "compat-value", compatible)).isPositive();

    Reply incompatible =
        call("POST", "/subjects/compat-value/versions", Map.of("schema", breaking));
    assertThat(incompatible.status()).isEqualTo(409);
    assertThat(incompatible.json().get("error_code").asInt()).isEqualTo(409);
    Reply check =
        call(
            "POST",
            "/compatibility/subjects/compat-value/versions/latest",
            Map.of("schema", breaking));
    assertThat(check.json().get("is_compatible").asBoolean()).isFalse();

    Reply invalid =
        call("POST", "/subjects/compat-value/versions", Map.of("schema", "{\"type\":\"recor\"}"));
    assertThat(invalid.status()).isEqualTo(422);
    assertThat(invalid.json().get("error_code").asInt()).isEqualTo(42201);
    assertThat(invalid.json().get("message").asText()).isNotBlank();

    Reply noSubject = call("GET", "/subjects/nobody/versions/latest", null);
    assertThat(noSubject.status()).isEqualTo(404);
    assertThat(noSubject.json().get("error_code").asInt()).isEqualTo(40401);
    Reply noSchema = call("GET", "/schemas/ids/987654", null);
    assertThat(noSchema.status()).isEqualTo(404);
    assertThat(noSchema.json().get("error_code").asInt()).isEqualTo(40403);
    Reply badLevel = call("PUT", "/config/compat-value", Map.of("compatibility", "LOOSE"));
    assertThat(badLevel.status()).isEqualTo(422);
    assertThat(badLevel.json().get("error_code").asInt()).isEqualTo(42203);

    assertThat(call("PUT", "/config/compat-value", Map.of("compatibility", "NONE")).status())
        .isEqualTo(200);
    assertThat(register(registry.url(), "compat-value", breaking)).isPositive();
  }

  @Test
  void restartKeepsIdsAndContinuesNumbering() throws Exception {
    String a = record("RestartA");
    int idA = register(registry.url(), "restart-value", a);
    registry.stop();
    registry.start();
    assertThat(register(registry.url(), "restart-value", a)).isEqualTo(idA);
    assertThat(
            JSON.readTree(call("GET", "/schemas/ids/" + idA, null).json().get("schema").asText()))
        .isEqualTo(JSON.readTree(a));
    int idB = register(registry.url(), "restart-other", record("RestartB"));
    assertThat(idB).isNotEqualTo(idA);
  }

  @Test
  void twoInstancesAgreeOnIdsUnderConcurrentRegistration() throws Exception {
    try (SchemaRegistryServer second =
        SchemaRegistryServer.builder(broker.bootstrapServers()).build()) {
      second.start();
      String[] urls = {registry.url(), second.url()};
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<int[]>> results = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
          int n = i;
          Callable<int[]> task =
              () -> {
                // Schemas 0..5 are registered twice (once per instance), 6..11 once.
                int schemaNo = n % 6 + (n >= 6 && n % 2 == 1 ? 6 : 0);
                int id = register(urls[n % 2], "concurrent-" + schemaNo, record("C" + schemaNo));
                return new int[] {schemaNo, id};
              };
          results.add(pool.submit(task));
        }
        Map<Integer, Integer> idBySchema = new HashMap<>();
        Map<Integer, Integer> schemaById = new HashMap<>();
        for (Future<int[]> f : results) {
          int[] r = f.get();
          Integer previous = idBySchema.putIfAbsent(r[0], r[1]);
          assertThat(previous == null || previous == r[1])
              .as("schema %s got ids %s and %s", r[0], previous, r[1])
              .isTrue();
          Integer owner = schemaById.putIfAbsent(r[1], r[0]);
          assertThat(owner == null || owner == r[0])
              .as("id %s handed out for schemas %s and %s", r[1], owner, r[0])
              .isTrue();
        }
      } finally {
        pool.shutdownNow();
      }
      // Both instances resolve every id to the same schema.
      for (int id = 1; id <= 20; id++) {
        Reply one = call(urls[0], "GET", "/schemas/ids/" + id, null, null);
        Reply two = call(urls[1], "GET", "/schemas/ids/" + id, null, null);
        assertThat(two.status()).isEqualTo(one.status());
        assertThat(two.json()).isEqualTo(one.json());
      }
    }
  }

  @Test
  void basicAuthIsEnforcedWhenConfigured() throws Exception {
    try (SchemaRegistryServer secured =
        SchemaRegistryServer.builder(broker.bootstrapServers()).basicAuth("ci", "s3cret").build()) {
      secured.start();
      Reply anonymous = call(secured.url(), "GET", "/subjects", null, null);
      assertThat(anonymous.status()).isEqualTo(401);
      String auth =
          "Basic "
              + Base64.getEncoder().encodeToString("ci:s3cret".getBytes(StandardCharsets.UTF_8));
      assertThat(call(secured.url(), "GET", "/subjects", null, auth).status()).isEqualTo(200);
    }
  }

  static final String ORDER_V1 =
      "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"it.confluent\",\"fields\":"
          + "[{\"name\":\"id\",\"type\":\"string\"}]}";
  static final String ORDER_V2 =
      "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"it.confluent\",\"fields\":"
          + "[{\"name\":\"id\",\"type\":\"string\"},"
          + "{\"name\":\"qty\",\"type\":\"int\",\"default\":1}]}";
  static final String ORDER_BREAKING =
      "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"it.confluent\",\"fields\":"
          + "[{\"name\":\"id\",\"type\":\"long\"}]}";

  /** Confluent's own client (relocated in flink-sql-avro-confluent-registry). */
  static CachedSchemaRegistryClient client() {
    return new CachedSchemaRegistryClient(registry.url(), 100, Map.of());
  }

  @Test
  void confluentClientRegistersReadsBackAndLooksUp() throws Exception {
    CachedSchemaRegistryClient client = client();
    int id1 = client.register("cc-orders-value", new AvroSchema(ORDER_V1));
    int id2 = client.register("cc-orders-value", new AvroSchema(ORDER_V2));
    assertThat(id2).isNotEqualTo(id1);

    // A fresh client has no cache: everything below is answered by the server.
    CachedSchemaRegistryClient fresh = client();
    ParsedSchema byId = fresh.getSchemaById(id1);
    assertThat(byId.canonicalString()).isEqualTo(new AvroSchema(ORDER_V1).canonicalString());
    assertThat(fresh.getId("cc-orders-value", new AvroSchema(ORDER_V2))).isEqualTo(id2);
    assertThat(fresh.getVersion("cc-orders-value", new AvroSchema(ORDER_V1))).isEqualTo(1);
    SchemaMetadata latest = fresh.getLatestSchemaMetadata("cc-orders-value");
    assertThat(latest.getId()).isEqualTo(id2);
    assertThat(latest.getVersion()).isEqualTo(2);
    assertThat(fresh.getSchemaMetadata("cc-orders-value", 1).getId()).isEqualTo(id1);
    assertThat(fresh.getAllVersions("cc-orders-value")).isEqualTo(List.of(1, 2));
    assertThat(fresh.getAllSubjects()).contains("cc-orders-value");
    assertThat(fresh.register("cc-orders-value", new AvroSchema(ORDER_V1))).isEqualTo(id1);
  }

  @Test
  void confluentClientSeesCompatibilityConfigAndErrors() throws Exception {
    CachedSchemaRegistryClient client = client();
    client.register("cc-compat-value", new AvroSchema(ORDER_V1));
    assertThat(client.testCompatibility("cc-compat-value", new AvroSchema(ORDER_V2))).isTrue();
    assertThat(client.testCompatibility("cc-compat-value", new AvroSchema(ORDER_BREAKING)))
        .isFalse();
    assertThatThrownBy(() -> client.register("cc-compat-value", new AvroSchema(ORDER_BREAKING)))
        .isInstanceOfSatisfying(
            RestClientException.class, e -> assertThat(e.getStatus()).isEqualTo(409));
    assertThatThrownBy(() -> client().getSchemaById(424242))
        .isInstanceOfSatisfying(
            RestClientException.class, e -> assertThat(e.getErrorCode()).isEqualTo(40403));
    assertThatThrownBy(() -> client().getLatestSchemaMetadata("cc-nobody-value"))
        .isInstanceOfSatisfying(
            RestClientException.class, e -> assertThat(e.getErrorCode()).isEqualTo(40401));

    assertThat(client.updateCompatibility("cc-compat-value", "NONE")).isEqualTo("NONE");
    assertThat(client.getCompatibility("cc-compat-value")).isEqualTo("NONE");
    assertThat(client.register("cc-compat-value", new AvroSchema(ORDER_BREAKING))).isPositive();
    assertThat(client.deleteSubject("cc-compat-value")).containsExactly(1, 2);
    assertThat(client().getAllSubjects()).doesNotContain("cc-compat-value");
  }
}
