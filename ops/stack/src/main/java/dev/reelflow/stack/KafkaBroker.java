package dev.reelflow.stack;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node Kafka 4.x KRaft broker (combined broker and controller) running in this JVM.
 *
 * <p>The storage under {@code workDir/kafka} is formatted on the first start only, so a restart on
 * the same work directory keeps every topic and offset. {@link #stop()} and {@link #start()} may be
 * called repeatedly (fault tests); the broker comes back on the same port.
 *
 * <p>Defaults are chosen for a fast single-node start: automatic topic creation is off (topics come
 * from the project's TopicProvisioner), internal topics have replication factor 1 and few
 * partitions, transactions work on one broker, and the initial consumer-group rebalance delay is 0.
 *
 * <p>Share groups (KIP-932, {@code KafkaShareConsumer}) work without further settings: the storage
 * is formatted at Kafka 4.2's latest production metadata version, which finalizes the feature
 * {@code share.version=1}. The share-group broker settings (for example {@code
 * group.share.record.lock.duration.ms}) can be set through {@link Builder#property}.
 */
public final class KafkaBroker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaBroker.class);
  private static final int NODE_ID = 1;
  private static final String HOST = "127.0.0.1";

  private final Path dataDir;
  private final int port;
  private final int controllerPort;
  private final Map<String, String> overrides;
  private KafkaRaftServer server;
  private String clusterId;

  private KafkaBroker(Builder builder) {
    this.dataDir = builder.workDir.resolve("kafka");
    this.port = FreePorts.orFree(builder.port);
    int controller = FreePorts.orFree(builder.controllerPort);
    while (controller == port) {
      controller = FreePorts.pick();
    }
    this.controllerPort = controller;
    this.overrides = Map.copyOf(builder.overrides);
  }

  /** A builder for a broker whose data lives under {@code workDir/kafka}. */
  public static Builder builder(Path workDir) {
    return new Builder(workDir);
  }

  /** Formats the storage if needed and starts the broker; returns once it accepts clients. */
  public synchronized void start() {
    if (server != null) {
      return;
    }
    long begin = System.nanoTime();
    KafkaConfig config = KafkaConfig.fromProps(properties(), false);
    try {
      formatIfNeeded(config);
      KafkaRaftServer raftServer = new KafkaRaftServer(config, Time.SYSTEM);
      raftServer.startup();
      server = raftServer;
    } catch (RuntimeException | IOException e) {
      throw new StackException(
          "Kafka broker did not start on port " + port + " (data in " + dataDir + ")", e);
    }
    LOG.info(
        "Kafka broker started at {} in {} ms (cluster {}, data {})",
        bootstrapServers(),
        (System.nanoTime() - begin) / 1_000_000,
        clusterId,
        dataDir);
  }

  /** Stops the broker cleanly; its data stays. Does nothing when it is not running. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    long begin = System.nanoTime();
    KafkaRaftServer raftServer = server;
    server = null;
    raftServer.shutdown();
    raftServer.awaitShutdown();
    LOG.info("Kafka broker stopped in {} ms", (System.nanoTime() - begin) / 1_000_000);
  }

  @Override
  public void close() {
    stop();
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** {@code host:port} for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return HOST + ":" + port;
  }

  public int port() {
    return port;
  }

  public int controllerPort() {
    return controllerPort;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** The KRaft cluster id (known once the broker has been started). */
  public synchronized String clusterId() {
    return clusterId;
  }

  private Properties properties() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", String.valueOf(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
    p.put(
        "listeners",
        "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("log.dirs", dataDir.resolve("logs").toString());
    p.put("metadata.log.dir", dataDir.resolve("metadata").toString());
    p.put("auto.create.topics.enable", "false");
    p.put("num.partitions", "1");
    putReplication(p, 1, 1);
    // Small footprint: this broker shares a laptop or a CI runner with everything else.
    putSmallFootprint(p, 4);
    p.put("controller.quorum.election.timeout.ms", "1000");
    p.put("controller.quorum.fetch.timeout.ms", "2000");
    p.putAll(overrides);
    Properties props = new Properties();
    props.putAll(p);
    return props;
  }

  /**
   * Replication of data topics and of the internal ones (consumer offsets, transaction state,
   * share-group state): {@code rf} replicas, {@code isr} of them in sync for an acknowledged write.
   * One place for the single broker and the cluster, so both provision the same internal topics.
   */
  static void putReplication(Map<String, String> p, int rf, int isr) {
    p.put("default.replication.factor", String.valueOf(rf));
    p.put("min.insync.replicas", String.valueOf(isr));
    p.put("offsets.topic.replication.factor", String.valueOf(rf));
    p.put("offsets.topic.num.partitions", "3");
    p.put("transaction.state.log.replication.factor", String.valueOf(rf));
    p.put("transaction.state.log.min.isr", String.valueOf(isr));
    p.put("transaction.state.log.num.partitions", "3");
    p.put("share.coordinator.state.topic.replication.factor", String.valueOf(rf));
    p.put("share.coordinator.state.topic.min.isr", String.valueOf(isr));
    p.put("share.coordinator.state.topic.num.partitions", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
  }

  /** Few threads and small buffers: the brokers share one machine with everything else. */
  static void putSmallFootprint(Map<String, String> p, int ioThreads) {
    p.put("num.network.threads", "2");
    p.put("num.io.threads", String.valueOf(ioThreads));
    p.put("background.threads", "2");
    p.put("log.cleaner.threads", "1");
    p.put("log.cleaner.dedupe.buffer.size", String.valueOf(4 * 1024 * 1024));
    p.put("log.cleaner.backoff.ms", "1000");
    p.put("num.recovery.threads.per.data.dir", "1");
    p.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));
    p.put("controlled.shutdown.enable", "true");
  }

  private void formatIfNeeded(KafkaConfig config) throws IOException {
    Path metaDir = dataDir.resolve("metadata");
    Path meta = metaDir.resolve("meta.properties");
    if (Files.exists(meta)) {
      clusterId = readClusterId(meta);
      return;
    }
    Files.createDirectories(dataDir);
    String newClusterId = Uuid.randomUuid().toString();
    Formatter formatter =
        new Formatter()
            .setPrintStream(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))
            .setNodeId(NODE_ID)
            .setClusterId(newClusterId)
            .setDirectories(List.of(dataDir.resolve("logs").toString(), metaDir.toString()))
            .setMetadataLogDirectory(metaDir.toString())
            .setControllerListenerName("CONTROLLER")
            .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
            .setUnstableFeatureVersionsEnabled(false)
            .setIgnoreFormatted(true);
    formatter.setHasDynamicQuorum(false);
    try {
      formatter.run();
    } catch (Exception e) {
      throw new StackException("Could not format Kafka storage in " + dataDir, e);
    }
    clusterId = newClusterId;
    Objects.requireNonNull(config);
    LOG.info("Formatted Kafka storage in {} (cluster {})", dataDir, newClusterId);
  }

  private static String readClusterId(Path meta) throws IOException {
    Properties props = new Properties();
    try (InputStream in = Files.newInputStream(meta)) {
      props.load(in);
    }
    return props.getProperty("cluster.id");
  }

  /** Options of a {@link KafkaBroker}; ports 0 (the default) mean "pick a free port". */
  public static final class Builder {
    private final Path workDir;
    private int port;
    private int controllerPort;
    private final Map<String, String> overrides = new LinkedHashMap<>();

    private Builder(Path workDir) {
      this.workDir = Objects.requireNonNull(workDir, "workDir");
    }

    /** Client (PLAINTEXT) port; 0 picks a free one. */
    public Builder port(int port) {
      this.port = checkPort(port);
      return this;
    }

    /** KRaft controller port; 0 picks a free one. */
    public Builder controllerPort(int controllerPort) {
      this.controllerPort = checkPort(controllerPort);
      return this;
    }

    /** Overrides or adds a broker property (e.g. {@code log.retention.ms}). */
    public Builder property(String key, String value) {
      overrides.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    public KafkaBroker build() {
      return new KafkaBroker(this);
    }
  }

  static int checkPort(int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("Port must be 0 (free) or 1..65535, was " + port);
    }
    return port;
  }
}
