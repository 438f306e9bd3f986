package dev.reelflow.upscale;

/** PSNR and SSIM as super-resolution papers report them (Y channel, border shaved). */
final class ImageQuality {
  private ImageQuality() {}

  /** PSNR over all values of two same-size arrays in [0, 255]. */
  static double psnr(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("sizes differ: " + a.length + " vs " + b.length);
    }
    double se = 0;
    for (int i = 0; i < a.length; i++) {
      double d = a[i] - b[i];
      se += d * d;
    }
    double mse = se / a.length;
    return mse == 0 ? 99.0 : 10 * Math.log10(255.0 * 255.0 / mse);
  }

  /** ITU-R BT.601 luma (studio range, as MATLAB's rgb2ycbcr used by SR benchmarks). */
  static double[] luma(RgbFrame f, int shave) {
    int w = f.width() - 2 * shave;
    int h = f.height() - 2 * shave;
    double[] y = new double[w * h];
    for (int j = 0; j < h; j++) {
      for (int i = 0; i < w; i++) {
        double r = f.at(i + shave, j + shave, 0);
        double g = f.at(i + shave, j + shave, 1);
        double b = f.at(i + shave, j + shave, 2);
        y[j * w + i] = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
      }
    }
    return y;
  }

  static double psnrY(RgbFrame a, RgbFrame b, int shave) {
    double[] ya = luma(a, shave);
    double[] yb = luma(b, shave);
    double se = 0;
    for (int i = 0; i < ya.length; i++) {
      double d = ya[i] - yb[i];
      se += d * d;
    }
    return 10 * Math.log10(255.0 * 255.0 / (se / ya.length));
  }

  /** Mean SSIM on luma with the standard 11×11 Gaussian window (sigma 1.5), K1 .01, K2 .03. */
  static double ssimY(RgbFrame a, RgbFrame b, int shave) {
    int w = a.width() - 2 * shave;
    int h = a.height() - 2 * shave;
    double[] x = luma(a, shave);
    double[] y = luma(b, shave);
    double[] g = new double[11];
    double gs = 0;
    for (int i = 0; i < 11; i++) {
      g[i] = Math.exp(-((i - 5) * (i - 5)) / (2 * 1.5 * 1.5));
      gs += g[i];
    }
    for (int i = 0; i < 11; i++) {
      g[i] /= gs;
    }
    double c1 = Math.pow(0.01 * 255, 2);
    double c2 = Math.pow(0.03 * 255, 2);
    double sum = 0;
    int n = 0;
    for (int j = 5; j < h - 5; j++) {
      for (int i = 5; i < w - 5; i++) {
        double mx = 0;
        double my = 0;
        double sxx = 0;
        double syy = 0;
        double sxy = 0;
        for (int v = -5; v <= 5; v++) {
          for (int u = -5; u <= 5; u++) {
            double wt = g[v + 5] * g[u + 5];
            double px = x[(j + v) * w + i + u];
            double py = y[(j + v) * w + i + u];
            mx += wt * px;
            my += wt * py;
            sxx += wt * px * px;
            syy += wt * py * py;
            sxy += wt * px * py;
          }
        }
        double vx = sxx - mx * mx;
        double vy = syy - my * my;
        double cxy = sxy - mx * my;
        sum += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        n++;
      }
    }
    return sum / n;
  }
}
