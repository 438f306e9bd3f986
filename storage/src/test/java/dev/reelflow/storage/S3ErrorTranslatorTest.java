package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.SocketTimeoutException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class S3ErrorTranslatorTest {
  private final S3ErrorTranslator errors =
      new S3ErrorTranslator("media", "http://s3.example.test:9000");

  @Test
  void mapsEachS3FailureToItsTypedException() {
    assertThat(errors.translate("get", "a/b.mp4", S3FailureTest.s3Error(404, "NoSuchBucket")))
        .isInstanceOf(BucketNotFoundException.class)
        .hasMessageContaining("'media'");
    StorageException notFound =
        errors.translate("get", "a/b.mp4", S3FailureTest.s3Error(404, "NoSuchKey"));
    assertThat(notFound).isInstanceOf(ObjectNotFoundException.class);
    assertThat(((ObjectNotFoundException) notFound).key()).isEqualTo("a/b.mp4");
    assertThat(notFound).hasMessageContaining("s3://media/a/b.mp4");
    assertThat(errors.translate("put", "k", S3FailureTest.s3Error(403, "SignatureDoesNotMatch")))
        .isInstanceOf(InvalidCredentialsException.class)
        .hasMessageContaining("http://s3.example.test:9000")
        .hasMessageContaining("(SignatureDoesNotMatch)");
    assertThat(errors.translate("put", "k", S3FailureTest.s3Error(412, "PreconditionFailed")))
        .isInstanceOf(S3ErrorTranslator.PreconditionFailed.class)
        .hasMessageStartingWith("put of 'k': precondition failed");
    assertThat(
            errors.translate(
                "complete multipart upload", "k", S3FailureTest.s3Error(404, "NoSuchUpload")))
        .isInstanceOf(S3ErrorTranslator.UploadVanished.class)
        .hasMessageStartingWith("complete multipart upload of 'k'");
    assertThat(errors.translate("put", "k", S3FailureTest.s3Error(501, "NotImplemented")))
        .isInstanceOf(S3ErrorTranslator.NotImplementedByEndpoint.class)
        .hasMessage(
            "put of 'k' is not implemented by the endpoint: HTTP 501 NotImplemented"
                + " (NotImplemented message)");
  }

  @Test
  void otherFailuresBecomeAPlainStorageExceptionNamingTheOperation() {
    StorageException other =
        errors.translate("copy", null, S3FailureTest.s3Error(400, "InvalidArgument"));
    assertThat(other.getClass()).isEqualTo(StorageException.class);
    assertThat(other)
        .hasMessage(
            "copy (bucket media) failed: HTTP 400 InvalidArgument (InvalidArgument message)");
    // Unwrapped from the async client's wrappers, the real cause is kept.
    SocketTimeoutException timeout = new SocketTimeoutException("read timed out");
    StorageException wrapped =
        errors.translate("get", "k", new ExecutionException(new CompletionException(timeout)));
    assertThat(wrapped.getCause()).isSameAs(timeout);
  }

  @Test
  void passesTypedExceptionsThroughAndKeepsTheInterruptFlag() {
    ObjectNotFoundException typed = new ObjectNotFoundException("media", "k", null);
    assertThat(errors.translate("get", "k", new ExecutionException(typed))).isSameAs(typed);

    try {
      StorageException interrupted = errors.translate("get", "k", new InterruptedException());
      assertThat(interrupted).hasMessage("get of 'k' was interrupted");
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted(); // clear the flag for the next test
    }
  }
}
