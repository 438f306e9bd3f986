package dev.reelflow.storage;

import static dev.reelflow.storage.S3ObjectConventions.checkKey;
import static dev.reelflow.storage.S3ObjectConventions.refuseFinal;
import static dev.reelflow.storage.S3ObjectConventions.stripQuotes;
import static dev.reelflow.storage.S3ObjectConventions.userMetadata;

import dev.reelflow.storage.S3ErrorTranslator.NotImplementedByEndpoint;
import dev.reelflow.storage.S3ErrorTranslator.PreconditionFailed;
import io.minio.MinioAsyncClient;
import io.minio.PutObjectArgs;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes objects in one PUT or by multipart, and makes publish write-once: a conditional write
 * (If-None-Match) where the endpoint has it, compare-by-checksum where it does not.
 */
final class ObjectWriter {
  private static final Logger LOG = LoggerFactory.getLogger(ObjectWriter.class);

  private final ArtifactStore.Builder config;
  private final MinioAsyncClient client;
  private final RetryingS3Caller calls;
  private final EndpointFeatures features;
  private final MultipartUploader multipart;
  private final Function<String, Optional<StoredObject>> find;

  /**
   * @param find looks up the object at a key (write-once compares against it)
   */
  ObjectWriter(
      ArtifactStore.Builder config,
      MinioAsyncClient client,
      RetryingS3Caller calls,
      EndpointFeatures features,
      MultipartUploader multipart,
      Function<String, Optional<StoredObject>> find) {
    this.config = config;
    this.client = client;
    this.calls = calls;
    this.features = features;
    this.multipart = multipart;
    this.find = find;
  }

  /** A plain put of a stream of known (or unknown, -1) size. */
  StoredObject put(String key, InputStream in, long size, ObjectAttributes attributes) {
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

  PublishResult write(String key, Path file, ObjectAttributes attrs, boolean writeOnce) {
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
    if (writeOnce && !features.useConditional()) {
      Optional<PublishResult> existing = compareExisting(key, sha);
      if (existing.isPresent()) {
        return existing.get();
      }
    }
    boolean conditional = writeOnce && features.useConditional();
    try {
      long start = System.nanoTime();
      StoredObject stored = multipart.upload(key, file, size, sha, attrs, conditional);
      StorageMetrics.upload("multipart", size, start);
      return new PublishResult(stored, false);
    } catch (PreconditionFailed e) {
      return afterRefusedWrite(key, sha, e);
    } catch (NotImplementedByEndpoint e) {
      if (features.degrade(e, features.tagging(key).isPresent(), conditional)) {
        return write(key, file, attrs, writeOnce);
      }
      throw e;
    }
  }

  PublishResult writeBytes(
      String key, byte[] bytes, String sha, ObjectAttributes attrs, boolean writeOnce) {
    checkKey(key);
    if (writeOnce && !features.useConditional()) {
      Optional<PublishResult> existing = compareExisting(key, sha);
      if (existing.isPresent()) {
        return existing.get();
      }
    }
    boolean conditional = writeOnce && features.useConditional();
    Map<String, String> headers = new HashMap<>();
    if (conditional) {
      headers.put("If-None-Match", "*");
    }
    features.tagging(key).ifPresent(t -> headers.put("x-amz-tagging", t));
    Map<String, String> meta = userMetadata(attrs, sha);
    try {
      long start = System.nanoTime();
      var response =
          calls.call(
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
              userMetadata(attrs, sha)),
          false);
    } catch (PreconditionFailed e) {
      return afterRefusedWrite(key, sha, e);
    } catch (NotImplementedByEndpoint e) {
      if (features.degrade(e, features.tagging(key).isPresent(), conditional)) {
        return writeBytes(key, bytes, sha, attrs, writeOnce);
      }
      throw e;
    }
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
  Optional<PublishResult> compareExisting(String key, String sha) {
    Optional<StoredObject> existing = find.apply(key);
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
}
