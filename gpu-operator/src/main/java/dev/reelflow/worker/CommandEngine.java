package dev.reelflow.worker;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Durations;
import dev.reelflow.config.Setting;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.Latents;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an external inference program (e.g. the official HunyuanVideo-1.5 {@code generate.py}) with
 * templated arguments, reads progress from its output, enforces a timeout, kills the whole process
 * tree on cancel and picks up the video it wrote. Options: {@link #OPTIONS}.
 */
final class CommandEngine implements BaseVideoEngine {
  static final String NAME = "command";
  static final String DEFAULT_PROGRESS = "(?<step>\\d+)\\s*/\\s*(?<total>\\d+)";
  private static final Logger LOG = LoggerFactory.getLogger(CommandEngine.class);
  private static final int TAIL_LINES = 20;

  static final Setting<String> COMMAND =
      Setting.string("command")
          .doc(
              "The program's command line (required): whitespace separates arguments, double"
                  + " quotes group them; {prompt} {negative_prompt} {seed} {resolution} {width}"
                  + " {height} {frames} {fps} {steps} {guidance} {output} {latents} {workdir}"
                  + " {image} are replaced inside each argument (a prompt stays one argument).")
          .build();
  static final Setting<String> PROGRESS_PATTERN =
      Setting.string("progress-pattern")
          .defaultValue(DEFAULT_PROGRESS)
          .check(
              CommandEngine::isProgressPattern,
              "a regex with named groups (?<step>..) and (?<total>..)")
          .doc("Regex over the program's output lines with groups step and total (tqdm's 12/50).")
          .build();
  static final Setting<Duration> TIMEOUT =
      Setting.duration("timeout")
          .defaultValue("1h")
          .check(d -> !d.isNegative() && !d.isZero(), "> 0")
          .doc("Longest run of the program for one task; then its process tree is killed.")
          .oldName("timeout-ms", Durations::fromMillis)
          .build();
  static final Setting<String> OUTPUT_FILE =
      Setting.string("output-file")
          .defaultValue("output.mp4")
          .doc("File name {output} points to in the task directory.")
          .build();
  static final Setting<String> LATENTS_FILE =
      Setting.string("latents-file")
          .defaultValue("latents.safetensors")
          .doc(
              "File name of {latents}, picked up when the program writes it (safetensors with a"
                  + " tensor latents).")
          .build();
  static final Setting<List<String>> BAD_PARAMETERS_EXIT_CODES =
      Setting.list("bad-parameters-exit-codes")
          .defaultValue("2")
          .check(CommandEngine::integers, "comma-separated integers")
          .doc("Exit codes that mean the arguments were refused (permanent failure; 2: argparse).")
          .build();
  static final Setting<Integer> DEFAULT_STEPS =
      Setting.integer("default-steps")
          .defaultValue("50")
          .check(n -> n > 0, "> 0")
          .doc("Steps of a task that names none.")
          .build();
  static final Setting<String> MODEL_ID =
      Setting.string("model-id").defaultValue("external").doc("Model id for manifests.").build();
  static final Setting<String> WEIGHTS_ID =
      Setting.string("weights-id")
          .defaultValue("external")
          .doc("Weights id for manifests.")
          .build();
  static final Setting<Long> WEIGHTS_BYTES =
      Setting.longInteger("weights-bytes")
          .defaultValue("0")
          .check(n -> n >= 0, ">= 0")
          .doc("Device memory of the program's model, for the memory plan.")
          .build();

  /** The options, {@code engine.command.*}. */
  static final ConfigSpec OPTIONS =
      ConfigSpec.builder("engine " + NAME)
          .add(
              COMMAND,
              PROGRESS_PATTERN,
              TIMEOUT,
              OUTPUT_FILE,
              LATENTS_FILE,
              BAD_PARAMETERS_EXIT_CODES,
              DEFAULT_STEPS,
              MODEL_ID,
              WEIGHTS_ID,
              WEIGHTS_BYTES)
          .build();

  private final EngineSettings settings;
  private final List<String> template;
  private final Pattern progress;
  private final Duration timeout;
  private final String outputFile;
  private final String latentsFile;
  private final Set<Integer> badParameterCodes = new HashSet<>();
  private final int defaultSteps;
  private final long weightsBytes;
  private final String modelId;
  private final String weightsId;

  CommandEngine(EngineSettings settings) {
    this.settings = settings;
    ConfigValues o = settings.options(OPTIONS);
    this.template = tokenize(o.require(COMMAND));
    if (template.isEmpty()) {
      throw new IllegalArgumentException("engine.command.command is empty");
    }
    this.progress = Pattern.compile(o.get(PROGRESS_PATTERN));
    this.timeout = o.get(TIMEOUT);
    this.outputFile = o.get(OUTPUT_FILE);
    this.latentsFile = o.get(LATENTS_FILE);
    for (String c : o.get(BAD_PARAMETERS_EXIT_CODES)) {
      badParameterCodes.add(Integer.parseInt(c));
    }
    this.defaultSteps = o.get(DEFAULT_STEPS);
    this.weightsBytes = o.get(WEIGHTS_BYTES);
    this.modelId = o.get(MODEL_ID);
    this.weightsId = o.get(WEIGHTS_ID);
  }

  private static boolean isProgressPattern(String p) {
    try {
      Pattern.compile(p);
    } catch (PatternSyntaxException e) {
      return false;
    }
    return p.contains("?<step>") && p.contains("?<total>");
  }

  private static boolean integers(List<String> codes) {
    try {
      codes.forEach(Integer::parseInt);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  @Override
  public EngineDescription describe() {
    return new EngineDescription(
        NAME,
        false,
        "external:" + Path.of(template.get(0)).getFileName(),
        settings.device(),
        modelId,
        weightsId);
  }

  @Override
  public int defaultSteps() {
    return defaultSteps;
  }

  @Override
  public long estimateDeviceBytes(BaseVideoJob job, boolean offloadWeights) {
    return MemoryPlan.baseBytes(job, weightsBytes, offloadWeights);
  }

  /** The argument list for a job (placeholders substituted). */
  List<String> commandLine(BaseVideoJob job, Path workDir) {
    Map<String, String> vars = new LinkedHashMap<>();
    vars.put("prompt", job.prompt());
    vars.put("negative_prompt", job.negativePrompt());
    vars.put("seed", Long.toString(job.seed()));
    vars.put("resolution", job.resolution());
    vars.put("width", Integer.toString(job.width()));
    vars.put("height", Integer.toString(job.height()));
    vars.put("frames", Integer.toString(job.frames()));
    vars.put("fps", Integer.toString(job.fps()));
    vars.put("steps", Integer.toString(job.stepsOr(defaultSteps)));
    vars.put("guidance", job.guidanceScale() == null ? "" : job.guidanceScale().toString());
    vars.put("output", workDir.resolve(outputFile).toString());
    vars.put("latents", workDir.resolve(latentsFile).toString());
    vars.put("workdir", workDir.toString());
    vars.put("image", job.imageUrl() == null ? "" : job.imageUrl());
    List<String> out = new ArrayList<>(template.size());
    for (String arg : template) {
      String a = arg;
      for (Map.Entry<String, String> e : vars.entrySet()) {
        a = a.replace("{" + e.getKey() + "}", e.getValue());
      }
      out.add(a);
    }
    return out;
  }

  @Override
  public BaseVideoResult generate(BaseVideoJob job, EngineContext context)
      throws EngineException, InterruptedException {
    Path workDir = context.workDir();
    List<String> cmd = commandLine(job, workDir);
    Deque<String> tail = new ArrayDeque<>();
    Process process;
    try {
      process =
          new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw EngineException.engineError(
          "cannot start " + cmd.get(0) + ": " + e.getMessage() + "; check engine.command.command",
          e);
    }
    LOG.info("started {} (pid {})", cmd.get(0), process.pid());
    Thread reader =
        new Thread(() -> readOutput(process, context, tail), "command-output-" + process.pid());
    reader.setDaemon(true);
    reader.start();
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        if (process.waitFor(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
          break;
        }
        if (context.cancelRequested()) {
          killTree(process);
          context.checkCancelled();
        }
        if (System.nanoTime() > deadline) {
          killTree(process);
          throw EngineException.timeout(
              cmd.get(0) + " ran longer than engine.command.timeout=" + Durations.format(timeout));
        }
      }
    } catch (InterruptedException e) {
      killTree(process);
      throw e;
    }
    reader.join(2000);
    int exit = process.exitValue();
    if (exit != 0) {
      String msg =
          cmd.get(0)
              + " exited with "
              + exit
              + "; last output:\n"
              + String.join("\n", snapshot(tail));
      if (badParameterCodes.contains(exit)) {
        throw new EngineException(ErrorCode.BAD_PARAMETERS, msg, false, null);
      }
      throw EngineException.engineError(msg, null);
    }
    context.checkCancelled();
    Path video = workDir.resolve(outputFile);
    if (!Files.isRegularFile(video)) {
      throw EngineException.engineError(
          cmd.get(0)
              + " exited 0 but wrote no video at {output} ("
              + outputFile
              + "); check that the command passes {output} as the output path",
          null);
    }
    Latents latents = null;
    Path lat = workDir.resolve(latentsFile);
    if (Files.isRegularFile(lat)) {
      try {
        latents = LatentsFile.read(Files.readAllBytes(lat));
      } catch (IOException e) {
        throw EngineException.engineError(
            "cannot read latents written by the program: " + e.getMessage(), e);
      }
    }
    return BaseVideoResult.ofFile(video, latents, Map.of("program", cmd.get(0)));
  }

  private void readOutput(Process process, EngineContext context, Deque<String> tail) {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      int lastStep = 0;
      while ((line = r.readLine()) != null) {
        // tqdm redraws with carriage returns: look at the newest segment.
        for (String seg : line.split("\r")) {
          if (seg.isBlank()) {
            continue;
          }
          synchronized (tail) {
            tail.addLast(seg);
            if (tail.size() > TAIL_LINES) {
              tail.removeFirst();
            }
          }
          Matcher m = progress.matcher(seg);
          if (m.find()) {
            int step = Integer.parseInt(m.group("step"));
            int total = Integer.parseInt(m.group("total"));
            if (total > 0 && step > lastStep && step <= total) {
              lastStep = step;
              context.listener().onStep("denoise", step, total);
            }
          }
        }
      }
    } catch (IOException e) {
      LOG.debug("output of the program ended: {}", e.toString());
    }
  }

  private static List<String> snapshot(Deque<String> tail) {
    synchronized (tail) {
      return new ArrayList<>(tail);
    }
  }

  /** Kills the program and everything it started (children first, so none is re-parented). */
  static void killTree(Process process) {
    List<ProcessHandle> descendants = process.descendants().toList();
    for (ProcessHandle h : descendants) {
      h.destroyForcibly();
    }
    process.destroyForcibly();
    try {
      process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Splits a command line on whitespace; double quotes group, backslash escapes a quote. */
  static List<String> tokenize(String line) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean inQuotes = false;
    boolean any = false;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\\' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
        cur.append('"');
        i++;
        any = true;
      } else if (c == '"') {
        inQuotes = !inQuotes;
        any = true;
      } else if (Character.isWhitespace(c) && !inQuotes) {
        if (any) {
          out.add(cur.toString());
          cur.setLength(0);
          any = false;
        }
      } else {
        cur.append(c);
        any = true;
      }
    }
    if (inQuotes) {
      throw new IllegalArgumentException("unbalanced quote in engine.command.command: " + line);
    }
    if (any) {
      out.add(cur.toString());
    }
    return out;
  }
}
