package dev.reelflow.storage;

import static dev.reelflow.storage.S3ObjectConventions.META_PREFIX;
import static dev.reelflow.storage.S3ObjectConventions.checkKey;
import static dev.reelflow.storage.S3ObjectConventions.stripQuotes;

import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.ListObjectsArgs;
import io.minio.MinioAsyncClient;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.messages.Item;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads objects, their metadata and listings, verifying the stored SHA-256 on request; the writers
 * use its {@link #find} to compare against what is already at a key.
 */
final class ObjectReader {
  private static final Logger LOG = LoggerFactory.getLogger(ObjectReader.class);

  private final ArtifactStore.Builder config;
  private final MinioAsyncClient client;
  private final RetryingS3Caller calls;
  private final BucketSetup bucketSetup;

  ObjectReader(
      ArtifactStore.Builder config,
      MinioAsyncClient client,
      RetryingS3Caller calls,
      BucketSetup bucketSetup) {
    this.config = config;
    this.client = client;
    this.calls = calls;
    this.bucketSetup = bucketSetup;
  }

  InputStream open(String key, boolean verifyChecksum) {
    checkKey(key);
    GetObjectResponse response =
        calls.call(
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

  byte[] getBytes(String key, boolean verifyChecksum) {
    return calls.call(
        "get",
        key,
        () -> {
          try (InputStream in = open(key, verifyChecksum)) {
            return in.readAllBytes();
          }
        });
  }

  StoredObject download(String key, Path target, boolean verifyChecksum) {
    checkKey(key);
    StoredObject stat = stat(key);
    calls.call(
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

  StoredObject stat(String key) {
    checkKey(key);
    try {
      StatObjectResponse r =
          calls.call(
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
      Boolean bucketThere = bucketSetup.bucketExists();
      if (!Boolean.TRUE.equals(bucketThere)) {
        throw new BucketNotFoundException(config.bucket, e);
      }
      throw e;
    }
  }

  Optional<StoredObject> find(String key) {
    try {
      return Optional.of(stat(key));
    } catch (ObjectNotFoundException e) {
      return Optional.empty();
    }
  }

  List<StoredObject> list(String prefix) {
    if (prefix == null || prefix.contains("..")) {
      throw new IllegalArgumentException("prefix must not be null or contain '..': " + prefix);
    }
    return calls.call(
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
}
