package dev.reelflow.upscale;

/** The render was cancelled while a frame was being upscaled; the partial frame is dropped. */
public final class UpscaleCancelledException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UpscaleCancelledException(String message) {
    super(message);
  }
}
