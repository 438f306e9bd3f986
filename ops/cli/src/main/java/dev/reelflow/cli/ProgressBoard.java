package dev.reelflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws one progress bar per render and an overall bar (queued / rendering / upscaling / done, with
 * an ETA). On a terminal it redraws in place; otherwise it prints a summary line whenever the
 * counts change, so logs of CI runs stay readable.
 */
final class ProgressBoard {
  /** Share of a render's work that the base stage stands for when an upscale stage follows. */
  static final double BASE_SHARE = 0.7;

  private static final int BAR_WIDTH = 24;

  enum Phase {
    QUEUED,
    RENDERING,
    UPSCALING,
    DONE,
    FAILED
  }

  private final PrintStream out;
  private final boolean redraw;
  private int linesDrawn;
  private String lastSummary = "";

  ProgressBoard(PrintStream out, boolean redraw) {
    this.out = out;
    this.redraw = redraw;
  }

  /** Draws the board for the renders' current JSON (as GET /v1/renders/{id} returns it). */
  void draw(List<JsonNode> renders, Duration elapsed) {
    Map<Phase, Integer> counts = new EnumMap<>(Phase.class);
    for (Phase p : Phase.values()) {
      counts.put(p, 0);
    }
    double total = 0;
    List<String> lines = new ArrayList<>();
    for (JsonNode r : renders) {
      Phase phase = phaseOf(r);
      counts.merge(phase, 1, Integer::sum);
      double f = fraction(r);
      total += f;
      lines.add(renderLine(r, phase, f));
    }
    double overall = renders.isEmpty() ? 0 : total / renders.size();
    String summary = summaryLine(counts, overall, elapsed, renders.size());
    if (redraw) {
      StringBuilder frame = new StringBuilder();
      if (linesDrawn > 0) {
        frame.append("\033[").append(linesDrawn).append('F');
      }
      for (String line : lines) {
        frame.append("\033[2K").append(line).append('\n');
      }
      frame.append("\033[2K").append(summary).append('\n');
      out.print(frame);
      out.flush();
      linesDrawn = lines.size() + 1;
    } else {
      String key = counts.toString();
      if (!key.equals(lastSummary)) {
        out.println(summary);
        lastSummary = key;
      }
    }
  }

  static Phase phaseOf(JsonNode render) {
    String status = render.path("status").asText("ACCEPTED");
    String stage = render.path("stage").asText("BASE");
    return switch (status) {
      case "SUCCEEDED" -> Phase.DONE;
      case "FAILED", "CANCELLED", "EXPIRED" -> Phase.FAILED;
      case "RENDERING" -> Phase.RENDERING;
      case "UPSCALING" -> Phase.UPSCALING;
      case "QUEUED" -> "UPSCALE".equalsIgnoreCase(stage) ? Phase.UPSCALING : Phase.QUEUED;
      default -> Phase.QUEUED;
    };
  }

  /** Fraction of the whole render done, over both stages. */
  static double fraction(JsonNode render) {
    String status = render.path("status").asText("ACCEPTED");
    double stageFraction = clamp(render.path("progress").path("fraction").asDouble(0));
    boolean upscaleFollows = !"none".equalsIgnoreCase(render.path("upscale").asText("1080p"));
    double baseShare = upscaleFollows ? BASE_SHARE : 1.0;
    return switch (status) {
      case "SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED" -> 1.0;
      case "RENDERING" -> baseShare * stageFraction;
      case "UPSCALING" -> baseShare + (1 - baseShare) * stageFraction;
      case "QUEUED" -> "UPSCALE".equalsIgnoreCase(render.path("stage").asText()) ? baseShare : 0;
      default -> 0;
    };
  }

  static String bar(double fraction) {
    int filled = (int) Math.round(clamp(fraction) * BAR_WIDTH);
    return "[" + "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled) + "]";
  }

  private static String renderLine(JsonNode r, Phase phase, double f) {
    String id = r.path("id").asText();
    String status = r.path("status").asText("ACCEPTED");
    String detail;
    JsonNode progress = r.path("progress");
    if (phase == Phase.QUEUED && r.hasNonNull("queuePosition")) {
      detail = "queue position " + r.path("queuePosition").asLong();
    } else if ((phase == Phase.RENDERING || phase == Phase.UPSCALING)
        && progress.hasNonNull("totalSteps")) {
      detail = "step " + progress.path("step").asInt() + "/" + progress.path("totalSteps").asInt();
    } else if (phase == Phase.FAILED && r.hasNonNull("error")) {
      detail =
          r.path("error").path("code").asText() + ": " + r.path("error").path("message").asText();
    } else {
      detail = "";
    }
    String label = r.path("prompt").asText("");
    if (label.length() > 28) {
      label = label.substring(0, 27) + "…";
    }
    return String.format(
        Locale.ROOT,
        "%-22s %s %3d%% %-10s %-28s %s",
        shorten(id, 22),
        bar(f),
        Math.round(f * 100),
        status,
        label,
        detail);
  }

  static String summaryLine(Map<Phase, Integer> counts, double overall, Duration elapsed, int n) {
    String eta = "--:--";
    if (overall > 0.02 && overall < 1.0) {
      long seconds = (long) (elapsed.toMillis() / 1000.0 * (1 - overall) / overall);
      eta = String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
    } else if (overall >= 1.0) {
      eta = "0:00";
    }
    return String.format(
        Locale.ROOT,
        "overall %s %3d%%  %d renders: queued %d, rendering %d, upscaling %d, done %d, failed %d"
            + "  elapsed %d:%02d  ETA %s",
        bar(overall),
        Math.round(overall * 100),
        n,
        counts.get(Phase.QUEUED),
        counts.get(Phase.RENDERING),
        counts.get(Phase.UPSCALING),
        counts.get(Phase.DONE),
        counts.get(Phase.FAILED),
        elapsed.toMinutes(),
        elapsed.toSecondsPart(),
        eta);
  }

  private static String shorten(String s, int max) {
    return s.length() <= max ? s : "…" + s.substring(s.length() - max + 1);
  }

  private static double clamp(double f) {
    return Double.isNaN(f) ? 0 : Math.max(0, Math.min(1, f));
  }
}
