package dev.reelflow.storage.input;

/**
 * What a reference image may be: at most {@code maxBytes} encoded, each side at most {@code
 * maxSide} pixels and at most {@code maxPixels} pixels in all (so decoding stays bounded: 50 MP is
 * 200 MB as 32-bit pixels). The defaults: 10 MiB, 8192 px, 50 megapixels.
 *
 * @param maxBytes largest encoded image
 * @param maxSide longest side in pixels
 * @param maxPixels most pixels (width x height)
 */
public record ImageLimits(long maxBytes, int maxSide, long maxPixels) {
  /** 10 MiB. */
  public static final long DEFAULT_MAX_BYTES = 10L << 20;

  /** The ceiling of {@code maxBytes} any configuration may set (request bodies carry base64). */
  public static final long MAX_BYTES_CEILING = 16L << 20;

  public ImageLimits {
    if (maxBytes < 1 || maxBytes > MAX_BYTES_CEILING) {
      throw new IllegalArgumentException(
          "image max bytes must be in 1.." + MAX_BYTES_CEILING + ", got " + maxBytes);
    }
    if (maxSide < 1 || maxPixels < 1) {
      throw new IllegalArgumentException("image max side and pixels must be positive");
    }
  }

  public static ImageLimits defaults() {
    return new ImageLimits(DEFAULT_MAX_BYTES, 8192, 50_000_000L);
  }

  /** The same limits with another byte limit. */
  public ImageLimits withMaxBytes(long bytes) {
    return new ImageLimits(bytes, maxSide, maxPixels);
  }

  /** Human form of the byte limit, e.g. {@code 10 MiB}. */
  public String maxBytesText() {
    return maxBytes % (1 << 20) == 0
        ? (maxBytes >> 20) + " MiB"
        : maxBytes % 1024 == 0 ? (maxBytes >> 10) + " KiB" : maxBytes + " bytes";
  }
}
