package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import org.junit.jupiter.api.Test;

class CronExpressionTest {
  static final ZoneId NY = ZoneId.of("America/New_York");
  static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

  private static Instant next(String cron, String after, ZoneId zone) {
    return CronExpression.parse(cron).next(Instant.parse(after), zone);
  }

  @Test
  void unixWeekdayBusinessHoursInAZone() {
    // Friday 2026-11-27 17:50 Berlin (16:50Z) -> Monday 09:00 Berlin (08:00Z)
    assertThat(next("*/15 9-17 * * MON-FRI", "2026-11-27T16:50:00Z", BERLIN))
        .isEqualTo(Instant.parse("2026-11-30T08:00:00Z"));
    assertThat(next("*/15 9-17 * * 1-5", "2026-11-27T08:05:00Z", BERLIN))
        .isEqualTo(Instant.parse("2026-11-27T08:15:00Z"));
  }

  @Test
  void zoneShiftsTheFireTime() {
    assertThat(next("0 9 * * *", "2026-06-01T00:00:00Z", ZoneId.of("Asia/Tokyo")))
        .isEqualTo(Instant.parse("2026-06-02T00:00:00Z"));
    assertThat(next("0 9 * * *", "2026-06-01T00:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(Instant.parse("2026-06-01T09:00:00Z"));
  }

  @Test
  void springForwardGapFiresRightAfterTheJump() {
    // 2026-03-08 02:30 does not exist in New York: it fires at 03:30 EDT (07:30Z).
    assertThat(next("0 30 2 * * ?", "2026-03-08T05:00:00Z", NY))
        .isEqualTo(Instant.parse("2026-03-08T07:30:00Z"));
    // The day after, back to 02:30 EST... now EDT: 06:30Z.
    assertThat(next("0 30 2 * * ?", "2026-03-08T07:30:00Z", NY))
        .isEqualTo(Instant.parse("2026-03-09T06:30:00Z"));
  }

  @Test
  void fallBackOverlapFiresOnce() {
    // 2026-11-01 01:30 happens twice in New York (EDT 05:30Z, then EST 06:30Z): fire once.
    Instant first = next("30 1 * * *", "2026-11-01T04:00:00Z", NY);
    assertThat(first).isEqualTo(Instant.parse("2026-11-01T05:30:00Z"));
    assertThat(CronExpression.parse("30 1 * * *").next(first, NY))
        .isEqualTo(Instant.parse("2026-11-02T06:30:00Z"));
  }

  @Test
  void everyFireTimeIsStrictlyLaterAcrossADstYear() {
    CronExpression c = CronExpression.parse("0 0 */3 * * ?");
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    int n = 0;
    while (t.isBefore(Instant.parse("2027-01-01T00:00:00Z"))) {
      Instant next = c.next(t, BERLIN);
      assertThat(next).isAfter(t);
      assertThat(
              ZonedDateTime.ofInstant(next, BERLIN).getHour() % 3 == 0
                  || ZonedDateTime.ofInstant(next, BERLIN).getHour() == 3)
          .isTrue();
      t = next;
      n++;
    }
    // 8 fires a day, minus the one lost to the repeated hour in October (02:00 fires once).
    assertThat(n).isBetween(365 * 8 - 2, 365 * 8 + 2);
  }

  @Test
  void quartzSpecials() {
    // Last day of February in a leap year.
    assertThat(next("0 0 12 L * ?", "2028-02-01T00:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(Instant.parse("2028-02-29T12:00:00Z"));
    // Third Friday (Quartz: 6 = Friday).
    assertThat(next("0 0 9 ? * 6#3", "2026-11-01T00:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(Instant.parse("2026-11-20T09:00:00Z"));
    // Last Friday.
    assertThat(next("0 0 9 ? * 6L", "2026-11-01T00:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(Instant.parse("2026-11-27T09:00:00Z"));
    // Seconds and a year field.
    assertThat(next("15 0 0 1 JAN ? 2030", "2026-11-01T00:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(Instant.parse("2030-01-01T00:00:15Z"));
    assertThat(next("0 0 0 1 1 ? 2020", "2026-11-01T00:00:00Z", ZoneId.of("UTC"))).isNull();
  }

  @Test
  void unixDayFieldsCombineWithOr() {
    // Friday or the 13th: after Thu 2026-11-12 the next is Fri 13th; after that Fri 20th.
    assertThat(next("0 9 13 * 5", "2026-11-12T10:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(Instant.parse("2026-11-13T09:00:00Z"));
    assertThat(next("0 9 13 * 5", "2026-11-13T10:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(Instant.parse("2026-11-20T09:00:00Z"));
    // 7 is Sunday in Unix syntax, as is 0.
    assertThat(next("0 9 * * 7", "2026-11-25T00:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(next("0 9 * * 0", "2026-11-25T00:00:00Z", ZoneId.of("UTC")))
        .isEqualTo(Instant.parse("2026-11-29T09:00:00Z"));
  }

  @Test
  void badExpressionsNameTheField() {
    assertThatThrownBy(() -> CronExpression.parse("61 * * * *"))
        .isInstanceOf(CronFormatException.class)
        .hasMessageContaining("minute");
    assertThatThrownBy(() -> CronExpression.parse("* * *"))
        .isInstanceOf(CronFormatException.class)
        .hasMessageContaining("3 fields");
    assertThatThrownBy(() -> CronExpression.parse("0 0 12 15W * ?"))
        .isInstanceOf(CronFormatException.class)
        .hasMessageContaining("not supported");
  }
}
