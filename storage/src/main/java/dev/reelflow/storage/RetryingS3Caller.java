package dev.reelflow.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one S3 call, retrying retryable failures with backoff and jitter until the policy's
 * elapsed-time budget is spent, so no caller writes its own retry loop.
 */
final class RetryingS3Caller {
  private static final Logger LOG = LoggerFactory.getLogger(RetryingS3Caller.class);

  private final RetryPolicy retry;
  private final S3ErrorTranslator errors;

  RetryingS3Caller(RetryPolicy retry, S3ErrorTranslator errors) {
    this.retry = retry;
    this.errors = errors;
  }

  /** One S3 call that may be retried. */
  @FunctionalInterface
  interface S3Call<T> {
    T run() throws Exception;
  }

  /**
   * Runs the call, retrying retryable failures with backoff and jitter until the policy's
   * elapsed-time budget is spent, and translates the rest to typed exceptions.
   */
  <T> T call(String operation, String key, S3Call<T> body) {
    long start = System.nanoTime();
    long budgetMillis = retry.maxElapsed().toMillis();
    int attempt = 0;
    while (true) {
      attempt++;
      try {
        T result = body.run();
        StorageMetrics.request(operation, "ok");
        return result;
      } catch (StorageException e) {
        throw e; // already typed (from a nested call)
      } catch (Exception e) {
        S3Failure failure = S3Failure.classify(e);
        if (failure != S3Failure.RETRYABLE) {
          StorageMetrics.request(operation, "failed");
          throw errors.translate(operation, key, e);
        }
        long elapsed = (System.nanoTime() - start) / 1_000_000;
        long sleep = retry.backoffMillis(attempt);
        if (elapsed + sleep > budgetMillis) {
          StorageMetrics.request(operation, "failed");
          throw new StorageUnavailableException(
              errors.describe(operation, key), attempt, elapsed, S3Failure.unwrap(e));
        }
        StorageMetrics.request(operation, "retry");
        LOG.warn(
            "{} failed (try {}, {} ms so far): {}; retrying in {} ms",
            errors.describe(operation, key),
            attempt,
            elapsed,
            S3Failure.describe(e),
            sleep);
        try {
          Thread.sleep(sleep);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new StorageException(errors.describe(operation, key) + " was interrupted", ie);
        }
      }
    }
  }
}
