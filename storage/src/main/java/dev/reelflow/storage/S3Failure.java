package dev.reelflow.storage;

import io.minio.errors.ErrorResponseException;
import io.minio.errors.InvalidResponseException;
import io.minio.errors.ServerException;
import io.minio.errors.XmlParserException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** What a failed S3 call means: retry it, or which typed error it is. */
enum S3Failure {
  RETRYABLE,
  NOT_FOUND,
  NO_SUCH_BUCKET,
  CREDENTIALS,
  PRECONDITION_FAILED,
  NO_SUCH_UPLOAD,
  NOT_IMPLEMENTED,
  INTERRUPTED,
  OTHER;

  private static final Set<String> CREDENTIAL_CODES =
      Set.of(
          "InvalidAccessKeyId",
          "SignatureDoesNotMatch",
          "AccessDenied",
          "InvalidToken",
          "ExpiredToken",
          "AuthorizationHeaderMalformed",
          "InvalidSecurity");
  private static final Set<String> RETRYABLE_CODES =
      Set.of(
          "SlowDown",
          "RequestTimeout",
          "InternalError",
          "ServiceUnavailable",
          "RequestTimeTooSkewed",
          "OperationAborted",
          "ConditionalRequestConflict",
          "XMinioServerNotInitialized");

  /** Strips the wrappers of the async client. */
  static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof ExecutionException || c instanceof CompletionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  static S3Failure classify(Throwable raw) {
    Throwable t = unwrap(raw);
    if (t instanceof InterruptedException
        || (t instanceof InterruptedIOException && !(t instanceof SocketTimeoutException))) {
      return INTERRUPTED;
    }
    if (t instanceof ErrorResponseException e) {
      String code = e.errorResponse() == null ? "" : String.valueOf(e.errorResponse().code());
      int status = e.response() == null ? 0 : e.response().code();
      if (code.equals("NoSuchBucket")) {
        return NO_SUCH_BUCKET;
      }
      if (code.equals("NoSuchKey") || code.equals("NoSuchObject")) {
        return NOT_FOUND;
      }
      if (code.equals("NoSuchUpload")) {
        return NO_SUCH_UPLOAD;
      }
      if (code.equals("PreconditionFailed") || status == 412) {
        return PRECONDITION_FAILED;
      }
      if (CREDENTIAL_CODES.contains(code)) {
        return CREDENTIALS;
      }
      if (code.equals("NotImplemented") || status == 501) {
        return NOT_IMPLEMENTED;
      }
      if (RETRYABLE_CODES.contains(code) || status >= 500 || status == 409 || status == 429) {
        return RETRYABLE;
      }
      if (status == 404) {
        return NOT_FOUND;
      }
      if (status == 403) {
        return CREDENTIALS;
      }
      return OTHER;
    }
    if (t instanceof ServerException || t instanceof InvalidResponseException) {
      return RETRYABLE; // 5xx or a non-S3 answer (e.g. a proxy's error page) in between
    }
    if (t instanceof XmlParserException) {
      return RETRYABLE; // truncated answer of a dying connection
    }
    if (t instanceof IOException) {
      return RETRYABLE; // refused, reset, timed out, unexpected end of stream
    }
    return OTHER;
  }

  static String describe(Throwable raw) {
    Throwable t = unwrap(raw);
    if (t instanceof ErrorResponseException e) {
      int status = e.response() == null ? 0 : e.response().code();
      String code = e.errorResponse() == null ? "?" : e.errorResponse().code();
      String msg = e.errorResponse() == null ? "" : e.errorResponse().message();
      return "HTTP " + status + " " + code + (msg == null ? "" : " (" + msg + ")");
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  static String code(Throwable raw) {
    Throwable t = unwrap(raw);
    if (t instanceof ErrorResponseException e && e.errorResponse() != null) {
      return e.errorResponse().code();
    }
    return t.getClass().getSimpleName();
  }
}
