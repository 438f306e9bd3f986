package dev.reelflow.storage;

import static dev.reelflow.storage.S3ObjectConventions.checkKey;
import static dev.reelflow.storage.S3ObjectConventions.refuseFinal;

import io.minio.ComposeObjectArgs;
import io.minio.ComposeSource;
import io.minio.CopyObjectArgs;
import io.minio.CopySource;
import io.minio.MinioAsyncClient;
import io.minio.RemoveObjectArgs;
import io.minio.http.Method;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ArtifactStore} on the MinIO Java SDK's async client. A facade: deletes and copies are
 * here; bucket setup, reads, writes and publishing, multipart uploads, presigning, retries and
 * error translation each live in their own package-private class.
 */
final class MinioArtifactStore implements ArtifactStore {
  private static final Logger LOG = LoggerFactory.getLogger(MinioArtifactStore.class);

  private final ArtifactStore.Builder config;
  private final MinioAsyncClient client;
  private final RetryingS3Caller calls;
  private final BucketSetup bucketSetup;
  private final MultipartUploader multipart;
  private final ObjectReader reader;
  private final ObjectWriter writer;
  private final UrlPresigner presigner;

  /** Test hook: called with the part number after each part is stored. */
  volatile java.util.function.IntConsumer afterPartUploaded = part -> {};

  MinioArtifactStore(ArtifactStore.Builder b) {
    this.config = b;
    Dispatcher dispatcher = new Dispatcher();
    // Parallel parts of concurrent uploads all go to one host: OkHttp's default of 5 is too low.
    dispatcher.setMaxRequests(256);
    dispatcher.setMaxRequestsPerHost(256);
    OkHttpClient http =
        new OkHttpClient.Builder()
            .dispatcher(dispatcher)
            .connectTimeout(b.connectTimeout)
            .readTimeout(b.requestTimeout)
            .writeTimeout(b.requestTimeout)
            .callTimeout(Duration.ZERO)
            .build();
    this.client =
        MinioAsyncClient.builder()
            .endpoint(b.endpoint)
            .region(b.region)
            .credentials(b.accessKey, b.secretKey)
            .httpClient(http, true)
            .build();
    S3ErrorTranslator errors = new S3ErrorTranslator(b.bucket, b.endpoint);
    this.calls = new RetryingS3Caller(b.retryPolicy, errors);
    EndpointFeatures features = new EndpointFeatures(b);
    this.bucketSetup = new BucketSetup(b, client, calls, errors, features);
    this.presigner = new UrlPresigner(b, client, http, errors);
    this.reader = new ObjectReader(b, client, calls, bucketSetup);
    // The hook is read per part, so tests may set it after the store is built.
    this.multipart =
        new MultipartUploader(
            b, client, calls, features, reader::find, part -> afterPartUploaded.accept(part));
    this.writer = new ObjectWriter(b, client, calls, features, multipart, reader::find);
    LOG.info("ArtifactStore configured: {}", b.describe());
  }

  @Override
  public String bucket() {
    return config.bucket;
  }

  @Override
  public String endpoint() {
    return config.endpoint;
  }

  @Override
  public BucketStatus ensureBucket() {
    return bucketSetup.ensureBucket();
  }

  // ---------------------------------------------------------------- put, publish

  @Override
  public StoredObject put(String key, Path file, ObjectAttributes attributes) {
    refuseFinal(key);
    return writer.write(key, file, attributes, false).object();
  }

  @Override
  public StoredObject put(String key, byte[] bytes, ObjectAttributes attributes) {
    refuseFinal(key);
    return writer.writeBytes(key, bytes, Sha256.of(bytes), attributes, false).object();
  }

  @Override
  public StoredObject put(String key, InputStream in, long size, ObjectAttributes attributes) {
    return writer.put(key, in, size, attributes);
  }

  @Override
  public PublishResult publish(String key, Path file, ObjectAttributes attributes) {
    return writer.write(key, file, attributes, true);
  }

  @Override
  public PublishResult publish(String key, byte[] bytes, ObjectAttributes attributes) {
    return writer.writeBytes(key, bytes, Sha256.of(bytes), attributes, true);
  }

  /** Keys with incomplete multipart uploads under the prefix (operations and tests). */
  List<String> incompleteUploads(String prefix) {
    return multipart.incompleteUploads(prefix);
  }

  // ---------------------------------------------------------------- read

  @Override
  public InputStream open(String key, boolean verifyChecksum) {
    return reader.open(key, verifyChecksum);
  }

  @Override
  public byte[] getBytes(String key, boolean verifyChecksum) {
    return reader.getBytes(key, verifyChecksum);
  }

  @Override
  public StoredObject download(String key, Path target, boolean verifyChecksum) {
    return reader.download(key, target, verifyChecksum);
  }

  @Override
  public StoredObject stat(String key) {
    return reader.stat(key);
  }

  @Override
  public Optional<StoredObject> find(String key) {
    return reader.find(key);
  }

  @Override
  public List<StoredObject> list(String prefix) {
    return reader.list(prefix);
  }

  // ---------------------------------------------------------------- delete, copy

  @Override
  public void delete(String key) {
    checkKey(key);
    call(
        "delete",
        key,
        () ->
            client
                .removeObject(RemoveObjectArgs.builder().bucket(config.bucket).object(key).build())
                .get());
  }

  @Override
  public StoredObject copy(String sourceKey, String targetKey) {
    checkKey(sourceKey);
    checkKey(targetKey);
    StoredObject source = stat(sourceKey);
    if (ArtifactKeys.isFinalKey(targetKey) && !source.sha256().isEmpty()) {
      // S3 has no conditional CopyObject: compare-by-checksum keeps a published result.
      Optional<PublishResult> existing = writer.compareExisting(targetKey, source.sha256());
      if (existing.isPresent()) {
        return existing.get().object();
      }
    }
    if (source.sizeBytes() <= ArtifactStore.Builder.MAX_PART_SIZE) {
      call(
          "copy",
          targetKey,
          () ->
              client
                  .copyObject(
                      CopyObjectArgs.builder()
                          .bucket(config.bucket)
                          .object(targetKey)
                          .source(
                              CopySource.builder().bucket(config.bucket).object(sourceKey).build())
                          .build())
                  .get());
    } else {
      // Above 5 GiB a single CopyObject is refused; compose copies it part by part and needs
      // the metadata restated.
      Map<String, String> meta = new HashMap<>(source.metadata());
      call(
          "copy",
          targetKey,
          () ->
              client
                  .composeObject(
                      ComposeObjectArgs.builder()
                          .bucket(config.bucket)
                          .object(targetKey)
                          .sources(
                              List.of(
                                  ComposeSource.builder()
                                      .bucket(config.bucket)
                                      .object(sourceKey)
                                      .build()))
                          .userMetadata(meta)
                          .headers(Map.of("Content-Type", source.contentType()))
                          .build())
                  .get());
    }
    return stat(targetKey);
  }

  // ---------------------------------------------------------------- presign

  @Override
  public URI presignGet(String key, Duration expiry) {
    return presigner.presign(Method.GET, key, expiry);
  }

  @Override
  public URI presignGetForTenant(String tenant, String key, Duration expiry) {
    ArtifactKeys.requireTenant(tenant, key);
    return presigner.presign(Method.GET, key, expiry);
  }

  @Override
  public URI presignPut(String key, Duration expiry) {
    return presigner.presign(Method.PUT, key, expiry);
  }

  @Override
  public void close() {
    multipart.shutdown();
    try {
      client.close();
    } catch (Exception e) {
      LOG.warn("closing the S3 client: {}", e.toString());
    }
  }

  /** Runs one S3 call with the store's retry policy and error translation. */
  <T> T call(String operation, String key, RetryingS3Caller.S3Call<T> body) {
    return calls.call(operation, key, body);
  }
}
