package dev.reelflow.storage;

/** The endpoint kept failing with retryable errors until the retry budget ran out. */
public final class StorageUnavailableException extends StorageException {
  public StorageUnavailableException(
      String operation, int attempts, long elapsedMillis, Throwable cause) {
    super(
        operation
            + " failed after "
            + attempts
            + " attempts over "
            + elapsedMillis
            + " ms of retryable errors (5xx, timeouts, refused connections). Check that the S3"
            + " endpoint is up; raise s3.retry.max-elapsed if outages last longer.",
        cause);
  }
}
