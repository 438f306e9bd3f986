package dev.reelflow.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;

/**
 * A record as the consumers' Avro deserializers hand it out (Node's avsc, Python's fastavro):
 * unions unwrapped, enums as their symbols, timestamps as epoch milliseconds, bytes as a string of
 * code points 0-255 (as Avro's JSON encoding writes them). Used for the AsyncAPI examples.
 */
final class AvroPlainJson {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private AvroPlainJson() {}

  static JsonNode of(IndexedRecord record) {
    return value(record.getSchema(), record);
  }

  private static JsonNode value(Schema schema, Object v) {
    switch (schema.getType()) {
      case NULL:
        return F.nullNode();
      case UNION:
        if (v == null) {
          return F.nullNode();
        }
        List<Schema> nonNull =
            schema.getTypes().stream().filter(t -> t.getType() != Schema.Type.NULL).toList();
        if (nonNull.size() != 1) {
          throw new IllegalArgumentException("only [null, T] unions are used: " + schema);
        }
        return value(nonNull.get(0), v);
      case RECORD:
        IndexedRecord r = (IndexedRecord) v;
        ObjectNode o = F.objectNode();
        for (Schema.Field f : schema.getFields()) {
          o.set(f.name(), value(f.schema(), r.get(f.pos())));
        }
        return o;
      case ENUM:
      case STRING:
        return F.textNode(v.toString());
      case BYTES:
        ByteBuffer b = ((ByteBuffer) v).duplicate();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return F.textNode(new String(bytes, StandardCharsets.ISO_8859_1));
      case INT:
        return F.numberNode(((Number) v).intValue());
      case LONG:
        long l = v instanceof Instant i ? i.toEpochMilli() : ((Number) v).longValue();
        if (!WireNumbers.isSafe(l)) {
          throw new IllegalArgumentException("long outside the JavaScript-safe range: " + l);
        }
        return F.numberNode(l);
      case FLOAT:
        return F.numberNode(((Number) v).floatValue());
      case DOUBLE:
        return F.numberNode(((Number) v).doubleValue());
      case BOOLEAN:
        return F.booleanNode((Boolean) v);
      case ARRAY:
        ArrayNode a = F.arrayNode();
        for (Object item : (List<?>) v) {
          a.add(value(schema.getElementType(), item));
        }
        return a;
      case MAP:
        ObjectNode m = F.objectNode();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
          m.set(e.getKey().toString(), value(schema.getValueType(), e.getValue()));
        }
        return m;
      default:
        throw new IllegalArgumentException("unsupported Avro type " + schema.getType());
    }
  }
}
