package dev.reelflow.worker;

import dev.reelflow.config.Setting;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Starts a worker process: {@code WorkerMain [--config FILE] [--set key=value]... [--pool
 * base|upscale] [--engine NAME] [--slots N] [--backend cpu|torch|cuda[:N]] [--model-dir DIR]}.
 * Configuration: the file, then {@code REELFLOW_*} environment variables, then the arguments (see
 * {@link WorkerConfig#SPEC}). SIGTERM drains: DRAINING, the running tasks finish within {@code
 * drain.grace} or are handed back, STOPPED, exit 0.
 */
public final class WorkerMain {

  private WorkerMain() {}

  public static void main(String[] args) throws Exception {
    WorkerConfig config;
    try {
      config = parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("reelflow worker: " + e.getMessage());
      System.err.println(usage());
      System.exit(2);
      return;
    }
    WorkerProcess process = WorkerProcess.start(config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  process.drain();
                  stopped.countDown();
                },
                "worker-drain"));
    stopped.await();
  }

  /** Parses the command line over the environment. */
  public static WorkerConfig parse(String[] args, Map<String, String> env) {
    Path file = null;
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String next = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--config" -> file = Path.of(require(a, next));
        case "--set" -> {
          String kv = require(a, next);
          int eq = kv.indexOf('=');
          if (eq <= 0) {
            throw new IllegalArgumentException("--set needs key=value, got '" + kv + "'");
          }
          overrides.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        case "--pool" -> overrides.put(WorkerConfig.POOL.name(), require(a, next));
        case "--engine" -> overrides.put(WorkerConfig.ENGINE.name(), require(a, next));
        case "--slots" -> overrides.put(WorkerConfig.SLOTS.name(), require(a, next));
        case "--backend" -> overrides.put(WorkerConfig.BACKEND.name(), require(a, next));
        case "--model-dir" -> overrides.put(WorkerConfig.MODEL_DIR.name(), require(a, next));
        case "--help", "-h" -> throw new IllegalArgumentException("usage");
        default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
      }
      i++;
    }
    return WorkerConfig.load(file, env, overrides);
  }

  private static String require(String flag, String value) {
    if (value == null) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return value;
  }

  static String usage() {
    StringBuilder sb =
        new StringBuilder(
            "usage: WorkerMain [--config FILE] [--set key=value]... [--pool base|upscale]"
                + " [--engine NAME] [--slots N] [--backend cpu|torch|cuda[:N]] [--model-dir DIR]\n"
                + "settings (environment REELFLOW_<SETTING>):");
    for (Setting<?> s : WorkerConfig.SPEC.settings()) {
      sb.append("\n  ")
          .append(s.name())
          .append(s.defaultValue() == null ? "" : " (default " + s.defaultValue() + ")")
          .append(": ")
          .append(s.doc());
    }
    return sb.toString();
  }
}
