package dev.reelflow.engine.vision;

import java.util.Map;

/**
 * The SigLIP vision tower's shape, read from its {@code config.json} (transformers'
 * SiglipVisionConfig; absent keys take that class's defaults, as {@code from_pretrained} does). The
 * released so400m/14 tower (FLUX.1-Redux's {@code image_encoder}, which the official pipeline
 * loads): hidden 1152, 27 layers, 16 heads, MLP 4304, image 384, patch 14, so 27 x 27 = 729 tokens.
 *
 * @param hidden {@code hidden_size}
 * @param layers {@code num_hidden_layers}
 * @param heads {@code num_attention_heads}
 * @param intermediate {@code intermediate_size} (the MLP width)
 * @param imageSize {@code image_size} (square input side)
 * @param patch {@code patch_size}
 * @param channels {@code num_channels}
 * @param layerNormEps {@code layer_norm_eps}
 * @param tanhGelu whether {@code hidden_act} is the tanh approximation ({@code gelu_pytorch_tanh},
 *     SigLIP's) rather than the exact {@code gelu}
 */
public record SiglipConfig(
    int hidden,
    int layers,
    int heads,
    int intermediate,
    int imageSize,
    int patch,
    int channels,
    double layerNormEps,
    boolean tanhGelu) {

  public SiglipConfig {
    if (hidden < 1 || layers < 1 || heads < 1 || intermediate < 1 || channels < 1) {
      throw new IllegalArgumentException("SigLIP sizes must be positive: " + this);
    }
    if (hidden % heads != 0) {
      throw new IllegalArgumentException(
          "hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
    }
    if (patch < 1 || imageSize < patch) {
      throw new IllegalArgumentException(
          "image_size " + imageSize + " must be at least patch_size " + patch);
    }
  }

  /** The released so400m/14 at 384 px. */
  public static SiglipConfig so400m() {
    return new SiglipConfig(1152, 27, 16, 4304, 384, 14, 3, 1e-6, true);
  }

  /**
   * Tokens per image: {@code (imageSize / patch)^2}, rounded down as the unpadded convolution does
   * (384 / 14: 27 x 27 = 729; the last 6 pixel rows and columns are not seen).
   */
  public int tokens() {
    int g = imageSize / patch;
    return g * g;
  }

  public int headDim() {
    return hidden / heads;
  }

  /** Parameters of the tower without the pooling head (what {@code last_hidden_state} uses). */
  public long parameterCount() {
    long d = hidden;
    long embed = d * channels * patch * patch + d + (long) tokens() * d;
    long layer =
        4 * (d * d + d) + 2 * 2 * d + (intermediate * d + intermediate) + (d * intermediate + d);
    return embed + layers * layer + 2 * d;
  }

  /**
   * Reads {@code image_encoder/config.json}; {@code owner} names the file in errors.
   *
   * @throws IllegalArgumentException naming the key when a value is unusable
   */
  public static SiglipConfig fromJson(String owner, Map<String, Object> json) {
    Object type = json.get("model_type");
    if (type != null && !type.equals("siglip_vision_model") && !type.equals("siglip")) {
      throw new IllegalArgumentException(
          owner + ": model_type '" + type + "' is not a SigLIP vision model");
    }
    // a full SiglipModel config nests the tower under vision_config
    Map<String, Object> c = json;
    if (json.get("vision_config") instanceof Map<?, ?> vc) {
      @SuppressWarnings("unchecked")
      Map<String, Object> nested = (Map<String, Object>) vc;
      c = nested;
    }
    String act = string(owner, c, "hidden_act", "gelu_pytorch_tanh");
    boolean tanh;
    switch (act) {
      case "gelu_pytorch_tanh", "gelu_new" -> tanh = true;
      case "gelu" -> tanh = false;
      default ->
          throw new IllegalArgumentException(
              owner + ": hidden_act '" + act + "' is not supported (gelu_pytorch_tanh or gelu)");
    }
    try {
      return new SiglipConfig(
          integer(owner, c, "hidden_size", 768),
          integer(owner, c, "num_hidden_layers", 12),
          integer(owner, c, "num_attention_heads", 12),
          integer(owner, c, "intermediate_size", 3072),
          integer(owner, c, "image_size", 224),
          integer(owner, c, "patch_size", 16),
          integer(owner, c, "num_channels", 3),
          number(owner, c, "layer_norm_eps", 1e-6),
          tanh);
    } catch (IllegalArgumentException e) {
      throw e.getMessage().startsWith(owner)
          ? e
          : new IllegalArgumentException(owner + ": " + e.getMessage(), e);
    }
  }

  private static int integer(String owner, Map<String, Object> c, String key, int dflt) {
    Object v = c.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      return Math.toIntExact(n.longValue());
    }
    throw new IllegalArgumentException(owner + ": " + key + " must be an integer, got " + v);
  }

  private static double number(String owner, Map<String, Object> c, String key, double dflt) {
    Object v = c.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    throw new IllegalArgumentException(owner + ": " + key + " must be a number, got " + v);
  }

  private static String string(String owner, Map<String, Object> c, String key, String dflt) {
    Object v = c.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof String s) {
      return s;
    }
    throw new IllegalArgumentException(owner + ": " + key + " must be a string, got " + v);
  }
}
