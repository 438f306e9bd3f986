package dev.reelflow.engine.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.testing.SyntheticTokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The official prompt template on the synthetic tokenizer (structure, crop start, limits). */
class PromptTemplateTest {
  @TempDir static Path dir;
  static QwenTokenizer tok;
  static final int[] CAT = {
    'a',
    SyntheticTokenizer.id("\u0120photo"),
    SyntheticTokenizer.id("\u0120of"),
    SyntheticTokenizer.id("\u0120a"),
    SyntheticTokenizer.id("\u0120cat")
  };

  @BeforeAll
  static void open() throws Exception {
    SyntheticTokenizer.write(dir);
    tok = QwenTokenizer.open(dir);
  }

  @AfterAll
  static void close() {
    tok.close();
  }

  @Test
  void tokenizersLibraryRunsOfflineAndAppliesTheByteLevelBpe() {
    // the surefire configuration sets ai.djl.offline: the bundled native library needs no network
    assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
    // "a" | " photo" | " of" | " a" | " cat": words of the synthetic vocabulary
    assertThat(tok.encode("a photo of a cat")).containsExactly(CAT);
    assertThat(tok.encode("<|im_start|>user\n"))
        .containsExactly(
            SyntheticTokenizer.addedId("<|im_start|>"), SyntheticTokenizer.id("user"), (int) '\n');
    // the UTF-8 bytes of 猫 merge into one token; 狗 stays three byte tokens
    assertThat(tok.encode("猫狗"))
        .containsExactly(SyntheticTokenizer.id("\u00e7\u012e\u00ab"), 0xe7, 0x8b, 0x97);
    assertThat(tok.padId()).isEqualTo(SyntheticTokenizer.addedId("<|endoftext|>"));
    assertThat(tok.decode(tok.encode("一只猫 \"HELLO\" 🐱"))).isEqualTo("一只猫 \"HELLO\" 🐱");
  }

  @Test
  void rendersTheChatTemplateAndEmptyPromptsAsASpace() {
    assertThat(PromptTemplate.render("x"))
        .isEqualTo(
            "<|im_start|>system\n"
                + PromptTemplate.VIDEO_SYSTEM_PROMPT
                + "<|im_end|>\n<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n");
    assertThat(PromptTemplate.render("")).isEqualTo(PromptTemplate.render(" "));
    assertThat(PromptTemplate.userContent("  ")).isEqualTo("  ");
    // the backslash continuations of the official source: nine spaces before each item
    assertThat(PromptTemplate.VIDEO_SYSTEM_PROMPT).contains("aspects:         1. The main");
  }

  @Test
  void cropStartIsWhereTheUserMarkerEndsAndTheWindowIsPromptPlusClosingTokens() {
    PromptTemplate t = new PromptTemplate(tok, 64);
    int prefix =
        tok.encode("<|im_start|>system\n" + PromptTemplate.VIDEO_SYSTEM_PROMPT + "<|im_end|>\n")
            .length;
    assertThat(t.cropStart()).isEqualTo(prefix + tok.encode(PromptTemplate.USER_MARKER).length);
    // <|im_end|> \n <|im_start|> assistant \n, as Qwen's
    assertThat(t.closingTokens()).isEqualTo(5);
    PromptTokens p = t.tokens("a photo of a cat");
    int[] window = Arrays.copyOfRange(p.ids(), t.cropStart(), p.ids().length);
    assertThat(Arrays.copyOf(window, 5)).containsExactly(CAT);
    assertThat(p.valid()).isEqualTo(5 + t.closingTokens());
    int[] padded = p.paddedIds();
    int[] mask = p.paddedMask();
    assertThat(padded).hasSize(t.cropStart() + 64);
    assertThat(padded[padded.length - 1]).isEqualTo(tok.padId());
    assertThat(Arrays.stream(mask).sum()).isEqualTo(p.ids().length);
    assertThat(mask[p.ids().length - 1]).isEqualTo(1);
    assertThat(mask[p.ids().length]).isEqualTo(0);
    assertThat(t.tokens("").ids()).isEqualTo(t.tokens(" ").ids());
  }

  @Test
  void aPromptOverTheLimitIsRefusedNamingPromptAndTheLimit() {
    PromptTemplate t = new PromptTemplate(tok, 64);
    int limit = 64 - t.closingTokens();
    assertThat(t.promptTokenLimit()).isEqualTo(limit);
    // "9" is one token per digit (the pattern splits digits)
    String fits = "9".repeat(limit);
    assertThat(t.tokens(fits).valid()).isEqualTo(64);
    assertThatThrownBy(() -> t.tokens(fits + "9"))
        .isInstanceOfSatisfying(
            PromptTooLongException.class,
            e -> {
              assertThat(e.field()).isEqualTo("prompt");
              assertThat(e.tokens()).isEqualTo(limit + 1);
              assertThat(e.limit()).isEqualTo(limit);
            })
        .hasMessageContaining("prompt is " + (limit + 1) + " tokens")
        .hasMessageContaining("at most " + limit);
  }
}
