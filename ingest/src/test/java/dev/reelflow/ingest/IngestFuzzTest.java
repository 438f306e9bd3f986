package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Feeds 10,000 generated malformed or mutated bodies (JSON, NDJSON, CSV, schedules, huge fields,
 * unicode, nulls, wrong types, invalid UTF-8) to a running server: every answer must be a 4xx
 * problem, never a 5xx or a 2xx, and nothing may be published.
 */
class IngestFuzzTest {
  static final int BODIES = 10_000;

  @Test
  void tenThousandBadBodiesGetOnly4xxAndPublishNothing() throws Exception {
    InMemoryPublisher publisher = new InMemoryPublisher();
    IngestConfig config = IngestConfig.builder().port(0).bodyMaxBytes(64 * 1024).build();
    ApiKeys keys =
        ApiKeys.of(
            Map.of("fuzz-key", new Tenant("fuzz", "s", 1e9, 1_000_000_000, Long.MAX_VALUE / 2)));
    try (IngestServer server =
        IngestServer.builder(config)
            .publisher(publisher)
            .apiKeys(keys)
            .withoutKafkaViews()
            .build()
            .start()) {
      ApiClient client = new ApiClient(server.baseUrl(), "fuzz-key");
      Map<Integer, AtomicInteger> byStatus = new ConcurrentHashMap<>();
      List<String> offenders = java.util.Collections.synchronizedList(new ArrayList<>());
      ExecutorService pool = Executors.newFixedThreadPool(8);
      List<Future<?>> futures = new ArrayList<>();
      int perThread = BODIES / 8;
      for (int t = 0; t < 8; t++) {
        BodyFuzzer fuzzer = new BodyFuzzer(1234L + t);
        futures.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < perThread; i++) {
                    BodyFuzzer.Case c = fuzzer.next();
                    ApiClient.Answer a =
                        client.callBytes(
                            c.method(),
                            c.path(),
                            c.contentType().isEmpty() ? null : c.contentType(),
                            c.body(),
                            null);
                    byStatus
                        .computeIfAbsent(a.status(), s -> new AtomicInteger())
                        .incrementAndGet();
                    boolean problem =
                        a.header("Content-Type") != null
                            && a.header("Content-Type").startsWith("application/problem+json");
                    if (a.status() < 400 || a.status() >= 500 || !problem) {
                      offenders.add(
                          c.kind()
                              + " -> "
                              + a.status()
                              + ": "
                              + new String(
                                  c.body(),
                                  0,
                                  Math.min(300, c.body().length),
                                  java.nio.charset.StandardCharsets.UTF_8)
                              + " => "
                              + a.body());
                    }
                  }
                }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
      pool.shutdown();
      Map<Integer, Integer> summary = new TreeMap<>();
      byStatus.forEach((k, v) -> summary.put(k, v.get()));
      System.out.println("fuzz: " + BODIES + " bodies, answers by status " + summary);
      assertThat(offenders).as("answers that were not a 4xx problem").isEmpty();
      assertThat(summary.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(BODIES);
      assertThat(summary.keySet()).contains(400, 413, 415, 422);
      assertThat(publisher.size()).as("records published").isZero();
    }
  }
}
