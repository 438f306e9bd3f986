package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchCommandTest {

  @Test
  void everySuiteOfTheIssueIsInTheCatalogue() {
    assertThat(new BenchCommand().catalogue(E2eSuite.quiet()).keySet())
        .containsExactly(
            "pipeline",
            "sharegroup",
            "scale",
            "ingest",
            "storage",
            "attention",
            "engine",
            "resident",
            "upscale",
            "serde",
            "stack",
            "e2e");
  }

  @Test
  void anUnknownSuiteOrSizeIsAUsageError() {
    assertThat(run("bench", "nosuch", "--quiet")).isEqualTo(ExitCode.USAGE);
    assertThat(run("bench", "storage", "--size", "huge", "--quiet")).isEqualTo(ExitCode.USAGE);
    assertThat(run("bench", "storage", "--reps", "0", "--quiet")).isEqualTo(ExitCode.USAGE);
  }

  @Test
  void theIdealPackingEndsTaskIAtItsRound() {
    // 5 tasks of 2 s on 2 workers: rounds end at 2, 2, 4, 4, 6 s.
    assertThat(E2eSuite.idealCompletions(5, 2, 2.0)).containsExactly(2.0, 2.0, 4.0, 4.0, 6.0);
  }

  @Test
  void busySecondsAreSummedByPoolFromTheWorkersMetrics() {
    String text =
        String.join(
            "\n",
            "# TYPE reelflow_worker_task_seconds histogram",
            "reelflow_worker_task_seconds_bucket{outcome=\"completed\",pool=\"base\",le=\"1\"} 3",
            "reelflow_worker_task_seconds_sum{outcome=\"completed\",pool=\"base\"} 4.5",
            "reelflow_worker_task_seconds_sum{outcome=\"failed\",pool=\"base\"} 0.5",
            "reelflow_worker_task_seconds_sum{outcome=\"completed\",pool=\"upscale\"} 2.0");
    assertThat(E2eSuite.parseTaskSeconds(text)).isEqualTo(Map.of("base", 5.0, "upscale", 2.0));
  }

  private static int run(String... args) {
    CommandLine cli = ReelflowCli.commandLine();
    cli.setErr(new PrintWriter(new StringWriter()));
    cli.setOut(new PrintWriter(new StringWriter()));
    return cli.execute(List.of(args).toArray(String[]::new));
  }
}
