package dev.reelflow.worker;

import dev.reelflow.stack.RequiredTools;
import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The FAKE resident model server of the tests ({@code fake-resident-server.py}, Python 3 standard
 * library only): how to find a python3, and worker/engine options that run it.
 */
final class FakeResident {

  private FakeResident() {}

  /** {@code /usr/bin/python3}, else the first {@code python3} on PATH, else null. */
  static Path python() {
    Path system = Path.of("/usr/bin/python3");
    if (Files.isExecutable(system)) {
      return system;
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        Path p = Path.of(dir, "python3");
        if (Files.isExecutable(p)) {
          return p;
        }
      }
    }
    return null;
  }

  /** Skips the calling test, saying why, when no python3 exists. */
  static Path requirePython() {
    Path p = python();
    RequiredTools.assume(
        "python3",
        p != null,
        "no python3 (neither /usr/bin/python3 nor on PATH); the resident-engine tests run a"
            + " Python 3 fake server");
    return p;
  }

  static Path script() {
    try {
      return Path.of(FakeResident.class.getResource("fake-resident-server.py").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The command line that runs the fake server with {@code args}. */
  static String command(String args) {
    return "\"" + requirePython() + "\" \"" + script() + "\" " + args;
  }

  /** {@code engine.resident.*} options (without the prefix) with short test timings. */
  static Map<String, String> options(String args) {
    Map<String, String> o = new HashMap<>();
    o.put("command", command(args));
    o.put("load-timeout", "20s");
    o.put("cancel-grace", "2s");
    o.put("restart-backoff", "100ms");
    o.put("restart-backoff-max", "400ms");
    o.put("default-steps", "4");
    return o;
  }

  /** Worker config entries for the resident engine with the fake server. */
  static Map<String, String> workerConfig(String args) {
    Map<String, String> cfg = new HashMap<>();
    options(args).forEach((k, v) -> cfg.put("engine.resident." + k, v));
    cfg.put(WorkerConfig.ENGINE.name(), "resident");
    return cfg;
  }
}
