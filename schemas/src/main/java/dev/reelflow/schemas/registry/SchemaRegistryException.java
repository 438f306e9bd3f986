package dev.reelflow.schemas.registry;

/**
 * A schema registry call that failed: a 4xx answer (with Confluent's {@code error_code}), or a 5xx
 * answer / connection failure that persisted through every retry.
 *
 * <p>{@link #status()} is the HTTP status, or -1 when no answer came. {@link #errorCode()} is
 * Confluent's code (e.g. 40401 subject not found, 40403 schema not found, 409 incompatible, 42201
 * invalid schema), or -1 when the body carried none.
 */
public class SchemaRegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Subject not found. */
  public static final int SUBJECT_NOT_FOUND = 40401;

  /** Version not found. */
  public static final int VERSION_NOT_FOUND = 40402;

  /** Schema (id) not found. */
  public static final int SCHEMA_NOT_FOUND = 40403;

  /** Subject has no compatibility level of its own. */
  public static final int SUBJECT_CONFIG_NOT_FOUND = 40408;

  /** Schema is incompatible with an earlier version (HTTP 409). */
  public static final int INCOMPATIBLE_SCHEMA = 409;

  /** Schema is not valid Avro. */
  public static final int INVALID_SCHEMA = 42201;

  /** Version is not valid. */
  public static final int INVALID_VERSION = 42202;

  /** Compatibility level is not valid. */
  public static final int INVALID_COMPATIBILITY_LEVEL = 42203;

  private final int status;
  private final int errorCode;

  public SchemaRegistryException(int status, int errorCode, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.errorCode = errorCode;
  }

  public SchemaRegistryException(int status, int errorCode, String message) {
    this(status, errorCode, message, null);
  }

  /** HTTP status, -1 when the registry could not be reached. */
  public int status() {
    return status;
  }

  /** Confluent's {@code error_code}, -1 when none. */
  public int errorCode() {
    return errorCode;
  }

  /** True for 404 answers (subject, version or schema id not found). */
  public boolean isNotFound() {
    return status == 404;
  }

  /** True when the failure is the registry's or the network's, not the request's. */
  public boolean isRetriable() {
    return status < 0 || status >= 500;
  }
}
