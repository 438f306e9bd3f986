package dev.reelflow.schemas.serde;

import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;

/**
 * Flink {@link DeserializationSchema} reading Confluent wire-format values into a SpecificRecord
 * class, with writer-schema resolution. Serializable: it carries the registry settings and creates
 * its client in {@link #open}.
 *
 * <p>{@link #deserialize} raises {@link UnreadableRecordException} for a value that cannot be read;
 * a job that must keep running reads raw bytes instead and calls {@link #decode} itself,
 * dead-lettering what fails.
 */
public final class AvroRecordDeserializationSchema<T extends SpecificRecord>
    implements DeserializationSchema<T> {
  private static final long serialVersionUID = 1L;

  private final Class<T> type;
  private final SchemaRegistryConfig registry;
  private final TypeInformation<T> producedType;
  private transient AvroRecordReader<T> reader;

  private AvroRecordDeserializationSchema(Builder<T> b) {
    this.type = b.type;
    this.registry = b.registry;
    this.producedType = b.producedType != null ? b.producedType : defaultType(b.type);
  }

  /** Flink's AvroTypeInfo when flink-avro is on the class path, else a generic (Kryo) type. */
  private static <T> TypeInformation<T> defaultType(Class<T> type) {
    try {
      return TypeInformation.of(type);
    } catch (RuntimeException e) {
      return new GenericTypeInfo<>(type);
    }
  }

  public static <T extends SpecificRecord> Builder<T> builder(Class<T> type) {
    return new Builder<>(type);
  }

  @Override
  public void open(InitializationContext context) {
    reader();
  }

  /** Reads one value; null bytes read as null. */
  @Override
  public T deserialize(byte[] message) {
    return message == null ? null : decode(message);
  }

  /**
   * Reads one framed value.
   *
   * @throws UnreadableRecordException when the value cannot be read, whatever is retried
   */
  public T decode(byte[] message) {
    return reader().read(message);
  }

  @Override
  public boolean isEndOfStream(T nextElement) {
    return false;
  }

  @Override
  public TypeInformation<T> getProducedType() {
    return producedType;
  }

  private AvroRecordReader<T> reader() {
    if (reader == null) {
      reader = new AvroRecordReader<>(new SchemaRegistryClient(registry), type);
    }
    return reader;
  }

  /** Builder; {@link #registry} is required. */
  public static final class Builder<T extends SpecificRecord> {
    private final Class<T> type;
    private SchemaRegistryConfig registry;
    private TypeInformation<T> producedType;

    private Builder(Class<T> type) {
      if (type == null) {
        throw new IllegalArgumentException("reader type is null");
      }
      this.type = type;
    }

    public Builder<T> registry(SchemaRegistryConfig registry) {
      this.registry = registry;
      return this;
    }

    /**
     * Type information of the produced records; default {@code TypeInformation.of(type)}, which is
     * Flink's AvroTypeInfo when flink-avro is on the class path and a generic type otherwise.
     */
    public Builder<T> producedType(TypeInformation<T> producedType) {
      this.producedType = producedType;
      return this;
    }

    public AvroRecordDeserializationSchema<T> build() {
      if (registry == null) {
        throw new IllegalArgumentException("registry(config) is required");
      }
      return new AvroRecordDeserializationSchema<>(this);
    }
  }
}
