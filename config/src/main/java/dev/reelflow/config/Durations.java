package dev.reelflow.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way durations are written in ReelFlow's settings: a whole number and a unit, {@code
 * 500ms}, {@code 30s}, {@code 10m}, {@code 2h}, {@code 1d} ({@code 0} alone is zero). ISO-8601
 * ({@code PT30S}), the form ingest used before, is still read; {@link #isOldForm(String)} tells the
 * loader to warn about it.
 */
public final class Durations {

  private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(ms|s|m|min|h|d)");

  private Durations() {}

  /**
   * Reads a duration.
   *
   * @throws IllegalArgumentException saying which forms are accepted
   */
  public static Duration parse(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = FORM.matcher(s);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m", "min" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    if (isOldForm(text)) {
      try {
        return Duration.parse(text.trim().toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException e) {
        // fall through to the message below
      }
    }
    throw new IllegalArgumentException(
        "a duration is a whole number and a unit (ms, s, m, h, d), e.g. 500ms or 30s");
  }

  /** Whether {@code text} is written in ISO-8601 ({@code PT30S}), the form read for one release. */
  public static boolean isOldForm(String text) {
    String s = text.trim().toUpperCase(Locale.ROOT);
    return s.startsWith("PT") || s.startsWith("P");
  }

  /** The shortest exact form of {@code d}: {@code 1500ms}, {@code 30s}, {@code 10m}, {@code 2h}. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms == 0) {
      return "0";
    }
    if (ms % 86_400_000L == 0) {
      return ms / 86_400_000L + "d";
    }
    if (ms % 3_600_000L == 0) {
      return ms / 3_600_000L + "h";
    }
    if (ms % 60_000L == 0) {
      return ms / 60_000L + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  /** Converts an old integer-milliseconds value ({@code 30000}) to the duration form. */
  public static String fromMillis(String millis) {
    try {
      return format(Duration.ofMillis(Long.parseLong(millis.trim())));
    } catch (NumberFormatException e) {
      return millis; // let the duration parser say what is wrong
    }
  }
}
