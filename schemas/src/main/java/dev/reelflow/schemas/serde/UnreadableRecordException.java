package dev.reelflow.schemas.serde;

import org.apache.kafka.common.errors.SerializationException;

/**
 * A record value that cannot be read, whatever is retried: route it to render.dlq (see {@code
 * DeadLetters}) and go on. Registry outages are not reported this way (they raise {@code
 * SchemaRegistryException} with {@code isRetriable()}), so a reader never dead-letters a good
 * record because the registry was down.
 */
public class UnreadableRecordException extends SerializationException {
  private static final long serialVersionUID = 1L;

  /** Why the record cannot be read. */
  public enum Reason {
    /** The first byte is not the Confluent wire format's magic byte 0. */
    BAD_MAGIC_BYTE,
    /** The schema id in the header is not known to the registry. */
    UNKNOWN_SCHEMA_ID,
    /** The bytes end before the header or the Avro body is complete. */
    TRUNCATED,
    /** The writer schema cannot be resolved to the reader's schema. */
    INCOMPATIBLE_SCHEMA,
    /** The Avro body does not decode under its writer schema. */
    CORRUPT
  }

  private final Reason reason;
  private final int schemaId;

  public UnreadableRecordException(Reason reason, int schemaId, String message, Throwable cause) {
    super(reason + ": " + message, cause);
    this.reason = reason;
    this.schemaId = schemaId;
  }

  public UnreadableRecordException(Reason reason, int schemaId, String message) {
    this(reason, schemaId, message, null);
  }

  public Reason reason() {
    return reason;
  }

  /** Schema id read from the header, or -1 when the header itself was unreadable. */
  public int schemaId() {
    return schemaId;
  }
}
