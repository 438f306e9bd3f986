package dev.reelflow.engine.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.backend.TorchBackend;
import dev.reelflow.engine.testing.SyntheticTextEncoders;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.WeightLoadException;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Qwen2 language model and the T5 encoder against goldens of an independent PyTorch script
 * written from the reference modeling code (tools/make_text_encoder_goldens.py), on the CPU backend
 * and on libtorch; formula weights, tiny configs.
 */
class TextEncoderGoldenTest {
  static CpuBackend cpu;
  static TorchBackend torch;

  @BeforeAll
  static void open() {
    cpu = new CpuBackend(2);
    torch = TorchBackend.builder().threads(2).build();
  }

  @AfterAll
  static void close() {
    cpu.close();
    torch.close();
  }

  record Golden(Map<String, Object> c, float[] hidden, float[] padded) {}

  @SuppressWarnings("unchecked")
  static Golden golden(String name) throws Exception {
    Path p = Path.of(TextEncoderGoldenTest.class.getResource("/engine/text/" + name).toURI());
    try (SafetensorsFile f = SafetensorsFile.open(p);
        CpuBackend b = new CpuBackend(1)) {
      Map<String, Object> c = (Map<String, Object>) Json.parse(f.metadata().get("case"));
      try (var h = f.read("hidden", b, false);
          var hp = f.read("hidden_padded", b, false)) {
        return new Golden(c, b.toArray(h), b.toArray(hp));
      }
    }
  }

  static int[] ints(Object list) {
    return ((List<?>) list).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
  }

  static double maxDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  @SuppressWarnings("unchecked")
  static Path llmFolder(Path dir, Golden g, DType storage) throws Exception {
    Map<String, Object> cfg = SyntheticTextEncoders.llmConfig(64);
    cfg.putAll((Map<String, Object>) g.c().get("config"));
    SyntheticTextEncoders.writeLlm(dir, cfg, storage);
    return dir;
  }

  @Test
  void qwenLanguageModelMatchesTheReferenceToTheThirdLastHiddenState(@TempDir Path dir)
      throws Exception {
    Golden g = golden("qwen_lm.safetensors");
    Path llm = llmFolder(dir.resolve("llm"), g, DType.F32);
    int[] ids = ints(g.c().get("ids"));
    int[] padded = ints(g.c().get("padded_ids"));
    int[] mask = ints(g.c().get("mask"));
    for (Backend b : List.<Backend>of(cpu, torch)) {
      try (QwenTextModel m = QwenTextModel.load(llm, b, true)) {
        assertThat(m.config().layersUsed()).isEqualTo(2);
        float[] h = m.hiddenStates(ids, null);
        assertThat(maxDiff(h, g.hidden())).as(b.name()).isLessThan(2e-5);
        float[] hp = m.hiddenStates(padded, mask);
        assertThat(maxDiff(hp, g.padded())).as(b.name()).isLessThan(2e-5);
        // padding never changes a real token's features
        assertThat(maxDiff(Arrays.copyOf(hp, h.length), h)).isLessThan(1e-5);
      }
    }
  }

  @Test
  void qwenLoadsStrictlyAndKeepsBf16Weights(@TempDir Path dir) throws Exception {
    Golden g = golden("qwen_lm.safetensors");
    Path llm = llmFolder(dir.resolve("llm"), g, DType.BF16);
    QwenConfig c = QwenTextModel.config(llm);
    var check =
        QwenTextModel.loader(c).check(dev.reelflow.engine.checkpoint.WeightFiles.in(llm).files());
    assertThat(check.ok()).isTrue();
    assertThat(check.ignored())
        .containsKeys("model.layers.2.mlp.up_proj.weight", "model.norm.weight", "lm_head.weight")
        .containsKey("visual.merger.mlp.0.weight");
    assertThat(check.ignored().get("model.layers.3.self_attn.q_proj.bias"))
        .contains("hidden_states[-3]");
    try (QwenTextModel m = QwenTextModel.load(llm, cpu, true)) {
      float[] h = m.hiddenStates(ints(g.c().get("ids")), null);
      // bf16-rounded weights: close to the float32 reference, not equal
      double d = maxDiff(h, g.hidden());
      assertThat(d).isGreaterThan(0).isLessThan(0.05 * maxAbs(g.hidden()));
    }
    // an unexpected tensor fails the strict load and names it
    dev.reelflow.engine.weights.SafetensorsWriter w =
        new dev.reelflow.engine.weights.SafetensorsWriter();
    w.add("model.mystery.weight", new long[] {2}, new float[] {1, 2}, DType.F32);
    w.writeTo(llm.resolve("model-extra.safetensors"));
    Path index = llm.resolve("model.safetensors.index.json");
    Map<String, Object> json = new LinkedHashMap<>(QwenTextModel.readJson(index));
    @SuppressWarnings("unchecked")
    Map<String, Object> map = new LinkedHashMap<>((Map<String, Object>) json.get("weight_map"));
    map.put("model.mystery.weight", "model-extra.safetensors");
    json.put("weight_map", map);
    dev.reelflow.engine.testing.SyntheticModelFolder.writeJson(index, json);
    assertThatThrownBy(() -> QwenTextModel.load(llm, cpu, true))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("unexpected tensors")
        .hasMessageContaining("model.mystery.weight");
  }

  static double maxAbs(float[] a) {
    double m = 0;
    for (float v : a) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  @Test
  @SuppressWarnings("unchecked")
  void t5EncoderMatchesTheReferenceAndItsBuckets(@TempDir Path dir) throws Exception {
    Golden g = golden("t5_encoder.safetensors");
    Map<String, Object> cfg = (Map<String, Object>) g.c().get("config");
    Path byt5 = dir.resolve("byt5-small");
    Path glyph = dir.resolve("Glyph-SDXL-v2");
    SyntheticTextEncoders.writeByt5(byt5, cfg);
    SyntheticTextEncoders.writeGlyph(glyph, cfg);
    int[] buckets = ints(g.c().get("buckets"));
    T5Config c = GlyphEncoder.config(byt5, GlyphEncoder.tokenizer(glyph));
    for (int r = -255; r <= 255; r++) {
      assertThat(c.bucket(r)).as("relative position %d", r).isEqualTo(buckets[r + 255]);
    }
    int[] ids = ints(g.c().get("ids"));
    for (Backend b : List.<Backend>of(cpu, torch)) {
      try (GlyphEncoder e = GlyphEncoder.load(byt5, glyph, b)) {
        // the glyph tokenizer gives the script's ids (its colour token included)
        assertThat(e.tokenizer().ids((String) g.c().get("text"))).containsExactly(ids);
        assertThat(maxDiff(e.encode(ids, null), g.hidden())).as(b.name()).isLessThan(2e-5);
        float[] hp = e.encode(ints(g.c().get("padded_ids")), ints(g.c().get("mask")));
        assertThat(maxDiff(hp, g.padded())).as(b.name()).isLessThan(2e-5);
      }
    }
  }

  @Test
  void glyphWeightsOfTheWrongSizeAreRefusedByName(@TempDir Path dir) throws Exception {
    Map<String, Object> cfg = SyntheticTextEncoders.byt5Config(32);
    Path byt5 = dir.resolve("byt5-small");
    Path glyph = dir.resolve("Glyph-SDXL-v2");
    SyntheticTextEncoders.writeByt5(byt5, cfg);
    SyntheticTextEncoders.writeGlyph(glyph, cfg);
    // a third colour: the tokenizer now implies 388 embedding rows, the weights have 387
    SyntheticTextEncodersTestSupport.addColour(glyph, "red");
    assertThatThrownBy(() -> GlyphEncoder.load(byt5, glyph, cpu))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("embed_tokens.weight");
    assertThat(WeightSet.RANDOM_INIT).isNotEmpty();
  }
}
