package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.stack.LocalStack;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Orchestration benchmark with EMULATED workers (timer-based sleeps, no rendering), not a test. For
 * each task-delivery mode it starts the embedded stack and the job in a MiniCluster, then:
 *
 * <ol>
 *   <li>dispatch latency on an idle pool: requests produced one at a time (every 50 ms); latency =
 *       task received by an emulated worker minus the request's submittedAt (set when it was
 *       produced, i.e. accepted by ingest), p50/p99;
 *   <li>(at-least-once only) pool busy fraction: 16 emulated workers, one slot each, no prefetch, N
 *       tasks of fixed duration submitted at once; busy = N x duration / (16 x time from the first
 *       task start to the last completion).
 * </ol>
 *
 * <p>Args: {@code [latencyRequests=200] [busyTasks=2000] [taskMillis=2000] [checkpointMillis=500]
 * [modes=AT_LEAST_ONCE,EXACTLY_ONCE] [positionIntervalMillis=5000] [prefetch=false]}. With prefetch
 * each emulated worker may hold one task besides the one it runs (two slots announced).
 */
public final class OrchestratorBenchmark {
  private static final int WORKERS = 16;
  private static long checkpointMillis;
  private static long positionMillis;
  private static boolean prefetch;

  public static void main(String[] args) throws Exception {
    int latencyRequests = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    int busyTasks = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    long taskMillis = args.length > 2 ? Long.parseLong(args[2]) : 2000;
    checkpointMillis = args.length > 3 ? Long.parseLong(args[3]) : 500;
    String modes = args.length > 4 ? args[4] : "AT_LEAST_ONCE,EXACTLY_ONCE";
    positionMillis = args.length > 5 ? Long.parseLong(args[5]) : 5000;
    prefetch = args.length > 6 && Boolean.parseBoolean(args[6]);
    System.out.println(
        "EMULATED workers (timer-based sleep), "
            + WORKERS
            + " base workers, one task at a time, "
            + (prefetch ? "one prefetched task held" : "no prefetch")
            + "; "
            + Runtime.getRuntime().availableProcessors()
            + " cores");
    for (String m : modes.split(",")) {
      DeliveryGuarantee mode = DeliveryGuarantee.valueOf(m.trim());
      run(
          mode,
          latencyRequests,
          mode == DeliveryGuarantee.AT_LEAST_ONCE ? busyTasks : 0,
          taskMillis);
    }
    System.exit(0);
  }

  private static void run(
      DeliveryGuarantee mode, int latencyRequests, int busyTasks, long taskMillis)
      throws Exception {
    Path work = Files.createTempDirectory("reelflow-bench");
    try (LocalStack stack = LocalStack.builder().workDir(work).kafka().registry().build()) {
      stack.start();
      String bootstrap = stack.bootstrapServers();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        List<NewTopic> topics = new ArrayList<>();
        for (String t :
            List.of(
                TopicNames.REQUESTS,
                TopicNames.COMMANDS,
                TopicNames.STAGE_EVENTS,
                TopicNames.WORKER_EVENTS,
                TopicNames.SCHEDULES,
                TopicNames.STATUS,
                TopicNames.LINEAGE,
                TopicNames.DLQ,
                TopicNames.TASKS_UPSCALE)) {
          topics.add(new NewTopic(t, 4, (short) 1));
        }
        topics.add(new NewTopic(TopicNames.TASKS_BASE, WORKERS, (short) 1));
        admin.createTopics(topics).all().get();
      }
      RecordCodec codec = new RegistryRecordCodec(stack.schemaRegistryUrl());
      codec.open();
      OrchestratorConfig config =
          OrchestratorConfig.builder()
              .bootstrapServers(bootstrap)
              .registryUrl(stack.schemaRegistryUrl())
              .checkpointInterval(Duration.ofMillis(checkpointMillis))
              .checkpointDir(work.resolve("checkpoints").toUri().toString())
              .transactionTimeout(Duration.ofMinutes(5))
              .stateBackend("hashmap")
              .taskDelivery(mode)
              .bufferTimeout(Duration.ofMillis(5))
              .positionInterval(Duration.ofMillis(positionMillis))
              .build();
      StreamExecutionEnvironment env =
          StreamExecutionEnvironment.createLocalEnvironment(1, new Configuration());
      JobClient job = OrchestratorJob.builder().config(config).build().start(env);
      try (EmulatedWorkers workers =
              new EmulatedWorkers(bootstrap, codec, Stage.BASE, WORKERS, prefetch ? 2 : 1, 20);
          KafkaProducer<byte[], byte[]> producer =
              new KafkaProducer<>(
                  Map.of("bootstrap.servers", bootstrap, "linger.ms", "0"),
                  new ByteArraySerializer(),
                  new ByteArraySerializer())) {
        // Warm up until a render goes through end to end.
        int warm = 0;
        while (workers.completed.get() == 0) {
          submit(producer, codec, "warm-" + warm++);
          Thread.sleep(500);
        }
        Thread.sleep(2000);
        workers.resetCounters();
        for (int i = 0; i < latencyRequests; i++) {
          submit(producer, codec, "lat-" + mode.name().toLowerCase(Locale.ROOT) + "-" + i);
          Thread.sleep(50);
        }
        long until = System.currentTimeMillis() + 30_000;
        while (workers.received.size() < latencyRequests && System.currentTimeMillis() < until) {
          Thread.sleep(100);
        }
        List<Long> lat = new ArrayList<>();
        for (EmulatedWorkers.Received r : workers.received) {
          lat.add(r.at() - r.task().getCreatedAt().toEpochMilli());
        }
        Collections.sort(lat);
        System.out.printf(
            Locale.ROOT,
            "[%s] dispatch latency request accepted -> task at idle worker: n=%d p50=%d ms p99=%d ms max=%d ms (checkpoint interval %d ms)%n",
            mode,
            lat.size(),
            pct(lat, 0.50),
            pct(lat, 0.99),
            lat.isEmpty() ? -1 : lat.get(lat.size() - 1),
            checkpointMillis);

        if (busyTasks > 0) {
          Thread.sleep(1000);
          workers.resetCounters();
          workers.taskMillis(taskMillis);
          long t0 = System.currentTimeMillis();
          for (int i = 0; i < busyTasks; i++) {
            submit(producer, codec, "busy-" + i);
          }
          producer.flush();
          long deadline = t0 + busyTasks * taskMillis / WORKERS * 3 + 120_000;
          while (workers.completed.get() < busyTasks && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
          }
          long window = workers.lastFinish.get() - workers.firstStart.get();
          double busy = (double) workers.busyMillis.get() / (WORKERS * (double) window);
          System.out.printf(
              Locale.ROOT,
              "[%s] pool busy fraction: %d/%d tasks of %d ms on %d workers in %.1f s (ideal %.1f s): busy %.2f%% (queue positions every %d ms, prefetch %s)%n",
              mode,
              workers.completed.get(),
              busyTasks,
              taskMillis,
              WORKERS,
              window / 1000.0,
              busyTasks * taskMillis / (double) WORKERS / 1000.0,
              100 * busy,
              positionMillis,
              prefetch);
        }
      } finally {
        job.cancel().get();
      }
    }
  }

  private static long pct(List<Long> sorted, double p) {
    if (sorted.isEmpty()) {
      return -1;
    }
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
  }

  private static void submit(KafkaProducer<byte[], byte[]> producer, RecordCodec codec, String id)
      throws Exception {
    RenderRequest r =
        Fixtures.request(id, id.hashCode() % 2 == 0 ? "demo" : "acme", 5, UpscaleTarget.NONE);
    r.setSubmittedAt(Instant.now());
    producer.send(
        new ProducerRecord<>(
            TopicNames.REQUESTS,
            id.getBytes(StandardCharsets.UTF_8),
            codec.encode(TopicNames.REQUESTS, r)));
  }
}
