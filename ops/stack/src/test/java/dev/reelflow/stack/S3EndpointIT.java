package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.errors.ErrorResponseException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class S3EndpointIT {
  @TempDir static Path workDir;
  static S3Endpoint s3;
  static MinioClient client;

  @BeforeAll
  static void start() {
    s3 = S3Endpoint.builder(workDir).bucket("reelflow").build();
    s3.start();
    client =
        MinioClient.builder()
            .endpoint(s3.endpoint())
            .credentials(s3.accessKey(), s3.secretKey())
            .region(s3.region())
            .build();
  }

  @AfterAll
  static void stop() {
    s3.close();
  }

  @Test
  void bucketIsCreatedAndObjectsRoundTrip() throws Exception {
    assertThat(client.bucketExists(BucketExistsArgs.builder().bucket("reelflow").build())).isTrue();
    put("a/b/hello.txt", "hello", Map.of());
    assertThat(get("a/b/hello.txt")).isEqualTo("hello");
  }

  @Test
  void wrongSecretIsRejected() {
    MinioClient wrong =
        MinioClient.builder()
            .endpoint(s3.endpoint())
            .credentials(s3.accessKey(), "not-the-secret")
            .region(s3.region())
            .build();
    assertThatThrownBy(
            () -> wrong.bucketExists(BucketExistsArgs.builder().bucket("reelflow").build()))
        .isInstanceOf(ErrorResponseException.class);
  }

  @Test
  void ifNoneMatchStarRefusesToOverwriteAnExistingKey() throws Exception {
    put("once/final.mp4", "first", Map.of("If-None-Match", "*"));
    assertThatThrownBy(() -> put("once/final.mp4", "second", Map.of("If-None-Match", "*")))
        .isInstanceOfSatisfying(
            ErrorResponseException.class, e -> assertThat(e.response().code()).isEqualTo(412));
    assertThat(get("once/final.mp4")).isEqualTo("first");
  }

  @Test
  void stopAndStartOnTheSamePortKeepsObjects() throws Exception {
    put("durable/object.bin", "kept", Map.of());
    int port = s3.port();
    s3.stop();
    assertThat(s3.isRunning()).isFalse();
    assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
        .isInstanceOf(ConnectException.class);
    s3.start();
    assertThat(s3.port()).isEqualTo(port);
    assertThat(get("durable/object.bin")).isEqualTo("kept");
  }

  @Test
  void stopCutsAnInFlightUploadPromptlyAndARetryAfterStartSucceeds() throws Exception {
    int size = 4 * 1024 * 1024;
    // A body that trickles: the upload is still running when the endpoint goes down.
    InputStream slow =
        new InputStream() {
          int sent;

          @Override
          public int read() {
            return sent++ < size ? 'x' : -1;
          }

          @Override
          public int read(byte[] b, int off, int len) throws java.io.IOException {
            if (sent >= size) {
              return -1;
            }
            try {
              Thread.sleep(20);
            } catch (InterruptedException e) {
              throw new java.io.InterruptedIOException();
            }
            int n = Math.min(Math.min(len, 16 * 1024), size - sent);
            java.util.Arrays.fill(b, off, off + n, (byte) 'x');
            sent += n;
            return n;
          }
        };
    var upload =
        java.util.concurrent.CompletableFuture.runAsync(
            () -> {
              try {
                client.putObject(
                    PutObjectArgs.builder().bucket("reelflow").object("cut/big.bin").stream(
                            slow, size, -1)
                        .build());
              } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
              }
            });
    Thread.sleep(1_000);
    assertThat(upload).isNotDone();
    long begin = System.nanoTime();
    s3.stop();
    assertThat((System.nanoTime() - begin) / 1_000_000).isLessThan(5_000);
    assertThat(upload)
        .failsWithin(java.time.Duration.ofSeconds(30))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class);
    s3.start();
    put("cut/big.bin", "retried", Map.of());
    assertThat(get("cut/big.bin")).isEqualTo("retried");
  }

  static void put(String key, String content, Map<String, String> headers) throws Exception {
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    client.putObject(
        PutObjectArgs.builder().bucket("reelflow").object(key).headers(headers).stream(
                new ByteArrayInputStream(bytes), bytes.length, -1)
            .build());
  }

  static String get(String key) throws Exception {
    try (InputStream in =
        client.getObject(GetObjectArgs.builder().bucket("reelflow").object(key).build())) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
