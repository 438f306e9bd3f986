package dev.reelflow.ingest;

import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.RetryPolicy;
import java.time.Duration;
import java.util.Optional;

/**
 * The object store ingest reads through (manifests, reference images) and presigns output links
 * with, built with timeouts that suit answering an HTTP request.
 */
final class IngestStore {
  private IngestStore() {}

  /** The object store where one is configured (presigned URLs, manifests); no network call. */
  static Optional<ArtifactStore> open(IngestConfig config) {
    String endpoint = config.get(IngestConfig.S3_ENDPOINT);
    if (endpoint.isBlank()) {
      return Optional.empty();
    }
    // Reads answer an HTTP request: retrying for the store's default two minutes would hold the
    // client far longer than a 503 with Retry-After does.
    Duration read = config.duration(IngestConfig.S3_READ_TIMEOUT);
    ArtifactStore store =
        ArtifactStore.builder()
            .endpoint(endpoint)
            .credentials(
                config.get(IngestConfig.S3_ACCESS_KEY), config.get(IngestConfig.S3_SECRET_KEY))
            .bucket(config.get(IngestConfig.S3_BUCKET))
            .connectTimeout(min(read, Duration.ofSeconds(2)))
            .requestTimeout(read)
            .retryPolicy(
                RetryPolicy.builder()
                    .initialBackoff(Duration.ofMillis(100))
                    .maxBackoff(Duration.ofSeconds(1))
                    .maxElapsed(read)
                    .build())
            .build();
    return Optional.of(store);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** How output keys become URLs: presigned through the store, else {@code s3://} names. */
  static RenderJson.OutputLinks outputLinks(IngestConfig config, Optional<ArtifactStore> store) {
    if (store.isEmpty()) {
      String bucket = config.get(IngestConfig.S3_BUCKET);
      return (tenant, key) -> "s3://" + bucket + "/" + key;
    }
    ArtifactStore s3 = store.get();
    Duration ttl = config.duration(IngestConfig.S3_PRESIGN_TTL);
    return (tenant, key) -> s3.presignGetForTenant(tenant, key, ttl).toString();
  }
}
