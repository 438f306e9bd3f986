package dev.reelflow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchReportTest {
  @TempDir Path tmp;

  @Test
  void spreadGivesMinMedianMaxAndSampleStddev() {
    Spread s = Spread.of(List.of(4.0, 1.0, 3.0, 2.0));
    assertThat(s.n()).isEqualTo(4);
    assertThat(s.min()).isEqualTo(1.0);
    assertThat(s.median()).isEqualTo(2.5);
    assertThat(s.max()).isEqualTo(4.0);
    assertThat(s.mean()).isEqualTo(2.5);
    assertThat(s.stddev())
        .isCloseTo(Math.sqrt(5.0 / 3), org.assertj.core.data.Offset.offset(1e-12));
    assertThat(Spread.of(List.of(Double.NaN, 7.0)).n()).isEqualTo(1);
    assertThat(Spread.percentile(List.of(1L, 2L, 3L, 4L), 0.5)).isEqualTo(2);
    assertThat(Spread.percentile(List.of(1L, 2L, 3L, 4L), 0.99)).isEqualTo(4);
    assertThat(Spread.percentile(List.of(), 0.5)).isZero();
  }

  @Test
  void aFigureIsRatioPerRepetitionAndNeedsOneBaselineEach() {
    Figure f =
        new Figure.Builder("rate", "ops/s", "plain", Figure.BaselineKind.MEASURED)
            .add(50, 100)
            .add(30, 0)
            .build();
    assertThat(f.ratios().get(0)).isEqualTo(0.5);
    assertThat(f.ratios().get(1)).isNaN();
    assertThatThrownBy(
            () -> new Figure("x", "s", "b", Figure.BaselineKind.IDEAL, List.of(1.0), List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'x'");
  }

  @Test
  void theRunFolderHasJsonMarkdownAndAChartPerSuite() throws Exception {
    BenchSuite fake =
        new BenchSuite() {
          @Override
          public String name() {
            return "fake";
          }

          @Override
          public String description() {
            return "fixed figures";
          }

          @Override
          public SuiteResult run(BenchContext ctx) {
            Figure.Builder f =
                new Figure.Builder("latency p99", "ms", "round trip", Figure.BaselineKind.MEASURED);
            for (int i = 0; i < ctx.repetitions(); i++) {
              f.add(10 + i, 5);
            }
            return new SuiteResult.Builder("fake")
                .parameter("n", 3)
                .figure(f)
                .note("a note")
                .build();
          }
        };
    BenchSuite broken =
        new BenchSuite() {
          @Override
          public String name() {
            return "broken";
          }

          @Override
          public String description() {
            return "throws";
          }

          @Override
          public SuiteResult run(BenchContext ctx) {
            throw new IllegalStateException("no broker");
          }
        };
    BenchContext ctx =
        BenchContext.builder()
            .size(BenchSize.TINY)
            .repetitions(3)
            .workDir(tmp.resolve("w"))
            .build();
    Path out = tmp.resolve("out");
    BenchRunner.Outcome o =
        BenchRunner.run(List.of(fake, broken), ctx, out, "reelflow bench fake broken");
    assertThat(o.failed()).containsExactly("broken");
    JsonNode s = ResultFiles.assertWellFormed(out, "fake");
    JsonNode fig = s.path("figures").get(0);
    assertThat(fig.path("repetitions")).hasSize(3);
    assertThat(fig.path("ratio").path("median").asDouble()).isEqualTo(11.0 / 5);
    assertThat(fig.path("value").path("min").asDouble()).isEqualTo(10.0);
    assertThat(fig.path("value").path("max").asDouble()).isEqualTo(12.0);
    assertThat(Files.readString(out.resolve("summary.md")))
        .contains("| latency p99 | 11.00 (10.00-12.00) ms | round trip: 5.00 ms (measured) |")
        .contains("FAILED: java.lang.IllegalStateException: no broker");
    assertThat(out.resolve("broken.png")).doesNotExist();
    assertThat(tmp.resolve("w").resolve("fake")).doesNotExist();
  }

  @Test
  void aSuiteRunAtSeveralSizesGetsItsGrowthTableAndChart() throws Exception {
    SuiteResult.Builder b = new SuiteResult.Builder("grows").sizeLabel("queued renders");
    for (int n : new int[] {1_000, 10_000, 100_000}) {
      // state grows linearly, the rate stays flat: the table and chart must tell them apart
      b.figureAtSize(
          new Figure.Builder("state at " + n, "bytes", "empty", Figure.BaselineKind.MEASURED)
              .add(n * 300.0, 1_000)
              .add(n * 340.0, 1_000),
          "state",
          n);
      b.figureAtSize(
          new Figure.Builder("rate at " + n, "tasks/s", "ideal", Figure.BaselineKind.IDEAL)
              .add(1_200, 4_000),
          "rate",
          n);
    }
    SuiteResult r = b.build();
    assertThat(r.figures()).hasSize(6);
    assertThat(r.growth().sizes()).containsExactly(1_000.0, 10_000.0, 100_000.0);
    assertThat(r.growth().lines().get("state")).containsEntry(100_000.0, 32_000_000.0);
    Path out = tmp.resolve("g");
    List<Path> files =
        new BenchReport(
                out,
                "reelflow bench grows",
                Machine.current(),
                java.time.Instant.now(),
                BenchSize.TINY,
                2)
            .write(List.of(r));
    assertThat(files).contains(out.resolve("grows-growth.png"));
    assertThat(Files.size(out.resolve("grows-growth.png"))).isGreaterThan(1_000);
    assertThat(Files.readString(out.resolve("summary.md")))
        .contains("| state (bytes) | 320000 | 3200000 | 32000000 | 100x |")
        .contains("| rate (tasks/s) | 1200 | 1200 | 1200 | 1.00x |");
    JsonNode g =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(out.resolve("results.json").toFile())
            .path("suites")
            .get(0)
            .path("growth");
    assertThat(g.path("sizeLabel").asText()).isEqualTo("queued renders");
    assertThat(g.path("medians").path("rate").path("bySize").path("100000").asDouble())
        .isEqualTo(1_200.0);
    // one size: no growth
    assertThat(
            new SuiteResult.Builder("one")
                .figureAtSize(
                    new Figure.Builder("x", "ms", "y", Figure.BaselineKind.IDEAL).add(1, 1), "x", 5)
                .build()
                .growth())
        .isNull();
  }

  @Test
  void aContextRefusesZeroRepetitions() {
    assertThatThrownBy(() -> BenchContext.builder().repetitions(0).workDir(tmp).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("repetitions");
  }
}
