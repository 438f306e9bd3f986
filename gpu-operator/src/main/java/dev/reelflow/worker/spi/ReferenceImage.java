package dev.reelflow.worker.spi;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The reference image (first frame) of an image-to-video job, fetched and decoded by the runtime
 * before the engine runs: the encoded file in the task's work directory (for engines that read
 * files, such as external programs) and its pixels (for engines that take them). Engines bring it
 * to the render size themselves, as the model's own pipeline does.
 *
 * @param file the encoded image (PNG, JPEG or WebP as received)
 * @param mediaType {@code image/png}, {@code image/jpeg} or {@code image/webp}
 * @param width pixels per row
 * @param height rows
 * @param argb {@code width * height} packed pixels, row-major (alpha ignored)
 * @param source where it came from ({@code s3://...} or the URL), for manifests and messages
 */
public record ReferenceImage(
    Path file, String mediaType, int width, int height, int[] argb, String source) {
  public ReferenceImage {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(mediaType, "mediaType");
    Objects.requireNonNull(argb, "argb");
    Objects.requireNonNull(source, "source");
    if (width < 1 || height < 1 || argb.length != width * height) {
      throw new IllegalArgumentException(
          "reference image pixels do not match " + width + "x" + height);
    }
  }

  @Override
  public String toString() {
    return "ReferenceImage[" + source + ", " + mediaType + ", " + width + "x" + height + "]";
  }
}
