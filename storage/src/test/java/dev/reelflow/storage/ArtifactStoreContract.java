package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.Stage;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The behaviour every S3 endpoint must give ArtifactStore. Subclasses supply the endpoint (embedded
 * S3Proxy, a MinIO container).
 */
abstract class ArtifactStoreContract {
  static final long MIB = 1024 * 1024;
  static final Instant CREATED = Instant.parse("2026-11-25T09:00:00Z");

  @TempDir Path tmp;
  MinioArtifactStore store;
  String requestId;

  protected abstract String endpoint();

  protected abstract String accessKey();

  protected abstract String secretKey();

  protected abstract String bucket();

  /** Whether the endpoint accepts bucket lifecycle configuration. */
  protected abstract boolean supportsLifecycle();

  ArtifactStore.Builder storeBuilder() {
    return ArtifactStore.builder()
        .endpoint(endpoint())
        .credentials(accessKey(), secretKey())
        .bucket(bucket())
        .multipartThreshold(8 * MIB)
        .partSize(8 * MIB)
        .parallelParts(4)
        .retryPolicy(RetryPolicy.builder().maxElapsed(Duration.ofSeconds(20)).build());
  }

  @BeforeEach
  void openStore() {
    store = (MinioArtifactStore) storeBuilder().build();
    requestId = "r-" + UUID.randomUUID();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  String stageKey(String file) {
    return ArtifactKeys.stageArtifact("demo", CREATED, requestId, Stage.BASE, 1, file);
  }

  static ObjectAttributes attrs(String requestId) {
    return ObjectAttributes.builder()
        .contentType("video/mp4")
        .requestId(requestId)
        .stage("BASE")
        .attempt(1)
        .build();
  }

  Path randomFile(String name, long size, long seed) throws IOException {
    return TestFiles.randomFile(tmp.resolve(name), size, seed);
  }

  static byte[] randomBytes(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void smallObjectRoundTripsWithChecksumAndMetadata() {
    byte[] data = randomBytes(100_000, 1);
    String key = stageKey("preview.mp4");
    StoredObject put = store.put(key, data, attrs(requestId));
    assertThat(put.sha256()).isEqualTo(Sha256.of(data));

    StoredObject stat = store.stat(key);
    assertThat(stat.sizeBytes()).isEqualTo(data.length);
    assertThat(stat.sha256()).isEqualTo(Sha256.of(data));
    assertThat(stat.contentType()).isEqualTo("video/mp4");
    assertThat(stat.metadata())
        .containsEntry("request-id", requestId)
        .containsEntry("stage", "base")
        .containsEntry("attempt", "1");
    assertThat(store.getBytes(key, true)).isEqualTo(data);
  }

  @Test
  void largeObjectGoesMultipartAndRoundTripsWithChecksum() throws Exception {
    Path file = randomFile("big.bin", 72 * MIB + 12345, 2);
    String sha = Sha256.of(file);
    String key = stageKey("latents.safetensors");
    StoredObject put = store.put(key, file, attrs(requestId));
    assertThat(put.sha256()).isEqualTo(sha);
    // A multipart ETag is "<md5 of part md5s>-<parts>": proof it went up in parts.
    assertThat(store.stat(key).etag()).endsWith("-10");
    assertThat(store.stat(key).sha256()).isEqualTo(sha);

    Path back = tmp.resolve("back.bin");
    StoredObject got = store.download(key, back, true);
    assertThat(got.sizeBytes()).isEqualTo(Files.size(file));
    assertThat(Sha256.of(back)).isEqualTo(sha);
    assertThat(store.incompleteUploads(ArtifactKeys.renderPrefix("demo", CREATED, requestId)))
        .isEmpty();
  }

  @Test
  void failedMultipartUploadIsAbortedAndLeavesNothingAtTheKey() throws Exception {
    Path file = randomFile("shrinking.bin", 40 * MIB, 18); // 5 parts, 4 in flight
    String key = stageKey("shrinking.bin");
    String prefix = ArtifactKeys.renderPrefix("demo", CREATED, requestId);
    List<String> whileUploading = new java.util.concurrent.CopyOnWriteArrayList<>();
    store.afterPartUploaded =
        part -> {
          if (whileUploading.isEmpty()) {
            whileUploading.addAll(store.incompleteUploads(prefix)); // the listing sees uploads
          }
          try (var ch =
              java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(8 * MIB); // the 5th part can no longer be read
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        };
    assertThatThrownBy(() -> store.put(key, file, attrs(requestId)))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("became shorter");
    store.afterPartUploaded = part -> {};
    assertThat(whileUploading).contains(key);
    assertThat(store.find(key)).isEmpty();
    assertThat(store.incompleteUploads(prefix)).as("the multipart upload was aborted").isEmpty();
  }

  @Test
  void streamOfUnknownSizeAboveTheThresholdIsUploadedWhole() throws Exception {
    byte[] data = randomBytes((int) (10 * MIB + 7), 3);
    String key = stageKey("stream.bin");
    StoredObject put = store.put(key, new ByteArrayInputStream(data), -1, attrs(requestId));
    assertThat(put.sizeBytes()).isEqualTo(data.length);
    assertThat(store.stat(key).sha256()).isEqualTo(Sha256.of(data));
    try (InputStream in = store.open(key, true)) {
      assertThat(Sha256.of(in)).isEqualTo(Sha256.of(data));
    }
  }

  @Test
  void streamShorterThanDeclaredWritesNothing() {
    String key = stageKey("short.bin");
    assertThatThrownBy(
            () -> store.put(key, new ByteArrayInputStream(new byte[10]), 20, attrs(requestId)))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("nothing was written");
    assertThat(store.find(key)).isEmpty();
  }

  @Test
  void presignedGetWorksWithAPlainHttpClientAndExpires() throws Exception {
    byte[] data = randomBytes(4096, 4);
    String key = ArtifactKeys.finalPoster("demo", CREATED, requestId);
    store.publish(key, data, ObjectAttributes.ofType("image/jpeg"));
    HttpClient http = HttpClient.newHttpClient();

    HttpResponse<byte[]> ok =
        http.send(
            HttpRequest.newBuilder(store.presignGetForTenant("demo", key, Duration.ofMinutes(5)))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(data);

    var shortLived = store.presignGet(key, Duration.ofSeconds(1));
    Thread.sleep(2_500);
    HttpResponse<String> expired =
        http.send(HttpRequest.newBuilder(shortLived).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(expired.statusCode()).isEqualTo(403);

    assertThatThrownBy(() -> store.presignGetForTenant("other", key, Duration.ofMinutes(5)))
        .isInstanceOf(KeyOutsideTenantException.class);
  }

  @Test
  void concurrentUploadsOfTheSameKeyLeaveOneIntactObject() throws Exception {
    Path a = randomFile("a.bin", 12 * MIB, 5);
    Path b = randomFile("b.bin", 12 * MIB, 6);
    String key = stageKey("latents.safetensors");
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<StoredObject> fa =
          pool.submit(
              () -> {
                go.await();
                return store.put(key, a, attrs(requestId));
              });
      Future<StoredObject> fb =
          pool.submit(
              () -> {
                go.await();
                return store.put(key, b, attrs(requestId));
              });
      go.countDown();
      fa.get();
      fb.get();
    } finally {
      pool.shutdownNow();
    }
    StoredObject stat = store.stat(key);
    assertThat(stat.sha256()).isIn(Sha256.of(a), Sha256.of(b));
    Path back = tmp.resolve("winner.bin");
    store.download(key, back, true);
    assertThat(Sha256.of(back)).isEqualTo(stat.sha256());
    assertThat(Files.size(back)).isEqualTo(12 * MIB);
  }

  @Test
  void publishIsWriteOnce() {
    String key = ArtifactKeys.finalManifest("demo", CREATED, requestId);
    byte[] first = "{\"v\":1}".getBytes();
    PublishResult p1 = store.publish(key, first, ObjectAttributes.ofType("application/json"));
    assertThat(p1.alreadyPresent()).isFalse();

    PublishResult again = store.publish(key, first, ObjectAttributes.ofType("application/json"));
    assertThat(again.alreadyPresent()).isTrue();
    assertThat(again.object().sha256()).isEqualTo(Sha256.of(first));

    assertThatThrownBy(
            () ->
                store.publish(
                    key, "{\"v\":2}".getBytes(), ObjectAttributes.ofType("application/json")))
        .isInstanceOf(AlreadyPublishedException.class)
        .hasMessageContaining(Sha256.of(first));
    assertThat(store.getBytes(key, true)).isEqualTo(first);
  }

  @Test
  void compareByChecksumFallbackIsWriteOnceToo() {
    String key = ArtifactKeys.finalPoster("demo", CREATED, requestId);
    try (ArtifactStore fallback =
        storeBuilder().conditionalWrites(ArtifactStore.Builder.ConditionalWrites.NEVER).build()) {
      byte[] first = randomBytes(3000, 14);
      assertThat(
              fallback.publish(key, first, ObjectAttributes.ofType("image/jpeg")).alreadyPresent())
          .isFalse();
      assertThat(
              fallback.publish(key, first, ObjectAttributes.ofType("image/jpeg")).alreadyPresent())
          .isTrue();
      assertThatThrownBy(
              () ->
                  fallback.publish(
                      key, randomBytes(3000, 15), ObjectAttributes.ofType("image/jpeg")))
          .isInstanceOf(AlreadyPublishedException.class);
      assertThat(store.getBytes(key, true)).isEqualTo(first);
    }
  }

  @Test
  void plainPutRefusesFinalKeysAndCopyIntoFinalIsWriteOnce() {
    String finalKey = ArtifactKeys.finalVideo("demo", CREATED, requestId);
    assertThatThrownBy(() -> store.put(finalKey, new byte[] {1}, ObjectAttributes.defaults()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("publish()");
    String a = stageKey("preview.mp4");
    String b = ArtifactKeys.stageArtifact("demo", CREATED, requestId, Stage.BASE, 2, "preview.mp4");
    store.put(a, randomBytes(2000, 16), attrs(requestId));
    store.put(b, randomBytes(2000, 17), attrs(requestId));
    assertThat(store.copy(a, finalKey).sha256()).isEqualTo(store.stat(a).sha256());
    assertThat(store.copy(a, finalKey).sha256()).isEqualTo(store.stat(a).sha256()); // replay
    assertThatThrownBy(() -> store.copy(b, finalKey)).isInstanceOf(AlreadyPublishedException.class);
    assertThat(store.stat(finalKey).sha256()).isEqualTo(store.stat(a).sha256());
  }

  @Test
  void multipartPublishIsWriteOnceAndAbortsTheRefusedUpload() throws Exception {
    Path v1 = randomFile("v1.mp4", 10 * MIB, 7);
    Path v2 = randomFile("v2.mp4", 10 * MIB, 8);
    String key = ArtifactKeys.finalVideo("demo", CREATED, requestId);
    assertThat(store.publish(key, v1, attrs(requestId)).alreadyPresent()).isFalse();
    assertThat(store.publish(key, v1, attrs(requestId)).alreadyPresent()).isTrue();
    assertThatThrownBy(() -> store.publish(key, v2, attrs(requestId)))
        .isInstanceOf(AlreadyPublishedException.class);
    assertThat(store.stat(key).sha256()).isEqualTo(Sha256.of(v1));
    assertThat(store.incompleteUploads(ArtifactKeys.finalPrefix("demo", CREATED, requestId)))
        .isEmpty();
  }

  @Test
  void concurrentPublishesOfDifferentBytesLetExactlyOneWin() throws Exception {
    String key = ArtifactKeys.finalVideo("demo", CREATED, requestId);
    byte[] a = randomBytes(200_000, 9);
    byte[] b = randomBytes(200_000, 10);
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    int refused = 0;
    try {
      Future<PublishResult> fa =
          pool.submit(
              () -> {
                go.await();
                return store.publish(key, a, ObjectAttributes.ofType("video/mp4"));
              });
      Future<PublishResult> fb =
          pool.submit(
              () -> {
                go.await();
                return store.publish(key, b, ObjectAttributes.ofType("video/mp4"));
              });
      go.countDown();
      for (Future<PublishResult> f : List.of(fa, fb)) {
        try {
          f.get();
        } catch (java.util.concurrent.ExecutionException e) {
          assertThat(e.getCause()).isInstanceOf(AlreadyPublishedException.class);
          refused++;
        }
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(refused).isEqualTo(1);
    byte[] there = store.getBytes(key, true);
    assertThat(Sha256.of(there)).isIn(Sha256.of(a), Sha256.of(b));
  }

  @Test
  void listCopyAndDelete() {
    String prefix = ArtifactKeys.stagePrefix("demo", CREATED, requestId, Stage.BASE, 1);
    store.put(prefix + "b.bin", new byte[] {2}, ObjectAttributes.defaults());
    store.put(prefix + "a.bin", new byte[] {1}, ObjectAttributes.defaults());
    store.put(prefix + "sub/c.bin", new byte[] {3, 3}, ObjectAttributes.defaults());
    assertThat(store.list(prefix))
        .extracting(StoredObject::key)
        .containsExactly(prefix + "a.bin", prefix + "b.bin", prefix + "sub/c.bin");
    assertThat(store.list(prefix).get(2).sizeBytes()).isEqualTo(2);

    String copyKey = ArtifactKeys.finalArtifact("demo", CREATED, requestId, "copy.bin");
    StoredObject copy = store.copy(prefix + "sub/c.bin", copyKey);
    assertThat(copy.sha256()).isEqualTo(Sha256.of(new byte[] {3, 3}));
    assertThat(store.getBytes(copyKey, true)).containsExactly(3, 3);

    store.delete(prefix + "a.bin");
    store.delete(prefix + "a.bin"); // deleting twice is fine
    assertThat(store.find(prefix + "a.bin")).isEmpty();
    assertThat(store.list(prefix)).hasSize(2);
  }

  @Test
  void missingObjectIsATypedNotFound() {
    String key = stageKey("nothing.bin");
    assertThatThrownBy(() -> store.stat(key))
        .isInstanceOf(ObjectNotFoundException.class)
        .hasMessageContaining(key);
    assertThatThrownBy(() -> store.getBytes(key, false))
        .isInstanceOf(ObjectNotFoundException.class);
    assertThat(store.find(key)).isEmpty();
  }

  @Test
  void wrongCredentialsAreATypedError() {
    try (ArtifactStore bad = storeBuilder().credentials(accessKey(), "wrong-secret").build()) {
      assertThatThrownBy(() -> bad.put(stageKey("x.bin"), new byte[] {1}, attrs(requestId)))
          .isInstanceOf(InvalidCredentialsException.class)
          .hasMessageContaining("s3.secret-key");
      assertThatThrownBy(() -> bad.stat(stageKey("x.bin")))
          .isInstanceOf(InvalidCredentialsException.class);
    }
  }

  @Test
  void missingBucketIsATypedErrorUntilEnsureBucketCreatesIt() {
    String name = "missing-" + UUID.randomUUID().toString().substring(0, 8);
    try (ArtifactStore other = storeBuilder().bucket(name).build()) {
      assertThatThrownBy(() -> other.put(stageKey("x.bin"), new byte[] {1}, attrs(requestId)))
          .isInstanceOf(BucketNotFoundException.class)
          .hasMessageContaining(name);
      assertThatThrownBy(() -> other.stat(stageKey("x.bin")))
          .isInstanceOf(BucketNotFoundException.class);
      BucketStatus status = other.ensureBucket();
      assertThat(status.created()).isTrue();
      assertThat(other.ensureBucket().created()).isFalse();
      other.put(stageKey("x.bin"), new byte[] {1}, attrs(requestId));
      assertThat(other.stat(stageKey("x.bin")).sizeBytes()).isEqualTo(1);
    }
  }

  @Test
  void ensureBucketReportsTheLifecycleRuleAndTaggedAttemptObjectsStillWork() {
    try (ArtifactStore withExpiry = storeBuilder().attemptArtifactExpiry(7).build()) {
      // Written before the bootstrap: an endpoint that refuses object tags must not fail it.
      byte[] early = randomBytes(1000, 13);
      withExpiry.put(stageKey("early.bin"), early, attrs(requestId));
      assertThat(withExpiry.getBytes(stageKey("early.bin"), true)).isEqualTo(early);
      BucketStatus status = withExpiry.ensureBucket();
      assertThat(status.created()).isFalse();
      assertThat(status.lifecycle())
          .isEqualTo(
              supportsLifecycle()
                  ? BucketStatus.Lifecycle.APPLIED
                  : BucketStatus.Lifecycle.UNSUPPORTED_BY_ENDPOINT);
      assertThat(status.detail()).isNotBlank();
      byte[] data = randomBytes(1000, 11);
      withExpiry.put(stageKey("tagged.bin"), data, attrs(requestId));
      assertThat(withExpiry.getBytes(stageKey("tagged.bin"), true)).isEqualTo(data);
    }
  }

  @Test
  void corruptObjectFailsVerificationWithATypedError() throws Exception {
    String key = stageKey("corrupt.bin");
    byte[] data = randomBytes(5000, 12);
    MinioClient raw =
        MinioClient.builder()
            .endpoint(endpoint())
            .credentials(accessKey(), secretKey())
            .region("us-east-1")
            .build();
    raw.putObject(
        PutObjectArgs.builder().bucket(bucket()).object(key).stream(
                new ByteArrayInputStream(data), data.length, -1)
            .userMetadata(Map.of("sha256", "0".repeat(64)))
            .build());
    assertThatThrownBy(() -> store.getBytes(key, true))
        .isInstanceOf(ChecksumMismatchException.class)
        .hasMessageContaining("0".repeat(64))
        .hasMessageContaining(Sha256.of(data));
    assertThat(store.getBytes(key, false)).isEqualTo(data);
    assertThatThrownBy(() -> store.download(key, tmp.resolve("c.bin"), true))
        .isInstanceOf(ChecksumMismatchException.class);
    assertThat(tmp.resolve("c.bin")).doesNotExist();
  }
}
