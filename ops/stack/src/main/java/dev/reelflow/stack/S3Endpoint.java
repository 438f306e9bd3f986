package dev.reelflow.stack;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Properties;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An S3-compatible endpoint (S3Proxy with its filesystem backend) serving {@code workDir/s3}.
 *
 * <p>Credentials are generated on the first start and kept in {@code workDir/s3/credentials
 * .properties}, so a restart on the same work directory serves the same objects with the same keys.
 * {@link #stop()} and {@link #start()} bring the endpoint down and back up on the same port (used
 * to simulate an S3 outage). S3Proxy 4.x honours {@code If-None-Match: *} on PUT, which the storage
 * module's write-once publish relies on.
 */
public final class S3Endpoint implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(S3Endpoint.class);
  private static final String HOST = "127.0.0.1";

  /** The region S3Proxy signs with; clients must use the same one. */
  public static final String REGION = "us-east-1";

  private final Path baseDir;
  private final int port;
  private final String bucket;
  private final String accessKey;
  private final String secretKey;
  private S3Proxy proxy;
  private BlobStore blobStore;

  private S3Endpoint(Builder builder) {
    this.baseDir = builder.workDir.resolve("s3");
    this.port = FreePorts.orFree(builder.port);
    this.bucket = builder.bucket;
    String[] keys = loadOrCreateCredentials(baseDir, builder.accessKey, builder.secretKey);
    this.accessKey = keys[0];
    this.secretKey = keys[1];
  }

  public static Builder builder(Path workDir) {
    return new Builder(workDir);
  }

  /** Starts serving and creates the bucket when it does not exist yet. */
  public synchronized void start() {
    if (proxy != null) {
      return;
    }
    long begin = System.nanoTime();
    try {
      Files.createDirectories(baseDir.resolve("blobs"));
      BlobStore store = new FilesystemNio2BlobStore(baseDir.resolve("blobs").toString());
      if (!store.containerExists(bucket)) {
        store.createContainer(bucket);
      }
      S3Proxy s3Proxy =
          S3Proxy.builder()
              .blobStore(store)
              .endpoint(URI.create("http://" + HOST + ":" + port))
              .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
              .jettyMaxThreads(32)
              // stop() is an outage for fault tests: give in-flight requests 0.5 s, then cut them.
              .stopTimeout(500)
              .build();
      s3Proxy.start();
      waitUntilStarted(s3Proxy);
      proxy = s3Proxy;
      blobStore = store;
    } catch (Exception e) {
      throw new StackException(
          "S3 endpoint did not start on port " + port + " (data in " + baseDir + ")", e);
    }
    LOG.info(
        "S3 endpoint started at {} in {} ms (bucket {}, data {})",
        endpoint(),
        (System.nanoTime() - begin) / 1_000_000,
        bucket,
        baseDir);
  }

  /** Stops serving; objects stay on disk. Does nothing when it is not running. */
  public synchronized void stop() {
    if (proxy == null) {
      return;
    }
    S3Proxy s3Proxy = proxy;
    BlobStore store = blobStore;
    proxy = null;
    blobStore = null;
    try {
      s3Proxy.stop();
    } catch (java.util.concurrent.TimeoutException e) {
      // Jetty finished stopping after the graceful period; open requests were cut, as intended.
      LOG.debug("S3 endpoint on port {} cut requests still open at stop", port);
    } catch (Exception e) {
      throw new StackException("S3 endpoint on port " + port + " did not stop cleanly", e);
    } finally {
      store.close();
    }
    LOG.info("S3 endpoint on port {} stopped", port);
  }

  @Override
  public void close() {
    stop();
  }

  public synchronized boolean isRunning() {
    return proxy != null;
  }

  /** The HTTP endpoint, e.g. {@code http://127.0.0.1:9000} (path-style addressing). */
  public String endpoint() {
    return "http://" + HOST + ":" + port;
  }

  public int port() {
    return port;
  }

  public String accessKey() {
    return accessKey;
  }

  public String secretKey() {
    return secretKey;
  }

  public String region() {
    return REGION;
  }

  public String bucket() {
    return bucket;
  }

  public Path dataDir() {
    return baseDir;
  }

  private static void waitUntilStarted(S3Proxy s3Proxy) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!"STARTED".equals(s3Proxy.getState())) {
      if (System.nanoTime() > deadline) {
        throw new StackException("S3Proxy stayed in state " + s3Proxy.getState());
      }
      Thread.sleep(10);
    }
  }

  private static String[] loadOrCreateCredentials(Path baseDir, String access, String secret) {
    Path file = baseDir.resolve("credentials.properties");
    try {
      Properties props = new Properties();
      if (access == null && Files.exists(file)) {
        try (InputStream in = Files.newInputStream(file)) {
          props.load(in);
        }
        return new String[] {props.getProperty("accessKey"), props.getProperty("secretKey")};
      }
      SecureRandom random = new SecureRandom();
      String accessKey = access != null ? access : "reelflow-" + randomHex(random, 6);
      String secretKey = secret != null ? secret : randomHex(random, 20);
      Files.createDirectories(baseDir);
      props.setProperty("accessKey", accessKey);
      props.setProperty("secretKey", secretKey);
      try (OutputStream out = Files.newOutputStream(file)) {
        props.store(out, "Local S3 endpoint credentials (generated)");
      }
      try {
        Files.setPosixFilePermissions(
            file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException notPosix) {
        // Windows: the user's profile directory protects it.
      }
      return new String[] {accessKey, secretKey};
    } catch (IOException e) {
      throw new StackException("Could not read or write S3 credentials in " + file, e);
    }
  }

  private static String randomHex(SecureRandom random, int bytes) {
    byte[] b = new byte[bytes];
    random.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** Options of an {@link S3Endpoint}. */
  public static final class Builder {
    private final Path workDir;
    private int port;
    private String bucket = "reelflow";
    private String accessKey;
    private String secretKey;

    private Builder(Path workDir) {
      this.workDir = Objects.requireNonNull(workDir, "workDir");
    }

    /** HTTP port; 0 (default) picks a free one. */
    public Builder port(int port) {
      this.port = KafkaBroker.checkPort(port);
      return this;
    }

    /** The bucket created on start; default {@code reelflow}. */
    public Builder bucket(String bucket) {
      if (bucket == null || !bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
        throw new IllegalArgumentException(
            "Bucket name must be 3-63 lower-case letters, digits, dots or dashes: " + bucket);
      }
      this.bucket = bucket;
      return this;
    }

    /** Fixed credentials instead of generated ones. */
    public Builder credentials(String accessKey, String secretKey) {
      if (accessKey == null || accessKey.isBlank() || secretKey == null || secretKey.isBlank()) {
        throw new IllegalArgumentException("Access key and secret key must both be non-blank");
      }
      this.accessKey = accessKey;
      this.secretKey = secretKey;
      return this;
    }

    public S3Endpoint build() {
      return new S3Endpoint(this);
    }
  }
}
