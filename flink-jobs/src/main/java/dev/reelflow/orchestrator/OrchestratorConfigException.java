package dev.reelflow.orchestrator;

/** An orchestrator setting is missing or invalid; the message names the key and what to fix. */
public class OrchestratorConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public OrchestratorConfigException(String message) {
    super(message);
  }

  public OrchestratorConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
