package dev.reelflow.storage;

/** The configured bucket does not exist on the endpoint. */
public final class BucketNotFoundException extends StorageException {
  private final String bucket;

  public BucketNotFoundException(String bucket, Throwable cause) {
    super(
        "Bucket '"
            + bucket
            + "' does not exist on the S3 endpoint. Create it (ArtifactStore.ensureBucket(), or"
            + " 'mc mb') or point s3.bucket at an existing bucket.",
        cause);
    this.bucket = bucket;
  }

  public String bucket() {
    return bucket;
  }
}
