package dev.reelflow.cli;

import dev.reelflow.bench.AttentionSuite;
import dev.reelflow.bench.BenchContext;
import dev.reelflow.bench.BenchRunner;
import dev.reelflow.bench.BenchSize;
import dev.reelflow.bench.BenchSuite;
import dev.reelflow.bench.EngineSuite;
import dev.reelflow.bench.IngestSuite;
import dev.reelflow.bench.PipelineSuite;
import dev.reelflow.bench.Progress;
import dev.reelflow.bench.ResidentSuite;
import dev.reelflow.bench.ScaleSuite;
import dev.reelflow.bench.SerdeSuite;
import dev.reelflow.bench.ShareGroupSuite;
import dev.reelflow.bench.StackSuite;
import dev.reelflow.bench.StorageSuite;
import dev.reelflow.bench.UpscaleSuite;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code reelflow bench [suite...]}: the benchmark harness. Runs the named suites (all when none is
 * named), each figure against a baseline measured in the same run, repeated; progress on stderr;
 * {@code results.json}, {@code summary.md} and a chart per suite under one folder; the summary on
 * stdout.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Benchmarks, each figure against a baseline measured in the same run, with the spread of",
      "repetitions. Suites: pipeline, sharegroup, scale, ingest, storage, attention, engine,",
      "resident, upscale, serde, stack, e2e (all when none is named). Results:",
      "<out>/results.json, summary.md and <suite>.png."
    })
final class BenchCommand implements Callable<Integer> {

  @Parameters(arity = "0..*", paramLabel = "SUITE", description = "Suites to run (default: all).")
  List<String> suites = new ArrayList<>();

  @Option(
      names = "--size",
      defaultValue = "default",
      description = "tiny (seconds, a smoke run), default, or full (the issue's full sizes).")
  String size;

  @Option(names = "--reps", defaultValue = "3", description = "Repetitions of every figure.")
  int reps;

  @Option(names = "--out", description = "Results folder (default: bench-results/<UTC timestamp>).")
  Path out;

  @Option(
      names = "--scale-sizes",
      split = ",",
      description = "Queued renders of the scale suite, e.g. 1000,10000,100000.")
  List<Integer> scaleSizes = new ArrayList<>();

  @Option(names = "--workers", description = "e2e: emulated base workers (default by --size).")
  Integer workers;

  @Option(names = "--tasks", description = "e2e: renders per batch (default by --size).")
  Integer tasks;

  @Option(names = "--steps", defaultValue = "4", description = "e2e: denoising steps per render.")
  int steps;

  @Option(names = "--step-ms", defaultValue = "250", description = "e2e: emulated time per step.")
  long stepMs;

  @Option(
      names = "--no-upscale",
      description = "e2e: renders without the 1080p stage (no upscale pool).")
  boolean noUpscale;

  @Option(names = "--timeout", defaultValue = "PT30M", description = "e2e: wait per batch.")
  Duration timeout;

  @Option(names = "--json", description = "Print results.json instead of the summary.")
  boolean json;

  @Option(names = "--quiet", description = "No progress display.")
  boolean quiet;

  /** Every suite by name, in the order a full run takes them. */
  Map<String, BenchSuite> catalogue(PrintStream log) {
    Map<String, BenchSuite> all = new LinkedHashMap<>();
    for (BenchSuite s :
        List.of(
            new PipelineSuite(),
            new ShareGroupSuite(),
            new ScaleSuite(),
            new IngestSuite(),
            new StorageSuite(),
            new AttentionSuite(),
            new EngineSuite(),
            new ResidentSuite(),
            new UpscaleSuite(),
            new SerdeSuite(),
            new StackSuite(),
            new E2eSuite(workers, tasks, steps, stepMs, !noUpscale, timeout, log))) {
      all.put(s.name(), s);
    }
    return all;
  }

  @Override
  public Integer call() throws Exception {
    BenchSize benchSize;
    try {
      benchSize = BenchSize.valueOf(size.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCode.USAGE, "--size must be tiny, default or full, not " + size);
    }
    if (reps < 1 || steps < 1 || stepMs < 1) {
      throw new CliException(ExitCode.USAGE, "--reps, --steps and --step-ms must be >= 1");
    }
    if ((workers != null && workers < 1) || (tasks != null && tasks < 1)) {
      throw new CliException(ExitCode.USAGE, "--workers and --tasks must be >= 1");
    }
    if (scaleSizes.stream().anyMatch(n -> n == null || n < 1)) {
      throw new CliException(ExitCode.USAGE, "--scale-sizes must be positive counts");
    }
    System.setProperty("java.awt.headless", "true");
    PrintStream log = quiet ? E2eSuite.quiet() : System.err;
    Map<String, BenchSuite> all = catalogue(log);
    List<BenchSuite> chosen = new ArrayList<>();
    for (String name : suites.isEmpty() ? List.copyOf(all.keySet()) : suites) {
      BenchSuite s = all.get(name.toLowerCase(Locale.ROOT));
      if (s == null) {
        throw new CliException(
            ExitCode.USAGE,
            "unknown suite '" + name + "'; suites: " + String.join(", ", all.keySet()));
      }
      if (!chosen.contains(s)) {
        chosen.add(s);
      }
    }
    Path folder =
        out != null
            ? out
            : Paths.get(
                "bench-results",
                ZonedDateTime.now(ZoneOffset.UTC)
                    .format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")));
    Path scratch = Files.createTempDirectory("reelflow-bench");
    BenchContext context =
        BenchContext.builder()
            .size(benchSize)
            .repetitions(reps)
            .progress(quiet ? Progress.silent() : Progress.to(System.err))
            .workDir(scratch)
            .scaleSizes(scaleSizes)
            .repositoryRoot(repositoryRoot())
            .build();
    BenchRunner.Outcome outcome;
    try {
      outcome = BenchRunner.run(chosen, context, folder, commandLine(chosen, benchSize));
    } finally {
      deleteQuietly(scratch);
    }
    Path summary = folder.resolve(json ? "results.json" : "summary.md");
    System.out.print(Files.readString(summary, StandardCharsets.UTF_8));
    System.err.println("reelflow bench: results in " + folder.toAbsolutePath());
    if (!outcome.failed().isEmpty()) {
      System.err.println("reelflow bench: failed suites: " + String.join(", ", outcome.failed()));
      return ExitCode.API_ERROR;
    }
    return 0;
  }

  private String commandLine(List<BenchSuite> chosen, BenchSize benchSize) {
    StringBuilder c = new StringBuilder("reelflow bench");
    chosen.forEach(s -> c.append(' ').append(s.name()));
    c.append(" --size ").append(benchSize.name().toLowerCase(Locale.ROOT));
    c.append(" --reps ").append(reps);
    if (!scaleSizes.isEmpty()) {
      c.append(" --scale-sizes ")
          .append(scaleSizes.stream().map(String::valueOf).collect(Collectors.joining(",")));
    }
    return c.toString();
  }

  /**
   * The checkout, for tools outside the classpath: {@code reelflow.home} (set by the launcher),
   * else the working directory when it is one.
   */
  static Path repositoryRoot() {
    String home = System.getProperty("reelflow.home");
    if (home != null && !home.isBlank()) {
      return Paths.get(home);
    }
    Path cwd = Paths.get("").toAbsolutePath();
    return Files.isRegularFile(cwd.resolve(AttentionSuite.NUMPY_SCRIPT)) ? cwd : null;
  }

  private static void deleteQuietly(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // A leftover temp directory is harmless; the results are what matters.
    }
  }
}
