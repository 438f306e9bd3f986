package dev.reelflow.engine;

import java.util.Objects;

/**
 * What to generate. Build with {@link #builder()}; defaults follow the reference's 480p T2V
 * settings except the step count (CPU-friendly): negative prompt "", seed 123, 33 frames, 8 steps,
 * guidance 6, shift 5.
 *
 * @param prompt text prompt (any language); quoted spans also feed the glyph path
 * @param negativePrompt unconditional prompt for classifier-free guidance
 * @param seed noise seed; the same seed on the same backend gives bit-identical latents
 * @param width frame width in pixels, a multiple of 16
 * @param height frame height in pixels, a multiple of 16
 * @param frames frame count, 4k+1 (1, 5, ..., 33, ..., 121)
 * @param steps denoising steps
 * @param guidance classifier-free guidance scale; at most 1 disables CFG (one forward per step)
 * @param shift sigma-schedule shift (5 for 480p, 7-9 for 720p in the reference)
 * @param firstFrame optional first frame (the reference image) for image-to-video, or null; any
 *     size: the engine scales it to cover the render size and crops the centre, as the official
 *     pipeline does ({@link dev.reelflow.engine.vision.ReferenceImages#fit})
 */
@EngineApi
public record GenerationSpec(
    String prompt,
    String negativePrompt,
    long seed,
    int width,
    int height,
    int frames,
    int steps,
    double guidance,
    double shift,
    Image firstFrame) {

  /**
   * An RGB image as packed ARGB pixels (alpha ignored), row-major.
   *
   * @param width pixels per row
   * @param height rows
   * @param argb width*height pixels
   */
  public record Image(int width, int height, int[] argb) {
    public Image {
      if (width < 1 || height < 1) {
        throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
      }
      if (argb.length != width * height) {
        throw new IllegalArgumentException(
            "image has " + argb.length + " pixels, not " + width + "x" + height);
      }
    }
  }

  public GenerationSpec {
    Objects.requireNonNull(prompt, "prompt");
    negativePrompt = negativePrompt == null ? "" : negativePrompt;
    if (width <= 0 || height <= 0 || width % 16 != 0 || height % 16 != 0) {
      throw new IllegalArgumentException(
          "width and height must be positive multiples of 16, got " + width + "x" + height);
    }
    if (frames < 1 || (frames - 1) % 4 != 0) {
      throw new IllegalArgumentException("frames must be 4k+1 (1, 5, 9, ..., 121), got " + frames);
    }
    if (steps < 1) {
      throw new IllegalArgumentException("steps must be >= 1, got " + steps);
    }
    if (guidance < 0 || shift <= 0) {
      throw new IllegalArgumentException("guidance must be >= 0 and shift > 0");
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builder with the defaults listed on {@link GenerationSpec}. */
  public static final class Builder {
    private String prompt = "";
    private String negativePrompt = "";
    private long seed = 123;
    private int width = 128;
    private int height = 128;
    private int frames = 33;
    private int steps = 8;
    private double guidance = 6;
    private double shift = 5;
    private Image firstFrame;

    public Builder prompt(String v) {
      prompt = v;
      return this;
    }

    public Builder negativePrompt(String v) {
      negativePrompt = v;
      return this;
    }

    public Builder seed(long v) {
      seed = v;
      return this;
    }

    public Builder size(int w, int h) {
      width = w;
      height = h;
      return this;
    }

    public Builder frames(int v) {
      frames = v;
      return this;
    }

    public Builder steps(int v) {
      steps = v;
      return this;
    }

    public Builder guidance(double v) {
      guidance = v;
      return this;
    }

    public Builder shift(double v) {
      shift = v;
      return this;
    }

    public Builder firstFrame(Image v) {
      firstFrame = v;
      return this;
    }

    public GenerationSpec build() {
      return new GenerationSpec(
          prompt, negativePrompt, seed, width, height, frames, steps, guidance, shift, firstFrame);
    }
  }
}
