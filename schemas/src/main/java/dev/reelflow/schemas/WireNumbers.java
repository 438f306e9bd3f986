package dev.reelflow.schemas;

import java.time.Instant;

/**
 * The range every {@code long} on ReelFlow's topics and in its JSON stays in (ARCHITECTURE.md,
 * decision 15): at most 2^53 − 2 in magnitude.
 *
 * <p>JavaScript numbers are IEEE doubles: integers beyond 2^53 − 1 ({@code
 * Number.MAX_SAFE_INTEGER}) cannot be held exactly, and {@code JSON.parse} silently rounds them.
 * Avro readers in JavaScript are stricter still: avsc, the Avro library under Confluent's {@code
 * AvroDeserializer} ({@code @confluentinc/schemaregistry}), refuses with "potential precision loss"
 * any long whose magnitude exceeds 2^53 − 2 (it keeps one below {@code MAX_SAFE_INTEGER} against
 * rounding in its decoder); measured: a render with seed 2^53 − 1 made every status, request and
 * task of it unreadable to a Node consumer with default settings. So ReelFlow chooses seeds in
 * 0..2^53 − 2, refuses larger ones from clients (HTTP 422 naming the field and this limit), and
 * keeps every other long (timestamps, counters, sizes, versions) inside the same range; the Avro
 * docs of those fields say how.
 */
public final class WireNumbers {

  /**
   * 2^53 − 2 = 9,007,199,254,740,990: the largest magnitude of a long on the wire, the largest avsc
   * reads (one below JavaScript's {@code Number.MAX_SAFE_INTEGER}).
   */
  public static final long MAX_LONG = (1L << 53) - 2;

  /** Seeds are in 0..{@value #MAX_SEED} (2^53 − 2). */
  public static final long MAX_SEED = MAX_LONG;

  /**
   * The latest time ReelFlow accepts (deadlines): 9999-12-31T23:59:59.999Z, 253,402,300,799,999
   * milliseconds, far inside the range (which ends in the year 287,396).
   */
  public static final Instant MAX_TIME = Instant.parse("9999-12-31T23:59:59.999Z");

  private WireNumbers() {}

  /** Whether {@code v} is in −(2^53 − 2)..2^53 − 2, where every consumer reads it exactly. */
  public static boolean isSafe(long v) {
    return v >= -MAX_LONG && v <= MAX_LONG;
  }

  /** Whether {@code seed} is a seed ReelFlow accepts: 0..2^53 − 2. */
  public static boolean isValidSeed(long seed) {
    return seed >= 0 && seed <= MAX_SEED;
  }

  /**
   * A seed in 0..2^53 − 2 from 64 random (or hashed) bits: their unsigned remainder, near-uniform
   * (2^64 = 2048 (2^53 − 1) + 2048, so only seeds 0..2047 are a 2048th more likely).
   */
  public static long seedFromBits(long bits) {
    return Long.remainderUnsigned(bits, MAX_SEED + 1);
  }

  /**
   * Why a seed is refused, for error messages: names the limit and the reason.
   *
   * @param got the refused value as the client wrote it (it may not fit a long)
   */
  public static String seedRangeMessage(String got) {
    return "must be in 0.."
        + MAX_SEED
        + " (2^53 - 2, the largest integer JavaScript's JSON and Avro readers hold exactly), got "
        + got;
  }
}
