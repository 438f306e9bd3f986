package dev.reelflow.storage;

import java.util.HashMap;
import java.util.Map;

/**
 * Key validation and the metadata and ETag conventions every part of the MinIO store shares, so the
 * writers and readers agree on them.
 */
final class S3ObjectConventions {
  /** Prefix of user metadata in raw S3 headers (multipart create, GET responses). */
  static final String META_PREFIX = "x-amz-meta-";

  private S3ObjectConventions() {}

  /** The attributes' metadata plus the SHA-256 every object written by the store carries. */
  static Map<String, String> userMetadata(ObjectAttributes attrs, String sha) {
    Map<String, String> meta = new HashMap<>(attrs.metadata());
    meta.put(ObjectAttributes.META_SHA256, sha);
    return meta;
  }

  static String stripQuotes(String etag) {
    if (etag == null) {
      return "";
    }
    return etag.startsWith("\"") && etag.endsWith("\"") && etag.length() >= 2
        ? etag.substring(1, etag.length() - 1)
        : etag;
  }

  /** Plain puts would overwrite a published result: final keys go through publish(). */
  static void refuseFinal(String key) {
    if (key != null && ArtifactKeys.isFinalKey(key)) {
      throw new IllegalArgumentException(
          "'"
              + key
              + "' is a final (write-once) key: write it with publish(), which never replaces a"
              + " published result");
    }
  }

  static void checkKey(String key) {
    if (key == null || key.isEmpty() || key.startsWith("/") || key.length() > 1024) {
      throw new IllegalArgumentException("invalid object key: " + key);
    }
    for (String segment : key.split("/", -1)) {
      if (segment.equals("..") || segment.equals(".")) {
        throw new IllegalArgumentException("object key must not contain '.' or '..': " + key);
      }
    }
  }
}
