package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.testing.SyntheticTokenizer;
import dev.reelflow.engine.text.PromptTemplate;
import dev.reelflow.engine.text.QwenTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With the checkpoint folder's tokenizer ({@code ingest.prompt.model-dir}), ingest counts prompts
 * in the text encoder's tokens through the engine's template and refuses one the encoder cannot
 * take with a 422 naming the field and the limit, before anything is published. The tokenizer is
 * the engine's synthetic test tokenizer (Qwen2.5's format, one token per digit), not Qwen's.
 */
class PromptTokenLimitTest {
  static final String KEY = "key-prompt";
  @TempDir static Path folder;
  static InMemoryPublisher publisher;
  static IngestServer server;
  static ApiClient api;
  static int limit;

  @BeforeAll
  static void start() throws Exception {
    SyntheticTokenizer.write(folder.resolve("text_encoder/llm"));
    try (QwenTokenizer t = QwenTokenizer.open(folder.resolve("text_encoder/llm"))) {
      limit = new PromptTemplate(t, PromptTemplate.MAX_LENGTH).promptTokenLimit();
    }
    publisher = new InMemoryPublisher();
    server =
        IngestServer.builder(
                IngestConfig.builder()
                    .port(0)
                    .set(IngestConfig.PROMPT_MODEL_DIR, folder.toString())
                    .build())
            .publisher(publisher)
            .apiKeys(ApiKeys.of(Map.of(KEY, new Tenant("acme", "s", 10_000, 10_000, 1_000_000))))
            .withoutKafkaViews()
            .build()
            .start();
    api = new ApiClient(server.baseUrl(), KEY);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void reset() {
    synchronized (publisher) {
      publisher.records.clear();
    }
  }

  @Test
  void aPromptAtTheLimitIsAcceptedAndOneTokenMoreIsA422NamingPromptAndTheLimit() {
    assertThat(limit).isEqualTo(PromptTemplate.MAX_LENGTH - 5);
    assertThat(api.postJson("/v1/renders", Map.of("prompt", "9".repeat(limit))).status())
        .isEqualTo(202);
    ApiClient.Answer over = api.postJson("/v1/renders", Map.of("prompt", "9".repeat(limit + 1)));
    assertThat(over.status()).isEqualTo(422);
    JsonNode e = over.json().get("errors").get(0);
    assertThat(e.get("field").asText()).isEqualTo("prompt");
    assertThat(e.get("message").asText())
        .contains((limit + 1) + " tokens")
        .contains("at most " + limit);
    assertThat(publisher.size()).isEqualTo(1);
  }

  @Test
  void theNegativePromptIsCountedTheSameWay() {
    ApiClient.Answer over =
        api.postJson(
            "/v1/renders", Map.of("prompt", "a fox", "negativePrompt", "9".repeat(limit + 1)));
    assertThat(over.status()).isEqualTo(422);
    JsonNode e = over.json().get("errors").get(0);
    assertThat(e.get("field").asText()).isEqualTo("negativePrompt");
    assertThat(e.get("message").asText()).startsWith("negativePrompt is " + (limit + 1));
    assertThat(publisher.size()).isZero();
  }

  @Test
  void tokensNotCharactersBoundAChinesePrompt() {
    // 400 characters, far under the 4,000-character bound, but three UTF-8 bytes each and the
    // synthetic vocabulary has no merges for them: some 1,200 tokens
    String chinese = "狐".repeat(400);
    assertThat(chinese.codePointCount(0, chinese.length())).isLessThan(RenderValidation.MAX_PROMPT);
    ApiClient.Answer over = api.postJson("/v1/renders", Map.of("prompt", chinese));
    assertThat(over.status()).isEqualTo(422);
    assertThat(over.json().get("errors").get(0).get("field").asText()).isEqualTo("prompt");
    assertThat(api.postJson("/v1/renders", Map.of("prompt", "狐".repeat(20))).status())
        .isEqualTo(202);
  }

  @Test
  void aBatchWithOneOverlongRowIsRefusedWholeNamingTheRow() {
    String nd =
        "{\"prompt\":\"a fox\"}\n{\"prompt\":\""
            + "9".repeat(limit + 1)
            + "\"}\n{\"prompt\":\"x\"}\n";
    ApiClient.Answer r = api.post("/v1/batches", "application/x-ndjson", nd);
    assertThat(r.status()).isEqualTo(422);
    assertThat(r.json().get("errors")).hasSize(1);
    assertThat(r.json().get("errors").get(0).get("field").asText()).isEqualTo("rows[1].prompt");
    assertThat(publisher.size()).isZero();
  }

  @Test
  void aFolderWithoutATokenizerStopsTheStartNamingTheFile(@TempDir Path empty) throws Exception {
    Files.createDirectories(empty.resolve("text_encoder"));
    IngestServer s =
        IngestServer.builder(
                IngestConfig.builder()
                    .port(0)
                    .set(IngestConfig.PROMPT_MODEL_DIR, empty.toString())
                    .build())
            .publisher(new InMemoryPublisher())
            .apiKeys(ApiKeys.of(Map.of()))
            .withoutKafkaViews()
            .build();
    try {
      assertThatThrownBy(s::start)
          .isInstanceOf(ModelFolderException.class)
          .hasMessageContaining("tokenizer.json");
    } finally {
      s.close();
    }
  }
}
