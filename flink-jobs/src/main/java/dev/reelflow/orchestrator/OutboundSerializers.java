package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderStatus;
import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/** The record serializers of the job's sinks: UTF-8 keys, Avro values through the codec. */
final class OutboundSerializers {
  private OutboundSerializers() {}

  private static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  /** render.tasks.*: the explicit partition chosen by the scheduler, keyed by request id. */
  static final class Tasks implements KafkaRecordSerializationSchema<TaskDispatch> {
    private static final long serialVersionUID = 1L;
    private final RecordCodec codec;

    Tasks(RecordCodec codec) {
      this.codec = codec;
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sink)
        throws Exception {
      codec.open();
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
        TaskDispatch d, KafkaSinkContext context, Long timestamp) {
      try {
        return new ProducerRecord<>(
            d.topic, d.partition, utf8(d.task.getRequestId()), codec.encode(d.topic, d.task));
      } catch (Exception e) {
        throw new IllegalStateException("cannot encode task " + d.task.getTaskId(), e);
      }
    }
  }

  /**
   * An Avro record keyed by its request id: render.status, and render.commands (the orchestrator's
   * own cancels of expired renders).
   */
  static final class ByRequestId<T extends SpecificRecord>
      implements KafkaRecordSerializationSchema<T> {
    private static final long serialVersionUID = 1L;
    private final RecordCodec codec;
    private final String topic;
    private final SerializableFunction<T, String> requestId;

    ByRequestId(RecordCodec codec, String topic, SerializableFunction<T, String> requestId) {
      this.codec = codec;
      this.topic = topic;
      this.requestId = requestId;
    }

    static ByRequestId<RenderStatus> status(RecordCodec codec) {
      return new ByRequestId<>(codec, TopicNames.STATUS, RenderStatus::getRequestId);
    }

    static ByRequestId<RenderCommand> commands(RecordCodec codec) {
      return new ByRequestId<>(codec, TopicNames.COMMANDS, RenderCommand::getRequestId);
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sink)
        throws Exception {
      codec.open();
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
        T value, KafkaSinkContext context, Long timestamp) {
      String id = requestId.apply(value);
      try {
        return new ProducerRecord<>(topic, utf8(id), codec.encode(topic, value));
      } catch (Exception e) {
        throw new IllegalStateException("cannot encode " + topic + " record of " + id, e);
      }
    }
  }

  /** render.dlq: the DeadLetter value, its reason also in headers. */
  static final class DeadLetters implements KafkaRecordSerializationSchema<DeadLetter> {
    private static final long serialVersionUID = 1L;
    private final RecordCodec codec;

    DeadLetters(RecordCodec codec) {
      this.codec = codec;
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sink)
        throws Exception {
      codec.open();
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
        DeadLetter d, KafkaSinkContext context, Long timestamp) {
      // One header scheme on render.dlq for every component: the schemas module's.
      RecordHeaders headers = new RecordHeaders();
      dev.reelflow.schemas.DeadLetters.headers(d).forEach(headers::add);
      String key = d.getRequestId() != null ? d.getRequestId() : d.getKey();
      try {
        return new ProducerRecord<>(
            TopicNames.DLQ, null, utf8(key), codec.encode(TopicNames.DLQ, d), headers);
      } catch (Exception e) {
        throw new IllegalStateException("cannot encode dead letter from " + d.getSourceTopic(), e);
      }
    }
  }

  /** render.lineage: OpenLineage JSON, keyed by request id. */
  static final class Lineage implements KafkaRecordSerializationSchema<LineageRecord> {
    private static final long serialVersionUID = 1L;

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
        LineageRecord l, KafkaSinkContext context, Long timestamp) {
      return new ProducerRecord<>(TopicNames.LINEAGE, utf8(l.requestId), utf8(l.json));
    }
  }
}
