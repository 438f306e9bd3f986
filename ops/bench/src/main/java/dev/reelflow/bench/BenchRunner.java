package dev.reelflow.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs suites one after the other and writes the run's folder ({@link BenchReport}). A suite that
 * fails is recorded with its error as a note, and the others still run.
 */
public final class BenchRunner {
  private static final Logger LOG = LoggerFactory.getLogger(BenchRunner.class);

  /** The results of a run and the files written. */
  public record Outcome(List<SuiteResult> results, List<Path> files, List<String> failed) {}

  private BenchRunner() {}

  /**
   * Runs {@code suites} with {@code context} and writes the results under {@code outDir}.
   *
   * @param command the command line, recorded in the results
   */
  public static Outcome run(
      List<BenchSuite> suites, BenchContext context, Path outDir, String command)
      throws IOException {
    Instant started = Instant.now();
    List<SuiteResult> results = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    for (BenchSuite suite : suites) {
      context.progress().suite(suite.name());
      Path scratch = context.workDir().resolve(suite.name());
      Files.createDirectories(scratch);
      BenchContext own =
          new BenchContext(
              context.size(),
              context.repetitions(),
              context.progress(),
              scratch,
              context.scaleSizes(),
              context.repositoryRoot());
      try {
        results.add(suite.run(own));
      } catch (Exception e) {
        LOG.warn("suite {} failed", suite.name(), e);
        failed.add(suite.name());
        results.add(new SuiteResult.Builder(suite.name()).note("FAILED: " + e).build());
      } finally {
        deleteTree(scratch);
      }
    }
    BenchReport report =
        new BenchReport(
            outDir, command, Machine.current(), started, context.size(), context.repetitions());
    return new Outcome(results, report.write(results), failed);
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.debug("could not delete {}", root, e);
    }
  }
}
