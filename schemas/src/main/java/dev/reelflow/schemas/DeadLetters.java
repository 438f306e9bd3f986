package dev.reelflow.schemas;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.serde.UnreadableRecordException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Builds the {@link DeadLetter} records of render.dlq and their reason headers, the same way in the
 * orchestrator, the workers and ingest.
 *
 * <p>The reason is {@code <CODE>: <message>}, where CODE is the {@link
 * UnreadableRecordException.Reason} for unreadable values and the error's simple class name
 * otherwise. The headers {@value #HEADER_REASON}, {@value #HEADER_ERROR_CLASS} and {@value
 * #HEADER_SOURCE_TOPIC} repeat it so tools can filter without decoding the value.
 */
public final class DeadLetters {
  public static final String HEADER_REASON = "reelflow.dlq.reason";
  public static final String HEADER_ERROR_CLASS = "reelflow.dlq.error-class";
  public static final String HEADER_SOURCE_TOPIC = "reelflow.dlq.source-topic";
  public static final String HEADER_SOURCE_PARTITION = "reelflow.dlq.source-partition";
  public static final String HEADER_SOURCE_OFFSET = "reelflow.dlq.source-offset";
  public static final String HEADER_COMPONENT = "reelflow.dlq.component";

  /** Reasons longer than this are cut, so a huge stack message cannot bloat the DLQ. */
  static final int MAX_REASON_CHARS = 2_000;

  private DeadLetters() {}

  public static Builder builder() {
    return new Builder();
  }

  /** A dead letter for a record read from Kafka as raw bytes. */
  public static DeadLetter of(
      ConsumerRecord<?, byte[]> record, Throwable error, String component, Instant at) {
    Object key = record.key();
    String textKey =
        key == null
            ? null
            : key instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : key.toString();
    return builder()
        .sourceTopic(record.topic())
        .partition(record.partition())
        .offset(record.offset())
        .key(textKey)
        .value(record.value())
        .error(error)
        .component(component)
        .at(at)
        .build();
  }

  /**
   * A dead letter for a record the Kafka consumer could not deserialize. The consumer stops at that
   * record: after dead-lettering it, {@code seek(e.topicPartition(), e.offset() + 1)}. The cause
   * (typically an {@code UnreadableRecordException}) gives the reason.
   */
  public static DeadLetter of(RecordDeserializationException e, String component, Instant at) {
    return builder()
        .sourceTopic(e.topicPartition().topic())
        .partition(e.topicPartition().partition())
        .offset(e.offset())
        .key(e.keyBuffer() == null ? null : utf8(e.keyBuffer()))
        .value(e.valueBuffer() == null ? null : bytes(e.valueBuffer()))
        .error(e.getCause() != null ? e.getCause() : e)
        .component(component)
        .at(at)
        .build();
  }

  private static String utf8(ByteBuffer buffer) {
    return StandardCharsets.UTF_8.decode(buffer.duplicate()).toString();
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] b = new byte[buffer.remaining()];
    buffer.duplicate().get(b);
    return b;
  }

  /** {@code <CODE>: <message>} for an error (see the class comment). */
  public static String reason(Throwable error) {
    if (error == null) {
      return "UNKNOWN: no error given";
    }
    String code =
        error instanceof UnreadableRecordException u
            ? u.reason().name()
            : error.getClass().getSimpleName();
    String message = error.getMessage() == null ? "" : error.getMessage();
    if (error instanceof UnreadableRecordException u) {
      String prefix = u.reason().name() + ": ";
      message = message.startsWith(prefix) ? message.substring(prefix.length()) : message;
    }
    String reason = code + ": " + message;
    return reason.length() > MAX_REASON_CHARS ? reason.substring(0, MAX_REASON_CHARS) : reason;
  }

  /** The reason headers of a dead letter, as strings, in a stable order. */
  public static Map<String, String> headerValues(DeadLetter letter) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put(HEADER_REASON, letter.getReason());
    h.put(HEADER_ERROR_CLASS, letter.getErrorClass());
    h.put(HEADER_SOURCE_TOPIC, letter.getSourceTopic());
    h.put(HEADER_SOURCE_PARTITION, Integer.toString(letter.getPartition()));
    h.put(HEADER_SOURCE_OFFSET, Long.toString(letter.getOffset()));
    h.put(HEADER_COMPONENT, letter.getComponent());
    return h;
  }

  /** The reason headers of a dead letter as Kafka headers (UTF-8 values). */
  public static List<Header> headers(DeadLetter letter) {
    List<Header> out = new ArrayList<>();
    headerValues(letter)
        .forEach((k, v) -> out.add(new RecordHeader(k, v.getBytes(StandardCharsets.UTF_8))));
    return out;
  }

  /** A record for render.dlq, keyed like the source record, with the reason headers. */
  public static ProducerRecord<String, DeadLetter> producerRecord(DeadLetter letter) {
    return new ProducerRecord<>(Topics.DLQ, null, letter.getKey(), letter, headers(letter));
  }

  /** Builder of a {@link DeadLetter}; {@code sourceTopic}, {@code error}, {@code at} required. */
  public static final class Builder {
    private String sourceTopic;
    private int partition = -1;
    private long offset = -1;
    private String key;
    private byte[] value;
    private Throwable error;
    private String errorClass;
    private String reason;
    private String component = "";
    private String requestId;
    private Instant at;

    private Builder() {}

    public Builder sourceTopic(String sourceTopic) {
      this.sourceTopic = sourceTopic;
      return this;
    }

    public Builder partition(int partition) {
      this.partition = partition;
      return this;
    }

    public Builder offset(long offset) {
      this.offset = offset;
      return this;
    }

    public Builder key(String key) {
      this.key = key;
      return this;
    }

    /** Raw value bytes as read (copied). */
    public Builder value(byte[] value) {
      this.value = value == null ? null : value.clone();
      return this;
    }

    /** The error that rejected the record; sets errorClass and reason. */
    public Builder error(Throwable error) {
      this.error = error;
      return this;
    }

    /** A reason without an exception (e.g. retries exhausted); {@code code} names the kind. */
    public Builder reason(String code, String message) {
      this.errorClass = code;
      this.reason = code + ": " + message;
      return this;
    }

    /** orchestrator, worker, ingest, ... */
    public Builder component(String component) {
      this.component = component == null ? "" : component;
      return this;
    }

    public Builder requestId(String requestId) {
      this.requestId = requestId;
      return this;
    }

    public Builder at(Instant at) {
      this.at = at;
      return this;
    }

    public DeadLetter build() {
      if (sourceTopic == null || sourceTopic.isBlank()) {
        throw new IllegalArgumentException("sourceTopic is required");
      }
      if (error == null && reason == null) {
        throw new IllegalArgumentException("error(..) or reason(..) is required");
      }
      if (at == null) {
        throw new IllegalArgumentException("at is required");
      }
      return DeadLetter.newBuilder()
          .setSourceTopic(sourceTopic)
          .setPartition(partition)
          .setOffset(offset)
          .setKey(key)
          .setValue(value == null ? null : ByteBuffer.wrap(value))
          .setErrorClass(error != null ? error.getClass().getName() : errorClass)
          .setReason(error != null ? DeadLetters.reason(error) : reason)
          .setComponent(component)
          .setRequestId(requestId)
          .setAt(at)
          .build();
    }
  }
}
