package dev.reelflow.schemas.serde;

import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka {@link Deserializer} of Confluent wire-format values into a SpecificRecord class. The
 * writer schema is fetched by the id in the value (and cached) and resolved to the reader class's
 * schema, so values written with an older compatible schema are read. Null bytes read as null.
 *
 * <p>Unreadable values raise {@link UnreadableRecordException} (Kafka's consumer wraps it in a
 * {@code RecordDeserializationException} that names the partition and offset; seek past the record
 * and dead-letter it). When Kafka instantiates it, pass {@value #VALUE_TYPE} (or {@value
 * #KEY_TYPE}) with the class name, beside the {@link SchemaRegistryConfig} keys.
 */
public final class AvroRecordDeserializer<T extends SpecificRecord> implements Deserializer<T> {
  public static final String VALUE_TYPE = "specific.avro.value.type";
  public static final String KEY_TYPE = "specific.avro.key.type";

  private AvroRecordReader<T> reader;

  /** For Kafka's reflective instantiation; {@link #configure} must follow. */
  public AvroRecordDeserializer() {}

  private AvroRecordDeserializer(AvroRecordReader<T> reader) {
    this.reader = reader;
  }

  public static <T extends SpecificRecord> Builder<T> builder(Class<T> type) {
    return new Builder<>(type);
  }

  @Override
  @SuppressWarnings("unchecked")
  public void configure(Map<String, ?> configs, boolean isKey) {
    String key = isKey ? KEY_TYPE : VALUE_TYPE;
    Object typeName = configs.get(key);
    if (typeName == null) {
      throw new IllegalArgumentException(
          key
              + " is required: the SpecificRecord class to read into, e.g. "
              + "dev.reelflow.schemas.avro.RenderRequest");
    }
    Class<?> type;
    if (typeName instanceof Class<?> c) {
      type = c;
    } else {
      try {
        type = Class.forName(typeName.toString().trim(), true, getClass().getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalArgumentException(key + ": class " + typeName + " not found", e);
      }
    }
    if (!SpecificRecord.class.isAssignableFrom(type)) {
      throw new IllegalArgumentException(key + ": " + type.getName() + " is not a SpecificRecord");
    }
    this.reader =
        new AvroRecordReader<>(
            new SchemaRegistryClient(SchemaRegistryConfig.fromProperties(configs)),
            (Class<T>) type);
  }

  /**
   * Reads one value.
   *
   * @throws UnreadableRecordException when the value cannot be read, whatever is retried
   * @throws dev.reelflow.schemas.registry.SchemaRegistryException when the registry is unreachable
   */
  @Override
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    if (reader == null) {
      throw new IllegalStateException(
          "AvroRecordDeserializer is not configured: use builder(type) or pass "
              + SchemaRegistryConfig.URL
              + " and "
              + VALUE_TYPE);
    }
    return reader.read(data);
  }

  @Override
  public void close() {}

  /** Builder; {@link #registry} or {@link #client} is required. */
  public static final class Builder<T extends SpecificRecord> {
    private final Class<T> type;
    private SchemaRegistryClient client;

    private Builder(Class<T> type) {
      if (type == null) {
        throw new IllegalArgumentException("reader type is null");
      }
      this.type = type;
    }

    public Builder<T> registry(SchemaRegistryConfig config) {
      this.client = new SchemaRegistryClient(config);
      return this;
    }

    public Builder<T> client(SchemaRegistryClient client) {
      this.client = client;
      return this;
    }

    public AvroRecordDeserializer<T> build() {
      if (client == null) {
        throw new IllegalArgumentException("registry(config) or client(client) is required");
      }
      return new AvroRecordDeserializer<>(new AvroRecordReader<>(client, type));
    }
  }
}
