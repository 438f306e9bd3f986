package dev.reelflow.ingest;

/**
 * One bad input field: {@code field} is a JSON-pointer-like path such as {@code rows[3].frames}.
 */
record FieldError(String field, String message) {

  FieldError withPrefix(String prefix) {
    return new FieldError(field.isEmpty() ? prefix : prefix + "." + field, message);
  }
}
