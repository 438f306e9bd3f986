package dev.reelflow.storage.input;

/**
 * What an encoded reference image is, read from its container headers without decoding pixels: the
 * format and the size. {@link #inspect} checks an image against {@link ImageLimits} so that nothing
 * too large is ever decoded, and refuses a truncated file or an animated WebP.
 *
 * @param format PNG, JPEG or WebP
 * @param width pixels per row
 * @param height rows
 */
public record ImageInfo(ImageFormat format, int width, int height) {

  /**
   * Reads the format and size of an encoded image and checks them against the limits.
   *
   * @throws ImageRejectedException naming what is wrong: too many bytes, not a PNG/JPEG/WebP, an
   *     unreadable or truncated header, an animated WebP, a side or pixel count over the limits
   */
  public static ImageInfo inspect(byte[] data, ImageLimits limits) {
    if (data.length > limits.maxBytes()) {
      throw new ImageRejectedException(
          "the image is " + data.length + " bytes; the limit is " + limits.maxBytesText());
    }
    ImageFormat f =
        ImageFormat.sniff(data)
            .orElseThrow(
                () ->
                    new ImageRejectedException(
                        "the data is not a PNG, JPEG or WebP image (its first bytes say neither)"));
    ImageInfo info =
        switch (f) {
          case PNG -> png(data);
          case JPEG -> jpeg(data);
          case WEBP -> webp(data);
        };
    if (info.width() < 1 || info.height() < 1) {
      throw new ImageRejectedException(
          "the " + f + " header gives an empty size " + info.width() + "x" + info.height());
    }
    if (info.width() > limits.maxSide() || info.height() > limits.maxSide()) {
      throw new ImageRejectedException(
          "the image is "
              + info.width()
              + "x"
              + info.height()
              + "; each side may be at most "
              + limits.maxSide()
              + " pixels");
    }
    if ((long) info.width() * info.height() > limits.maxPixels()) {
      throw new ImageRejectedException(
          "the image is "
              + info.width()
              + "x"
              + info.height()
              + " = "
              + (long) info.width() * info.height()
              + " pixels; the limit is "
              + limits.maxPixels());
    }
    return info;
  }

  private static ImageRejectedException truncated(ImageFormat f) {
    return new ImageRejectedException("the " + f + " image is truncated or its header is damaged");
  }

  private static int be32(byte[] b, int o) {
    return (b[o] & 0xff) << 24
        | (b[o + 1] & 0xff) << 16
        | (b[o + 2] & 0xff) << 8
        | (b[o + 3] & 0xff);
  }

  private static int be16(byte[] b, int o) {
    return (b[o] & 0xff) << 8 | (b[o + 1] & 0xff);
  }

  private static int le16(byte[] b, int o) {
    return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8;
  }

  private static int le24(byte[] b, int o) {
    return le16(b, o) | (b[o + 2] & 0xff) << 16;
  }

  private static long le32(byte[] b, int o) {
    return (le24(b, o) | (long) (b[o + 3] & 0xff) << 24) & 0xffffffffL;
  }

  private static ImageInfo png(byte[] b) {
    if (b.length < 8 + 25 + 12 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R') {
      throw truncated(ImageFormat.PNG);
    }
    int w = be32(b, 16);
    int h = be32(b, 20);
    if (w < 0 || h < 0) {
      throw new ImageRejectedException("the PNG header gives an impossible size");
    }
    // the file must end with its IEND chunk (0-length, type IEND, CRC AE426082)
    int n = b.length;
    if (be32(b, n - 12) != 0
        || b[n - 8] != 'I'
        || b[n - 7] != 'E'
        || b[n - 6] != 'N'
        || b[n - 5] != 'D') {
      throw truncated(ImageFormat.PNG);
    }
    return new ImageInfo(ImageFormat.PNG, w, h);
  }

  private static ImageInfo jpeg(byte[] b) {
    int i = 2;
    while (true) {
      if (i + 1 >= b.length || (b[i] & 0xff) != 0xff) {
        throw truncated(ImageFormat.JPEG);
      }
      while (i < b.length && (b[i] & 0xff) == 0xff) {
        i++; // fill bytes
      }
      if (i >= b.length) {
        throw truncated(ImageFormat.JPEG);
      }
      int m = b[i] & 0xff;
      i++;
      if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) {
        continue; // markers without a length
      }
      if (m == 0xd9 || m == 0xda) {
        throw new ImageRejectedException("the JPEG has no frame header before its image data");
      }
      if (i + 2 > b.length) {
        throw truncated(ImageFormat.JPEG);
      }
      int len = be16(b, i);
      if (len < 2 || i + len > b.length) {
        throw truncated(ImageFormat.JPEG);
      }
      boolean sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
      if (sof) {
        if (len < 8) {
          throw truncated(ImageFormat.JPEG);
        }
        int h = be16(b, i + 3);
        int w = be16(b, i + 5);
        if (h == 0) {
          throw new ImageRejectedException(
              "the JPEG defers its height to a DNL marker, which is not supported");
        }
        // the image data must be complete: an end-of-image marker near the end of the file
        boolean eoi = false;
        for (int j = b.length - 2; j >= Math.max(i, b.length - 1024); j--) {
          if ((b[j] & 0xff) == 0xff && (b[j + 1] & 0xff) == 0xd9) {
            eoi = true;
            break;
          }
        }
        if (!eoi) {
          throw truncated(ImageFormat.JPEG);
        }
        return new ImageInfo(ImageFormat.JPEG, w, h);
      }
      i += len;
    }
  }

  private static ImageInfo webp(byte[] b) {
    if (b.length < 30 || le32(b, 4) + 8 > b.length) {
      throw truncated(ImageFormat.WEBP);
    }
    String chunk = new String(b, 12, 4, java.nio.charset.StandardCharsets.US_ASCII);
    switch (chunk) {
      case "VP8 " -> {
        if ((b[20] & 1) != 0
            || (b[23] & 0xff) != 0x9d
            || (b[24] & 0xff) != 0x01
            || (b[25] & 0xff) != 0x2a) {
          throw truncated(ImageFormat.WEBP);
        }
        return new ImageInfo(ImageFormat.WEBP, le16(b, 26) & 0x3fff, le16(b, 28) & 0x3fff);
      }
      case "VP8L" -> {
        if ((b[20] & 0xff) != 0x2f) {
          throw truncated(ImageFormat.WEBP);
        }
        long bits = le32(b, 21);
        return new ImageInfo(
            ImageFormat.WEBP, (int) (bits & 0x3fff) + 1, (int) ((bits >> 14) & 0x3fff) + 1);
      }
      case "VP8X" -> {
        if ((b[20] & 0x02) != 0) {
          throw new ImageRejectedException(
              "the WebP is animated; send a still image (PNG, JPEG or a still WebP)");
        }
        return new ImageInfo(ImageFormat.WEBP, le24(b, 24) + 1, le24(b, 27) + 1);
      }
      default -> throw truncated(ImageFormat.WEBP);
    }
  }
}
