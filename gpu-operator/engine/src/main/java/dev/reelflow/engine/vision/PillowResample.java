package dev.reelflow.engine.vision;

/**
 * Image resizing that gives the same bytes as Pillow's {@code Image.resize} on an 8-bit RGB image:
 * the official pipeline resizes the reference image with Pillow (Lanczos, in {@code
 * resize_and_center_crop} and torchvision's {@code Resize} on a PIL image) and SigLIP's image
 * processor resizes with Pillow too (bicubic). Written from Pillow's documented algorithm
 * (libImaging/Resample.c): a separable convolution, horizontal pass first, whose filter support
 * grows with the downscaling factor (antialiasing); coefficients normalised per output pixel, then
 * rounded to fixed point with 22 fraction bits; every pass rounds and clamps to a byte.
 */
final class PillowResample {
  /** Pillow's resampling filters and their support radius (Pillow's numbering in {@link #code}). */
  enum Filter {
    BILINEAR(2, 1.0),
    BICUBIC(3, 2.0),
    LANCZOS(1, 3.0);

    final int code;
    final double support;

    Filter(int code, double support) {
      this.code = code;
      this.support = support;
    }

    double weight(double x) {
      switch (this) {
        case BILINEAR:
          x = Math.abs(x);
          return x < 1.0 ? 1.0 - x : 0.0;
        case BICUBIC:
          {
            final double a = -0.5;
            x = Math.abs(x);
            if (x < 1.0) {
              return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            }
            if (x < 2.0) {
              return (((x - 5) * x + 8) * x - 4) * a;
            }
            return 0.0;
          }
        case LANCZOS:
          return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
        default:
          throw new AssertionError(this);
      }
    }

    private static double sinc(double x) {
      if (x == 0.0) {
        return 1.0;
      }
      x = x * Math.PI;
      return Math.sin(x) / x;
    }

    /**
     * The filter of Pillow's resample code (as in a preprocessor config's {@code resample}): 1
     * Lanczos, 2 bilinear, 3 bicubic.
     */
    static Filter ofPillowCode(int code) {
      for (Filter f : values()) {
        if (f.code == code) {
          return f;
        }
      }
      throw new IllegalArgumentException(
          "resample "
              + code
              + " is not supported: the engine resizes with Pillow's 1 (Lanczos), 2 (bilinear)"
              + " or 3 (bicubic)");
    }
  }

  private static final int PRECISION_BITS = 32 - 8 - 2;

  private PillowResample() {}

  /** Per output pixel: the first input index and the fixed-point weights of its window. */
  private record Coefficients(int[] start, int[] count, int[] weights, int ksize) {}

  private static Coefficients coefficients(int inSize, int outSize, Filter filter) {
    double scale = (double) inSize / outSize;
    double filterScale = Math.max(scale, 1.0);
    double support = filter.support * filterScale;
    int ksize = (int) Math.ceil(support) * 2 + 1;
    int[] start = new int[outSize];
    int[] count = new int[outSize];
    int[] weights = new int[outSize * ksize];
    double[] k = new double[ksize];
    for (int xx = 0; xx < outSize; xx++) {
      double center = (xx + 0.5) * scale;
      double ss = 1.0 / filterScale;
      // (int) truncates toward zero, as the C cast does
      int xmin = Math.max((int) (center - support + 0.5), 0);
      int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
      double ww = 0.0;
      for (int x = 0; x < xmax; x++) {
        double w = filter.weight((x + xmin - center + 0.5) * ss);
        k[x] = w;
        ww += w;
      }
      for (int x = 0; x < xmax; x++) {
        double v = ww != 0.0 ? k[x] / ww : k[x];
        weights[xx * ksize + x] =
            (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
      }
      start[xx] = xmin;
      count[xx] = xmax;
    }
    return new Coefficients(start, count, weights, ksize);
  }

  private static int clip8(int v) {
    int s = v >> PRECISION_BITS;
    return s < 0 ? 0 : Math.min(s, 255);
  }

  /**
   * Resizes packed RGB bytes ({@code 3 * w * h}, row-major, R G B) to {@code outW x outH}.
   *
   * @return a new array of {@code 3 * outW * outH} bytes (a copy when the size is unchanged)
   */
  static byte[] resize(byte[] rgb, int w, int h, int outW, int outH, Filter filter) {
    if (rgb.length != 3 * w * h) {
      throw new IllegalArgumentException("expected " + 3 * w * h + " bytes, got " + rgb.length);
    }
    if (outW < 1 || outH < 1) {
      throw new IllegalArgumentException("output size must be positive: " + outW + "x" + outH);
    }
    if (outW == w && outH == h) {
      return rgb.clone();
    }
    Coefficients horiz = coefficients(w, outW, filter);
    Coefficients vert = coefficients(h, outH, filter);
    byte[] src = rgb;
    int srcW = w;
    if (outW != w) {
      // only the rows the vertical pass reads
      int first = vert.start[0];
      int last = vert.start[outH - 1] + vert.count[outH - 1];
      int rows = last - first;
      byte[] tmp = new byte[3 * outW * rows];
      int half = 1 << (PRECISION_BITS - 1);
      for (int y = 0; y < rows; y++) {
        int in = (y + first) * w * 3;
        for (int xx = 0; xx < outW; xx++) {
          int xmin = horiz.start[xx];
          int n = horiz.count[xx];
          int kOff = xx * horiz.ksize;
          int s0 = half;
          int s1 = half;
          int s2 = half;
          for (int x = 0; x < n; x++) {
            int k = horiz.weights[kOff + x];
            int p = in + (xmin + x) * 3;
            s0 += (src[p] & 0xff) * k;
            s1 += (src[p + 1] & 0xff) * k;
            s2 += (src[p + 2] & 0xff) * k;
          }
          int o = (y * outW + xx) * 3;
          tmp[o] = (byte) clip8(s0);
          tmp[o + 1] = (byte) clip8(s1);
          tmp[o + 2] = (byte) clip8(s2);
        }
      }
      for (int i = 0; i < outH; i++) {
        vert.start[i] -= first;
      }
      src = tmp;
      srcW = outW;
    }
    if (outH == h) {
      return src;
    }
    byte[] out = new byte[3 * outW * outH];
    int half = 1 << (PRECISION_BITS - 1);
    for (int yy = 0; yy < outH; yy++) {
      int ymin = vert.start[yy];
      int n = vert.count[yy];
      int kOff = yy * vert.ksize;
      for (int xx = 0; xx < srcW; xx++) {
        int s0 = half;
        int s1 = half;
        int s2 = half;
        for (int y = 0; y < n; y++) {
          int k = vert.weights[kOff + y];
          int p = ((ymin + y) * srcW + xx) * 3;
          s0 += (src[p] & 0xff) * k;
          s1 += (src[p + 1] & 0xff) * k;
          s2 += (src[p + 2] & 0xff) * k;
        }
        int o = (yy * srcW + xx) * 3;
        out[o] = (byte) clip8(s0);
        out[o + 1] = (byte) clip8(s1);
        out[o + 2] = (byte) clip8(s2);
      }
    }
    return out;
  }
}
