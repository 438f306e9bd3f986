package dev.reelflow.stack;

/**
 * A registry request that failed, carrying the HTTP status and the Confluent error code that the
 * Confluent REST API answers with ({@code {"error_code":..., "message":...}}).
 */
final class RegistryException extends Exception {
  private static final long serialVersionUID = 1L;

  static final int SUBJECT_NOT_FOUND = 40401;
  static final int VERSION_NOT_FOUND = 40402;
  static final int SCHEMA_NOT_FOUND = 40403;
  static final int SUBJECT_SOFT_DELETED = 40404;
  static final int SUBJECT_NOT_SOFT_DELETED = 40405;
  static final int VERSION_SOFT_DELETED = 40406;
  static final int VERSION_NOT_SOFT_DELETED = 40407;
  static final int SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED = 40408;
  static final int INVALID_SCHEMA = 42201;
  static final int INVALID_VERSION = 42202;
  static final int INVALID_COMPATIBILITY_LEVEL = 42203;
  static final int INCOMPATIBLE_SCHEMA = 409;
  static final int STORE_ERROR = 50001;
  static final int OPERATION_TIMEOUT = 50002;

  private final int httpStatus;
  private final int errorCode;

  RegistryException(int httpStatus, int errorCode, String message) {
    super(message);
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
  }

  int httpStatus() {
    return httpStatus;
  }

  int errorCode() {
    return errorCode;
  }

  static RegistryException subjectNotFound(String subject) {
    return new RegistryException(404, SUBJECT_NOT_FOUND, "Subject '" + subject + "' not found.");
  }

  static RegistryException versionNotFound(Object version) {
    return new RegistryException(404, VERSION_NOT_FOUND, "Version " + version + " not found.");
  }

  static RegistryException schemaNotFound(String detail) {
    return new RegistryException(404, SCHEMA_NOT_FOUND, detail);
  }

  static RegistryException invalidSchema(String detail) {
    return new RegistryException(422, INVALID_SCHEMA, "Invalid schema " + detail);
  }

  static RegistryException invalidVersion(String version) {
    return new RegistryException(
        422,
        INVALID_VERSION,
        "The specified version '"
            + version
            + "' is not a valid version id. Allowed values are between [1, 2^31-1] and the string"
            + " \"latest\"");
  }

  static RegistryException invalidCompatibilityLevel(String level) {
    return new RegistryException(
        422,
        INVALID_COMPATIBILITY_LEVEL,
        "Invalid compatibility level '"
            + level
            + "'. Valid values are none, backward, forward, full, backward_transitive,"
            + " forward_transitive, and full_transitive");
  }

  static RegistryException incompatible(String subject, java.util.List<String> details) {
    return new RegistryException(
        409,
        INCOMPATIBLE_SCHEMA,
        "Schema being registered is incompatible with an earlier schema for subject \""
            + subject
            + "\", details: "
            + details);
  }

  static RegistryException storeError(String detail) {
    return new RegistryException(500, STORE_ERROR, "Error in the backend data store: " + detail);
  }

  static RegistryException timeout(String detail) {
    return new RegistryException(500, OPERATION_TIMEOUT, "Operation timed out: " + detail);
  }

  static RegistryException badRequest(String detail) {
    return new RegistryException(400, 400, detail);
  }
}
