package dev.reelflow.e2e;

import dev.reelflow.worker.WorkerConfig;
import dev.reelflow.worker.WorkerMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A base worker in its own JVM ({@link WorkerMain} on the test class path), so a test can kill it
 * (SIGKILL) or drain it (SIGTERM) like an operator would. Its output goes to {@code <id>.log}.
 */
final class WorkerJvm implements AutoCloseable {
  final String id;
  final Process process;
  final Path log;

  private WorkerJvm(String id, Process process, Path log) {
    this.id = id;
    this.process = process;
    this.log = log;
  }

  /**
   * Starts one emulated base worker with id {@code id} and the given settings over {@code
   * connection} (the pipeline's Kafka, registry and S3 settings).
   */
  static WorkerJvm start(
      String id, Path dir, Map<String, String> connection, Map<String, String> settings)
      throws IOException {
    return start(id, "base", "emulated", dir, connection, settings);
  }

  /** As above, for {@code pool} (base, upscale) with {@code engine} (emulated, bicubic, ...). */
  static WorkerJvm start(
      String id,
      String pool,
      String engine,
      Path dir,
      Map<String, String> connection,
      Map<String, String> settings)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx384m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-Dlogback.configurationFile=logback-worker.xml");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(WorkerMain.class.getName());
    cmd.add("--pool");
    cmd.add(pool);
    cmd.add("--engine");
    cmd.add(engine);
    set(cmd, WorkerConfig.WORKER_ID.name(), id);
    set(cmd, WorkerConfig.WORK_DIR.name(), dir.resolve(id).toString());
    set(cmd, WorkerConfig.METRICS_PORT.name(), "-1");
    set(cmd, WorkerConfig.DEVICE_NAME.name(), "cpu");
    set(cmd, WorkerConfig.DEVICE_MEMORY_BYTES.name(), Long.toString(4L << 30));
    connection.forEach((k, v) -> set(cmd, k, v));
    settings.forEach((k, v) -> set(cmd, k, v));
    Path log = dir.resolve(id + ".log");
    Files.createDirectories(dir);
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new WorkerJvm(id, p, log);
  }

  private static void set(List<String> cmd, String key, String value) {
    cmd.add("--set");
    cmd.add(key + "=" + value);
  }

  /** The operating-system process id, for signals the JDK does not send (SIGSTOP, SIGCONT). */
  long pid() {
    return process.pid();
  }

  /** Sends {@code signal} (e.g. STOP, CONT) with kill(1). */
  void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid())).start();
    if (kill.waitFor() != 0) {
      throw new IOException("kill -" + signal + " " + pid() + " failed");
    }
  }

  /** Whether a worker id announced on render.worker-events belongs to this JVM. */
  boolean owns(String workerId) {
    return workerId.equals(id) || workerId.startsWith(id + "-");
  }

  /** The last lines of the worker's output, for failure messages. */
  String tail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /**
   * Stops the worker: SIGTERM first (an idle worker drains at once, leaves its consumer group and
   * says STOPPED, so the next test's workers get its partitions without a session timeout), then
   * SIGKILL if it is still alive after 15 s.
   */
  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
          process.descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
