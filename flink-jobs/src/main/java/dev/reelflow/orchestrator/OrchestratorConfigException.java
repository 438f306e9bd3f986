package dev.reelflow.orchestrator;

import dev.reelflow.config.ConfigException;

/**
 * An orchestrator setting is unknown, missing or invalid, alone or together with others; the
 * message names the setting, where its value came from and what to fix. Every configuration error
 * the orchestrator raises has this type.
 */
public class OrchestratorConfigException extends ConfigException {
  private static final long serialVersionUID = 1L;

  public OrchestratorConfigException(String message) {
    super(message);
  }

  public OrchestratorConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
