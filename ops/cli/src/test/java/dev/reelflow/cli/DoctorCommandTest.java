package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code reelflow doctor}: its CPU part (libtorch on the CPU) runs here as it runs in CI. */
class DoctorCommandTest {
  @TempDir Path dir;

  @Test
  void torchOnTheCpuPassesItsChecksAndWritesEveryFigure() throws Exception {
    CommandLine cli = ReelflowCli.commandLine();
    StringWriter out = new StringWriter();
    cli.setOut(new PrintWriter(out));
    Path json = dir.resolve("doctor.json");
    int code =
        cli.execute(
            "doctor",
            "--backend",
            "torch",
            "--threads",
            "2",
            "--encode-frames",
            "4",
            "--out",
            json.toString());
    assertThat(code).as(out.toString()).isEqualTo(ExitCode.OK);
    assertThat(out.toString()).contains("report: ").contains("h264-encode-1080p");
    JsonNode r = new ObjectMapper().readTree(Files.readString(json));
    assertThat(r.path("backend").asText()).isEqualTo("torch");
    List<String> names = new ArrayList<>();
    r.path("benchmarks").forEach(b -> names.add(b.path("name").asText()));
    assertThat(names).contains("h264-encode-1080p", "esrgan-x2-1080p");
    for (JsonNode b : r.path("benchmarks")) {
      if (b.path("name").asText().equals("esrgan-x2-1080p")) {
        assertThat(b.path("value").asDouble()).as("ESRGAN frames/s").isPositive();
        assertThat(b.path("note").asText()).contains("stand-in");
      }
    }
    JsonNode encode = null;
    for (JsonNode b : r.path("benchmarks")) {
      if (b.path("name").asText().equals("h264-encode-1080p")) {
        encode = b;
      }
    }
    assertThat(encode.path("value").asDouble()).isPositive();
    assertThat(encode.path("note").asText()).contains("libopenh264");
  }

  @Test
  void cudaWithoutAGpuExitsSixSayingWhy() {
    assumeTrue(
        !Files.exists(Path.of("/dev/nvidia0")), "a GPU is present: the refusal is not testable");
    CommandLine cli = ReelflowCli.commandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    cli.setOut(new PrintWriter(new StringWriter()));
    int code = cli.execute("doctor", "--out", dir.resolve("d.json").toString());
    assertThat(code).isEqualTo(ExitCode.UNAVAILABLE);
    assertThat(err.toString()).contains("--backend cuda:0");
  }
}
