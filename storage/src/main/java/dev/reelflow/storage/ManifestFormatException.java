package dev.reelflow.storage;

/** A manifest.json could not be read: bad JSON, an unknown schema version or a missing field. */
public final class ManifestFormatException extends StorageException {
  public ManifestFormatException(String message) {
    super(message);
  }

  public ManifestFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
