package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code reelflow bench e2e} at the tiny size through the command line: the whole local pipeline
 * with emulated base workers; checks the files, never the timings.
 */
class BenchE2eSmokeTest {
  @TempDir Path tmp;

  @Test
  void aTinyE2eRunWritesJsonMarkdownAndAChart() throws Exception {
    Path out = tmp.resolve("results");
    CommandLine cli = ReelflowCli.commandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    int code =
        cli.execute(
            "bench",
            "e2e",
            "--size",
            "tiny",
            "--reps",
            "1",
            "--step-ms",
            "100",
            "--quiet",
            "--out",
            out.toString());
    assertThat(code).as("exit code; stderr: %s", err).isZero();

    JsonNode root = new ObjectMapper().readTree(out.resolve("results.json").toFile());
    assertThat(root.path("command").asText()).startsWith("reelflow bench e2e --size tiny");
    assertThat(root.path("machine").path("cores").asInt()).isPositive();
    JsonNode suite = root.path("suites").get(0);
    assertThat(suite.path("suite").asText()).isEqualTo("e2e");
    assertThat(suite.path("emulated").asBoolean()).isTrue();
    List<String> names = new ArrayList<>();
    for (JsonNode f : suite.path("figures")) {
      names.add(f.path("name").asText());
      JsonNode rep = f.path("repetitions").get(0);
      assertThat(rep.path("value").asDouble()).as(f.path("name").asText()).isPositive();
      assertThat(rep.path("baseline").asDouble()).isPositive();
      assertThat(f.path("ratio").path("median").isNumber()).isTrue();
    }
    assertThat(names)
        .containsExactly(
            "renders/hour",
            "submit-to-final p50",
            "submit-to-final p99",
            "base pool busy share",
            "upscale pool busy share");
    assertThat(Files.readString(out.resolve("summary.md")))
        .contains("## e2e (EMULATED")
        .contains("| figure | value | baseline | ratio | n |")
        .contains("| renders/hour |");
    BufferedImage png = ImageIO.read(out.resolve("e2e.png").toFile());
    assertThat(png).isNotNull();
    assertThat(png.getHeight()).isGreaterThan(100);
  }
}
