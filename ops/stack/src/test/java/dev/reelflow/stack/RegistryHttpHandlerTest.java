package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Routing, JSON shapes and Confluent error codes, on an in-memory log (no Kafka, no HTTP). */
class RegistryHttpHandlerTest {
  static final String V1 =
      "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
  static final String V2 =
      "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\",\"default\":1}]}";
  static final String BREAKING =
      "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"c\",\"type\":\"int\"}]}";
  static final ObjectMapper JSON = new ObjectMapper();

  final SchemaRegistryState state = new SchemaRegistryState(CompatibilityLevel.BACKWARD);
  final SchemaLog inMemory =
      new SchemaLog() {
        @Override
        public Object submit(RegistryCommand command) throws RegistryException {
          // Same path as Kafka: the command goes through JSON and is applied in order.
          try {
            RegistryCommand copy =
                JSON.readValue(JSON.writeValueAsBytes(command), RegistryCommand.class);
            synchronized (state) {
              return state.apply(copy);
            }
          } catch (java.io.IOException e) {
            throw new AssertionError(e);
          }
        }

        @Override
        public void awaitCaughtUp() {}
      };
  final RegistryHttpHandler handler = new RegistryHttpHandler(state, inMemory, null, null);

  RegistryHttpHandler.Response call(String method, String path, Object body) throws Exception {
    String[] parts = path.split("\\?", 2);
    Map<String, String> query = new java.util.HashMap<>();
    if (parts.length == 2) {
      for (String kv : parts[1].split("&")) {
        String[] p = kv.split("=", 2);
        query.put(p[0], p.length == 2 ? p[1] : "");
      }
    }
    List<String> segments = Arrays.stream(parts[0].split("/")).filter(s -> !s.isEmpty()).toList();
    byte[] bytes =
        body == null
            ? new byte[0]
            : body instanceof String s
                ? s.getBytes(StandardCharsets.UTF_8)
                : JSON.writeValueAsBytes(body);
    return handler.handle(new RegistryHttpHandler.Request(method, segments, query, bytes));
  }

  RegistryException error(String method, String path, Object body) {
    return (RegistryException)
        org.assertj.core.api.Assertions.catchThrowable(() -> call(method, path, body));
  }

  @Test
  void registerReturnsStableIdsAndVersions() throws Exception {
    assertThat(call("POST", "/subjects/s-value/versions", Map.of("schema", V1)).body())
        .isEqualTo(Map.of("id", 1));
    // Same schema again, even with different whitespace: same id, no new version.
    String spaced = V1.replace(",", ", ");
    assertThat(call("POST", "/subjects/s-value/versions", Map.of("schema", spaced)).body())
        .isEqualTo(Map.of("id", 1));
    assertThat(call("POST", "/subjects/s-value/versions", Map.of("schema", V2)).body())
        .isEqualTo(Map.of("id", 2));
    // The same schema under another subject keeps its global id.
    assertThat(call("POST", "/subjects/other/versions", Map.of("schema", V1)).body())
        .isEqualTo(Map.of("id", 1));
    assertThat(call("GET", "/subjects/s-value/versions", null).body()).isEqualTo(List.of(1, 2));
    assertThat(call("GET", "/subjects", null).body()).isEqualTo(List.of("other", "s-value"));
    @SuppressWarnings("unchecked")
    Map<String, Object> latest =
        (Map<String, Object>) call("GET", "/subjects/s-value/versions/latest", null).body();
    assertThat(latest).containsEntry("subject", "s-value").containsEntry("version", 2);
    assertThat(latest).containsEntry("id", 2);
    assertThat(call("GET", "/subjects/s-value/versions/1/schema", null).body())
        .isEqualTo(new org.apache.avro.Schema.Parser().parse(V1).toString());
    @SuppressWarnings("unchecked")
    Map<String, Object> byId = (Map<String, Object>) call("GET", "/schemas/ids/2", null).body();
    assertThat(new org.apache.avro.Schema.Parser().parse((String) byId.get("schema")))
        .isEqualTo(new org.apache.avro.Schema.Parser().parse(V2));
    @SuppressWarnings("unchecked")
    Map<String, Object> lookup =
        (Map<String, Object>) call("POST", "/subjects/s-value", Map.of("schema", V1)).body();
    assertThat(lookup).containsEntry("version", 1).containsEntry("id", 1);
  }

  @Test
  void incompatibleSchemaIs409AndCompatibilityEndpointAgrees() throws Exception {
    call("POST", "/subjects/s/versions", Map.of("schema", V1));
    RegistryException e = error("POST", "/subjects/s/versions", Map.of("schema", BREAKING));
    assertThat(e.httpStatus()).isEqualTo(409);
    assertThat(e.errorCode()).isEqualTo(409);
    assertThat(e.getMessage()).contains("incompatible", "c");
    assertThat(
            call("POST", "/compatibility/subjects/s/versions/latest", Map.of("schema", BREAKING))
                .body())
        .isEqualTo(Map.of("is_compatible", false));
    assertThat(call("POST", "/compatibility/subjects/s/versions/1", Map.of("schema", V2)).body())
        .isEqualTo(Map.of("is_compatible", true));
    @SuppressWarnings("unchecked")
    Map<String, Object> verbose =
        (Map<String, Object>)
            call(
                    "POST",
                    "/compatibility/subjects/s/versions?verbose=true",
                    Map.of("schema", BREAKING))
                .body();
    assertThat(verbose.get("is_compatible")).isEqualTo(false);
    assertThat((List<?>) verbose.get("messages")).isNotEmpty();
    // With NONE on the subject the same schema registers.
    assertThat(call("PUT", "/config/s", Map.of("compatibility", "NONE")).body())
        .isEqualTo(Map.of("compatibility", "NONE"));
    assertThat(call("POST", "/subjects/s/versions", Map.of("schema", BREAKING)).body())
        .isEqualTo(Map.of("id", 2));
  }

  @Test
  void configDefaultsToBackwardAndSubjectLevelsAreSeparate() throws Exception {
    assertThat(call("GET", "/config", null).body())
        .isEqualTo(Map.of("compatibilityLevel", "BACKWARD"));
    assertThat(error("GET", "/config/s", null).errorCode()).isEqualTo(40408);
    assertThat(call("GET", "/config/s?defaultToGlobal=true", null).body())
        .isEqualTo(Map.of("compatibilityLevel", "BACKWARD"));
    call("PUT", "/config", Map.of("compatibility", "full_transitive"));
    call("PUT", "/config/s", Map.of("compatibility", "FORWARD"));
    assertThat(call("GET", "/config", null).body())
        .isEqualTo(Map.of("compatibilityLevel", "FULL_TRANSITIVE"));
    assertThat(call("GET", "/config/s", null).body())
        .isEqualTo(Map.of("compatibilityLevel", "FORWARD"));
    assertThat(call("DELETE", "/config/s", null).body())
        .isEqualTo(Map.of("compatibilityLevel", "FORWARD"));
    RegistryException bad = error("PUT", "/config", Map.of("compatibility", "SIDEWAYS"));
    assertThat(bad.httpStatus()).isEqualTo(422);
    assertThat(bad.errorCode()).isEqualTo(42203);
  }

  @Test
  void errorsCarryConfluentCodes() throws Exception {
    RegistryException invalid =
        error("POST", "/subjects/s/versions", Map.of("schema", "{\"type\":\"nope\"}"));
    assertThat(invalid.httpStatus()).isEqualTo(422);
    assertThat(invalid.errorCode()).isEqualTo(42201);
    assertThat(error("POST", "/subjects/s/versions", Map.of("no", "schema")).errorCode())
        .isEqualTo(42201);
    assertThat(
            error("POST", "/subjects/s/versions", Map.of("schema", V1, "schemaType", "PROTOBUF"))
                .errorCode())
        .isEqualTo(42201);
    assertThat(error("POST", "/subjects/s/versions", "{not json").httpStatus()).isEqualTo(400);

    RegistryException noSubject = error("GET", "/subjects/missing/versions", null);
    assertThat(noSubject.httpStatus()).isEqualTo(404);
    assertThat(noSubject.errorCode()).isEqualTo(40401);
    assertThat(noSubject.getMessage()).isEqualTo("Subject 'missing' not found.");
    assertThat(error("GET", "/schemas/ids/77", null).errorCode()).isEqualTo(40403);

    call("POST", "/subjects/s/versions", Map.of("schema", V1));
    assertThat(error("GET", "/subjects/s/versions/9", null).errorCode()).isEqualTo(40402);
    RegistryException badVersion = error("GET", "/subjects/s/versions/zero", null);
    assertThat(badVersion.httpStatus()).isEqualTo(422);
    assertThat(badVersion.errorCode()).isEqualTo(42202);
    assertThat(error("GET", "/subjects/s/versions/0", null).errorCode()).isEqualTo(42202);
    assertThat(error("POST", "/subjects/s", Map.of("schema", V2)).errorCode()).isEqualTo(40403);
    assertThat(error("POST", "/subjects/none", Map.of("schema", V2)).errorCode()).isEqualTo(40401);
    assertThat(error("GET", "/nowhere", null).httpStatus()).isEqualTo(404);
  }

  @Test
  void softAndHardDeleteOfASubject() throws Exception {
    call("POST", "/subjects/s/versions", Map.of("schema", V1));
    call("POST", "/subjects/s/versions", Map.of("schema", V2));
    assertThat(error("DELETE", "/subjects/s?permanent=true", null).errorCode()).isEqualTo(40405);
    assertThat(call("DELETE", "/subjects/s", null).body()).isEqualTo(List.of(1, 2));
    assertThat(call("GET", "/subjects", null).body()).isEqualTo(List.of());
    assertThat(call("GET", "/subjects?deleted=true", null).body()).isEqualTo(List.of("s"));
    assertThat(error("GET", "/subjects/s/versions", null).errorCode()).isEqualTo(40401);
    assertThat(error("DELETE", "/subjects/s", null).errorCode()).isEqualTo(40404);
    assertThat(call("DELETE", "/subjects/s?permanent=true", null).body()).isEqualTo(List.of(1, 2));
    assertThat(call("GET", "/subjects?deleted=true", null).body()).isEqualTo(List.of());
    // Ids stay resolvable: data written with them must stay readable.
    assertThat(call("GET", "/schemas/ids/1", null).status()).isEqualTo(200);
    // Registering after a soft delete starts a new history: V2 needs no compatibility with V1.
    assertThat(call("POST", "/subjects/s/versions", Map.of("schema", BREAKING)).body())
        .isEqualTo(Map.of("id", 3));
  }

  @Test
  void versionParsing() throws Exception {
    assertThat(RegistryHttpHandler.parseVersion("latest")).isEqualTo(-1);
    assertThat(RegistryHttpHandler.parseVersion("-1")).isEqualTo(-1);
    assertThat(RegistryHttpHandler.parseVersion("12")).isEqualTo(12);
    assertThatThrownBy(() -> RegistryHttpHandler.parseVersion("-2"))
        .isInstanceOf(RegistryException.class);
  }
}
