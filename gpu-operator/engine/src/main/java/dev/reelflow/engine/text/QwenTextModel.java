package dev.reelflow.engine.text;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.checkpoint.WeightFiles;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.WeightCheck;
import dev.reelflow.engine.weights.WeightSet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The decoder of Qwen2.5-VL's language model on the engine's {@link Backend}, run on text to the
 * layer the official text encoder takes: token embedding, then {@link QwenConfig#layersUsed}
 * decoder layers (RMSNorm, grouped-query attention with q/k/v biases and rotary embedding, causal
 * with the prompt's attention mask; RMSNorm, SwiGLU), no final norm.
 *
 * <p>Rotary embedding: for text the multimodal RoPE of Qwen2.5-VL has equal positions on its three
 * axes, which is the 1-D RoPE at positions 0, 1, 2, ... (the official encoder passes no position
 * ids). Qwen rotates the halves of each head ({@code rotate_half}); the engine's {@link
 * Backend#rope} rotates interleaved pairs, so q and k are permuted per head from [2, d/2] to [d/2,
 * 2] first: the same permutation on both leaves every dot product, and so the attention, unchanged.
 *
 * <p>Weights: strict loading from {@code text_encoder/llm} (sharded safetensors and index); the
 * vision tower, the layers after the cut, the final norm and the head are ignored with their
 * reasons; 16-bit linear weights stay 16-bit where the backend keeps them; the token embedding is
 * read row by row from its file ({@link EmbeddingRows}).
 */
public final class QwenTextModel implements AutoCloseable {
  private final QwenConfig config;
  private final WeightSet weights;
  private final EmbeddingRows embedding;
  private final Backend backend;
  private final String id;

  QwenTextModel(
      QwenConfig config, WeightSet weights, EmbeddingRows embedding, Backend backend, String id) {
    this.config = config;
    this.weights = weights;
    this.embedding = embedding;
    this.backend = backend;
    this.id = id;
    if (embedding.rows() != config.vocab() || embedding.cols() != config.hidden()) {
      throw new IllegalArgumentException(
          "embedding [" + embedding.rows() + ", " + embedding.cols() + "] for " + config);
    }
  }

  /**
   * The strict loader of a {@code text_encoder/llm} folder's tensors (embedding included, for the
   * header check; {@link #load} reads the embedding from its file instead).
   */
  public static WeightSet.Loader loader(QwenConfig c) {
    List<ParamSpec> specs = new ArrayList<>(c.layerParams());
    specs.add(c.embedParam());
    WeightSet.Loader l = WeightSet.loader(specs);
    c.ignoreRules().forEach((regex, reason) -> l.ignore(regex, reason));
    return l;
  }

  /** The config of a {@code text_encoder/llm} folder (config.json and the tensor names). */
  public static QwenConfig config(Path dir) {
    WeightFiles wf = WeightFiles.in(dir);
    return QwenConfig.fromConfig(readJson(dir.resolve("config.json")), prefix(wf));
  }

  /**
   * Loads {@code text_encoder/llm}: config.json, the weights strictly.
   *
   * @param keepHalf keep 16-bit linear weights 16-bit
   */
  public static QwenTextModel load(Path dir, Backend backend, boolean keepHalf) {
    WeightFiles wf = WeightFiles.in(dir);
    if (!wf.problems().isEmpty()) {
      throw new ModelFolderException(dir + ": " + String.join("; ", wf.problems()));
    }
    QwenConfig c;
    try {
      c = QwenConfig.fromConfig(readJson(dir.resolve("config.json")), prefix(wf));
    } catch (IllegalArgumentException e) {
      throw new ModelFolderException(dir.resolve("config.json") + ": " + e.getMessage(), e);
    }
    WeightCheck check = loader(c).check(wf.files());
    check.throwIfBad();
    Path embedFile = null;
    for (WeightCheck.Use u : check.consumed()) {
      if (u.spec().name().equals(c.embedName())) {
        embedFile = u.file();
      }
    }
    WeightSet.Loader layers = WeightSet.loader(c.layerParams()).keepHalf(keepHalf);
    c.ignoreRules().forEach((regex, reason) -> layers.ignore(regex, reason));
    layers.ignore(
        java.util.regex.Pattern.quote(c.embedName()),
        "the token embedding is read row by row from its file at encode time");
    WeightSet w = layers.load(wf.files(), backend);
    EmbeddingRows e;
    try {
      e = EmbeddingRows.open(embedFile, c.embedName());
    } catch (RuntimeException ex) {
      w.close();
      throw ex;
    }
    String fp = wf.fingerprint();
    return new QwenTextModel(c, w, e, backend, "llm@" + fp.substring(0, Math.min(fp.length(), 19)));
  }

  private static String prefix(WeightFiles wf) {
    List<String> names = new ArrayList<>();
    for (Path f : wf.files()) {
      try (SafetensorsFile sf = SafetensorsFile.open(f)) {
        names.addAll(sf.entries().keySet());
      } catch (IOException e) {
        throw new ModelFolderException("unreadable " + f + ": " + e.getMessage(), e);
      }
    }
    return QwenConfig.detectPrefix(names);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> readJson(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ModelFolderException(file + " is missing");
    }
    try {
      return (Map<String, Object>) Json.parse(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      throw new ModelFolderException(file + " is not readable JSON: " + e.getMessage(), e);
    }
  }

  public QwenConfig config() {
    return config;
  }

  /** {@code llm@sha256:<first hex digits of the folder's fingerprint>}. */
  public String id() {
    return id;
  }

  /**
   * The hidden states after {@link QwenConfig#layersUsed} layers, without the final norm.
   *
   * @param ids token ids
   * @param mask 1 for a token, 0 for padding (keys with 0 are never attended); null for all ones
   * @return [ids.length, hidden] row-major
   */
  public float[] hiddenStates(int[] ids, int[] mask) {
    int s = ids.length;
    if (s == 0) {
      throw new IllegalArgumentException("no tokens");
    }
    if (mask != null && mask.length != s) {
      throw new IllegalArgumentException("mask of " + mask.length + " for " + s + " tokens");
    }
    QwenConfig c = config;
    int hd = c.headDim();
    int qd = c.heads() * hd;
    int kvd = c.kvHeads() * hd;
    Backend b = backend;
    try (Tensor x = b.fromArray(embedding.read(ids), s, c.hidden());
        Tensor h = b.allocate(s, c.hidden());
        Tensor q = b.allocate(s, qd);
        Tensor k = b.allocate(s, kvd);
        Tensor v = b.allocate(s, kvd);
        Tensor qr = b.allocate(s, qd);
        Tensor kr = b.allocate(s, kvd);
        Tensor att = b.allocate(s, qd);
        Tensor o = b.allocate(s, c.hidden());
        Tensor gate = b.allocate(s, c.intermediate());
        Tensor up = b.allocate(s, c.intermediate());
        Tensor cos = b.fromArray(ropeTable(s, hd, c.ropeTheta(), true), s, hd / 2);
        Tensor sin = b.fromArray(ropeTable(s, hd, c.ropeTheta(), false), s, hd / 2);
        Tensor bias = b.fromArray(causalBias(mask, s), 1, s, s)) {
      float scale = (float) (1.0 / Math.sqrt(hd));
      for (int l = 0; l < c.layersUsed(); l++) {
        String p = c.prefix() + "layers." + l + ".";
        b.rmsNorm(x, w(p + "input_layernorm.weight"), (float) c.eps(), c.hidden(), h);
        b.linear(h, w(p + "self_attn.q_proj.weight"), w(p + "self_attn.q_proj.bias"), q);
        b.linear(h, w(p + "self_attn.k_proj.weight"), w(p + "self_attn.k_proj.bias"), k);
        b.linear(h, w(p + "self_attn.v_proj.weight"), w(p + "self_attn.v_proj.bias"), v);
        // rotate_half layout [2, d/2] -> interleaved pairs [d/2, 2], then the engine's RoPE
        b.permute(q, new int[] {s, c.heads(), 2, hd / 2}, new int[] {0, 1, 3, 2}, qr);
        b.permute(k, new int[] {s, c.kvHeads(), 2, hd / 2}, new int[] {0, 1, 3, 2}, kr);
        b.rope(qr, c.heads(), hd, cos, sin, s, qr);
        b.rope(kr, c.kvHeads(), hd, cos, sin, s, kr);
        BiasedAttention.run(b, qr, kr, v, bias, att, s, s, c.heads(), c.kvHeads(), hd, scale);
        b.linear(att, w(p + "self_attn.o_proj.weight"), null, o);
        b.add(x, o, x);
        b.rmsNorm(x, w(p + "post_attention_layernorm.weight"), (float) c.eps(), c.hidden(), h);
        b.linear(h, w(p + "mlp.gate_proj.weight"), null, gate);
        b.linear(h, w(p + "mlp.up_proj.weight"), null, up);
        b.silu(gate, gate);
        b.mul(gate, up, gate);
        b.linear(gate, w(p + "mlp.down_proj.weight"), null, o);
        b.add(x, o, x);
      }
      return b.toArray(x);
    }
  }

  private Tensor w(String name) {
    return weights.get(name);
  }

  /**
   * cos or sin of {@code position * inv_freq[j]}, [tokens, headDim/2], in float32 as transformers
   * computes them ({@code inv_freq = 1 / theta^(2j/d)}).
   */
  static float[] ropeTable(int tokens, int headDim, double theta, boolean cos) {
    int half = headDim / 2;
    float[] inv = new float[half];
    for (int j = 0; j < half; j++) {
      float exponent = (float) (2 * j) / headDim;
      inv[j] = 1f / (float) Math.pow(theta, exponent);
    }
    float[] t = new float[tokens * half];
    for (int p = 0; p < tokens; p++) {
      for (int j = 0; j < half; j++) {
        float angle = (float) p * inv[j];
        t[p * half + j] = (float) (cos ? Math.cos(angle) : Math.sin(angle));
      }
    }
    return t;
  }

  /** Causal bias with masked keys: 0 where key j <= query i and j is a token, else masked. */
  static float[] causalBias(int[] mask, int s) {
    float[] bias = new float[s * s];
    for (int i = 0; i < s; i++) {
      for (int j = 0; j < s; j++) {
        boolean keep = j <= i && (mask == null || mask[j] != 0);
        bias[i * s + j] = keep ? 0f : BiasedAttention.MASKED;
      }
    }
    return bias;
  }

  /**
   * Bytes of the decoder layers that run and their norms on the backend; the token embedding stays
   * in its file and is read by rows.
   */
  public long weightBytes() {
    return weights.bytes();
  }

  @Override
  public void close() {
    weights.close();
    embedding.close();
  }
}
