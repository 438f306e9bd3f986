package dev.reelflow.orchestrator;

/**
 * The orchestrator could not learn which acknowledged renders are unfinished after starting without
 * state (the topics could not be read in time). Thrown at start, so the job never runs while
 * renders it should own are left hanging.
 */
public final class StateRecoveryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StateRecoveryException(String message, Throwable cause) {
    super(message, cause);
  }
}
