package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class LocalStackExtensionIT {
  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  @Test
  void givesTheRunningStackToTests(LocalStack injected) throws Exception {
    LocalStack stack = STACK.stack();
    assertThat(injected).isSameAs(stack);
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()))) {
      assertThat(admin.describeCluster().nodes().get()).hasSize(1);
      // The registry stores its schemas in the broker.
      assertThat(admin.listTopics().names().get()).contains("_schemas");
    }
    java.net.http.HttpResponse<String> subjects =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(stack.schemaRegistryUrl() + "/subjects"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(subjects.statusCode()).isEqualTo(200);
    assertThat(subjects.body()).isEqualTo("[]");
    int s3Port =
        Integer.parseInt(stack.s3Endpoint().substring(stack.s3Endpoint().lastIndexOf(':') + 1));
    new Socket("127.0.0.1", s3Port).close();
    assertThat(stack.bucket()).isEqualTo("reelflow");
    assertThat(stack.s3Region()).isEqualTo("us-east-1");
    assertThat(stack.s3AccessKey()).isNotBlank();
    assertThat(stack.s3SecretKey()).isNotBlank().isNotEqualTo(stack.s3AccessKey());
    assertThat(stack.hasRegistry()).isTrue();
  }

  @Test
  void writesAddressesAndCredentialsAsJson(@TempDir Path dir) throws Exception {
    LocalStack stack = STACK.stack();
    Path file = dir.resolve(".reelflow/local.json");
    stack.info().with("ingest.apiKey", "k-123").writeTo(file);
    JsonNode json = new ObjectMapper().readTree(Files.readString(file));
    assertThat(json.path("kafka").path("bootstrapServers").asText())
        .isEqualTo(stack.bootstrapServers());
    assertThat(json.path("s3").path("endpoint").asText()).isEqualTo(stack.s3Endpoint());
    assertThat(json.path("schemaRegistry").path("url").asText())
        .isEqualTo(stack.schemaRegistryUrl());
    assertThat(json.path("s3").path("secretKey").asText()).isEqualTo(stack.s3SecretKey());
    assertThat(json.path("ingest").path("apiKey").asText()).isEqualTo("k-123");
    assertThat(stack.info().toString()).doesNotContain(stack.s3SecretKey());
    assertThat(stack.describe()).contains(stack.bootstrapServers(), stack.s3Endpoint());
  }

  @Test
  void registryKeepsServingAcrossABrokerRestart() throws Exception {
    LocalStack stack = STACK.stack();
    String schema =
        "{\"type\":\"record\",\"name\":\"Fault\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
    int before = register(stack, "fault-value", schema);
    stack.kafka().stop();
    stack.kafka().start();
    // Same schema: same id; the registry's reader and producer reconnected by themselves.
    assertThat(register(stack, "fault-value", schema)).isEqualTo(before);
    String other = schema.replace("Fault", "Fault2");
    assertThat(register(stack, "fault2-value", other)).isNotEqualTo(before);
  }

  private static int register(LocalStack stack, String subject, String schema) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            stack.schemaRegistryUrl() + "/subjects/" + subject + "/versions"))
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            new ObjectMapper().writeValueAsString(Map.of("schema", schema))))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new ObjectMapper().readTree(r.body()).get("id").asInt();
  }
}
