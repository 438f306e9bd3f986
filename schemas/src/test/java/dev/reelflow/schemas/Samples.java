package dev.reelflow.schemas;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/** Sample records for tests. */
public final class Samples {
  private Samples() {}

  public static RenderRequest request(String requestId) {
    return RenderRequest.newBuilder()
        .setRequestId(requestId)
        .setTenant("demo")
        .setParams(
            RenderParams.newBuilder()
                .setPrompt("a red fox runs through \"fresh snow\"")
                .setMode(Mode.T2V)
                .setResolution(Resolution.PREVIEW)
                .setAspectRatio(AspectRatio.AR_9_16)
                .setFrames(33)
                .setSteps(8)
                .setGuidanceScale(6.0f)
                .setSeed(42L)
                .setUpscale(UpscaleTarget.NONE)
                .build())
        .setPriority(7)
        .setDeadline(Instant.parse("2026-11-25T18:00:00Z"))
        .setLabels(Map.of("campaign", "winter", "variant", "3"))
        .setBatchId("b-1")
        .setBatchRow(3)
        .setSubmittedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS))
        .build();
  }

  /** The schema without some top-level fields: an older version of it. */
  public static Schema without(Schema schema, Set<String> fields) {
    try {
      ObjectMapper json = new ObjectMapper();
      ObjectNode node = (ObjectNode) json.readTree(schema.toString());
      ArrayNode kept = json.createArrayNode();
      node.get("fields")
          .forEach(
              f -> {
                if (!fields.contains(f.get("name").asText())) {
                  kept.add(f);
                }
              });
      node.set("fields", kept);
      return new Schema.Parser().parse(node.toString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A specific record resolved to another schema, as a GenericRecord. */
  public static GenericRecord project(RenderRequest record, Schema to) throws Exception {
    byte[] body = write(record.getSchema(), record);
    return new GenericDatumReader<GenericRecord>(record.getSchema(), to)
        .read(null, DecoderFactory.get().binaryDecoder(body, null));
  }

  public static byte[] write(Schema schema, Object datum) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
      GenericData model =
          datum instanceof RenderRequest
              ? org.apache.avro.specific.SpecificData.getForClass(RenderRequest.class)
              : GenericData.get();
      new GenericDatumWriter<>(schema, model).write(datum, enc);
      enc.flush();
      return out.toByteArray();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
