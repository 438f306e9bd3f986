package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.serde.UnreadableRecordException;
import dev.reelflow.schemas.serde.UnreadableRecordException.Reason;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class DeadLettersTest {
  private static final Instant AT = Instant.parse("2026-11-25T12:00:00Z");

  @Test
  void fromAConsumerRecordAndAnUnreadableValue() {
    byte[] raw = {7, 1, 2};
    ConsumerRecord<byte[], byte[]> record =
        new ConsumerRecord<>(
            "render.requests", 4, 1234L, "r-42".getBytes(StandardCharsets.UTF_8), raw);
    UnreadableRecordException error =
        new UnreadableRecordException(Reason.BAD_MAGIC_BYTE, -1, "first byte is 0x07");
    DeadLetter letter = DeadLetters.of(record, error, "orchestrator", AT);

    assertThat(letter.getSourceTopic()).isEqualTo("render.requests");
    assertThat(letter.getPartition()).isEqualTo(4);
    assertThat(letter.getOffset()).isEqualTo(1234L);
    assertThat(letter.getKey()).isEqualTo("r-42");
    assertThat(letter.getValue().array()).containsExactly(7, 1, 2);
    assertThat(letter.getErrorClass()).isEqualTo(UnreadableRecordException.class.getName());
    assertThat(letter.getReason()).isEqualTo("BAD_MAGIC_BYTE: first byte is 0x07");
    assertThat(letter.getComponent()).isEqualTo("orchestrator");
    assertThat(letter.getAt()).isEqualTo(AT);
    raw[0] = 9;
    assertThat(letter.getValue().array()[0]).as("value is copied").isEqualTo((byte) 7);
  }

  @Test
  void fromAKafkaDeserializationFailure() {
    UnreadableRecordException cause =
        new UnreadableRecordException(Reason.UNKNOWN_SCHEMA_ID, 77, "schema id 77 is not known");
    RecordDeserializationException e =
        new RecordDeserializationException(
            RecordDeserializationException.DeserializationExceptionOrigin.VALUE,
            new TopicPartition("render.stage-events", 2),
            55L,
            0L,
            TimestampType.CREATE_TIME,
            ByteBuffer.wrap("r-9".getBytes(StandardCharsets.UTF_8)),
            ByteBuffer.wrap(new byte[] {0, 0, 0, 0, 77, 1}),
            new RecordHeaders(),
            "Error deserializing VALUE",
            cause);
    DeadLetter letter = DeadLetters.of(e, "orchestrator", AT);
    assertThat(letter.getSourceTopic()).isEqualTo("render.stage-events");
    assertThat(letter.getPartition()).isEqualTo(2);
    assertThat(letter.getOffset()).isEqualTo(55L);
    assertThat(letter.getKey()).isEqualTo("r-9");
    assertThat(letter.getValue().array()).containsExactly(0, 0, 0, 0, 77, 1);
    assertThat(letter.getReason()).isEqualTo("UNKNOWN_SCHEMA_ID: schema id 77 is not known");
    assertThat(letter.getErrorClass()).isEqualTo(UnreadableRecordException.class.getName());
  }

  @Test
  void headersRepeatTheReason() {
    DeadLetter letter =
        DeadLetters.builder()
            .sourceTopic("render.stage-events")
            .key("r-1")
            .error(new IllegalStateException("lease fenced"))
            .component("worker")
            .requestId("r-1")
            .at(AT)
            .build();
    assertThat(DeadLetters.headerValues(letter))
        .containsEntry(DeadLetters.HEADER_REASON, "IllegalStateException: lease fenced")
        .containsEntry(DeadLetters.HEADER_ERROR_CLASS, "java.lang.IllegalStateException")
        .containsEntry(DeadLetters.HEADER_SOURCE_TOPIC, "render.stage-events")
        .containsEntry(DeadLetters.HEADER_COMPONENT, "worker");
    ProducerRecord<String, DeadLetter> out = DeadLetters.producerRecord(letter);
    assertThat(out.topic()).isEqualTo("render.dlq");
    assertThat(out.key()).isEqualTo("r-1");
    List<String> headerKeys =
        java.util.Arrays.stream(out.headers().toArray()).map(Header::key).toList();
    assertThat(headerKeys)
        .containsExactly(
            DeadLetters.HEADER_REASON,
            DeadLetters.HEADER_ERROR_CLASS,
            DeadLetters.HEADER_SOURCE_TOPIC,
            DeadLetters.HEADER_SOURCE_PARTITION,
            DeadLetters.HEADER_SOURCE_OFFSET,
            DeadLetters.HEADER_COMPONENT);
    assertThat(
            new String(
                out.headers().lastHeader(DeadLetters.HEADER_REASON).value(),
                StandardCharsets.UTF_8))
        .isEqualTo("IllegalStateException: lease fenced");
  }

  @Test
  void reasonWithoutAnExceptionAndLimits() {
    DeadLetter letter =
        DeadLetters.builder()
            .sourceTopic("render.tasks.base")
            .reason("RETRIES_EXHAUSTED", "3 attempts failed")
            .at(AT)
            .build();
    assertThat(letter.getReason()).isEqualTo("RETRIES_EXHAUSTED: 3 attempts failed");
    assertThat(letter.getErrorClass()).isEqualTo("RETRIES_EXHAUSTED");
    assertThat(letter.getPartition()).isEqualTo(-1);
    assertThat(DeadLetters.reason(new RuntimeException("x".repeat(10_000))))
        .hasSize(DeadLetters.MAX_REASON_CHARS);
    assertThatThrownBy(() -> DeadLetters.builder().sourceTopic("t").at(AT).build())
        .hasMessageContaining("error");
    assertThatThrownBy(() -> DeadLetters.builder().error(new RuntimeException()).at(AT).build())
        .hasMessageContaining("sourceTopic");
  }
}
