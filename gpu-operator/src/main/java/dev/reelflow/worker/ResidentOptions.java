package dev.reelflow.worker;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Durations;
import dev.reelflow.config.Setting;
import dev.reelflow.worker.spi.EngineSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The validated options of the {@code resident} engine, the worker config keys {@code
 * engine.resident.*} declared in {@link #OPTIONS} (the protocol is {@code
 * gpu-operator/docs/resident-protocol.md}). With scope {@code slot} and {@code backend = cuda:N}
 * the program also gets {@code CUDA_VISIBLE_DEVICES=N} (slot i: N+i) unless an {@code env.} option
 * sets it.
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

  static final Setting<String> COMMAND =
      Setting.string("command")
          .doc(
              "The program's command line (required), split like the command engine's"
                  + " (whitespace, double quotes group); {gpu} is the slot's CUDA device index"
                  + " with backend = cuda[:N] (else empty), {device} the slot's device name.")
          .build();
  static final Setting<String> SCOPE =
      Setting.choice("scope", "slot", "process")
          .defaultValue("slot")
          .doc(
              "slot: one program per worker slot; process: one program shared by the slots of the"
                  + " worker process, running as many tasks at once as its ready message's"
                  + " max_tasks (the other slots announce BUSY meanwhile).")
          .build();
  static final Setting<String> DIRECTORY =
      Setting.string("directory")
          .doc("Working directory of the program; default the worker's.")
          .build();
  static final Setting<Duration> LOAD_TIMEOUT =
      positive("load-timeout", "30m", "Time from start to the ready message.");
  static final Setting<Duration> TASK_TIMEOUT =
      positive("task-timeout", "1h", "Time from sending a task to its final message.");
  static final Setting<Duration> CANCEL_GRACE =
      positive(
          "cancel-grace",
          "15s",
          "After a cancel message, time to stop before the process tree is killed and the program"
              + " restarted.");
  static final Setting<Duration> SHUTDOWN_GRACE =
      positive(
          "shutdown-grace", "10s", "After the shutdown message, time to exit before it is killed.");
  static final Setting<Duration> RESTART_BACKOFF =
      positive(
          "restart-backoff",
          "1s",
          "Wait before restarting a program that died, doubling with each consecutive crash.");
  static final Setting<Duration> RESTART_BACKOFF_MAX =
      positive(
          "restart-backoff-max",
          "1m",
          "Longest wait before a restart; at least engine.resident.restart-backoff.");
  static final Setting<Integer> MAX_START_FAILURES =
      Setting.integer("max-start-failures")
          .defaultValue("3")
          .check(n -> n >= 1, ">= 1")
          .doc(
              "Consecutive failed starts (exit, error or load timeout before ready) after which"
                  + " the slot is announced UNAVAILABLE with the reason instead of starting the"
                  + " program again.")
          .build();
  static final Setting<Long> WEIGHTS_BYTES =
      Setting.longInteger("weights-bytes")
          .defaultValue("0")
          .check(n -> n >= 0, ">= 0")
          .doc(
              "Device memory of the loaded model, for the memory plan; 0: the ready message's"
                  + " memory_bytes, when the program reports it.")
          .build();
  static final Setting<Integer> DEFAULT_STEPS =
      Setting.integer("default-steps")
          .defaultValue("50")
          .check(n -> n >= 1, ">= 1")
          .doc("Steps of a task without its own, unless the ready message names default_steps.")
          .build();
  static final Setting<String> MODEL_ID =
      Setting.string("model-id")
          .defaultValue("external")
          .doc("Model id for manifests until the program's ready message names its model.")
          .build();
  static final Setting<String> WEIGHTS_ID =
      Setting.string("weights-id")
          .defaultValue("external")
          .doc("Weights id for manifests until the program's ready message names its weights.")
          .build();

  /** The options, {@code engine.resident.*}. */
  static final ConfigSpec OPTIONS =
      ConfigSpec.builder("engine " + NAME)
          .add(
              COMMAND,
              SCOPE,
              DIRECTORY,
              LOAD_TIMEOUT,
              TASK_TIMEOUT,
              CANCEL_GRACE,
              SHUTDOWN_GRACE,
              RESTART_BACKOFF,
              RESTART_BACKOFF_MAX,
              MAX_START_FAILURES,
              WEIGHTS_BYTES,
              DEFAULT_STEPS,
              MODEL_ID,
              WEIGHTS_ID)
          .family(
              "env.",
              "Environment variable <NAME> of the program, e.g."
                  + " engine.resident.env.PYTHONPATH.",
              rest -> null)
          .family(
              "env-",
              "The same from the worker's environment: REELFLOW_ENGINE_RESIDENT_ENV_PYTHONPATH is"
                  + " read as env-pythonpath (upper-cased, - as _).",
              rest -> null)
          .build();

  ResidentOptions {
    command = List.copyOf(command);
    env = Map.copyOf(env);
  }

  private static Setting<Duration> positive(String name, String dflt, String doc) {
    return Setting.duration(name)
        .defaultValue(dflt)
        .check(d -> !d.isNegative() && !d.isZero(), "> 0")
        .doc(doc)
        .oldName(name + "-ms", Durations::fromMillis)
        .build();
  }

  /** Reads and checks {@code engine.resident.*}; a bad value names its key. */
  static ResidentOptions from(EngineSettings s) {
    ConfigValues o = s.options(OPTIONS);
    List<String> command = CommandEngine.tokenize(o.require(COMMAND));
    if (command.isEmpty()) {
      throw new IllegalArgumentException("engine.resident.command is empty");
    }
    String gpu = s.backend().isCuda() ? Integer.toString(s.backend().deviceIndex()) : "";
    command =
        command.stream().map(a -> a.replace("{gpu}", gpu).replace("{device}", s.device())).toList();
    String scope = o.get(SCOPE);
    Map<String, String> env = new TreeMap<>(o.withPrefix("env."));
    o.withPrefix("env-")
        .forEach((k, v) -> env.put(k.toUpperCase(Locale.ROOT).replace('-', '_'), v));
    if (s.backend().isCuda() && scope.equals("slot")) {
      env.putIfAbsent("CUDA_VISIBLE_DEVICES", gpu);
    }
    Duration backoff = o.get(RESTART_BACKOFF);
    Duration backoffMax = o.get(RESTART_BACKOFF_MAX);
    if (backoffMax.compareTo(backoff) < 0) {
      throw new IllegalArgumentException(
          "engine.resident.restart-backoff-max must be >= engine.resident.restart-backoff");
    }
    String directory = o.get(DIRECTORY);
    return new ResidentOptions(
        command,
        scope.equals("process"),
        directory == null || directory.isBlank() ? null : Path.of(directory),
        env,
        o.get(LOAD_TIMEOUT),
        o.get(TASK_TIMEOUT),
        o.get(CANCEL_GRACE),
        o.get(SHUTDOWN_GRACE),
        backoff,
        backoffMax,
        o.get(MAX_START_FAILURES),
        o.get(WEIGHTS_BYTES),
        o.get(DEFAULT_STEPS),
        o.get(MODEL_ID),
        o.get(WEIGHTS_ID));
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
