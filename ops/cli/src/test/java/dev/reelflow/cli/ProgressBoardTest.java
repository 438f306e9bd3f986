package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressBoardTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode render(String json) throws Exception {
    return JSON.readTree(json);
  }

  @Test
  void fractionSpansBothStagesAndEndsAtOne() throws Exception {
    assertThat(ProgressBoard.fraction(render("{\"status\":\"QUEUED\",\"stage\":\"BASE\"}")))
        .isZero();
    assertThat(
            ProgressBoard.fraction(
                render("{\"status\":\"RENDERING\",\"progress\":{\"fraction\":0.5}}")))
        .isEqualTo(ProgressBoard.BASE_SHARE * 0.5);
    assertThat(ProgressBoard.fraction(render("{\"status\":\"QUEUED\",\"stage\":\"UPSCALE\"}")))
        .isEqualTo(ProgressBoard.BASE_SHARE);
    assertThat(
            ProgressBoard.fraction(
                render("{\"status\":\"UPSCALING\",\"progress\":{\"fraction\":1.0}}")))
        .isEqualTo(1.0);
    // Without an upscale stage the base stage is the whole render.
    assertThat(
            ProgressBoard.fraction(
                render(
                    "{\"status\":\"RENDERING\",\"upscale\":\"none\",\"progress\":{\"fraction\":0.5}}")))
        .isEqualTo(0.5);
    assertThat(ProgressBoard.fraction(render("{\"status\":\"FAILED\"}"))).isEqualTo(1.0);
  }

  @Test
  void phasesGroupStatesForTheOverallBar() throws Exception {
    assertThat(ProgressBoard.phaseOf(render("{\"status\":\"ACCEPTED\"}")))
        .isEqualTo(ProgressBoard.Phase.QUEUED);
    assertThat(ProgressBoard.phaseOf(render("{\"status\":\"QUEUED\",\"stage\":\"UPSCALE\"}")))
        .isEqualTo(ProgressBoard.Phase.UPSCALING);
    assertThat(ProgressBoard.phaseOf(render("{\"status\":\"EXPIRED\"}")))
        .isEqualTo(ProgressBoard.Phase.FAILED);
    assertThat(ProgressBoard.phaseOf(render("{\"status\":\"SUCCEEDED\"}")))
        .isEqualTo(ProgressBoard.Phase.DONE);
  }

  @Test
  void plainOutputPrintsOnlyWhenCountsChange() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ProgressBoard board =
        new ProgressBoard(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
    List<JsonNode> renders =
        List.of(
            render("{\"id\":\"a\",\"status\":\"RENDERING\",\"progress\":{\"fraction\":0.5}}"),
            render("{\"id\":\"b\",\"status\":\"SUCCEEDED\"}"));
    board.draw(renders, Duration.ofSeconds(30));
    board.draw(renders, Duration.ofSeconds(31));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertThat(out.lines()).hasSize(1);
    assertThat(out).contains("rendering 1").contains("done 1").contains("2 renders");
    // 0.35 + 1.0 over 2 renders = 67.5% done after 30 s: about 14 s left.
    assertThat(out).contains(" 68%").contains("ETA 0:14");
  }

  @Test
  void terminalOutputRedrawsInPlace() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ProgressBoard board =
        new ProgressBoard(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
    List<JsonNode> renders =
        List.of(render("{\"id\":\"a\",\"status\":\"QUEUED\",\"queuePosition\":3}"));
    board.draw(renders, Duration.ofSeconds(1));
    board.draw(renders, Duration.ofSeconds(2));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertThat(out).contains("queue position 3").contains("\033[2F");
  }
}
