package dev.reelflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Polls renders until each reaches a final state, drawing a {@link ProgressBoard}. */
final class RenderWatcher {
  private static final Duration POLL = Duration.ofMillis(750);

  private final ApiClient client;
  private final ProgressBoard board;

  RenderWatcher(ApiClient client, PrintStream out, boolean redraw) {
    this.client = client;
    this.board = new ProgressBoard(out, redraw);
  }

  static boolean isFinal(JsonNode render) {
    return switch (render.path("status").asText()) {
      case "SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED" -> true;
      default -> false;
    };
  }

  /**
   * Waits for every render to end; returns their last JSON in the given order.
   *
   * @throws CliException with {@link ExitCode#TIMEOUT} when {@code timeout} passes first
   */
  List<JsonNode> await(List<String> ids, Duration timeout) {
    Instant start = Instant.now();
    while (true) {
      List<JsonNode> renders = new ArrayList<>(ids.size());
      for (String id : ids) {
        renders.add(fetch(id));
      }
      Duration elapsed = Duration.between(start, Instant.now());
      board.draw(renders, elapsed);
      if (renders.stream().allMatch(RenderWatcher::isFinal)) {
        return renders;
      }
      if (elapsed.compareTo(timeout) > 0) {
        throw new CliException(
            ExitCode.TIMEOUT, "renders still running after " + timeout.toSeconds() + " s");
      }
      pause();
    }
  }

  /**
   * Waits for every render of a batch of {@code count} rows to end. Rows not yet visible in the
   * status view are shown as accepted.
   */
  List<JsonNode> awaitBatch(String batchId, int count, Duration timeout) {
    Instant start = Instant.now();
    while (true) {
      List<JsonNode> renders = listBatch(batchId);
      List<JsonNode> shown = new ArrayList<>(renders);
      while (shown.size() < count) {
        shown.add(placeholder(batchId + "#" + shown.size()));
      }
      Duration elapsed = Duration.between(start, Instant.now());
      board.draw(shown, elapsed);
      if (renders.size() >= count && renders.stream().allMatch(RenderWatcher::isFinal)) {
        return renders;
      }
      if (elapsed.compareTo(timeout) > 0) {
        throw new CliException(
            ExitCode.TIMEOUT, "renders still running after " + timeout.toSeconds() + " s");
      }
      pause();
    }
  }

  /** All renders of a batch, following the list's cursor. */
  List<JsonNode> listBatch(String batchId) {
    return client.listAll(java.util.Map.of("batchId", batchId));
  }

  private static void pause() {
    try {
      Thread.sleep(POLL.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCode.TIMEOUT, "interrupted");
    }
  }

  private static JsonNode placeholder(String id) {
    return new com.fasterxml.jackson.databind.ObjectMapper()
        .createObjectNode()
        .put("id", id)
        .put("status", "ACCEPTED");
  }

  private JsonNode fetch(String id) {
    try {
      return client.render(id);
    } catch (CliException e) {
      if (e.exitCode() == ExitCode.NOT_FOUND) {
        // Accepted but not yet in the status view: show it as accepted.
        return placeholder(id);
      }
      throw e;
    }
  }
}
