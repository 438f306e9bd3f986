package dev.reelflow.engine.checkpoint;

import dev.reelflow.engine.EngineApi;

/**
 * A checkpoint folder cannot serve a request: a missing or unreadable folder, component, variant,
 * config or index. The message names the path and what to do.
 */
@EngineApi
public final class ModelFolderException extends RuntimeException {
  public ModelFolderException(String message) {
    super(message);
  }

  public ModelFolderException(String message, Throwable cause) {
    super(message, cause);
  }
}
