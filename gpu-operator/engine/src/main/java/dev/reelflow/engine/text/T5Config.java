package dev.reelflow.engine.text;

import dev.reelflow.engine.weights.ParamSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The T5 encoder stack (byT5-small in the official pipeline) from its {@code config.json}: width,
 * key/value width per head, gated-GELU width, heads, layers, relative-position buckets and maximum
 * distance, layer-norm epsilon; {@code vocab} is the embedding's rows (the Glyph-SDXL-v2 weights
 * resize byT5's 384 to fit the colour and font tokens). Released byt5-small: d_model 1472, d_kv 64,
 * d_ff 3584, 6 heads, 12 layers, 32 buckets, distance 128, eps 1e-6, gated-gelu.
 *
 * @param dModel {@code d_model}
 * @param dKv {@code d_kv}
 * @param dFf {@code d_ff}
 * @param heads {@code num_heads}
 * @param layers {@code num_layers} (encoder layers)
 * @param buckets {@code relative_attention_num_buckets}
 * @param maxDistance {@code relative_attention_max_distance}
 * @param eps {@code layer_norm_epsilon}
 * @param vocab embedding rows
 */
public record T5Config(
    int dModel,
    int dKv,
    int dFf,
    int heads,
    int layers,
    int buckets,
    int maxDistance,
    double eps,
    int vocab) {

  /**
   * Reads a T5 {@code config.json}.
   *
   * @param vocab the embedding rows the weights must have
   * @throws IllegalArgumentException naming the key the encoder cannot run
   */
  public static T5Config fromConfig(Map<String, Object> c, int vocab) {
    String ff = String.valueOf(c.getOrDefault("feed_forward_proj", "relu"));
    if (!ff.equals("gated-gelu")) {
      throw new IllegalArgumentException(
          "feed_forward_proj " + ff + ": the glyph encoder runs byT5's gated-gelu");
    }
    return new T5Config(
        integer(c, "d_model"),
        integer(c, "d_kv"),
        integer(c, "d_ff"),
        integer(c, "num_heads"),
        integer(c, "num_layers"),
        c.get("relative_attention_num_buckets") instanceof Number n ? n.intValue() : 32,
        c.get("relative_attention_max_distance") instanceof Number n ? n.intValue() : 128,
        c.get("layer_norm_epsilon") instanceof Number n ? n.doubleValue() : 1e-6,
        vocab);
  }

  private static int integer(Map<String, Object> c, String key) {
    if (!(c.get(key) instanceof Number n)) {
      throw new IllegalArgumentException("config.json has no number " + key);
    }
    return n.intValue();
  }

  /** Width of the attention projections: heads x d_kv. */
  public int inner() {
    return heads * dKv;
  }

  /** The encoder's state-dict tensors (names of transformers' T5Stack). */
  public List<ParamSpec> params() {
    List<ParamSpec> out = new ArrayList<>();
    out.add(
        new ParamSpec(
            "embed_tokens.weight", new long[] {vocab, dModel}, ParamSpec.Init.SMALL, false));
    for (int i = 0; i < layers; i++) {
      String a = "block." + i + ".layer.0.";
      for (String p : List.of("q", "k", "v")) {
        out.add(lin(a + "SelfAttention." + p + ".weight", inner(), dModel));
      }
      out.add(lin(a + "SelfAttention.o.weight", dModel, inner()));
      if (i == 0) {
        out.add(
            new ParamSpec(
                    a + "SelfAttention.relative_attention_bias.weight",
                    new long[] {buckets, heads},
                    ParamSpec.Init.SMALL)
                .fullPrecision());
      }
      out.add(new ParamSpec(a + "layer_norm.weight", new long[] {dModel}, ParamSpec.Init.ONES));
      String f = "block." + i + ".layer.1.";
      out.add(lin(f + "DenseReluDense.wi_0.weight", dFf, dModel));
      out.add(lin(f + "DenseReluDense.wi_1.weight", dFf, dModel));
      out.add(lin(f + "DenseReluDense.wo.weight", dModel, dFf));
      out.add(new ParamSpec(f + "layer_norm.weight", new long[] {dModel}, ParamSpec.Init.ONES));
    }
    out.add(new ParamSpec("final_layer_norm.weight", new long[] {dModel}, ParamSpec.Init.ONES));
    return out;
  }

  private static ParamSpec lin(String name, long out, long in) {
    return new ParamSpec(name, new long[] {out, in}, ParamSpec.Init.FAN_IN);
  }

  /** Parameters of the encoder. */
  public long parameterCount() {
    long n = 0;
    for (ParamSpec p : params()) {
      n += p.size();
    }
    return n;
  }

  /**
   * T5's bidirectional relative-position bucket of {@code relative = key - query}, in float32 as
   * transformers computes the logarithmic part.
   */
  public int bucket(int relative) {
    int half = buckets / 2;
    int ret = relative > 0 ? half : 0;
    int n = Math.abs(relative);
    int exact = half / 2;
    if (n < exact) {
      return ret + n;
    }
    float v =
        (float) Math.log((float) n / exact)
            / (float) Math.log((double) maxDistance / exact)
            * (half - exact);
    return ret + Math.min(exact + (int) v, half - 1);
  }
}
