package dev.reelflow.storage;

import dev.reelflow.config.Durations;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The object store every artifact goes through: S3 API via the MinIO Java SDK, so MinIO, the
 * embedded S3Proxy endpoint and AWS S3 all work.
 *
 * <ul>
 *   <li>Every write computes the SHA-256 of the bytes and stores it as user metadata {@value
 *       ObjectAttributes#META_SHA256}; reads verify it where asked.
 *   <li>Objects above the multipart threshold go up in parts, several in parallel; a failed upload
 *       is aborted, so nothing is ever visible at the key until the whole object is.
 *   <li>Every request is retried with exponential backoff and jitter on 5xx, 409, 429, timeouts and
 *       connection errors for up to {@link RetryPolicy#maxElapsed()} (120 s by default); other 4xx
 *       fail at once with a typed {@link StorageException}.
 *   <li>{@link #publish} is write-once (for {@code …/final/} keys).
 * </ul>
 *
 * Thread-safe; one instance per process is enough. Keys come from {@link ArtifactKeys}.
 */
public interface ArtifactStore extends AutoCloseable {

  /** A builder with the defaults documented on its setters. */
  static Builder builder() {
    return new Builder();
  }

  /** The bucket this store writes to. */
  String bucket();

  /** The endpoint URL (for logs and lineage namespaces). */
  String endpoint();

  /**
   * Creates the bucket if it is missing and, when {@link Builder#attemptArtifactExpiry} is set,
   * installs a lifecycle rule that expires attempt-level artifacts (tagged {@code
   * reelflow-retention=attempt} at upload) and aborts incomplete multipart uploads. An endpoint
   * that does not support lifecycle rules (S3Proxy) is reported in the result, not thrown.
   */
  BucketStatus ensureBucket();

  /**
   * Uploads a file (multipart above the threshold). Overwrites an existing object, so a retried
   * attempt replaces its own earlier upload. Final keys ({@code …/final/…}) are refused with {@link
   * IllegalArgumentException}: they are written once, through {@link #publish}.
   */
  StoredObject put(String key, Path file, ObjectAttributes attributes);

  /**
   * Uploads a stream. {@code size} is the exact length, or -1 when unknown. Up to the multipart
   * threshold the bytes are buffered in memory; beyond it the stream is spooled to a temporary
   * file, hashing as it goes, because S3 takes the SHA-256 metadata only at the start of an upload.
   * A stream that ends before {@code size} bytes writes nothing.
   */
  StoredObject put(String key, InputStream in, long size, ObjectAttributes attributes);

  /** Uploads bytes. */
  StoredObject put(String key, byte[] bytes, ObjectAttributes attributes);

  /**
   * Write-once upload: succeeds when nothing is at the key yet, or when the object there has the
   * same SHA-256 (a replay, or this call's own retried request); refuses different bytes with
   * {@link AlreadyPublishedException}. Uses a conditional write ({@code If-None-Match: *}) where
   * the endpoint supports it; otherwise (see {@link Builder#conditionalWrites}) compares checksums
   * before writing, which leaves a small race window between two writers.
   */
  PublishResult publish(String key, Path file, ObjectAttributes attributes);

  /** Write-once upload of bytes; see {@link #publish(String, Path, ObjectAttributes)}. */
  PublishResult publish(String key, byte[] bytes, ObjectAttributes attributes);

  /**
   * Opens the object for reading. With {@code verifyChecksum}, reading to the end throws {@link
   * ChecksumMismatchException} when the bytes do not match the recorded SHA-256. The stream is not
   * retried once opened; use {@link #download} for retried, verified reads.
   */
  InputStream open(String key, boolean verifyChecksum);

  /** Reads the whole object into memory (retried; verified where asked). */
  byte[] getBytes(String key, boolean verifyChecksum);

  /** Downloads to a file (retried; verified where asked) and returns the object's stat. */
  StoredObject download(String key, Path target, boolean verifyChecksum);

  /** Size, checksum, content type and metadata; {@link ObjectNotFoundException} if missing. */
  StoredObject stat(String key);

  /** As {@link #stat} but empty when the object is missing. */
  Optional<StoredObject> find(String key);

  /**
   * Objects under the prefix, recursively, in key order. Listing does not return metadata: {@link
   * StoredObject#sha256()} is empty; {@link #stat} an entry for it.
   */
  List<StoredObject> list(String prefix);

  /** Deletes the object; deleting a missing object is not an error. */
  void delete(String key);

  /**
   * Server-side copy (no bytes through this process); metadata and checksum are kept. A final
   * target key is write-once: an identical object there is kept, a different one raises {@link
   * AlreadyPublishedException} (checked before the copy: S3 has no conditional copy).
   */
  StoredObject copy(String sourceKey, String targetKey);

  /** A presigned GET URL valid for {@code expiry} (1 s to 7 days). */
  URI presignGet(String key, Duration expiry);

  /**
   * A presigned GET URL for a tenant's own object; refuses keys outside {@code {tenant}/} with
   * {@link KeyOutsideTenantException}, so one tenant's URL never reaches another's artifact.
   */
  URI presignGetForTenant(String tenant, String key, Duration expiry);

  /** A presigned PUT URL (unsigned payload) valid for {@code expiry}. */
  URI presignPut(String key, Duration expiry);

  /** Releases the HTTP client and the upload threads. */
  @Override
  void close();

  /**
   * Options of an {@link ArtifactStore}, Kafka-client style: typed setters with documented
   * defaults, validated by {@link #build()}. The builder reads no configuration itself: each
   * process reads its {@code s3.*} settings through its own config spec and calls the setters
   * (ARCHITECTURE.md, decision 23). Validation messages and {@link #describe()} name the options in
   * that vocabulary.
   */
  final class Builder {
    static final long MIN_PART_SIZE = 5L * 1024 * 1024;
    static final long MAX_PART_SIZE = 5L * 1024 * 1024 * 1024;

    /** How write-once publish asks the endpoint to refuse an overwrite. */
    public enum ConditionalWrites {
      /** Conditional write; on 501 from the endpoint, compare-by-checksum from then on. */
      AUTO,
      /** Always conditional ({@code If-None-Match: *}). */
      ALWAYS,
      /** Compare-by-checksum only, for endpoints that silently ignore If-None-Match. */
      NEVER
    }

    String endpoint;
    String accessKey;
    String secretKey;
    String region = "us-east-1";
    String bucket = "reelflow";
    long multipartThreshold = 16L * 1024 * 1024;
    long partSize = 16L * 1024 * 1024;
    int parallelParts = 4;
    Duration connectTimeout = Duration.ofSeconds(10);
    Duration requestTimeout = Duration.ofSeconds(60);
    RetryPolicy retryPolicy = RetryPolicy.defaults();
    ConditionalWrites conditionalWrites = ConditionalWrites.AUTO;
    Integer attemptExpiryDays;
    String presignEndpoint;

    Builder() {}

    /** S3 endpoint URL, e.g. {@code http://localhost:9000}. Required. */
    public Builder endpoint(String endpoint) {
      this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
      return this;
    }

    /** Access and secret key. Required. */
    public Builder credentials(String accessKey, String secretKey) {
      this.accessKey = Objects.requireNonNull(accessKey, "accessKey");
      this.secretKey = Objects.requireNonNull(secretKey, "secretKey");
      return this;
    }

    /** Region; default {@code us-east-1}. */
    public Builder region(String region) {
      this.region = Objects.requireNonNull(region, "region");
      return this;
    }

    /** Bucket; default {@code reelflow}. */
    public Builder bucket(String bucket) {
      this.bucket = Objects.requireNonNull(bucket, "bucket");
      return this;
    }

    /** Objects larger than this go multipart; default 16 MiB, at least 5 MiB. */
    public Builder multipartThreshold(long bytes) {
      this.multipartThreshold = bytes;
      return this;
    }

    /** Part size; default 16 MiB, 5 MiB to 5 GiB. */
    public Builder partSize(long bytes) {
      this.partSize = bytes;
      return this;
    }

    /** Parts in flight per upload; default 4. Memory: parallelParts x partSize per upload. */
    public Builder parallelParts(int parts) {
      this.parallelParts = parts;
      return this;
    }

    /** Connect timeout; default 10 s. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Objects.requireNonNull(timeout, "connectTimeout");
      return this;
    }

    /** Read/write timeout of one request; default 60 s. */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = Objects.requireNonNull(timeout, "requestTimeout");
      return this;
    }

    /** Retry policy; default {@link RetryPolicy#defaults()} (120 s max elapsed). */
    public Builder retryPolicy(RetryPolicy policy) {
      this.retryPolicy = Objects.requireNonNull(policy, "retryPolicy");
      return this;
    }

    /** How publish refuses overwrites; default {@link ConditionalWrites#AUTO}. */
    public Builder conditionalWrites(ConditionalWrites mode) {
      this.conditionalWrites = Objects.requireNonNull(mode, "conditionalWrites");
      return this;
    }

    /** Expire attempt-level artifacts after this many days (lifecycle rule); default never. */
    public Builder attemptArtifactExpiry(int days) {
      if (days < 1) {
        throw new IllegalArgumentException("attemptArtifactExpiry must be >= 1 day: " + days);
      }
      this.attemptExpiryDays = days;
      return this;
    }

    /**
     * Endpoint that presigned URLs point at, when clients reach the store under another name than
     * this process (an ingress, a public host name); default: the endpoint. SigV4 signs the host,
     * so the URL must be signed for the name the client uses.
     */
    public Builder presignEndpoint(String endpoint) {
      this.presignEndpoint = endpoint;
      return this;
    }

    /**
     * The effective options, secret masked, for the start-up log: named as the {@code s3.*}
     * settings are (ARCHITECTURE.md, decision 23), durations written as {@link Durations} writes
     * them ({@code 2m}, {@code 200ms}).
     */
    public Map<String, String> describe() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("s3.endpoint", String.valueOf(endpoint));
      m.put("s3.access-key", String.valueOf(accessKey));
      m.put("s3.secret-key", secretKey == null ? "null" : "****");
      m.put("s3.region", region);
      m.put("s3.bucket", bucket);
      m.put("s3.multipart.threshold-bytes", Long.toString(multipartThreshold));
      m.put("s3.multipart.part-size-bytes", Long.toString(partSize));
      m.put("s3.multipart.parallel-parts", Integer.toString(parallelParts));
      m.put("s3.connect-timeout", Durations.format(connectTimeout));
      m.put("s3.request-timeout", Durations.format(requestTimeout));
      m.put("s3.retry.max-elapsed", Durations.format(retryPolicy.maxElapsed()));
      m.put("s3.retry.initial-backoff", Durations.format(retryPolicy.initialBackoff()));
      m.put("s3.retry.max-backoff", Durations.format(retryPolicy.maxBackoff()));
      m.put("s3.conditional-writes", conditionalWrites.name().toLowerCase(java.util.Locale.ROOT));
      m.put(
          "s3.attempt-expiry-days", attemptExpiryDays == null ? "" : attemptExpiryDays.toString());
      m.put(
          "s3.presign-endpoint",
          presignEndpoint == null ? String.valueOf(endpoint) : presignEndpoint);
      return m;
    }

    /** Validates the options and builds the store (no network call). */
    public ArtifactStore build() {
      if (endpoint == null || endpoint.isBlank()) {
        throw new IllegalArgumentException("s3.endpoint is required");
      }
      checkUrl("s3.endpoint", endpoint);
      if (presignEndpoint != null) {
        checkUrl("s3.presign-endpoint", presignEndpoint);
      }
      if (accessKey == null || accessKey.isBlank() || secretKey == null || secretKey.isBlank()) {
        throw new IllegalArgumentException("s3.access-key and s3.secret-key are required");
      }
      if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
        throw new IllegalArgumentException(
            "s3.bucket '" + bucket + "' is not a valid S3 bucket name (3-63 of a-z 0-9 . -)");
      }
      if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
        throw new IllegalArgumentException(
            "s3.multipart.part-size-bytes must be between 5 MiB and 5 GiB (S3 limits): "
                + partSize);
      }
      if (multipartThreshold < MIN_PART_SIZE || multipartThreshold > MAX_PART_SIZE) {
        throw new IllegalArgumentException(
            "s3.multipart.threshold-bytes must be between 5 MiB and 5 GiB: " + multipartThreshold);
      }
      if (parallelParts < 1 || parallelParts > 64) {
        throw new IllegalArgumentException(
            "s3.multipart.parallel-parts must be 1..64: " + parallelParts);
      }
      if (connectTimeout.isNegative() || connectTimeout.isZero()) {
        throw new IllegalArgumentException("s3.connect-timeout must be > 0");
      }
      if (requestTimeout.isNegative() || requestTimeout.isZero()) {
        throw new IllegalArgumentException("s3.request-timeout must be > 0");
      }
      return new MinioArtifactStore(this);
    }

    private static void checkUrl(String key, String url) {
      URI uri;
      try {
        uri = URI.create(url);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(key + " is not a URL: " + url, e);
      }
      if (uri.getScheme() == null
          || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
          || uri.getHost() == null) {
        throw new IllegalArgumentException(
            key + " must be an http(s) URL such as http://localhost:9000: " + url);
      }
    }
  }
}
