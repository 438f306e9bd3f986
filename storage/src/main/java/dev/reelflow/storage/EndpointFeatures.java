package dev.reelflow.storage;

import dev.reelflow.storage.S3ErrorTranslator.NotImplementedByEndpoint;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optional S3 features (object tags, conditional writes) the endpoint accepts, learned as it
 * refuses them: each refusal is logged once and the feature is not asked for again.
 */
final class EndpointFeatures {
  private static final Logger LOG = LoggerFactory.getLogger(EndpointFeatures.class);

  private final ArtifactStore.Builder config;
  private volatile boolean conditionalSupported;
  private volatile boolean taggingSupported = true;

  EndpointFeatures(ArtifactStore.Builder config) {
    this.config = config;
    this.conditionalSupported =
        config.conditionalWrites != ArtifactStore.Builder.ConditionalWrites.NEVER;
  }

  /** Whether write-once publishes use If-None-Match (else compare-by-checksum). */
  boolean useConditional() {
    return conditionalSupported;
  }

  /** The x-amz-tagging header value for the key, when the expiry rule should match it. */
  Optional<String> tagging(String key) {
    if (config.attemptExpiryDays != null && taggingSupported && ArtifactKeys.isAttemptKey(key)) {
      return Optional.of(BucketSetup.RETENTION_TAG_KEY + "=" + BucketSetup.RETENTION_TAG_VALUE);
    }
    return Optional.empty();
  }

  /** Tags without a lifecycle rule only cost a header the endpoint may refuse. */
  void stopTagging() {
    taggingSupported = false;
  }

  /**
   * On a 501, stops using the optional feature the request carried (object tags first, then the
   * conditional write in AUTO mode) and says whether a retry without it makes sense.
   */
  boolean degrade(NotImplementedByEndpoint e, boolean tagged, boolean conditional) {
    if (tagged && taggingSupported) {
      taggingSupported = false;
      LOG.warn(
          "endpoint {} refused object tags ({}); attempt artifacts are written untagged, so no"
              + " lifecycle rule will expire them",
          config.endpoint,
          S3Failure.describe(e.getCause()));
      return true;
    }
    if (conditional
        && conditionalSupported
        && config.conditionalWrites == ArtifactStore.Builder.ConditionalWrites.AUTO) {
      conditionalSupported = false;
      LOG.warn(
          "endpoint {} does not implement conditional writes ({}); write-once publish falls"
              + " back to compare-by-checksum",
          config.endpoint,
          S3Failure.describe(e.getCause()));
      return true;
    }
    return false;
  }
}
