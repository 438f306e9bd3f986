package dev.reelflow.engine.vision;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.checkpoint.WeightFiles;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.ParamSpec.Init;
import dev.reelflow.engine.weights.WeightSet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SigLIP vision tower of image-to-video (transformers' SiglipVisionModel, as the official
 * pipeline loads it from {@code vision_encoder/siglip/image_encoder} with the image processor of
 * {@code vision_encoder/siglip/feature_extractor}), on the engine's {@link Backend}: patch
 * embedding (a stride-{@code patch} convolution, done as one GEMM over the patches), learned
 * position embeddings, pre-LayerNorm encoder layers (multi-head attention with biased q/k/v/out
 * projections, a gelu-tanh MLP), post-LayerNorm; the output is {@code last_hidden_state}, [tokens,
 * hidden] (729 x 1152 for the released so400m/14).
 *
 * <pre>{@code
 * try (SiglipVisionEncoder siglip = SiglipVisionEncoder.open(folder, backend, true)) {
 *   NativeVideoEngine e = NativeVideoEngine.builder().modelFolder(folder, "480p_i2v")
 *       .visionEncoder(siglip).build();
 * }
 * }</pre>
 *
 * <p>Loading is strict: every tensor of the checkpoint is a parameter of the tower or ignored for a
 * stated reason (the attention-pooling head, whose {@code pooler_output} the pipeline does not
 * read; a text tower when the checkpoint is a whole SiglipModel). The engine owns nothing of it:
 * the caller closes it.
 */
@EngineApi
public final class SiglipVisionEncoder implements VisionEncoder, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SiglipVisionEncoder.class);

  /** The tower's folder under {@code vision_encoder/siglip} (FLUX.1-Redux-dev's layout). */
  public static final String IMAGE_ENCODER = "image_encoder";

  /** The image processor's folder under {@code vision_encoder/siglip}. */
  public static final String FEATURE_EXTRACTOR = "feature_extractor";

  private static final String P = "vision_model.";

  private final SiglipConfig cfg;
  private final SiglipPreprocessor pre;
  private final WeightSet weights;
  private final Backend be;
  private final String id;

  SiglipVisionEncoder(
      SiglipConfig cfg, SiglipPreprocessor pre, WeightSet weights, Backend be, String id) {
    this.cfg = Objects.requireNonNull(cfg);
    this.pre = Objects.requireNonNull(pre);
    this.weights = Objects.requireNonNull(weights);
    this.be = Objects.requireNonNull(be);
    this.id = Objects.requireNonNull(id);
    if (pre.doResize() && (pre.height() != cfg.imageSize() || pre.width() != cfg.imageSize())) {
      throw new IllegalArgumentException(
          "the image processor resizes to "
              + pre.width()
              + "x"
              + pre.height()
              + " but the tower takes "
              + cfg.imageSize()
              + "x"
              + cfg.imageSize()
              + " images (image_size)");
    }
  }

  /** The tower's parameters by checkpoint name (SiglipVisionModel's state dict, no head). */
  public static List<ParamSpec> params(SiglipConfig c) {
    long d = c.hidden();
    List<ParamSpec> p = new ArrayList<>();
    p.add(
        new ParamSpec(
            P + "embeddings.patch_embedding.weight",
            new long[] {d, c.channels(), c.patch(), c.patch()},
            Init.FAN_IN));
    p.add(new ParamSpec(P + "embeddings.patch_embedding.bias", new long[] {d}, Init.ZEROS));
    p.add(
        new ParamSpec(
            P + "embeddings.position_embedding.weight", new long[] {c.tokens(), d}, Init.SMALL));
    for (int i = 0; i < c.layers(); i++) {
      String l = P + "encoder.layers." + i + ".";
      norm(p, l + "layer_norm1", d);
      for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
        linear(p, l + "self_attn." + proj, d, d);
      }
      norm(p, l + "layer_norm2", d);
      linear(p, l + "mlp.fc1", c.intermediate(), d);
      linear(p, l + "mlp.fc2", d, c.intermediate());
    }
    norm(p, P + "post_layernorm", d);
    return p;
  }

  private static void norm(List<ParamSpec> p, String name, long d) {
    p.add(new ParamSpec(name + ".weight", new long[] {d}, Init.ONES));
    p.add(new ParamSpec(name + ".bias", new long[] {d}, Init.ZEROS));
  }

  private static void linear(List<ParamSpec> p, String name, long out, long in) {
    p.add(new ParamSpec(name + ".weight", new long[] {out, in}, Init.FAN_IN));
    p.add(new ParamSpec(name + ".bias", new long[] {out}, Init.ZEROS));
  }

  /** The strict loader of the tower, with the ignore rules for what the pipeline does not use. */
  public static WeightSet.Loader loader(SiglipConfig c) {
    return WeightSet.loader(params(c))
        .ignore(
            "vision_model\\.head\\..*",
            "SigLIP's attention-pooling head (pooler_output): the pipeline reads last_hidden_state")
        .ignore(
            "vision_model\\.embeddings\\.position_ids",
            "the position-id buffer 0..tokens-1 older checkpoints store; recomputed")
        .ignore(
            "text_model\\..*|logit_scale|logit_bias",
            "SigLIP's text tower and contrastive scale: the pipeline encodes images only");
  }

  /** Opens {@code vision_encoder/siglip} of a checkpoint folder; see {@link #open(Path, ...)}. */
  public static SiglipVisionEncoder open(ModelFolder folder, Backend backend, boolean keepHalf) {
    return open(folder.visionEncoder().dir(), backend, keepHalf);
  }

  /**
   * Loads the tower from {@code dir/image_encoder} (config.json and safetensors weights, strictly)
   * with the image processor of {@code dir/feature_extractor/preprocessor_config.json}.
   *
   * @param keepHalf keep 16-bit linear weights 16-bit (CPU backend: half the memory)
   * @throws ModelFolderException naming the file when a folder, config or file is missing or bad
   * @throws dev.reelflow.engine.weights.WeightLoadException naming the tensors when the weights do
   *     not match the config
   */
  public static SiglipVisionEncoder open(Path dir, Backend backend, boolean keepHalf) {
    Path enc = dir.resolve(IMAGE_ENCODER);
    Path fe = dir.resolve(FEATURE_EXTRACTOR).resolve("preprocessor_config.json");
    if (!Files.isDirectory(enc) || !Files.isRegularFile(fe)) {
      throw new ModelFolderException(
          dir
              + " needs "
              + IMAGE_ENCODER
              + "/ (config.json and weights) and "
              + FEATURE_EXTRACTOR
              + "/preprocessor_config.json: download FLUX.1-Redux-dev into it, as the official"
              + " checkpoints-download.md says");
    }
    SiglipConfig cfg;
    SiglipPreprocessor pre;
    try {
      cfg =
          SiglipConfig.fromJson(
              enc.resolve("config.json").toString(), json(enc.resolve("config.json")));
      pre = SiglipPreprocessor.fromJson(fe.toString(), json(fe));
    } catch (IllegalArgumentException e) {
      throw new ModelFolderException(e.getMessage(), e);
    }
    WeightFiles files = WeightFiles.in(enc);
    if (!files.problems().isEmpty()) {
      throw new ModelFolderException(enc + ": " + String.join("; ", files.problems()));
    }
    WeightSet w = loader(cfg).keepHalf(keepHalf).load(files.files(), backend);
    try {
      SiglipVisionEncoder s =
          new SiglipVisionEncoder(cfg, pre, w, backend, "siglip@" + files.fingerprint());
      LOG.info(
          "SigLIP vision encoder {}: {} layers, hidden {}, {} tokens, {}M parameters, {}",
          s.id,
          cfg.layers(),
          cfg.hidden(),
          cfg.tokens(),
          cfg.parameterCount() / 1_000_000,
          backend.device());
      return s;
    } catch (RuntimeException e) {
      w.close();
      throw new ModelFolderException(dir + ": " + e.getMessage(), e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> json(Path f) {
    try {
      Object o = Json.parse(Files.readString(f, StandardCharsets.UTF_8));
      if (o instanceof Map<?, ?> m) {
        return (Map<String, Object>) m;
      }
      throw new ModelFolderException(f + " is not a JSON object");
    } catch (IOException | IllegalArgumentException e) {
      throw new ModelFolderException(f + " is not readable JSON: " + e.getMessage(), e);
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public int dim() {
    return cfg.hidden();
  }

  @Override
  public int tokens() {
    return cfg.tokens();
  }

  public SiglipConfig config() {
    return cfg;
  }

  /** The image processor's pixels, then the tower: {@code last_hidden_state} [tokens, hidden]. */
  @Override
  public float[] encode(GenerationSpec.Image image) {
    return encodePixels(pre.apply(image));
  }

  /** The tower on processed pixels [channels, imageSize, imageSize]. */
  float[] encodePixels(float[] pixels) {
    try (Tensor h = embed(pixels)) {
      int n = cfg.tokens();
      int d = cfg.hidden();
      try (Tensor norm = be.allocate(n, d);
          Tensor q = be.allocate(n, d);
          Tensor k = be.allocate(n, d);
          Tensor v = be.allocate(n, d);
          Tensor attn = be.allocate(n, d);
          Tensor o = be.allocate(n, d);
          Tensor mid = be.allocate(n, cfg.intermediate())) {
        float eps = (float) cfg.layerNormEps();
        float scale = (float) (1.0 / Math.sqrt(cfg.headDim()));
        for (int i = 0; i < cfg.layers(); i++) {
          String l = P + "encoder.layers." + i + ".";
          be.layerNorm(h, w(l + "layer_norm1.weight"), w(l + "layer_norm1.bias"), eps, d, norm);
          lin(norm, l + "self_attn.q_proj", q);
          lin(norm, l + "self_attn.k_proj", k);
          lin(norm, l + "self_attn.v_proj", v);
          be.attention(q, k, v, attn, cfg.heads(), cfg.headDim(), scale);
          lin(attn, l + "self_attn.out_proj", o);
          be.add(h, o, h);
          be.layerNorm(h, w(l + "layer_norm2.weight"), w(l + "layer_norm2.bias"), eps, d, norm);
          lin(norm, l + "mlp.fc1", mid);
          if (cfg.tanhGelu()) {
            be.geluTanh(mid, mid);
          } else {
            be.gelu(mid, mid);
          }
          lin(mid, l + "mlp.fc2", o);
          be.add(h, o, h);
        }
        be.layerNorm(h, w(P + "post_layernorm.weight"), w(P + "post_layernorm.bias"), eps, d, norm);
        return be.toArray(norm);
      }
    }
  }

  /** Patch embedding (the convolution as a GEMM over row-major patches) plus positions. */
  Tensor embed(float[] pixels) {
    int s = cfg.imageSize();
    int p = cfg.patch();
    int c = cfg.channels();
    if (pixels.length != c * s * s) {
      throw new IllegalArgumentException(
          "pixels hold " + pixels.length + " values, not " + c + "x" + s + "x" + s);
    }
    int g = s / p;
    int cols = c * p * p;
    float[] patches = new float[g * g * cols];
    for (int gy = 0; gy < g; gy++) {
      for (int gx = 0; gx < g; gx++) {
        int row = (gy * g + gx) * cols;
        for (int ch = 0; ch < c; ch++) {
          for (int ky = 0; ky < p; ky++) {
            System.arraycopy(
                pixels, (ch * s + gy * p + ky) * s + gx * p, patches, row + (ch * p + ky) * p, p);
          }
        }
      }
    }
    Tensor out = be.allocate(cfg.tokens(), cfg.hidden());
    try (Tensor x = be.fromArray(patches, g * g, cols)) {
      Tensor conv = w(P + "embeddings.patch_embedding.weight");
      be.linear(x, conv.view(cfg.hidden(), cols), w(P + "embeddings.patch_embedding.bias"), out);
      be.add(out, w(P + "embeddings.position_embedding.weight"), out);
      return out;
    } catch (RuntimeException e) {
      out.close();
      throw e;
    }
  }

  private Tensor w(String name) {
    return weights.get(name);
  }

  private void lin(Tensor x, String name, Tensor out) {
    be.linear(x, w(name + ".weight"), w(name + ".bias"), out);
  }

  /** Bytes of the tower's weights on the backend. */
  public long weightBytes() {
    return weights.bytes();
  }

  @Override
  public void close() {
    weights.close();
  }

  @Override
  public String toString() {
    return "SiglipVisionEncoder[" + id + ", " + cfg + "]";
  }
}
