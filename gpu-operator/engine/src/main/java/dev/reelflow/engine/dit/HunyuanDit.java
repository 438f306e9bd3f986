package dev.reelflow.engine.dit;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.attention.SstaAttention;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.ParamSpec.Init;
import dev.reelflow.engine.weights.WeightSet;
import java.util.ArrayList;
import java.util.List;

/**
 * The HunyuanVideo-1.5-style diffusion transformer: patch embedding of [latents | condition | mask]
 * (65 channels), sinusoidal timestep embedding, text token refiner and glyph mapper, dual-stream
 * (MMDiT) blocks with AdaLN-Zero modulation, per-head RMS QK-norm, 3D RoPE on video tokens and one
 * joint attention over [video | text], gelu-tanh MLPs, and the final layer to the latent channels.
 * Parameter names follow the official checkpoints (double_blocks.N.img_attn_q,
 * txt_in.individual_token_refiner..., final_layer.adaLN_modulation.1, ...).
 *
 * <p>Several samples (e.g. the unconditional and conditional halves of classifier-free guidance)
 * run in one forward: all row-wise layers see the rows of every sample at once; attention runs per
 * sample because text lengths differ.
 */
public final class HunyuanDit {
  private static final float EPS = 1e-6f;

  private final DitConfig cfg;
  private final WeightSet w;
  private final Backend be;
  private final AttentionConfig attention;
  private final SstaAttention ssta;
  private volatile SstaAttention.Stats lastSsta;

  public HunyuanDit(DitConfig cfg, WeightSet weights, Backend backend, AttentionConfig attention) {
    this.cfg = cfg;
    this.w = weights;
    this.be = backend;
    this.attention = attention;
    this.ssta = new SstaAttention(attention);
  }

  public DitConfig config() {
    return cfg;
  }

  /** Statistics of the last SSTA call (null in dense mode). */
  public SstaAttention.Stats lastSstaStats() {
    return lastSsta;
  }

  // ------------------------------------------------------------------ parameters

  private static void linear(
      List<ParamSpec> p, String name, int out, int in, boolean bias, Init i) {
    p.add(new ParamSpec(name + ".weight", new long[] {out, in}, i));
    if (bias) {
      p.add(new ParamSpec(name + ".bias", new long[] {out}, Init.ZEROS));
    }
  }

  /** Every parameter of the model with its checkpoint name and shape. */
  public static List<ParamSpec> params(DitConfig c) {
    List<ParamSpec> p = new ArrayList<>();
    int h = c.hidden();
    int mlp = h * c.mlpRatio();
    int hd = c.headDim();
    p.add(
        new ParamSpec("img_in.proj.weight", new long[] {h, c.inChannels(), 1, 1, 1}, Init.FAN_IN));
    p.add(new ParamSpec("img_in.proj.bias", new long[] {h}, Init.ZEROS));
    linear(p, "time_in.mlp.0", h, 256, true, Init.FAN_IN);
    linear(p, "time_in.mlp.2", h, h, true, Init.FAN_IN);
    // text: SingleTokenRefiner
    linear(p, "txt_in.input_embedder", h, c.textDim(), true, Init.FAN_IN);
    linear(p, "txt_in.t_embedder.mlp.0", h, 256, true, Init.FAN_IN);
    linear(p, "txt_in.t_embedder.mlp.2", h, h, true, Init.FAN_IN);
    linear(p, "txt_in.c_embedder.linear_1", h, c.textDim(), true, Init.FAN_IN);
    linear(p, "txt_in.c_embedder.linear_2", h, h, true, Init.FAN_IN);
    for (int i = 0; i < c.refinerDepth(); i++) {
      String b = "txt_in.individual_token_refiner.blocks." + i + ".";
      p.add(new ParamSpec(b + "norm1.weight", new long[] {h}, Init.ONES));
      p.add(new ParamSpec(b + "norm1.bias", new long[] {h}, Init.ZEROS));
      linear(p, b + "self_attn_qkv", 3 * h, h, true, Init.FAN_IN);
      linear(p, b + "self_attn_proj", h, h, true, Init.FAN_IN);
      p.add(new ParamSpec(b + "norm2.weight", new long[] {h}, Init.ONES));
      p.add(new ParamSpec(b + "norm2.bias", new long[] {h}, Init.ZEROS));
      linear(p, b + "mlp.fc1", mlp, h, true, Init.FAN_IN);
      linear(p, b + "mlp.fc2", h, mlp, true, Init.FAN_IN);
      linear(p, b + "adaLN_modulation.1", 2 * h, h, true, Init.SMALL);
    }
    // glyph: ByT5Mapper (no residual)
    p.add(new ParamSpec("byt5_in.layernorm.weight", new long[] {c.glyphDim()}, Init.ONES));
    p.add(new ParamSpec("byt5_in.layernorm.bias", new long[] {c.glyphDim()}, Init.ZEROS));
    linear(p, "byt5_in.fc1", c.glyphHidden(), c.glyphDim(), true, Init.FAN_IN);
    linear(p, "byt5_in.fc2", c.glyphHidden(), c.glyphHidden(), true, Init.FAN_IN);
    linear(p, "byt5_in.fc3", h, c.glyphHidden(), true, Init.FAN_IN);
    if (c.visionDim() > 0) {
      int v = c.visionDim();
      p.add(new ParamSpec("vision_in.proj.0.weight", new long[] {v}, Init.ONES));
      p.add(new ParamSpec("vision_in.proj.0.bias", new long[] {v}, Init.ZEROS));
      linear(p, "vision_in.proj.1", v, v, true, Init.FAN_IN);
      linear(p, "vision_in.proj.3", h, v, true, Init.FAN_IN);
      p.add(new ParamSpec("vision_in.proj.4.weight", new long[] {h}, Init.ONES));
      p.add(new ParamSpec("vision_in.proj.4.bias", new long[] {h}, Init.ZEROS));
    }
    p.add(new ParamSpec("cond_type_embedding.weight", new long[] {3, h}, Init.SMALL));
    for (int i = 0; i < c.depth(); i++) {
      for (String s : new String[] {"img", "txt"}) {
        String b = "double_blocks." + i + "." + s;
        linear(p, b + "_mod.linear", 6 * h, h, true, Init.SMALL);
        linear(p, b + "_attn_q", h, h, true, Init.FAN_IN);
        linear(p, b + "_attn_k", h, h, true, Init.FAN_IN);
        linear(p, b + "_attn_v", h, h, true, Init.FAN_IN);
        p.add(new ParamSpec(b + "_attn_q_norm.weight", new long[] {hd}, Init.ONES));
        p.add(new ParamSpec(b + "_attn_k_norm.weight", new long[] {hd}, Init.ONES));
        linear(p, b + "_attn_proj", h, h, true, Init.FAN_IN);
        linear(p, b + "_mlp.fc1", mlp, h, true, Init.FAN_IN);
        linear(p, b + "_mlp.fc2", h, mlp, true, Init.FAN_IN);
      }
    }
    linear(p, "final_layer.linear", c.latentChannels(), h, true, Init.FAN_IN);
    linear(p, "final_layer.adaLN_modulation.1", 2 * h, h, true, Init.SMALL);
    return p;
  }

  // ------------------------------------------------------------------ helpers

  private Tensor wt(String name) {
    return w.get(name);
  }

  private void lin(Tensor x, String name, Tensor out) {
    be.linear(x, wt(name + ".weight"), w.contains(name + ".bias") ? wt(name + ".bias") : null, out);
  }

  /** Sinusoidal embedding of timestep t (256-d): [cos(t f_i) | sin(t f_i)], f_i = 1e4^(-i/128). */
  public static float[] timestepFrequencies(float t) {
    int half = 128;
    float[] e = new float[256];
    for (int i = 0; i < half; i++) {
      float f = (float) Math.exp(-Math.log(10000) * i / half);
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

  // ------------------------------------------------------------------ text

  /** SingleTokenRefiner over one prompt's tokens: returns [tokens, hidden]. */
  Tensor refineText(TextFeatures tf, float t) {
    int h = cfg.hidden();
    int n = tf.tokens();
    int mlp = h * cfg.mlpRatio();
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
      // context: mean over the (valid) tokens through c_embedder, plus the timestep embedding
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

  /** Glyph mapper: LN, fc1, GELU, fc2, GELU, fc3. Returns [glyphTokens, hidden]. */
  Tensor mapGlyph(TextFeatures tf) {
    int n = tf.glyphTokens();
    int gh = cfg.glyphHidden();
    try (Tensor x = be.fromArray(tf.glyph(), n, tf.glyphDim());
        Tensor a = be.allocate(n, gh);
        Tensor b = be.allocate(n, gh)) {
      be.layerNorm(
          x, wt("byt5_in.layernorm.weight"), wt("byt5_in.layernorm.bias"), 1e-5f, tf.glyphDim(), x);
      lin(x, "byt5_in.fc1", a);
      gelu(a);
      lin(a, "byt5_in.fc2", b);
      gelu(b);
      Tensor out = be.allocate(n, cfg.hidden());
      lin(b, "byt5_in.fc3", out);
      return out;
    }
  }

  /** nn.GELU() as in the ByT5 mapper: the exact erf form. */
  private void gelu(Tensor t) {
    be.gelu(t, t);
  }

  /**
   * The text stream of one sample: [glyph tokens | text tokens] with their condition-type
   * embeddings (1 = glyph, 0 = text), as {@code reorder_txt_token} orders valid tokens for T2V.
   */
  Tensor textStream(TextFeatures tf, float t) {
    int h = cfg.hidden();
    Tensor emb = wt("cond_type_embedding.weight");
    try (Tensor txt = refineText(tf, t)) {
      be.addRow(txt, emb.slice(0, h), txt);
      int g = tf.glyphTokens();
      Tensor out = be.allocate(g + tf.tokens(), h);
      if (g > 0) {
        try (Tensor glyph = mapGlyph(tf)) {
          be.addRow(glyph, emb.slice(h, h), glyph);
          be.copy(glyph, 0, out, 0, (long) g * h);
        }
      }
      be.copy(txt, 0, out, (long) g * h, (long) tf.tokens() * h);
      return out;
    }
  }

  // ------------------------------------------------------------------ forward

  /**
   * Predicts the flow-matching velocity for every sample.
   *
   * @param input [2*latent+1, T, H, W]: latents, condition latents and mask (shared by all samples)
   * @param timestep t in [0, 1000]
   * @param texts one text conditioning per sample (e.g. [negative, positive] for CFG)
   * @return [samples, latentChannels, T, H, W]
   */
  public Tensor forward(Tensor input, float timestep, List<TextFeatures> texts) {
    int h = cfg.hidden();
    int[] grid = {(int) input.dim(1), (int) input.dim(2), (int) input.dim(3)};
    int n = grid[0] * grid[1] * grid[2];
    int b = texts.size();
    int[] txtLens = new int[b];
    List<Tensor> streams = new ArrayList<>();
    int totalTxt = 0;
    for (int i = 0; i < b; i++) {
      Tensor s = textStream(texts.get(i), timestep);
      streams.add(s);
      txtLens[i] = (int) s.dim(0);
      totalTxt += txtLens[i];
    }
    float[][] rope = Rope3d.tables(grid, cfg.ropeDims(), cfg.ropeTheta());
    try (Tensor tokensIn = be.allocate(n, cfg.inChannels());
        Tensor img1 = be.allocate(n, h);
        Tensor img = be.allocate((long) b * n, h);
        Tensor txt = be.allocate(totalTxt, h);
        Tensor vec = timeEmbed("time_in", timestep);
        Tensor sv = be.allocate(1, h);
        Tensor cos = be.fromArray(rope[0], n, cfg.headDim() / 2);
        Tensor sin = be.fromArray(rope[1], n, cfg.headDim() / 2)) {
      be.permute(input, new int[] {cfg.inChannels(), n}, new int[] {1, 0}, tokensIn);
      be.linear(
          tokensIn,
          wt("img_in.proj.weight").view(h, cfg.inChannels()),
          wt("img_in.proj.bias"),
          img1);
      for (int i = 0; i < b; i++) {
        be.copy(img1, 0, img, (long) i * n * h, (long) n * h);
      }
      long off = 0;
      for (Tensor s : streams) {
        be.copy(s, 0, txt, off, s.size());
        off += s.size();
        s.close();
      }
      be.silu(vec, sv);
      for (int i = 0; i < cfg.depth(); i++) {
        doubleBlock(i, img, txt, b, txtLens, sv, grid, cos, sin);
      }
      return finalLayer(img, sv, b, grid);
    }
  }

  /** FinalLayer: LN, modulate(shift, scale), Linear; then back to [b, C, T, H, W]. */
  private Tensor finalLayer(Tensor img, Tensor sv, int b, int[] grid) {
    int h = cfg.hidden();
    int n = grid[0] * grid[1] * grid[2];
    int c = cfg.latentChannels();
    try (Tensor mod = be.allocate(1, 2 * h);
        Tensor norm = be.allocate((long) b * n, h);
        Tensor o = be.allocate((long) b * n, c)) {
      lin(sv, "final_layer.adaLN_modulation.1", mod);
      be.layerNorm(img, null, null, EPS, h, norm);
      be.modulate(norm, mod, 0, mod, h, norm);
      lin(norm, "final_layer.linear", o);
      Tensor out = be.allocate(b, c, grid[0], grid[1], grid[2]);
      be.permute(o, new int[] {b, n, c}, new int[] {0, 2, 1}, out);
      return out;
    }
  }

  /**
   * One dual-stream block, in place on img [b*n, hidden] and txt [sum(txtLens), hidden].
   *
   * @param sv SiLU of the conditioning vector, [1, hidden]
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
    int h = cfg.hidden();
    int hd = cfg.headDim();
    int heads = cfg.heads();
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
      be.rmsNorm(iq, wt(p + "img_attn_q_norm.weight"), EPS, hd, iq);
      be.rmsNorm(ik, wt(p + "img_attn_k_norm.weight"), EPS, hd, ik);
      for (int i = 0; i < b; i++) {
        Tensor qs = iq.slice((long) i * n * h, n, h);
        Tensor ks = ik.slice((long) i * n * h, n, h);
        be.rope(qs, heads, hd, cos, sin, n, qs);
        be.rope(ks, heads, hd, cos, sin, n, ks);
      }
      be.layerNorm(txt, null, null, EPS, h, txtNorm);
      be.modulate(txtNorm, txtMod, 0, txtMod, h, txtNorm);
      lin(txtNorm, p + "txt_attn_q", tq);
      lin(txtNorm, p + "txt_attn_k", tk);
      lin(txtNorm, p + "txt_attn_v", tv);
      be.rmsNorm(tq, wt(p + "txt_attn_q_norm.weight"), EPS, hd, tq);
      be.rmsNorm(tk, wt(p + "txt_attn_k_norm.weight"), EPS, hd, tk);
      // joint attention per sample over [video | text]
      long tOff = 0;
      float scale = (float) (1.0 / Math.sqrt(hd));
      for (int i = 0; i < b; i++) {
        int l = txtLens[i];
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
          if (attention.mode() == AttentionConfig.Mode.SSTA) {
            lastSsta = ssta.attend(be, jq, jk, jv, jo, grid, l, heads, hd, scale);
          } else {
            be.attention(jq, jk, jv, jo, heads, hd, scale);
          }
          be.copy(jo, 0, iAttn, io, (long) n * h);
          be.copy(jo, (long) n * h, tAttn, tOff, (long) l * h);
        }
        tOff += (long) l * h;
      }
      residual(img, iAttn, imgMod, imgNorm, p + "img_");
      residual(txt, tAttn, txtMod, txtNorm, p + "txt_");
    }
  }

  /** x += gate1 * proj(attn); x += gate2 * mlp(modulate(LN(x), shift2, scale2)). */
  private void residual(Tensor x, Tensor attn, Tensor mod, Tensor norm, String p) {
    int h = cfg.hidden();
    long rows = x.dim(0);
    try (Tensor proj = be.allocate(rows, h);
        Tensor hidden = be.allocate(rows, (long) h * cfg.mlpRatio())) {
      lin(attn, p + "attn_proj", proj);
      be.addGated(x, mod, 2L * h, proj);
      be.layerNorm(x, null, null, EPS, h, norm);
      be.modulate(norm, mod, 3L * h, mod, 4L * h, norm);
      lin(norm, p + "mlp.fc1", hidden);
      be.geluTanh(hidden, hidden);
      lin(hidden, p + "mlp.fc2", proj);
      be.addGated(x, mod, 5L * h, proj);
    }
  }
}
