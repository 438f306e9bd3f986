package dev.reelflow.upscale;

/**
 * A super-resolution model folder cannot be used: its {@code model.json} is malformed, uses a layer
 * this engine does not implement, or its weight shards do not match the manifest. The message names
 * the file, the layer or tensor, and what was expected; re-copy the model folder (for the bundled
 * weights: rebuild the module) or point the engine at an intact one.
 */
public final class ModelFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelFormatException(String message) {
    super(message);
  }

  public ModelFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
