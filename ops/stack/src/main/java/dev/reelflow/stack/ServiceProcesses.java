package dev.reelflow.stack;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVMs of one ops/cluster component that is neither the Kafka nor the Flink cluster: the schema
 * registry, the S3 endpoint, the ingest API, the workers of a pool. Each process is started from a
 * class path and a main class, waited for until it answers (an HTTP probe, or a file it writes once
 * it is up), and recorded in {@code workDir/cluster.properties} ({@code <name>.pid}, {@code
 * <name>.main}, addresses), so that {@link #stopRecorded(Path)} can stop it from another JVM, as
 * the ops/cluster scripts do: SIGTERM, then SIGKILL after the recorded grace period.
 *
 * <p>A component's processes outlive the JVM that started them. Starting a component whose
 * directory still records a running process is refused: two copies would share ports and data.
 */
public final class ServiceProcesses implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServiceProcesses.class);
  static final String GRACE_KEY = "stop.grace.seconds";

  private final Path workDir;
  private final Duration stopGrace;
  private final Map<String, String> state = new LinkedHashMap<>();
  private final List<ChildJvm> started = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private ServiceProcesses(Path workDir, Duration stopGrace) {
    this.workDir = workDir;
    this.stopGrace = stopGrace;
  }

  /**
   * A new component in {@code workDir}; {@code stopGrace} is how long a stop waits after SIGTERM
   * before it kills (workers drain their running task in that time).
   *
   * @throws StackException when {@code workDir} records a process that still runs
   */
  public static ServiceProcesses create(Path workDir, Duration stopGrace) {
    Path dir = Objects.requireNonNull(workDir, "workDir").toAbsolutePath();
    List<RecordedProcess> running =
        recorded(dir).stream().filter(RecordedProcess::running).toList();
    if (!running.isEmpty()) {
      throw new StackException(
          "Processes recorded in "
              + dir.resolve(KafkaClusterProcesses.STATE_FILE)
              + " still run ("
              + running
              + "): stop them first");
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not create " + dir, e);
    }
    ServiceProcesses processes = new ServiceProcesses(dir, stopGrace);
    processes.state.put(GRACE_KEY, Long.toString(stopGrace.toSeconds()));
    return processes;
  }

  /**
   * Starts {@code mainClass} as process {@code name}, logging to {@code workDir/<name>.log}, and
   * records it. {@code env} is added to this JVM's environment; {@code workingDir} may be null.
   */
  public synchronized void start(
      String name,
      String classpath,
      List<String> jvmOptions,
      String mainClass,
      List<String> args,
      Map<String, String> env,
      Path workingDir) {
    ChildJvm node =
        ChildJvm.start(
            name,
            classpath,
            jvmOptions,
            mainClass,
            args,
            env,
            workingDir,
            workDir.resolve(name + ".log"));
    started.add(node);
    state.put(name + ".pid", Long.toString(node.pid));
    state.put(name + ".main", mainClass);
    writeState();
  }

  /**
   * Waits until {@code url} answers 200 (GET), failing early when process {@code name} exits.
   *
   * @throws StackException on timeout or exit, with the end of the process's log
   */
  public void awaitHttpOk(String name, String url, Duration timeout) {
    ChildJvm node = node(name);
    String last = "no answer";
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      requireAlive(node);
      try {
        HttpResponse<Void> r =
            http.send(
                HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
        last = "HTTP " + r.statusCode();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StackException("Interrupted while waiting for " + name, e);
      }
      sleep(300);
    }
    throw new StackException(
        name + " did not answer 200 at " + url + " within " + timeout + " (last: " + last + ")");
  }

  /** Waits until process {@code name} has written {@code file}, failing early when it exits. */
  public void awaitFile(String name, Path file, Duration timeout) {
    ChildJvm node = node(name);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      requireAlive(node);
      if (Files.isRegularFile(file)) {
        return;
      }
      sleep(300);
    }
    throw new StackException(name + " did not write " + file + " within " + timeout);
  }

  private ChildJvm node(String name) {
    return started.stream()
        .filter(n -> n.name.equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("No process named " + name));
  }

  private static void requireAlive(ChildJvm node) {
    if (!node.isAlive()) {
      throw new StackException(
          node.name + " exited during start; log " + node.log + ":\n" + node.tail(40));
    }
  }

  /** Records an address or setting of the component (e.g. its URL) in the state file. */
  public synchronized void put(String key, String value) {
    state.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
    writeState();
  }

  public Path workDir() {
    return workDir;
  }

  private void writeState() {
    Properties p = new Properties();
    p.putAll(state);
    try (OutputStream out =
        Files.newOutputStream(workDir.resolve(KafkaClusterProcesses.STATE_FILE))) {
      p.store(out, "Processes started by ReelFlow ops/cluster");
    } catch (IOException e) {
      throw new UncheckedIOException("Could not record the processes in " + workDir, e);
    }
  }

  /** Stops every process this object started (all at once; SIGTERM, SIGKILL after the grace). */
  @Override
  public synchronized void close() {
    ChildJvm.stopAll(started, stopGrace);
  }

  /**
   * Stops the processes recorded in {@code workDir/cluster.properties} (by another JVM) and returns
   * how many were running. Nothing recorded, or nothing running, is not an error: stopping twice is
   * fine.
   */
  public static int stopRecorded(Path workDir) {
    Path dir = workDir.toAbsolutePath();
    Properties p = readStateIfAny(dir);
    Duration grace = Duration.ofSeconds(Long.parseLong(p.getProperty(GRACE_KEY, "30")));
    List<ChildJvm> running = new ArrayList<>();
    for (RecordedProcess r : recorded(dir)) {
      ChildJvm n = ChildJvm.attach(r.name(), r.pid(), dir.resolve(r.name() + ".log"), r.main());
      if (n.isAlive()) {
        running.add(n);
      }
    }
    ChildJvm.stopAll(running, grace);
    return running.size();
  }

  /** One process recorded in a component's state file, and whether it runs now. */
  public record RecordedProcess(Path dir, String name, long pid, String main, boolean running) {
    @Override
    public String toString() {
      return name + " pid " + pid + (running ? " running" : " not running");
    }
  }

  /**
   * Every process recorded in {@code dir/cluster.properties}: this class's entries ({@code
   * <name>.pid} with {@code <name>.main}) and those of {@link KafkaClusterProcesses} and {@link
   * FlinkSessionProcesses}, whose main classes are known. Empty when nothing is recorded.
   */
  public static List<RecordedProcess> recorded(Path dir) {
    Properties p = readStateIfAny(dir);
    List<RecordedProcess> all = new ArrayList<>();
    p.stringPropertyNames().stream()
        .filter(k -> k.endsWith(".pid"))
        .sorted()
        .forEach(
            key -> {
              String name = key.substring(0, key.length() - ".pid".length());
              String main = p.getProperty(name + ".main", knownMain(name));
              long pid = Long.parseLong(p.getProperty(key).trim());
              boolean running =
                  ChildJvm.attach(name, pid, dir.resolve(name + ".log"), main).isAlive();
              all.add(new RecordedProcess(dir, name, pid, main, running));
            });
    return all;
  }

  /**
   * The processes recorded in {@code dir} and in its direct subdirectories (one per component, as
   * ops/cluster/pipeline.sh lays them out).
   */
  public static List<RecordedProcess> recordedTree(Path dir) {
    List<RecordedProcess> all = new ArrayList<>(recorded(dir));
    if (Files.isDirectory(dir)) {
      try (Stream<Path> children = Files.list(dir)) {
        children.filter(Files::isDirectory).sorted().forEach(child -> all.addAll(recorded(child)));
      } catch (IOException e) {
        throw new UncheckedIOException("Could not list " + dir, e);
      }
    }
    return all;
  }

  private static String knownMain(String name) {
    if (name.startsWith("broker.")) {
      return "kafka.Kafka";
    }
    if (name.equals("jobmanager")) {
      return FlinkSessionProcesses.JOB_MANAGER_MAIN;
    }
    if (name.startsWith("taskmanager.")) {
      return FlinkSessionProcesses.TASK_MANAGER_MAIN;
    }
    // Unknown: ChildJvm then only checks that the pid is a JVM.
    return "java";
  }

  private static Properties readStateIfAny(Path dir) {
    Properties p = new Properties();
    Path file = dir.resolve(KafkaClusterProcesses.STATE_FILE);
    if (Files.isRegularFile(file)) {
      try (var in = Files.newInputStream(file)) {
        p.load(in);
      } catch (IOException e) {
        throw new UncheckedIOException("Could not read " + file, e);
      }
    }
    return p;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StackException("Interrupted while waiting for a process", e);
    }
  }
}
