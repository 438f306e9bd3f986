package dev.reelflow.engine.text;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.weights.TorchCheckpoint;
import dev.reelflow.engine.weights.WeightCheck;
import dev.reelflow.engine.weights.WeightSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The glyph encoder of the official pipeline on the engine's {@link Backend}: byT5-small's T5
 * encoder stack (embedding; per layer T5 layer norm, self-attention without score scaling and with
 * the relative position bias of layer 0 shared by all layers, T5 layer norm, gated-GELU
 * feed-forward with the tanh GELU; final layer norm) with the Glyph-SDXL-v2 weights, in float32 as
 * the official pipeline runs it. Its features feed the transformer's {@code byt5_in} mapper.
 *
 * <p>From a checkpoint folder: the architecture from {@code text_encoder/byt5-small/config.json};
 * the weights from {@code text_encoder/Glyph-SDXL-v2/checkpoints/byt5_model.pt} (a pickled state
 * dict read by {@link TorchCheckpoint}, which allows only what a state dict needs) or a safetensors
 * conversion {@code byt5_model.safetensors} beside it; the colour and font tokens from its {@code
 * assets/} ({@link GlyphTokenizer}), which fix the embedding's rows. Loading is strict.
 */
public final class GlyphEncoder implements AutoCloseable {
  private final T5Config config;
  private final WeightSet weights;
  private final GlyphTokenizer tokenizer;
  private final Backend backend;
  private final float[] relativeBias; // [buckets, heads]
  private final String id;

  GlyphEncoder(
      T5Config config, WeightSet weights, GlyphTokenizer tokenizer, Backend backend, String id) {
    if (tokenizer.vocab() != config.vocab()) {
      throw new IllegalArgumentException(
          "the glyph tokenizer has " + tokenizer.vocab() + " ids, the embedding " + config.vocab());
    }
    this.config = config;
    this.weights = weights;
    this.tokenizer = tokenizer;
    this.backend = backend;
    this.id = id;
    this.relativeBias =
        backend.toArray(
            weights.get("block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
  }

  /** The colour and font tokens of {@code Glyph-SDXL-v2/assets} (both files required). */
  @SuppressWarnings("unchecked")
  public static GlyphTokenizer tokenizer(Path glyphDir) {
    Path colours = glyphDir.resolve("assets").resolve("color_idx.json");
    Path fonts = glyphDir.resolve("assets").resolve("multilingual_10-lang_idx.json");
    Map<String, Object> c = QwenTextModel.readJson(colours);
    Map<String, Object> f = QwenTextModel.readJson(fonts);
    Map<String, Integer> fontIdx = new LinkedHashMap<>();
    for (var e : f.entrySet()) {
      if (!(e.getValue() instanceof Number n)) {
        throw new ModelFolderException(fonts + ": font " + e.getKey() + " has no index");
      }
      fontIdx.put(e.getKey(), n.intValue());
    }
    return new GlyphTokenizer(new ArrayList<>(c.keySet()), fontIdx, GlyphTokenizer.MAX_LENGTH);
  }

  /** {@code byt5_model.safetensors} when present, else {@code byt5_model.pt}. */
  public static Path weightsFile(Path glyphDir) {
    Path ck = glyphDir.resolve("checkpoints");
    Path st = ck.resolve("byt5_model.safetensors");
    if (Files.isRegularFile(st)) {
      return st;
    }
    Path pt = ck.resolve("byt5_model.pt");
    if (!Files.isRegularFile(pt)) {
      throw new ModelFolderException(
          glyphDir + " has no checkpoints/byt5_model.pt (or byt5_model.safetensors)");
    }
    return pt;
  }

  /** The architecture of the folders and the strict check of the weights (headers only). */
  public static WeightCheck check(Path byt5Dir, Path glyphDir) {
    T5Config c = config(byt5Dir, tokenizer(glyphDir));
    Path f = weightsFile(glyphDir);
    WeightSet.Loader l = WeightSet.loader(c.params());
    if (f.toString().endsWith(".safetensors")) {
      return l.check(List.of(f));
    }
    try (TorchCheckpoint ck = TorchCheckpoint.open(f)) {
      return l.check(f, ck.entries());
    }
  }

  /** The T5 config of {@code byt5-small/config.json} with the tokenizer's embedding rows. */
  public static T5Config config(Path byt5Dir, GlyphTokenizer tokenizer) {
    Path cfg = byt5Dir.resolve("config.json");
    try {
      return T5Config.fromConfig(QwenTextModel.readJson(cfg), tokenizer.vocab());
    } catch (IllegalArgumentException e) {
      throw new ModelFolderException(cfg + ": " + e.getMessage(), e);
    }
  }

  /** Loads the encoder (float32) from {@code text_encoder/byt5-small} and {@code Glyph-SDXL-v2}. */
  public static GlyphEncoder load(Path byt5Dir, Path glyphDir, Backend backend) {
    GlyphTokenizer tok = tokenizer(glyphDir);
    T5Config c = config(byt5Dir, tok);
    Path f = weightsFile(glyphDir);
    WeightSet w;
    if (f.toString().endsWith(".safetensors")) {
      w = WeightSet.load(c.params(), List.of(f), backend, false);
    } else {
      try (TorchCheckpoint ck = TorchCheckpoint.open(f)) {
        WeightCheck check = WeightSet.loader(c.params()).check(f, ck.entries());
        check.throwIfBad();
        Map<String, Tensor> m = new LinkedHashMap<>();
        try {
          for (WeightCheck.Use u : check.consumed()) {
            m.put(u.spec().name(), ck.read(u.spec().name(), backend, false));
          }
        } catch (RuntimeException e) {
          m.values().forEach(Tensor::close);
          throw e;
        }
        w = WeightSet.of(m, f.getFileName().toString());
      }
    }
    return new GlyphEncoder(c, w, tok, backend, "glyph@" + fingerprint(f));
  }

  private static String fingerprint(Path f) {
    try {
      return Long.toHexString(Files.size(f)) + "-" + f.getFileName();
    } catch (IOException e) {
      return f.getFileName().toString();
    }
  }

  public T5Config config() {
    return config;
  }

  public GlyphTokenizer tokenizer() {
    return tokenizer;
  }

  /** {@code glyph@<size>-<file>}. */
  public String id() {
    return id;
  }

  /** Feature width (d_model, 1472). */
  public int dim() {
    return config.dModel();
  }

  /**
   * The glyph features of a prompt's valid tokens, or an empty array when the prompt quotes no text
   * (the official pipeline then passes zeros with a zero mask).
   *
   * @return [tokens, dModel] row-major; tokens = length / dModel
   */
  public float[] encodePrompt(String prompt) {
    List<String> texts = GlyphPrompt.extract(prompt);
    if (texts.isEmpty()) {
      return new float[0];
    }
    return encode(tokenizer.ids(GlyphPrompt.format(texts)), null);
  }

  /**
   * The encoder's last hidden state.
   *
   * @param ids token ids
   * @param mask 1 for a token, 0 for padding (masked as keys); null for all ones
   * @return [ids.length, dModel] row-major
   */
  public float[] encode(int[] ids, int[] mask) {
    int s = ids.length;
    T5Config c = config;
    int d = c.dModel();
    int inner = c.inner();
    Backend b = backend;
    float[] bias = new float[c.heads() * s * s];
    for (int i = 0; i < s; i++) {
      for (int j = 0; j < s; j++) {
        int bucket = c.bucket(j - i);
        boolean masked = mask != null && mask[j] == 0;
        for (int h = 0; h < c.heads(); h++) {
          float v = relativeBias[bucket * c.heads() + h];
          bias[(h * s + i) * s + j] = masked ? v + BiasedAttention.MASKED : v;
        }
      }
    }
    try (Tensor x = b.allocate(s, d);
        Tensor h = b.allocate(s, d);
        Tensor q = b.allocate(s, inner);
        Tensor k = b.allocate(s, inner);
        Tensor v = b.allocate(s, inner);
        Tensor att = b.allocate(s, inner);
        Tensor o = b.allocate(s, d);
        Tensor f0 = b.allocate(s, c.dFf());
        Tensor f1 = b.allocate(s, c.dFf());
        Tensor bt = b.fromArray(bias, c.heads(), s, s)) {
      for (int id : ids) {
        if (id < 0 || id >= c.vocab()) {
          throw new IllegalArgumentException("glyph token id " + id + " outside " + c.vocab());
        }
      }
      b.gatherRows(w("embed_tokens.weight"), ids, x);
      float eps = (float) c.eps();
      for (int l = 0; l < c.layers(); l++) {
        String a = "block." + l + ".layer.0.";
        b.rmsNorm(x, w(a + "layer_norm.weight"), eps, d, h);
        b.linear(h, w(a + "SelfAttention.q.weight"), null, q);
        b.linear(h, w(a + "SelfAttention.k.weight"), null, k);
        b.linear(h, w(a + "SelfAttention.v.weight"), null, v);
        // T5 does not scale the scores (the scale is folded into its initialisation)
        BiasedAttention.run(b, q, k, v, bt, att, s, s, c.heads(), c.heads(), c.dKv(), 1f);
        b.linear(att, w(a + "SelfAttention.o.weight"), null, o);
        b.add(x, o, x);
        String f = "block." + l + ".layer.1.";
        b.rmsNorm(x, w(f + "layer_norm.weight"), eps, d, h);
        b.linear(h, w(f + "DenseReluDense.wi_0.weight"), null, f0);
        b.geluTanh(f0, f0);
        b.linear(h, w(f + "DenseReluDense.wi_1.weight"), null, f1);
        b.mul(f0, f1, f0);
        b.linear(f0, w(f + "DenseReluDense.wo.weight"), null, o);
        b.add(x, o, x);
      }
      b.rmsNorm(x, w("final_layer_norm.weight"), eps, d, h);
      return b.toArray(h);
    }
  }

  private Tensor w(String name) {
    return weights.get(name);
  }

  /** Bytes of the encoder's weights on the backend. */
  public long weightBytes() {
    return weights.bytes();
  }

  @Override
  public void close() {
    weights.close();
  }
}
