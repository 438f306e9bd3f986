package dev.reelflow.engine.vision;

import dev.reelflow.engine.GenerationSpec;

/**
 * The image-to-video reference image brought to the render size as the official pipeline does it
 * ({@code resize_and_center_crop} for the SigLIP input, torchvision's {@code Resize(LANCZOS)} and
 * {@code CenterCrop} for the first-frame latents; both give the same pixels for even render sides):
 * scale with Pillow's Lanczos filter so the image covers the render size ({@code max} of the two
 * ratios, each side rounded half to even as Python's {@code round}), then crop the centre.
 */
public final class ReferenceImages {
  private ReferenceImages() {}

  /**
   * The image scaled to cover {@code width x height} and centre-cropped to it; the image itself
   * when it already has that size.
   */
  public static GenerationSpec.Image fit(GenerationSpec.Image image, int width, int height) {
    if (width < 1 || height < 1) {
      throw new IllegalArgumentException("render size must be positive: " + width + "x" + height);
    }
    int w = image.width();
    int h = image.height();
    if (w == width && h == height) {
      return image;
    }
    double scale = Math.max((double) width / w, (double) height / h);
    int rw = (int) Math.rint(w * scale);
    int rh = (int) Math.rint(h * scale);
    byte[] resized = PillowResample.resize(rgb(image), w, h, rw, rh, PillowResample.Filter.LANCZOS);
    // Pillow's crop box: left = round((rw - width) / 2), as Python rounds (half to even)
    int left = (int) Math.rint((rw - width) / 2.0);
    int top = (int) Math.rint((rh - height) / 2.0);
    int[] argb = new int[width * height];
    for (int y = 0; y < height; y++) {
      int sy = y + top;
      for (int x = 0; x < width; x++) {
        int sx = x + left;
        // Pillow pads a crop box outside the image with zeros; a cover scale never needs it
        if (sy < 0 || sy >= rh || sx < 0 || sx >= rw) {
          argb[y * width + x] = 0xff000000;
          continue;
        }
        int p = (sy * rw + sx) * 3;
        argb[y * width + x] =
            0xff000000
                | (resized[p] & 0xff) << 16
                | (resized[p + 1] & 0xff) << 8
                | (resized[p + 2] & 0xff);
      }
    }
    return new GenerationSpec.Image(width, height, argb);
  }

  /**
   * The VAE input of an image, [3, height, width] channel-major in [-1, 1], as torchvision's {@code
   * ToTensor} ({@code x / 255} in float) and {@code Normalize(0.5, 0.5)} compute it.
   */
  public static float[] pixels(GenerationSpec.Image image) {
    int n = image.width() * image.height();
    float[] px = new float[3 * n];
    int[] argb = image.argb();
    for (int i = 0; i < n; i++) {
      int p = argb[i];
      px[i] = (((p >> 16) & 0xff) / 255f - 0.5f) / 0.5f;
      px[n + i] = (((p >> 8) & 0xff) / 255f - 0.5f) / 0.5f;
      px[2 * n + i] = ((p & 0xff) / 255f - 0.5f) / 0.5f;
    }
    return px;
  }

  /** Packed RGB bytes (R, G, B per pixel, row-major) of an image; alpha is dropped. */
  static byte[] rgb(GenerationSpec.Image image) {
    int[] px = image.argb();
    byte[] out = new byte[px.length * 3];
    for (int i = 0; i < px.length; i++) {
      out[3 * i] = (byte) (px[i] >> 16);
      out[3 * i + 1] = (byte) (px[i] >> 8);
      out[3 * i + 2] = (byte) px[i];
    }
    return out;
  }
}
