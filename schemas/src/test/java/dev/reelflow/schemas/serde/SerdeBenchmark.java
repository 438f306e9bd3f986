package dev.reelflow.schemas.serde;

import dev.reelflow.schemas.EmulatedRegistry;
import dev.reelflow.schemas.Samples;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.registry.SchemaRegistryClient;

/**
 * Throughput of the wire-format serdes on one thread, with the registry answers cached (the steady
 * state of a producer or consumer). The registry is the EMULATED in-memory one; it is only called
 * during warm-up. Prints records per second and bytes per record.
 *
 * <p>Run: {@code mvn -B -o -q -pl schemas test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.reelflow.schemas.serde.SerdeBenchmark}
 */
public final class SerdeBenchmark {
  private SerdeBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    try (EmulatedRegistry registry = new EmulatedRegistry()) {
      SchemaRegistryClient client = SchemaRegistryClient.create(registry.url());
      AvroRecordSerializer<RenderRequest> out =
          AvroRecordSerializer.<RenderRequest>builder().client(client).build();
      AvroRecordDeserializer<RenderRequest> in =
          AvroRecordDeserializer.builder(RenderRequest.class).client(client).build();
      RenderRequest request = Samples.request("r-bench");
      byte[] bytes = out.serialize("render.requests", request);
      for (int i = 0; i < 50_000; i++) {
        in.deserialize("render.requests", out.serialize("render.requests", request));
      }
      long t0 = System.nanoTime();
      long size = 0;
      for (int i = 0; i < n; i++) {
        size += out.serialize("render.requests", request).length;
      }
      long t1 = System.nanoTime();
      long hash = 0;
      for (int i = 0; i < n; i++) {
        hash += in.deserialize("render.requests", bytes).getPriority();
      }
      long t2 = System.nanoTime();
      System.out.printf(
          "SerdeBenchmark (emulated registry, cached ids), %d RenderRequest records, one thread%n",
          n);
      System.out.printf("  record size: %d bytes (incl. 5-byte header)%n", size / n);
      System.out.printf("  serialize:   %,.0f records/s%n", n / ((t1 - t0) / 1e9));
      System.out.printf("  deserialize: %,.0f records/s (check %d)%n", n / ((t2 - t1) / 1e9), hash);
    }
  }
}
