package dev.reelflow.schemas.serde;

import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryException;
import dev.reelflow.schemas.serde.UnreadableRecordException.Reason;
import java.io.EOFException;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;

/**
 * Reads Confluent wire-format values into a SpecificRecord class, resolving the writer schema (by
 * its id in the registry) to the reader's schema. Shared by the Kafka deserializer and the Flink
 * deserialization schema.
 */
final class AvroRecordReader<T extends SpecificRecord> {
  private final SchemaRegistryClient client;
  private final Class<T> type;
  private final SpecificData model;
  private final Schema readerSchema;
  private final Map<Integer, Resolution<T>> byWriterId = new ConcurrentHashMap<>();

  /** The datum reader for one writer schema, or why that writer cannot be read. */
  private record Resolution<T>(DatumReader<T> reader, String incompatibility) {}

  AvroRecordReader(SchemaRegistryClient client, Class<T> type) {
    this.client = client;
    this.type = type;
    this.model = SpecificData.getForClass(type);
    this.readerSchema = model.getSchema(type);
  }

  Class<T> type() {
    return type;
  }

  T read(byte[] framed) {
    int id = WireFormat.schemaId(framed);
    Resolution<T> resolution = byWriterId.get(id);
    if (resolution == null) {
      resolution = resolve(id);
      byWriterId.putIfAbsent(id, resolution);
    }
    if (resolution.incompatibility() != null) {
      throw new UnreadableRecordException(
          Reason.INCOMPATIBLE_SCHEMA,
          id,
          "writer schema "
              + id
              + " cannot be read as "
              + readerSchema.getFullName()
              + ": "
              + resolution.incompatibility());
    }
    BinaryDecoder decoder =
        DecoderFactory.get()
            .binaryDecoder(
                framed, WireFormat.HEADER_SIZE, framed.length - WireFormat.HEADER_SIZE, null);
    T value;
    try {
      value = resolution.reader().read(null, decoder);
    } catch (EOFException e) {
      throw new UnreadableRecordException(
          Reason.TRUNCATED,
          id,
          "Avro body of " + (framed.length - WireFormat.HEADER_SIZE) + " bytes ends too early",
          e);
    } catch (IOException | RuntimeException e) {
      throw new UnreadableRecordException(
          Reason.CORRUPT, id, "Avro body does not decode under writer schema " + id + ": " + e, e);
    }
    try {
      if (!decoder.isEnd()) {
        throw new UnreadableRecordException(
            Reason.CORRUPT, id, "bytes left over after the Avro body of writer schema " + id);
      }
    } catch (IOException e) {
      throw new UnreadableRecordException(Reason.CORRUPT, id, e.toString(), e);
    }
    return value;
  }

  private Resolution<T> resolve(int id) {
    Schema writer;
    try {
      writer = client.getById(id);
    } catch (SchemaRegistryException e) {
      if (e.isNotFound()) {
        throw new UnreadableRecordException(
            Reason.UNKNOWN_SCHEMA_ID,
            id,
            "schema id " + id + " is not known to the registry (" + e.getMessage() + ")",
            e);
      }
      throw e;
    }
    SchemaPairCompatibility compat =
        SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, writer);
    if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      return new Resolution<>(null, compat.getDescription());
    }
    return new Resolution<>(new SpecificDatumReader<>(writer, readerSchema, model), null);
  }
}
