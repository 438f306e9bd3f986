package dev.reelflow.bench;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The progress display of a run: one line per step, and a bar redrawn in place for counted work
 * (tasks drained, repetitions). Writes to stderr so stdout stays for results.
 */
public final class Progress {
  private final PrintStream out;
  private final boolean enabled;
  private String suite = "";
  private long lastDraw;
  private long suiteStart = System.nanoTime();

  private Progress(PrintStream out, boolean enabled) {
    this.out = out;
    this.enabled = enabled;
  }

  /** Progress on the given stream (the command passes stderr). */
  public static Progress to(PrintStream out) {
    return new Progress(out, true);
  }

  /** No display (tests). */
  public static Progress silent() {
    return new Progress(System.err, false);
  }

  /** Names the suite the next lines belong to. */
  public void suite(String name) {
    this.suite = name;
    this.suiteStart = System.nanoTime();
    if (enabled) {
      out.printf(Locale.ROOT, "== %s%n", name);
    }
  }

  /** A step starts. */
  public void step(String what) {
    if (enabled) {
      out.printf(
          Locale.ROOT, "[%s +%.1fs] %s%n", suite, (System.nanoTime() - suiteStart) / 1e9, what);
    }
  }

  /** Counted work: done of total; redrawn at most every 200 ms and at the end. */
  public void bar(String what, long done, long total) {
    if (!enabled) {
      return;
    }
    long now = System.currentTimeMillis();
    if (done < total && now - lastDraw < 200) {
      return;
    }
    lastDraw = now;
    int width = 30;
    int filled = total <= 0 ? width : (int) Math.min(width, width * done / total);
    out.printf(
        Locale.ROOT,
        "\r[%s] %-28s [%s%s] %d/%d",
        suite,
        what,
        "#".repeat(filled),
        " ".repeat(width - filled),
        done,
        total);
    if (done >= total) {
      out.println();
    }
    out.flush();
  }
}
