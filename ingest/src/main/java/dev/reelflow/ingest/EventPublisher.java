package dev.reelflow.ingest;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Where accepted requests go. The Kafka implementation is {@link KafkaEventPublisher}; tests use an
 * in-memory double. {@link #send}, {@link #sendAll} and {@link Transaction#commit} return only
 * after the broker acknowledged every record, or throw {@link PublishException} and then nothing of
 * the transaction is visible to read_committed readers ({@link #sendAll}, {@link #begin}) or the
 * single record was not acknowledged ({@link #send}).
 */
interface EventPublisher extends AutoCloseable {

  /** One record, key and value; the value is an Avro record, raw bytes, or null (tombstone). */
  record Outgoing(String topic, String key, Object value) {}

  /**
   * One record, answered when the broker acknowledged it: the future completes normally, or
   * exceptionally with a {@link PublishException}. Lets a request thread go back to the pool
   * instead of parking until the acknowledgement (the single-POST path).
   */
  CompletableFuture<Void> sendAsync(Outgoing record);

  /** {@link #sendAsync}, waiting for the acknowledgement. */
  default void send(Outgoing record) throws PublishException {
    try {
      sendAsync(record).get();
    } catch (ExecutionException e) {
      throw cause(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PublishException("Interrupted while waiting for Kafka", e);
    }
  }

  /** The {@link PublishException} (or unchecked failure) inside a failed future's exception. */
  static PublishException cause(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof PublishException p) {
      return p;
    }
    if (c instanceof RuntimeException r) {
      throw r;
    }
    return new PublishException("Kafka did not acknowledge: " + c, c);
  }

  /**
   * Opens a Kafka transaction that records join one at a time, as they are ready: a batch's rows
   * are sent while later rows are still being validated, so Kafka's work overlaps ingest's. Nothing
   * becomes visible to read_committed readers before {@link Transaction#commit}.
   */
  Transaction begin() throws PublishException;

  /** All records in one Kafka transaction: every one or none becomes visible. */
  default void sendAll(List<Outgoing> records) throws PublishException {
    try (Transaction t = begin()) {
      for (Outgoing r : records) {
        t.send(r);
      }
      t.commit();
    }
  }

  /**
   * An open transaction. Closing one that was not committed aborts it; after a failed {@link #send}
   * or {@link #commit} it is already aborted. Used by one thread.
   */
  interface Transaction extends AutoCloseable {
    /** Hands the record to the producer; its acknowledgement is awaited by {@link #commit}. */
    void send(Outgoing record) throws PublishException;

    /** Returns once every record and the commit were acknowledged. */
    void commit() throws PublishException;

    @Override
    void close();
  }

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
