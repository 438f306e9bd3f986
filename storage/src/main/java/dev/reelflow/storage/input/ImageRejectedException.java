package dev.reelflow.storage.input;

/**
 * A reference image (or where it is said to be) that can never be used: the wrong type, too large,
 * unreadable, an address the rules forbid. The message is meant for the client and names what to
 * change; retrying the same input cannot succeed.
 */
public final class ImageRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ImageRejectedException(String message) {
    super(message);
  }

  public ImageRejectedException(String message, Throwable cause) {
    super(message, cause);
  }
}
