package dev.reelflow.stack;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A schema registry that speaks the Confluent Schema Registry REST API for Avro schemas, so that
 * Confluent's own client, the project's client and tools like curl work against it. Schemas live in
 * the compacted single-partition topic {@code _schemas} (created when missing), so ids stay the
 * same across restarts, and several instances on one broker agree on ids.
 *
 * <p>Endpoints: {@code GET /schemas/ids/{id}[/schema|/versions]}, {@code GET /schemas/types},
 * {@code GET /subjects}, {@code GET|POST /subjects/{s}/versions}, {@code GET
 * /subjects/{s}/versions/{v|latest}[/schema]}, {@code POST /subjects/{s}} (lookup), {@code DELETE
 * /subjects/{s}[/versions/{v}]} (soft, {@code ?permanent=true} hard), {@code POST
 * /compatibility/subjects/{s}/versions[/{v|latest}]}, {@code GET|PUT /config[/{s}]}, {@code DELETE
 * /config/{s}}, {@code GET /mode}. Schema references and non-Avro schema types are refused with
 * 42201. Limitation: a schema id stays resolvable after its subjects were deleted permanently.
 */
public final class SchemaRegistryServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryServer.class);
  private static final String HOST = "127.0.0.1";
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  private final String bootstrapServers;
  private final int port;
  private final String topic;
  private final Duration timeout;
  private final CompatibilityLevel defaultLevel;
  private final String user;
  private final String password;
  private HttpServer http;
  private ExecutorService executor;
  private KafkaSchemaLog log;

  private SchemaRegistryServer(Builder b) {
    this.bootstrapServers = b.bootstrapServers;
    this.port = FreePorts.orFree(b.port);
    this.topic = b.topic;
    this.timeout = b.timeout;
    this.defaultLevel = b.defaultLevel;
    this.user = b.user;
    this.password = b.password;
  }

  /** A registry that stores its schemas in the broker(s) at {@code bootstrapServers}. */
  public static Builder builder(String bootstrapServers) {
    return new Builder(bootstrapServers);
  }

  /** Replays the schemas topic, then serves HTTP; returns once requests are answered. */
  public synchronized void start() {
    if (http != null) {
      return;
    }
    long begin = System.nanoTime();
    int instance = INSTANCES.incrementAndGet();
    SchemaRegistryState state = new SchemaRegistryState(defaultLevel);
    KafkaSchemaLog schemaLog =
        new KafkaSchemaLog(bootstrapServers, topic, timeout, state, port + "-" + instance);
    ExecutorService pool = null;
    try {
      schemaLog.start();
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getByName(HOST), port), 64);
      pool = Executors.newFixedThreadPool(8, daemonThreads("reelflow-registry-" + port + "-http-"));
      server.setExecutor(pool);
      server.createContext("/", new RegistryHttpHandler(state, schemaLog, user, password));
      server.start();
      http = server;
      executor = pool;
      log = schemaLog;
    } catch (RegistryException | IOException | RuntimeException e) {
      schemaLog.close();
      if (pool != null) {
        pool.shutdownNow();
      }
      throw new StackException(
          "Schema registry did not start on port "
              + port
              + " (topic "
              + topic
              + " at "
              + bootstrapServers
              + ")",
          e);
    }
    LOG.info(
        "Schema registry started at {} in {} ms (topic {})",
        url(),
        (System.nanoTime() - begin) / 1_000_000,
        topic);
  }

  /** Stops serving; the schemas stay in the topic. Does nothing when it is not running. */
  public synchronized void stop() {
    if (http == null) {
      return;
    }
    http.stop(0);
    executor.shutdown();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    log.close();
    http = null;
    executor = null;
    log = null;
    LOG.info("Schema registry on port {} stopped", port);
  }

  @Override
  public void close() {
    stop();
  }

  public synchronized boolean isRunning() {
    return http != null;
  }

  /** The base URL, e.g. {@code http://127.0.0.1:8081}. */
  public String url() {
    return "http://" + HOST + ":" + port;
  }

  public int port() {
    return port;
  }

  public String topic() {
    return topic;
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Options of a {@link SchemaRegistryServer}. */
  public static final class Builder {
    private final String bootstrapServers;
    private int port;
    private String topic = "_schemas";
    private Duration timeout = Duration.ofSeconds(10);
    private CompatibilityLevel defaultLevel = CompatibilityLevel.BACKWARD;
    private String user;
    private String password;

    private Builder(String bootstrapServers) {
      if (bootstrapServers == null || bootstrapServers.isBlank()) {
        throw new IllegalArgumentException("bootstrapServers must name at least one broker");
      }
      this.bootstrapServers = bootstrapServers;
    }

    /** HTTP port; 0 (default) picks a free one. */
    public Builder port(int port) {
      this.port = KafkaBroker.checkPort(port);
      return this;
    }

    /** The topic that stores the schemas; default {@code _schemas}. */
    public Builder topic(String topic) {
      if (topic == null || !topic.matches("[a-zA-Z0-9._-]{1,249}")) {
        throw new IllegalArgumentException("Not a valid Kafka topic name: " + topic);
      }
      this.topic = topic;
      return this;
    }

    /** How long a request may wait for Kafka; default 10 s. */
    public Builder timeout(Duration timeout) {
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive");
      }
      this.timeout = timeout;
      return this;
    }

    /**
     * The global compatibility level until someone PUTs /config: NONE, BACKWARD (default),
     * BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE.
     */
    public Builder defaultCompatibility(String level) {
      try {
        this.defaultLevel = CompatibilityLevel.parse(level);
      } catch (RegistryException e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
      return this;
    }

    /** Requires HTTP basic auth with these credentials on every request. */
    public Builder basicAuth(String user, String password) {
      this.user = Objects.requireNonNull(user, "user");
      this.password = Objects.requireNonNull(password, "password");
      return this;
    }

    public SchemaRegistryServer build() {
      return new SchemaRegistryServer(this);
    }
  }
}
