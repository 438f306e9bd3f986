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
 *       task start to the last completion);
 *   <li>(at-least-once only) fairness and priority, the scenario of {@link ShareGroupBenchmark}:
 *       tenant A submits {@code fairBulk} renders, then tenant B one, then a priority-9 render; the
 *       wait of the last two from submission until their task starts (deficit round robin and
 *       priority order against the share group's FIFO);
 *   <li>(at-least-once only) a worker killed mid-task: it stops sending anything; time until the
 *       task's next attempt reaches another worker (the task lease; an expired lease is re-queued
 *       without backoff).
 * </ol>
 *
 * <p>Args: {@code [latencyRequests=200] [busyTasks=2000] [taskMillis=2000] [checkpointMillis=500]
 * [modes=AT_LEAST_ONCE,EXACTLY_ONCE] [positionIntervalMillis=5000] [prefetch=false] [fairBulk=200]
 * [kill=true] [leaseMillis=30000]}; 0 skips a phase. With prefetch each emulated worker may hold
 * one task besides the one it runs (two slots announced).
 */
public final class OrchestratorBenchmark {
  private static final int WORKERS = 16;
  private static long checkpointMillis;
  private static long positionMillis;
  private static boolean prefetch;
  private static int fairBulk;
  private static boolean kill;
  private static long leaseMillis;
  private static final BenchTable TABLE = new BenchTable();

  public static void main(String[] args) throws Exception {
    int latencyRequests = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    int busyTasks = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    long taskMillis = args.length > 2 ? Long.parseLong(args[2]) : 2000;
    checkpointMillis = args.length > 3 ? Long.parseLong(args[3]) : 500;
    String modes = args.length > 4 ? args[4] : "AT_LEAST_ONCE,EXACTLY_ONCE";
    positionMillis = args.length > 5 ? Long.parseLong(args[5]) : 5000;
    prefetch = args.length > 6 && Boolean.parseBoolean(args[6]);
    fairBulk = args.length > 7 ? Integer.parseInt(args[7]) : 200;
    kill = args.length <= 8 || Boolean.parseBoolean(args[8]);
    leaseMillis = args.length > 9 ? Long.parseLong(args[9]) : 30_000;
    String setup =
        "EMULATED workers (timer-based sleep), "
            + WORKERS
            + " base workers, one task at a time, "
            + (prefetch ? "one prefetched task held" : "no prefetch")
            + "; "
            + Runtime.getRuntime().availableProcessors()
            + " cores";
    System.out.println(setup);
    for (String m : modes.split(",")) {
      DeliveryGuarantee mode = DeliveryGuarantee.valueOf(m.trim());
      run(
          mode,
          latencyRequests,
          mode == DeliveryGuarantee.AT_LEAST_ONCE ? busyTasks : 0,
          taskMillis);
    }
    System.out.println();
    System.out.println("Orchestrator (DispatchScheduler): " + setup);
    TABLE.print();
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
              .lease(Duration.ofMillis(leaseMillis))
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
        if (latencyRequests > 0) {
          TABLE.row(
              "[" + mode + "] dispatch latency, idle pool (request accepted → task at a worker)",
              String.format(
                  Locale.ROOT,
                  "n=%d p50=%d ms p99=%d ms max=%d ms (checkpoint interval %d ms)",
                  lat.size(),
                  BenchTable.pct(lat, 0.50),
                  BenchTable.pct(lat, 0.99),
                  BenchTable.max(lat),
                  checkpointMillis));
        }

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
          TABLE.row(
              "[" + mode + "] busy fraction",
              String.format(
                  Locale.ROOT,
                  "%d/%d tasks of %d ms on %d workers in %.1f s (ideal %.1f s): busy %.2f%% (queue positions every %d ms, prefetch %s)",
                  workers.completed.get(),
                  busyTasks,
                  taskMillis,
                  WORKERS,
                  window / 1000.0,
                  busyTasks * taskMillis / (double) WORKERS / 1000.0,
                  100 * busy,
                  positionMillis,
                  prefetch));
        }
        if (mode == DeliveryGuarantee.AT_LEAST_ONCE && fairBulk > 0) {
          fairness(workers, producer, codec, taskMillis);
        }
        if (mode == DeliveryGuarantee.AT_LEAST_ONCE && kill) {
          killed(workers, producer, codec);
        }
      } finally {
        job.cancel().get();
      }
    }
  }

  /** Tenant A's bulk, then tenant B's single render and a priority-9 render behind it. */
  private static void fairness(
      EmulatedWorkers workers,
      KafkaProducer<byte[], byte[]> producer,
      RecordCodec codec,
      long taskMillis)
      throws Exception {
    // The previous phase has drained; a pause lets the last READY events reach the scheduler.
    Thread.sleep(1000);
    workers.resetCounters();
    workers.taskMillis(taskMillis);
    Map<String, Long> submitted = new java.util.HashMap<>();
    for (int i = 0; i < fairBulk; i++) {
      submit(producer, codec, "bulk-a-" + i, "tenant-a", 5);
    }
    submitted.put("single-b", submit(producer, codec, "single-b", "tenant-b", 5));
    submitted.put("urgent-a", submit(producer, codec, "urgent-a", "tenant-a", 9));
    producer.flush();
    long ideal = fairBulk * taskMillis / WORKERS;
    long until = System.currentTimeMillis() + ideal * 3 + 120_000;
    while (!workers.startedAt.keySet().containsAll(submitted.keySet())
        && System.currentTimeMillis() < until) {
      Thread.sleep(100);
    }
    TABLE.row(
        "fairness: tenant B's 1 render behind tenant A's " + fairBulk + " (wait until start)",
        waitOf(workers, submitted, "single-b") + " (FIFO estimate " + ideal + " ms)");
    TABLE.row(
        "priority: a priority-9 render behind the same backlog (wait until start)",
        waitOf(workers, submitted, "urgent-a"));
    // Drain the bulk so the next phase starts on an idle pool.
    until = System.currentTimeMillis() + ideal * 3 + 120_000;
    while (workers.completed.get() < fairBulk + 2 && System.currentTimeMillis() < until) {
      Thread.sleep(200);
    }
  }

  private static String waitOf(EmulatedWorkers workers, Map<String, Long> submitted, String id) {
    Long start = workers.startedAt.get(id);
    return start == null ? "did not start" : (start - submitted.get(id)) + " ms";
  }

  /**
   * One render runs on an emulated worker that is then killed: it never completes the task and
   * sends nothing more. Its lease expires, the attempt is fenced and the next attempt goes to an
   * idle worker.
   */
  private static void killed(
      EmulatedWorkers workers, KafkaProducer<byte[], byte[]> producer, RecordCodec codec)
      throws Exception {
    // The previous phase has drained; a pause lets the last READY events reach the scheduler.
    Thread.sleep(1000);
    workers.resetCounters();
    workers.taskMillis(600_000);
    submit(producer, codec, "killed-0", "demo", 5);
    producer.flush();
    long until = System.currentTimeMillis() + 60_000;
    while (workers.received.isEmpty() && System.currentTimeMillis() < until) {
      Thread.sleep(10);
    }
    EmulatedWorkers.Received first = workers.received.peek();
    if (first == null) {
      TABLE.row("worker killed mid-task", "the task never reached a worker");
      return;
    }
    long startedAt = first.at();
    workers.kill(workers.workerOf(first.partition()));
    long killedAt = System.currentTimeMillis();
    until = killedAt + leaseMillis * 3 + 120_000;
    EmulatedWorkers.Received next = null;
    while (next == null && System.currentTimeMillis() < until) {
      for (EmulatedWorkers.Received r : workers.received) {
        if (r.task().getAttempt() > first.task().getAttempt()) {
          next = r;
        }
      }
      Thread.sleep(20);
    }
    TABLE.row(
        "worker killed mid-task → next attempt at another worker",
        next == null
            ? "not redelivered"
            : String.format(
                Locale.ROOT,
                "%d ms after the kill, %d ms after the task started (attempt %d, task.lease %d ms,"
                    + " re-queued without backoff; the EMULATED worker sends no heartbeat, so the lease runs from STARTED)",
                next.at() - killedAt,
                next.at() - startedAt,
                next.task().getAttempt(),
                leaseMillis));
  }

  private static long submit(KafkaProducer<byte[], byte[]> producer, RecordCodec codec, String id)
      throws Exception {
    return submit(producer, codec, id, id.hashCode() % 2 == 0 ? "demo" : "acme", 5);
  }

  private static long submit(
      KafkaProducer<byte[], byte[]> producer,
      RecordCodec codec,
      String id,
      String tenant,
      int priority)
      throws Exception {
    RenderRequest r = Fixtures.request(id, tenant, priority, UpscaleTarget.NONE);
    Instant now = Instant.now();
    r.setSubmittedAt(now);
    producer.send(
        new ProducerRecord<>(
            TopicNames.REQUESTS,
            id.getBytes(StandardCharsets.UTF_8),
            codec.encode(TopicNames.REQUESTS, r)));
    return now.toEpochMilli();
  }
}
