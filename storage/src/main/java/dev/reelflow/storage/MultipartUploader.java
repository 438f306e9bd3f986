package dev.reelflow.storage;

import static dev.reelflow.storage.S3ObjectConventions.META_PREFIX;
import static dev.reelflow.storage.S3ObjectConventions.stripQuotes;
import static dev.reelflow.storage.S3ObjectConventions.userMetadata;

import com.google.common.collect.HashMultimap;
import com.google.common.collect.Multimap;
import dev.reelflow.storage.S3ErrorTranslator.UploadVanished;
import io.minio.MinioAsyncClient;
import io.minio.messages.Part;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads a large file as one S3 multipart upload with parallel parts: it owns the part threads,
 * restarts uploads the endpoint lost and aborts the ones that failed, so no space leaks.
 */
final class MultipartUploader {
  private static final Logger LOG = LoggerFactory.getLogger(MultipartUploader.class);
  private static final int MAX_UPLOAD_RESTARTS = 3;

  private final ArtifactStore.Builder config;
  private final MinioAsyncClient client;
  private final RetryingS3Caller calls;
  private final EndpointFeatures features;
  private final Function<String, Optional<StoredObject>> find;
  private final IntConsumer afterPartUploaded;
  private final ExecutorService partPool;

  /**
   * @param find looks up the object at a key (to recognise our own completed upload)
   * @param afterPartUploaded test hook, called with the part number after each part is stored
   */
  MultipartUploader(
      ArtifactStore.Builder config,
      MinioAsyncClient client,
      RetryingS3Caller calls,
      EndpointFeatures features,
      Function<String, Optional<StoredObject>> find,
      IntConsumer afterPartUploaded) {
    this.config = config;
    this.client = client;
    this.calls = calls;
    this.features = features;
    this.find = find;
    this.afterPartUploaded = afterPartUploaded;
    AtomicInteger n = new AtomicInteger();
    ThreadFactory tf =
        r -> {
          Thread t = new Thread(r, "reelflow-s3-part-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    this.partPool = Executors.newCachedThreadPool(tf);
  }

  /** Stops the part threads; uploads in progress fail with a StorageException. */
  void shutdown() {
    partPool.shutdownNow();
  }

  /** Uploads the file, starting again (a few times) when the endpoint loses the upload. */
  StoredObject upload(
      String key, Path file, long size, String sha, ObjectAttributes attrs, boolean conditional) {
    for (int restart = 0; ; restart++) {
      try {
        return uploadOnce(key, file, size, sha, attrs, conditional);
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

  private StoredObject uploadOnce(
      String key, Path file, long size, String sha, ObjectAttributes attrs, boolean conditional) {
    Multimap<String, String> createHeaders = HashMultimap.create();
    createHeaders.put("Content-Type", attrs.contentType());
    userMetadata(attrs, sha).forEach((k, v) -> createHeaders.put(META_PREFIX + k, v));
    features.tagging(key).ifPresent(t -> createHeaders.put("x-amz-tagging", t));
    String uploadId =
        calls.call(
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
            calls.call(
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
          Optional<StoredObject> there = find.apply(key);
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
          key, size, sha, attrs.contentType(), stripQuotes(etag), null, userMetadata(attrs, sha));
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
              + " bytes; S3 allows 10000: raise s3.multipart.part-size-bytes");
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
                    calls.call(
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
    return calls.call(
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
}
