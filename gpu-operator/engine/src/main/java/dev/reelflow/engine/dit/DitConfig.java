package dev.reelflow.engine.dit;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.attention.AttentionConfig;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Shape and paths of a HunyuanVideo-1.5 diffusion transformer, as the official {@code
 * HunyuanVideo_1_5_DiffusionTransformer} takes them from a checkpoint's {@code config.json} (see
 * {@link #fromJson}): dual- and single-stream depths, patch size, channels, text, glyph (ByT5) and
 * vision projections, condition-type embedding, guidance and mean-flow timestep embeddings, 3D RoPE
 * and the attention mode with its SSTA settings.
 *
 * <p>{@link #p480()} and {@link #p720()} are the released shapes; {@link #tiny()} is a scaled-down
 * model of the same structure for tests and CPU demos (random-init). Immutable; build variants with
 * {@link #toBuilder()}.
 */
@EngineApi
public final class DitConfig {
  /** Activation of the transformer MLPs ({@code mlp_act_type}). */
  public enum Activation {
    GELU_TANH,
    GELU,
    SILU
  }

  /** Per-head QK normalisation ({@code qk_norm}, {@code qk_norm_type}). */
  public enum QkNorm {
    NONE,
    RMS,
    LAYER
  }

  /** How the text encoder's features enter ({@code text_projection}). */
  public enum TextProjection {
    /** {@code SingleTokenRefiner}: two self-attention refiner blocks conditioned on t. */
    SINGLE_REFINER,
    /** {@code TextProjection}: Linear, SiLU, Linear. */
    LINEAR
  }

  /** SigLIP tokens the official pipeline passes ({@code vision_num_semantic_tokens}). */
  public static final int VISION_TOKENS = 729;

  private final String name;
  private final int hidden;
  private final int heads;
  private final int depth;
  private final int singleDepth;
  private final double mlpWidthRatio;
  private final Activation activation;
  private final int[] patch;
  private final int latentChannels;
  private final int inChannels;
  private final boolean qkvBias;
  private final QkNorm qkNorm;
  private final int[] ropeDims;
  private final double ropeTheta;
  private final TextProjection textProjection;
  private final int textDim;
  private final int refinerDepth;
  private final String textPoolType;
  private final int textDim2;
  private final boolean glyph;
  private final int glyphDim;
  private final int glyphHidden;
  private final int visionDim;
  private final boolean condTypeEmbedding;
  private final boolean guidanceEmbed;
  private final boolean meanFlow;
  private final AttentionConfig attention;
  private final String idealResolution;
  private final String idealTask;

  private DitConfig(Builder b) {
    this.name = Objects.requireNonNull(b.name, "name");
    this.hidden = b.hidden;
    this.heads = b.heads;
    this.depth = b.depth;
    this.singleDepth = b.singleDepth;
    this.mlpWidthRatio = b.mlpWidthRatio;
    this.activation = Objects.requireNonNull(b.activation, "activation");
    this.patch = b.patch.clone();
    this.latentChannels = b.latentChannels;
    this.inChannels = b.inChannels;
    this.qkvBias = b.qkvBias;
    this.qkNorm = Objects.requireNonNull(b.qkNorm, "qkNorm");
    this.ropeDims = b.ropeDims.clone();
    this.ropeTheta = b.ropeTheta;
    this.textProjection = Objects.requireNonNull(b.textProjection, "textProjection");
    this.textDim = b.textDim;
    this.refinerDepth = b.refinerDepth;
    this.textPoolType = b.textPoolType;
    this.textDim2 = b.textDim2;
    this.glyph = b.glyph;
    this.glyphDim = b.glyphDim;
    this.glyphHidden = b.glyphHidden;
    this.visionDim = b.visionDim;
    this.condTypeEmbedding = b.condTypeEmbedding;
    this.guidanceEmbed = b.guidanceEmbed;
    this.meanFlow = b.meanFlow;
    this.attention = Objects.requireNonNull(b.attention, "attention");
    this.idealResolution = b.idealResolution;
    this.idealTask = b.idealTask;
    validate();
  }

  private void validate() {
    require(
        hidden > 0 && heads > 0 && hidden % heads == 0,
        "hidden_size",
        hidden + " not divisible by heads_num " + heads);
    require(depth >= 0 && singleDepth >= 0, "mm_double_blocks_depth", "depths must be >= 0");
    require(
        depth + singleDepth > 0, "mm_double_blocks_depth", "the model needs at least one block");
    require(mlpWidthRatio > 0 && mlpHidden() > 0, "mlp_width_ratio", "must be > 0");
    require(
        patch.length == 3 && patch[0] > 0 && patch[1] > 0 && patch[2] > 0,
        "patch_size",
        "needs 3 positive sizes (t, h, w), got " + Arrays.toString(patch));
    require(latentChannels > 0, "out_channels", "must be > 0");
    require(inChannels > 0, "in_channels", "must be > 0");
    int hd = hidden / heads;
    require(
        ropeDims.length == 3 && ropeDims[0] + ropeDims[1] + ropeDims[2] == hd,
        "rope_dim_list",
        Arrays.toString(ropeDims) + " must have 3 entries summing to the head dim " + hd);
    for (int d : ropeDims) {
      require(
          d % 2 == 0, "rope_dim_list", "entries must be even, got " + Arrays.toString(ropeDims));
    }
    require(textDim > 0, "text_states_dim", "must be > 0");
    require(refinerDepth >= 0, "refiner depth", "must be >= 0");
    require(
        !glyph || (glyphDim > 0 && glyphHidden > 0), "glyph_byT5_v2", "glyph widths must be > 0");
    require(visionDim >= 0, "vision_states_dim", "must be >= 0");
    require(
        !condTypeEmbedding || glyph,
        "use_cond_type_embedding",
        "needs glyph_byT5_v2 (as upstream)");
  }

  private static void require(boolean ok, String field, String message) {
    if (!ok) {
      throw new IllegalArgumentException("transformer config " + field + ": " + message);
    }
  }

  /** Head dim 128 split 16/56/56 as the reference; smaller heads keep the proportions. */
  static int[] ropeSplit(int headDim) {
    int t = Math.max(2, Math.round(headDim * 16f / 128f / 2f) * 2);
    int h = (headDim - t) / 2 / 2 * 2;
    int w = headDim - t - h;
    return new int[] {t, h, w};
  }

  /** A builder with the released model's values (480p T2V), dense attention. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this config's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.name = name;
    b.hidden = hidden;
    b.heads = heads;
    b.depth = depth;
    b.singleDepth = singleDepth;
    b.mlpWidthRatio = mlpWidthRatio;
    b.activation = activation;
    b.patch = patch.clone();
    b.latentChannels = latentChannels;
    b.inChannels = inChannels;
    b.qkvBias = qkvBias;
    b.qkNorm = qkNorm;
    b.ropeDims = ropeDims.clone();
    b.ropeTheta = ropeTheta;
    b.textProjection = textProjection;
    b.textDim = textDim;
    b.refinerDepth = refinerDepth;
    b.textPoolType = textPoolType;
    b.textDim2 = textDim2;
    b.glyph = glyph;
    b.glyphDim = glyphDim;
    b.glyphHidden = glyphHidden;
    b.visionDim = visionDim;
    b.condTypeEmbedding = condTypeEmbedding;
    b.guidanceEmbed = guidanceEmbed;
    b.meanFlow = meanFlow;
    b.attention = attention;
    b.idealResolution = idealResolution;
    b.idealTask = idealTask;
    return b;
  }

  /**
   * Small model for tests and CPU demos (random-init): 4 blocks, hidden 256, 4 heads x 64 (RoPE
   * 8/28/28), text 64-d, glyph 32-d through a 64-wide mapper, no vision projection.
   */
  public static DitConfig tiny() {
    return builder()
        .name("tiny")
        .hidden(256)
        .heads(4)
        .depth(4)
        .ropeDims(ropeSplit(64))
        .textDim(64)
        .glyph(32, 64)
        .visionDim(0)
        .build();
  }

  /** The released 480p model (54 blocks, hidden 2048, 16 x 128). */
  public static DitConfig p480() {
    return builder().name("480p").idealResolution("480p").build();
  }

  /** The released 720p model: the same shape as 480p (the checkpoints differ). */
  public static DitConfig p720() {
    return builder().name("720p").idealResolution("720p").build();
  }

  /** Looks a preset up by name: tiny, 480p or 720p. */
  public static DitConfig named(String name) {
    return switch (name) {
      case "tiny" -> tiny();
      case "480p" -> p480();
      case "720p" -> p720();
      default ->
          throw new IllegalArgumentException(
              "unknown model config '" + name + "'; use tiny, 480p or 720p");
    };
  }

  /**
   * The config of a checkpoint's {@code config.json}, read as the official constructor reads it: a
   * key that is absent takes the official constructor's default (mostly HunyuanVideo-1.0 leftovers,
   * e.g. hidden 3072: the released configs set every key). Keys starting with {@code _} are
   * metadata ({@code _class_name}, {@code _diffusers_version}); every other key must be known and
   * its value supported, else {@link IllegalArgumentException} names it. {@code
   * _reelflow_glyph_dims} ([input, mapper width]) overrides the glyph mapper's widths, which the
   * official code hard-codes to 1472 and 2048: it exists only so that synthetic test checkpoints
   * stay small, and no released config has it.
   *
   * @param name the variant name, e.g. {@code 480p_t2v}
   * @param json the parsed {@code config.json}
   */
  public static DitConfig fromJson(String name, Map<String, Object> json) {
    return DitConfigJson.parse(name, json);
  }

  /** Config name: a preset name or the checkpoint variant, e.g. {@code 720p_i2v_distilled}. */
  public String name() {
    return name;
  }

  public int hidden() {
    return hidden;
  }

  public int heads() {
    return heads;
  }

  public int headDim() {
    return hidden / heads;
  }

  /** Dual-stream (MMDiT) blocks ({@code mm_double_blocks_depth}). */
  public int depth() {
    return depth;
  }

  /** Single-stream blocks ({@code mm_single_blocks_depth}). */
  public int singleDepth() {
    return singleDepth;
  }

  /** {@code mlp_width_ratio}. */
  public double mlpWidthRatio() {
    return mlpWidthRatio;
  }

  /** Width of the block MLPs, {@code int(hidden * mlp_width_ratio)}. */
  public int mlpHidden() {
    return (int) (hidden * mlpWidthRatio);
  }

  public Activation activation() {
    return activation;
  }

  /** Patch size (t, h, w). */
  public int[] patch() {
    return patch.clone();
  }

  /** Channels the model predicts ({@code out_channels}, or {@code in_channels} when unset). */
  public int latentChannels() {
    return latentChannels;
  }

  /**
   * Channels of the input tensor the patch embedding takes: {@code 2 * in_channels + 1} with {@code
   * concat_condition} (latents, condition latents, mask: 65), {@code in_channels + in_channels / 2
   * + 1} with {@code is_reshape_temporal_channels}, else {@code in_channels} (the SR variants' 98 =
   * 32 latents + 32 image condition + 1 mask + 32 upsampled low-res latents + 1).
   */
  public int inChannels() {
    return inChannels;
  }

  public boolean qkvBias() {
    return qkvBias;
  }

  public QkNorm qkNorm() {
    return qkNorm;
  }

  public int[] ropeDims() {
    return ropeDims.clone();
  }

  public double ropeTheta() {
    return ropeTheta;
  }

  public TextProjection textProjection() {
    return textProjection;
  }

  /** Feature width of the MLLM text stream ({@code text_states_dim}). */
  public int textDim() {
    return textDim;
  }

  /** Blocks of the text token refiner (2 upstream). */
  public int refinerDepth() {
    return refinerDepth;
  }

  /**
   * {@code text_pool_type}, or null: with a pool type the model has a pooled-text embedder ({@code
   * vector_in}) that the official pipeline never feeds (it passes no second text encoder).
   */
  public String textPoolType() {
    return textPoolType;
  }

  /** {@code text_states_dim_2}: input width of the (unused) pooled-text embedder. */
  public int textDim2() {
    return textDim2;
  }

  /** Whether the ByT5 glyph stream is used ({@code glyph_byT5_v2}). */
  public boolean glyph() {
    return glyph;
  }

  /** Feature width of the glyph (ByT5) stream, 1472 upstream (0 without glyphs). */
  public int glyphDim() {
    return glyph ? glyphDim : 0;
  }

  /** Hidden width of the glyph mapper, 2048 upstream. */
  public int glyphHidden() {
    return glyphHidden;
  }

  /** SigLIP feature width of the vision projection, 0 without one ({@code vision_projection}). */
  public int visionDim() {
    return visionDim;
  }

  /** Condition-type embedding (0 text, 1 glyph, 2 vision) ({@code use_cond_type_embedding}). */
  public boolean condTypeEmbedding() {
    return condTypeEmbedding;
  }

  /** Embedded guidance input ({@code guidance_embed}). */
  public boolean guidanceEmbed() {
    return guidanceEmbed;
  }

  /** Mean-flow second timestep input ({@code use_meanflow}; the step-distilled variants). */
  public boolean meanFlow() {
    return meanFlow;
  }

  /** The attention the config asks for ({@code attn_mode}, {@code attn_param}). */
  public AttentionConfig attention() {
    return attention;
  }

  /** {@code ideal_resolution} (e.g. 480p), or null. */
  public String idealResolution() {
    return idealResolution;
  }

  /** {@code ideal_task} (t2v, i2v), or null. */
  public String idealTask() {
    return idealTask;
  }

  /** The fields as a map, for manifests and reports. */
  public Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("hidden", hidden);
    m.put("heads", heads);
    m.put("double_blocks", depth);
    m.put("single_blocks", singleDepth);
    m.put("mlp_hidden", mlpHidden());
    m.put("activation", activation.name().toLowerCase());
    m.put("patch", List.of(patch[0], patch[1], patch[2]));
    m.put("in_channels", inChannels);
    m.put("out_channels", latentChannels);
    m.put("qkv_bias", qkvBias);
    m.put("qk_norm", qkNorm.name().toLowerCase());
    m.put("rope", List.of(ropeDims[0], ropeDims[1], ropeDims[2]));
    m.put("rope_theta", ropeTheta);
    m.put("text_projection", textProjection.name().toLowerCase());
    m.put("text_dim", textDim);
    m.put("glyph", glyph ? List.of(glyphDim, glyphHidden) : "none");
    m.put("vision_dim", visionDim);
    m.put("cond_type_embedding", condTypeEmbedding);
    m.put("guidance_embed", guidanceEmbed);
    m.put("mean_flow", meanFlow);
    m.put("attention", attention.toString());
    return m;
  }

  @Override
  public String toString() {
    return "DitConfig" + describe();
  }

  /** Builder; the defaults are the released 480p T2V values with dense attention. */
  public static final class Builder {
    private String name = "custom";
    private int hidden = 2048;
    private int heads = 16;
    private int depth = 54;
    private int singleDepth = 0;
    private double mlpWidthRatio = 4;
    private Activation activation = Activation.GELU_TANH;
    private int[] patch = {1, 1, 1};
    private int latentChannels = 32;
    private int inChannels = 65;
    private boolean qkvBias = true;
    private QkNorm qkNorm = QkNorm.RMS;
    private int[] ropeDims = {16, 56, 56};
    private double ropeTheta = 256;
    private TextProjection textProjection = TextProjection.SINGLE_REFINER;
    private int textDim = 3584;
    private int refinerDepth = 2;
    private String textPoolType;
    private int textDim2 = 768;
    private boolean glyph = true;
    private int glyphDim = 1472;
    private int glyphHidden = 2048;
    private int visionDim = 1152;
    private boolean condTypeEmbedding = true;
    private boolean guidanceEmbed;
    private boolean meanFlow;
    private AttentionConfig attention = AttentionConfig.dense();
    private String idealResolution;
    private String idealTask;

    private Builder() {}

    public Builder name(String v) {
      name = v;
      return this;
    }

    public Builder hidden(int v) {
      hidden = v;
      return this;
    }

    public Builder heads(int v) {
      heads = v;
      return this;
    }

    /** Dual-stream blocks. */
    public Builder depth(int v) {
      depth = v;
      return this;
    }

    /** Single-stream blocks. */
    public Builder singleDepth(int v) {
      singleDepth = v;
      return this;
    }

    public Builder mlpWidthRatio(double v) {
      mlpWidthRatio = v;
      return this;
    }

    public Builder activation(Activation v) {
      activation = v;
      return this;
    }

    public Builder patch(int t, int h, int w) {
      patch = new int[] {t, h, w};
      return this;
    }

    /** Output (latent) channels. */
    public Builder latentChannels(int v) {
      latentChannels = v;
      return this;
    }

    /** Channels of the input tensor (the patch embedding's input). */
    public Builder inChannels(int v) {
      inChannels = v;
      return this;
    }

    public Builder qkvBias(boolean v) {
      qkvBias = v;
      return this;
    }

    public Builder qkNorm(QkNorm v) {
      qkNorm = v;
      return this;
    }

    public Builder ropeDims(int[] v) {
      ropeDims = v.clone();
      return this;
    }

    public Builder ropeTheta(double v) {
      ropeTheta = v;
      return this;
    }

    public Builder textProjection(TextProjection v) {
      textProjection = v;
      return this;
    }

    public Builder textDim(int v) {
      textDim = v;
      return this;
    }

    public Builder refinerDepth(int v) {
      refinerDepth = v;
      return this;
    }

    /** A pooled-text embedder of input width {@code dim2} (null type: none). */
    public Builder textPool(String type, int dim2) {
      textPoolType = type;
      textDim2 = dim2;
      return this;
    }

    /** The glyph stream with input width {@code dim} and mapper width {@code hiddenWidth}. */
    public Builder glyph(int dim, int hiddenWidth) {
      glyph = true;
      glyphDim = dim;
      glyphHidden = hiddenWidth;
      return this;
    }

    /** No glyph stream (and so no condition-type embedding, which upstream requires glyphs). */
    public Builder noGlyph() {
      glyph = false;
      condTypeEmbedding = false;
      return this;
    }

    /** SigLIP width of the vision projection; 0 for none. */
    public Builder visionDim(int v) {
      visionDim = v;
      return this;
    }

    public Builder condTypeEmbedding(boolean v) {
      condTypeEmbedding = v;
      return this;
    }

    public Builder guidanceEmbed(boolean v) {
      guidanceEmbed = v;
      return this;
    }

    public Builder meanFlow(boolean v) {
      meanFlow = v;
      return this;
    }

    public Builder attention(AttentionConfig v) {
      attention = v;
      return this;
    }

    public Builder idealResolution(String v) {
      idealResolution = v;
      return this;
    }

    public Builder idealTask(String v) {
      idealTask = v;
      return this;
    }

    /** Validates; {@link IllegalArgumentException} names the offending field. */
    public DitConfig build() {
      return new DitConfig(this);
    }
  }
}
