package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Builder validation, the setting names it reports, presigning and the retry loop, without a
 * server.
 */
class ArtifactStoreBuilderTest {
  private static ArtifactStore.Builder valid() {
    return ArtifactStore.builder().endpoint("http://127.0.0.1:1").credentials("ak", "sk");
  }

  @Test
  void refusesInvalidOptionsWithTheKeyName() {
    assertThatThrownBy(() -> ArtifactStore.builder().credentials("a", "b").build())
        .hasMessageContaining("s3.endpoint");
    assertThatThrownBy(() -> valid().endpoint("ftp://x").build())
        .hasMessageContaining("http(s) URL");
    assertThatThrownBy(() -> valid().partSize(1024).build())
        .hasMessageContaining("s3.multipart.part-size-bytes");
    assertThatThrownBy(() -> valid().bucket("Bad_Bucket").build())
        .hasMessageContaining("s3.bucket");
    assertThatThrownBy(() -> valid().parallelParts(0).build())
        .hasMessageContaining("s3.multipart.parallel-parts");
  }

  @Test
  void describeNamesTheS3SettingsAndMasksTheSecret() {
    ArtifactStore.Builder b =
        ArtifactStore.builder()
            .endpoint("http://s3.internal:9000")
            .credentials("AK", "very-secret")
            .bucket("renders")
            .partSize(8L * 1024 * 1024)
            .connectTimeout(Duration.ofMillis(1500))
            .retryPolicy(RetryPolicy.builder().maxElapsed(Duration.ofSeconds(90)).build())
            .conditionalWrites(ArtifactStore.Builder.ConditionalWrites.NEVER)
            .attemptArtifactExpiry(7);
    Map<String, String> d = b.describe();
    assertThat(d)
        .containsEntry("s3.endpoint", "http://s3.internal:9000")
        .containsEntry("s3.access-key", "AK")
        .containsEntry("s3.bucket", "renders")
        .containsEntry("s3.region", "us-east-1")
        .containsEntry("s3.multipart.part-size-bytes", "8388608")
        .containsEntry("s3.connect-timeout", "1500ms")
        .containsEntry("s3.request-timeout", "1m")
        .containsEntry("s3.retry.max-elapsed", "90s")
        .containsEntry("s3.conditional-writes", "never")
        .containsEntry("s3.attempt-expiry-days", "7")
        .containsEntry("s3.presign-endpoint", "http://s3.internal:9000")
        .containsEntry("s3.secret-key", "****");
    assertThat(d.keySet()).allMatch(k -> k.startsWith("s3."));
    assertThat(d.toString()).doesNotContain("very-secret");
  }

  @Test
  void presignsOfflineAndRefusesOtherTenantsKeys() {
    try (ArtifactStore store = valid().bucket("reelflow").build()) {
      String key = ArtifactKeys.finalVideo("acme", Instant.parse("2026-11-25T00:00:00Z"), "r-1");
      URI url = store.presignGetForTenant("acme", key, Duration.ofMinutes(5));
      assertThat(url.getPath()).isEqualTo("/reelflow/" + key);
      assertThat(url.getQuery()).contains("X-Amz-Expires=300").contains("X-Amz-Signature=");
      assertThatThrownBy(() -> store.presignGetForTenant("other", key, Duration.ofMinutes(5)))
          .isInstanceOf(KeyOutsideTenantException.class);
      assertThatThrownBy(() -> store.presignGet(key, Duration.ofDays(8)))
          .hasMessageContaining("7 days");
    }
  }

  @Test
  void presignsForThePublicHostWhenOneIsConfigured() {
    try (ArtifactStore store =
        valid().presignEndpoint("https://media.example.test").bucket("reelflow").build()) {
      URI url = store.presignGet("demo/k.mp4", Duration.ofMinutes(1));
      assertThat(url.getScheme()).isEqualTo("https");
      assertThat(url.getHost()).isEqualTo("media.example.test");
      assertThat(url.getPath()).isEqualTo("/reelflow/demo/k.mp4");
    }
    assertThatThrownBy(() -> valid().presignEndpoint("not a url").build())
        .hasMessageContaining("s3.presign-endpoint");
  }

  @Test
  void retriesRetryableFailuresThenSucceeds() {
    try (MinioArtifactStore store =
        (MinioArtifactStore)
            valid()
                .retryPolicy(
                    RetryPolicy.builder()
                        .initialBackoff(Duration.ofMillis(1))
                        .maxBackoff(Duration.ofMillis(5))
                        .maxElapsed(Duration.ofSeconds(10))
                        .build())
                .build()) {
      AtomicInteger tries = new AtomicInteger();
      double retriesBefore = StorageMetrics.REQUESTS.labelValues("test_op", "retry").get();
      String result =
          store.call(
              "test op 3",
              "k",
              () -> {
                if (tries.incrementAndGet() < 4) {
                  throw new ConnectException("refused");
                }
                return "ok";
              });
      assertThat(result).isEqualTo("ok");
      assertThat(tries).hasValue(4);
      assertThat(StorageMetrics.REQUESTS.labelValues("test_op", "retry").get() - retriesBefore)
          .isEqualTo(3.0);
      assertThat(StorageMetrics.REQUESTS.labelValues("test_op", "ok").get()).isGreaterThan(0);
    }
  }

  @Test
  void doesNotRetryClientErrorsAndGivesUpAfterTheBudget() {
    try (MinioArtifactStore store =
        (MinioArtifactStore)
            valid()
                .retryPolicy(
                    RetryPolicy.builder()
                        .initialBackoff(Duration.ofMillis(10))
                        .maxBackoff(Duration.ofMillis(20))
                        .maxElapsed(Duration.ofMillis(300))
                        .build())
                .build()) {
      AtomicInteger tries = new AtomicInteger();
      assertThatThrownBy(
              () ->
                  store.call(
                      "get",
                      "k",
                      () -> {
                        tries.incrementAndGet();
                        throw S3FailureTest.s3Error(403, "InvalidAccessKeyId");
                      }))
          .isInstanceOf(InvalidCredentialsException.class)
          .hasMessageContaining("s3.access-key");
      assertThat(tries).hasValue(1);

      tries.set(0);
      long start = System.nanoTime();
      assertThatThrownBy(
              () ->
                  store.call(
                      "put",
                      "k",
                      () -> {
                        tries.incrementAndGet();
                        throw new IOException("connection reset");
                      }))
          .isInstanceOf(StorageUnavailableException.class)
          .hasMessageContaining("s3.retry.max-elapsed");
      assertThat(tries.get()).isGreaterThan(3);
      assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(2_000);
    }
  }
}
