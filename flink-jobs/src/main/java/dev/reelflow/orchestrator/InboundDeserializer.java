package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.WorkerEvent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Reads a record of one of the orchestrator's input topics into an {@link Inbound}. Never throws on
 * bad input: unreadable bytes, unknown schema ids and records of an unexpected type become a {@link
 * DeadLetter} (topic, partition, offset, key, raw bytes, reason) and the job keeps running.
 */
final class InboundDeserializer implements KafkaRecordDeserializationSchema<Inbound> {
  private static final long serialVersionUID = 1L;

  private static final Map<String, Class<? extends SpecificRecord>> EXPECTED =
      Map.of(
          TopicNames.REQUESTS, RenderRequest.class,
          TopicNames.COMMANDS, RenderCommand.class,
          TopicNames.STAGE_EVENTS, StageEvent.class,
          TopicNames.WORKER_EVENTS, WorkerEvent.class,
          TopicNames.SCHEDULES, Schedule.class);

  private final RecordCodec codec;

  InboundDeserializer(RecordCodec codec) {
    this.codec = codec;
  }

  @Override
  public void open(DeserializationSchema.InitializationContext context) throws Exception {
    codec.open();
  }

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Inbound> out) {
    out.collect(
        read(
            codec,
            record.topic(),
            record.partition(),
            record.offset(),
            record.key(),
            record.value()));
  }

  /** Decodes one record; any failure becomes a dead letter. */
  static Inbound read(
      RecordCodec codec, String topic, int partition, long offset, byte[] key, byte[] value) {
    String keyText = key == null ? null : new String(key, StandardCharsets.UTF_8);
    Class<? extends SpecificRecord> expected = EXPECTED.get(topic);
    if (value == null) {
      if (TopicNames.SCHEDULES.equals(topic) && keyText != null) {
        return Inbound.removedSchedule(keyText);
      }
      return Inbound.dead(
          deadLetter(topic, partition, offset, keyText, null, "NullValue", "record has no value"));
    }
    SpecificRecord decoded;
    try {
      decoded = codec.decode(topic, value);
    } catch (Exception | LinkageError e) {
      return Inbound.dead(
          deadLetter(
              topic,
              partition,
              offset,
              keyText,
              value,
              e.getClass().getName(),
              "unreadable record: " + e.getMessage()));
    }
    if (decoded == null || expected == null || !expected.isInstance(decoded)) {
      return Inbound.dead(
          deadLetter(
              topic,
              partition,
              offset,
              keyText,
              value,
              "IncompatibleSchema",
              "expected "
                  + (expected == null ? "no record" : expected.getSimpleName())
                  + " on "
                  + topic
                  + " but read "
                  + (decoded == null ? "null" : decoded.getSchema().getFullName())));
    }
    if (decoded instanceof RenderRequest r) {
      return Inbound.of(r);
    }
    if (decoded instanceof RenderCommand c) {
      return Inbound.of(c);
    }
    if (decoded instanceof StageEvent e) {
      return Inbound.of(e);
    }
    if (decoded instanceof WorkerEvent e) {
      return Inbound.of(e);
    }
    return Inbound.of((Schedule) decoded);
  }

  static DeadLetter deadLetter(
      String topic,
      int partition,
      long offset,
      String key,
      byte[] value,
      String errorClass,
      String reason) {
    return DeadLetter.newBuilder()
        .setSourceTopic(topic)
        .setPartition(partition)
        .setOffset(offset)
        .setKey(key)
        .setValue(value == null ? null : ByteBuffer.wrap(value))
        .setErrorClass(errorClass)
        .setReason(reason == null ? errorClass : reason)
        .setComponent("orchestrator")
        .setRequestId(null)
        .setAt(Instant.now())
        .build();
  }

  @Override
  public TypeInformation<Inbound> getProducedType() {
    return TypeInformation.of(Inbound.class);
  }
}
