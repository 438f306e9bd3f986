package dev.reelflow.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Node.js scripts of {@code src/test/node} (the README's Node consumer and the AsyncAPI
 * validator) with their npm packages, installed once into {@code target/node-consumer}: {@code npm
 * install} runs again only when {@code package.json} changed. Needs {@code node} and {@code npm} on
 * the PATH.
 */
final class NodeProject {
  private static final Logger LOG = LoggerFactory.getLogger(NodeProject.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final Path SOURCES = Path.of("src", "test", "node");
  static final Path DIR = Path.of("target", "node-consumer");

  final String nodeVersion;

  private NodeProject(String nodeVersion) {
    this.nodeVersion = nodeVersion;
  }

  /** Node and npm where both run; empty (and why, logged) where either is missing. */
  static Optional<NodeProject> find() {
    Optional<String> node = version("node");
    Optional<String> npm = version("npm");
    if (node.isEmpty() || npm.isEmpty()) {
      return Optional.empty();
    }
    LOG.info("node {} and npm {}", node.get(), npm.get());
    return Optional.of(new NodeProject(node.get()));
  }

  private static Optional<String> version(String tool) {
    try {
      Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0
          ? Optional.of(out)
          : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /**
   * Copies the scripts into {@link #DIR} and installs the pinned packages there unless the same
   * {@code package.json} was installed before.
   */
  void install(Duration timeout) {
    try {
      Files.createDirectories(DIR);
      try (Stream<Path> files = Files.list(SOURCES)) {
        for (Path f : files.toList()) {
          Files.copy(
              f, DIR.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
      Path stamp = DIR.resolve("node_modules").resolve(".reelflow-installed-package.json");
      byte[] wanted = Files.readAllBytes(SOURCES.resolve("package.json"));
      if (Files.exists(stamp) && java.util.Arrays.equals(Files.readAllBytes(stamp), wanted)) {
        LOG.info("npm packages already installed in {}", DIR);
        return;
      }
      long t0 = System.nanoTime();
      Result r =
          run(
              timeout,
              List.of(
                  "npm",
                  "install",
                  "--prefer-offline",
                  "--no-audit",
                  "--no-fund",
                  "--ignore-scripts",
                  "--omit=dev"));
      if (r.exit() != 0) {
        throw new AssertionError(
            "npm install in " + DIR + " exited " + r.exit() + ":\n" + r.output());
      }
      Files.write(stamp, wanted);
      LOG.info("npm install in {}: {} s", DIR, (System.nanoTime() - t0) / 1_000_000_000);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs {@code node <script> <args>} in {@link #DIR}. */
  Result node(Duration timeout, String script, List<String> args) {
    List<String> cmd = new ArrayList<>(List.of("node", script));
    cmd.addAll(args);
    return run(timeout, cmd);
  }

  private static Result run(Duration timeout, List<String> cmd) {
    try {
      Path out = Files.createTempFile("reelflow-node", ".out");
      Path err = Files.createTempFile("reelflow-node", ".err");
      try {
        Process p =
            new ProcessBuilder(cmd)
                .directory(DIR.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        p.getOutputStream().close();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
          throw new AssertionError(
              String.join(" ", cmd)
                  + " did not end within "
                  + timeout
                  + ":\n"
                  + Files.readString(err));
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted: " + cmd, e);
    }
  }

  /** What a command printed: stdout, and stderr apart. */
  record Result(int exit, String stdout, String stderr) {
    String output() {
      return stdout + (stderr.isBlank() ? "" : "\n--- stderr ---\n" + stderr);
    }

    /** Each stdout line as JSON. */
    List<JsonNode> jsonLines() {
      List<JsonNode> lines = new ArrayList<>();
      for (String line : stdout.split("\n")) {
        if (!line.isBlank()) {
          try {
            lines.add(JSON.readTree(line));
          } catch (IOException e) {
            throw new AssertionError("not a JSON line: " + line + "\n" + output(), e);
          }
        }
      }
      return lines;
    }
  }
}
