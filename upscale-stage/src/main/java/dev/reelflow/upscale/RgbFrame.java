package dev.reelflow.upscale;

/**
 * One RGB video frame or image: interleaved HWC floats in [0, 255] (float so that a chain of
 * network, resize and quality measurement loses nothing before the final 8-bit encode).
 */
public final class RgbFrame {
  private final int width;
  private final int height;
  private final float[] pixels;

  public RgbFrame(int width, int height, float[] pixels) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("frame size must be positive: " + width + "x" + height);
    }
    if (pixels.length != width * height * 3) {
      throw new IllegalArgumentException(
          "expected "
              + width * height * 3
              + " values for "
              + width
              + "x"
              + height
              + " RGB, got "
              + pixels.length);
    }
    this.width = width;
    this.height = height;
    this.pixels = pixels;
  }

  /** From packed 8-bit RGB (rgb24), as decoders produce. */
  public static RgbFrame fromRgb24(int width, int height, byte[] rgb) {
    float[] p = new float[width * height * 3];
    for (int i = 0; i < p.length; i++) {
      p[i] = rgb[i] & 0xff;
    }
    return new RgbFrame(width, height, p);
  }

  /** To packed 8-bit RGB (rgb24), rounded and clamped. */
  public byte[] toRgb24() {
    byte[] out = new byte[pixels.length];
    for (int i = 0; i < out.length; i++) {
      float v = pixels[i];
      int q = Math.round(v < 0f ? 0f : (v > 255f ? 255f : v));
      out[i] = (byte) q;
    }
    return out;
  }

  public int width() {
    return width;
  }

  public int height() {
    return height;
  }

  /** The backing array (not copied): HWC, [0, 255]. */
  public float[] pixels() {
    return pixels;
  }

  float at(int x, int y, int c) {
    return pixels[(y * width + x) * 3 + c];
  }

  @Override
  public String toString() {
    return "RgbFrame[" + width + "x" + height + "]";
  }
}
