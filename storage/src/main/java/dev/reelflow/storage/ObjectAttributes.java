package dev.reelflow.storage;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Content type and metadata written with an object. The SHA-256 is not set here: the store computes
 * it from the bytes it sends and records it as {@value #META_SHA256}.
 */
public final class ObjectAttributes {
  /** User-metadata key of the lower-case hex SHA-256 of the object's bytes. */
  public static final String META_SHA256 = "sha256";

  /** User-metadata key of the request id. */
  public static final String META_REQUEST_ID = "request-id";

  /** User-metadata key of the stage (base, upscale). */
  public static final String META_STAGE = "stage";

  /** User-metadata key of the attempt number. */
  public static final String META_ATTEMPT = "attempt";

  /** Default content type. */
  public static final String OCTET_STREAM = "application/octet-stream";

  private final String contentType;
  private final Map<String, String> metadata;

  private ObjectAttributes(String contentType, Map<String, String> metadata) {
    this.contentType = contentType;
    this.metadata = Map.copyOf(metadata);
  }

  /** application/octet-stream, no metadata. */
  public static ObjectAttributes defaults() {
    return builder().build();
  }

  /** Only a content type. */
  public static ObjectAttributes ofType(String contentType) {
    return builder().contentType(contentType).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public String contentType() {
    return contentType;
  }

  /** User metadata (lower-case keys, without {@code x-amz-meta-}). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Guesses a content type from a file name (mp4, jpg, json, safetensors…). */
  public static String contentTypeFor(String fileName) {
    String lower = fileName.toLowerCase(Locale.ROOT);
    if (lower.endsWith(".mp4")) {
      return "video/mp4";
    }
    if (lower.endsWith(".jpg") || lower.endsWith(".jpeg")) {
      return "image/jpeg";
    }
    if (lower.endsWith(".png")) {
      return "image/png";
    }
    if (lower.endsWith(".json")) {
      return "application/json";
    }
    return OCTET_STREAM;
  }

  /** Builder; metadata values must be US-ASCII (S3 headers). */
  public static final class Builder {
    private String contentType = OCTET_STREAM;
    private final Map<String, String> metadata = new LinkedHashMap<>();

    private Builder() {}

    public Builder contentType(String contentType) {
      this.contentType = Objects.requireNonNull(contentType, "contentType");
      return this;
    }

    public Builder requestId(String requestId) {
      return meta(META_REQUEST_ID, requestId);
    }

    /** Stage name, stored lower-case. */
    public Builder stage(String stage) {
      return meta(META_STAGE, stage.toLowerCase(Locale.ROOT));
    }

    public Builder attempt(int attempt) {
      return meta(META_ATTEMPT, Integer.toString(attempt));
    }

    /** Any other user metadata. The key {@value #META_SHA256} is reserved for the store. */
    public Builder meta(String key, String value) {
      String k = Objects.requireNonNull(key, "key").toLowerCase(Locale.ROOT);
      if (k.equals(META_SHA256)) {
        throw new IllegalArgumentException(
            "metadata key 'sha256' is set by the store from the uploaded bytes");
      }
      Objects.requireNonNull(value, "value of " + key);
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (c < 0x20 || c > 0x7e) {
          throw new IllegalArgumentException(
              "metadata '" + key + "' must be printable US-ASCII (it travels as an HTTP header)");
        }
      }
      metadata.put(k, value);
      return this;
    }

    public ObjectAttributes build() {
      return new ObjectAttributes(contentType, metadata);
    }
  }
}
