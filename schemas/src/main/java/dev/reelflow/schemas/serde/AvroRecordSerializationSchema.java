package dev.reelflow.schemas.serde;

import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.SerializationSchema;

/**
 * Flink {@link SerializationSchema} writing SpecificRecords in the Confluent wire format to one
 * topic's value subject ({@code <topic>-value}). Serializable: it carries the registry settings and
 * creates its client in {@link #open}.
 */
public final class AvroRecordSerializationSchema<T extends SpecificRecord>
    implements SerializationSchema<T> {
  private static final long serialVersionUID = 1L;

  private final String subject;
  private final SchemaRegistryConfig registry;
  private final boolean autoRegister;
  private final boolean useLatest;
  private transient AvroRecordWriter writer;

  private AvroRecordSerializationSchema(Builder<T> b) {
    this.subject = b.topic + "-value";
    this.registry = b.registry;
    this.autoRegister = b.autoRegister;
    this.useLatest = b.useLatest;
  }

  /** A builder for values of {@code topic}. */
  public static <T extends SpecificRecord> Builder<T> builder(String topic) {
    return new Builder<>(topic);
  }

  @Override
  public void open(InitializationContext context) {
    writer();
  }

  @Override
  public byte[] serialize(T element) {
    return element == null ? null : writer().write(subject, element);
  }

  /** The registry subject written to. */
  public String subject() {
    return subject;
  }

  private AvroRecordWriter writer() {
    if (writer == null) {
      writer = new AvroRecordWriter(new SchemaRegistryClient(registry), autoRegister, useLatest);
    }
    return writer;
  }

  /** Builder; {@link #registry} is required. */
  public static final class Builder<T extends SpecificRecord> {
    private final String topic;
    private SchemaRegistryConfig registry;
    private boolean autoRegister = true;
    private boolean useLatest;

    private Builder(String topic) {
      if (topic == null || topic.isBlank()) {
        throw new IllegalArgumentException("topic is blank");
      }
      this.topic = topic;
    }

    public Builder<T> registry(SchemaRegistryConfig registry) {
      this.registry = registry;
      return this;
    }

    /** Register the record's schema on first use (default true). */
    public Builder<T> autoRegister(boolean autoRegister) {
      this.autoRegister = autoRegister;
      return this;
    }

    /** Write with the subject's latest schema (default false). */
    public Builder<T> useLatest(boolean useLatest) {
      this.useLatest = useLatest;
      return this;
    }

    public AvroRecordSerializationSchema<T> build() {
      if (registry == null) {
        throw new IllegalArgumentException("registry(config) is required");
      }
      return new AvroRecordSerializationSchema<>(this);
    }
  }
}
