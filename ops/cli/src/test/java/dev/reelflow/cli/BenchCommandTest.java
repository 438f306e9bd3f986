package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BenchCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void percentilesPickTheNearestRank() {
    List<Long> sorted = new ArrayList<>();
    for (long i = 1; i <= 100; i++) {
      sorted.add(i);
    }
    assertThat(BenchCommand.percentile(sorted, 0.50)).isEqualTo(50);
    assertThat(BenchCommand.percentile(sorted, 0.99)).isEqualTo(99);
    assertThat(BenchCommand.percentile(List.of(7L), 0.99)).isEqualTo(7);
    assertThat(BenchCommand.percentile(List.of(), 0.5)).isZero();
  }

  @Test
  void figuresCompareWallTimeWithTheIdealAndSayEmulated() throws Exception {
    BenchCommand bench = new BenchCommand();
    bench.workers = 2;
    bench.tasks = 4;
    bench.steps = 2;
    bench.stepMs = 500;
    List<JsonNode> renders =
        List.of(
            render("2026-11-25T10:00:00Z", "2026-11-25T10:00:01Z"),
            render("2026-11-25T10:00:00Z", "2026-11-25T10:00:01.200Z"),
            render("2026-11-25T10:00:00Z", "2026-11-25T10:00:02Z"),
            render("2026-11-25T10:00:00Z", "2026-11-25T10:00:02.500Z"));
    JsonNode f = bench.figures(renders);
    // Two rounds of 1 s tasks on two workers: 2 s ideal against 2.5 s of wall time.
    assertThat(f.path("idealSeconds").asDouble()).isEqualTo(2.0);
    assertThat(f.path("wallSeconds").asDouble()).isEqualTo(2.5);
    assertThat(f.path("efficiency").asDouble()).isEqualTo(0.8);
    assertThat(f.path("latencyP50Millis").asLong()).isEqualTo(1200);
    assertThat(f.path("latencyP99Millis").asLong()).isEqualTo(2500);
    assertThat(f.path("emulated").asBoolean()).isTrue();
    assertThat(BenchCommand.describe(f)).startsWith("EMULATED").contains("efficiency 80.0%");
  }

  private static JsonNode render(String created, String updated) {
    return JSON.createObjectNode()
        .put("status", "SUCCEEDED")
        .put("createdAt", created)
        .put("updatedAt", updated);
  }
}
