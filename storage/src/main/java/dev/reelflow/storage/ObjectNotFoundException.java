package dev.reelflow.storage;

/** No object exists at the key. */
public final class ObjectNotFoundException extends StorageException {
  private final String key;

  public ObjectNotFoundException(String bucket, String key, Throwable cause) {
    super(
        "No object at s3://"
            + bucket
            + "/"
            + key
            + ". Check that the producing stage completed (its StageEvent lists the keys it"
            + " wrote) and that the key was built by ArtifactKeys.",
        cause);
    this.key = key;
  }

  public String key() {
    return key;
  }
}
