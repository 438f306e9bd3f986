package dev.reelflow.storage;

/** The bytes read (or written) do not hash to the SHA-256 recorded for the object. */
public final class ChecksumMismatchException extends StorageException {
  private final String key;
  private final String expectedSha256;
  private final String actualSha256;

  public ChecksumMismatchException(String key, String expectedSha256, String actualSha256) {
    super(
        "SHA-256 mismatch for '"
            + key
            + "': expected "
            + expectedSha256
            + ", got "
            + actualSha256
            + ". The object is corrupt or was replaced while being read; re-run the stage that"
            + " produced it (its key is deterministic, so the retry overwrites it).");
    this.key = key;
    this.expectedSha256 = expectedSha256;
    this.actualSha256 = actualSha256;
  }

  public String key() {
    return key;
  }

  public String expectedSha256() {
    return expectedSha256;
  }

  public String actualSha256() {
    return actualSha256;
  }
}
