package dev.reelflow.stack;

/** A platform service of the local stack could not be started or stopped. */
public class StackException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StackException(String message, Throwable cause) {
    super(message, cause);
  }

  public StackException(String message) {
    super(message);
  }
}
