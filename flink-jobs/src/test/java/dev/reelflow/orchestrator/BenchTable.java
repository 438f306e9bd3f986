package dev.reelflow.orchestrator;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The figures of a benchmark as a two-column table: each row is printed when it is measured and the
 * whole table again at the end, so the figures are not lost among the services' logs.
 */
final class BenchTable {
  private final List<String[]> rows = new ArrayList<>();

  void row(String what, String figure) {
    rows.add(new String[] {what, figure});
    System.out.println(what + ": " + figure);
  }

  void print() {
    int w = rows.stream().mapToInt(r -> r[0].length()).max().orElse(10);
    for (String[] r : rows) {
      System.out.printf(Locale.ROOT, "| %-" + w + "s | %s |%n", r[0], r[1]);
    }
  }

  /** The p-quantile (nearest rank) of a sorted list; -1 when empty. */
  static long pct(List<Long> sorted, double p) {
    if (sorted.isEmpty()) {
      return -1;
    }
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
  }

  static long max(List<Long> sorted) {
    return sorted.isEmpty() ? -1 : sorted.get(sorted.size() - 1);
  }
}
