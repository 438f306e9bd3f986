package dev.reelflow.orchestrator;

/** A schedule's cron expression cannot be read; the message names the field to fix. */
public class CronFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public CronFormatException(String message) {
    super(message);
  }
}
