package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.minio.errors.ErrorResponseException;
import io.minio.messages.ErrorResponse;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

class S3FailureTest {
  static ErrorResponseException s3Error(int status, String code) {
    Response response =
        new Response.Builder()
            .request(new Request.Builder().url("http://localhost/b/k").build())
            .protocol(Protocol.HTTP_1_1)
            .code(status)
            .message(code)
            .build();
    return new ErrorResponseException(
        new ErrorResponse(code, code + " message", "b", "k", "", "", ""), response, "");
  }

  @Test
  void retriesServerErrorsThrottlingConflictsAndConnectionFailures() {
    assertThat(S3Failure.classify(s3Error(500, "InternalError"))).isEqualTo(S3Failure.RETRYABLE);
    assertThat(S3Failure.classify(s3Error(503, "SlowDown"))).isEqualTo(S3Failure.RETRYABLE);
    assertThat(S3Failure.classify(s3Error(429, "TooManyRequests"))).isEqualTo(S3Failure.RETRYABLE);
    assertThat(S3Failure.classify(s3Error(409, "OperationAborted"))).isEqualTo(S3Failure.RETRYABLE);
    assertThat(S3Failure.classify(s3Error(400, "RequestTimeout"))).isEqualTo(S3Failure.RETRYABLE);
    assertThat(S3Failure.classify(new ConnectException("refused"))).isEqualTo(S3Failure.RETRYABLE);
    assertThat(S3Failure.classify(new SocketTimeoutException("read timed out")))
        .isEqualTo(S3Failure.RETRYABLE);
    assertThat(
            S3Failure.classify(
                new ExecutionException(new CompletionException(new IOException("reset")))))
        .isEqualTo(S3Failure.RETRYABLE);
  }

  @Test
  void doesNotRetryOtherClientErrors() {
    assertThat(S3Failure.classify(s3Error(404, "NoSuchKey"))).isEqualTo(S3Failure.NOT_FOUND);
    assertThat(S3Failure.classify(s3Error(404, "NoSuchBucket")))
        .isEqualTo(S3Failure.NO_SUCH_BUCKET);
    assertThat(S3Failure.classify(s3Error(403, "InvalidAccessKeyId")))
        .isEqualTo(S3Failure.CREDENTIALS);
    assertThat(S3Failure.classify(s3Error(403, "SignatureDoesNotMatch")))
        .isEqualTo(S3Failure.CREDENTIALS);
    assertThat(S3Failure.classify(s3Error(412, "PreconditionFailed")))
        .isEqualTo(S3Failure.PRECONDITION_FAILED);
    assertThat(S3Failure.classify(s3Error(404, "NoSuchUpload")))
        .isEqualTo(S3Failure.NO_SUCH_UPLOAD);
    assertThat(S3Failure.classify(s3Error(501, "NotImplemented")))
        .isEqualTo(S3Failure.NOT_IMPLEMENTED);
    assertThat(S3Failure.classify(s3Error(400, "InvalidArgument"))).isEqualTo(S3Failure.OTHER);
    assertThat(S3Failure.classify(new InterruptedException())).isEqualTo(S3Failure.INTERRUPTED);
  }
}
