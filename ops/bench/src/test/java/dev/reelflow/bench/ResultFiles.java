package dev.reelflow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Checks that a run's folder is well-formed: JSON fields, the Markdown table, a decodable PNG. */
final class ResultFiles {
  private ResultFiles() {}

  /** Asserts the folder holds a well-formed result of {@code suite}; returns the suite's JSON. */
  static JsonNode assertWellFormed(Path dir, String suite) throws IOException {
    JsonNode root = new ObjectMapper().readTree(dir.resolve("results.json").toFile());
    assertThat(root.path("format").asInt()).isEqualTo(BenchReport.FORMAT);
    assertThat(root.path("command").asText()).startsWith("reelflow bench");
    JsonNode machine = root.path("machine");
    assertThat(machine.path("cores").asInt()).isPositive();
    assertThat(machine.path("physicalMemoryBytes").asLong()).isPositive();
    assertThat(machine.path("os").asText()).isNotBlank();
    assertThat(machine.path("java").asText()).isNotBlank();
    assertThat(machine.path("versions").path("reelflow").asText()).isNotBlank();
    JsonNode s = null;
    for (JsonNode candidate : root.path("suites")) {
      if (candidate.path("suite").asText().equals(suite)) {
        s = candidate;
      }
    }
    assertThat(s).as("suite %s in results.json", suite).isNotNull();
    assertThat(s.path("notes").toString()).doesNotContain("FAILED");
    assertThat(s.path("parameters").size()).isPositive();
    assertThat(s.path("figures").size()).as("figures of %s", suite).isPositive();
    int reps = root.path("repetitions").asInt();
    for (JsonNode f : s.path("figures")) {
      assertThat(f.path("name").asText()).isNotBlank();
      assertThat(f.path("unit").asText()).isNotBlank();
      assertThat(f.path("baseline").asText()).isNotBlank();
      assertThat(f.path("baselineKind").asText()).isIn("measured", "ideal");
      assertThat(f.path("repetitions").size()).isBetween(1, reps);
      for (JsonNode rep : f.path("repetitions")) {
        assertThat(rep.path("value").isNumber()).isTrue();
        assertThat(rep.path("baseline").isNumber()).isTrue();
        assertThat(rep.has("ratio")).isTrue();
      }
      for (String spread : new String[] {"value", "baselineValue", "ratio"}) {
        JsonNode sp = f.path(spread);
        assertThat(sp.path("min").asDouble()).isLessThanOrEqualTo(sp.path("median").asDouble());
        assertThat(sp.path("median").asDouble()).isLessThanOrEqualTo(sp.path("max").asDouble());
      }
    }
    String md = Files.readString(dir.resolve("summary.md"));
    assertThat(md).contains("## " + suite).contains("| figure | value | baseline | ratio | n |");
    for (JsonNode f : s.path("figures")) {
      assertThat(md).contains("| " + f.path("name").asText() + " |");
    }
    BufferedImage png = ImageIO.read(dir.resolve(suite + ".png").toFile());
    assertThat(png).as("%s.png decodes", suite).isNotNull();
    assertThat(png.getWidth()).isGreaterThan(100);
    return s;
  }
}
