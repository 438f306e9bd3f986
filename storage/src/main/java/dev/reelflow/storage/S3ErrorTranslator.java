package dev.reelflow.storage;

/**
 * Turns a failed S3 call into the store's typed exceptions. One place, so every operation names
 * itself and its key the same way in the message the caller sees.
 */
final class S3ErrorTranslator {
  private final String bucket;
  private final String endpoint;

  S3ErrorTranslator(String bucket, String endpoint) {
    this.bucket = bucket;
    this.endpoint = endpoint;
  }

  /** "put of 'key'", or "check bucket (bucket b)" for calls without a key. */
  String describe(String operation, String key) {
    return key == null ? operation + " (bucket " + bucket + ")" : operation + " of '" + key + "'";
  }

  StorageException translate(String operation, String key, Throwable raw) {
    Throwable cause = S3Failure.unwrap(raw);
    if (cause instanceof StorageException se) {
      return se;
    }
    switch (S3Failure.classify(cause)) {
      case NO_SUCH_BUCKET:
        return new BucketNotFoundException(bucket, cause);
      case NOT_FOUND:
        return new ObjectNotFoundException(bucket, key, cause);
      case CREDENTIALS:
        return new InvalidCredentialsException(endpoint, S3Failure.code(cause), cause);
      case PRECONDITION_FAILED:
        return new PreconditionFailed(describe(operation, key), cause);
      case NO_SUCH_UPLOAD:
        return new UploadVanished(describe(operation, key), cause);
      case NOT_IMPLEMENTED:
        return new NotImplementedByEndpoint(
            describe(operation, key)
                + " is not implemented by the endpoint: "
                + S3Failure.describe(cause),
            cause);
      case INTERRUPTED:
        Thread.currentThread().interrupt();
        return new StorageException(describe(operation, key) + " was interrupted", cause);
      default:
        return new StorageException(
            describe(operation, key) + " failed: " + S3Failure.describe(cause), cause);
    }
  }

  /** 412 on a conditional write: something is at the key already. */
  static final class PreconditionFailed extends StorageException {
    PreconditionFailed(String what, Throwable cause) {
      super(what + ": precondition failed (an object is already at the key)", cause);
    }
  }

  /** NoSuchUpload: the endpoint lost the multipart upload (e.g. after a restart). */
  static final class UploadVanished extends StorageException {
    UploadVanished(String what, Throwable cause) {
      super(what + ": the endpoint no longer knows the multipart upload", cause);
    }
  }

  /** 501: the endpoint does not implement something the request asked for. */
  static final class NotImplementedByEndpoint extends StorageException {
    NotImplementedByEndpoint(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
