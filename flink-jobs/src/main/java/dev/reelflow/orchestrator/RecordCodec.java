package dev.reelflow.orchestrator;

import java.io.Serializable;
import org.apache.avro.specific.SpecificRecord;

/**
 * Turns Kafka record values into Avro records and back (Confluent wire format through the schema
 * registry in production). Instances are serialized into the job graph; {@link #open()} runs once
 * per parallel task before the first use.
 */
public interface RecordCodec extends Serializable {

  /** Prepares clients (registry connection, caches). */
  default void open() throws Exception {}

  /**
   * Decodes a value read from {@code topic}.
   *
   * @throws Exception when the bytes are not a readable record (the caller dead-letters them)
   */
  SpecificRecord decode(String topic, byte[] value) throws Exception;

  /** Encodes a value to be written to {@code topic}. */
  byte[] encode(String topic, SpecificRecord value) throws Exception;
}
