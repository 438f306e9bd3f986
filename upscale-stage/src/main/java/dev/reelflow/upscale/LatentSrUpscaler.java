package dev.reelflow.upscale;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.sampler.FlowMatchSchedule;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.WeightSet;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * The HunyuanVideo-1.5-style latent super-resolution path (reference notes §5) on the native
 * engine: bilinear resize of the base latents to the high-resolution latent grid, a residual conv
 * latent upsampler, {@code lq = 0.3·lq + 0.7·noise}, a few-step flow-matching SR DiT of the base
 * DiT class conditioned on lq (condition slot + mask, zeroed while t &lt; 700 as the reference
 * does), then the causal VAE decoder.
 *
 * <p>Weights are seeded random (no SR checkpoint is available here), and everything says so: the
 * output is structure, not a picture. Deviation from the reference: the base DiT class takes 65
 * input channels (latents 32, condition 32, mask 1), so lq occupies the condition slot instead of
 * the reference SR checkpoint's separate 98-channel layout.
 */
final class LatentSrUpscaler implements AutoCloseable {
  static final int LATENT = 32;

  /** Called after each denoising step with (step, total); may throw to stop. */
  interface Steps {
    void step(int done, int total);
  }

  /** Decoded result: RGB24 frames of (16·H')×(16·W'). */
  record Output(int width, int height, List<byte[]> frames, int latentHeight, int latentWidth) {}

  private final CpuBackend backend;
  private final DitConfig ditConfig;
  private final VaeConfig vaeConfig;
  private final WeightSet ditWeights;
  private final WeightSet vaeWeights;
  private final WeightSet upWeights;
  private final HunyuanDit dit;
  private final CausalVae vae;
  private final ByteTextEncoder text;
  private final int steps;
  private final double shift;
  private final int hidden;
  private final int blocks;
  private final long weightSeed;
  private final int vaeTile;

  LatentSrUpscaler(String model, int steps, double shift, long weightSeed, int threads) {
    this.backend = new CpuBackend(threads);
    this.ditConfig = DitConfig.named(model);
    this.vaeConfig = model.equals("tiny") ? VaeConfig.tiny() : VaeConfig.reference();
    this.steps = steps;
    this.shift = shift;
    this.weightSeed = weightSeed;
    this.hidden = 64;
    this.blocks = 6;
    this.vaeTile = 16;
    this.ditWeights = WeightSet.random(HunyuanDit.params(ditConfig), backend, weightSeed);
    this.vaeWeights = WeightSet.random(CausalVae.params(vaeConfig), backend, weightSeed + 1);
    this.upWeights =
        WeightSet.random(upsamplerParams(LATENT, hidden, blocks), backend, weightSeed + 2);
    this.dit = new HunyuanDit(ditConfig, ditWeights, backend, AttentionConfig.ssta());
    this.vae = new CausalVae(vaeConfig, vaeWeights, backend);
    this.text = new ByteTextEncoder(ditConfig.textDim(), ditConfig.glyphDim(), 256);
  }

  String modelId() {
    return "hunyuanvideo-1.5-sr-"
        + ditConfig.name()
        + " (latent upsampler + SR DiT + VAE "
        + vaeConfig.name()
        + ")";
  }

  String weightsId() {
    return WeightSet.RANDOM_INIT + " (seed " + weightSeed + ")";
  }

  int steps() {
    return steps;
  }

  /** SRTo720pUpsampler-shaped: conv in → blocks × (3 convs, residual) → conv out, hidden 64. */
  static List<ParamSpec> upsamplerParams(int c, int hidden, int blocks) {
    List<ParamSpec> p = new ArrayList<>();
    p.add(
        new ParamSpec(
            "upsampler.conv_in.weight", new long[] {hidden, c, 3, 3}, ParamSpec.Init.FAN_IN));
    p.add(new ParamSpec("upsampler.conv_in.bias", new long[] {hidden}, ParamSpec.Init.ZEROS));
    for (int b = 0; b < blocks; b++) {
      for (int j = 0; j < 3; j++) {
        String n = "upsampler.blocks." + b + ".conv" + (j + 1);
        p.add(
            new ParamSpec(n + ".weight", new long[] {hidden, hidden, 3, 3}, ParamSpec.Init.FAN_IN));
        p.add(new ParamSpec(n + ".bias", new long[] {hidden}, ParamSpec.Init.ZEROS));
      }
    }
    // zero-initialised output conv: an untrained upsampler passes the resized latents through
    p.add(
        new ParamSpec(
            "upsampler.conv_out.weight", new long[] {c, hidden, 3, 3}, ParamSpec.Init.ZEROS));
    p.add(new ParamSpec("upsampler.conv_out.bias", new long[] {c}, ParamSpec.Init.ZEROS));
    return p;
  }

  /** Encodes RGB24 frames (F = 4k+1, sides multiples of 16) to scaled latents [32, T, h, w]. */
  float[] encode(List<byte[]> frames, int width, int height, int[] shapeOut) {
    int f = frames.size();
    int plane = width * height;
    float[] px = new float[3 * f * plane];
    for (int i = 0; i < f; i++) {
      byte[] rgb = frames.get(i);
      for (int p = 0; p < plane; p++) {
        for (int c = 0; c < 3; c++) {
          px[(c * f + i) * plane + p] = (rgb[p * 3 + c] & 0xff) / 127.5f - 1f;
        }
      }
    }
    try (Tensor x = backend.fromArray(px, 3, f, height, width);
        Tensor lat = vae.encodeLatents(x)) {
      for (int i = 0; i < 4; i++) {
        shapeOut[i] = (int) lat.dim(i);
      }
      return backend.toArray(lat);
    }
  }

  Output upscale(
      float[] latents,
      int t,
      int h,
      int w,
      int targetWidth,
      int targetHeight,
      long seed,
      BooleanSupplier cancelled,
      Steps listener) {
    int s = vaeConfig.spatialFactor();
    int hh = Math.max(1, Math.round((float) targetHeight / s));
    int ww = Math.max(1, Math.round((float) targetWidth / s));
    int c = LATENT;
    long plane = (long) t * hh * ww;
    // 1. bilinear resize to the HR latent grid, laid out [T, C, H', W'] for conv2d
    float[] lq = new float[(int) (c * plane)];
    for (int ch = 0; ch < c; ch++) {
      for (int f = 0; f < t; f++) {
        bilinear(
            latents, ((long) ch * t + f) * h * w, h, w, lq, ((long) f * c + ch) * hh * ww, hh, ww);
      }
    }
    // 2. latent upsampler (fp32 residual conv net)
    float[] up = upsample(lq, t, c, hh, ww);
    // 3. lq = 0.3 lq + 0.7 noise; back to [C, T, H', W']
    SplittableRandom rnd = new SplittableRandom(seed ^ 0x5eed5eedL);
    float[] cond = new float[up.length];
    for (int f = 0; f < t; f++) {
      for (int ch = 0; ch < c; ch++) {
        int src = (f * c + ch) * hh * ww;
        int dst = (ch * t + f) * hh * ww;
        for (int i = 0; i < hh * ww; i++) {
          cond[dst + i] = 0.3f * up[src + i] + 0.7f * (float) gaussian(rnd);
        }
      }
    }
    // 4. few-step flow-matching SR DiT, conditioned on lq
    float[] sigmas = FlowMatchSchedule.sigmas(steps, shift);
    float[] noise = new float[(int) (c * plane)];
    SplittableRandom nr = new SplittableRandom(seed);
    for (int i = 0; i < noise.length; i++) {
      noise[i] = (float) gaussian(nr);
    }
    List<TextFeatures> texts = List.of(text.encode(""));
    float[] ones = new float[(int) plane];
    java.util.Arrays.fill(ones, 1f);
    float[] zeros = new float[(int) (c * plane)];
    try (Tensor x = backend.fromArray(noise, c, t, hh, ww);
        Tensor input = backend.allocate(2L * c + 1, t, hh, ww)) {
      for (int i = 0; i < steps; i++) {
        if (cancelled.getAsBoolean()) {
          throw new UpscaleCancelledException("cancelled between SR denoising steps");
        }
        float timestep = sigmas[i] * 1000f;
        backend.copy(x, 0, input, 0, c * plane);
        boolean useLq = timestep >= 700f;
        backend.write(input, c * plane, useLq ? cond : zeros, 0, (int) (c * plane));
        backend.write(input, 2L * c * plane, useLq ? ones : new float[(int) plane], 0, (int) plane);
        try (Tensor v = dit.forward(input, timestep, texts)) {
          Tensor vel = v.slice(0, c, t, hh, ww);
          backend.axpby(1f, x, sigmas[i + 1] - sigmas[i], vel, x);
        }
        listener.step(i + 1, steps);
      }
      // 5. VAE decode (tiled)
      {
        try (Tensor pixels = vae.decodeLatents(x, new VaeTiling(vaeTile * 16, 0.125))) {
          int frames = (int) pixels.dim(1);
          int ph = (int) pixels.dim(2);
          int pw = (int) pixels.dim(3);
          float[] px = backend.toArray(pixels);
          List<byte[]> out = new ArrayList<>(frames);
          int pl = ph * pw;
          for (int f = 0; f < frames; f++) {
            byte[] rgb = new byte[pl * 3];
            for (int p = 0; p < pl; p++) {
              for (int ch = 0; ch < 3; ch++) {
                float v = Math.max(-1f, Math.min(1f, px[(ch * frames + f) * pl + p]));
                rgb[p * 3 + ch] = (byte) Math.round((v + 1f) * 127.5f);
              }
            }
            out.add(rgb);
          }
          return new Output(pw, ph, out, hh, ww);
        }
      }
    }
  }

  private float[] upsample(float[] x, int n, int c, int h, int w) {
    try (Tensor in = backend.fromArray(x, n, c, h, w);
        Tensor a = backend.allocate(n, hidden, h, w);
        Tensor b = backend.allocate(n, hidden, h, w);
        Tensor r = backend.allocate(n, hidden, h, w);
        Tensor out = backend.allocate(n, c, h, w)) {
      conv(in, "upsampler.conv_in", a);
      backend.silu(a, a);
      for (int i = 0; i < blocks; i++) {
        String p = "upsampler.blocks." + i;
        conv(a, p + ".conv1", b);
        backend.silu(b, b);
        conv(b, p + ".conv2", r);
        backend.silu(r, r);
        conv(r, p + ".conv3", b);
        backend.add(a, b, a);
      }
      conv(a, "upsampler.conv_out", out);
      backend.add(in, out, out);
      return backend.toArray(out);
    }
  }

  private void conv(Tensor x, String name, Tensor out) {
    backend.conv2d(
        x, upWeights.get(name + ".weight"), upWeights.get(name + ".bias"), 1, 1, 1, 1, out);
  }

  /** Bilinear resize (align_corners=False, edge clamp) of one h×w plane. */
  private static void bilinear(
      float[] src, long so, int h, int w, float[] dst, long dOff, int hh, int ww) {
    float sy = (float) h / hh;
    float sx = (float) w / ww;
    for (int y = 0; y < hh; y++) {
      float fy = Math.max(0f, (y + 0.5f) * sy - 0.5f);
      int y0 = Math.min(h - 1, (int) fy);
      int y1 = Math.min(h - 1, y0 + 1);
      float ay = fy - y0;
      for (int x = 0; x < ww; x++) {
        float fx = Math.max(0f, (x + 0.5f) * sx - 0.5f);
        int x0 = Math.min(w - 1, (int) fx);
        int x1 = Math.min(w - 1, x0 + 1);
        float ax = fx - x0;
        float top = src[(int) (so + y0 * w + x0)] * (1 - ax) + src[(int) (so + y0 * w + x1)] * ax;
        float bot = src[(int) (so + y1 * w + x0)] * (1 - ax) + src[(int) (so + y1 * w + x1)] * ax;
        dst[(int) (dOff + (long) y * ww + x)] = top * (1 - ay) + bot * ay;
      }
    }
  }

  private static double gaussian(SplittableRandom r) {
    double u = r.nextDouble();
    double v = r.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
  }

  @Override
  public void close() {
    ditWeights.close();
    vaeWeights.close();
    upWeights.close();
    backend.close();
  }
}
