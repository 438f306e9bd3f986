package dev.reelflow.storage;

/** The endpoint refused the access key or the request signature. */
public final class InvalidCredentialsException extends StorageException {
  public InvalidCredentialsException(String endpoint, String s3Code, Throwable cause) {
    super(
        "The S3 endpoint "
            + endpoint
            + " refused the credentials ("
            + s3Code
            + "). Check s3.access-key / s3.secret-key (or the env overrides) and the"
            + " region; they must match a user of that endpoint.",
        cause);
  }
}
