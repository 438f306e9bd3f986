package dev.reelflow.bench;

import dev.reelflow.ingest.ApiKeys;
import dev.reelflow.ingest.IngestConfig;
import dev.reelflow.ingest.IngestServer;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.stack.LocalStack;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code ingest}: the ingest service's accept rate against plain Kafka producers of the same Avro
 * records on the same embedded broker, in the same run. Each repetition measures NDJSON batches
 * against a pipelined idempotent producer ({@code acks=all}), and single {@code POST /v1/renders}
 * at a concurrency C against C producer callers each awaiting its record's acknowledgement (as
 * ingest does for a single render).
 */
public final class IngestSuite implements BenchSuite {
  private static final String BODY =
      "{\"prompt\":\"a red fox running through snow\",\"resolution\":\"preview\",\"frames\":17}";

  @Override
  public String name() {
    return "ingest";
  }

  @Override
  public String description() {
    return "ingest accept rate and latency (NDJSON batches, single POSTs) vs plain Kafka producers"
        + " on the same broker";
  }

  /**
   * Sizes; {@code warmup} bounds the warm-up passes after the first {@code minWarmupPasses} (the
   * tiny size only checks the suite runs, and its passes are too short for the JIT to settle).
   */
  private record Params(
      int singles,
      int concurrency,
      int batches,
      int batchRows,
      int minWarmupPasses,
      Duration warmup) {}

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    Params p =
        ctx.size()
            .pick(
                new Params(300, 8, 2, 500, 1, Duration.ZERO),
                new Params(10_000, 64, 10, 10_000, 2, Duration.ofSeconds(120)),
                new Params(20_000, 64, 20, 10_000, 2, Duration.ofSeconds(180)));
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .parameter("singles", p.singles())
            .parameter("concurrency", p.concurrency())
            .parameter("batches", p.batches())
            .parameter("batchRows", p.batchRows())
            .note(
                "embedded broker, registry, ingest and load generator share this machine's cores;"
                    + " the load generator holds one HTTP/1.1 keep-alive connection per caller"
                    + " (KeepAliveHttp: one write per request)");
    BatchFigures ndjsonFigures = BatchFigures.of("NDJSON", p.batchRows());
    BatchFigures csvFigures = BatchFigures.of("CSV", p.batchRows());
    Figure.Builder singleRate =
        new Figure.Builder(
            "single POST at concurrency " + p.concurrency() + ": renders/s",
            "renders/s",
            p.concurrency() + " producer callers each awaiting its ack, records/s",
            Figure.BaselineKind.MEASURED);
    Figure.Builder singleP50 =
        new Figure.Builder(
            "single POST latency p50",
            "ms",
            "producer caller awaiting its ack, p50",
            Figure.BaselineKind.MEASURED);
    Figure.Builder singleP99 =
        new Figure.Builder(
            "single POST latency p99",
            "ms",
            "producer caller awaiting its ack, p99",
            Figure.BaselineKind.MEASURED);
    ctx.progress().step("starting broker, registry and ingest");
    try (LocalStack stack =
        LocalStack.builder().workDir(ctx.workDir()).kafka().registry().build().start()) {
      TopicProvisioner.builder()
          .bootstrapServers(stack.bootstrapServers())
          .replicationFactor(1)
          .build()
          .provision();
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
      Map<String, Object> pp = new HashMap<>();
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      pp.put(ProducerConfig.ACKS_CONFIG, "all");
      pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
      pp.put(ProducerConfig.LINGER_MS_CONFIG, 2);
      pp.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
      try (IngestServer server = IngestServer.builder(config).build().start();
          Load load = new Load(server.port(), key);
          KafkaProducer<String, RenderRequest> producer =
              new KafkaProducer<>(
                  pp,
                  new StringSerializer(),
                  AvroRecordSerializer.<RenderRequest>builder()
                      .client(SchemaRegistryClient.create(stack.schemaRegistryUrl()))
                      .build())) {
        server.awaitReady(Duration.ofSeconds(60));
        byte[] nd = ndjson(p.batchRows()).getBytes(StandardCharsets.UTF_8);
        byte[] csv = csv(p.batchRows()).getBytes(StandardCharsets.UTF_8);
        ctx.progress().step("warming up (JIT, schema registration, producer metadata)");
        JitWarmup.Result warm =
            JitWarmup.ofThisJvm()
                .run(
                    () -> {
                      batches(load, NDJSON, nd, p.batches());
                      batches(load, CSV, csv, p.batches());
                      pipelined(producer, p.batches() * p.batchRows());
                      singles(load, p.singles(), p.concurrency());
                      awaitingCallers(producer, p.singles(), p.concurrency());
                    },
                    p.minWarmupPasses(),
                    p.warmup(),
                    ctx.progress());
        out.parameter("warmupPasses", warm.passes())
            .parameter("warmupSettled", warm.settled())
            .note("warm-up: " + warm.describe());
        TimedJit timedJit = new TimedJit();
        for (int rep = 0; rep < ctx.repetitions(); rep++) {
          ctx.progress().bar("repetitions", rep, ctx.repetitions());
          turns(ndjsonFigures, timedJit, load, NDJSON, nd, producer, p);
          turns(csvFigures, timedJit, load, CSV, csv, producer, p);

          Timings ingest = singles(load, p.singles(), p.concurrency());
          Timings callers = awaitingCallers(producer, p.singles(), p.concurrency());
          singleRate.add(ingest.perSecond(), callers.perSecond());
          singleP50.add(ingest.p50(), callers.p50());
          singleP99.add(ingest.p99(), callers.p99());
        }
        ctx.progress().bar("repetitions", ctx.repetitions(), ctx.repetitions());
        out.note(timedJit.describe());
      }
    }
    return out.figure(ndjsonFigures.rate())
        .figure(csvFigures.rate())
        .figure(ndjsonFigures.cpu())
        .figure(csvFigures.cpu())
        .figure(singleRate)
        .figure(singleP50)
        .figure(singleP99)
        .build();
  }

  private record Timings(double perSecond, double p50, double p99) {}

  /** A batch format's figures: its accept rate, and the process CPU it costs per 1,000 rows. */
  private record BatchFigures(Figure.Builder rate, Figure.Builder cpu) {
    static BatchFigures of(String format, int batchRows) {
      return new BatchFigures(
          new Figure.Builder(
              format + " batches of " + batchRows + ": renders/s",
              "renders/s",
              "pipelined idempotent producer (acks=all), records/s",
              Figure.BaselineKind.MEASURED),
          // CPU does not move with waiting for a core as wall time does; the collector's
          // concurrent cycles still land in either side's block, so it has a spread of its own.
          new Figure.Builder(
              format + " batches: process CPU per 1,000 renders",
              "ms",
              "pipelined idempotent producer, process CPU per 1,000 records",
              Figure.BaselineKind.MEASURED));
    }
  }

  /**
   * One timed block, started from a collected heap: its wall seconds (as the block measured them),
   * the whole process's CPU and the JIT's work inside it.
   */
  private record Block(double seconds, long cpuNanos, long jitMillis) {
    interface Timed {
      double seconds() throws Exception;
    }

    static Block measure(Timed block) throws Exception {
      System.gc();
      long j0 = JitWarmup.compilerMillis();
      long c0 = processCpuNanos();
      double seconds = block.seconds();
      return new Block(seconds, processCpuNanos() - c0, JitWarmup.compilerMillis() - j0);
    }
  }

  /** The JIT's work inside the timed batch blocks and inside their producer blocks. */
  private static final class TimedJit {
    private long ingestJit;
    private long ingestMillis;
    private long plainJit;
    private long plainMillis;

    void add(Block ingest, Block plain) {
      ingestJit += ingest.jitMillis();
      ingestMillis += Math.round(ingest.seconds() * 1000);
      plainJit += plain.jitMillis();
      plainMillis += Math.round(plain.seconds() * 1000);
    }

    String describe() {
      return String.format(
          "%s inside the timed blocks: batches %d ms in %d ms, producer %d ms in %d ms",
          JitWarmup.measure(), ingestJit, ingestMillis, plainJit, plainMillis);
    }
  }

  private static RenderRequest request(int row) {
    return RenderRequest.newBuilder()
        .setRequestId("r-" + UUID.randomUUID())
        .setTenant("bench")
        .setParams(
            RenderParams.newBuilder()
                .setPrompt("a red fox running through snow")
                .setResolution(Resolution.PREVIEW)
                .setFrames(17)
                .setSteps(50)
                .setSeed(row)
                .setUpscale(UpscaleTarget.NONE)
                .build())
        .setPriority(5)
        .setDeadline(null)
        .setLabels(new HashMap<>())
        .setSubmittedAt(Instant.now())
        .build();
  }

  /** Seconds to send n records without waiting, then flush once. */
  private static double pipelined(KafkaProducer<String, RenderRequest> producer, int n) {
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      RenderRequest r = request(i);
      producer.send(new ProducerRecord<>(Topics.REQUESTS, r.getRequestId(), r));
    }
    producer.flush();
    return (System.nanoTime() - t0) / 1e9;
  }

  private static Timings awaitingCallers(
      KafkaProducer<String, RenderRequest> producer, int n, int concurrency) throws Exception {
    return concurrently(
        n,
        concurrency,
        i -> {
          RenderRequest r = request(i);
          producer.send(new ProducerRecord<>(Topics.REQUESTS, r.getRequestId(), r)).get();
        });
  }

  private static final String NDJSON = "application/x-ndjson";
  private static final String CSV = "text/csv";

  /**
   * Adds the renders/s, and the process CPU per 1,000 renders, of {@code p.batches()} batches in a
   * row and of the producer sending as many records, each block starting from a collected heap, so
   * each side pays for collecting its own garbage and not for the other's (without it the
   * producer's figure moved 2.4x between repetitions). The CPU is the whole process's: broker,
   * collector and load generator included, on both sides.
   */
  private static void turns(
      BatchFigures figures,
      TimedJit jit,
      Load load,
      String type,
      byte[] body,
      KafkaProducer<String, RenderRequest> producer,
      Params p)
      throws Exception {
    int rows = p.batches() * p.batchRows();
    Block ingest = Block.measure(() -> batches(load, type, body, p.batches()));
    Block plain = Block.measure(() -> pipelined(producer, rows));
    jit.add(ingest, plain);
    figures.rate().add(rows / ingest.seconds(), rows / plain.seconds());
    figures.cpu().add(ingest.cpuNanos() / 1e6 / rows * 1000, plain.cpuNanos() / 1e6 / rows * 1000);
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** Seconds to POST {@code count} batches one after another. */
  private static double batches(Load load, String type, byte[] body, int count) throws Exception {
    long t0 = System.nanoTime();
    for (int i = 0; i < count; i++) {
      load.post("/v1/batches", type, body);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  private static Timings singles(Load load, int n, int concurrency) throws Exception {
    byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
    return concurrently(n, concurrency, i -> load.post("/v1/renders", "application/json", body));
  }

  interface Call {
    void run(int i) throws Exception;
  }

  private static Timings concurrently(int n, int concurrency, Call call) throws Exception {
    double[] lat = new double[n];
    AtomicInteger next = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    try {
      List<Future<?>> fs = new ArrayList<>();
      long t0 = System.nanoTime();
      for (int t = 0; t < concurrency; t++) {
        fs.add(
            pool.submit(
                () -> {
                  int i;
                  while ((i = next.getAndIncrement()) < n) {
                    long s = System.nanoTime();
                    call.run(i);
                    lat[i] = (System.nanoTime() - s) / 1e6;
                  }
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      List<Double> sorted = new ArrayList<>();
      for (double d : lat) {
        sorted.add(d);
      }
      Collections.sort(sorted);
      return new Timings(
          n / seconds, Spread.percentile(sorted, 0.50), Spread.percentile(sorted, 0.99));
    } finally {
      pool.shutdownNow();
    }
  }

  /** The same rows as {@link #ndjson}, as CSV with a header row. */
  static String csv(int rows) {
    StringBuilder sb = new StringBuilder("prompt,resolution,frames\n");
    for (int i = 0; i < rows; i++) {
      sb.append("catalogue item ").append(i).append(",preview,17\n");
    }
    return sb.toString();
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

  /**
   * The ingest API with the bench tenant's key: one keep-alive connection per calling thread, all
   * closed at the end.
   */
  private static final class Load implements AutoCloseable {
    private final List<KeepAliveHttp> all = Collections.synchronizedList(new ArrayList<>());
    private final ThreadLocal<KeepAliveHttp> connections;

    Load(int port, String key) {
      this.connections =
          ThreadLocal.withInitial(
              () -> {
                KeepAliveHttp c = new KeepAliveHttp("127.0.0.1", port, key);
                all.add(c);
                return c;
              });
    }

    void post(String path, String contentType, byte[] body) throws Exception {
      KeepAliveHttp.Response r = connections.get().post(path, contentType, body);
      if (r.status() != 202) {
        throw new IllegalStateException(
            "POST " + path + " answered " + r.status() + ": " + r.body());
      }
    }

    @Override
    public void close() {
      synchronized (all) {
        all.forEach(KeepAliveHttp::close);
      }
    }
  }
}
