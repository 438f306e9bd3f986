package dev.reelflow.storage;

import java.time.Instant;
import java.util.Map;

/**
 * What the store knows about one object.
 *
 * @param key object key
 * @param sizeBytes size in bytes
 * @param sha256 lower-case hex SHA-256 recorded when it was written through ArtifactStore (empty
 *     for objects written by other tools)
 * @param contentType MIME type
 * @param etag the endpoint's ETag (not a content hash for multipart objects)
 * @param lastModified when the endpoint stored it (null where the listing does not say)
 * @param metadata user metadata, keys lower-case without the {@code x-amz-meta-} prefix
 */
public record StoredObject(
    String key,
    long sizeBytes,
    String sha256,
    String contentType,
    String etag,
    Instant lastModified,
    Map<String, String> metadata) {
  public StoredObject {
    metadata = Map.copyOf(metadata == null ? Map.of() : metadata);
    sha256 = sha256 == null ? "" : sha256;
    contentType = contentType == null ? "application/octet-stream" : contentType;
  }

  /** Request id from the metadata, or empty. */
  public String requestId() {
    return metadata.getOrDefault(ObjectAttributes.META_REQUEST_ID, "");
  }
}
