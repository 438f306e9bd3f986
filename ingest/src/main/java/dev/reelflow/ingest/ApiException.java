package dev.reelflow.ingest;

import java.util.List;
import java.util.Map;

/**
 * A request that ends with an RFC 9457 problem answer. Thrown anywhere below a route; the server
 * turns it into {@code application/problem+json} with the status, title, detail and the field
 * errors.
 */
final class ApiException extends RuntimeException {
  private final int status;
  private final String title;
  private final List<FieldError> errors;
  private final Map<String, String> headers;

  ApiException(int status, String title, String detail) {
    this(status, title, detail, List.of(), Map.of());
  }

  ApiException(
      int status,
      String title,
      String detail,
      List<FieldError> errors,
      Map<String, String> headers) {
    super(detail);
    this.status = status;
    this.title = title;
    this.errors = List.copyOf(errors);
    this.headers = Map.copyOf(headers);
  }

  int status() {
    return status;
  }

  String title() {
    return title;
  }

  List<FieldError> errors() {
    return errors;
  }

  Map<String, String> headers() {
    return headers;
  }

  static ApiException badRequest(String detail) {
    return new ApiException(400, "Malformed request", detail);
  }

  static ApiException unauthorized(String detail) {
    return new ApiException(
        401, "Unauthorized", detail, List.of(), Map.of("WWW-Authenticate", "Bearer"));
  }

  static ApiException notFound(String detail) {
    return new ApiException(404, "Not found", detail);
  }

  static ApiException conflict(String detail) {
    return new ApiException(409, "Conflict", detail);
  }

  static ApiException tooLarge(String detail) {
    return new ApiException(413, "Content too large", detail);
  }

  static ApiException unsupportedMediaType(String detail) {
    return new ApiException(415, "Unsupported media type", detail);
  }

  static ApiException invalid(List<FieldError> errors) {
    return new ApiException(
        422,
        "Validation failed",
        errors.size() == 1
            ? errors.get(0).field() + ": " + errors.get(0).message()
            : errors.size() + " fields are invalid",
        errors,
        Map.of());
  }

  static ApiException tooManyRequests(String detail, long retryAfterSeconds) {
    return new ApiException(
        429,
        "Too many requests",
        detail,
        List.of(),
        Map.of("Retry-After", Long.toString(Math.max(1, retryAfterSeconds))));
  }

  static ApiException unavailable(String detail, long retryAfterSeconds) {
    return new ApiException(
        503,
        "Service unavailable",
        detail,
        List.of(),
        Map.of("Retry-After", Long.toString(Math.max(1, retryAfterSeconds))));
  }
}
