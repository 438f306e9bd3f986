package dev.reelflow.bench;

import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Runs every suite of this module at {@link BenchSize#TINY} and checks the files it writes. Not a
 * timing assertion: the figures are only checked to be well-formed.
 */
class SuiteSmokeTest {
  @TempDir Path tmp;

  static Stream<String> suites() {
    return Stream.of(
        "storage",
        "attention",
        "engine",
        "resident",
        "ingest",
        "pipeline",
        "sharegroup",
        "scale",
        "upscale",
        "serde",
        "stack");
  }

  private static BenchSuite suite(String name) {
    return switch (name) {
      case "storage" -> new StorageSuite();
      case "attention" -> new AttentionSuite();
      case "engine" -> new EngineSuite();
      case "ingest" -> new IngestSuite();
      case "pipeline" -> new PipelineSuite();
      case "sharegroup" -> new ShareGroupSuite();
      case "resident" -> new ResidentSuite();
      case "scale" -> new ScaleSuite();
      case "upscale" -> new UpscaleSuite();
      case "serde" -> new SerdeSuite();
      case "stack" -> new StackSuite();
      default -> throw new IllegalArgumentException(name);
    };
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("suites")
  void aTinyRunWritesWellFormedResults(String name) throws Exception {
    BenchSuite suite = suite(name);
    // two repetitions where a repetition is cheap, so the spread has something to show
    boolean once =
        suite instanceof PipelineSuite
            || suite instanceof ScaleSuite
            || suite instanceof ShareGroupSuite
            || suite instanceof ResidentSuite
            || suite instanceof IngestSuite;
    BenchContext ctx =
        BenchContext.builder()
            .size(BenchSize.TINY)
            .repetitions(once ? 1 : 2)
            .workDir(tmp.resolve("work"))
            .repositoryRoot(Path.of("../..").toAbsolutePath().normalize())
            .build();
    Path out = tmp.resolve("out");
    BenchRunner.run(java.util.List.of(suite), ctx, out, "reelflow bench " + suite.name());
    ResultFiles.assertWellFormed(out, suite.name());
  }
}
