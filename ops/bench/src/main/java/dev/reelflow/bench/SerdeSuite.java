package dev.reelflow.bench;

import dev.reelflow.schemas.ExampleRecords;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.stack.LocalStack;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

/**
 * {@code serde}: records/s of our wire-format serializer and deserializer ({@link
 * AvroRecordSerializer}, {@link AvroRecordDeserializer}: Confluent framing, schema id from the
 * registry, cached after the first record) against plain Avro binary encoding and decoding of the
 * same {@code RenderRequest} with a {@code SpecificDatumWriter}/{@code SpecificDatumReader}, one
 * thread, in the same run. The ratio is the cost of the framing and the registry look-ups.
 */
public final class SerdeSuite implements BenchSuite {
  private static final String TOPIC = "render.requests";

  @Override
  public String name() {
    return "serde";
  }

  @Override
  public String description() {
    return "Avro wire-format serializer/deserializer records/s vs plain Avro binary coding";
  }

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    int n = ctx.size().pick(20_000, 200_000, 1_000_000);
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .parameter("records", n)
            .parameter("threads", 1)
            .note(
                "the project's sample RenderRequest (ExampleRecords: prompt, labels, idempotency"
                    + " key) written and read n times on one thread; the embedded registry is only"
                    + " called during warm-up");
    Figure.Builder ser =
        new Figure.Builder(
            "serialize RenderRequest (wire format, registry id)",
            "records/s",
            "plain Avro SpecificDatumWriter of the same record",
            Figure.BaselineKind.MEASURED);
    Figure.Builder de =
        new Figure.Builder(
            "deserialize RenderRequest (wire format, registry schema)",
            "records/s",
            "plain Avro SpecificDatumReader of the same bytes",
            Figure.BaselineKind.MEASURED);
    ctx.progress().step("starting broker and registry");
    try (LocalStack stack =
        LocalStack.builder().workDir(ctx.workDir()).kafka().registry().build().start()) {
      SchemaRegistryClient client = SchemaRegistryClient.create(stack.schemaRegistryUrl());
      AvroRecordSerializer<RenderRequest> wireOut =
          AvroRecordSerializer.<RenderRequest>builder().client(client).build();
      AvroRecordDeserializer<RenderRequest> wireIn =
          AvroRecordDeserializer.builder(RenderRequest.class).client(client).build();
      RenderRequest record = ExampleRecords.renderRequest();
      SpecificDatumWriter<RenderRequest> plainWriter =
          new SpecificDatumWriter<>(RenderRequest.getClassSchema());
      SpecificDatumReader<RenderRequest> plainReader =
          new SpecificDatumReader<>(RenderRequest.getClassSchema());
      byte[] wire = wireOut.serialize(TOPIC, record);
      byte[] plain = plainWrite(plainWriter, record);
      out.parameter("wireBytes", wire.length).parameter("plainBytes", plain.length);
      ctx.progress().step("warming up (JIT, schema registration)");
      for (int i = 0; i < Math.min(n, 50_000); i++) {
        wireIn.deserialize(TOPIC, wireOut.serialize(TOPIC, record));
        plainRead(plainReader, plainWrite(plainWriter, record));
      }
      long check = 0;
      for (int rep = 0; rep < ctx.repetitions(); rep++) {
        ctx.progress().bar("repetitions", rep, ctx.repetitions());
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          check += wireOut.serialize(TOPIC, record).length;
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          check += plainWrite(plainWriter, record).length;
        }
        long t2 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          check += wireIn.deserialize(TOPIC, wire).getPriority();
        }
        long t3 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          check += plainRead(plainReader, plain).getPriority();
        }
        long t4 = System.nanoTime();
        ser.add(n / ((t1 - t0) / 1e9), n / ((t2 - t1) / 1e9));
        de.add(n / ((t3 - t2) / 1e9), n / ((t4 - t3) / 1e9));
      }
      ctx.progress().bar("repetitions", ctx.repetitions(), ctx.repetitions());
      out.parameter("checksum", check); // keeps the loops from being optimised away
    }
    return out.figure(ser).figure(de).build();
  }

  private static byte[] plainWrite(SpecificDatumWriter<RenderRequest> writer, RenderRequest r)
      throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(bytes, null);
    writer.write(r, enc);
    enc.flush();
    return bytes.toByteArray();
  }

  private static RenderRequest plainRead(SpecificDatumReader<RenderRequest> reader, byte[] b)
      throws IOException {
    return reader.read(null, DecoderFactory.get().binaryDecoder(b, null));
  }
}
