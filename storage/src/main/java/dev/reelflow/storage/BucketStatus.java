package dev.reelflow.storage;

/**
 * Result of {@link ArtifactStore#ensureBucket()}.
 *
 * @param bucket bucket name
 * @param created true when the bucket was created by this call
 * @param lifecycle what happened to the attempt-artifact expiry rule
 * @param detail human-readable detail (e.g. the endpoint's answer when it refused the rule)
 */
public record BucketStatus(String bucket, boolean created, Lifecycle lifecycle, String detail) {
  /** State of the lifecycle rule that expires attempt-level artifacts. */
  public enum Lifecycle {
    /** No expiry configured (s3.attempt-expiry-days unset). */
    NOT_REQUESTED,
    /** The rule is installed. */
    APPLIED,
    /** The endpoint does not support lifecycle configuration (e.g. S3Proxy); nothing expires. */
    UNSUPPORTED_BY_ENDPOINT
  }
}
