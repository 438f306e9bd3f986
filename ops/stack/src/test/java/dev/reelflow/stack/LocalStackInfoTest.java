package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalStackInfoTest {
  final LocalStackInfo info =
      new LocalStackInfo(
          Map.of(
              "kafka.bootstrapServers", "127.0.0.1:9092",
              "s3.secretKey", "very-secret",
              "s3.endpoint", "http://127.0.0.1:9000"));

  @Test
  void writesNestedJsonAtomicallyAndReplacesAnOldFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("sub/local.json");
    Files.createDirectories(file.getParent());
    Files.writeString(file, "stale");
    info.with("ingest.apiKey", "rf_123").writeTo(file);
    JsonNode json = new ObjectMapper().readTree(Files.readString(file));
    assertThat(json.path("kafka").path("bootstrapServers").asText()).isEqualTo("127.0.0.1:9092");
    assertThat(json.path("s3").path("secretKey").asText()).isEqualTo("very-secret");
    assertThat(json.path("ingest").path("apiKey").asText()).isEqualTo("rf_123");
    try (var files = Files.list(file.getParent())) {
      assertThat(files).containsExactly(file); // no temp file left behind
    }
  }

  @Test
  void toStringHidesTheSecretButDescribeShowsEverything() {
    assertThat(info.toString()).doesNotContain("very-secret").contains("127.0.0.1:9092");
    assertThat(info.describe()).contains("s3.secretKey", "very-secret");
    assertThat(info.toMap().keySet())
        .containsExactly("kafka.bootstrapServers", "s3.endpoint", "s3.secretKey");
  }
}
