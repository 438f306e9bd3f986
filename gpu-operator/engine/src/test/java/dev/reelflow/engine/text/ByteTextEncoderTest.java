package dev.reelflow.engine.text;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ByteTextEncoderTest {
  private final ByteTextEncoder enc = new ByteTextEncoder(16, 8, 1000);

  @Test
  void encodesUtf8BytesDeterministicallyForAnyLanguage() {
    TextFeatures en = enc.encode("a cat");
    TextFeatures zh = enc.encode("一只猫");
    assertThat(en.tokens()).isEqualTo(1 + 5);
    assertThat(zh.tokens()).isEqualTo(1 + 9); // three 3-byte characters
    assertThat(enc.encode("一只猫").features()).containsExactly(zh.features());
    assertThat(enc.encode("").tokens()).isEqualTo(1);
    assertThat(new ByteTextEncoder(16, 8, 4).encode("abcdefgh").tokens()).isEqualTo(4);
  }

  @Test
  void quotedTextFeedsTheGlyphPath() {
    assertThat(ByteTextEncoder.quotedSpans("a sign \"OPEN\" and “早安” and 「歡迎」"))
        .containsExactly("OPEN", "早安", "歡迎");
    assertThat(enc.encode("no quotes").glyphTokens()).isZero();
    TextFeatures q = enc.encode("a sign that says \"OPEN\"");
    assertThat(q.glyphTokens()).isEqualTo(4);
    assertThat(q.glyph()).hasSize(4 * 8);
  }
}
