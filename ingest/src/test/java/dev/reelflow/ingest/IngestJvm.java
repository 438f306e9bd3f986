package dev.reelflow.ingest;

import dev.reelflow.config.Setting;
import dev.reelflow.storage.input.CheckedHttpClient;
import java.io.IOException;
import java.io.Writer;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An ingest instance in its own JVM (this class's {@link #main} on the test class path), so a test
 * can SIGKILL it like a crashed host instead of closing it. Its settings travel as a properties
 * file; its callback resolver maps one test host name to a given loopback address, so a receiver
 * can tell this instance's deliveries from another's by the address they reached. Output goes to
 * {@code <id>.log}.
 */
final class IngestJvm implements AutoCloseable {
  /** System property of the child: {@code host=address}, how it resolves the receiver's name. */
  static final String RESOLVE = "reelflow.test.resolve";

  final String id;
  final Process process;
  final Path log;

  private IngestJvm(String id, Process process, Path log) {
    this.id = id;
    this.process = process;
    this.log = log;
  }

  /** Starts an instance with {@code settings}, resolving {@code host} to {@code address}. */
  static IngestJvm start(
      String id, Path dir, Map<Setting<?>, String> settings, String host, String address)
      throws IOException {
    Files.createDirectories(dir);
    Properties p = new Properties();
    settings.forEach((k, v) -> p.setProperty(k.name(), v));
    p.setProperty(IngestConfig.INSTANCE_ID.name(), id);
    Path file = dir.resolve(id + ".properties");
    try (Writer w = Files.newBufferedWriter(file)) {
      p.store(w, "ingest " + id + " for a test");
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-Djava.net.preferIPv4Stack=true");
    cmd.add("-D" + RESOLVE + "=" + host + "=" + address);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(IngestJvm.class.getName());
    cmd.add(file.toString());
    Path log = dir.resolve(id + ".log");
    Process process =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new IngestJvm(id, process, log);
  }

  /** SIGKILL, like a crash: no hand-over, no flush. Returns once the process is gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      throw new IllegalStateException(id + " (pid " + process.pid() + ") survived SIGKILL");
    }
  }

  /** Sends {@code signal} (STOP, CONT) with kill(1): a frozen process, like a stalled host. */
  void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
    if (kill.waitFor() != 0) {
      throw new IOException("kill -" + signal + " " + process.pid() + " failed");
    }
  }

  /** The last lines of the instance's output, for failure messages. */
  String tail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** SIGTERM (a graceful hand-over), then SIGKILL after 15 s; nothing when already gone. */
  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  /** The child: runs one ingest server from the properties file {@code args[0]} until killed. */
  public static void main(String[] args) throws Exception {
    IngestConfig config = IngestConfig.load(Path.of(args[0]), Map.of());
    String[] mapping = System.getProperty(RESOLVE, "=").split("=", 2);
    CheckedHttpClient.Resolver system = CheckedHttpClient.Resolver.system();
    CheckedHttpClient.Resolver resolver =
        host ->
            host.equalsIgnoreCase(mapping[0])
                ? List.of(InetAddress.getByName(mapping[1]))
                : system.resolve(host);
    IngestServer server = IngestServer.builder(config).callbackResolver(resolver).build().start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "ingest-jvm-shutdown"));
    System.out.println("ingest " + config.instanceId() + " started on port " + server.port());
    stopped.await();
  }
}
