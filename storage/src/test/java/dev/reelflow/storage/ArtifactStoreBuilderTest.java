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

/** Builder validation, configuration keys, presigning and the retry loop, without a server. */
class ArtifactStoreBuilderTest {
  private static ArtifactStore.Builder valid() {
    return ArtifactStore.builder().endpoint("http://127.0.0.1:1").credentials("ak", "sk");
  }

  @Test
  void refusesInvalidOptionsWithTheKeyName() {
    assertThatThrownBy(() -> ArtifactStore.builder().credentials("a", "b").build())
        .hasMessageContaining("storage.endpoint");
    assertThatThrownBy(() -> valid().endpoint("ftp://x").build())
        .hasMessageContaining("http(s) URL");
    assertThatThrownBy(() -> valid().partSize(1024).build())
        .hasMessageContaining("storage.multipart.part-size-bytes");
    assertThatThrownBy(() -> valid().bucket("Bad_Bucket").build())
        .hasMessageContaining("storage.bucket");
    assertThatThrownBy(() -> valid().parallelParts(0).build())
        .hasMessageContaining("storage.multipart.parallel-parts");
  }

  @Test
  void configureAppliesDocumentedKeysAndDescribeMasksTheSecret() {
    ArtifactStore.Builder b =
        ArtifactStore.builder()
            .configure(
                Map.of(
                    "storage.endpoint", "http://s3.internal:9000",
                    "storage.access-key", "AK",
                    "storage.secret-key", "very-secret",
                    "storage.bucket", "renders",
                    "storage.multipart.part-size-bytes", "8388608",
                    "storage.retry.max-elapsed-ms", "90000",
                    "storage.conditional-writes", "false",
                    "storage.attempt-expiry-days", "7"));
    Map<String, String> d = b.describe();
    assertThat(d)
        .containsEntry("storage.endpoint", "http://s3.internal:9000")
        .containsEntry("storage.bucket", "renders")
        .containsEntry("storage.multipart.part-size-bytes", "8388608")
        .containsEntry("storage.retry.max-elapsed-ms", "90000")
        .containsEntry("storage.conditional-writes", "never")
        .containsEntry("storage.attempt-expiry-days", "7")
        .containsEntry("storage.secret-key", "****");
    assertThat(d.toString()).doesNotContain("very-secret");
    assertThatThrownBy(
            () -> ArtifactStore.builder().configure(Map.of("storage.conditional-writes", "maybe")))
        .hasMessageContaining("storage.conditional-writes");
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
        .hasMessageContaining("storage.presign-endpoint");
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
          .hasMessageContaining("storage.access-key");
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
          .hasMessageContaining("storage.retry.max-elapsed");
      assertThat(tries.get()).isGreaterThan(3);
      assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(2_000);
    }
  }
}
