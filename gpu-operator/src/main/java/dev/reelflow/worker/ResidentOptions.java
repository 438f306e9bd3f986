package dev.reelflow.worker;

import dev.reelflow.worker.spi.EngineSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The validated options of the {@code resident} engine, the worker config keys {@code
 * engine.resident.*} (the protocol is {@code gpu-operator/docs/resident-protocol.md}):
 *
 * <ul>
 *   <li>{@code command} (required): the program's command line, split like the {@code command}
 *       engine's (whitespace, double quotes group); placeholders {@code {gpu}} (the slot's CUDA
 *       device index with {@code backend = cuda[:N]}, else empty) and {@code {device}} (the slot's
 *       device name).
 *   <li>{@code scope}: {@code slot} (default: one program per worker slot) or {@code process} (one
 *       program shared by the slots of the worker process; it runs as many tasks at once as its
 *       ready message's {@code max_tasks}, the other slots announce BUSY meanwhile).
 *   <li>{@code directory}: working directory of the program; default the worker's.
 *   <li>{@code env.<NAME>}: environment variables for the program (e.g. {@code env.PYTHONPATH});
 *       from the environment, {@code REELFLOW_ENGINE_RESIDENT_ENV_PYTHONPATH} (read as {@code
 *       env-pythonpath}: upper-cased, {@code -} as {@code _}). With scope {@code slot} and {@code
 *       backend = cuda:N} the program also gets {@code CUDA_VISIBLE_DEVICES=N} (slot i: N+i) unless
 *       set here.
 *   <li>{@code load-timeout-ms}: time from start to the ready message; default 1800000 (30 min).
 *   <li>{@code task-timeout-ms}: time from sending a task to its final message; default 3600000.
 *   <li>{@code cancel-grace-ms}: after a cancel message, time to stop before the process tree is
 *       killed and the program restarted; default 15000.
 *   <li>{@code shutdown-grace-ms}: after the shutdown message, time to exit before it is killed;
 *       default 10000.
 *   <li>{@code restart-backoff-ms}, {@code restart-backoff-max-ms}: the wait before restarting a
 *       program that died, doubling with each consecutive crash; defaults 1000 and 60000.
 *   <li>{@code max-start-failures}: consecutive failed starts (exit, error or load timeout before
 *       ready) after which the slot is announced UNAVAILABLE with the reason instead of starting
 *       the program again; default 3.
 *   <li>{@code weights-bytes}: device memory of the loaded model, for the memory plan; default 0
 *       (then the ready message's {@code memory_bytes}, when the program reports it).
 *   <li>{@code default-steps}: steps of a task without its own; default 50, or the ready message's
 *       {@code default_steps}.
 *   <li>{@code model-id}, {@code weights-id}: for manifests until the program's ready message names
 *       its own {@code model} and {@code weights}; default {@code external}.
 * </ul>
 *
 * @param command the command line template, split into arguments
 * @param perProcess true for scope {@code process}
 * @param directory working directory of the program, or null
 * @param env extra environment variables
 * @param loadTimeout time allowed from start to ready
 * @param taskTimeout time allowed from task to final message
 * @param cancelGrace time allowed from cancel to a final message
 * @param shutdownGrace time allowed from shutdown to exit
 * @param restartBackoff first wait before a restart
 * @param restartBackoffMax longest wait before a restart
 * @param maxStartFailures consecutive failed starts before the engine gives up
 * @param weightsBytes configured model memory for planning, 0 for unknown
 * @param defaultSteps configured default steps
 * @param modelId configured model id
 * @param weightsId configured weights id
 */
record ResidentOptions(
    List<String> command,
    boolean perProcess,
    Path directory,
    Map<String, String> env,
    Duration loadTimeout,
    Duration taskTimeout,
    Duration cancelGrace,
    Duration shutdownGrace,
    Duration restartBackoff,
    Duration restartBackoffMax,
    int maxStartFailures,
    long weightsBytes,
    int defaultSteps,
    String modelId,
    String weightsId) {

  static final String NAME = "resident";

  ResidentOptions {
    command = List.copyOf(command);
    env = Map.copyOf(env);
  }

  /** Reads and checks {@code engine.resident.*}; a bad value names its key. */
  static ResidentOptions from(EngineSettings s) {
    String line = s.requireOption("command");
    List<String> command = CommandEngine.tokenize(line);
    if (command.isEmpty()) {
      throw new IllegalArgumentException("engine.resident.command is empty");
    }
    String gpu = s.backend().isCuda() ? Integer.toString(s.backend().deviceIndex()) : "";
    command =
        command.stream().map(a -> a.replace("{gpu}", gpu).replace("{device}", s.device())).toList();
    String scope = s.option("scope").orElse("slot").trim().toLowerCase(Locale.ROOT);
    if (!scope.equals("slot") && !scope.equals("process")) {
      throw new IllegalArgumentException(
          "engine.resident.scope must be slot or process, got '" + scope + "'");
    }
    Map<String, String> env = new TreeMap<>();
    s.options()
        .forEach(
            (k, v) -> {
              if (k.startsWith("env.") && k.length() > 4) {
                env.put(k.substring(4), v);
              } else if (k.startsWith("env-") && k.length() > 4) {
                env.put(k.substring(4).toUpperCase(Locale.ROOT).replace('-', '_'), v);
              }
            });
    if (s.backend().isCuda() && scope.equals("slot")) {
      env.putIfAbsent("CUDA_VISIBLE_DEVICES", gpu);
    }
    int maxStartFailures = (int) s.longOption("max-start-failures", 3);
    if (maxStartFailures < 1) {
      throw new IllegalArgumentException(
          "engine.resident.max-start-failures must be >= 1, got " + maxStartFailures);
    }
    long weightsBytes = s.longOption("weights-bytes", 0);
    if (weightsBytes < 0) {
      throw new IllegalArgumentException(
          "engine.resident.weights-bytes must be >= 0, got " + weightsBytes);
    }
    int defaultSteps = (int) s.longOption("default-steps", 50);
    if (defaultSteps < 1) {
      throw new IllegalArgumentException(
          "engine.resident.default-steps must be >= 1, got " + defaultSteps);
    }
    Duration backoff = positive(s, "restart-backoff-ms", 1_000);
    Duration backoffMax = positive(s, "restart-backoff-max-ms", 60_000);
    if (backoffMax.compareTo(backoff) < 0) {
      throw new IllegalArgumentException(
          "engine.resident.restart-backoff-max-ms must be >= restart-backoff-ms");
    }
    return new ResidentOptions(
        command,
        scope.equals("process"),
        s.option("directory").filter(d -> !d.isBlank()).map(Path::of).orElse(null),
        env,
        positive(s, "load-timeout-ms", 1_800_000),
        positive(s, "task-timeout-ms", 3_600_000),
        positive(s, "cancel-grace-ms", 15_000),
        positive(s, "shutdown-grace-ms", 10_000),
        backoff,
        backoffMax,
        maxStartFailures,
        weightsBytes,
        defaultSteps,
        s.option("model-id").orElse("external"),
        s.option("weights-id").orElse("external"));
  }

  private static Duration positive(EngineSettings s, String key, long dflt) {
    long v = s.longOption(key, dflt);
    if (v <= 0) {
      throw new IllegalArgumentException("engine.resident." + key + " must be > 0, got " + v);
    }
    return Duration.ofMillis(v);
  }

  /** The program's file name, for descriptions and logs. */
  String programName() {
    String first = command.get(0);
    String name = Path.of(first).getFileName().toString();
    // "python3 server.py": the script says more than the interpreter.
    if (name.startsWith("python") && command.size() > 1) {
      for (String a : command.subList(1, command.size())) {
        if (!a.startsWith("-")) {
          return Path.of(a).getFileName().toString();
        }
      }
    }
    return name;
  }
}
