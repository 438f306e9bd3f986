package dev.reelflow.storage;

import io.minio.BucketExistsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioAsyncClient;
import io.minio.SetBucketLifecycleArgs;
import io.minio.messages.AbortIncompleteMultipartUpload;
import io.minio.messages.Expiration;
import io.minio.messages.LifecycleConfiguration;
import io.minio.messages.LifecycleRule;
import io.minio.messages.RuleFilter;
import io.minio.messages.Status;
import io.minio.messages.Tag;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the bucket and applies the attempt-expiry lifecycle rule; kept apart from object I/O
 * because it runs once at start-up and decides whether attempt artifacts are tagged.
 */
final class BucketSetup {
  private static final Logger LOG = LoggerFactory.getLogger(BucketSetup.class);

  /** Object tag that the attempt-expiry lifecycle rule matches. */
  static final String RETENTION_TAG_KEY = "reelflow-retention";

  static final String RETENTION_TAG_VALUE = "attempt";
  static final String LIFECYCLE_RULE_ID = "reelflow-expire-attempt-artifacts";

  private final ArtifactStore.Builder config;
  private final MinioAsyncClient client;
  private final RetryingS3Caller calls;
  private final S3ErrorTranslator errors;
  private final EndpointFeatures features;

  BucketSetup(
      ArtifactStore.Builder config,
      MinioAsyncClient client,
      RetryingS3Caller calls,
      S3ErrorTranslator errors,
      EndpointFeatures features) {
    this.config = config;
    this.client = client;
    this.calls = calls;
    this.errors = errors;
    this.features = features;
  }

  BucketStatus ensureBucket() {
    String bucket = config.bucket;
    boolean exists = bucketExists();
    boolean created = false;
    if (!exists) {
      try {
        calls.call(
            "create bucket",
            null,
            () -> client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build()).get());
        created = true;
        LOG.info("Created bucket {} on {}", bucket, config.endpoint);
      } catch (StorageException e) {
        // Another process may have created it between our check and our create.
        if (!Boolean.TRUE.equals(bucketExists())) {
          throw e;
        }
      }
    }
    if (config.attemptExpiryDays == null) {
      return new BucketStatus(
          bucket, created, BucketStatus.Lifecycle.NOT_REQUESTED, "no attempt expiry configured");
    }
    try {
      client
          .setBucketLifecycle(
              SetBucketLifecycleArgs.builder()
                  .bucket(bucket)
                  .config(lifecycle(config.attemptExpiryDays))
                  .build())
          .get();
      LOG.info(
          "Lifecycle rule {} on bucket {}: attempt artifacts expire after {} days",
          LIFECYCLE_RULE_ID,
          bucket,
          config.attemptExpiryDays);
      return new BucketStatus(
          bucket,
          created,
          BucketStatus.Lifecycle.APPLIED,
          "attempt artifacts expire after " + config.attemptExpiryDays + " days");
    } catch (Exception e) {
      S3Failure f = S3Failure.classify(e);
      if (f == S3Failure.NOT_IMPLEMENTED
          || f == S3Failure.OTHER
          || f == S3Failure.NOT_FOUND
          || f == S3Failure.RETRYABLE) {
        String detail =
            "endpoint "
                + config.endpoint
                + " refused the lifecycle configuration ("
                + S3Failure.describe(e)
                + "); attempt artifacts will not expire: delete them with a scheduled job or"
                + " use an endpoint with lifecycle support (MinIO, AWS S3)";
        LOG.warn(detail);
        features.stopTagging();
        return new BucketStatus(
            bucket, created, BucketStatus.Lifecycle.UNSUPPORTED_BY_ENDPOINT, detail);
      }
      throw errors.translate("set lifecycle", null, e);
    }
  }

  /** Whether the configured bucket exists (retried like any call). */
  Boolean bucketExists() {
    return calls.call(
        "check bucket",
        null,
        () -> client.bucketExists(BucketExistsArgs.builder().bucket(config.bucket).build()).get());
  }

  static LifecycleConfiguration lifecycle(int days) {
    LifecycleRule rule =
        new LifecycleRule(
            Status.ENABLED,
            new AbortIncompleteMultipartUpload(1),
            new Expiration((java.time.ZonedDateTime) null, days, null),
            new RuleFilter(new Tag(RETENTION_TAG_KEY, RETENTION_TAG_VALUE)),
            LIFECYCLE_RULE_ID,
            null,
            null,
            null);
    return new LifecycleConfiguration(List.of(rule));
  }
}
