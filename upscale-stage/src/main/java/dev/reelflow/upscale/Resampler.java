package dev.reelflow.upscale;

/**
 * Separable high-quality resampling of {@link RgbFrame}s: a cubic convolution kernel (Keys, a =
 * -0.5, the "bicubic" of PIL and ImageMagick), widened by the scale factor when shrinking so that
 * down-scaling is anti-aliased. Pixel centres are aligned (half-pixel convention).
 */
final class Resampler {
  private static final double A = -0.5;

  private Resampler() {}

  static RgbFrame resize(RgbFrame in, int width, int height) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("target size must be positive: " + width + "x" + height);
    }
    if (width == in.width() && height == in.height()) {
      return new RgbFrame(width, height, in.pixels().clone());
    }
    // horizontal pass first: in.height rows of the new width
    Weights wx = weights(in.width(), width);
    float[] tmp = new float[in.height() * width * 3];
    float[] src = in.pixels();
    for (int y = 0; y < in.height(); y++) {
      int row = y * in.width() * 3;
      int orow = y * width * 3;
      for (int x = 0; x < width; x++) {
        double r = 0;
        double g = 0;
        double b = 0;
        int first = wx.first[x];
        double[] k = wx.k[x];
        for (int t = 0; t < k.length; t++) {
          int i = row + (first + t) * 3;
          r += k[t] * src[i];
          g += k[t] * src[i + 1];
          b += k[t] * src[i + 2];
        }
        tmp[orow + x * 3] = (float) r;
        tmp[orow + x * 3 + 1] = (float) g;
        tmp[orow + x * 3 + 2] = (float) b;
      }
    }
    Weights wy = weights(in.height(), height);
    float[] out = new float[height * width * 3];
    int stride = width * 3;
    double[] acc = new double[stride];
    for (int y = 0; y < height; y++) {
      java.util.Arrays.fill(acc, 0);
      int first = wy.first[y];
      double[] k = wy.k[y];
      for (int t = 0; t < k.length; t++) {
        int row = (first + t) * stride;
        double kt = k[t];
        for (int j = 0; j < stride; j++) {
          acc[j] += kt * tmp[row + j];
        }
      }
      int orow = y * stride;
      for (int j = 0; j < stride; j++) {
        double v = acc[j];
        out[orow + j] = (float) (v < 0 ? 0 : (v > 255 ? 255 : v));
      }
    }
    return new RgbFrame(width, height, out);
  }

  private record Weights(int[] first, double[][] k) {}

  /** Normalised kernel taps for every output index, clamped to the input (edge replicate). */
  private static Weights weights(int inSize, int outSize) {
    double scale = (double) inSize / outSize;
    double support = 2.0 * Math.max(1.0, scale);
    double stretch = Math.max(1.0, scale);
    int[] first = new int[outSize];
    double[][] taps = new double[outSize][];
    for (int o = 0; o < outSize; o++) {
      double centre = (o + 0.5) * scale - 0.5;
      int lo = (int) Math.floor(centre - support) + 1;
      int hi = (int) Math.floor(centre + support);
      // taps outside the image are folded onto the edge pixel
      int from = Math.max(0, Math.min(inSize - 1, lo));
      int to = Math.max(0, Math.min(inSize - 1, hi));
      double[] k = new double[to - from + 1];
      double sum = 0;
      for (int i = lo; i <= hi; i++) {
        double v = cubic((i - centre) / stretch);
        int idx = Math.max(0, Math.min(inSize - 1, i)) - from;
        k[idx] += v;
        sum += v;
      }
      for (int t = 0; t < k.length; t++) {
        k[t] /= sum;
      }
      first[o] = from;
      taps[o] = k;
    }
    return new Weights(first, taps);
  }

  private static double cubic(double x) {
    double t = Math.abs(x);
    if (t < 1) {
      return ((A + 2) * t - (A + 3)) * t * t + 1;
    }
    if (t < 2) {
      return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    }
    return 0;
  }
}
