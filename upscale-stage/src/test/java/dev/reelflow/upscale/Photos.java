package dev.reelflow.upscale;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import javax.imageio.ImageIO;

/** The natural test photos (scikit-image sample crops, see photos/README.md). */
final class Photos {
  static final String[] NAMES = {"astronaut", "camera", "chelsea", "coffee", "rocket"};

  private Photos() {}

  static RgbFrame load(String name) throws IOException {
    String path = "dev/reelflow/upscale/photos/" + name + ".png";
    try (InputStream in = Photos.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IOException("missing test photo " + path);
      }
      BufferedImage im = ImageIO.read(in);
      int w = im.getWidth();
      int h = im.getHeight();
      float[] p = new float[w * h * 3];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int rgb = im.getRGB(x, y);
          int i = (y * w + x) * 3;
          p[i] = (rgb >> 16) & 0xff;
          p[i + 1] = (rgb >> 8) & 0xff;
          p[i + 2] = rgb & 0xff;
        }
      }
      return new RgbFrame(w, h, p);
    }
  }
}
