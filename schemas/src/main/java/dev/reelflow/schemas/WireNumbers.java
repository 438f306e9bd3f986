package dev.reelflow.schemas;

import java.time.Instant;

/**
 * The range every {@code long} on ReelFlow's topics and in its JSON stays in (DESIGN §8, "Numbers
 * on the wire").
 *
 * <p>JavaScript numbers are IEEE doubles: integers beyond 2^53 − 1 cannot be held exactly. Avro
 * readers in JavaScript (avsc, and Confluent's {@code @confluentinc/schemaregistry} deserializer
 * built on it) refuse such a {@code long} by default ("potential precision loss"), so a single seed
 * above the limit made every status of its render unreadable to a Node consumer, and {@code
 * JSON.parse} silently rounds it. ReelFlow therefore chooses seeds in 0..2^53 − 1, refuses larger
 * ones from clients, and keeps every other long (timestamps, counters, sizes, versions) inside the
 * same range; the Avro docs of those fields say how.
 */
public final class WireNumbers {

  /** 2^53 − 1 = 9,007,199,254,740,991: JavaScript's {@code Number.MAX_SAFE_INTEGER}. */
  public static final long MAX_SAFE_INTEGER = (1L << 53) - 1;

  /** Seeds are in 0..{@value #MAX_SEED} (2^53 − 1). */
  public static final long MAX_SEED = MAX_SAFE_INTEGER;

  /**
   * The latest time ReelFlow accepts (deadlines): 9999-12-31T23:59:59.999Z, 253,402,300,799,999
   * milliseconds, far inside the safe range (which ends in the year 287,396).
   */
  public static final Instant MAX_TIME = Instant.parse("9999-12-31T23:59:59.999Z");

  private WireNumbers() {}

  /** Whether {@code v} is in −(2^53 − 1)..2^53 − 1, where every consumer reads it exactly. */
  public static boolean isSafe(long v) {
    return v >= -MAX_SAFE_INTEGER && v <= MAX_SAFE_INTEGER;
  }

  /** Whether {@code seed} is a seed ReelFlow accepts: 0..2^53 − 1. */
  public static boolean isValidSeed(long seed) {
    return seed >= 0 && seed <= MAX_SEED;
  }

  /**
   * A seed from 64 random (or hashed) bits: the low 53 bits, so 0..2^53 − 1 with the same
   * uniformity as the source bits.
   */
  public static long seedFromBits(long bits) {
    return bits & MAX_SEED;
  }

  /**
   * Why a seed is refused, for error messages: names the limit and the reason.
   *
   * @param got the refused value as the client wrote it (it may not fit a long)
   */
  public static String seedRangeMessage(String got) {
    return "must be in 0.."
        + MAX_SEED
        + " (2^53 - 1, the largest integer JavaScript holds exactly), got "
        + got;
  }
}
