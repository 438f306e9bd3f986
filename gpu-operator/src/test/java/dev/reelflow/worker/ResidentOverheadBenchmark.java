package dev.reelflow.worker;

import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.EngineSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-task overhead of the {@code resident} engine against the per-task {@code command} engine,
 * both running the FAKE resident server ({@code fake-resident-server.py}: the same Python code
 * renders the same test pattern; {@code --one-shot} makes it a per-task program) with the same
 * model-load delay. Times {@code generate()} of N tasks in a row (preview 256x144, 9 frames, 4
 * steps of 20 ms) per load delay, and prints per-task wall times: command mode pays process start
 * plus the load on every task, resident mode once.
 *
 * <p>Not a test. Run: {@code java -cp
 * gpu-operator/target/test-classes:gpu-operator/target/classes:$CP
 * dev.reelflow.worker.ResidentOverheadBenchmark 0,0.5,2 10} (load delays in seconds, tasks per run;
 * {@code CP} the module's test classpath).
 */
public final class ResidentOverheadBenchmark {

  private ResidentOverheadBenchmark() {}

  /** Figures of one mode at one load delay. */
  record Run(String mode, double loadSeconds, List<Double> taskSeconds) {
    double first() {
      return taskSeconds.get(0);
    }

    double mean(int from) {
      return taskSeconds.subList(from, taskSeconds.size()).stream()
          .mapToDouble(Double::doubleValue)
          .average()
          .orElse(Double.NaN);
    }

    double total() {
      return taskSeconds.stream().mapToDouble(Double::doubleValue).sum();
    }
  }

  public static void main(String[] args) throws Exception {
    String loads = args.length > 0 ? args[0] : "0,0.5,2";
    int tasks = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    Path dir = Files.createTempDirectory("resident-bench");
    List<Run> runs = new ArrayList<>();
    for (String l : loads.split(",")) {
      double load = Double.parseDouble(l.trim());
      runs.add(run("command", command(load), load, tasks, dir));
      runs.add(run("resident", resident(load), load, tasks, dir));
    }
    StringBuilder out =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "%nresident vs command engine, fake server (Python), %d tasks per run, preview"
                    + " 256x144 x 9 frames, 4 steps x 20 ms each%n"
                    + "%-9s %7s %12s %17s %12s%n",
                tasks,
                "mode",
                "load s",
                "task 1 s",
                "tasks 2..N mean s",
                "total s"));
    for (Run r : runs) {
      out.append(
          String.format(
              Locale.ROOT,
              "%-9s %7.2f %12.3f %17.3f %12.2f%n",
              r.mode(),
              r.loadSeconds(),
              r.first(),
              r.mean(1),
              r.total()));
    }
    for (int i = 0; i + 1 < runs.size(); i += 2) {
      Run c = runs.get(i);
      Run r = runs.get(i + 1);
      out.append(
          String.format(
              Locale.ROOT,
              "load %.2f s: per-task overhead of command over resident (steady state) %.3f s;"
                  + " resident per-task mean %.3f s vs command %.3f s (all tasks)%n",
              c.loadSeconds(),
              c.mean(1) - r.mean(1),
              r.mean(0),
              c.mean(0)));
    }
    System.out.print(out);
    Worker.deleteQuietly(dir);
  }

  static BaseVideoEngine command(double load) {
    Map<String, String> o = new HashMap<>();
    o.put(
        "command",
        "\""
            + FakeResident.requirePython()
            + "\" \""
            + FakeResident.script()
            + "\" --one-shot --load-seconds "
            + load
            + " --step-seconds 0.02 --width {width} --height {height} --frames {frames}"
            + " --steps {steps} --seed {seed} --output {output} --latents {latents}");
    o.put("output-file", "output.y4m");
    return new CommandEngine(new EngineSettings("command", o, "cpu", 0, false));
  }

  static BaseVideoEngine resident(double load) {
    Map<String, String> o = FakeResident.options("--load-seconds " + load + " --step-seconds 0.02");
    return new ResidentEngineFactory()
        .createBase(new EngineSettings("resident", o, "cpu", 0, false));
  }

  /**
   * Times {@code tasks} generate() calls; the resident engine is created just before the first, so
   * its first task includes starting the program and the load.
   */
  static Run run(String mode, BaseVideoEngine engine, double load, int tasks, Path dir)
      throws Exception {
    List<Double> seconds = new ArrayList<>();
    try (engine) {
      for (int i = 0; i < tasks; i++) {
        Path work = Files.createDirectories(dir.resolve(mode + "-" + load + "-" + i));
        BaseVideoJob job =
            new BaseVideoJob(
                "b-" + i, "b", "bench " + i, "", null, "preview", 256, 144, 9, 24, 4, null, i);
        long t0 = System.nanoTime();
        engine.generate(job, new RecordingContext(work));
        seconds.add((System.nanoTime() - t0) / 1e9);
        Worker.deleteQuietly(work);
      }
    }
    return new Run(mode, load, seconds);
  }
}
