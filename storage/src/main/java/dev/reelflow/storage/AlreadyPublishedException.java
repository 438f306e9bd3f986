package dev.reelflow.storage;

/**
 * A write-once key already holds different bytes: a result was published before (typically by an
 * earlier attempt that finished first) and is never replaced.
 */
public final class AlreadyPublishedException extends StorageException {
  private final String key;
  private final String publishedSha256;
  private final String attemptedSha256;

  public AlreadyPublishedException(String key, String publishedSha256, String attemptedSha256) {
    super(
        "'"
            + key
            + "' was already published with SHA-256 "
            + publishedSha256
            + "; refusing to replace it with "
            + attemptedSha256
            + ". Published results are write-once: treat this attempt as superseded and report"
            + " the existing result.");
    this.key = key;
    this.publishedSha256 = publishedSha256;
    this.attemptedSha256 = attemptedSha256;
  }

  public String key() {
    return key;
  }

  public String publishedSha256() {
    return publishedSha256;
  }

  public String attemptedSha256() {
    return attemptedSha256;
  }
}
