package dev.reelflow.schemas.serde;

import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryClient.RegisteredSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Writes SpecificRecords in the Confluent wire format under a subject. Shared by the Kafka
 * serializer and the Flink serialization schema.
 *
 * <p>The schema id comes from registering the record's schema ({@code autoRegister}), from the
 * subject's latest version ({@code useLatest}; the record is then resolved to that schema, which
 * must be able to read it), or else from looking the record's schema up under the subject. Answers
 * are cached for the life of the writer.
 */
final class AvroRecordWriter {
  private final SchemaRegistryClient client;
  private final boolean autoRegister;
  private final boolean useLatest;
  private final Map<String, Map<Schema, Target>> targets = new ConcurrentHashMap<>();
  private final Map<Schema, DatumWriter<Object>> writers = new ConcurrentHashMap<>();

  /** Schema id to frame with, and the schema to write with when it differs from the record's. */
  private record Target(int id, Schema convertTo) {}

  AvroRecordWriter(SchemaRegistryClient client, boolean autoRegister, boolean useLatest) {
    this.client = client;
    this.autoRegister = autoRegister;
    this.useLatest = useLatest;
  }

  byte[] write(String subject, SpecificRecord record) {
    Schema schema = record.getSchema();
    Target target =
        targets
            .computeIfAbsent(subject, s -> new ConcurrentHashMap<>())
            .computeIfAbsent(schema, s -> resolve(subject, s));
    byte[] body = encode(schema, record, SpecificData.getForClass(record.getClass()));
    if (target.convertTo() != null) {
      body = convert(body, schema, target.convertTo());
    }
    return WireFormat.frame(target.id(), body);
  }

  private Target resolve(String subject, Schema schema) {
    if (useLatest) {
      RegisteredSchema latest = client.latest(subject);
      return new Target(latest.id(), latest.schema().equals(schema) ? null : latest.schema());
    }
    if (autoRegister) {
      return new Target(client.register(subject, schema), null);
    }
    return new Target(client.idOf(subject, schema), null);
  }

  private byte[] encode(Schema schema, Object datum, SpecificData model) {
    DatumWriter<Object> writer =
        writers.computeIfAbsent(schema, s -> new SpecificDatumWriter<>(s, model));
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    try {
      writer.write(datum, encoder);
      encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "cannot write " + schema.getFullName() + " as Avro: " + e.getMessage(), e);
    }
    return out.toByteArray();
  }

  /** Avro schema resolution from the record's schema to the registered one (use.latest). */
  private static byte[] convert(byte[] body, Schema from, Schema to) {
    try {
      Object generic =
          new GenericDatumReader<>(from, to, GenericData.get())
              .read(null, DecoderFactory.get().binaryDecoder(body, null));
      ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 16);
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
      new GenericDatumWriter<>(to, GenericData.get()).write(generic, encoder);
      encoder.flush();
      return out.toByteArray();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "the subject's latest schema cannot represent this "
              + from.getFullName()
              + " ("
              + e.getMessage()
              + "); register the record's schema or turn off use.latest.version",
          e);
    }
  }
}
