package dev.reelflow.engine.sr;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.GenerationCancelledException;
import dev.reelflow.engine.StepListener;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.sampler.FlowMatchSchedule;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeTiling;
import java.util.Objects;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The official HunyuanVideo-1.5 super-resolution stage (hyvideo/pipelines/
 * hunyuan_video_sr_pipeline.py) on the engine's backend:
 *
 * <ol>
 *   <li>the SR grid: the base size (latent grid x 16) maps to the SR bucket of the closest aspect
 *       ratio ({@link SrBuckets}); latents are that size over the VAE's spatial factor;
 *   <li>the base latents (before decoding) are resized per frame, bilinearly, to the SR grid;
 *   <li>the latent upsampler refines them (float32);
 *   <li>{@code lq = 0.3 lq + 0.7 noise};
 *   <li>the condition {@code [image | mask | lq | ones]} ({@link SrCondition}) joins the latents:
 *       98 transformer input channels for 32 latent channels;
 *   <li>Euler flow-matching steps from pure noise (the variant's steps and shift, no CFG); from the
 *       first step whose timestep is below 700 on, the lq part of the condition is zeroed;
 *   <li>the VAE decodes the result with the official spatial tiling ({@link #decode}).
 * </ol>
 *
 * <p>The SR transformer is a seam, {@link Velocity}: the engine's DiT loaded from {@code
 * transformer/<variant>} in production, a stand-in in the parity tests. Resizing the SR grid (e.g.
 * 1904x1072) to the delivered size (1920x1080) is the caller's, on the decoded frames.
 *
 * <p>Noise: the official pipeline draws the initial latents from a seeded torch generator and the
 * lq noise from torch's global generator; here both come from the request's seed (two streams), or
 * from tensors the request passes in (how the parity tests replay the official run).
 */
@EngineApi
public final class SrStage {
  private static final Logger LOG = LoggerFactory.getLogger(SrStage.class);

  /** The SR transformer: the velocity for an input at a model timestep (sigma x 1000). */
  @FunctionalInterface
  public interface Velocity {
    /**
     * @param input [C + {@link SrCondition#channels}(C), T, H, W]: latents, then the condition
     * @param timestep sigma x 1000 of this step
     * @param nextTimestep sigma x 1000 of the next step, 0 at the last (the mean-flow target {@code
     *     timestep_r} of a model that takes one)
     * @return the velocity [C, T, H, W]; the stage closes it
     */
    Tensor velocity(Tensor input, float timestep, float nextTimestep);
  }

  /**
   * Where the stage works.
   *
   * @param frames latent frames (those of the base latents)
   * @param latentHeight SR latent rows
   * @param latentWidth SR latent columns
   * @param height SR bucket height in pixels (e.g. 1072)
   * @param width SR bucket width in pixels (e.g. 1904)
   * @param officialBucket whether the base size is one of the variant's official base buckets
   *     (otherwise the closest-ratio rule was applied to a size the official code refuses)
   */
  public record Grid(
      int frames,
      int latentHeight,
      int latentWidth,
      int height,
      int width,
      boolean officialBucket) {}

  /**
   * One SR run.
   *
   * @param baseLatents the base stage's latents [C, T, h, w] as sampled (before the VAE's scaling)
   * @param seed seeds the initial noise and the lq noise
   * @param imageLatents I2V reference latents [C, 1, H, W] on the SR grid (the VAE encoder's mean
   *     times the scaling factor), or null for T2V
   * @param noise initial latents [C, T, H, W] to use instead of seeded noise, or null
   * @param lqNoise the noise mixed into lq [C, T, H, W] instead of seeded noise, or null
   */
  public record Request(
      Tensor baseLatents, long seed, Tensor imageLatents, Tensor noise, Tensor lqNoise) {
    public Request {
      Objects.requireNonNull(baseLatents, "baseLatents");
      if (baseLatents.rank() != 4) {
        throw new IllegalArgumentException(
            "base latents must be [C, T, h, w], got "
                + java.util.Arrays.toString(baseLatents.shape()));
      }
    }

    public static Request of(Tensor baseLatents, long seed) {
      return new Request(baseLatents, seed, null, null, null);
    }
  }

  private final Backend be;
  private final SrVariant variant;
  private final LatentUpsampler upsampler;
  private final CausalVae vae;
  private final Velocity velocity;
  private final VaeTiling tiling;
  private final int steps;
  private final double shift;
  private final int lrBase;
  private final int hrBase;

  private SrStage(Builder b) {
    this.be = Objects.requireNonNull(b.backend, "backend");
    this.variant = b.variant;
    this.upsampler = Objects.requireNonNull(b.upsampler, "upsampler");
    this.vae = Objects.requireNonNull(b.vae, "vae");
    this.velocity = Objects.requireNonNull(b.velocity, "velocity");
    this.tiling = b.tiling;
    this.steps = b.steps > 0 ? b.steps : variant.steps();
    this.shift = b.shift > 0 ? b.shift : variant.shift();
    this.lrBase = b.lrBase > 0 ? b.lrBase : variant.lrBaseSize();
    this.hrBase = b.hrBase > 0 ? b.hrBase : variant.hrBaseSize();
  }

  public static Builder builder() {
    return new Builder();
  }

  public SrVariant variant() {
    return variant;
  }

  public int steps() {
    return steps;
  }

  public double shift() {
    return shift;
  }

  /** The shifted sigmas, steps + 1 of them from 1 to 0. */
  public float[] sigmas() {
    return FlowMatchSchedule.sigmas(steps, shift);
  }

  /** The SR grid for base latents of T frames and h x w latent pixels. */
  public Grid grid(int frames, int latentHeight, int latentWidth) {
    // the official code takes the base size as latents x 16, whatever the VAE's factor
    int lrW = latentWidth * SrBuckets.PATCH;
    int lrH = latentHeight * SrBuckets.PATCH;
    int[] hr = SrBuckets.hrSize(lrW, lrH, hrBase);
    int s = vae.config().spatialFactor();
    return new Grid(
        frames, hr[1] / s, hr[0] / s, hr[1], hr[0], SrBuckets.isBucket(lrW, lrH, lrBase));
  }

  /**
   * Steps 1-6: the final SR latents [C, T, H, W] (the caller closes them).
   *
   * @throws GenerationCancelledException when the listener stops the run
   */
  public Tensor denoise(Request req, StepListener listener) {
    StepListener cb = listener == null ? StepListener.none() : listener;
    Tensor base = req.baseLatents();
    int c = vae.config().latentChannels();
    if (base.dim(0) != c) {
      throw new IllegalArgumentException(
          "base latents have " + base.dim(0) + " channels, the VAE " + c);
    }
    Grid g = grid((int) base.dim(1), (int) base.dim(2), (int) base.dim(3));
    long[] shape = {c, g.frames(), g.latentHeight(), g.latentWidth()};
    long plane = (long) g.frames() * g.latentHeight() * g.latentWidth();
    LOG.info(
        "SR {}: base {}x{}x{} latents -> {}x{} ({} latents), {} steps, shift {}{}",
        variant.folder(),
        base.dim(1),
        base.dim(2),
        base.dim(3),
        g.width(),
        g.height(),
        g.frames() + "x" + g.latentHeight() + "x" + g.latentWidth(),
        steps,
        shift,
        g.officialBucket() ? "" : " (base size off the official buckets: closest ratio)");
    SplittableRandom rnd = new SplittableRandom(req.seed());
    Tensor x = given(req.noise(), shape, "noise");
    if (x == null) {
      x = be.fromArray(gaussian(rnd.split(), (int) (c * plane)), shape);
    }
    Tensor condition = null;
    Tensor input = null;
    try {
      Tensor lq;
      try (Tensor resized = LatentResize.resize(be, base, g.latentHeight(), g.latentWidth())) {
        lq = upsampler.upsample(resized);
      }
      if (!java.util.Arrays.equals(lq.shape(), shape)) {
        long[] got = lq.shape();
        lq.close();
        throw new IllegalArgumentException(
            upsampler.className()
                + " gives "
                + java.util.Arrays.toString(got)
                + ", expected "
                + java.util.Arrays.toString(shape));
      }
      try (Tensor lqNoise = lqNoise(req, shape, rnd)) {
        SrCondition.mixNoise(be, lq, lqNoise, lq);
        condition = SrCondition.build(be, lq, req.imageLatents());
      } finally {
        lq.close();
      }
      int cc = (int) condition.dim(0);
      input = be.allocate(c + cc, g.frames(), g.latentHeight(), g.latentWidth());
      boolean lowRes = true;
      be.copy(condition, 0, input, c * plane, cc * plane);
      float[] sigmas = sigmas();
      for (int i = 0; i < steps; i++) {
        float t = sigmas[i] * 1000f;
        if (lowRes && !SrCondition.usesLowRes(t)) {
          lowRes = false;
          try (Tensor zeroed = SrCondition.withoutLowRes(be, condition, c)) {
            be.copy(zeroed, 0, input, c * plane, cc * plane);
          }
        }
        be.copy(x, 0, input, 0, c * plane);
        try (Tensor v = velocity.velocity(input, t, sigmas[i + 1] * 1000f)) {
          if (!java.util.Arrays.equals(v.shape(), shape)) {
            throw new IllegalStateException(
                "the SR transformer returned "
                    + java.util.Arrays.toString(v.shape())
                    + ", expected "
                    + java.util.Arrays.toString(shape));
          }
          be.axpby(1f, x, sigmas[i + 1] - sigmas[i], v, x);
        }
        try {
          cb.onStep(StepListener.DENOISE, i + 1, steps);
        } catch (RuntimeException e) {
          throw new GenerationCancelledException(i + 1, e);
        }
      }
      Tensor out = x;
      x = null;
      return out;
    } finally {
      if (x != null) {
        x.close();
      }
      if (condition != null) {
        condition.close();
      }
      if (input != null) {
        input.close();
      }
    }
  }

  /** Step 7: decodes SR latents to pixels [3, F, 16H, 16W] in [-1, 1] (not clamped). */
  public Tensor decode(Tensor latents) {
    return vae.decodeLatents(latents, tiling);
  }

  private Tensor lqNoise(Request req, long[] shape, SplittableRandom rnd) {
    Tensor n = given(req.lqNoise(), shape, "lqNoise");
    if (n != null) {
      return n;
    }
    long size = 1;
    for (long d : shape) {
      size *= d;
    }
    return be.fromArray(gaussian(rnd.split(), (int) size), shape);
  }

  /** A copy of a tensor the request passes in, checked against the grid's shape. */
  private Tensor given(Tensor t, long[] shape, String what) {
    if (t == null) {
      return null;
    }
    if (!java.util.Arrays.equals(t.shape(), shape)) {
      throw new IllegalArgumentException(
          what
              + " must be "
              + java.util.Arrays.toString(shape)
              + " on the SR grid, got "
              + java.util.Arrays.toString(t.shape()));
    }
    Tensor copy = be.allocate(shape);
    be.copy(t, 0, copy, 0, t.size());
    return copy;
  }

  /** Standard normal samples (Box-Muller), identical on every backend. */
  private static float[] gaussian(SplittableRandom r, int n) {
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
   * Options: {@code backend}, {@code upsampler}, {@code vae} and {@code velocity} (required);
   * {@code variant} (default {@link SrVariant#SR_1080P}: its steps, shift and bucket bases); {@code
   * tiling} (default {@link VaeTiling#forDeviceMemory} of 0: 128 px, 0.25, as the official code
   * picks without a large GPU); {@code steps}, {@code shift} (override the variant's); {@code
   * bucketBases(lr, hr)} (override the variant's bucket base sizes, e.g. for previews).
   */
  public static final class Builder {
    private Backend backend;
    private SrVariant variant = SrVariant.SR_1080P;
    private LatentUpsampler upsampler;
    private CausalVae vae;
    private Velocity velocity;
    private VaeTiling tiling = VaeTiling.forDeviceMemory(0);
    private int steps;
    private double shift;
    private int lrBase;
    private int hrBase;

    public Builder backend(Backend b) {
      this.backend = b;
      return this;
    }

    public Builder variant(SrVariant v) {
      this.variant = Objects.requireNonNull(v);
      return this;
    }

    public Builder upsampler(LatentUpsampler u) {
      this.upsampler = u;
      return this;
    }

    public Builder vae(CausalVae v) {
      this.vae = v;
      return this;
    }

    public Builder velocity(Velocity v) {
      this.velocity = v;
      return this;
    }

    public Builder tiling(VaeTiling t) {
      this.tiling = Objects.requireNonNull(t);
      return this;
    }

    public Builder steps(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("SR steps must be >= 1");
      }
      this.steps = n;
      return this;
    }

    public Builder shift(double s) {
      if (!(s > 0)) {
        throw new IllegalArgumentException("SR shift must be > 0");
      }
      this.shift = s;
      return this;
    }

    public Builder bucketBases(int lr, int hr) {
      if (lr < SrBuckets.PATCH || hr < SrBuckets.PATCH) {
        throw new IllegalArgumentException("bucket base sizes must be at least 16");
      }
      this.lrBase = lr;
      this.hrBase = hr;
      return this;
    }

    public SrStage build() {
      return new SrStage(this);
    }
  }
}
