package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.stack.S3Endpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The embedded S3 endpoint goes away in the middle of a multipart upload. */
class ArtifactStoreOutageIT {
  private static final long MIB = 1024 * 1024;
  private static final Instant CREATED = Instant.parse("2026-11-25T09:00:00Z");

  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().s3().build();

  @TempDir Path tmp;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void restartEndpoint() {
    timer.shutdownNow();
    STACK.stack().s3().start(); // no-op when running
  }

  private MinioArtifactStore store(RetryPolicy retry) {
    S3Endpoint s3 = STACK.stack().s3();
    return (MinioArtifactStore)
        ArtifactStore.builder()
            .endpoint(s3.endpoint())
            .credentials(s3.accessKey(), s3.secretKey())
            .bucket(s3.bucket())
            .multipartThreshold(5 * MIB)
            .partSize(5 * MIB)
            .parallelParts(2)
            .connectTimeout(Duration.ofSeconds(2))
            .requestTimeout(Duration.ofSeconds(10))
            .retryPolicy(retry)
            .build();
  }

  private Path randomFile(long size) throws IOException {
    return TestFiles.randomFile(tmp.resolve("video-" + size + ".bin"), size, size);
  }

  private static String key() {
    return ArtifactKeys.stageArtifact(
        "demo", CREATED, "r-" + UUID.randomUUID(), Stage.BASE, 1, "latents.safetensors");
  }

  @Test
  void uploadSurvivesATwentySecondOutage() throws Exception {
    uploadSurvivesAnOutageOf(20);
  }

  /** The default retry budget (120 s) rides out a full minute without the endpoint. */
  @Test
  @EnabledIfSystemProperty(named = "reelflow.slow", matches = "true")
  void uploadSurvivesAOneMinuteOutage() throws Exception {
    uploadSurvivesAnOutageOf(60);
  }

  private void uploadSurvivesAnOutageOf(int seconds) throws Exception {
    Path file = randomFile(20 * MIB); // 4 parts of 5 MiB
    String key = key();
    S3Endpoint s3 = STACK.stack().s3();
    AtomicBoolean stopped = new AtomicBoolean();
    CountDownLatch restarted = new CountDownLatch(1);
    try (MinioArtifactStore store = store(RetryPolicy.defaults())) {
      store.afterPartUploaded =
          part -> {
            // The first stored part takes the endpoint down for 20 s; the rest of the upload
            // meets refused connections until it is back on the same port.
            if (stopped.compareAndSet(false, true)) {
              s3.stop();
              timer.schedule(
                  () -> {
                    s3.start();
                    restarted.countDown();
                  },
                  seconds,
                  TimeUnit.SECONDS);
            }
          };
      long start = System.nanoTime();
      StoredObject put = store.put(key, file, ObjectAttributes.defaults());
      long tookMs = (System.nanoTime() - start) / 1_000_000;

      assertThat(stopped).isTrue();
      assertThat(restarted.getCount()).as("finished only after the endpoint came back").isZero();
      assertThat(tookMs).isGreaterThanOrEqualTo(seconds * 1000L);
      assertThat(put.sha256()).isEqualTo(Sha256.of(file));
      Path back = tmp.resolve("back.bin");
      store.download(key, back, true);
      assertThat(Sha256.of(back)).isEqualTo(Sha256.of(file));
    }
  }

  @Test
  void uploadThatRunsOutOfRetriesLeavesNothingAtTheKey() throws Exception {
    Path file = randomFile(15 * MIB);
    String key = key();
    S3Endpoint s3 = STACK.stack().s3();
    AtomicBoolean stopped = new AtomicBoolean();
    RetryPolicy shortBudget =
        RetryPolicy.builder()
            .initialBackoff(Duration.ofMillis(50))
            .maxBackoff(Duration.ofMillis(200))
            .maxElapsed(Duration.ofSeconds(2))
            .build();
    try (MinioArtifactStore store = store(shortBudget)) {
      store.afterPartUploaded =
          part -> {
            if (stopped.compareAndSet(false, true)) {
              s3.stop();
            }
          };
      assertThatThrownBy(() -> store.put(key, file, ObjectAttributes.defaults()))
          .isInstanceOf(StorageUnavailableException.class)
          .hasMessageContaining("s3.retry.max-elapsed");
      s3.start();
      assertThat(store.find(key)).as("no half-written object is visible").isEmpty();
    }
  }
}
