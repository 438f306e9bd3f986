package dev.reelflow.storage;

import com.google.common.collect.HashMultimap;
import com.google.common.collect.Multimap;
import io.minio.BucketExistsArgs;
import io.minio.ComposeObjectArgs;
import io.minio.ComposeSource;
import io.minio.CopyObjectArgs;
import io.minio.CopySource;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioAsyncClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.SetBucketLifecycleArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.http.Method;
import io.minio.messages.AbortIncompleteMultipartUpload;
import io.minio.messages.Expiration;
import io.minio.messages.Item;
import io.minio.messages.LifecycleConfiguration;
import io.minio.messages.LifecycleRule;
import io.minio.messages.Part;
import io.minio.messages.RuleFilter;
import io.minio.messages.Status;
import io.minio.messages.Tag;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link ArtifactStore} on the MinIO Java SDK's async client. */
final class MinioArtifactStore implements ArtifactStore {
  private static final Logger LOG = LoggerFactory.getLogger(MinioArtifactStore.class);

  /** Object tag that the attempt-expiry lifecycle rule matches. */
  static final String RETENTION_TAG_KEY = "reelflow-retention";

  static final String RETENTION_TAG_VALUE = "attempt";
  static final String LIFECYCLE_RULE_ID = "reelflow-expire-attempt-artifacts";
  private static final String META_PREFIX = "x-amz-meta-";
  private static final int MAX_UPLOAD_RESTARTS = 3;

  private final ArtifactStore.Builder config;
  private final MinioAsyncClient client;
  private final MinioAsyncClient presigner;
  private final ExecutorService partPool;
  private final RetryPolicy retry;
  private volatile boolean conditionalSupported;
  private volatile boolean taggingSupported = true;

  /** Test hook: called with the part number after each part is stored. */
  volatile java.util.function.IntConsumer afterPartUploaded = part -> {};

  MinioArtifactStore(ArtifactStore.Builder b) {
    this.config = b;
    this.retry = b.retryPolicy;
    this.conditionalSupported =
        b.conditionalWrites != ArtifactStore.Builder.ConditionalWrites.NEVER;
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
    // Presigning is local computation (the region is fixed), so a second client for the public
    // host name costs no connection; it shares the HTTP client and never closes it.
    this.presigner =
        b.presignEndpoint == null
            ? client
            : MinioAsyncClient.builder()
                .endpoint(b.presignEndpoint)
                .region(b.region)
                .credentials(b.accessKey, b.secretKey)
                .httpClient(http, false)
                .build();
    AtomicInteger n = new AtomicInteger();
    ThreadFactory tf =
        r -> {
          Thread t = new Thread(r, "reelflow-s3-part-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    this.partPool = Executors.newCachedThreadPool(tf);
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

  // ---------------------------------------------------------------- bucket

  @Override
  public BucketStatus ensureBucket() {
    String bucket = config.bucket;
    boolean exists = call("check bucket", null, () -> client.bucketExists(bucketExists()).get());
    boolean created = false;
    if (!exists) {
      try {
        call(
            "create bucket",
            null,
            () -> client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build()).get());
        created = true;
        LOG.info("Created bucket {} on {}", bucket, config.endpoint);
      } catch (StorageException e) {
        // Another process may have created it between our check and our create.
        if (!Boolean.TRUE.equals(
            call("check bucket", null, () -> client.bucketExists(bucketExists()).get()))) {
          throw e;
        }
      }
    }
    if (config.attemptExpiryDays == null) {
      return new BucketStatus(
          bucket, created, BucketStatus.Lifecycle.NOT_REQUESTED, "no attempt expiry configured");
    }
    try {
      client
          .setBucketLifecycle(
              SetBucketLifecycleArgs.builder()
                  .bucket(bucket)
                  .config(lifecycle(config.attemptExpiryDays))
                  .build())
          .get();
      LOG.info(
          "Lifecycle rule {} on bucket {}: attempt artifacts expire after {} days",
          LIFECYCLE_RULE_ID,
          bucket,
          config.attemptExpiryDays);
      return new BucketStatus(
          bucket,
          created,
          BucketStatus.Lifecycle.APPLIED,
          "attempt artifacts expire after " + config.attemptExpiryDays + " days");
    } catch (Exception e) {
      S3Failure f = S3Failure.classify(e);
      if (f == S3Failure.NOT_IMPLEMENTED
          || f == S3Failure.OTHER
          || f == S3Failure.NOT_FOUND
          || f == S3Failure.RETRYABLE) {
        String detail =
            "endpoint "
                + config.endpoint
                + " refused the lifecycle configuration ("
                + S3Failure.describe(e)
                + "); attempt artifacts will not expire: delete them with a scheduled job or"
                + " use an endpoint with lifecycle support (MinIO, AWS S3)";
        LOG.warn(detail);
        taggingSupported = false; // tags without a rule only cost a header the endpoint may refuse
        return new BucketStatus(
            bucket, created, BucketStatus.Lifecycle.UNSUPPORTED_BY_ENDPOINT, detail);
      }
      throw translate("set lifecycle", null, e);
    }
  }

  static LifecycleConfiguration lifecycle(int days) {
    LifecycleRule rule =
        new LifecycleRule(
            Status.ENABLED,
            new AbortIncompleteMultipartUpload(1),
            new Expiration((java.time.ZonedDateTime) null, days, null),
            new RuleFilter(new Tag(RETENTION_TAG_KEY, RETENTION_TAG_VALUE)),
            LIFECYCLE_RULE_ID,
            null,
            null,
            null);
    return new LifecycleConfiguration(List.of(rule));
  }

  private BucketExistsArgs bucketExists() {
    return BucketExistsArgs.builder().bucket(config.bucket).build();
  }

  // ---------------------------------------------------------------- put

  @Override
  public StoredObject put(String key, Path file, ObjectAttributes attributes) {
    refuseFinal(key);
    return write(key, file, attributes, false).object();
  }

  @Override
  public StoredObject put(String key, byte[] bytes, ObjectAttributes attributes) {
    refuseFinal(key);
    return writeBytes(key, bytes, Sha256.of(bytes), attributes, false).object();
  }

  @Override
  public StoredObject put(String key, InputStream in, long size, ObjectAttributes attributes) {
    checkKey(key);
    refuseFinal(key);
    if (size >= 0 && size <= config.multipartThreshold) {
      byte[] bytes = readExactly(in, size, key);
      return writeBytes(key, bytes, Sha256.of(bytes), attributes, false).object();
    }
    // Larger or unknown: buffer up to the threshold in memory, spool beyond it to a file, so
    // the checksum is known before the upload starts (S3 takes metadata only at the start).
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    byte[] buf = new byte[1 << 16];
    try {
      while (head.size() <= config.multipartThreshold) {
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        head.write(buf, 0, n);
      }
    } catch (IOException e) {
      throw new StorageException("cannot read the data for '" + key + "': " + e, e);
    }
    if (head.size() > config.multipartThreshold) {
      return spoolAndPut(key, head.toByteArray(), in, size, attributes);
    }
    byte[] bytes = head.toByteArray();
    checkSize(key, size, bytes.length);
    return writeBytes(key, bytes, Sha256.of(bytes), attributes, false).object();
  }

  private StoredObject spoolAndPut(
      String key, byte[] head, InputStream rest, long size, ObjectAttributes attributes) {
    Path spool = null;
    try {
      spool = Files.createTempFile("reelflow-upload-", ".spool");
      try (OutputStream out = Files.newOutputStream(spool, StandardOpenOption.TRUNCATE_EXISTING)) {
        out.write(head);
        rest.transferTo(out);
      }
      checkSize(key, size, Files.size(spool));
      return write(key, spool, attributes, false).object();
    } catch (IOException e) {
      throw new StorageException("cannot spool the upload of '" + key + "': " + e, e);
    } finally {
      if (spool != null) {
        try {
          Files.deleteIfExists(spool);
        } catch (IOException e) {
          LOG.warn("cannot delete spool file {}: {}", spool, e.toString());
        }
      }
    }
  }

  private static void checkSize(String key, long declared, long actual) {
    if (declared >= 0 && declared != actual) {
      throw new StorageException(
          "the stream for '"
              + key
              + "' had "
              + actual
              + " bytes but "
              + declared
              + " were declared; nothing was written");
    }
  }

  private static byte[] readExactly(InputStream in, long size, String key) {
    try {
      byte[] bytes = in.readNBytes((int) size);
      if (bytes.length != size) {
        throw new StorageException(
            "the stream for '"
                + key
                + "' ended after "
                + bytes.length
                + " of "
                + size
                + " declared bytes; nothing was written");
      }
      return bytes;
    } catch (IOException e) {
      throw new StorageException("cannot read the data for '" + key + "': " + e, e);
    }
  }

  // ---------------------------------------------------------------- publish

  @Override
  public PublishResult publish(String key, Path file, ObjectAttributes attributes) {
    return write(key, file, attributes, true);
  }

  @Override
  public PublishResult publish(String key, byte[] bytes, ObjectAttributes attributes) {
    return writeBytes(key, bytes, Sha256.of(bytes), attributes, true);
  }

  private PublishResult write(String key, Path file, ObjectAttributes attrs, boolean writeOnce) {
    checkKey(key);
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw new StorageException("cannot read " + file.getFileName() + " for '" + key + "'", e);
    }
    if (size <= config.multipartThreshold) {
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new StorageException("cannot read " + file.getFileName() + " for '" + key + "'", e);
      }
      return writeBytes(key, bytes, Sha256.of(bytes), attrs, writeOnce);
    }
    String sha = Sha256.of(file);
    if (writeOnce && !useConditional()) {
      Optional<PublishResult> existing = compareExisting(key, sha);
      if (existing.isPresent()) {
        return existing.get();
      }
    }
    boolean conditional = writeOnce && useConditional();
    try {
      long start = System.nanoTime();
      StoredObject stored = multipart(key, file, size, sha, attrs, conditional);
      StorageMetrics.upload("multipart", size, start);
      return new PublishResult(stored, false);
    } catch (PreconditionFailed e) {
      return afterRefusedWrite(key, sha, e);
    } catch (NotImplementedByEndpoint e) {
      if (degrade(e, tagging(key).isPresent(), conditional)) {
        return write(key, file, attrs, writeOnce);
      }
      throw e;
    }
  }

  private PublishResult writeBytes(
      String key, byte[] bytes, String sha, ObjectAttributes attrs, boolean writeOnce) {
    checkKey(key);
    if (writeOnce && !useConditional()) {
      Optional<PublishResult> existing = compareExisting(key, sha);
      if (existing.isPresent()) {
        return existing.get();
      }
    }
    boolean conditional = writeOnce && useConditional();
    Map<String, String> headers = new HashMap<>();
    if (conditional) {
      headers.put("If-None-Match", "*");
    }
    tagging(key).ifPresent(t -> headers.put("x-amz-tagging", t));
    Map<String, String> meta = userMetadata(attrs, sha);
    try {
      long start = System.nanoTime();
      var response =
          call(
              "put",
              key,
              () ->
                  client
                      .putObject(
                          PutObjectArgs.builder().bucket(config.bucket).object(key).stream(
                                  new ByteArrayInputStream(bytes),
                                  bytes.length,
                                  Math.max(ArtifactStore.Builder.MIN_PART_SIZE, bytes.length))
                              .contentType(attrs.contentType())
                              .userMetadata(meta)
                              .headers(headers)
                              .build())
                      .get());
      StorageMetrics.upload("single", bytes.length, start);
      return new PublishResult(
          new StoredObject(
              key,
              bytes.length,
              sha,
              attrs.contentType(),
              stripQuotes(response.etag()),
              null,
              withSha(attrs, sha)),
          false);
    } catch (PreconditionFailed e) {
      return afterRefusedWrite(key, sha, e);
    } catch (NotImplementedByEndpoint e) {
      if (degrade(e, tagging(key).isPresent(), conditional)) {
        return writeBytes(key, bytes, sha, attrs, writeOnce);
      }
      throw e;
    }
  }

  private boolean useConditional() {
    return conditionalSupported;
  }

  /** A conditional write was refused: the object there is ours (a replay) or someone else's. */
  private PublishResult afterRefusedWrite(String key, String sha, PreconditionFailed refusal) {
    return compareExisting(key, sha)
        .orElseThrow(
            () ->
                new StorageException(
                    "conditional write of '"
                        + key
                        + "' was refused but no object is there (deleted meanwhile?); retry"
                        + " the publish",
                    refusal));
  }

  /** Empty when nothing is at the key; a result when the same bytes are; throws otherwise. */
  private Optional<PublishResult> compareExisting(String key, String sha) {
    Optional<StoredObject> existing = find(key);
    if (existing.isEmpty()) {
      return Optional.empty();
    }
    StoredObject there = existing.get();
    if (there.sha256().equals(sha)) {
      LOG.info("'{}' is already published with the same SHA-256; nothing replaced", key);
      return Optional.of(new PublishResult(there, true));
    }
    throw new AlreadyPublishedException(
        key, there.sha256().isEmpty() ? "(unknown)" : there.sha256(), sha);
  }

  // ---------------------------------------------------------------- multipart

  private StoredObject multipart(
      String key, Path file, long size, String sha, ObjectAttributes attrs, boolean conditional) {
    for (int restart = 0; ; restart++) {
      try {
        return multipartOnce(key, file, size, sha, attrs, conditional);
      } catch (UploadVanished e) {
        if (restart >= MAX_UPLOAD_RESTARTS) {
          throw new StorageException(
              "multipart upload of '"
                  + key
                  + "' was lost by the endpoint "
                  + (restart + 1)
                  + " times (NoSuchUpload); check the endpoint's storage",
              e.getCause());
        }
        LOG.warn("multipart upload of '{}' vanished on the endpoint; starting it again", key);
      }
    }
  }

  private StoredObject multipartOnce(
      String key, Path file, long size, String sha, ObjectAttributes attrs, boolean conditional) {
    Multimap<String, String> createHeaders = HashMultimap.create();
    createHeaders.put("Content-Type", attrs.contentType());
    userMetadata(attrs, sha).forEach((k, v) -> createHeaders.put(META_PREFIX + k, v));
    tagging(key).ifPresent(t -> createHeaders.put("x-amz-tagging", t));
    String uploadId =
        call(
            "create multipart upload",
            key,
            () ->
                client
                    .createMultipartUploadAsync(
                        config.bucket, config.region, key, createHeaders, null)
                    .get()
                    .result()
                    .uploadId());
    boolean completed = false;
    try {
      Part[] parts = uploadParts(key, file, size, uploadId);
      Multimap<String, String> completeHeaders = HashMultimap.create();
      if (conditional) {
        completeHeaders.put("If-None-Match", "*");
      }
      AtomicInteger tries = new AtomicInteger();
      String etag;
      try {
        etag =
            call(
                "complete multipart upload",
                key,
                () -> {
                  tries.incrementAndGet();
                  return client
                      .completeMultipartUploadAsync(
                          config.bucket, config.region, key, uploadId, parts, completeHeaders, null)
                      .get()
                      .etag();
                });
      } catch (UploadVanished e) {
        // A retried complete whose first try went through finds no upload any more: if the
        // object at the key is ours (same checksum), the upload succeeded.
        if (tries.get() > 1) {
          Optional<StoredObject> there = find(key);
          if (there.isPresent() && there.get().sha256().equals(sha)) {
            completed = true;
            return there.get();
          }
        }
        throw e;
      }
      completed = true;
      LOG.debug("uploaded '{}' in {} parts ({} bytes)", key, parts.length, size);
      return new StoredObject(
          key, size, sha, attrs.contentType(), stripQuotes(etag), null, withSha(attrs, sha));
    } finally {
      if (!completed) {
        abortQuietly(key, uploadId);
      }
    }
  }

  private Part[] uploadParts(String key, Path file, long size, String uploadId) {
    int count = (int) ((size + config.partSize - 1) / config.partSize);
    if (count > 10_000) {
      throw new StorageException(
          "'"
              + key
              + "' needs "
              + count
              + " parts of "
              + config.partSize
              + " bytes; S3 allows 10000: raise "
              + ArtifactStore.Builder.PART_SIZE);
    }
    Part[] parts = new Part[count];
    Semaphore inFlight = new Semaphore(config.parallelParts);
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      for (int i = 0; i < count && failure.get() == null; i++) {
        inFlight.acquire();
        if (failure.get() != null) {
          inFlight.release();
          break;
        }
        long offset = (long) i * config.partSize;
        int length = (int) Math.min(config.partSize, size - offset);
        byte[] data;
        try {
          data = readPart(ch, offset, length, file, key);
        } catch (IOException | RuntimeException e) {
          inFlight.release(); // this part never started
          throw e;
        }
        int partNumber = i + 1;
        submitPart(
            inFlight,
            () -> {
              try {
                String etag =
                    call(
                        "upload part " + partNumber,
                        key,
                        () ->
                            client
                                .uploadPartAsync(
                                    config.bucket,
                                    config.region,
                                    key,
                                    data,
                                    length,
                                    uploadId,
                                    partNumber,
                                    null,
                                    null)
                                .get()
                                .etag());
                parts[partNumber - 1] = new Part(partNumber, etag);
                afterPartUploaded.accept(partNumber);
              } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
              } finally {
                inFlight.release();
              }
            });
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure.compareAndSet(
          null, new StorageException("upload of '" + key + "' was interrupted", e));
    } catch (IOException e) {
      failure.compareAndSet(
          null,
          new StorageException("cannot read " + file.getFileName() + " for '" + key + "'", e));
    } catch (RuntimeException e) {
      failure.compareAndSet(null, e);
    } finally {
      // Parts still in flight must finish before the caller completes or aborts the upload.
      inFlight.acquireUninterruptibly(config.parallelParts);
      inFlight.release(config.parallelParts);
    }
    if (failure.get() != null) {
      throw failure.get();
    }
    return parts;
  }

  private void submitPart(Semaphore inFlight, Runnable upload) {
    try {
      partPool.execute(upload);
    } catch (RuntimeException e) { // rejected: the store was closed
      inFlight.release();
      throw new StorageException("the store was closed during an upload", e);
    }
  }

  private static byte[] readPart(FileChannel ch, long offset, int length, Path file, String key)
      throws IOException {
    byte[] data = new byte[length];
    ByteBuffer buf = ByteBuffer.wrap(data);
    while (buf.hasRemaining()) {
      if (ch.read(buf, offset + buf.position()) < 0) {
        throw new StorageException(
            "'" + file.getFileName() + "' became shorter while uploading '" + key + "'");
      }
    }
    return data;
  }

  private void abortQuietly(String key, String uploadId) {
    try {
      // Short retry budget: the upload is failing already; the lifecycle rule (where
      // supported) aborts what is left after a day.
      client
          .abortMultipartUploadAsync(config.bucket, config.region, key, uploadId, null, null)
          .get(30, TimeUnit.SECONDS);
      LOG.info("aborted incomplete multipart upload of '{}'", key);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn(
          "could not abort multipart upload {} of '{}': {}; it holds space until the endpoint"
              + " expires it",
          uploadId,
          key,
          S3Failure.describe(e));
    }
  }

  /** Keys with incomplete multipart uploads under the prefix (operations and tests). */
  List<String> incompleteUploads(String prefix) {
    return call(
        "list multipart uploads",
        prefix,
        () -> {
          List<String> keys = new ArrayList<>();
          var result =
              client
                  .listMultipartUploadsAsync(
                      config.bucket,
                      config.region,
                      null,
                      null,
                      prefix,
                      1000,
                      null,
                      null,
                      null,
                      null)
                  .get()
                  .result();
          result.uploads().forEach(u -> keys.add(u.objectName()));
          return keys;
        });
  }

  // ---------------------------------------------------------------- read

  @Override
  public InputStream open(String key, boolean verifyChecksum) {
    checkKey(key);
    GetObjectResponse response =
        call(
            "get",
            key,
            () ->
                client
                    .getObject(GetObjectArgs.builder().bucket(config.bucket).object(key).build())
                    .get());
    if (!verifyChecksum) {
      return response;
    }
    String expected = response.headers().get(META_PREFIX + ObjectAttributes.META_SHA256);
    if (expected == null || expected.isBlank()) {
      try {
        response.close();
      } catch (IOException e) {
        LOG.debug("close after missing checksum: {}", e.toString());
      }
      throw new StorageException(
          "'"
              + key
              + "' has no sha256 metadata (it was not written through ArtifactStore), so it"
              + " cannot be verified; read it with verifyChecksum=false");
    }
    return new VerifyingInputStream(response, key, expected.toLowerCase(Locale.ROOT));
  }

  @Override
  public byte[] getBytes(String key, boolean verifyChecksum) {
    return call(
        "get",
        key,
        () -> {
          try (InputStream in = open(key, verifyChecksum)) {
            return in.readAllBytes();
          }
        });
  }

  @Override
  public StoredObject download(String key, Path target, boolean verifyChecksum) {
    checkKey(key);
    StoredObject stat = stat(key);
    call(
        "download",
        key,
        () -> {
          Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), ".dl-", ".tmp");
          try {
            try (InputStream in = open(key, verifyChecksum)) {
              Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
          } finally {
            Files.deleteIfExists(tmp);
          }
          return null;
        });
    return stat;
  }

  @Override
  public StoredObject stat(String key) {
    checkKey(key);
    try {
      StatObjectResponse r =
          call(
              "stat",
              key,
              () ->
                  client
                      .statObject(
                          StatObjectArgs.builder().bucket(config.bucket).object(key).build())
                      .get());
      Map<String, String> meta = new HashMap<>();
      r.userMetadata().forEach((k, v) -> meta.put(k.toLowerCase(Locale.ROOT), v));
      return new StoredObject(
          key,
          r.size(),
          meta.getOrDefault(ObjectAttributes.META_SHA256, ""),
          r.contentType(),
          stripQuotes(r.etag()),
          r.lastModified() == null ? null : r.lastModified().toInstant(),
          meta);
    } catch (ObjectNotFoundException e) {
      // HEAD answers a bare 404 for a missing bucket too: tell the two apart.
      Boolean bucketThere =
          call("check bucket", null, () -> client.bucketExists(bucketExists()).get());
      if (!Boolean.TRUE.equals(bucketThere)) {
        throw new BucketNotFoundException(config.bucket, e);
      }
      throw e;
    }
  }

  @Override
  public Optional<StoredObject> find(String key) {
    try {
      return Optional.of(stat(key));
    } catch (ObjectNotFoundException e) {
      return Optional.empty();
    }
  }

  @Override
  public List<StoredObject> list(String prefix) {
    if (prefix == null || prefix.contains("..")) {
      throw new IllegalArgumentException("prefix must not be null or contain '..': " + prefix);
    }
    return call(
        "list",
        prefix,
        () -> {
          List<StoredObject> out = new ArrayList<>();
          for (Result<Item> result :
              client.listObjects(
                  ListObjectsArgs.builder()
                      .bucket(config.bucket)
                      .prefix(prefix)
                      .recursive(true)
                      .build())) {
            Item item = result.get();
            if (item.isDir()) {
              continue;
            }
            out.add(
                new StoredObject(
                    item.objectName(),
                    item.size(),
                    "",
                    null,
                    stripQuotes(item.etag()),
                    item.lastModified() == null ? null : item.lastModified().toInstant(),
                    Map.of()));
          }
          return out;
        });
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
      Optional<PublishResult> existing = compareExisting(targetKey, source.sha256());
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
    return presign(Method.GET, key, expiry);
  }

  @Override
  public URI presignGetForTenant(String tenant, String key, Duration expiry) {
    ArtifactKeys.requireTenant(tenant, key);
    return presign(Method.GET, key, expiry);
  }

  @Override
  public URI presignPut(String key, Duration expiry) {
    return presign(Method.PUT, key, expiry);
  }

  private URI presign(Method method, String key, Duration expiry) {
    checkKey(key);
    long seconds = expiry.toSeconds();
    if (seconds < 1 || seconds > 7L * 24 * 3600) {
      throw new IllegalArgumentException(
          "presigned URL expiry must be 1 s to 7 days (S3 limit): " + expiry);
    }
    try {
      return URI.create(
          presigner.getPresignedObjectUrl(
              GetPresignedObjectUrlArgs.builder()
                  .method(method)
                  .bucket(config.bucket)
                  .object(key)
                  .expiry((int) seconds)
                  .build()));
    } catch (Exception e) {
      throw translate("presign", key, e);
    }
  }

  @Override
  public void close() {
    partPool.shutdownNow();
    try {
      client.close();
    } catch (Exception e) {
      LOG.warn("closing the S3 client: {}", e.toString());
    }
  }

  // ---------------------------------------------------------------- helpers

  private Optional<String> tagging(String key) {
    if (config.attemptExpiryDays != null && taggingSupported && ArtifactKeys.isAttemptKey(key)) {
      return Optional.of(RETENTION_TAG_KEY + "=" + RETENTION_TAG_VALUE);
    }
    return Optional.empty();
  }

  private static Map<String, String> userMetadata(ObjectAttributes attrs, String sha) {
    Map<String, String> meta = new HashMap<>(attrs.metadata());
    meta.put(ObjectAttributes.META_SHA256, sha);
    return meta;
  }

  private static Map<String, String> withSha(ObjectAttributes attrs, String sha) {
    return userMetadata(attrs, sha);
  }

  private static String stripQuotes(String etag) {
    if (etag == null) {
      return "";
    }
    return etag.startsWith("\"") && etag.endsWith("\"") && etag.length() >= 2
        ? etag.substring(1, etag.length() - 1)
        : etag;
  }

  /** Plain puts would overwrite a published result: final keys go through publish(). */
  private static void refuseFinal(String key) {
    if (key != null && ArtifactKeys.isFinalKey(key)) {
      throw new IllegalArgumentException(
          "'"
              + key
              + "' is a final (write-once) key: write it with publish(), which never replaces a"
              + " published result");
    }
  }

  private static void checkKey(String key) {
    if (key == null || key.isEmpty() || key.startsWith("/") || key.length() > 1024) {
      throw new IllegalArgumentException("invalid object key: " + key);
    }
    for (String segment : key.split("/", -1)) {
      if (segment.equals("..") || segment.equals(".")) {
        throw new IllegalArgumentException("object key must not contain '.' or '..': " + key);
      }
    }
  }

  /** One S3 call that may be retried. */
  @FunctionalInterface
  interface S3Call<T> {
    T run() throws Exception;
  }

  /**
   * Runs the call, retrying retryable failures with backoff and jitter until the policy's
   * elapsed-time budget is spent, and translates the rest to typed exceptions.
   */
  <T> T call(String operation, String key, S3Call<T> body) {
    long start = System.nanoTime();
    long budgetMillis = retry.maxElapsed().toMillis();
    int attempt = 0;
    while (true) {
      attempt++;
      try {
        T result = body.run();
        StorageMetrics.request(operation, "ok");
        return result;
      } catch (StorageException e) {
        throw e; // already typed (from a nested call)
      } catch (Exception e) {
        S3Failure failure = S3Failure.classify(e);
        if (failure != S3Failure.RETRYABLE) {
          StorageMetrics.request(operation, "failed");
          throw translate(operation, key, e);
        }
        long elapsed = (System.nanoTime() - start) / 1_000_000;
        long sleep = retry.backoffMillis(attempt);
        if (elapsed + sleep > budgetMillis) {
          StorageMetrics.request(operation, "failed");
          throw new StorageUnavailableException(
              describe(operation, key), attempt, elapsed, S3Failure.unwrap(e));
        }
        StorageMetrics.request(operation, "retry");
        LOG.warn(
            "{} failed (try {}, {} ms so far): {}; retrying in {} ms",
            describe(operation, key),
            attempt,
            elapsed,
            S3Failure.describe(e),
            sleep);
        try {
          Thread.sleep(sleep);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new StorageException(describe(operation, key) + " was interrupted", ie);
        }
      }
    }
  }

  private String describe(String operation, String key) {
    return key == null
        ? operation + " (bucket " + config.bucket + ")"
        : operation + " of '" + key + "'";
  }

  StorageException translate(String operation, String key, Throwable raw) {
    Throwable cause = S3Failure.unwrap(raw);
    if (cause instanceof StorageException se) {
      return se;
    }
    switch (S3Failure.classify(cause)) {
      case NO_SUCH_BUCKET:
        return new BucketNotFoundException(config.bucket, cause);
      case NOT_FOUND:
        return new ObjectNotFoundException(config.bucket, key, cause);
      case CREDENTIALS:
        return new InvalidCredentialsException(config.endpoint, S3Failure.code(cause), cause);
      case PRECONDITION_FAILED:
        return new PreconditionFailed(describe(operation, key), cause);
      case NO_SUCH_UPLOAD:
        return new UploadVanished(describe(operation, key), cause);
      case NOT_IMPLEMENTED:
        return new NotImplementedByEndpoint(
            describe(operation, key)
                + " is not implemented by the endpoint: "
                + S3Failure.describe(cause),
            cause);
      case INTERRUPTED:
        Thread.currentThread().interrupt();
        return new StorageException(describe(operation, key) + " was interrupted", cause);
      default:
        return new StorageException(
            describe(operation, key) + " failed: " + S3Failure.describe(cause), cause);
    }
  }

  /** 412 on a conditional write: something is at the key already. */
  static final class PreconditionFailed extends StorageException {
    PreconditionFailed(String what, Throwable cause) {
      super(what + ": precondition failed (an object is already at the key)", cause);
    }
  }

  /** NoSuchUpload: the endpoint lost the multipart upload (e.g. after a restart). */
  static final class UploadVanished extends StorageException {
    UploadVanished(String what, Throwable cause) {
      super(what + ": the endpoint no longer knows the multipart upload", cause);
    }
  }

  /** 501: the endpoint does not implement something the request asked for. */
  static final class NotImplementedByEndpoint extends StorageException {
    NotImplementedByEndpoint(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * On a 501, stops using the optional feature the request carried (object tags first, then the
   * conditional write in AUTO mode) and says whether a retry without it makes sense.
   */
  private boolean degrade(NotImplementedByEndpoint e, boolean tagged, boolean conditional) {
    if (tagged && taggingSupported) {
      taggingSupported = false;
      LOG.warn(
          "endpoint {} refused object tags ({}); attempt artifacts are written untagged, so no"
              + " lifecycle rule will expire them",
          config.endpoint,
          S3Failure.describe(e.getCause()));
      return true;
    }
    if (conditional
        && conditionalSupported
        && config.conditionalWrites == ArtifactStore.Builder.ConditionalWrites.AUTO) {
      conditionalSupported = false;
      LOG.warn(
          "endpoint {} does not implement conditional writes ({}); write-once publish falls"
              + " back to compare-by-checksum",
          config.endpoint,
          S3Failure.describe(e.getCause()));
      return true;
    }
    return false;
  }
}
