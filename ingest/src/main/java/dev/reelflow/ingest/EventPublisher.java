package dev.reelflow.ingest;

import java.time.Duration;
import java.util.List;

/**
 * Where accepted requests go. The Kafka implementation is {@link KafkaEventPublisher}; tests use an
 * in-memory double. Both methods return only after the broker acknowledged every record, or throw
 * {@link PublishException} and then nothing of the call is visible to read_committed readers
 * ({@link #sendAll}) or the single record was not acknowledged ({@link #send}).
 */
interface EventPublisher extends AutoCloseable {

  /** One record, key and value; the value is an Avro record, raw bytes, or null (tombstone). */
  record Outgoing(String topic, String key, Object value) {}

  void send(Outgoing record) throws PublishException;

  /** All records in one Kafka transaction: every one or none becomes visible. */
  void sendAll(List<Outgoing> records) throws PublishException;

  /** True when the cluster answered within the timeout. */
  boolean reachable(Duration timeout);

  @Override
  void close();

  /** Kafka did not acknowledge in time or refused: the client should retry later (503). */
  final class PublishException extends Exception {
    PublishException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
