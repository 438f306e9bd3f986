package dev.reelflow.storage.input;

import java.util.Locale;
import java.util.Optional;

/** The image types a reference image may have, recognised by their leading bytes. */
public enum ImageFormat {
  PNG("image/png", "png"),
  JPEG("image/jpeg", "jpg"),
  WEBP("image/webp", "webp");

  private final String mediaType;
  private final String extension;

  ImageFormat(String mediaType, String extension) {
    this.mediaType = mediaType;
    this.extension = extension;
  }

  /** {@code image/png}, {@code image/jpeg} or {@code image/webp}. */
  public String mediaType() {
    return mediaType;
  }

  /** File extension without the dot: {@code png}, {@code jpg}, {@code webp}. */
  public String extension() {
    return extension;
  }

  /** The format of a media type ({@code image/jpg} is read as JPEG), if it is one of these. */
  public static Optional<ImageFormat> ofMediaType(String type) {
    String t = type == null ? "" : type.trim().toLowerCase(Locale.ROOT);
    for (ImageFormat f : values()) {
      if (f.mediaType.equals(t)) {
        return Optional.of(f);
      }
    }
    return t.equals("image/jpg") ? Optional.of(JPEG) : Optional.empty();
  }

  /** The format the leading bytes announce (PNG signature, JPEG SOI, RIFF/WEBP), if any. */
  public static Optional<ImageFormat> sniff(byte[] b) {
    if (b.length >= 8
        && (b[0] & 0xff) == 0x89
        && b[1] == 'P'
        && b[2] == 'N'
        && b[3] == 'G'
        && b[4] == 0x0d
        && b[5] == 0x0a
        && b[6] == 0x1a
        && b[7] == 0x0a) {
      return Optional.of(PNG);
    }
    if (b.length >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8 && (b[2] & 0xff) == 0xff) {
      return Optional.of(JPEG);
    }
    if (b.length >= 12
        && b[0] == 'R'
        && b[1] == 'I'
        && b[2] == 'F'
        && b[3] == 'F'
        && b[8] == 'W'
        && b[9] == 'E'
        && b[10] == 'B'
        && b[11] == 'P') {
      return Optional.of(WEBP);
    }
    return Optional.empty();
  }
}
