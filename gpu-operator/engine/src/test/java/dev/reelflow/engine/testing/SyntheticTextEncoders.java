package dev.reelflow.engine.testing;

import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.text.QwenConfig;
import dev.reelflow.engine.text.T5Config;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tiny text-encoder folders in the released layout, for tests (test-jar scaffolding): {@code
 * text_encoder/llm} (a Qwen2.5-VL-style config.json, every tensor of the released file kinds: the
 * decoder layers including those after the cut, the final norm, the head and a vision-tower tensor,
 * sharded over two files with an index; the synthetic tokenizer), {@code text_encoder/byt5-small}
 * (config.json) and {@code text_encoder/Glyph-SDXL-v2} (assets with two colours and one font, the
 * encoder's state dict as {@code checkpoints/byt5_model.safetensors}, the conversion the engine
 * accepts beside the released pickle). Weights come from {@link FormulaValues}.
 */
public final class SyntheticTextEncoders {
  private SyntheticTextEncoders() {}

  /** A tiny Qwen2.5-VL config: hidden 64, 4 layers (2 run), 4 heads / 2 KV heads of 16. */
  public static Map<String, Object> llmConfig(int hidden) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("architectures", List.of("Qwen2_5_VLForConditionalGeneration"));
    c.put("model_type", "qwen2_5_vl");
    c.put("hidden_act", "silu");
    c.put("hidden_size", (long) hidden);
    c.put("intermediate_size", 96L);
    c.put("num_hidden_layers", 4L);
    c.put("num_attention_heads", 4L);
    c.put("num_key_value_heads", 2L);
    c.put("rms_norm_eps", 1e-6);
    c.put("rope_theta", 1000000.0);
    // the synthetic tokenizer's ids, rounded up as Qwen pads its embedding (151,665 -> 152,064)
    c.put("vocab_size", (long) ((SyntheticTokenizer.size() + 63) / 64 * 64));
    c.put("use_sliding_window", false);
    c.put("tie_word_embeddings", false);
    c.put("rope_scaling", Map.of("type", "mrope", "mrope_section", List.of(2L, 3L, 3L)));
    c.put("torch_dtype", "bfloat16");
    return c;
  }

  /** A tiny byT5 config: d_model {@code dModel}, 4 heads of 8, d_ff 48, 2 layers. */
  public static Map<String, Object> byt5Config(int dModel) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("architectures", List.of("T5ForConditionalGeneration"));
    c.put("model_type", "t5");
    c.put("d_model", (long) dModel);
    c.put("d_kv", 8L);
    c.put("d_ff", 48L);
    c.put("num_heads", 4L);
    c.put("num_layers", 2L);
    c.put("num_decoder_layers", 1L);
    c.put("relative_attention_num_buckets", 32L);
    c.put("relative_attention_max_distance", 128L);
    c.put("layer_norm_epsilon", 1e-6);
    c.put("feed_forward_proj", "gated-gelu");
    c.put("vocab_size", 384L);
    return c;
  }

  /** Writes {@code dir} = text_encoder/llm (config, two shards + index, synthetic tokenizer). */
  public static void writeLlm(Path dir, Map<String, Object> config, DType storage)
      throws IOException {
    Files.createDirectories(dir);
    SyntheticModelFolder.writeJson(dir.resolve("config.json"), config);
    QwenConfig c = QwenConfig.fromConfig(config, "model.");
    int h = c.hidden();
    List<ParamSpec> all = new ArrayList<>();
    all.add(c.embedParam());
    // every layer of the file, also those after the cut, the final norm, the head, a vision tensor
    QwenConfig whole =
        new QwenConfig(
            h,
            c.intermediate(),
            c.layers(),
            c.heads(),
            c.kvHeads(),
            c.headDim(),
            c.eps(),
            c.ropeTheta(),
            c.vocab(),
            c.layers(),
            "model.");
    all.addAll(whole.layerParams());
    all.add(new ParamSpec("model.norm.weight", new long[] {h}, ParamSpec.Init.ONES));
    all.add(new ParamSpec("lm_head.weight", new long[] {c.vocab(), h}, ParamSpec.Init.FAN_IN));
    all.add(
        new ParamSpec("visual.merger.mlp.0.weight", new long[] {h, 4 * h}, ParamSpec.Init.FAN_IN));
    SafetensorsWriter[] w = {
      new SafetensorsWriter().metadata("format", "pt"),
      new SafetensorsWriter().metadata("format", "pt")
    };
    Map<String, Object> weightMap = new LinkedHashMap<>();
    for (int i = 0; i < all.size(); i++) {
      ParamSpec p = all.get(i);
      int s = i < all.size() / 2 ? 0 : 1;
      w[s].add(p.name(), p.shape(), FormulaValues.parameter(p.name(), p.shape()), storage);
      weightMap.put(p.name(), shard(s));
    }
    w[0].writeTo(dir.resolve(shard(0)));
    w[1].writeTo(dir.resolve(shard(1)));
    SyntheticModelFolder.writeJson(
        dir.resolve("model.safetensors.index.json"),
        Map.of("metadata", Map.of("total_size", 0L), "weight_map", weightMap));
    SyntheticTokenizer.write(dir);
  }

  private static String shard(int i) {
    return String.format("model-%05d-of-00002.safetensors", i + 1);
  }

  /** Writes text_encoder/byt5-small (config.json only: the official code replaces its weights). */
  public static void writeByt5(Path dir, Map<String, Object> config) throws IOException {
    Files.createDirectories(dir);
    SyntheticModelFolder.writeJson(dir.resolve("config.json"), config);
  }

  /** Writes text_encoder/Glyph-SDXL-v2: assets (2 colours, 1 font) and the encoder's weights. */
  public static void writeGlyph(Path dir, Map<String, Object> byt5Config) throws IOException {
    Path assets = Files.createDirectories(dir.resolve("assets"));
    Map<String, Object> colours = new LinkedHashMap<>();
    colours.put("white", 0L);
    colours.put("black", 1L);
    SyntheticModelFolder.writeJson(assets.resolve("color_idx.json"), colours);
    SyntheticModelFolder.writeJson(
        assets.resolve("multilingual_10-lang_idx.json"), Map.of("en-Arial", 0L));
    T5Config c = T5Config.fromConfig(byt5Config, 384 + 3);
    SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
    for (ParamSpec p : c.params()) {
      w.add(p.name(), p.shape(), FormulaValues.parameter(p.name(), p.shape()), DType.F32);
    }
    Path ck = Files.createDirectories(dir.resolve("checkpoints"));
    w.writeTo(ck.resolve("byt5_model.safetensors"));
  }

  /** All three under {@code root/text_encoder/}: llm (width {@code textDim}), byt5, Glyph. */
  public static void writeAll(Path root, int textDim, int glyphDim) throws IOException {
    Path te = root.resolve("text_encoder");
    writeLlm(te.resolve("llm"), llmConfig(textDim), DType.BF16);
    Map<String, Object> b = byt5Config(glyphDim);
    writeByt5(te.resolve("byt5-small"), b);
    writeGlyph(te.resolve("Glyph-SDXL-v2"), b);
  }
}
