package dev.reelflow.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded platform services in one object: a Kafka KRaft broker, the schema registry server
 * (stored in the broker's {@code _schemas} topic) and an S3 endpoint, each optional.
 *
 * <pre>{@code
 * try (LocalStack stack = LocalStack.builder().workDir(dir).kafka().registry().s3().build()) {
 *   stack.start();
 *   String bootstrap = stack.bootstrapServers();
 *   stack.kafka().stop(); // fault injection
 *   stack.kafka().start(); // same port, same data
 * }
 * }</pre>
 *
 * <p>All data lives under the work directory ({@code kafka/}, {@code s3/}), so a stack started
 * again on the same directory keeps topics, schema ids and objects. {@link #close()} stops
 * everything in reverse order; {@link #registerShutdownHook()} does the same on Ctrl-C.
 */
public final class LocalStack implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalStack.class);

  private final Path workDir;
  private final KafkaBroker kafka;
  private final String externalBootstrapServers;
  private final SchemaRegistryServer registry;
  private final S3Endpoint s3;
  private final boolean deleteWorkDirOnClose;
  private Thread shutdownHook;
  private boolean closed;

  private LocalStack(Builder b, Path workDir) {
    this.workDir = workDir;
    this.deleteWorkDirOnClose = b.deleteWorkDirOnClose;
    this.kafka = b.kafka ? kafkaBuilder(b, workDir).build() : null;
    this.externalBootstrapServers = b.externalBootstrapServers;
    this.registry =
        b.registry
            ? SchemaRegistryServer.builder(
                    kafka != null ? kafka.bootstrapServers() : externalBootstrapServers)
                .port(b.registryPort)
                .build()
            : null;
    this.s3 = b.s3 ? S3Endpoint.builder(workDir).port(b.s3Port).bucket(b.bucket).build() : null;
  }

  public static Builder builder() {
    return new Builder();
  }

  private static KafkaBroker.Builder kafkaBuilder(Builder b, Path workDir) {
    KafkaBroker.Builder kb =
        KafkaBroker.builder(workDir).port(b.kafkaPort).controllerPort(b.controllerPort);
    b.kafkaProperties.forEach(kb::property);
    return kb;
  }

  /**
   * Starts the chosen services (broker first, then registry, then S3) and logs how long each took.
   * When one fails, the ones already started are stopped again before the exception is thrown.
   */
  public synchronized LocalStack start() {
    if (closed) {
      throw new IllegalStateException("This LocalStack was closed; build a new one");
    }
    QuietLogging.applyIfUnconfigured();
    long begin = System.nanoTime();
    try {
      Map<String, Long> millis = new LinkedHashMap<>();
      if (kafka != null) {
        millis.put("kafka", timed(kafka::start));
      }
      if (registry != null) {
        millis.put("registry", timed(registry::start));
      }
      if (s3 != null) {
        millis.put("s3", timed(s3::start));
      }
      LOG.info(
          "Local stack started in {} ms {} (work dir {})",
          (System.nanoTime() - begin) / 1_000_000,
          millis,
          workDir);
    } catch (RuntimeException e) {
      try {
        stopAll();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return this;
  }

  /** Stops every service (S3, registry, broker) and, if so configured, deletes the work dir. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      stopAll();
    } finally {
      if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
        try {
          Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
          // The JVM is already shutting down; the hook is running or has run.
        }
      }
      if (deleteWorkDirOnClose) {
        deleteRecursively(workDir);
      }
    }
  }

  /** Closes this stack when the JVM exits (Ctrl-C, SIGTERM). Idempotent. */
  public synchronized LocalStack registerShutdownHook() {
    if (shutdownHook == null) {
      shutdownHook = new Thread(this::close, "reelflow-stack-shutdown");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    }
    return this;
  }

  private void stopAll() {
    List<RuntimeException> failures = new ArrayList<>();
    for (AutoCloseable service : new AutoCloseable[] {s3, registry, kafka}) {
      if (service == null) {
        continue;
      }
      try {
        service.close();
      } catch (Exception e) {
        failures.add(e instanceof RuntimeException r ? r : new StackException(e.toString(), e));
      }
    }
    if (!failures.isEmpty()) {
      RuntimeException first = failures.get(0);
      failures.stream().skip(1).forEach(first::addSuppressed);
      throw first;
    }
  }

  /** The broker handle (stop/start for fault tests). */
  public KafkaBroker kafka() {
    return require(kafka, "kafka");
  }

  /** The schema registry handle (stop/start for fault tests). */
  public SchemaRegistryServer registry() {
    return require(registry, "registry");
  }

  /** The S3 endpoint handle (stop/start for fault tests). */
  public S3Endpoint s3() {
    return require(s3, "s3");
  }

  public boolean hasKafka() {
    return kafka != null;
  }

  public boolean hasRegistry() {
    return registry != null;
  }

  public boolean hasS3() {
    return s3 != null;
  }

  /** The embedded broker's address, or the external Kafka cluster's the stack was built with. */
  public String bootstrapServers() {
    return kafka == null && externalBootstrapServers != null
        ? externalBootstrapServers
        : kafka().bootstrapServers();
  }

  public String schemaRegistryUrl() {
    return registry().url();
  }

  /** The S3 endpoint URL, e.g. {@code http://127.0.0.1:41234}. */
  public String s3Endpoint() {
    return s3().endpoint();
  }

  public String s3AccessKey() {
    return s3().accessKey();
  }

  public String s3SecretKey() {
    return s3().secretKey();
  }

  public String s3Region() {
    return s3().region();
  }

  public String bucket() {
    return s3().bucket();
  }

  public Path workDir() {
    return workDir;
  }

  /** Every address and credential of this stack, e.g. for {@code .reelflow/local.json}. */
  public LocalStackInfo info() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("workDir", workDir.toAbsolutePath().toString());
    if (kafka != null || externalBootstrapServers != null) {
      m.put("kafka.bootstrapServers", bootstrapServers());
    }
    if (registry != null) {
      m.put("schemaRegistry.url", registry.url());
    }
    if (s3 != null) {
      m.put("s3.endpoint", s3.endpoint());
      m.put("s3.accessKey", s3.accessKey());
      m.put("s3.secretKey", s3.secretKey());
      m.put("s3.region", s3.region());
      m.put("s3.bucket", s3.bucket());
    }
    return new LocalStackInfo(m);
  }

  /** Same as {@code info().toMap()}. */
  public Map<String, String> toMap() {
    return info().toMap();
  }

  /** Human-readable lines with every address and credential. */
  public String describe() {
    return info().describe();
  }

  private static <T> T require(T service, String name) {
    if (service == null) {
      throw new IllegalStateException(
          "This LocalStack was built without " + name + "; add ." + name + "() to its builder");
    }
    return service;
  }

  private static long timed(Runnable action) {
    long begin = System.nanoTime();
    action.run();
    return (System.nanoTime() - begin) / 1_000_000;
  }

  static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("Could not delete work directory {}: {}", dir, e.toString());
    }
  }

  /** Options of a {@link LocalStack}. Ports 0 (the default) pick free ports. */
  public static final class Builder {
    private Path workDir;
    private boolean kafka;
    private String externalBootstrapServers;
    private boolean registry;
    private boolean s3;
    private int kafkaPort;
    private int controllerPort;
    private int registryPort;
    private int s3Port;
    private String bucket = "reelflow";
    private boolean deleteWorkDirOnClose;
    private final Map<String, String> kafkaProperties = new LinkedHashMap<>();

    private Builder() {}

    /** Overrides or adds a broker property, e.g. {@code transaction.max.timeout.ms}. */
    public Builder kafkaProperty(String key, String value) {
      kafkaProperties.put(
          Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /** Where data lives; default: a new temporary directory that is deleted on close. */
    public Builder workDir(Path workDir) {
      this.workDir = Objects.requireNonNull(workDir, "workDir");
      return this;
    }

    public Builder kafka() {
      this.kafka = true;
      return this;
    }

    /**
     * The schema registry. It stores its schemas in Kafka: in the embedded broker, which this
     * selects, unless {@link #externalKafka(String)} names a cluster to use instead.
     */
    public Builder registry() {
      this.registry = true;
      return this;
    }

    /**
     * Uses an existing Kafka cluster (e.g. the multi-broker one of ops/cluster) for the schema
     * registry instead of starting the embedded broker.
     */
    public Builder externalKafka(String bootstrapServers) {
      if (Objects.requireNonNull(bootstrapServers, "bootstrapServers").isBlank()) {
        throw new IllegalArgumentException("bootstrapServers must not be blank");
      }
      this.externalBootstrapServers = bootstrapServers;
      return this;
    }

    public Builder s3() {
      this.s3 = true;
      return this;
    }

    /** Broker, registry and S3. */
    public Builder all() {
      return kafka().registry().s3();
    }

    public Builder kafkaPort(int port) {
      this.kafkaPort = KafkaBroker.checkPort(port);
      return this;
    }

    public Builder controllerPort(int port) {
      this.controllerPort = KafkaBroker.checkPort(port);
      return this;
    }

    public Builder registryPort(int port) {
      this.registryPort = KafkaBroker.checkPort(port);
      return this;
    }

    public Builder s3Port(int port) {
      this.s3Port = KafkaBroker.checkPort(port);
      return this;
    }

    /** The bucket created on start; default {@code reelflow}. */
    public Builder bucket(String bucket) {
      this.bucket = Objects.requireNonNull(bucket, "bucket");
      return this;
    }

    /** Deletes the work directory on {@link LocalStack#close()} (default only for temp dirs). */
    public Builder deleteWorkDirOnClose(boolean delete) {
      this.deleteWorkDirOnClose = delete;
      return this;
    }

    /** Builds the stack without starting it. */
    public LocalStack build() {
      if (kafka && externalBootstrapServers != null) {
        throw new IllegalStateException(
            "Choose either the embedded broker (kafka()) or externalKafka(...), not both");
      }
      if (registry && externalBootstrapServers == null) {
        kafka = true;
      }
      if (!kafka && !registry && !s3) {
        throw new IllegalStateException("Choose at least one service: kafka(), registry(), s3()");
      }
      Path dir = workDir;
      if (dir == null) {
        try {
          dir = Files.createTempDirectory("reelflow-stack-");
        } catch (IOException e) {
          throw new StackException("Could not create a temporary work directory", e);
        }
        deleteWorkDirOnClose = true;
      }
      return new LocalStack(this, dir);
    }
  }
}
