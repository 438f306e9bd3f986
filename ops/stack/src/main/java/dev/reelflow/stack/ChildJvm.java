package dev.reelflow.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of a process cluster: a JVM started from this JVM's Java installation with a given class
 * path, its output in a log file. It outlives the JVM that started it (the ops/cluster scripts
 * start a cluster and exit), so it is stopped through its pid.
 */
final class ChildJvm {
  private static final Logger LOG = LoggerFactory.getLogger(ChildJvm.class);

  /** JVM options every node gets: small, startup-friendly, logging through the cluster config. */
  static final List<String> BASE_OPTIONS =
      List.of(
          "-XX:+UseSerialGC",
          "-Djava.net.preferIPv4Stack=true",
          "-Dlogback.configurationFile=reelflow-cluster-logback.xml");

  final String name;
  final long pid;
  final Path log;
  private final String mainClass;

  private ChildJvm(String name, long pid, Path log, String mainClass) {
    this.name = name;
    this.pid = pid;
    this.log = log;
    this.mainClass = mainClass;
  }

  /**
   * Re-attaches to a node started earlier (by pid), e.g. to stop it. A process with that pid that
   * is not a JVM running {@code mainClass} (the pid was reused) is treated as gone, never
   * signalled.
   */
  static ChildJvm attach(String name, long pid, Path log, String mainClass) {
    return new ChildJvm(name, pid, log, mainClass);
  }

  /**
   * Starts {@code mainClass} with {@code args} in a new JVM; output (stdout and stderr) is appended
   * to {@code log}.
   */
  static ChildJvm start(
      String name,
      String classpath,
      List<String> jvmOptions,
      String mainClass,
      List<String> args,
      Path log) {
    return start(name, classpath, jvmOptions, mainClass, args, java.util.Map.of(), null, log);
  }

  /**
   * As {@link #start(String, String, List, String, List, Path)}, with extra environment variables
   * (over this JVM's) and a working directory ({@code null}: this JVM's).
   */
  static ChildJvm start(
      String name,
      String classpath,
      List<String> jvmOptions,
      String mainClass,
      List<String> args,
      java.util.Map<String, String> env,
      Path workingDir,
      Path log) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(BASE_OPTIONS);
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(classpath);
    cmd.add(mainClass);
    cmd.addAll(args);
    try {
      Files.createDirectories(log.getParent());
      ProcessBuilder builder = new ProcessBuilder(cmd);
      builder.environment().putAll(env);
      if (workingDir != null) {
        Files.createDirectories(workingDir);
        builder.directory(workingDir.toFile());
      }
      Process p =
          builder
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
              .start();
      LOG.info("{} started (pid {}, log {})", name, p.pid(), log);
      return new ChildJvm(name, p.pid(), log, mainClass);
    } catch (IOException e) {
      throw new StackException("Could not start " + name + " (" + mainClass + ")", e);
    }
  }

  private static java.io.File nullDevice() {
    return new java.io.File(
        System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
  }

  private Optional<ProcessHandle> handle() {
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(h -> runsJava(h.info()));
  }

  /**
   * Whether the process runs a JVM with this node's main class. The OS may truncate a long command
   * line (class paths are long), so an unseen main class only counts against a non-Java process.
   */
  private boolean runsJava(ProcessHandle.Info info) {
    if (info.commandLine().map(c -> c.contains(mainClass)).orElse(false)) {
      return true;
    }
    return info.command().map(c -> c.endsWith("java") || c.endsWith("java.exe")).orElse(true);
  }

  boolean isAlive() {
    return handle().isPresent();
  }

  /** Stops the node: SIGTERM, and SIGKILL when it has not exited within {@code grace}. */
  void stop(Duration grace) {
    Optional<ProcessHandle> h = handle();
    if (h.isEmpty()) {
      return;
    }
    h.get().destroy();
    if (!awaitExit(h.get(), grace)) {
      LOG.warn("{} (pid {}) did not stop within {}; killing it", name, pid, grace);
      kill();
    }
  }

  /**
   * Stops every node at once (one thread each, so the graces run in parallel); null entries are
   * skipped. Returns early, with the interrupt flag set, when interrupted.
   */
  static void stopAll(Collection<ChildJvm> nodes, Duration grace) {
    List<Thread> stoppers = new ArrayList<>();
    for (ChildJvm n : nodes) {
      if (n != null) {
        Thread t = new Thread(() -> n.stop(grace), "stop-" + n.pid);
        t.start();
        stoppers.add(t);
      }
    }
    for (Thread t : stoppers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Kills the node at once (SIGKILL), like a crash. */
  void kill() {
    handle()
        .ifPresent(
            h -> {
              h.descendants().forEach(ProcessHandle::destroyForcibly);
              h.destroyForcibly();
              awaitExit(h, Duration.ofSeconds(20));
            });
  }

  private static boolean awaitExit(ProcessHandle h, Duration timeout) {
    try {
      h.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return !h.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !h.isAlive();
    }
  }

  /** The last {@code lines} lines of the node's log, for error messages. */
  String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log at " + log + ": " + e + ")";
    }
  }
}
