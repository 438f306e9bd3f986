package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Confluent wire format through the schema registry, with the serdes of module schemas: each topic
 * is read as its record class (TopicNameStrategy subjects); schemas are registered on first write.
 */
final class RegistryRecordCodec implements RecordCodec {
  private static final long serialVersionUID = 1L;

  private static final Map<String, Class<? extends SpecificRecord>> TYPES =
      Map.of(
          TopicNames.REQUESTS, RenderRequest.class,
          TopicNames.COMMANDS, RenderCommand.class,
          TopicNames.STAGE_EVENTS, StageEvent.class,
          TopicNames.WORKER_EVENTS, WorkerEvent.class,
          TopicNames.SCHEDULES, Schedule.class,
          TopicNames.TASKS_BASE, RenderTask.class,
          TopicNames.TASKS_UPSCALE, RenderTask.class,
          TopicNames.STATUS, RenderStatus.class,
          TopicNames.DLQ, DeadLetter.class);

  private final String registryUrl;
  private transient Map<String, Deserializer<? extends SpecificRecord>> readers;
  private transient AvroRecordSerializer<SpecificRecord> writer;

  RegistryRecordCodec(String registryUrl) {
    this.registryUrl = registryUrl;
  }

  @Override
  public synchronized void open() {
    if (writer != null) {
      return;
    }
    SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(registryUrl));
    Map<String, Deserializer<? extends SpecificRecord>> r = new HashMap<>();
    for (Map.Entry<String, Class<? extends SpecificRecord>> t : TYPES.entrySet()) {
      r.put(t.getKey(), reader(client, t.getValue()));
    }
    readers = r;
    writer =
        AvroRecordSerializer.<SpecificRecord>builder().client(client).autoRegister(true).build();
  }

  private static <T extends SpecificRecord> Deserializer<T> reader(
      SchemaRegistryClient client, Class<T> type) {
    return AvroRecordDeserializer.builder(type).client(client).build();
  }

  @Override
  public SpecificRecord decode(String topic, byte[] value) {
    open();
    Deserializer<? extends SpecificRecord> d = readers.get(topic);
    if (d == null) {
      throw new IllegalArgumentException("no record type is known for topic " + topic);
    }
    return d.deserialize(topic, value);
  }

  @Override
  public byte[] encode(String topic, SpecificRecord value) {
    open();
    return writer.serialize(topic, value);
  }
}
