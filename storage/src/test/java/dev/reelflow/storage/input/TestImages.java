package dev.reelflow.storage.input;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import javax.imageio.ImageIO;

/** Encoded test images: PNG and JPEG through ImageIO, WebP containers with valid headers. */
public final class TestImages {
  private TestImages() {}

  static BufferedImage gradient(int w, int h) {
    BufferedImage im = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        im.setRGB(
            x, y, (x * 255 / Math.max(1, w - 1)) << 16 | (y * 255 / Math.max(1, h - 1)) << 8 | 128);
      }
    }
    return im;
  }

  public static byte[] png(int w, int h) {
    return encode(gradient(w, h), "png");
  }

  public static byte[] jpeg(int w, int h) {
    return encode(gradient(w, h), "jpg");
  }

  private static byte[] encode(BufferedImage im, String type) {
    try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      if (!ImageIO.write(im, type, out)) {
        throw new IllegalStateException("no ImageIO writer for " + type);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A RIFF/WEBP container whose first chunk is {@code fourcc} with {@code payload}. */
  static byte[] webp(String fourcc, byte[] payload) {
    int chunk = payload.length + (payload.length & 1);
    byte[] b = new byte[20 + chunk];
    put(b, 0, "RIFF");
    le32(b, 4, b.length - 8);
    put(b, 8, "WEBP");
    put(b, 12, fourcc);
    le32(b, 16, payload.length);
    System.arraycopy(payload, 0, b, 20, payload.length);
    return b;
  }

  /** Lossy (VP8) key-frame header of the given size, padded. */
  public static byte[] webpLossy(int w, int h) {
    byte[] p = new byte[32];
    p[0] = 0x10; // key frame (bit 0 clear), version 0, shown
    p[3] = (byte) 0x9d;
    p[4] = 0x01;
    p[5] = 0x2a;
    p[6] = (byte) w;
    p[7] = (byte) ((w >> 8) & 0x3f);
    p[8] = (byte) h;
    p[9] = (byte) ((h >> 8) & 0x3f);
    return webp("VP8 ", p);
  }

  /** Lossless (VP8L) header of the given size, padded. */
  static byte[] webpLossless(int w, int h) {
    byte[] p = new byte[16];
    p[0] = 0x2f;
    long bits = (w - 1) | (long) (h - 1) << 14;
    p[1] = (byte) bits;
    p[2] = (byte) (bits >> 8);
    p[3] = (byte) (bits >> 16);
    p[4] = (byte) (bits >> 24);
    return webp("VP8L", p);
  }

  /** Extended (VP8X) header; {@code animated} sets the animation flag. */
  static byte[] webpExtended(int w, int h, boolean animated) {
    byte[] p = new byte[10];
    p[0] = (byte) (animated ? 0x02 : 0x00);
    int cw = w - 1;
    int ch = h - 1;
    p[4] = (byte) cw;
    p[5] = (byte) (cw >> 8);
    p[6] = (byte) (cw >> 16);
    p[7] = (byte) ch;
    p[8] = (byte) (ch >> 8);
    p[9] = (byte) (ch >> 16);
    return webp("VP8X", p);
  }

  private static void put(byte[] b, int o, String s) {
    byte[] a = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(a, 0, b, o, a.length);
  }

  private static void le32(byte[] b, int o, int v) {
    b[o] = (byte) v;
    b[o + 1] = (byte) (v >> 8);
    b[o + 2] = (byte) (v >> 16);
    b[o + 3] = (byte) (v >> 24);
  }
}
