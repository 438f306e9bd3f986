package dev.reelflow.engine.dit;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.attention.SstaAttention;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.BlockOffload;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.ParamSpec.Init;
import dev.reelflow.engine.weights.WeightSet;
import java.util.ArrayList;
import java.util.List;

/**
 * The HunyuanVideo-1.5 diffusion transformer ({@code HunyuanVideo_1_5_DiffusionTransformer}), every
 * path its configs can select: patch embedding of the input channels (65 = latents, condition
 * latents and mask; 98 for the SR variants) with any patch size, sinusoidal timestep embedding plus
 * the optional guidance and mean-flow ({@code timestep_r}) embeddings, the text token refiner (or
 * linear text projection), the ByT5 glyph mapper, the SigLIP vision projection, the condition-type
 * embedding, dual-stream (MMDiT) and single-stream blocks with AdaLN-Zero modulation, per-head
 * QK-norm, 3D RoPE on video tokens and one joint attention over [video | text] (dense, or SSTA as
 * the config's {@code attn_mode} says), and the final layer back to latent patches. Parameter names
 * are the official checkpoint's.
 *
 * <p>The text stream is ordered as the official {@code reorder_txt_token} orders it: valid tokens
 * first ([vision (image-to-video) | glyph | text]), then the padding ([vision tokens of a
 * text-to-video sample (their condition-type embedding only) | zeroed glyph and text padding]). In
 * dense attention the padding is masked, so only valid tokens are computed. In SSTA the official
 * code attends over the padded sequence, so the padding that shares the last valid text tile takes
 * part: the stream carries its padding up to that tile's end through every block (later tiles are
 * masked and change no valid token).
 *
 * <p>Several samples (e.g. the unconditional and conditional halves of classifier-free guidance)
 * run in one forward: the row-wise layers see the rows of every sample at once; attention runs per
 * sample because text lengths differ.
 */
public final class HunyuanDit implements AutoCloseable {
  private static final float EPS = 1e-6f;

  private final DitConfig cfg;
  private final WeightSet w;
  private final Backend be;
  private final AttentionConfig attention;
  private final SstaAttention ssta;
  private volatile SstaAttention.Stats lastSsta;
  private BlockOffload offload = BlockOffload.disabled();

  /** The transformer with the attention its config asks for. */
  public HunyuanDit(DitConfig cfg, WeightSet weights, Backend backend) {
    this(cfg, weights, backend, cfg.attention());
  }

  /** The transformer with the given attention in place of the config's. */
  public HunyuanDit(DitConfig cfg, WeightSet weights, Backend backend, AttentionConfig attention) {
    this.cfg = cfg;
    this.w = weights;
    this.be = backend;
    this.attention = attention;
    this.ssta = new SstaAttention(attention);
    if (attention.mode() == AttentionConfig.Mode.SSTA && !cfg.glyph()) {
      // without the glyph reorder upstream keeps the MLLM's padding features in the stream
      throw new IllegalArgumentException(
          "SSTA on a transformer without glyph_byT5_v2 needs the text encoder's padding features,"
              + " which the engine does not carry; use dense attention for "
              + cfg.name());
    }
  }

  public DitConfig config() {
    return cfg;
  }

  /**
   * Streams the blocks' weights from host memory, one block ahead of the compute, instead of
   * keeping all of them on the device (the official low-memory mode, for GPUs smaller than the
   * model; torch backends only). The double blocks come first, then the single blocks.
   */
  public void offloadBlocks() {
    if (offload.enabled()) {
      return;
    }
    List<List<Tensor>> blocks = new ArrayList<>();
    for (int i = 0; i < cfg.depth(); i++) {
      blocks.add(blockWeights("double_blocks." + i + "."));
    }
    for (int i = 0; i < cfg.singleDepth(); i++) {
      blocks.add(blockWeights("single_blocks." + i + "."));
    }
    offload = BlockOffload.of(be, blocks);
  }

  private List<Tensor> blockWeights(String prefix) {
    List<Tensor> out = new ArrayList<>();
    w.all()
        .forEach(
            (name, t) -> {
              if (name.startsWith(prefix)) {
                out.add(t);
              }
            });
    return out;
  }

  /** Releases the offload streams (the weights themselves belong to the WeightSet). */
  @Override
  public void close() {
    offload.close();
    offload = BlockOffload.disabled();
  }

  /** The attention in effect. */
  public AttentionConfig attention() {
    return attention;
  }

  /** Statistics of the last SSTA call (null before any). */
  public SstaAttention.Stats lastSstaStats() {
    return lastSsta;
  }

  // ------------------------------------------------------------------ parameters

  /** A Linear: its weight only ever reaches Backend.linear, so it may stay 16-bit. */
  private static void linear(
      List<ParamSpec> p, String name, int out, int in, boolean bias, Init i) {
    p.add(new ParamSpec(name + ".weight", new long[] {out, in}, i, true));
    if (bias) {
      p.add(new ParamSpec(name + ".bias", new long[] {out}, Init.ZEROS));
    }
  }

  private static void layerNorm(List<ParamSpec> p, String name, int dim) {
    p.add(new ParamSpec(name + ".weight", new long[] {dim}, Init.ONES));
    p.add(new ParamSpec(name + ".bias", new long[] {dim}, Init.ZEROS));
  }

  private static void timestepEmbedder(List<ParamSpec> p, String name, int h) {
    linear(p, name + ".mlp.0", h, 256, true, Init.FAN_IN);
    linear(p, name + ".mlp.2", h, h, true, Init.FAN_IN);
  }

  private static void qkNorm(List<ParamSpec> p, String name, DitConfig c) {
    int hd = c.headDim();
    switch (c.qkNorm()) {
      case RMS -> p.add(new ParamSpec(name + ".weight", new long[] {hd}, Init.ONES));
      case LAYER -> layerNorm(p, name, hd);
      case NONE -> {}
    }
  }

  /** Every parameter of the model with its checkpoint name and shape. */
  public static List<ParamSpec> params(DitConfig c) {
    List<ParamSpec> p = new ArrayList<>();
    int h = c.hidden();
    int mlp = c.mlpHidden();
    int[] ps = c.patch();
    // the patch-embedding Conv3d runs as a Linear over flattened patches: 16-bit storage is fine
    p.add(
        new ParamSpec(
            "img_in.proj.weight",
            new long[] {h, c.inChannels(), ps[0], ps[1], ps[2]},
            Init.FAN_IN,
            true));
    p.add(new ParamSpec("img_in.proj.bias", new long[] {h}, Init.ZEROS));
    timestepEmbedder(p, "time_in", h);
    if (c.guidanceEmbed()) {
      timestepEmbedder(p, "guidance_in", h);
    }
    if (c.meanFlow()) {
      timestepEmbedder(p, "time_r_in", h);
    }
    if (c.textProjection() == DitConfig.TextProjection.LINEAR) {
      linear(p, "txt_in.linear_1", h, c.textDim(), true, Init.FAN_IN);
      linear(p, "txt_in.linear_2", h, h, true, Init.FAN_IN);
    } else {
      // SingleTokenRefiner: its MLP ratio is 4 whatever mlp_width_ratio says (upstream default)
      linear(p, "txt_in.input_embedder", h, c.textDim(), true, Init.FAN_IN);
      timestepEmbedder(p, "txt_in.t_embedder", h);
      linear(p, "txt_in.c_embedder.linear_1", h, c.textDim(), true, Init.FAN_IN);
      linear(p, "txt_in.c_embedder.linear_2", h, h, true, Init.FAN_IN);
      for (int i = 0; i < c.refinerDepth(); i++) {
        String b = "txt_in.individual_token_refiner.blocks." + i + ".";
        layerNorm(p, b + "norm1", h);
        linear(p, b + "self_attn_qkv", 3 * h, h, true, Init.FAN_IN);
        linear(p, b + "self_attn_proj", h, h, true, Init.FAN_IN);
        layerNorm(p, b + "norm2", h);
        linear(p, b + "mlp.fc1", 4 * h, h, true, Init.FAN_IN);
        linear(p, b + "mlp.fc2", h, 4 * h, true, Init.FAN_IN);
        linear(p, b + "adaLN_modulation.1", 2 * h, h, true, Init.SMALL);
      }
    }
    if (c.glyph()) {
      // ByT5Mapper without residual: LN, fc1, GELU, fc2, GELU, fc3
      layerNorm(p, "byt5_in.layernorm", c.glyphDim());
      linear(p, "byt5_in.fc1", c.glyphHidden(), c.glyphDim(), true, Init.FAN_IN);
      linear(p, "byt5_in.fc2", c.glyphHidden(), c.glyphHidden(), true, Init.FAN_IN);
      linear(p, "byt5_in.fc3", h, c.glyphHidden(), true, Init.FAN_IN);
    }
    if (c.visionDim() > 0) {
      int v = c.visionDim();
      layerNorm(p, "vision_in.proj.0", v);
      linear(p, "vision_in.proj.1", v, v, true, Init.FAN_IN);
      linear(p, "vision_in.proj.3", h, v, true, Init.FAN_IN);
      layerNorm(p, "vision_in.proj.4", h);
    }
    if (c.condTypeEmbedding()) {
      p.add(new ParamSpec("cond_type_embedding.weight", new long[] {3, h}, Init.SMALL));
    }
    for (int i = 0; i < c.depth(); i++) {
      for (String s : new String[] {"img", "txt"}) {
        String b = "double_blocks." + i + "." + s;
        linear(p, b + "_mod.linear", 6 * h, h, true, Init.SMALL);
        linear(p, b + "_attn_q", h, h, c.qkvBias(), Init.FAN_IN);
        linear(p, b + "_attn_k", h, h, c.qkvBias(), Init.FAN_IN);
        linear(p, b + "_attn_v", h, h, c.qkvBias(), Init.FAN_IN);
        qkNorm(p, b + "_attn_q_norm", c);
        qkNorm(p, b + "_attn_k_norm", c);
        linear(p, b + "_attn_proj", h, h, c.qkvBias(), Init.FAN_IN);
        linear(p, b + "_mlp.fc1", mlp, h, true, Init.FAN_IN);
        linear(p, b + "_mlp.fc2", h, mlp, true, Init.FAN_IN);
      }
    }
    for (int i = 0; i < c.singleDepth(); i++) {
      String b = "single_blocks." + i + ".";
      linear(p, b + "linear1_q", h, h, true, Init.FAN_IN);
      linear(p, b + "linear1_k", h, h, true, Init.FAN_IN);
      linear(p, b + "linear1_v", h, h, true, Init.FAN_IN);
      linear(p, b + "linear1_mlp", mlp, h, true, Init.FAN_IN);
      linear(p, b + "linear2.fc", h, h + mlp, true, Init.FAN_IN);
      qkNorm(p, b + "q_norm", c);
      qkNorm(p, b + "k_norm", c);
      linear(p, b + "modulation.linear", 3 * h, h, true, Init.SMALL);
    }
    int patchOut = ps[0] * ps[1] * ps[2] * c.latentChannels();
    linear(p, "final_layer.linear", patchOut, h, true, Init.FAN_IN);
    linear(p, "final_layer.adaLN_modulation.1", 2 * h, h, true, Init.SMALL);
    return p;
  }

  /**
   * A strict loader for this config's checkpoint: every declared parameter, plus the tensors the
   * official pipeline never uses, ignored with the reason (the pooled-text embedder {@code
   * vector_in} of a config with {@code text_pool_type}, which the pipeline never feeds).
   */
  public static WeightSet.Loader loader(DitConfig c) {
    WeightSet.Loader l = WeightSet.loader(params(c));
    if (c.textPoolType() != null) {
      l.ignore(
          "vector_in\\..*",
          "the official pipeline passes no pooled text (text_states_2 is None), so the pooled-text"
              + " embedder vector_in is never used");
    }
    return l;
  }

  // ------------------------------------------------------------------ helpers

  private Tensor wt(String name) {
    return w.get(name);
  }

  private void lin(Tensor x, String name, Tensor out) {
    be.linear(x, wt(name + ".weight"), w.contains(name + ".bias") ? wt(name + ".bias") : null, out);
  }

  private void activation(Tensor t) {
    switch (cfg.activation()) {
      case GELU_TANH -> be.geluTanh(t, t);
      case GELU -> be.gelu(t, t);
      case SILU -> be.silu(t, t);
    }
  }

  private void qkNorm(Tensor x, String name) {
    int hd = cfg.headDim();
    switch (cfg.qkNorm()) {
      case RMS -> be.rmsNorm(x, wt(name + ".weight"), EPS, hd, x);
      case LAYER -> be.layerNorm(x, wt(name + ".weight"), wt(name + ".bias"), EPS, hd, x);
      case NONE -> {}
    }
  }

  /**
   * The embedding's frequencies {@code exp(-ln(1e4) * i / 128)}, with the exponent computed in
   * float32 steps as upstream (the exponential itself correctly rounded; torch's vectorised float
   * exp may differ from it by one ulp for some i).
   */
  private static final float[] FREQUENCIES = new float[128];

  static {
    float minusLog = (float) -Math.log(10000);
    for (int i = 0; i < 128; i++) {
      float exponent = (minusLog * i) / 128f;
      FREQUENCIES[i] = (float) Math.exp(exponent);
    }
  }

  /** Sinusoidal embedding of timestep t (256-d): [cos(t f_i) | sin(t f_i)], f_i = 1e4^(-i/128). */
  public static float[] timestepFrequencies(float t) {
    int half = 128;
    float[] e = new float[256];
    for (int i = 0; i < half; i++) {
      float f = FREQUENCIES[i];
      float a = t * f;
      e[i] = (float) Math.cos(a);
      e[half + i] = (float) Math.sin(a);
    }
    return e;
  }

  /** TimestepEmbedder: Linear(256, h), SiLU, Linear(h, h). Returns [1, hidden]. */
  Tensor timeEmbed(String prefix, float t) {
    int h = cfg.hidden();
    try (Tensor f = be.fromArray(timestepFrequencies(t), 1, 256);
        Tensor a = be.allocate(1, h)) {
      lin(f, prefix + ".mlp.0", a);
      be.silu(a, a);
      Tensor out = be.allocate(1, h);
      lin(a, prefix + ".mlp.2", out);
      return out;
    }
  }

  /** The conditioning vector: time_in(t) [+ guidance_in(g)] [+ time_r_in(r)], [1, hidden]. */
  Tensor conditioningVector(DitTimestep step) {
    Tensor vec = timeEmbed("time_in", step.timestep());
    if (cfg.guidanceEmbed()) {
      if (!step.hasGuidance()) {
        vec.close();
        throw new IllegalArgumentException(
            cfg.name() + " has a guidance embedding (guidance_embed): pass the embedded guidance");
      }
      try (Tensor g = timeEmbed("guidance_in", step.guidance())) {
        be.add(vec, g, vec);
      }
    }
    if (step.hasTimestepR()) {
      if (!cfg.meanFlow()) {
        vec.close();
        throw new IllegalArgumentException(
            cfg.name() + " has no mean-flow input (use_meanflow is false): pass no timestep_r");
      }
      try (Tensor r = timeEmbed("time_r_in", step.timestepR())) {
        be.add(vec, r, vec);
      }
    } else if (cfg.meanFlow()) {
      vec.close();
      throw new IllegalArgumentException(
          cfg.name()
              + " is a mean-flow (step-distilled) model: pass timestep_r (the next step's"
              + " timestep, 0 at the last)");
    }
    return vec;
  }

  // ------------------------------------------------------------------ text

  /** SingleTokenRefiner over one prompt's valid tokens: returns [tokens, hidden]. */
  Tensor refineText(TextFeatures tf, float t) {
    int h = cfg.hidden();
    int n = tf.tokens();
    int mlp = 4 * h;
    try (Tensor x = be.fromArray(tf.features(), n, tf.dim());
        Tensor temb = timeEmbed("txt_in.t_embedder", t);
        Tensor c1 = be.allocate(1, h);
        Tensor c = be.allocate(1, h);
        Tensor sc = be.allocate(1, h);
        Tensor gates = be.allocate(1, 2 * h);
        Tensor norm = be.allocate(n, h);
        Tensor qkv = be.allocate(n, 3 * h);
        Tensor split = be.allocate(3, n, h);
        Tensor att = be.allocate(n, h);
        Tensor proj = be.allocate(n, h);
        Tensor m1 = be.allocate(n, mlp)) {
      // context: mean over the valid tokens through c_embedder, plus the timestep embedding
      float[] feats = tf.features();
      float[] mean = new float[tf.dim()];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < tf.dim(); j++) {
          mean[j] += feats[i * tf.dim() + j];
        }
      }
      for (int j = 0; j < mean.length; j++) {
        mean[j] /= n;
      }
      try (Tensor mt = be.fromArray(mean, 1, tf.dim())) {
        lin(mt, "txt_in.c_embedder.linear_1", c1);
      }
      be.silu(c1, c1);
      lin(c1, "txt_in.c_embedder.linear_2", c);
      be.add(c, temb, c);
      be.silu(c, sc);
      Tensor out = be.allocate(n, h);
      lin(x, "txt_in.input_embedder", out);
      int heads = cfg.heads();
      int hd = cfg.headDim();
      for (int i = 0; i < cfg.refinerDepth(); i++) {
        String b = "txt_in.individual_token_refiner.blocks." + i + ".";
        lin(sc, b + "adaLN_modulation.1", gates);
        be.layerNorm(out, wt(b + "norm1.weight"), wt(b + "norm1.bias"), EPS, h, norm);
        lin(norm, b + "self_attn_qkv", qkv);
        // "B L (K H D)": q, k, v are the three contiguous thirds of each row
        be.permute(qkv, new int[] {n, 3, h}, new int[] {1, 0, 2}, split);
        Tensor q = split.slice(0, n, h);
        Tensor k = split.slice((long) n * h, n, h);
        Tensor v = split.slice(2L * n * h, n, h);
        be.attention(q, k, v, att, heads, hd, (float) (1.0 / Math.sqrt(hd)));
        lin(att, b + "self_attn_proj", proj);
        be.addGated(out, gates, 0, proj);
        be.layerNorm(out, wt(b + "norm2.weight"), wt(b + "norm2.bias"), EPS, h, norm);
        lin(norm, b + "mlp.fc1", m1);
        be.silu(m1, m1);
        lin(m1, b + "mlp.fc2", proj);
        be.addGated(out, gates, h, proj);
      }
      return out;
    }
  }

  /** The MLLM tokens through the text projection: [tokens, hidden]. */
  Tensor projectText(TextFeatures tf, float t) {
    if (tf.dim() != cfg.textDim()) {
      throw new IllegalArgumentException(
          "text features are " + tf.dim() + "-d, the model takes " + cfg.textDim());
    }
    if (cfg.textProjection() == DitConfig.TextProjection.SINGLE_REFINER) {
      return refineText(tf, t);
    }
    int h = cfg.hidden();
    try (Tensor x = be.fromArray(tf.features(), tf.tokens(), tf.dim());
        Tensor a = be.allocate(tf.tokens(), h)) {
      lin(x, "txt_in.linear_1", a);
      be.silu(a, a);
      Tensor out = be.allocate(tf.tokens(), h);
      lin(a, "txt_in.linear_2", out);
      return out;
    }
  }

  /** Glyph mapper: LN, fc1, GELU, fc2, GELU, fc3. Returns [glyphTokens, hidden]. */
  Tensor mapGlyph(TextFeatures tf) {
    if (tf.glyphDim() != cfg.glyphDim()) {
      throw new IllegalArgumentException(
          "glyph features are " + tf.glyphDim() + "-d, the model takes " + cfg.glyphDim());
    }
    int n = tf.glyphTokens();
    int gh = cfg.glyphHidden();
    try (Tensor x = be.fromArray(tf.glyph(), n, tf.glyphDim());
        Tensor a = be.allocate(n, gh);
        Tensor b = be.allocate(n, gh)) {
      be.layerNorm(
          x, wt("byt5_in.layernorm.weight"), wt("byt5_in.layernorm.bias"), 1e-5f, tf.glyphDim(), x);
      lin(x, "byt5_in.fc1", a);
      be.gelu(a, a);
      lin(a, "byt5_in.fc2", b);
      be.gelu(b, b);
      Tensor out = be.allocate(n, cfg.hidden());
      lin(b, "byt5_in.fc3", out);
      return out;
    }
  }

  /** VisionProjection: LN, Linear, GELU, Linear, LN. Returns [tokens, hidden]. */
  Tensor projectVision(float[] states, int tokens) {
    int v = cfg.visionDim();
    if (states.length != tokens * v) {
      throw new IllegalArgumentException(
          "vision states hold " + states.length + " values, not " + tokens + " x " + v);
    }
    int h = cfg.hidden();
    try (Tensor x = be.fromArray(states, tokens, v);
        Tensor a = be.allocate(tokens, v)) {
      be.layerNorm(x, wt("vision_in.proj.0.weight"), wt("vision_in.proj.0.bias"), 1e-5f, v, x);
      lin(x, "vision_in.proj.1", a);
      be.gelu(a, a);
      Tensor out = be.allocate(tokens, h);
      lin(a, "vision_in.proj.3", out);
      be.layerNorm(out, wt("vision_in.proj.4.weight"), wt("vision_in.proj.4.bias"), 1e-5f, h, out);
      return out;
    }
  }

  /**
   * One sample's text stream.
   *
   * @param tokens rows [carried, hidden]
   * @param valid leading valid rows
   * @param length the official padded length (vision + glyph + text with padding)
   */
  record TextStream(Tensor tokens, int valid, int length) {}

  /** Builds one sample's text stream in the official order (see the class comment). */
  TextStream textStream(DitCondition c, float t) {
    int h = cfg.hidden();
    TextFeatures tf = c.text();
    Tensor emb = cfg.condTypeEmbedding() ? wt("cond_type_embedding.weight") : null;
    List<Tensor> parts = new ArrayList<>();
    try {
      int visionPad = 0;
      if (cfg.visionDim() > 0) {
        if (c.imageConditioned()) {
          Tensor v = projectVision(c.vision(), c.visionTokens());
          parts.add(v);
          if (emb != null) {
            be.addRow(v, emb.slice(2L * h, h), v);
          }
        } else {
          visionPad = c.visionTokens();
        }
      }
      int glyphValid = 0;
      if (cfg.glyph() && tf.glyphTokens() > 0) {
        Tensor g = mapGlyph(tf);
        parts.add(g);
        glyphValid = tf.glyphTokens();
        if (emb != null) {
          be.addRow(g, emb.slice(h, h), g);
        }
      }
      Tensor txt = projectText(tf, t);
      parts.add(txt);
      if (emb != null) {
        be.addRow(txt, emb.slice(0, h), txt);
      }
      int vision = cfg.visionDim() > 0 && c.imageConditioned() ? c.visionTokens() : 0;
      int valid = vision + glyphValid + tf.tokens();
      int length =
          (cfg.visionDim() > 0 ? c.visionTokens() : 0)
              + (cfg.glyph() ? tf.paddedGlyphTokens() : 0)
              + tf.paddedTokens();
      int carried = carriedTokens(valid, length);
      Tensor out = be.allocate(carried, h);
      long off = 0;
      for (Tensor p : parts) {
        be.copy(p, 0, out, off, p.size());
        off += p.size();
      }
      // padding: a text-to-video sample's vision tokens (0 * vision_in(0) + their type
      // embedding), then the zeroed glyph and text padding
      if (emb != null) {
        for (int i = 0; i < visionPad && valid + i < carried; i++) {
          be.copy(emb, 2L * h, out, (long) (valid + i) * h, h);
        }
      }
      return new TextStream(out, valid, length);
    } finally {
      parts.forEach(Tensor::close);
    }
  }

  /** Text tokens carried through the blocks: the valid ones, plus SSTA's attended padding. */
  int carriedTokens(int valid, int length) {
    if (attention.mode() == AttentionConfig.Mode.DENSE) {
      return valid;
    }
    if (!attention.textMask()) {
      return length;
    }
    int block = attention.blockSize();
    int tiles = Math.max(1, (valid + block - 1) / block);
    return Math.min(length, tiles * block);
  }

  // ------------------------------------------------------------------ forward

  /**
   * Text-to-video convenience: predicts the velocity for every sample with text conditioning only
   * (no mean-flow or guidance input).
   *
   * @param input [inChannels, T, H, W]: latents, condition latents and mask (shared by all)
   * @param timestep t in [0, 1000]
   * @param texts one text conditioning per sample (e.g. [negative, positive] for CFG)
   * @return [samples, latentChannels, T, H, W]
   */
  public Tensor forward(Tensor input, float timestep, List<TextFeatures> texts) {
    List<DitCondition> cs = new ArrayList<>();
    texts.forEach(t -> cs.add(DitCondition.t2v(t)));
    return forward(input, DitTimestep.of(timestep), cs);
  }

  /**
   * Predicts the flow-matching velocity for every sample.
   *
   * @param input [inChannels, T, H, W] (shared by all samples); T, H, W multiples of the patch
   * @param step timestep and the optional mean-flow and guidance inputs
   * @param samples one conditioning per sample (e.g. [negative, positive] for CFG)
   * @return [samples, latentChannels, T, H, W]
   */
  public Tensor forward(Tensor input, DitTimestep step, List<DitCondition> samples) {
    int h = cfg.hidden();
    int[] ps = cfg.patch();
    if (input.rank() != 4 || input.dim(0) != cfg.inChannels()) {
      throw new IllegalArgumentException(
          "transformer input is "
              + java.util.Arrays.toString(input.shape())
              + ", expected ["
              + cfg.inChannels()
              + ", T, H, W]");
    }
    int[] size = {(int) input.dim(1), (int) input.dim(2), (int) input.dim(3)};
    int[] grid = new int[3];
    for (int a = 0; a < 3; a++) {
      if (size[a] % ps[a] != 0) {
        throw new IllegalArgumentException(
            "latent size " + java.util.Arrays.toString(size) + " is not a multiple of the patch");
      }
      grid[a] = size[a] / ps[a];
    }
    int n = grid[0] * grid[1] * grid[2];
    int patchIn = cfg.inChannels() * ps[0] * ps[1] * ps[2];
    int b = samples.size();
    int[] txtLens = new int[b];
    int[] validLens = new int[b];
    int totalTxt = 0;
    List<Tensor> streams = new ArrayList<>();
    float[][] rope = Rope3d.tables(grid, cfg.ropeDims(), cfg.ropeTheta());
    try (Tensor vec = conditioningVector(step)) {
      for (int i = 0; i < b; i++) {
        TextStream s = textStream(samples.get(i), step.timestep());
        streams.add(s.tokens());
        txtLens[i] = (int) s.tokens().dim(0);
        validLens[i] = s.valid();
        totalTxt += txtLens[i];
      }
      try (Tensor tokensIn = be.allocate(n, patchIn);
          Tensor img1 = be.allocate(n, h);
          Tensor img = be.allocate((long) b * n, h);
          Tensor txt = be.allocate(totalTxt, h);
          Tensor sv = be.allocate(1, h);
          Tensor cos = be.fromArray(rope[0], n, cfg.headDim() / 2);
          Tensor sin = be.fromArray(rope[1], n, cfg.headDim() / 2)) {
        // patchify: [C, t pt, h ph, w pw] -> [(t h w), (C pt ph pw)], the conv's weight order
        be.permute(
            input,
            new int[] {cfg.inChannels(), grid[0], ps[0], grid[1], ps[1], grid[2], ps[2]},
            new int[] {1, 3, 5, 0, 2, 4, 6},
            tokensIn);
        be.linear(
            tokensIn, wt("img_in.proj.weight").view(h, patchIn), wt("img_in.proj.bias"), img1);
        for (int i = 0; i < b; i++) {
          be.copy(img1, 0, img, (long) i * n * h, (long) n * h);
        }
        long off = 0;
        for (Tensor s : streams) {
          be.copy(s, 0, txt, off, s.size());
          off += s.size();
        }
        be.silu(vec, sv);
        for (int i = 0; i < cfg.depth(); i++) {
          offload.beforeBlock(i);
          doubleBlock(i, img, txt, b, txtLens, validLens, sv, grid, cos, sin);
          offload.afterBlock(i);
        }
        for (int i = 0; i < cfg.singleDepth(); i++) {
          offload.beforeBlock(cfg.depth() + i);
          singleBlock(i, img, txt, b, txtLens, validLens, sv, grid, cos, sin);
          offload.afterBlock(cfg.depth() + i);
        }
        return finalLayer(img, sv, b, grid);
      }
    } finally {
      streams.forEach(Tensor::close);
    }
  }

  /** FinalLayer: LN, modulate(shift, scale), Linear; then unpatchify to [b, C, T, H, W]. */
  private Tensor finalLayer(Tensor img, Tensor sv, int b, int[] grid) {
    int h = cfg.hidden();
    int n = grid[0] * grid[1] * grid[2];
    int c = cfg.latentChannels();
    int[] ps = cfg.patch();
    int patchOut = c * ps[0] * ps[1] * ps[2];
    try (Tensor mod = be.allocate(1, 2 * h);
        Tensor norm = be.allocate((long) b * n, h);
        Tensor o = be.allocate((long) b * n, patchOut)) {
      lin(sv, "final_layer.adaLN_modulation.1", mod);
      be.layerNorm(img, null, null, EPS, h, norm);
      be.modulate(norm, mod, 0, mod, h, norm);
      lin(norm, "final_layer.linear", o);
      Tensor out =
          be.allocate(b, c, (long) grid[0] * ps[0], (long) grid[1] * ps[1], grid[2] * ps[2]);
      // "n t h w c o p q -> n c (t o) (h p) (w q)"
      be.permute(
          o,
          new int[] {b, grid[0], grid[1], grid[2], c, ps[0], ps[1], ps[2]},
          new int[] {0, 4, 1, 5, 2, 6, 3, 7},
          out);
      return out;
    }
  }

  /**
   * One dual-stream block with every text token valid (see {@link #doubleBlock(int, Tensor, Tensor,
   * int, int[], int[], Tensor, int[], Tensor, Tensor)}).
   */
  public void doubleBlock(
      int index,
      Tensor img,
      Tensor txt,
      int b,
      int[] txtLens,
      Tensor sv,
      int[] grid,
      Tensor cos,
      Tensor sin) {
    doubleBlock(index, img, txt, b, txtLens, txtLens, sv, grid, cos, sin);
  }

  /**
   * One dual-stream block, in place on img [b*n, hidden] and txt [sum(txtLens), hidden].
   *
   * @param txtLens text rows per sample
   * @param validLens leading valid text rows per sample (the rest is padding)
   * @param sv SiLU of the conditioning vector, [1, hidden]
   */
  public void doubleBlock(
      int index,
      Tensor img,
      Tensor txt,
      int b,
      int[] txtLens,
      int[] validLens,
      Tensor sv,
      int[] grid,
      Tensor cos,
      Tensor sin) {
    int h = cfg.hidden();
    int n = grid[0] * grid[1] * grid[2];
    long imgRows = (long) b * n;
    long txtRows = txt.dim(0);
    String p = "double_blocks." + index + ".";
    try (Tensor imgMod = be.allocate(1, 6 * h);
        Tensor txtMod = be.allocate(1, 6 * h);
        Tensor imgNorm = be.allocate(imgRows, h);
        Tensor txtNorm = be.allocate(txtRows, h);
        Tensor iq = be.allocate(imgRows, h);
        Tensor ik = be.allocate(imgRows, h);
        Tensor iv = be.allocate(imgRows, h);
        Tensor tq = be.allocate(txtRows, h);
        Tensor tk = be.allocate(txtRows, h);
        Tensor tv = be.allocate(txtRows, h);
        Tensor iAttn = be.allocate(imgRows, h);
        Tensor tAttn = be.allocate(txtRows, h)) {
      lin(sv, p + "img_mod.linear", imgMod);
      lin(sv, p + "txt_mod.linear", txtMod);
      // modulated inputs and projections
      be.layerNorm(img, null, null, EPS, h, imgNorm);
      be.modulate(imgNorm, imgMod, 0, imgMod, h, imgNorm);
      lin(imgNorm, p + "img_attn_q", iq);
      lin(imgNorm, p + "img_attn_k", ik);
      lin(imgNorm, p + "img_attn_v", iv);
      qkNorm(iq, p + "img_attn_q_norm");
      qkNorm(ik, p + "img_attn_k_norm");
      rope(iq, ik, b, n, cos, sin);
      be.layerNorm(txt, null, null, EPS, h, txtNorm);
      be.modulate(txtNorm, txtMod, 0, txtMod, h, txtNorm);
      lin(txtNorm, p + "txt_attn_q", tq);
      lin(txtNorm, p + "txt_attn_k", tk);
      lin(txtNorm, p + "txt_attn_v", tv);
      qkNorm(tq, p + "txt_attn_q_norm");
      qkNorm(tk, p + "txt_attn_k_norm");
      boolean dense = attention.denseAt(index, cfg.depth());
      jointAttention(iq, ik, iv, tq, tk, tv, iAttn, tAttn, b, n, txtLens, validLens, grid, dense);
      residual(img, iAttn, imgMod, imgNorm, p + "img_");
      residual(txt, tAttn, txtMod, txtNorm, p + "txt_");
    }
  }

  private void rope(Tensor q, Tensor k, int b, int n, Tensor cos, Tensor sin) {
    int h = cfg.hidden();
    for (int i = 0; i < b; i++) {
      Tensor qs = q.slice((long) i * n * h, n, h);
      Tensor ks = k.slice((long) i * n * h, n, h);
      be.rope(qs, cfg.heads(), cfg.headDim(), cos, sin, n, qs);
      be.rope(ks, cfg.heads(), cfg.headDim(), cos, sin, n, ks);
    }
  }

  /**
   * Joint attention per sample over [video | text]. Dense: over the video and the valid text tokens
   * (padding rows get zero, as the official kernels give masked rows); SSTA: over the carried text,
   * padding included where the mask keeps it.
   */
  private void jointAttention(
      Tensor iq,
      Tensor ik,
      Tensor iv,
      Tensor tq,
      Tensor tk,
      Tensor tv,
      Tensor iAttn,
      Tensor tAttn,
      int b,
      int n,
      int[] txtLens,
      int[] validLens,
      int[] grid,
      boolean dense) {
    int h = cfg.hidden();
    int hd = cfg.headDim();
    int heads = cfg.heads();
    float scale = (float) (1.0 / Math.sqrt(hd));
    long tOff = 0;
    for (int i = 0; i < b; i++) {
      int l = dense ? validLens[i] : txtLens[i];
      try (Tensor jq = be.allocate(n + l, h);
          Tensor jk = be.allocate(n + l, h);
          Tensor jv = be.allocate(n + l, h);
          Tensor jo = be.allocate(n + l, h)) {
        long io = (long) i * n * h;
        be.copy(iq, io, jq, 0, (long) n * h);
        be.copy(ik, io, jk, 0, (long) n * h);
        be.copy(iv, io, jv, 0, (long) n * h);
        be.copy(tq, tOff, jq, (long) n * h, (long) l * h);
        be.copy(tk, tOff, jk, (long) n * h, (long) l * h);
        be.copy(tv, tOff, jv, (long) n * h, (long) l * h);
        if (dense) {
          be.attention(jq, jk, jv, jo, heads, hd, scale);
        } else {
          lastSsta = ssta.attend(be, jq, jk, jv, jo, grid, l, validLens[i], heads, hd, scale);
        }
        be.copy(jo, 0, iAttn, io, (long) n * h);
        be.copy(jo, (long) n * h, tAttn, tOff, (long) l * h);
      }
      tOff += (long) txtLens[i] * h;
    }
  }

  /** x += gate1 * proj(attn); x += gate2 * mlp(modulate(LN(x), shift2, scale2)). */
  private void residual(Tensor x, Tensor attn, Tensor mod, Tensor norm, String p) {
    int h = cfg.hidden();
    long rows = x.dim(0);
    try (Tensor proj = be.allocate(rows, h);
        Tensor hidden = be.allocate(rows, cfg.mlpHidden())) {
      lin(attn, p + "attn_proj", proj);
      be.addGated(x, mod, 2L * h, proj);
      be.layerNorm(x, null, null, EPS, h, norm);
      be.modulate(norm, mod, 3L * h, mod, 4L * h, norm);
      lin(norm, p + "mlp.fc1", hidden);
      activation(hidden);
      lin(hidden, p + "mlp.fc2", proj);
      be.addGated(x, mod, 5L * h, proj);
    }
  }

  /**
   * One single-stream block over [video | text], in place: shared modulation (shift, scale, gate),
   * q/k/v and the MLP input from one modulated LN, QK-norm, RoPE on video q/k, joint attention,
   * then {@code linear2([attn | act(mlp)])} gated into the residual.
   */
  void singleBlock(
      int index,
      Tensor img,
      Tensor txt,
      int b,
      int[] txtLens,
      int[] validLens,
      Tensor sv,
      int[] grid,
      Tensor cos,
      Tensor sin) {
    int h = cfg.hidden();
    int mlp = cfg.mlpHidden();
    int n = grid[0] * grid[1] * grid[2];
    long imgRows = (long) b * n;
    long txtRows = txt.dim(0);
    String p = "single_blocks." + index + ".";
    try (Tensor mod = be.allocate(1, 3 * h);
        Tensor iq = be.allocate(imgRows, h);
        Tensor ik = be.allocate(imgRows, h);
        Tensor iv = be.allocate(imgRows, h);
        Tensor tq = be.allocate(txtRows, h);
        Tensor tk = be.allocate(txtRows, h);
        Tensor tv = be.allocate(txtRows, h);
        Tensor iAttn = be.allocate(imgRows, h);
        Tensor tAttn = be.allocate(txtRows, h)) {
      lin(sv, p + "modulation.linear", mod);
      Tensor imgMlp = project(img, mod, p, iq, ik, iv);
      Tensor txtMlp = null;
      try {
        txtMlp = project(txt, mod, p, tq, tk, tv);
        rope(iq, ik, b, n, cos, sin);
        boolean dense = attention.denseAt(index, cfg.singleDepth());
        jointAttention(iq, ik, iv, tq, tk, tv, iAttn, tAttn, b, n, txtLens, validLens, grid, dense);
        output(img, iAttn, imgMlp, mod, p, h, mlp);
        output(txt, tAttn, txtMlp, mod, p, h, mlp);
      } finally {
        imgMlp.close();
        if (txtMlp != null) {
          txtMlp.close();
        }
      }
    }
  }

  /** Modulated LN of x into q, k, v (QK-normed) and the returned MLP input [rows, mlp]. */
  private Tensor project(Tensor x, Tensor mod, String p, Tensor q, Tensor k, Tensor v) {
    int h = cfg.hidden();
    long rows = x.dim(0);
    try (Tensor xm = be.allocate(rows, h)) {
      be.layerNorm(x, null, null, EPS, h, xm);
      be.modulate(xm, mod, 0, mod, h, xm);
      lin(xm, p + "linear1_q", q);
      lin(xm, p + "linear1_k", k);
      lin(xm, p + "linear1_v", v);
      qkNorm(q, p + "q_norm");
      qkNorm(k, p + "k_norm");
      Tensor m = be.allocate(rows, cfg.mlpHidden());
      lin(xm, p + "linear1_mlp", m);
      return m;
    }
  }

  /** x += gate * linear2([attn | act(mlp)]). */
  private void output(Tensor x, Tensor attn, Tensor mlpIn, Tensor mod, String p, int h, int mlp) {
    long rows = x.dim(0);
    if (rows == 0) {
      return;
    }
    activation(mlpIn);
    try (Tensor cat = concatColumns(attn, mlpIn, h, mlp);
        Tensor out = be.allocate(rows, h)) {
      lin(cat, p + "linear2.fc", out);
      be.addGated(x, mod, 2L * h, out);
    }
  }

  /**
   * Row-wise concatenation [a | c] of a [rows, ca] and c [rows, cc]: both are viewed as rows of
   * gcd(ca, cc) columns and interleaved by one row gather.
   */
  private Tensor concatColumns(Tensor a, Tensor c, int ca, int cc) {
    long rows = a.dim(0);
    int g = gcd(ca, cc);
    int pa = ca / g;
    int pc = cc / g;
    try (Tensor both = be.allocate(rows * (pa + pc), g)) {
      be.copy(a, 0, both, 0, rows * ca);
      be.copy(c, 0, both, rows * ca, rows * cc);
      int[] index = new int[Math.toIntExact(rows * (pa + pc))];
      int o = 0;
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < pa; j++) {
          index[o++] = r * pa + j;
        }
        for (int j = 0; j < pc; j++) {
          index[o++] = (int) (rows * pa + (long) r * pc + j);
        }
      }
      Tensor out = be.allocate(rows, ca + cc);
      be.gatherRows(both, index, out.view(rows * (pa + pc), g));
      return out;
    }
  }

  private static int gcd(int a, int b) {
    return b == 0 ? a : gcd(b, a % b);
  }
}
