package dev.reelflow.orchestrator;

import java.io.Serializable;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.BitSet;
import java.util.Locale;

/**
 * A cron expression evaluated in a time zone. Accepts Unix syntax (5 fields: minute hour
 * day-of-month month day-of-week, day-of-week 0-7 with 0 and 7 Sunday) and Quartz syntax (6 or 7
 * fields: second first, optional year last, day-of-week 1-7 with 1 Sunday, {@code ?}, {@code L},
 * {@code nL} and {@code n#k}). Lists, ranges, steps and names (JAN, MON) work in both. When both
 * day fields are restricted a day matching either one fires (the Unix rule).
 *
 * <p>Daylight saving: a local fire time that does not exist (the spring-forward gap) fires at the
 * same offset after the jump (02:30 becomes 03:30), as Vixie cron does; a local time that occurs
 * twice (fall back) fires once, at the first occurrence.
 *
 * <p>Ours, not a library's (ARCHITECTURE.md, decision 22): Quartz's and Spring's cron skip fire
 * times in the spring-forward gap and read no 5-field Unix form, and cron-utils has open
 * daylight-saving bugs; this one class is the only cron implementation.
 */
final class CronExpression implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final String[] MONTHS = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"
  };
  private static final String[] DAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

  private final String text;
  private final boolean quartz;
  private final BitSet seconds = new BitSet(60);
  private final BitSet minutes = new BitSet(60);
  private final BitSet hours = new BitSet(24);
  private final BitSet daysOfMonth = new BitSet(32);
  private final BitSet months = new BitSet(13);
  private final BitSet daysOfWeek = new BitSet(7); // 0 = Sunday
  private final BitSet years = new BitSet(); // offset from 1970; empty = every year
  private final BitSet lastDaysOfWeek = new BitSet(7); // "5L": last Friday
  private final int[][] nthDaysOfWeek = new int[7][]; // "6#3": third Friday
  private boolean lastDayOfMonth;
  private boolean domRestricted;
  private boolean dowRestricted;

  private CronExpression(String text) {
    this.text = text;
    String[] f = text.trim().split("\\s+");
    if (f.length < 5 || f.length > 7) {
      throw new CronFormatException(
          "cron '" + text + "' has " + f.length + " fields; expected 5 (Unix) or 6-7 (Quartz)");
    }
    quartz = f.length >= 6;
    int i = 0;
    if (quartz) {
      parse(f[i++], seconds, 0, 59, null, "second");
    } else {
      seconds.set(0);
    }
    parse(f[i++], minutes, 0, 59, null, "minute");
    parse(f[i++], hours, 0, 23, null, "hour");
    String dom = f[i++];
    String month = f[i++];
    String dow = f[i++];
    domRestricted = !(dom.equals("*") || dom.equals("?"));
    dowRestricted = !(dow.equals("*") || dow.equals("?"));
    if (dom.equalsIgnoreCase("L")) {
      lastDayOfMonth = true;
    } else {
      parse(dom, daysOfMonth, 1, 31, null, "day-of-month");
    }
    parse(month, months, 1, 12, MONTHS, "month");
    parseDaysOfWeek(dow);
    if (f.length == 7 && !f[6].equals("*") && !f[6].equals("?")) {
      BitSet y = new BitSet();
      parse(f[6], y, 1970, 2199, null, "year");
      for (int b = y.nextSetBit(0); b >= 0; b = y.nextSetBit(b + 1)) {
        years.set(b - 1970);
      }
    }
  }

  /**
   * @throws CronFormatException naming the field that cannot be read
   */
  static CronExpression parse(String text) {
    if (text == null || text.isBlank()) {
      throw new CronFormatException("cron expression is empty");
    }
    return new CronExpression(text);
  }

  @Override
  public String toString() {
    return text;
  }

  /**
   * The first fire time strictly after {@code after} in {@code zone}, or null when none within
   * eight years (e.g. 30 February, or a past year).
   */
  Instant next(Instant after, ZoneId zone) {
    // Scan local times from a little before 'after' (a gap shift can move a local time up to a
    // few hours later) and keep the earliest instant after it.
    LocalDateTime scan = LocalDateTime.ofInstant(after, zone).minusHours(3).withNano(0);
    Instant best = null;
    LocalDateTime stopAt = null;
    LocalDate day = scan.toLocalDate();
    LocalDate lastDay = day.plusYears(8);
    boolean firstDay = true;
    while (!day.isAfter(lastDay)) {
      if (stopAt != null && day.isAfter(stopAt.toLocalDate())) {
        break;
      }
      if (dayMatches(day)) {
        LocalTime from = firstDay ? scan.toLocalTime() : LocalTime.MIDNIGHT;
        for (int h = hours.nextSetBit(from.getHour()); h >= 0; h = hours.nextSetBit(h + 1)) {
          int m0 = (firstDay && h == from.getHour()) ? from.getMinute() : 0;
          for (int m = minutes.nextSetBit(m0); m >= 0; m = minutes.nextSetBit(m + 1)) {
            int s0 =
                (firstDay && h == from.getHour() && m == from.getMinute()) ? from.getSecond() : 0;
            for (int s = seconds.nextSetBit(s0); s >= 0; s = seconds.nextSetBit(s + 1)) {
              LocalDateTime local = LocalDateTime.of(day, LocalTime.of(h, m, s));
              if (stopAt != null && local.isAfter(stopAt)) {
                return best;
              }
              Instant at = ZonedDateTime.ofLocal(local, zone, null).toInstant();
              if (at.isAfter(after)) {
                if (best == null || at.isBefore(best)) {
                  best = at;
                }
                if (stopAt == null) {
                  stopAt = local.plusHours(3);
                }
              }
            }
          }
        }
      }
      firstDay = false;
      day = day.plusDays(1);
    }
    return best;
  }

  private boolean dayMatches(LocalDate d) {
    if (!years.isEmpty() && !years.get(d.getYear() - 1970)) {
      return false;
    }
    if (!months.get(d.getMonthValue())) {
      return false;
    }
    boolean dom =
        lastDayOfMonth
            ? d.getDayOfMonth() == d.lengthOfMonth()
            : daysOfMonth.get(d.getDayOfMonth());
    int w = d.getDayOfWeek() == DayOfWeek.SUNDAY ? 0 : d.getDayOfWeek().getValue();
    boolean dow = daysOfWeek.get(w);
    if (lastDaysOfWeek.get(w) && d.getDayOfMonth() > d.lengthOfMonth() - 7) {
      dow = true;
    }
    if (nthDaysOfWeek[w] != null) {
      int nth = (d.getDayOfMonth() - 1) / 7 + 1;
      for (int n : nthDaysOfWeek[w]) {
        if (n == nth) {
          dow = true;
        }
      }
    }
    if (domRestricted && dowRestricted) {
      return dom || dow;
    }
    if (domRestricted) {
      return dom;
    }
    if (dowRestricted) {
      return dow;
    }
    return true;
  }

  private void parseDaysOfWeek(String field) {
    if (field.equals("*") || field.equals("?")) {
      daysOfWeek.set(0, 7);
      return;
    }
    for (String item : field.split(",")) {
      String u = item.toUpperCase(Locale.ROOT);
      if (u.contains("#")) {
        String[] p = u.split("#");
        int d = dayOfWeek(p[0], field);
        int n = number(p[1], 1, 5, "day-of-week", field);
        int[] old = nthDaysOfWeek[d] == null ? new int[0] : nthDaysOfWeek[d];
        int[] nu = java.util.Arrays.copyOf(old, old.length + 1);
        nu[old.length] = n;
        nthDaysOfWeek[d] = nu;
      } else if (u.endsWith("L") && u.length() > 1) {
        lastDaysOfWeek.set(dayOfWeek(u.substring(0, u.length() - 1), field));
      } else {
        BitSet raw = new BitSet();
        int lo = quartz ? 1 : 0;
        int hi = 7;
        parse(u.equals("L") ? "7" : u, raw, lo, hi, DAYS, "day-of-week");
        for (int b = raw.nextSetBit(0); b >= 0; b = raw.nextSetBit(b + 1)) {
          daysOfWeek.set(quartz ? b - 1 : b % 7);
        }
      }
    }
  }

  private int dayOfWeek(String token, String field) {
    for (int i = 0; i < DAYS.length; i++) {
      if (DAYS[i].equals(token)) {
        return i;
      }
    }
    int n = number(token, quartz ? 1 : 0, 7, "day-of-week", field);
    return quartz ? n - 1 : n % 7;
  }

  private void parse(String field, BitSet bits, int min, int max, String[] names, String what) {
    for (String item : field.split(",")) {
      String u = item.toUpperCase(Locale.ROOT);
      if (u.contains("W") && !isName(u, names)) {
        throw new CronFormatException(
            "cron '"
                + text
                + "': 'W' (nearest weekday) in the "
                + what
                + " field is not supported");
      }
      int step = 1;
      int slash = u.indexOf('/');
      if (slash >= 0) {
        step = number(u.substring(slash + 1), 1, max, what, field);
        u = u.substring(0, slash);
      }
      int lo;
      int hi;
      if (u.equals("*") || u.equals("?")) {
        lo = min;
        hi = max;
      } else if (u.contains("-")) {
        String[] p = u.split("-", 2);
        lo = value(p[0], min, max, names, what, field);
        hi = value(p[1], min, max, names, what, field);
      } else {
        lo = value(u, min, max, names, what, field);
        hi = slash >= 0 ? max : lo;
      }
      if (lo > hi) {
        throw new CronFormatException(
            "cron '" + text + "': range " + item + " in the " + what + " field runs backwards");
      }
      for (int v = lo; v <= hi; v += step) {
        bits.set(v);
      }
    }
  }

  private static boolean isName(String token, String[] names) {
    if (names == null) {
      return false;
    }
    for (String n : names) {
      if (token.contains(n)) {
        return true;
      }
    }
    return false;
  }

  private int value(String token, int min, int max, String[] names, String what, String field) {
    if (names != null) {
      for (int i = 0; i < names.length; i++) {
        if (names[i].equals(token)) {
          // Months are 1-based; days are 0-based in Unix syntax and 1-based in Quartz.
          return names == MONTHS ? i + 1 : (quartz ? i + 1 : i);
        }
      }
    }
    return number(token, min, max, what, field);
  }

  private int number(String token, int min, int max, String what, String field) {
    try {
      int v = Integer.parseInt(token);
      if (v < min || v > max) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new CronFormatException(
          "cron '"
              + text
              + "': '"
              + field
              + "' is not a valid "
              + what
              + " field (values "
              + min
              + "-"
              + max
              + ")");
    }
  }
}
