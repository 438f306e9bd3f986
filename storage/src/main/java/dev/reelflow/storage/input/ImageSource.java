package dev.reelflow.storage.input;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Base64;
import java.util.Locale;
import java.util.Objects;

/**
 * Where an image-to-video render's reference image comes from, as its {@code imageUrl} says:
 *
 * <ul>
 *   <li>{@code data:image/png;base64,...} (also {@code image/jpeg}, {@code image/webp}): the image
 *       itself ({@link Inline}); ingest stores it under the render's prefix, so Kafka carries the
 *       key, never the bytes;
 *   <li>{@code s3://<bucket>/<key>}: an object of the render bucket under the tenant's own prefix
 *       ({@link Stored});
 *   <li>{@code https://...}: fetched by the worker under the {@link AddressPolicy} ({@link
 *       Remote}).
 * </ul>
 */
public sealed interface ImageSource {

  /** An image sent inline as a data URI, already inspected. */
  record Inline(ImageInfo info, byte[] bytes) implements ImageSource {
    public Inline {
      Objects.requireNonNull(info, "info");
      Objects.requireNonNull(bytes, "bytes");
    }
  }

  /** An object of the store. */
  record Stored(String bucket, String key) implements ImageSource {
    public Stored {
      Objects.requireNonNull(bucket, "bucket");
      Objects.requireNonNull(key, "key");
    }

    /** {@code s3://bucket/key}. */
    public String url() {
      return url(bucket, key);
    }

    /** {@code s3://bucket/key}. */
    public static String url(String bucket, String key) {
      return "s3://" + bucket + "/" + key;
    }
  }

  /** A URL the worker fetches. */
  record Remote(URI uri) implements ImageSource {
    public Remote {
      Objects.requireNonNull(uri, "uri");
    }
  }

  /** Longest key of a stored image (S3's own limit). */
  int MAX_KEY_BYTES = 1024;

  /**
   * Reads an {@code imageUrl}. A data URI is decoded and inspected ({@link ImageInfo#inspect}); a
   * URL gets the checks that need no DNS ({@link AddressPolicy#checkUrl}); an {@code s3://} key
   * must be a plain key (no empty, {@code .} or {@code ..} segments, no control characters).
   *
   * @throws ImageRejectedException with a message for the client
   */
  static ImageSource parse(String value, AddressPolicy policy, ImageLimits limits) {
    Objects.requireNonNull(value, "value");
    String lower = value.length() > 8 ? value.substring(0, 8).toLowerCase(Locale.ROOT) : value;
    if (lower.startsWith("data:")) {
      return dataUri(value, limits);
    }
    if (lower.startsWith("s3://")) {
      return stored(value);
    }
    if (lower.startsWith("https://") || lower.startsWith("http://")) {
      URI uri;
      try {
        uri = new URI(value);
      } catch (URISyntaxException e) {
        throw new ImageRejectedException("is not a valid URL: " + e.getReason());
      }
      policy
          .checkUrl(uri)
          .ifPresent(
              why -> {
                throw new ImageRejectedException(why);
              });
      return new Remote(uri);
    }
    throw new ImageRejectedException(
        "must be a data: URI (PNG, JPEG or WebP, base64), an s3://bucket/key object of your own or"
            + " an https URL");
  }

  private static Inline dataUri(String value, ImageLimits limits) {
    int comma = value.indexOf(',');
    if (comma < 0) {
      throw new ImageRejectedException("the data: URI has no ',' before its data");
    }
    String[] header = value.substring(5, comma).split(";");
    String type = header[0].trim().toLowerCase(Locale.ROOT);
    boolean base64 = false;
    for (int i = 1; i < header.length; i++) {
      base64 |= header[i].trim().equalsIgnoreCase("base64");
    }
    ImageFormat declared =
        ImageFormat.ofMediaType(type)
            .orElseThrow(
                () ->
                    new ImageRejectedException(
                        "the data: URI's type '"
                            + (type.isEmpty() ? "(none)" : clip(type))
                            + "' is not image/png, image/jpeg or image/webp"));
    if (!base64) {
      throw new ImageRejectedException(
          "the data: URI must be base64 (data:" + type + ";base64,...)");
    }
    long maxEncoded = (limits.maxBytes() + 2) / 3 * 4;
    long payload = value.length() - comma - 1L;
    if (payload > maxEncoded + maxEncoded / 64 + 1024) { // base64 plus room for line breaks
      throw new ImageRejectedException(
          "the image is about "
              + payload * 3 / 4
              + " bytes; the limit is "
              + limits.maxBytesText());
    }
    StringBuilder clean = new StringBuilder((int) payload);
    for (int i = comma + 1; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        clean.append(c);
      }
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(clean.toString());
    } catch (IllegalArgumentException e) {
      throw new ImageRejectedException("the data: URI's base64 is invalid: " + e.getMessage());
    }
    ImageInfo info = ImageInfo.inspect(bytes, limits);
    if (info.format() != declared) {
      throw new ImageRejectedException(
          "the data: URI says "
              + declared.mediaType()
              + " but holds a "
              + info.format()
              + " image");
    }
    return new Inline(info, bytes);
  }

  private static Stored stored(String value) {
    String rest = value.substring(5);
    int slash = rest.indexOf('/');
    if (slash <= 0 || slash == rest.length() - 1) {
      throw new ImageRejectedException("an s3:// image must be s3://<bucket>/<key>");
    }
    String bucket = rest.substring(0, slash);
    String key = rest.substring(slash + 1);
    if (key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
      throw new ImageRejectedException("the object key is longer than " + MAX_KEY_BYTES + " bytes");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new ImageRejectedException(
            "the object key must not have empty, '.' or '..' segments: " + clip(key));
      }
    }
    for (int i = 0; i < value.length(); i++) {
      if (Character.isISOControl(value.charAt(i))) {
        throw new ImageRejectedException("the s3:// image must not contain control characters");
      }
    }
    return new Stored(bucket, key);
  }

  private static String clip(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "...";
  }
}
