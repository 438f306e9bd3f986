package dev.reelflow.engine;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.sampler.FlowMatchSchedule;
import dev.reelflow.engine.sampler.StepListener;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.text.TextEncoder;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The native text/image-to-video engine: text encoder, HunyuanVideo-1.5-style DiT with dense or
 * SSTA attention, flow-matching Euler sampler with classifier-free guidance, causal VAE decoder.
 *
 * <p>Usage:
 *
 * <pre>{@code
 * try (NativeVideoEngine engine = NativeVideoEngine.builder().model("tiny").build()) {
 *   GenerationResult r = engine.generate(
 *       GenerationSpec.builder().prompt("a red fox").size(128, 128).frames(33).steps(8).build(),
 *       (step, total, sigma) -> !cancelled());   // false stops: GenerationCancelledException
 *   r.frames();  r.writeLatents(out);  r.weightsId();  // "random-init" without a checkpoint
 * }
 * }</pre>
 *
 * <p>One engine runs one generation at a time ({@link #generate} is synchronized); it owns its
 * backend unless one was passed in. Without checkpoints, weights are seeded random ({@code
 * weightsId = random-init}) and the frames are noise-like: the pipeline is real, the weights are
 * not.
 */
public final class NativeVideoEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NativeVideoEngine.class);

  private final Backend backend;
  private final boolean ownsBackend;
  private final DitConfig ditConfig;
  private final VaeConfig vaeConfig;
  private final AttentionConfig attention;
  private final TextEncoder text;
  private final WeightSet ditWeights;
  private final WeightSet vaeWeights;
  private final HunyuanDit dit;
  private final CausalVae vae;
  private final VaeTiling vaeTiling;

  private NativeVideoEngine(Builder b) {
    this.ownsBackend = b.backend == null;
    this.backend = b.backend != null ? b.backend : new CpuBackend(b.threads);
    this.ditConfig = b.ditConfig;
    // the real VAE only with the real model sizes; every other config gets the reduced VAE
    this.vaeConfig =
        b.vaeConfig != null
            ? b.vaeConfig
            : (b.ditConfig.hidden() >= 2048 ? VaeConfig.reference() : VaeConfig.tiny());
    this.attention = b.attention;
    this.text =
        b.textEncoder != null
            ? b.textEncoder
            : new ByteTextEncoder(ditConfig.textDim(), ditConfig.glyphDim(), 1000);
    if (text.dim() != ditConfig.textDim() || text.glyphDim() != ditConfig.glyphDim()) {
      throw new IllegalArgumentException(
          "text encoder dims "
              + text.dim()
              + "/"
              + text.glyphDim()
              + " do not match the model's "
              + ditConfig.textDim()
              + "/"
              + ditConfig.glyphDim());
    }
    this.ditWeights =
        b.ditCheckpoint.isEmpty()
            ? WeightSet.random(HunyuanDit.params(ditConfig), backend, b.weightSeed)
            : WeightSet.load(HunyuanDit.params(ditConfig), b.ditCheckpoint, backend, b.keepHalf);
    this.vaeWeights =
        b.vaeCheckpoint.isEmpty()
            ? WeightSet.random(CausalVae.params(vaeConfig), backend, b.weightSeed + 1)
            : WeightSet.load(CausalVae.params(vaeConfig), b.vaeCheckpoint, backend, false);
    this.dit = new HunyuanDit(ditConfig, ditWeights, backend, attention);
    this.vae = new CausalVae(vaeConfig, vaeWeights, backend);
    this.vaeTiling = b.vaeTiling;
    LOG.info(
        "native engine: model={} vae={} attention={} weights={} backend={} text={}",
        modelId(),
        vaeConfig.name(),
        attention,
        weightsId(),
        backend.device(),
        text.id());
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@code hunyuanvideo-1.5-<config>}. */
  public String modelId() {
    return "hunyuanvideo-1.5-" + ditConfig.name();
  }

  /** {@code random-init} if neither DiT nor VAE weights were loaded, else the checkpoint ids. */
  public String weightsId() {
    String d = ditWeights.id();
    String v = vaeWeights.id();
    if (d.equals(WeightSet.RANDOM_INIT) && v.equals(WeightSet.RANDOM_INIT)) {
      return WeightSet.RANDOM_INIT;
    }
    return "dit=" + d + ";vae=" + v;
  }

  public Backend backend() {
    return backend;
  }

  public DitConfig ditConfig() {
    return ditConfig;
  }

  /** Seeded standard-normal noise, identical on every backend. */
  static float[] noise(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i += 2) {
      double u1 = Math.max(r.nextDouble(), 1e-300);
      double u2 = r.nextDouble();
      double rad = Math.sqrt(-2 * Math.log(u1));
      v[i] = (float) (rad * Math.cos(2 * Math.PI * u2));
      if (i + 1 < n) {
        v[i + 1] = (float) (rad * Math.sin(2 * Math.PI * u2));
      }
    }
    return v;
  }

  /**
   * Runs one generation.
   *
   * @param spec what to generate
   * @param listener called after every step with (step, total, sigma); returning false or throwing
   *     stops the run with {@link GenerationCancelledException}
   * @return latents, decoded frames and provenance (model, weights, backend)
   */
  public synchronized GenerationResult generate(GenerationSpec spec, StepListener listener) {
    Objects.requireNonNull(spec, "spec");
    StepListener cb = listener == null ? StepListener.none() : listener;
    int c = ditConfig.latentChannels();
    int t = vaeConfig.latentFrames(spec.frames());
    int h = spec.height() / vaeConfig.spatialFactor();
    int w = spec.width() / vaeConfig.spatialFactor();
    int plane = t * h * w;
    boolean cfg = spec.guidance() > 1.0;
    List<TextFeatures> texts = new ArrayList<>();
    if (cfg) {
      texts.add(text.encode(spec.negativePrompt()));
    }
    texts.add(text.encode(spec.prompt()));
    float[] sigmas = FlowMatchSchedule.sigmas(spec.steps(), spec.shift());
    long t0 = System.nanoTime();
    try (Tensor x = backend.fromArray(noise(spec.seed(), c * plane), c, t, h, w);
        Tensor input = backend.allocate(2L * c + 1, t, h, w)) {
      if (spec.firstFrame() != null) {
        conditionOnFirstFrame(spec.firstFrame(), input, c, t, h, w);
      }
      for (int i = 0; i < spec.steps(); i++) {
        backend.copy(x, 0, input, 0, (long) c * plane);
        try (Tensor v = dit.forward(input, sigmas[i] * 1000f, texts)) {
          Tensor vel = v.slice((long) (texts.size() - 1) * c * plane, c, t, h, w);
          if (cfg) {
            Tensor un = v.slice(0, c, t, h, w);
            float g = (float) spec.guidance();
            // uncond + g * (cond - uncond)
            backend.axpby(g, vel, 1f - g, un, vel);
          }
          backend.axpby(1f, x, sigmas[i + 1] - sigmas[i], vel, x);
        }
        boolean go;
        try {
          go = cb.onStep(i + 1, spec.steps(), sigmas[i + 1]);
        } catch (RuntimeException e) {
          throw new GenerationCancelledException(i + 1, e);
        }
        if (!go) {
          throw new GenerationCancelledException(i + 1, null);
        }
      }
      double stepSeconds = (System.nanoTime() - t0) / 1e9;
      float[] latents = backend.toArray(x);
      long t1 = System.nanoTime();
      List<int[]> frames;
      try (Tensor pixels = vae.decodeLatents(x, vaeTiling)) {
        frames =
            toFrames(backend.toArray(pixels), (int) pixels.dim(1), spec.height(), spec.width());
      }
      double decodeSeconds = (System.nanoTime() - t1) / 1e9;
      return new GenerationResult(
          new long[] {c, t, h, w},
          latents,
          frames,
          spec.width(),
          spec.height(),
          modelId(),
          weightsId(),
          backend.name(),
          backend.device(),
          attention.toString(),
          text.id(),
          stepSeconds,
          decodeSeconds);
    }
  }

  /** I2V: cond[:, 0] = VAE(image) * scaling, mask[0, 0] = 1 (T2V leaves both zero). */
  private void conditionOnFirstFrame(
      GenerationSpec.Image img, Tensor input, int c, int t, int h, int w) {
    int pw = img.width();
    int ph = img.height();
    float[] px = new float[3 * ph * pw];
    for (int i = 0; i < ph * pw; i++) {
      int p = img.argb()[i];
      px[i] = ((p >> 16) & 0xff) / 127.5f - 1f;
      px[ph * pw + i] = ((p >> 8) & 0xff) / 127.5f - 1f;
      px[2 * ph * pw + i] = (p & 0xff) / 127.5f - 1f;
    }
    try (Tensor image = backend.fromArray(px, 3, 1, ph, pw);
        Tensor lat = vae.encodeLatents(image)) {
      long plane = (long) t * h * w;
      long frame = (long) h * w;
      for (int ch = 0; ch < c; ch++) {
        backend.copy(lat, ch * frame, input, (c + ch) * plane, frame);
      }
      float[] ones = new float[(int) frame];
      java.util.Arrays.fill(ones, 1f);
      backend.write(input, 2L * c * plane, ones, 0, ones.length);
    }
  }

  private static List<int[]> toFrames(float[] px, int frames, int height, int width) {
    List<int[]> out = new ArrayList<>(frames);
    int plane = height * width;
    for (int f = 0; f < frames; f++) {
      int[] argb = new int[plane];
      for (int i = 0; i < plane; i++) {
        int r = toByte(px[(0 * frames + f) * plane + i]);
        int g = toByte(px[(1 * frames + f) * plane + i]);
        int b = toByte(px[(2 * frames + f) * plane + i]);
        argb[i] = 0xff000000 | (r << 16) | (g << 8) | b;
      }
      out.add(argb);
    }
    return out;
  }

  private static int toByte(float v) {
    float c = Math.max(-1f, Math.min(1f, v));
    return Math.round((c + 1f) * 127.5f);
  }

  @Override
  public void close() {
    ditWeights.close();
    vaeWeights.close();
    if (ownsBackend) {
      backend.close();
    }
  }

  /**
   * Options: {@code model} (tiny | 480p | 720p, default tiny), {@code attention} (default dense;
   * {@link AttentionConfig#ssta()} for SSTA), {@code backend} (default a new {@link CpuBackend}
   * with {@code threads}, default all processors), {@code ditCheckpoint}/{@code vaeCheckpoint}
   * (safetensors files; default none = seeded random weights with {@code weightSeed}, default 0),
   * {@code keepHalfWeights} (keep bf16/fp16 linear weights 16-bit, default true), {@code vaeTiling}
   * (the official spatial VAE tiling, default 256 px tiles overlapping 0.125, the official choice
   * above 21 GiB), {@code textEncoder}.
   */
  public static final class Builder {
    private Backend backend;
    private int threads = Runtime.getRuntime().availableProcessors();
    private DitConfig ditConfig = DitConfig.tiny();
    private VaeConfig vaeConfig;
    private AttentionConfig attention = AttentionConfig.dense();
    private TextEncoder textEncoder;
    private List<Path> ditCheckpoint = List.of();
    private List<Path> vaeCheckpoint = List.of();
    private long weightSeed = 0;
    private boolean keepHalf = true;
    private VaeTiling vaeTiling = VaeTiling.forDeviceMemory(Long.MAX_VALUE);

    public Builder model(String name) {
      this.ditConfig = DitConfig.named(name);
      return this;
    }

    public Builder model(DitConfig c) {
      this.ditConfig = Objects.requireNonNull(c);
      return this;
    }

    public Builder vae(VaeConfig c) {
      this.vaeConfig = c;
      return this;
    }

    public Builder attention(AttentionConfig a) {
      this.attention = Objects.requireNonNull(a);
      return this;
    }

    public Builder backend(Backend b) {
      this.backend = b;
      return this;
    }

    public Builder threads(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("threads must be >= 1");
      }
      this.threads = n;
      return this;
    }

    public Builder textEncoder(TextEncoder t) {
      this.textEncoder = t;
      return this;
    }

    public Builder ditCheckpoint(List<Path> files) {
      this.ditCheckpoint = List.copyOf(files);
      return this;
    }

    public Builder vaeCheckpoint(List<Path> files) {
      this.vaeCheckpoint = List.copyOf(files);
      return this;
    }

    public Builder weightSeed(long s) {
      this.weightSeed = s;
      return this;
    }

    public Builder keepHalfWeights(boolean k) {
      this.keepHalf = k;
      return this;
    }

    public Builder vaeTiling(VaeTiling tiling) {
      this.vaeTiling = Objects.requireNonNull(tiling);
      return this;
    }

    /** Loads or initialises the weights; fails with WeightLoadException on a bad checkpoint. */
    public NativeVideoEngine build() {
      return new NativeVideoEngine(this);
    }
  }
}
