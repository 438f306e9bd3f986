package dev.reelflow.schemas.serde;

import dev.reelflow.schemas.serde.UnreadableRecordException.Reason;
import java.nio.ByteBuffer;

/**
 * The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the Avro
 * binary encoding of the value.
 */
public final class WireFormat {
  /** First byte of every framed value. */
  public static final byte MAGIC_BYTE = 0;

  /** Bytes before the Avro body. */
  public static final int HEADER_SIZE = 5;

  private WireFormat() {}

  /** Frames an Avro body with its schema id. */
  public static byte[] frame(int schemaId, byte[] avro) {
    return ByteBuffer.allocate(HEADER_SIZE + avro.length)
        .put(MAGIC_BYTE)
        .putInt(schemaId)
        .put(avro)
        .array();
  }

  /**
   * The schema id of a framed value.
   *
   * @throws UnreadableRecordException {@code BAD_MAGIC_BYTE} or {@code TRUNCATED}
   */
  public static int schemaId(byte[] framed) {
    if (framed == null || framed.length == 0) {
      throw new UnreadableRecordException(
          Reason.TRUNCATED, -1, "empty value: expected magic byte 0 and a 4-byte schema id");
    }
    if (framed[0] != MAGIC_BYTE) {
      throw new UnreadableRecordException(
          Reason.BAD_MAGIC_BYTE,
          -1,
          String.format(
              "first byte is 0x%02x, expected 0x00: not a Confluent wire-format Avro value",
              framed[0] & 0xff));
    }
    if (framed.length < HEADER_SIZE) {
      throw new UnreadableRecordException(
          Reason.TRUNCATED,
          -1,
          "value has " + framed.length + " bytes, shorter than the 5-byte header");
    }
    return ByteBuffer.wrap(framed, 1, 4).getInt();
  }
}
