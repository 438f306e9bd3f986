package dev.reelflow.stack;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A multi-broker Kafka 4.x KRaft cluster whose nodes run as separate JVMs ({@code kafka.Kafka} from
 * the Maven artifacts on the given class path). Every node is broker and controller; the controller
 * quorum is static ({@code controller.quorum.voters}), so each node's storage is formatted with the
 * shared cluster id and no standalone/initial-controller flags.
 *
 * <p>Defaults follow a production-like durability setup: replication factor {@code min(3, n)} and
 * {@code min.insync.replicas} {@code min(2, n)} for data and internal topics, so one broker may be
 * lost without losing acknowledged writes. Node {@code i} (1-based) lives in {@code
 * workDir/broker-i} and logs to {@code workDir/broker-i.log}. The running cluster is described in
 * {@code workDir/cluster.properties} (bootstrap servers, pids), which {@link #stopRecorded(Path)}
 * reads to stop a cluster started by another process.
 */
public final class KafkaClusterProcesses implements AutoCloseable {
  /** How long a broker gets for a controlled shutdown before SIGKILL. */
  private static final Duration STOP_GRACE = Duration.ofSeconds(60);

  private static final Logger LOG = LoggerFactory.getLogger(KafkaClusterProcesses.class);
  private static final String HOST = "127.0.0.1";
  static final String STATE_FILE = "cluster.properties";

  private final Path workDir;
  private final int brokers;
  private final String classpath;
  private final List<String> jvmOptions;
  private final Map<String, String> overrides;
  private final Duration startTimeout;
  private final int[] ports;
  private final int[] controllerPorts;
  private final ChildJvm[] nodes;
  private String clusterId;

  private KafkaClusterProcesses(Builder b) {
    this.workDir = b.workDir;
    this.brokers = b.brokers;
    this.classpath = b.classpath;
    this.jvmOptions = List.copyOf(b.jvmOptions);
    this.overrides = Map.copyOf(b.overrides);
    this.startTimeout = b.startTimeout;
    this.ports = new int[brokers];
    this.controllerPorts = new int[brokers];
    this.nodes = new ChildJvm[brokers];
    java.util.Set<Integer> used = new java.util.HashSet<>();
    for (int i = 0; i < brokers; i++) {
      ports[i] = distinctFreePort(used);
      controllerPorts[i] = distinctFreePort(used);
    }
  }

  private static int distinctFreePort(java.util.Set<Integer> used) {
    int p = FreePorts.pick();
    while (!used.add(p)) {
      p = FreePorts.pick();
    }
    return p;
  }

  /** A builder for a cluster living under {@code workDir}. */
  public static Builder builder(Path workDir) {
    return new Builder(workDir);
  }

  /**
   * Formats every node's storage (first start only), starts all nodes and returns once the cluster
   * reports every broker; writes {@code cluster.properties}.
   */
  public synchronized KafkaClusterProcesses start() {
    long begin = System.nanoTime();
    try {
      Files.createDirectories(workDir);
      clusterId = existingClusterId().orElseGet(() -> Uuid.randomUuid().toString());
      for (int i = 0; i < brokers; i++) {
        Path props = writeProperties(i);
        format(i);
        nodes[i] = startNode(i, props);
      }
      awaitBrokers(brokers, startTimeout);
      writeState();
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("Could not prepare the Kafka cluster in " + workDir, e);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    LOG.info(
        "Kafka cluster of {} brokers up at {} in {} ms (cluster {}, data {})",
        brokers,
        bootstrapServers(),
        (System.nanoTime() - begin) / 1_000_000,
        clusterId,
        workDir);
    return this;
  }

  private java.util.Optional<String> existingClusterId() throws IOException {
    Path meta = nodeDir(0).resolve("metadata").resolve("meta.properties");
    if (!Files.exists(meta)) {
      return java.util.Optional.empty();
    }
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(meta)) {
      p.load(in);
    }
    return java.util.Optional.ofNullable(p.getProperty("cluster.id"));
  }

  private Path nodeDir(int i) {
    return workDir.resolve("broker-" + (i + 1));
  }

  private ChildJvm startNode(int i, Path props) {
    return ChildJvm.start(
        "kafka broker " + (i + 1),
        classpath,
        jvmOptions,
        "kafka.Kafka",
        List.of(props.toString()),
        workDir.resolve("broker-" + (i + 1) + ".log"));
  }

  private Path writeProperties(int i) throws IOException {
    Map<String, String> p = properties(i);
    Path dir = nodeDir(i);
    Files.createDirectories(dir);
    Path file = dir.resolve("server.properties");
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (Map.Entry<String, String> e : p.entrySet()) {
        w.write(e.getKey() + "=" + e.getValue() + "\n");
      }
    }
    return file;
  }

  /** The node's broker configuration (also written to its {@code server.properties}). */
  Map<String, String> properties(int i) {
    int rf = Math.min(3, brokers);
    int isr = Math.min(2, brokers);
    String voters =
        java.util.stream.IntStream.range(0, brokers)
            .mapToObj(n -> (n + 1) + "@" + HOST + ":" + controllerPorts[n])
            .collect(Collectors.joining(","));
    Map<String, String> p = new LinkedHashMap<>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", String.valueOf(i + 1));
    p.put("controller.quorum.voters", voters);
    p.put(
        "listeners",
        "PLAINTEXT://"
            + HOST
            + ":"
            + ports[i]
            + ",CONTROLLER://"
            + HOST
            + ":"
            + controllerPorts[i]);
    p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + ports[i]);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("log.dirs", nodeDir(i).resolve("logs").toString());
    p.put("metadata.log.dir", nodeDir(i).resolve("metadata").toString());
    p.put("auto.create.topics.enable", "false");
    p.put("num.partitions", "1");
    KafkaBroker.putReplication(p, rf, isr);
    p.put("unclean.leader.election.enable", "false");
    // Small footprint: the whole cluster shares one machine in tests.
    KafkaBroker.putSmallFootprint(p, 2);
    p.put("num.replica.fetchers", "1");
    p.put("controller.quorum.election.timeout.ms", "2000");
    p.put("controller.quorum.fetch.timeout.ms", "4000");
    p.putAll(overrides);
    return p;
  }

  private void format(int i) {
    Path dir = nodeDir(i);
    Path metaDir = dir.resolve("metadata");
    if (Files.exists(metaDir.resolve("meta.properties"))) {
      return;
    }
    Formatter formatter =
        new Formatter()
            .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
            .setNodeId(i + 1)
            .setClusterId(clusterId)
            .setDirectories(List.of(dir.resolve("logs").toString(), metaDir.toString()))
            .setMetadataLogDirectory(metaDir.toString())
            .setControllerListenerName("CONTROLLER")
            .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
            .setUnstableFeatureVersionsEnabled(false)
            .setIgnoreFormatted(true);
    // Static quorum (controller.quorum.voters): no standalone / initial-controllers bootstrap.
    formatter.setHasDynamicQuorum(false);
    try {
      formatter.run();
    } catch (Exception e) {
      throw new StackException("Could not format Kafka storage of broker " + (i + 1), e);
    }
  }

  /** Waits until the cluster metadata lists {@code count} brokers. */
  public void awaitBrokers(int count, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception last = null;
    // Plain TCP first: an admin client against closed ports only logs connection warnings.
    while (System.nanoTime() < deadline && !allListening()) {
      for (ChildJvm n : nodes) {
        if (n != null && !n.isAlive()) {
          throw new StackException(
              n.name + " exited during start; log " + n.log + ":\n" + n.tail(30));
        }
      }
      sleep(500);
    }
    Map<String, Object> conf = new LinkedHashMap<>();
    conf.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    conf.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    conf.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
    try (Admin admin = Admin.create(conf)) {
      while (System.nanoTime() < deadline) {
        for (ChildJvm n : nodes) {
          if (n != null && !n.isAlive()) {
            throw new StackException(
                n.name + " exited during start; log " + n.log + ":\n" + n.tail(30));
          }
        }
        try {
          int seen = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
          if (seen >= count) {
            return;
          }
        } catch (Exception e) {
          last = e;
        }
        sleep(500);
      }
    }
    throw new StackException(
        "Kafka cluster did not report "
            + count
            + " brokers within "
            + timeout
            + " (logs in "
            + workDir
            + ")",
        last);
  }

  private boolean allListening() {
    for (int i = 0; i < brokers; i++) {
      if (nodes[i] == null || !nodes[i].isAlive()) {
        continue;
      }
      try (java.net.Socket s = new java.net.Socket()) {
        s.connect(new java.net.InetSocketAddress(HOST, ports[i]), 1000);
      } catch (IOException e) {
        return false;
      }
    }
    return true;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StackException("Interrupted while waiting for the Kafka cluster", e);
    }
  }

  private void writeState() throws IOException {
    Properties p = new Properties();
    p.setProperty("bootstrap.servers", bootstrapServers());
    p.setProperty("cluster.id", clusterId);
    p.setProperty("brokers", String.valueOf(brokers));
    for (int i = 0; i < brokers; i++) {
      if (nodes[i] != null) {
        p.setProperty("broker." + (i + 1) + ".pid", String.valueOf(nodes[i].pid));
      }
    }
    try (OutputStream out = Files.newOutputStream(workDir.resolve(STATE_FILE))) {
      p.store(out, "Kafka cluster started by ReelFlow ops/cluster");
    }
  }

  /** Comma-separated {@code host:port} list of all brokers, for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return java.util.Arrays.stream(ports)
        .mapToObj(p -> HOST + ":" + p)
        .collect(Collectors.joining(","));
  }

  public int brokers() {
    return brokers;
  }

  public String clusterId() {
    return clusterId;
  }

  public Path workDir() {
    return workDir;
  }

  /** Whether broker {@code n} (1-based) is running. */
  public synchronized boolean isRunning(int n) {
    ChildJvm node = nodes[index(n)];
    return node != null && node.isAlive();
  }

  /** The pid of broker {@code n} (1-based), or -1 when it is not running. */
  public synchronized long pid(int n) {
    ChildJvm node = nodes[index(n)];
    return node != null && node.isAlive() ? node.pid : -1;
  }

  /** Kills broker {@code n} (1-based) at once (SIGKILL), like a machine failure. */
  public synchronized void killBroker(int n) {
    ChildJvm node = nodes[index(n)];
    if (node != null) {
      node.kill();
      LOG.info("Kafka broker {} killed", n);
    }
  }

  /** Stops broker {@code n} (1-based) cleanly (controlled shutdown); its data stays. */
  public synchronized void stopBroker(int n) {
    ChildJvm node = nodes[index(n)];
    if (node != null) {
      node.stop(Duration.ofSeconds(60));
      LOG.info("Kafka broker {} stopped", n);
    }
  }

  /** Starts broker {@code n} (1-based) again on its ports and data; returns once it is listed. */
  public synchronized void startBroker(int n) {
    int i = index(n);
    if (nodes[i] != null && nodes[i].isAlive()) {
      return;
    }
    nodes[i] = startNode(i, nodeDir(i).resolve("server.properties"));
    awaitBrokers(brokers, startTimeout);
    try {
      writeState();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private int index(int n) {
    if (n < 1 || n > brokers) {
      throw new IllegalArgumentException("Broker number must be 1.." + brokers + ", was " + n);
    }
    return n - 1;
  }

  /** Stops every broker (all at once, SIGTERM; SIGKILL after 60 s). Data stays in the work dir. */
  @Override
  public synchronized void close() {
    ChildJvm.stopAll(Arrays.asList(nodes), STOP_GRACE);
  }

  /**
   * Stops a cluster started earlier (by another process) from the pids in {@code
   * workDir/cluster.properties}; returns how many nodes were running.
   */
  public static int stopRecorded(Path workDir) {
    Properties p = readState(workDir);
    List<ChildJvm> running = new ArrayList<>();
    for (String key : p.stringPropertyNames()) {
      if (key.startsWith("broker.") && key.endsWith(".pid")) {
        ChildJvm n =
            ChildJvm.attach(key, Long.parseLong(p.getProperty(key)), workDir, "kafka.Kafka");
        if (n.isAlive()) {
          running.add(n);
        }
      }
    }
    ChildJvm.stopAll(running, STOP_GRACE);
    return running.size();
  }

  static Properties readState(Path workDir) {
    Path file = workDir.resolve(STATE_FILE);
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    } catch (IOException e) {
      throw new StackException(
          "No cluster state at " + file + ": was a cluster started with this directory?", e);
    }
    return p;
  }

  /** Options of a {@link KafkaClusterProcesses}. */
  public static final class Builder {
    private final Path workDir;
    private int brokers = 3;
    private String classpath = System.getProperty("java.class.path");
    private final List<String> jvmOptions = new ArrayList<>(List.of("-Xmx384m", "-Xms64m"));
    private final Map<String, String> overrides = new LinkedHashMap<>();
    private Duration startTimeout = Duration.ofSeconds(180);

    private Builder(Path workDir) {
      this.workDir = Objects.requireNonNull(workDir, "workDir").toAbsolutePath();
    }

    /** Number of nodes (each broker and controller); default 3. */
    public Builder brokers(int brokers) {
      if (brokers < 1) {
        throw new IllegalArgumentException("A cluster needs at least one broker, was " + brokers);
      }
      this.brokers = brokers;
      return this;
    }

    /**
     * Class path of the broker JVMs (must hold kafka_2.13 and its dependencies); default: this
     * JVM's class path.
     */
    public Builder classpath(String classpath) {
      this.classpath = Objects.requireNonNull(classpath, "classpath");
      return this;
    }

    /** Replaces the broker JVM options (default {@code -Xmx384m -Xms64m}). */
    public Builder jvmOptions(List<String> options) {
      jvmOptions.clear();
      jvmOptions.addAll(options);
      return this;
    }

    /** Overrides or adds a broker property on every node. */
    public Builder property(String key, String value) {
      overrides.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /** How long {@link #start()} waits for all brokers; default 180 s. */
    public Builder startTimeout(Duration timeout) {
      this.startTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    public KafkaClusterProcesses build() {
      return new KafkaClusterProcesses(this);
    }
  }
}
