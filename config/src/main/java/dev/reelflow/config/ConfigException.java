package dev.reelflow.config;

/**
 * A setting is unknown, missing or has a value that cannot be used; the message names the setting,
 * where the value came from and what to write instead.
 */
public class ConfigException extends IllegalArgumentException {

  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
