package dev.reelflow.engine.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.GenerationResult;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.NativeVideoEngine;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real encoders from a synthetic checkpoint folder, alone and inside the engine. */
class HunyuanTextEncoderTest {
  @TempDir static Path dir;
  static CpuBackend cpu;
  static ModelFolder folder;
  static HunyuanTextEncoder enc;

  @BeforeAll
  static void open() throws Exception {
    SyntheticModelFolder.builder().variants(List.of("480p_t2v")).build().write(dir);
    folder = ModelFolder.open(dir);
    cpu = new CpuBackend(2);
    enc = HunyuanTextEncoder.open(folder, cpu, true);
  }

  @AfterAll
  static void close() {
    enc.close();
    cpu.close();
  }

  @Test
  void encodesThePromptWindowAndTheQuotedTextAsTheOfficialPipeline() {
    assertThat(enc.id()).startsWith("mllm=qwen2.5-vl-llm@sha256:").contains(";glyph=byt5-glyph@");
    assertThat(enc.dim()).isEqualTo(64);
    assertThat(enc.glyphDim()).isEqualTo(32);
    String prompt = "a red fox under a sign \"OPEN\"";
    TextFeatures f = enc.encode(prompt);
    PromptTokens t = enc.template().tokens(prompt);
    assertThat(f.tokens()).isEqualTo(t.valid());
    assertThat(f.paddedTokens()).isEqualTo(1000);
    // the window equals the same positions of the official padded run (mask, 1000 + crop_start)
    QwenTextModel llm = llmOf(enc);
    float[] padded = llm.hiddenStates(t.paddedIds(), t.paddedMask());
    float[] window =
        Arrays.copyOfRange(padded, t.cropStart() * 64, (t.cropStart() + t.valid()) * 64);
    assertThat(TextEncoderGoldenTest.maxDiff(f.features(), window)).isLessThan(1e-5);
    // glyph: 'Text "OPEN". ' as bytes + </s>
    assertThat(f.glyphTokens()).isEqualTo("Text \"OPEN\". ".length() + 1);
    assertThat(enc.encode("no quotes").glyphTokens()).isZero();
    assertThat(enc.encodeNegative("bad \"TEXT\"").glyphTokens()).isZero();
    assertThatThrownBy(() -> enc.encode("9".repeat(1000)))
        .isInstanceOf(PromptTooLongException.class)
        .hasMessageContaining("at most 995");
    assertThatThrownBy(() -> enc.encodeNegative("9".repeat(1000)))
        .isInstanceOfSatisfying(
            PromptTooLongException.class, e -> assertThat(e.field()).isEqualTo("negativePrompt"))
        .hasMessageStartingWith("negativePrompt is ");
  }

  static QwenTextModel llmOf(HunyuanTextEncoder e) {
    try {
      var f = HunyuanTextEncoder.class.getDeclaredField("llm");
      f.setAccessible(true);
      return (QwenTextModel) f.get(e);
    } catch (ReflectiveOperationException ex) {
      throw new IllegalStateException(ex);
    }
  }

  @Test
  void anEngineFromTheFolderRendersWithTheRealEncodersAndSaysSo() {
    try (NativeVideoEngine e =
        NativeVideoEngine.builder().backend(cpu).modelFolder(folder, "480p_t2v").build()) {
      assertThat(e.textEncoderId()).startsWith("mllm=qwen2.5-vl-llm@");
      GenerationResult r =
          e.generate(
              GenerationSpec.builder()
                  .prompt("a red fox \"SALE\"")
                  .size(32, 32)
                  .frames(1)
                  .steps(1)
                  .guidance(2)
                  .build(),
              null);
      assertThat(r.textEncoder()).isEqualTo(e.textEncoderId());
    }
    try (NativeVideoEngine stand = NativeVideoEngine.builder().backend(cpu).build()) {
      assertThat(stand.textEncoderId()).isEqualTo("byte-level-stand-in-v1");
    }
  }
}
