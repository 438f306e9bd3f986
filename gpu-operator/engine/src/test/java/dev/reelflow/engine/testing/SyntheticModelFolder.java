package dev.reelflow.engine.testing;

import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.checkpoint.VariantName;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.sr.SrCheckpoint;
import dev.reelflow.engine.sr.SrVariant;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vision.SiglipConfig;
import dev.reelflow.engine.vision.SiglipVisionEncoder;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a checkpoint folder in the released HunyuanVideo-1.5 layout with tiny shapes, for tests
 * (published in the engine's test-jar; never shipped): every released transformer variant with an
 * official-format {@code config.json} (hidden 64, 2 heads x 32, one dual-stream block, 32 latent
 * channels, text 64-d, glyph 32-d, vision 16-d; the step-distilled variant with mean-flow, the
 * sparse one with SSTA on 1x2x2 tiles, the SR ones with 98 input channels and {@code
 * concat_condition} false) and weights from {@link FormulaValues}; {@code vae/} with the tiny VAE;
 * {@code scheduler/}; both tiny SR upsamplers; tiny text encoders ({@link SyntheticTextEncoders}:
 * llm with a tokenizer.json, byt5-small, Glyph-SDXL-v2); a tiny SigLIP in {@code
 * vision_encoder/siglip} ({@link #writeSiglip}).
 *
 * <p>By default the weights are stored as BF16, except {@code 480p_i2v} (F32) and {@code 720p_t2v}
 * (F16), and {@code 480p_t2v} is split over two shards with an index, so one folder exercises every
 * storage the loader reads. The glyph mapper's widths come from the test-only config key {@code
 * _reelflow_glyph_dims} (the official code hard-codes 1472 and 2048).
 *
 * <p>Assumption, not verified against the released files: the SR transformers' configs. The
 * official SR pipeline feeds 98 channels (latents 32 + image condition 32 + mask 1 + upsampled
 * low-resolution latents 32 + ones 1), so their patch embedding takes 98 channels; this writer
 * encodes that as {@code in_channels 98, concat_condition false, out_channels 32}.
 */
public final class SyntheticModelFolder {
  /** The tiny VAE written to {@code vae/}. */
  public static final VaeConfig VAE = VaeConfig.tiny();

  private final List<String> variants;
  private final Map<String, DType> storage;
  private final Map<String, Integer> shards;
  private final Map<String, List<ParamSpec>> upsamplerParams;
  private final Map<String, Map<String, Object>> upsamplerConfigs;
  private final DType defaultStorage;
  private final boolean textEncoders;

  private SyntheticModelFolder(Builder b) {
    this.textEncoders = b.textEncoders;
    this.variants = List.copyOf(b.variants);
    this.storage = Map.copyOf(b.storage);
    this.shards = Map.copyOf(b.shards);
    this.upsamplerParams = new LinkedHashMap<>(b.upsamplerParams);
    this.upsamplerConfigs = new LinkedHashMap<>(b.upsamplerConfigs);
    this.defaultStorage = b.defaultStorage;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Writes the default folder into {@code dir} (created) and returns it. */
  public static Path writeDefault(Path dir) throws IOException {
    return builder().build().write(dir);
  }

  /** The {@code config.json} content of a transformer variant of this folder. */
  public static Map<String, Object> transformerConfig(String variant) {
    VariantName v =
        VariantName.parse(variant)
            .orElseThrow(() -> new IllegalArgumentException("not a variant name: " + variant));
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("_class_name", "HunyuanVideo_1_5_DiffusionTransformer");
    c.put("_diffusers_version", "0.35.0");
    c.put("patch_size", List.of(1L, 1L, 1L));
    boolean sr = v.task() == VariantName.Task.SR;
    c.put("in_channels", sr ? 98L : 32L);
    c.put("concat_condition", !sr);
    c.put("out_channels", 32L);
    c.put("hidden_size", 64L);
    c.put("heads_num", 2L);
    c.put("mlp_width_ratio", 2L);
    c.put("mlp_act_type", "gelu_tanh");
    c.put("mm_double_blocks_depth", 1L);
    c.put("mm_single_blocks_depth", 0L);
    c.put("rope_dim_list", List.of(8L, 12L, 12L));
    c.put("qkv_bias", true);
    c.put("qk_norm", true);
    c.put("qk_norm_type", "rms");
    c.put("guidance_embed", false);
    c.put("use_meanflow", v.kind() == VariantName.Kind.STEP_DISTILLED);
    c.put("text_projection", "single_refiner");
    c.put("use_attention_mask", true);
    c.put("text_states_dim", 64L);
    c.put("text_states_dim_2", null);
    c.put("text_pool_type", null);
    c.put("rope_theta", 256L);
    if (v.kind() == VariantName.Kind.SPARSE) {
      c.put("attn_mode", "flex-block-attn");
      Map<String, Object> a = new LinkedHashMap<>();
      a.put("win_size", List.of(List.of(3L, 3L, 3L)));
      a.put("win_type", "fixed");
      a.put("win_ratio", 10L);
      a.put("tile_size", List.of(1L, 2L, 2L));
      a.put("ssta_topk", 4L);
      a.put("ssta_threshold", 0.0);
      a.put("ssta_lambda", 0.7);
      a.put("ssta_sampling_type", "importance");
      a.put("ssta_adaptive_pool", null);
      a.put("attn_sparse_type", "ssta");
      a.put("attn_pad_type", "zero");
      a.put("attn_use_text_mask", 1L);
      a.put("attn_mask_share_within_head", 0L);
      c.put("attn_param", a);
    } else {
      c.put("attn_mode", "flash");
      c.put("attn_param", null);
    }
    c.put("glyph_byT5_v2", true);
    c.put("_reelflow_glyph_dims", List.of(32L, 64L));
    c.put("vision_projection", "linear");
    c.put("vision_states_dim", 16L);
    c.put("is_reshape_temporal_channels", false);
    c.put("use_cond_type_embedding", true);
    c.put("ideal_resolution", v.resolution());
    c.put("ideal_task", sr ? "t2v" : v.task().name().toLowerCase());
    return c;
  }

  /**
   * The {@code upsampler/<name>/config.json} content (official constructor keys, tiny widths):
   * {@code SRTo720pUpsampler} with hidden 16 and one block, {@code SRTo1080pUpsampler} with levels
   * 64 and 32 of two resnets each.
   */
  public static Map<String, Object> upsamplerConfig(String name) {
    Map<String, Object> c = new LinkedHashMap<>();
    if (name.startsWith("720p")) {
      c.put("_class_name", "SRTo720pUpsampler");
      c.put("in_channels", 32L);
      c.put("out_channels", 32L);
      c.put("hidden_channels", 16L);
      c.put("num_blocks", 1L);
      c.put("global_residual", false);
    } else {
      c.put("_class_name", "SRTo1080pUpsampler");
      c.put("z_channels", 32L);
      c.put("out_channels", 32L);
      c.put("block_out_channels", List.of(64L, 32L));
      c.put("num_res_blocks", 1L);
      c.put("is_residual", false);
    }
    return c;
  }

  /** The {@code vae/config.json} content (official constructor keys, tiny widths). */
  public static Map<String, Object> vaeConfig() {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("_class_name", "AutoencoderKLConv3D");
    c.put("in_channels", 3L);
    c.put("out_channels", 3L);
    c.put("latent_channels", (long) VAE.latentChannels());
    List<Object> blocks = new ArrayList<>();
    for (int b : VAE.blockOut()) {
      blocks.add((long) b);
    }
    c.put("block_out_channels", blocks);
    c.put("layers_per_block", (long) VAE.layersPerBlock());
    c.put("ffactor_spatial", (long) VAE.spatialFactor());
    c.put("ffactor_temporal", (long) VAE.temporalFactor());
    c.put("sample_size", 256L);
    c.put("sample_tsize", 64L);
    c.put("scaling_factor", (double) VAE.scalingFactor());
    c.put("downsample_match_channel", true);
    c.put("upsample_match_channel", true);
    return c;
  }

  /** Writes the folder into {@code dir} (created; existing files are replaced). */
  public Path write(Path dir) throws IOException {
    Files.createDirectories(dir);
    for (String v : variants) {
      Path d = Files.createDirectories(dir.resolve("transformer").resolve(v));
      Map<String, Object> cfg = transformerConfig(v);
      writeJson(d.resolve("config.json"), cfg);
      List<ParamSpec> specs = HunyuanDit.params(DitConfig.fromJson(v, cfg));
      writeWeights(d, specs, storage.getOrDefault(v, defaultStorage), shards.getOrDefault(v, 1));
    }
    Path vae = Files.createDirectories(dir.resolve("vae"));
    writeJson(vae.resolve("config.json"), vaeConfig());
    writeWeights(vae, CausalVae.params(VAE), DType.F32, 1);
    Path sched = Files.createDirectories(dir.resolve("scheduler"));
    Map<String, Object> sc = new LinkedHashMap<>();
    sc.put("_class_name", "FlowMatchDiscreteScheduler");
    sc.put("num_train_timesteps", 1000L);
    sc.put("shift", 7.0);
    sc.put("reverse", true);
    sc.put("solver", "euler");
    writeJson(sched.resolve("scheduler_config.json"), sc);
    for (String u : VariantName.RELEASED_UPSAMPLERS) {
      Path d = Files.createDirectories(dir.resolve("upsampler").resolve(u));
      Map<String, Object> cfg = upsamplerConfigs.getOrDefault(u, upsamplerConfig(u));
      writeJson(d.resolve("config.json"), cfg);
      List<ParamSpec> params = upsamplerParams.get(u);
      if (params == null) {
        params = SrCheckpoint.upsamplerParams(SrVariant.named(u), cfg);
      }
      writeWeights(d, params, DType.F32, 1);
    }
    if (textEncoders) {
      // tiny real-format encoders whose widths match the transformers' text 64 / glyph 32
      SyntheticTextEncoders.writeAll(dir, 64, 32);
    }
    for (String t :
        textEncoders
            ? List.of("vision_encoder/siglip")
            : List.of(
                "text_encoder/llm",
                "text_encoder/byt5-small",
                "text_encoder/Glyph-SDXL-v2",
                "vision_encoder/siglip")) {
      Path d = Files.createDirectories(dir.resolve(t));
      Files.writeString(
          d.resolve("PLACEHOLDER.txt"),
          "synthetic test folder: the real encoder's files go here\n",
          StandardCharsets.UTF_8);
    }
    writeSiglip(dir.resolve("vision_encoder").resolve("siglip"));
    return dir;
  }

  /** The tiny SigLIP tower of {@code vision_encoder/siglip/image_encoder}: 16-d, as vision_in. */
  public static final SiglipConfig SIGLIP = new SiglipConfig(16, 2, 2, 32, 30, 14, 3, 1e-6, true);

  /**
   * {@code vision_encoder/siglip/} in FLUX.1-Redux's layout: {@code image_encoder/} (a config.json
   * in transformers' keys and BF16 weights of {@link #SIGLIP}, its attention-pooling head included,
   * which the engine ignores) and {@code feature_extractor/preprocessor_config.json} (SigLIP's
   * processor at 30 x 30). As the released 384/14, the image side is no multiple of the patch.
   */
  static void writeSiglip(Path dir) throws IOException {
    SiglipConfig c = SIGLIP;
    Path enc = Files.createDirectories(dir.resolve(SiglipVisionEncoder.IMAGE_ENCODER));
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("architectures", List.of("SiglipVisionModel"));
    cfg.put("attention_dropout", 0.0);
    cfg.put("hidden_act", "gelu_pytorch_tanh");
    cfg.put("hidden_size", (long) c.hidden());
    cfg.put("image_size", (long) c.imageSize());
    cfg.put("intermediate_size", (long) c.intermediate());
    cfg.put("layer_norm_eps", c.layerNormEps());
    cfg.put("model_type", "siglip_vision_model");
    cfg.put("num_attention_heads", (long) c.heads());
    cfg.put("num_channels", (long) c.channels());
    cfg.put("num_hidden_layers", (long) c.layers());
    cfg.put("patch_size", (long) c.patch());
    cfg.put("torch_dtype", "bfloat16");
    writeJson(enc.resolve("config.json"), cfg);
    List<ParamSpec> specs = new ArrayList<>(SiglipVisionEncoder.params(c));
    long d = c.hidden();
    String h = "vision_model.head.";
    specs.add(new ParamSpec(h + "probe", new long[] {1, 1, d}, ParamSpec.Init.SMALL));
    specs.add(
        new ParamSpec(
            h + "attention.in_proj_weight", new long[] {3 * d, d}, ParamSpec.Init.FAN_IN));
    specs.add(
        new ParamSpec(h + "attention.in_proj_bias", new long[] {3 * d}, ParamSpec.Init.ZEROS));
    specs.add(
        new ParamSpec(h + "attention.out_proj.weight", new long[] {d, d}, ParamSpec.Init.FAN_IN));
    specs.add(new ParamSpec(h + "attention.out_proj.bias", new long[] {d}, ParamSpec.Init.ZEROS));
    specs.add(new ParamSpec(h + "layernorm.weight", new long[] {d}, ParamSpec.Init.ONES));
    specs.add(new ParamSpec(h + "layernorm.bias", new long[] {d}, ParamSpec.Init.ZEROS));
    long m = c.intermediate();
    specs.add(new ParamSpec(h + "mlp.fc1.weight", new long[] {m, d}, ParamSpec.Init.FAN_IN));
    specs.add(new ParamSpec(h + "mlp.fc1.bias", new long[] {m}, ParamSpec.Init.ZEROS));
    specs.add(new ParamSpec(h + "mlp.fc2.weight", new long[] {d, m}, ParamSpec.Init.FAN_IN));
    specs.add(new ParamSpec(h + "mlp.fc2.bias", new long[] {d}, ParamSpec.Init.ZEROS));
    SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
    for (ParamSpec p : specs) {
      w.add(p.name(), p.shape(), FormulaValues.parameter(p.name(), p.shape()), DType.BF16);
    }
    w.writeTo(enc.resolve("model.safetensors"));
    Path fe = Files.createDirectories(dir.resolve(SiglipVisionEncoder.FEATURE_EXTRACTOR));
    Map<String, Object> pre = new LinkedHashMap<>();
    pre.put("do_convert_rgb", null);
    pre.put("do_normalize", true);
    pre.put("do_rescale", true);
    pre.put("do_resize", true);
    pre.put("image_mean", List.of(0.5, 0.5, 0.5));
    pre.put("image_processor_type", "SiglipImageProcessor");
    pre.put("image_std", List.of(0.5, 0.5, 0.5));
    pre.put("processor_class", "SiglipProcessor");
    pre.put("resample", 3L);
    pre.put("rescale_factor", 0.00392156862745098);
    pre.put("size", Map.of("height", (long) c.imageSize(), "width", (long) c.imageSize()));
    writeJson(fe.resolve("preprocessor_config.json"), pre);
  }

  private static void writeWeights(Path dir, List<ParamSpec> specs, DType dtype, int shards)
      throws IOException {
    if (shards <= 1) {
      SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
      for (ParamSpec p : specs) {
        w.add(p.name(), p.shape(), FormulaValues.parameter(p.name(), p.shape()), dtype);
      }
      w.writeTo(dir.resolve("diffusion_pytorch_model.safetensors"));
      return;
    }
    List<SafetensorsWriter> writers = new ArrayList<>();
    for (int i = 0; i < shards; i++) {
      writers.add(new SafetensorsWriter().metadata("format", "pt"));
    }
    Map<String, Object> weightMap = new LinkedHashMap<>();
    long total = 0;
    for (int i = 0; i < specs.size(); i++) {
      ParamSpec p = specs.get(i);
      int s = i % shards;
      writers.get(s).add(p.name(), p.shape(), FormulaValues.parameter(p.name(), p.shape()), dtype);
      weightMap.put(p.name(), shardName(s, shards));
      total += p.size() * dtype.bytes();
    }
    for (int i = 0; i < shards; i++) {
      writers.get(i).writeTo(dir.resolve(shardName(i, shards)));
    }
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("metadata", Map.of("total_size", total));
    index.put("weight_map", weightMap);
    writeJson(dir.resolve("diffusion_pytorch_model.safetensors.index.json"), index);
  }

  /** {@code diffusion_pytorch_model-00001-of-00002.safetensors} for shard 0 of 2. */
  public static String shardName(int i, int n) {
    return String.format("diffusion_pytorch_model-%05d-of-%05d.safetensors", i + 1, n);
  }

  /** Writes a JSON value (maps, lists, strings, numbers, booleans, null). */
  public static void writeJson(Path file, Object value) throws IOException {
    StringBuilder b = new StringBuilder();
    json(b, value, "");
    Files.writeString(file, b.append('\n').toString(), StandardCharsets.UTF_8);
  }

  private static void json(StringBuilder b, Object v, String indent) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof String s) {
      b.append(Json.quote(s));
    } else if (v instanceof Boolean || v instanceof Long || v instanceof Integer) {
      b.append(v);
    } else if (v instanceof Double d) {
      b.append(d.toString());
    } else if (v instanceof Map<?, ?> m) {
      b.append("{");
      String in = indent + "  ";
      boolean first = true;
      for (var e : m.entrySet()) {
        b.append(first ? "\n" : ",\n").append(in).append(Json.quote((String) e.getKey()));
        b.append(": ");
        json(b, e.getValue(), in);
        first = false;
      }
      b.append(first ? "}" : "\n" + indent + "}");
    } else if (v instanceof List<?> l) {
      b.append("[");
      for (int i = 0; i < l.size(); i++) {
        b.append(i == 0 ? "" : ", ");
        json(b, l.get(i), indent);
      }
      b.append("]");
    } else {
      throw new IllegalArgumentException("not JSON: " + v);
    }
  }

  /** Options of the synthetic folder. */
  public static final class Builder {
    private List<String> variants = VariantName.RELEASED;
    private final Map<String, DType> storage =
        new LinkedHashMap<>(Map.of("480p_i2v", DType.F32, "720p_t2v", DType.F16));
    private final Map<String, Integer> shards = new LinkedHashMap<>(Map.of("480p_t2v", 2));
    private final Map<String, List<ParamSpec>> upsamplerParams = new LinkedHashMap<>();
    private final Map<String, Map<String, Object>> upsamplerConfigs = new LinkedHashMap<>();
    private DType defaultStorage = DType.BF16;
    private boolean textEncoders = true;

    private Builder() {}

    /**
     * Whether to write tiny text encoders under {@code text_encoder/} (default true: {@link
     * SyntheticTextEncoders}); false writes placeholder folders, and engines from the folder use
     * the byte-level stand-in.
     */
    public Builder textEncoders(boolean write) {
      textEncoders = write;
      return this;
    }

    /** Which transformer variants to write (default: every released one). */
    public Builder variants(List<String> names) {
      variants = List.copyOf(names);
      return this;
    }

    /** Storage dtype of the variants not set with {@link #storage(String, DType)}. */
    public Builder storage(DType dtype) {
      defaultStorage = dtype;
      return this;
    }

    /** Storage dtype of one variant. */
    public Builder storage(String variant, DType dtype) {
      storage.put(variant, dtype);
      return this;
    }

    /** Splits a variant's weights over {@code n} shards with an index (1: one file). */
    public Builder shards(String variant, int n) {
      shards.put(variant, n);
      return this;
    }

    /** An upsampler's config and tensors (default: {@link #upsamplerConfig} and its tensors). */
    public Builder upsampler(String name, Map<String, Object> config, List<ParamSpec> params) {
      upsamplerConfigs.put(name, config);
      upsamplerParams.put(name, List.copyOf(params));
      return this;
    }

    public SyntheticModelFolder build() {
      return new SyntheticModelFolder(this);
    }
  }
}
