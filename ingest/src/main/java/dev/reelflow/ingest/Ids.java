package dev.reelflow.ingest;

import dev.reelflow.schemas.WireNumbers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/** Render, batch and schedule ids: random, or derived from a tenant and an Idempotency-Key. */
final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

  private Ids() {}

  static String randomToken(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** {@code prefix-} + 20 lower-case base32 characters (100 random bits). */
  static String random(String prefix) {
    byte[] b = new byte[13];
    RANDOM.nextBytes(b);
    return prefix + "-" + base32(b, 20);
  }

  /** The same tenant and key always give the same id, on every ingest instance. */
  static String derived(String prefix, String tenant, String idempotencyKey) {
    return prefix + "-" + base32(sha256(tenant + "\n" + idempotencyKey), 26);
  }

  /** Row ids sort in row order within a batch: {@code b-xxx-000017}. */
  static String batchRow(String batchId, int row) {
    // Hand-formatted: String.format was the largest single cost of a 10,000-row batch.
    String digits = Integer.toString(row);
    StringBuilder sb = new StringBuilder(batchId.length() + 1 + Math.max(6, digits.length()));
    sb.append(batchId).append('-');
    for (int pad = digits.length(); pad < 6; pad++) {
      sb.append('0');
    }
    return sb.append(digits).toString();
  }

  /** A random seed in 0..2^53 − 2 (every consumer reads it exactly: {@link WireNumbers}). */
  static long randomSeed() {
    return WireNumbers.seedFromBits(RANDOM.nextLong());
  }

  /**
   * A seed in 0..2^53 − 2 derived from a string, for renders whose id is deterministic ({@link
   * WireNumbers}).
   */
  static long derivedSeed(String from) {
    return WireNumbers.seedFromBits(ByteBuffer.wrap(sha256("seed\n" + from)).getLong());
  }

  static byte[] sha256(String s) {
    return sha256(s.getBytes(StandardCharsets.UTF_8));
  }

  /** One digest per thread: the provider look-up of getInstance costs more than a short hash. */
  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("SHA-256 is missing from this JVM", e);
            }
          });

  static byte[] sha256(byte[] b) {
    MessageDigest d = SHA256.get();
    d.reset();
    return d.digest(b);
  }

  static String sha256Hex(byte[] b) {
    return HexFormat.of().formatHex(sha256(b));
  }

  private static String base32(byte[] bytes, int chars) {
    StringBuilder sb = new StringBuilder(chars);
    int buffer = 0;
    int bits = 0;
    int i = 0;
    while (sb.length() < chars) {
      if (bits < 5) {
        buffer = (buffer << 8) | (bytes[i++ % bytes.length] & 0xff);
        bits += 8;
      }
      sb.append(BASE32[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
    return sb.toString();
  }
}
