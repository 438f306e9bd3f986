package dev.reelflow.engine.dit;

import dev.reelflow.engine.attention.AttentionConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads the official transformer {@code config.json}: the constructor arguments of {@code
 * HunyuanVideo_1_5_DiffusionTransformer} with its defaults for absent keys, and {@code attn_param}
 * for SSTA.
 */
final class DitConfigJson {
  /** The official constructor's defaults (hyvideo/models/transformers/...transformer.py). */
  private static final Map<String, Object> DEFAULTS = new HashMap<>();

  static {
    DEFAULTS.put("patch_size", List.of(1L, 2L, 2L));
    DEFAULTS.put("in_channels", 4L);
    DEFAULTS.put("concat_condition", true);
    DEFAULTS.put("out_channels", null);
    DEFAULTS.put("hidden_size", 3072L);
    DEFAULTS.put("heads_num", 24L);
    DEFAULTS.put("mlp_width_ratio", 4.0);
    DEFAULTS.put("mlp_act_type", "gelu_tanh");
    DEFAULTS.put("mm_double_blocks_depth", 20L);
    DEFAULTS.put("mm_single_blocks_depth", 40L);
    DEFAULTS.put("rope_dim_list", List.of(16L, 56L, 56L));
    DEFAULTS.put("qkv_bias", true);
    DEFAULTS.put("qk_norm", true);
    DEFAULTS.put("qk_norm_type", "rms");
    DEFAULTS.put("guidance_embed", false);
    DEFAULTS.put("use_meanflow", false);
    DEFAULTS.put("text_projection", "single_refiner");
    DEFAULTS.put("use_attention_mask", true);
    DEFAULTS.put("text_states_dim", 4096L);
    DEFAULTS.put("text_states_dim_2", 768L);
    DEFAULTS.put("text_pool_type", null);
    DEFAULTS.put("rope_theta", 256L);
    DEFAULTS.put("attn_mode", "flash");
    DEFAULTS.put("attn_param", null);
    DEFAULTS.put("glyph_byT5_v2", false);
    DEFAULTS.put("vision_projection", "none");
    DEFAULTS.put("vision_states_dim", 1280L);
    DEFAULTS.put("is_reshape_temporal_channels", false);
    DEFAULTS.put("use_cond_type_embedding", false);
    DEFAULTS.put("ideal_resolution", null);
    DEFAULTS.put("ideal_task", null);
  }

  /** attn_param keys the official attention reads; all must be present when attn_param is set. */
  private static final List<String> ATTN_KEYS =
      List.of(
          "win_size",
          "win_type",
          "win_ratio",
          "tile_size",
          "ssta_topk",
          "ssta_threshold",
          "ssta_lambda",
          "ssta_sampling_type",
          "ssta_adaptive_pool",
          "attn_sparse_type",
          "attn_pad_type",
          "attn_use_text_mask",
          "attn_mask_share_within_head");

  /** Scratch keys the official forward writes into attn_param (a saved config may carry them). */
  private static final Set<String> ATTN_RUNTIME_KEYS = Set.of("thw", "layer-name");

  static final String GLYPH_DIMS_KEY = "_reelflow_glyph_dims";

  private DitConfigJson() {}

  private static IllegalArgumentException bad(String name, String key, String why) {
    return new IllegalArgumentException("transformer/" + name + "/config.json: " + key + " " + why);
  }

  private static final class Reader {
    final String name;
    final Map<String, Object> json;

    Reader(String name, Map<String, Object> json) {
      this.name = name;
      this.json = json;
    }

    Object raw(String key) {
      return json.containsKey(key) ? json.get(key) : DEFAULTS.get(key);
    }

    int integer(String key) {
      Object v = raw(key);
      if (v instanceof Long l && l == l.intValue()) {
        return l.intValue();
      }
      if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e9) {
        return d.intValue();
      }
      throw bad(name, key, "must be an integer, got " + v);
    }

    double number(String key) {
      Object v = raw(key);
      if (v instanceof Number n) {
        return n.doubleValue();
      }
      throw bad(name, key, "must be a number, got " + v);
    }

    boolean bool(String key) {
      Object v = raw(key);
      if (v instanceof Boolean b) {
        return b;
      }
      // Python configs sometimes store flags as 0/1
      if (v instanceof Long l && (l == 0 || l == 1)) {
        return l == 1;
      }
      throw bad(name, key, "must be true or false, got " + v);
    }

    String string(String key) {
      Object v = raw(key);
      if (v == null || v instanceof String) {
        return (String) v;
      }
      throw bad(name, key, "must be a string, got " + v);
    }

    int[] ints(String key, int n) {
      return intList(key, raw(key), n);
    }

    int[] intList(String key, Object v, int n) {
      if (v instanceof List<?> l && l.size() == n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
          if (!(l.get(i) instanceof Long x) || x != x.intValue()) {
            throw bad(name, key, "must be a list of " + n + " integers, got " + v);
          }
          out[i] = ((Long) l.get(i)).intValue();
        }
        return out;
      }
      throw bad(name, key, "must be a list of " + n + " integers, got " + v);
    }
  }

  static DitConfig parse(String name, Map<String, Object> json) {
    Set<String> unknown = new TreeSet<>();
    for (String k : json.keySet()) {
      if (!DEFAULTS.containsKey(k) && !k.startsWith("_")) {
        unknown.add(k);
      }
    }
    if (!unknown.isEmpty()) {
      throw bad(
          name,
          "keys " + unknown,
          "are not known to the engine (it follows the official HunyuanVideo-1.5 transformer);"
              + " a newer config needs a newer engine");
    }
    Reader r = new Reader(name, json);
    DitConfig.Builder b = DitConfig.builder().name(name);
    b.hidden(r.integer("hidden_size")).heads(r.integer("heads_num"));
    b.depth(r.integer("mm_double_blocks_depth")).singleDepth(r.integer("mm_single_blocks_depth"));
    b.mlpWidthRatio(r.number("mlp_width_ratio"));
    String act = r.string("mlp_act_type");
    b.activation(
        switch (act == null ? "" : act) {
          case "gelu_tanh" -> DitConfig.Activation.GELU_TANH;
          case "gelu" -> DitConfig.Activation.GELU;
          case "silu" -> DitConfig.Activation.SILU;
          default -> throw bad(name, "mlp_act_type", "'" + act + "' is not supported");
        });
    int[] patch = r.ints("patch_size", 3);
    b.patch(patch[0], patch[1], patch[2]);
    int in = r.integer("in_channels");
    Object out = r.raw("out_channels");
    b.latentChannels(out == null ? in : r.integer("out_channels"));
    int patchIn = in;
    if (r.bool("concat_condition")) {
      patchIn = r.bool("is_reshape_temporal_channels") ? in + in / 2 + 1 : 2 * in + 1;
    }
    b.inChannels(patchIn);
    b.qkvBias(r.bool("qkv_bias"));
    if (!r.bool("qk_norm")) {
      b.qkNorm(DitConfig.QkNorm.NONE);
    } else {
      String t = r.string("qk_norm_type");
      b.qkNorm(
          switch (t == null ? "" : t) {
            case "rms" -> DitConfig.QkNorm.RMS;
            case "layer" -> DitConfig.QkNorm.LAYER;
            default -> throw bad(name, "qk_norm_type", "'" + t + "' is not supported");
          });
    }
    b.ropeDims(r.ints("rope_dim_list", 3)).ropeTheta(r.number("rope_theta"));
    String tp = r.string("text_projection");
    b.textProjection(
        switch (tp == null ? "" : tp) {
          case "single_refiner" -> DitConfig.TextProjection.SINGLE_REFINER;
          case "linear" -> DitConfig.TextProjection.LINEAR;
          default -> throw bad(name, "text_projection", "'" + tp + "' is not supported");
        });
    if (!r.bool("use_attention_mask")) {
      throw bad(
          name,
          "use_attention_mask",
          "false is not supported: the refiner would attend to the text encoder's padding"
              + " features, which the engine does not carry");
    }
    b.textDim(r.integer("text_states_dim")).refinerDepth(2);
    String pool = r.string("text_pool_type");
    // text_states_dim_2 only shapes the pooled-text embedder (null in the released configs)
    b.textPool(pool, pool == null ? 0 : r.integer("text_states_dim_2"));
    if (r.bool("glyph_byT5_v2")) {
      int[] g = {1472, 2048};
      if (json.containsKey(DitConfigJson.GLYPH_DIMS_KEY)) {
        g = r.intList(GLYPH_DIMS_KEY, json.get(GLYPH_DIMS_KEY), 2);
      }
      b.glyph(g[0], g[1]);
    } else {
      b.noGlyph();
    }
    String vp = r.string("vision_projection");
    if ("linear".equals(vp)) {
      b.visionDim(r.integer("vision_states_dim"));
    } else if (vp == null || vp.equals("none")) {
      b.visionDim(0);
    } else {
      throw bad(name, "vision_projection", "'" + vp + "' is not supported (linear or none)");
    }
    boolean cond = r.bool("use_cond_type_embedding");
    if (cond && !r.bool("glyph_byT5_v2")) {
      throw bad(name, "use_cond_type_embedding", "needs glyph_byT5_v2 (as upstream asserts)");
    }
    b.condTypeEmbedding(cond);
    b.guidanceEmbed(r.bool("guidance_embed")).meanFlow(r.bool("use_meanflow"));
    b.attention(attention(r));
    b.idealResolution(r.string("ideal_resolution")).idealTask(r.string("ideal_task"));
    return b.build();
  }

  private static AttentionConfig attention(Reader r) {
    String mode = r.string("attn_mode");
    switch (mode == null ? "" : mode) {
      case "flash", "flash2", "flash3", "torch", "sageattn":
        // every dense kernel computes the same exact softmax over the valid tokens
        return AttentionConfig.dense();
      case "flex-block-attn":
        break;
      default:
        throw bad(r.name, "attn_mode", "'" + mode + "' is not supported");
    }
    Object p = r.raw("attn_param");
    Map<String, Object> param;
    if (p == null) {
      param = officialDefaultAttnParam();
    } else if (p instanceof Map<?, ?> m) {
      @SuppressWarnings("unchecked")
      Map<String, Object> cast = (Map<String, Object>) m;
      param = cast;
    } else {
      throw bad(r.name, "attn_param", "must be an object, got " + p);
    }
    List<String> missing = new ArrayList<>();
    for (String k : ATTN_KEYS) {
      if (!param.containsKey(k)) {
        missing.add(k);
      }
    }
    Set<String> unknown = new TreeSet<>();
    for (String k : param.keySet()) {
      if (!ATTN_KEYS.contains(k) && !ATTN_RUNTIME_KEYS.contains(k)) {
        unknown.add(k);
      }
    }
    if (!missing.isEmpty() || !unknown.isEmpty()) {
      throw bad(
          r.name,
          "attn_param",
          (missing.isEmpty() ? "" : "lacks " + missing + " (the official attention reads them)")
              + (missing.isEmpty() || unknown.isEmpty() ? "" : " and ")
              + (unknown.isEmpty() ? "" : "has unknown keys " + unknown));
    }
    Reader a = new Reader(r.name, param);
    String sparse = a.string("attn_sparse_type");
    if (!"ssta".equals(sparse)) {
      throw bad(
          r.name,
          "attn_param.attn_sparse_type",
          "'" + sparse + "' is not supported (the engine implements 'ssta')");
    }
    String sampling = a.string("ssta_sampling_type");
    if (!"importance".equals(sampling)) {
      throw bad(
          r.name,
          "attn_param.ssta_sampling_type",
          "'" + sampling + "' is not supported (the engine implements 'importance')");
    }
    if (a.number("ssta_threshold") != 0.0) {
      throw bad(
          r.name,
          "attn_param.ssta_threshold",
          "must be 0 (upstream importance sampling raises NotImplementedError otherwise)");
    }
    if (param.get("ssta_adaptive_pool") != null) {
      throw bad(r.name, "attn_param.ssta_adaptive_pool", "must be null (unused by importance)");
    }
    if (a.bool("attn_mask_share_within_head")) {
      throw bad(
          r.name,
          "attn_param.attn_mask_share_within_head",
          "must be 0: the shared mask is 5-D upstream and the kernel wrapper rejects it");
    }
    Object ws = param.get("win_size");
    if (!(ws instanceof List<?> wl) || wl.isEmpty()) {
      throw bad(r.name, "attn_param.win_size", "must be a list of [t, h, w] windows, got " + ws);
    }
    int[] window = a.intList("attn_param.win_size[0]", wl.get(0), 3);
    int[] tile = a.intList("attn_param.tile_size", param.get("tile_size"), 3);
    String winType = a.string("win_type");
    int denseEvery;
    if ("fixed".equals(winType)) {
      denseEvery = 0;
    } else if ("hybrid".equals(winType)) {
      denseEvery = Math.max(0, a.integer("win_ratio"));
    } else {
      throw bad(r.name, "attn_param.win_type", "'" + winType + "' is not supported");
    }
    String pad = a.string("attn_pad_type");
    if (!"zero".equals(pad) && !"repeat".equals(pad)) {
      throw bad(r.name, "attn_param.attn_pad_type", "must be zero or repeat, got " + pad);
    }
    return new AttentionConfig(
        AttentionConfig.Mode.SSTA,
        tile,
        window,
        a.integer("ssta_topk"),
        a.number("ssta_lambda"),
        31,
        "repeat".equals(pad),
        a.bool("attn_use_text_mask"),
        denseEvery);
  }

  /** The attn_param the official constructor uses when the config has none. */
  static Map<String, Object> officialDefaultAttnParam() {
    Map<String, Object> m = new HashMap<>();
    m.put("win_size", List.of(List.of(3L, 3L, 3L)));
    m.put("win_type", "fixed");
    m.put("win_ratio", 10L);
    m.put("tile_size", List.of(6L, 8L, 8L));
    m.put("ssta_topk", 64L);
    m.put("ssta_threshold", 0.0);
    m.put("ssta_lambda", 0.7);
    m.put("ssta_sampling_type", "importance");
    m.put("ssta_adaptive_pool", null);
    m.put("attn_sparse_type", "ssta");
    m.put("attn_pad_type", "zero");
    m.put("attn_use_text_mask", 1L);
    m.put("attn_mask_share_within_head", 0L);
    return m;
  }
}
