package dev.reelflow.ingest;

import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.stack.LocalStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Accept throughput and latency of ingest against a plain Kafka producer on the same embedded
 * broker in the same run. Not a test; run:
 *
 * <pre>
 * mvn -B -o -q -pl ingest test-compile exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=dev.reelflow.ingest.IngestBenchmark [-Dexec.args="singles batches"]
 * </pre>
 */
public final class IngestBenchmark {
  private IngestBenchmark() {}

  public static void main(String[] args) throws Exception {
    int singles = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int batches = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    int concurrency = 64;
    int batchRows = 10_000;
    Path work = Files.createTempDirectory("reelflow-ingest-bench");
    try (LocalStack stack = LocalStack.builder().workDir(work).kafka().registry().build().start()) {
      TopicProvisioner.builder().bootstrapServers(stack.bootstrapServers()).build().provision();
      String key = "bench-key";
      IngestConfig config =
          IngestConfig.builder()
              .port(0)
              .bootstrapServers(stack.bootstrapServers())
              .schemaRegistryUrl(stack.schemaRegistryUrl())
              .apiKeys("bench:" + ApiKeys.hash(key) + ":s")
              .rateLimit(1e9, 1_000_000_000)
              .maxInFlight(Long.MAX_VALUE / 4)
              .set(IngestConfig.WEBHOOKS_ENABLED, "false")
              .build();
      try (IngestServer server = IngestServer.builder(config).build().start()) {
        server.awaitReady(java.time.Duration.ofSeconds(60));
        ApiClient client = new ApiClient(server.baseUrl(), key);
        String body =
            "{\"prompt\":\"a red fox running through snow\",\"resolution\":\"preview\",\"frames\":17}";
        // Warm-up: JIT, schema registration, producer metadata.
        runSingles(client, body, 2000, concurrency);
        client.post("/v1/batches", "application/x-ndjson", ndjson(1000));

        long[] lat = runSingles(client, body, singles, concurrency);
        double singleSeconds = lat[lat.length - 1] / 1e9;
        long[] sorted = Arrays.copyOf(lat, lat.length - 1);
        Arrays.sort(sorted);
        System.out.printf(
            "single POST /v1/renders, concurrency %d: %d accepted in %.2f s = %.0f renders/s; p50 %.2f ms, p99 %.2f ms%n",
            concurrency,
            singles,
            singleSeconds,
            singles / singleSeconds,
            pct(sorted, 0.50),
            pct(sorted, 0.99));

        String nd = ndjson(batchRows);
        long[] batchLat = new long[batches];
        long t0 = System.nanoTime();
        for (int i = 0; i < batches; i++) {
          long s = System.nanoTime();
          ApiClient.Answer r = client.post("/v1/batches", "application/x-ndjson", nd);
          if (r.status() != 202) {
            throw new IllegalStateException("batch answered " + r.status() + ": " + r.body());
          }
          batchLat[i] = System.nanoTime() - s;
        }
        double batchSeconds = (System.nanoTime() - t0) / 1e9;
        Arrays.sort(batchLat);
        System.out.printf(
            "NDJSON POST /v1/batches of %d rows: %d batches in %.2f s = %.0f renders/s; per batch p50 %.0f ms, max %.0f ms%n",
            batchRows,
            batches,
            batchSeconds,
            batches * batchRows / batchSeconds,
            pct(batchLat, 0.5),
            batchLat[batches - 1] / 1e6);
      }

      // Baseline: a plain idempotent producer (acks=all) of the same Avro records.
      int n = singles + batches * batchRows;
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      p.put(ProducerConfig.LINGER_MS_CONFIG, 2);
      p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
      AvroRecordSerializer<SpecificRecord> ser =
          AvroRecordSerializer.<SpecificRecord>builder()
              .client(SchemaRegistryClient.create(stack.schemaRegistryUrl()))
              .build();
      RenderSubmission sub =
          RenderValidation.validate(
                  IngestServer.newMapper()
                      .readTree(
                          "{\"prompt\":\"a red fox running through snow\",\"resolution\":\"preview\",\"frames\":17}"),
                  Instant.now())
              .submission();
      try (KafkaProducer<String, SpecificRecord> producer =
          new KafkaProducer<>(p, new StringSerializer(), ser)) {
        for (int i = 0; i < 2000; i++) {
          RenderRequest r = sub.toRequest("warm-" + i, "bench", i, null, null, null, Instant.now());
          producer.send(new ProducerRecord<>("render.requests", r.getRequestId(), r));
        }
        producer.flush();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          RenderRequest r =
              sub.toRequest(Ids.random("r"), "bench", i, null, null, null, Instant.now());
          producer.send(new ProducerRecord<>("render.requests", r.getRequestId(), r));
        }
        producer.flush();
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
            "baseline plain KafkaProducer (idempotent, acks=all, same Avro records), pipelined: %d records in %.2f s = %.0f records/s%n",
            n, s, n / s);
        // The same producer used as ingest uses it for single POSTs: 64 callers, each waiting
        // for its record's acknowledgement.
        long[] lat = new long[singles];
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        List<Future<?>> fs = new ArrayList<>();
        long t1 = System.nanoTime();
        for (int t = 0; t < concurrency; t++) {
          fs.add(
              pool.submit(
                  () -> {
                    int i;
                    while ((i = next.getAndIncrement()) < singles) {
                      long st = System.nanoTime();
                      RenderRequest r =
                          sub.toRequest(
                              Ids.random("r"), "bench", i, null, null, null, Instant.now());
                      producer
                          .send(new ProducerRecord<>("render.requests", r.getRequestId(), r))
                          .get();
                      lat[i] = System.nanoTime() - st;
                    }
                    return null;
                  }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
        double s1 = (System.nanoTime() - t1) / 1e9;
        pool.shutdown();
        Arrays.sort(lat);
        System.out.printf(
            "baseline plain KafkaProducer, %d callers each awaiting its ack: %d records in %.2f s = %.0f records/s; p50 %.2f ms, p99 %.2f ms%n",
            concurrency, singles, s1, singles / s1, pct(lat, 0.5), pct(lat, 0.99));
      }
    }
  }

  static String ndjson(int rows) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < rows; i++) {
      sb.append("{\"prompt\":\"catalogue item ")
          .append(i)
          .append("\",\"resolution\":\"preview\",\"frames\":17}\n");
    }
    return sb.toString();
  }

  /** Latencies in ns of every request, plus the total wall time as the last element. */
  static long[] runSingles(ApiClient client, String body, int total, int concurrency)
      throws Exception {
    long[] lat = new long[total + 1];
    AtomicInteger next = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    long t0 = System.nanoTime();
    List<Future<?>> fs = new ArrayList<>();
    for (int t = 0; t < concurrency; t++) {
      fs.add(
          pool.submit(
              () -> {
                int i;
                while ((i = next.getAndIncrement()) < total) {
                  long s = System.nanoTime();
                  ApiClient.Answer r = client.post("/v1/renders", "application/json", body);
                  if (r.status() != 202) {
                    throw new IllegalStateException("answered " + r.status() + ": " + r.body());
                  }
                  lat[i] = System.nanoTime() - s;
                }
                return null;
              }));
    }
    for (Future<?> f : fs) {
      f.get();
    }
    lat[total] = System.nanoTime() - t0;
    pool.shutdown();
    return lat;
  }

  static double pct(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, (int) Math.floor(q * sorted.length))] / 1e6;
  }
}
