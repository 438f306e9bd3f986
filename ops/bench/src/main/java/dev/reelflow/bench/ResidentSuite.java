package dev.reelflow.bench;

import dev.reelflow.engine.StepListener;
import dev.reelflow.worker.WorkerProcess;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code resident}: per-task overhead of the {@code resident} engine (one model program per slot,
 * loaded once) against the per-task {@code command} engine (a program per task, loaded every time),
 * both running the FAKE resident server of the worker's tests ({@code fake-resident-server.py}:
 * Python 3 standard library, renders a test pattern and says {@code emulated}; {@code --one-shot}
 * makes it a per-task program) with the same emulated model-load delay. Each repetition times N
 * {@code generate()} calls in a row per load delay (preview 256x144, 9 frames, 4 steps of 20 ms):
 * the command engine pays the process start and the load on every task, the resident engine once,
 * in its first task.
 */
public final class ResidentSuite implements BenchSuite {
  static final String FAKE_SERVER =
      "gpu-operator/src/test/resources/dev/reelflow/worker/fake-resident-server.py";

  @Override
  public String name() {
    return "resident";
  }

  @Override
  public String description() {
    return "resident engine vs per-task command engine, FAKE Python model server: s/task in"
        + " steady state and the first task, per emulated load delay";
  }

  private record Params(List<Double> loads, int tasks) {}

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    Params p =
        ctx.size()
            .pick(
                new Params(List.of(0.0), 3),
                new Params(List.of(0.0, 0.5, 2.0), 10),
                new Params(List.of(0.0, 0.5, 2.0, 5.0), 20));
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .emulated(true)
            .parameter("loadSeconds", p.loads().toString())
            .parameter("tasksPerRun", p.tasks())
            .parameter("job", "preview 256x144, 9 frames, 4 steps")
            .parameter("stepSeconds", 0.02)
            .note(
                "FAKE model server (fake-resident-server.py, emulated: test patterns, a sleep as"
                    + " the model load); the real pipeline's load (an 8.3B transformer, a 7B text"
                    + " encoder, the VAE) was not measured here");
    Optional<Path> script = ctx.repositoryRoot().map(r -> r.resolve(FAKE_SERVER));
    if (script.isEmpty() || !Files.isRegularFile(script.get())) {
      throw new IllegalStateException(
          FAKE_SERVER + " not found: run reelflow bench resident from the checkout");
    }
    Path python = python();
    if (python == null) {
      throw new IllegalStateException(
          "no python3 (neither /usr/bin/python3 nor on PATH): the resident suite runs a Python 3"
              + " fake model server");
    }
    EngineRegistry engines = WorkerProcess.builtinEngines().build();
    List<Figure.Builder[]> figures = new ArrayList<>();
    for (double load : p.loads()) {
      // the load comes first in each name: chart labels are cut at 48 characters
      String l = String.format(Locale.ROOT, "%.1f s", load);
      figures.add(
          new Figure.Builder[] {
            new Figure.Builder(
                "load " + l + ": resident s/task, tasks 2.." + p.tasks(),
                "s",
                "command engine s/task (tasks 2.." + p.tasks() + "), same fake server and load",
                Figure.BaselineKind.MEASURED),
            new Figure.Builder(
                "load " + l + ": resident task 1 (start, load, task)",
                "s",
                "command engine s/task (tasks 2.." + p.tasks() + "), same fake server and load",
                Figure.BaselineKind.MEASURED)
          });
    }
    for (int rep = 0; rep < ctx.repetitions(); rep++) {
      for (int i = 0; i < p.loads().size(); i++) {
        double load = p.loads().get(i);
        String step = "repetition " + (rep + 1) + "/" + ctx.repetitions() + ", load " + load + " s";
        ctx.progress().step(step + ": command engine");
        List<Double> command =
            times(ctx, engines, command(python, script.get(), load), p.tasks(), "command");
        ctx.progress().step(step + ": resident engine");
        List<Double> resident =
            times(ctx, engines, resident(python, script.get(), load), p.tasks(), "resident");
        double commandSteady = mean(command.subList(1, command.size()));
        figures.get(i)[0].add(mean(resident.subList(1, resident.size())), commandSteady);
        figures.get(i)[1].add(resident.get(0), commandSteady);
      }
    }
    for (Figure.Builder[] f : figures) {
      out.figure(f[0]).figure(f[1]);
    }
    return out.build();
  }

  private static EngineSettings command(Path python, Path script, double load) {
    Map<String, String> o = new HashMap<>();
    o.put(
        "command",
        "\""
            + python
            + "\" \""
            + script
            + "\" --one-shot --load-seconds "
            + load
            + " --step-seconds 0.02 --width {width} --height {height} --frames {frames}"
            + " --steps {steps} --seed {seed} --output {output} --latents {latents}");
    o.put("output-file", "output.y4m");
    return new EngineSettings("command", o, "cpu", 0, false);
  }

  private static EngineSettings resident(Path python, Path script, double load) {
    Map<String, String> o = new HashMap<>();
    o.put(
        "command",
        "\"" + python + "\" \"" + script + "\" --load-seconds " + load + " --step-seconds 0.02");
    o.put("load-timeout", "60s");
    o.put("default-steps", "4");
    return new EngineSettings("resident", o, "cpu", 0, false);
  }

  /**
   * Seconds of each of {@code tasks} generate() calls in a row on a fresh engine, so the resident
   * engine's first task includes starting its program and the load.
   */
  private static List<Double> times(
      BenchContext ctx, EngineRegistry engines, EngineSettings settings, int tasks, String mode)
      throws Exception {
    List<Double> seconds = new ArrayList<>();
    try (BaseVideoEngine engine = engines.createBase(settings)) {
      for (int i = 0; i < tasks; i++) {
        Path work = Files.createDirectories(ctx.workDir().resolve(mode + "-" + i));
        BaseVideoJob job =
            new BaseVideoJob(
                "bench-" + i + ":BASE:1",
                "bench-" + i,
                "bench " + i,
                "",
                null,
                "preview",
                256,
                144,
                9,
                24,
                4,
                null,
                i);
        long t0 = System.nanoTime();
        engine.generate(job, new BenchEngineContext(job.taskId(), work));
        seconds.add((System.nanoTime() - t0) / 1e9);
        BenchRunner.deleteTree(work);
        ctx.progress().bar(mode + " tasks", i + 1, tasks);
      }
    }
    return seconds;
  }

  private static double mean(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }

  /** {@code /usr/bin/python3}, else the first {@code python3} on PATH, else null. */
  private static Path python() {
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

  /** What the worker runtime gives an engine per task, reduced to a benchmark: never cancels. */
  private record BenchEngineContext(String taskId, Path workDir) implements EngineContext {
    @Override
    public long deviceMemoryBudgetBytes() {
      return 0;
    }

    @Override
    public boolean offloadWeights() {
      return false;
    }

    @Override
    public boolean cancelRequested() {
      return false;
    }

    @Override
    public void checkCancelled() {}

    @Override
    public StepListener listener() {
      return (phase, done, total) -> {};
    }
  }
}
