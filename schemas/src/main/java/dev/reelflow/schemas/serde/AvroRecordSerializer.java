package dev.reelflow.schemas.serde;

import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka {@link Serializer} of SpecificRecords in the Confluent wire format, with subjects by
 * TopicNameStrategy ({@code <topic>-value}, or {@code <topic>-key} for keys). A null record
 * serializes to null (a tombstone).
 *
 * <p>Build it with {@link #builder()}, or let Kafka instantiate it from {@code value.serializer}
 * and pass these keys beside the {@link SchemaRegistryConfig} ones:
 *
 * <ul>
 *   <li>{@value #AUTO_REGISTER}: register the record's schema on first use; default true. When
 *       false the schema must already be registered under the subject.
 *   <li>{@value #USE_LATEST}: write with the subject's latest schema (resolved from the record's);
 *       default false.
 * </ul>
 */
public final class AvroRecordSerializer<T extends SpecificRecord> implements Serializer<T> {
  public static final String AUTO_REGISTER = "auto.register.schemas";
  public static final String USE_LATEST = "use.latest.version";

  private AvroRecordWriter writer;
  private boolean isKey;

  /** For Kafka's reflective instantiation; {@link #configure} must follow. */
  public AvroRecordSerializer() {}

  private AvroRecordSerializer(AvroRecordWriter writer) {
    this.writer = writer;
  }

  public static <T extends SpecificRecord> Builder<T> builder() {
    return new Builder<>();
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.isKey = isKey;
    this.writer =
        new AvroRecordWriter(
            new SchemaRegistryClient(SchemaRegistryConfig.fromProperties(configs)),
            flag(configs, AUTO_REGISTER, true),
            flag(configs, USE_LATEST, false));
  }

  static boolean flag(Map<String, ?> configs, String key, boolean dflt) {
    Object v = configs.get(key);
    if (v == null) {
      return dflt;
    }
    String s = v.toString().trim();
    if (!s.equalsIgnoreCase("true") && !s.equalsIgnoreCase("false")) {
      throw new IllegalArgumentException(key + " must be true or false, got '" + s + "'");
    }
    return Boolean.parseBoolean(s);
  }

  @Override
  public byte[] serialize(String topic, T data) {
    if (data == null) {
      return null;
    }
    if (writer == null) {
      throw new IllegalStateException(
          "AvroRecordSerializer is not configured: use builder() or pass "
              + SchemaRegistryConfig.URL);
    }
    return writer.write(topic + (isKey ? "-key" : "-value"), data);
  }

  @Override
  public void close() {}

  /** Builder; {@link #registry} or {@link #client} is required. */
  public static final class Builder<T extends SpecificRecord> {
    private SchemaRegistryClient client;
    private boolean autoRegister = true;
    private boolean useLatest;

    private Builder() {}

    /** Registry settings; a client is created from them. */
    public Builder<T> registry(SchemaRegistryConfig config) {
      this.client = new SchemaRegistryClient(config);
      return this;
    }

    /** A client to share (and share its cache) with other serdes. */
    public Builder<T> client(SchemaRegistryClient client) {
      this.client = client;
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

    public AvroRecordSerializer<T> build() {
      if (client == null) {
        throw new IllegalArgumentException("registry(config) or client(client) is required");
      }
      return new AvroRecordSerializer<>(new AvroRecordWriter(client, autoRegister, useLatest));
    }
  }
}
