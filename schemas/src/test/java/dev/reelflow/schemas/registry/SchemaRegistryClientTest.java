package dev.reelflow.schemas.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.EmulatedRegistry;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.registry.SchemaRegistryClient.RegisteredSchema;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against an EMULATED in-memory registry (the real one is in the ITs). */
class SchemaRegistryClientTest {
  private static final Schema V1 =
      SchemaBuilder.record("Thing").namespace("t").fields().requiredString("a").endRecord();
  private static final Schema V2 =
      SchemaBuilder.record("Thing")
          .namespace("t")
          .fields()
          .requiredString("a")
          .name("b")
          .type()
          .intType()
          .intDefault(0)
          .endRecord();
  private static final Schema V3_INCOMPATIBLE =
      SchemaBuilder.record("Thing")
          .namespace("t")
          .fields()
          .requiredString("a")
          .requiredLong("c")
          .endRecord();

  private EmulatedRegistry registry;
  private SchemaRegistryClient client;

  @BeforeEach
  void start() throws Exception {
    registry = new EmulatedRegistry();
    client = new SchemaRegistryClient(fastRetries(registry.url()).build());
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  private static SchemaRegistryConfig.Builder fastRetries(String url) {
    return SchemaRegistryConfig.builder()
        .url(url)
        .maxRetries(2)
        .retryBackoff(Duration.ofMillis(5), Duration.ofMillis(20))
        .connectTimeout(Duration.ofSeconds(2))
        .requestTimeout(Duration.ofSeconds(5));
  }

  @Test
  void registerLookupAndVersions() {
    int id1 = client.register("s-value", V1);
    int id2 = client.register("s-value", V2);
    assertThat(id2).isNotEqualTo(id1);
    assertThat(client.register("s-value", V1)).as("same schema, same id").isEqualTo(id1);

    assertThat(client.getById(id2)).isEqualTo(V2);
    RegisteredSchema latest = client.latest("s-value");
    assertThat(latest.version()).isEqualTo(2);
    assertThat(latest.id()).isEqualTo(id2);
    assertThat(latest.schema()).isEqualTo(V2);
    assertThat(client.getBySubjectVersion("s-value", 1).schema()).isEqualTo(V1);
    assertThat(client.lookup("s-value", V1).version()).isEqualTo(1);
    assertThat(client.versions("s-value")).containsExactly(1, 2);
    assertThat(client.subjects()).containsExactly("s-value");
  }

  @Test
  void compatibilityAndConfig() {
    client.register("s-value", V1);
    assertThat(client.testCompatibility("s-value", V2)).isTrue();
    assertThat(client.testCompatibility("s-value", V3_INCOMPATIBLE)).isFalse();
    assertThat(client.testCompatibility("new-subject", V3_INCOMPATIBLE))
        .as("nothing to be incompatible with")
        .isTrue();
    assertThat(client.getConfig()).isEqualTo("BACKWARD");
    assertThat(client.putConfig("FULL")).isEqualTo("FULL");
    assertThat(client.getConfig()).isEqualTo("FULL");
    assertThatThrownBy(() -> client.putConfig(" ")).hasMessageContaining("BACKWARD");
  }

  @Test
  void fourHundredsCarryConfluentErrorCodes() {
    assertThatThrownBy(() -> client.getById(999))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class,
            e -> {
              assertThat(e.status()).isEqualTo(404);
              assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.SCHEMA_NOT_FOUND);
              assertThat(e.isNotFound()).isTrue();
              assertThat(e.isRetriable()).isFalse();
            });
    assertThatThrownBy(() -> client.latest("missing-value"))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class,
            e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.SUBJECT_NOT_FOUND))
        .hasMessageContaining("missing-value");
    client.register("s-value", V1);
    assertThatThrownBy(() -> client.register("s-value", V3_INCOMPATIBLE))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class,
            e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.INCOMPATIBLE_SCHEMA))
        .hasMessageContaining("add defaults");
    assertThatThrownBy(() -> client.lookup("s-value", V2))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class,
            e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.SCHEMA_NOT_FOUND));
    int before = registry.requests().size();
    assertThatThrownBy(() -> client.getById(998)).isInstanceOf(SchemaRegistryException.class);
    assertThat(registry.requests().size() - before).as("4xx is not retried").isEqualTo(1);
  }

  @Test
  void retriesFiveHundredsWithBackoff() {
    int id = client.register("s-value", V1);
    SchemaRegistryClient fresh = new SchemaRegistryClient(fastRetries(registry.url()).build());
    registry.failNext(2, 503);
    int before = registry.requests().size();
    assertThat(fresh.getById(id)).isEqualTo(V1);
    assertThat(registry.requests().size() - before).isEqualTo(3);

    registry.failNext(5, 500);
    assertThatThrownBy(() -> fresh.latest("s-value"))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class,
            e -> {
              assertThat(e.status()).isEqualTo(500);
              assertThat(e.isRetriable()).isTrue();
            });
    registry.failNext(0, 500);
  }

  @Test
  void failsOverToTheNextUrlOnConnectionErrors() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    SchemaRegistryClient failover =
        new SchemaRegistryClient(
            fastRetries("http://127.0.0.1:" + deadPort).url(registry.url()).build());
    assertThat(failover.register("s-value", V1)).isPositive();

    SchemaRegistryClient dead =
        new SchemaRegistryClient(fastRetries("http://127.0.0.1:" + deadPort).build());
    assertThatThrownBy(() -> dead.getById(1))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class, e -> assertThat(e.status()).isEqualTo(-1))
        .hasMessageContaining("cannot be reached");
  }

  @Test
  void cachesIdsAndSchemas() {
    int id = client.register("s-value", RenderRequest.getClassSchema());
    int before = registry.requests().size();
    for (int i = 0; i < 5; i++) {
      assertThat(client.register("s-value", RenderRequest.getClassSchema())).isEqualTo(id);
      assertThat(client.getById(id)).isEqualTo(RenderRequest.getClassSchema());
      assertThat(client.idOf("s-value", RenderRequest.getClassSchema())).isEqualTo(id);
    }
    assertThat(registry.requests().size()).isEqualTo(before);
  }

  @Test
  void sendsBasicAuth() {
    SchemaRegistryClient authed =
        new SchemaRegistryClient(fastRetries(registry.url()).basicAuth("svc", "s3cret").build());
    authed.subjects();
    String expected =
        "Basic "
            + Base64.getEncoder().encodeToString("svc:s3cret".getBytes(StandardCharsets.UTF_8));
    assertThat(registry.authorizations()).last().isEqualTo(expected);
    assertThat(authed.config().describe().get(SchemaRegistryConfig.BASIC_AUTH_USER_INFO))
        .isEqualTo("svc:****");
  }

  @Test
  void configFromPropertiesAndValidation() {
    SchemaRegistryConfig c =
        SchemaRegistryConfig.fromProperties(
            Map.of(
                SchemaRegistryConfig.URL, "http://a:8081/, http://b:8081",
                SchemaRegistryConfig.MAX_RETRIES, "5",
                SchemaRegistryConfig.REQUEST_TIMEOUT_MS, "1500"));
    assertThat(c.urls()).containsExactly("http://a:8081", "http://b:8081");
    assertThat(c.maxRetries()).isEqualTo(5);
    assertThat(c.requestTimeout()).isEqualTo(Duration.ofMillis(1500));
    assertThat(c.basicAuthUserInfo()).isNull();
    assertThatThrownBy(() -> SchemaRegistryConfig.fromProperties(Map.of()))
        .hasMessageContaining(SchemaRegistryConfig.URL);
    assertThatThrownBy(() -> SchemaRegistryConfig.builder().url("ftp://x"))
        .hasMessageContaining("http://");
    assertThatThrownBy(() -> SchemaRegistryConfig.builder().basicAuth("nocolon"))
        .hasMessageContaining("user:password");
    assertThatThrownBy(
            () ->
                SchemaRegistryConfig.fromProperties(
                    Map.of(
                        SchemaRegistryConfig.URL,
                        "http://a",
                        SchemaRegistryConfig.MAX_RETRIES,
                        "x")))
        .hasMessageContaining(SchemaRegistryConfig.MAX_RETRIES);
  }
}
