package dev.reelflow.storage;

/**
 * Root of the storage failures. Every subclass says in its message what the caller (or the
 * operator) can do about it. Unchecked, so that callers decide where to handle it.
 */
public class StorageException extends RuntimeException {
  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
