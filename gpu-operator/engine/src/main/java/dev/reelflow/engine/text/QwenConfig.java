package dev.reelflow.engine.text;

import dev.reelflow.engine.weights.ParamSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The language model of Qwen2.5-VL (Qwen2 decoder layers) as the text encoder runs it, from the
 * checkpoint's {@code config.json} (top-level keys, or a {@code text_config} object as newer
 * exports write it): width, layers, grouped-query heads, SwiGLU width, RMSNorm epsilon, RoPE theta,
 * vocabulary. {@code layersUsed} is how many decoder layers the encoder runs: the official pipeline
 * takes {@code hidden_states[-(skip + 1)]} with {@code hidden_state_skip_layer = 2}, the output of
 * {@code layers - 2} layers, without the final norm.
 *
 * <p>Released: hidden 3584, 28 layers, 28 query heads and 4 key/value heads of 128, SwiGLU 18944,
 * eps 1e-6, theta 1e6, vocabulary 152064; the encoder runs 26 layers.
 *
 * @param hidden {@code hidden_size}
 * @param intermediate {@code intermediate_size}
 * @param layers {@code num_hidden_layers}
 * @param heads {@code num_attention_heads}
 * @param kvHeads {@code num_key_value_heads}
 * @param headDim {@code hidden_size / num_attention_heads} (or {@code head_dim})
 * @param eps {@code rms_norm_eps}
 * @param ropeTheta {@code rope_theta}
 * @param vocab {@code vocab_size}
 * @param layersUsed decoder layers the encoder runs
 * @param prefix tensor-name prefix of the decoder ({@code model.} in the released files, {@code
 *     model.language_model.} in newer exports)
 */
public record QwenConfig(
    int hidden,
    int intermediate,
    int layers,
    int heads,
    int kvHeads,
    int headDim,
    double eps,
    double ropeTheta,
    int vocab,
    int layersUsed,
    String prefix) {

  /** The official {@code hidden_state_skip_layer}. */
  public static final int SKIP_LAYERS = 2;

  public QwenConfig {
    if (hidden < 1 || heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || headDim % 2 != 0) {
      throw new IllegalArgumentException(
          "bad Qwen config: hidden "
              + hidden
              + ", heads "
              + heads
              + "/"
              + kvHeads
              + ", head dim "
              + headDim);
    }
    if (layersUsed < 1 || layersUsed > layers) {
      throw new IllegalArgumentException(
          "the encoder runs " + layersUsed + " of " + layers + " layers: needs 1.." + layers);
    }
  }

  /**
   * Reads {@code config.json}.
   *
   * @param json the parsed config
   * @param prefix the decoder's tensor-name prefix, see {@link #detectPrefix}
   * @throws IllegalArgumentException naming the key for a config the encoder cannot run
   */
  @SuppressWarnings("unchecked")
  public static QwenConfig fromConfig(Map<String, Object> json, String prefix) {
    Map<String, Object> c =
        json.get("text_config") instanceof Map<?, ?> t ? (Map<String, Object>) t : json;
    String act = String.valueOf(c.getOrDefault("hidden_act", "silu"));
    if (!act.equals("silu")) {
      throw new IllegalArgumentException("hidden_act " + act + ": the encoder runs SwiGLU (silu)");
    }
    if (Boolean.TRUE.equals(c.get("use_sliding_window"))) {
      throw new IllegalArgumentException(
          "use_sliding_window true: the encoder runs full causal attention (as Qwen2.5-VL)");
    }
    if (c.get("rope_scaling") instanceof Map<?, ?> rs) {
      Object type = rs.get("type") != null ? rs.get("type") : rs.get("rope_type");
      if (type != null && !type.equals("mrope") && !type.equals("default")) {
        throw new IllegalArgumentException(
            "rope_scaling type "
                + type
                + ": the encoder runs plain RoPE (multimodal RoPE on text equals it)");
      }
    }
    int hidden = integer(c, "hidden_size");
    int heads = integer(c, "num_attention_heads");
    int layers = integer(c, "num_hidden_layers");
    int headDim = c.get("head_dim") instanceof Number n ? n.intValue() : hidden / heads;
    return new QwenConfig(
        hidden,
        integer(c, "intermediate_size"),
        layers,
        heads,
        c.containsKey("num_key_value_heads") ? integer(c, "num_key_value_heads") : heads,
        headDim,
        number(c, "rms_norm_eps", 1e-6),
        number(c, "rope_theta", 10000.0),
        integer(c, "vocab_size"),
        Math.max(1, layers - SKIP_LAYERS),
        prefix);
  }

  /** The decoder prefix of a checkpoint, from its tensor names. */
  public static String detectPrefix(Iterable<String> names) {
    for (String n : names) {
      if (n.startsWith("model.language_model.")) {
        return "model.language_model.";
      }
    }
    return "model.";
  }

  private static int integer(Map<String, Object> c, String key) {
    if (!(c.get(key) instanceof Number n)) {
      throw new IllegalArgumentException("config.json has no number " + key);
    }
    return n.intValue();
  }

  private static double number(Map<String, Object> c, String key, double dflt) {
    Object o = c.get(key);
    return o instanceof Number n ? n.doubleValue() : dflt;
  }

  /** The token embedding's name. */
  public String embedName() {
    return prefix + "embed_tokens.weight";
  }

  /** The parameters of the layers the encoder runs (the embedding is read from its file). */
  public List<ParamSpec> layerParams() {
    List<ParamSpec> out = new ArrayList<>();
    int q = heads * headDim;
    int kv = kvHeads * headDim;
    for (int i = 0; i < layersUsed; i++) {
      String p = prefix + "layers." + i + ".";
      out.add(
          new ParamSpec(p + "input_layernorm.weight", new long[] {hidden}, ParamSpec.Init.ONES));
      out.add(linear(p + "self_attn.q_proj.weight", q, hidden));
      out.add(new ParamSpec(p + "self_attn.q_proj.bias", new long[] {q}, ParamSpec.Init.ZEROS));
      out.add(linear(p + "self_attn.k_proj.weight", kv, hidden));
      out.add(new ParamSpec(p + "self_attn.k_proj.bias", new long[] {kv}, ParamSpec.Init.ZEROS));
      out.add(linear(p + "self_attn.v_proj.weight", kv, hidden));
      out.add(new ParamSpec(p + "self_attn.v_proj.bias", new long[] {kv}, ParamSpec.Init.ZEROS));
      out.add(linear(p + "self_attn.o_proj.weight", hidden, q));
      out.add(
          new ParamSpec(
              p + "post_attention_layernorm.weight", new long[] {hidden}, ParamSpec.Init.ONES));
      out.add(linear(p + "mlp.gate_proj.weight", intermediate, hidden));
      out.add(linear(p + "mlp.up_proj.weight", intermediate, hidden));
      out.add(linear(p + "mlp.down_proj.weight", hidden, intermediate));
    }
    return out;
  }

  /** The embedding's parameter (checked with the others; read row by row). */
  public ParamSpec embedParam() {
    return new ParamSpec(embedName(), new long[] {vocab, hidden}, ParamSpec.Init.SMALL, false);
  }

  private static ParamSpec linear(String name, long out, long in) {
    return new ParamSpec(name, new long[] {out, in}, ParamSpec.Init.FAN_IN);
  }

  /** Parameters of the layers run and the embedding. */
  public long parameterCount() {
    long n = (long) vocab * hidden;
    for (ParamSpec p : layerParams()) {
      n += p.size();
    }
    return n;
  }

  /** Regex and reason of every tensor the released checkpoint has that the encoder skips. */
  public Map<String, String> ignoreRules() {
    Map<String, String> m = new java.util.LinkedHashMap<>();
    m.put(
        "(model\\.)?visual\\..*",
        "the vision tower: the text encoder runs the language model on text only");
    if (layersUsed < layers) {
      StringBuilder idx = new StringBuilder();
      for (int i = layersUsed; i < layers; i++) {
        idx.append(idx.length() == 0 ? "" : "|").append(i);
      }
      m.put(
          java.util.regex.Pattern.quote(prefix) + "layers\\.(" + idx + ")\\..*",
          "decoder layers after the one the official pipeline takes (hidden_states[-"
              + (layers - layersUsed + 1)
              + "])");
    }
    m.put(
        java.util.regex.Pattern.quote(prefix) + "norm\\.weight",
        "the final norm: the official pipeline takes an intermediate hidden state without it"
            + " (apply_final_norm False)");
    m.put("lm_head\\.weight", "the language-model head: the encoder takes hidden states");
    return m;
  }
}
