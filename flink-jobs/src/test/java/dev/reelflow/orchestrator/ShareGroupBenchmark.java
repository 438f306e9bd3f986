package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.stack.LocalStack;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The pool benchmark's workload served by a Kafka share group (KIP-932) instead of the
 * orchestrator, with EMULATED workers (sleep-based, no rendering); a program, not a test. Tasks are
 * produced to one topic; every emulated worker is a {@link KafkaShareConsumer} of one share group
 * that runs one task at a time and acknowledges it ACCEPT ({@link ShareGroupWorkers}). Phases, in
 * the order of the orchestrator's ({@code reelflow bench pipeline}) so the two tables line up:
 *
 * <ol>
 *   <li>dispatch latency on an idle pool: one task every 50 ms; produce → returned by a worker's
 *       poll (acquired), p50/p99/max;
 *   <li>busy fraction: {@code busyTasks} tasks of {@code taskMillis} produced at once; busy = run
 *       time / (workers × first start to last completion), with the head-of-line wait of records
 *       acquired in one batch (receipt → start), redeliveries and duplicates;
 *   <li>fairness and priority: tenant A produces {@code fairBulk} tasks, then tenant B one, then a
 *       priority-9 task; the wait of the last two until they start. A share group knows neither
 *       tenants nor priorities: both wait behind the bulk;
 *   <li>a worker killed mid-task (SIGKILL of a worker JVM) and a worker frozen mid-task (SIGSTOP:
 *       no heartbeats, connection open, as a hung process or a partitioned host): time from then
 *       until another worker acquires the task.
 * </ol>
 *
 * <p>Args: {@code [workers=16] [busyTasks=160] [taskMillis=2000] [latencyRequests=100]
 * [fairBulk=160] [acquire=record_limit:1] [partitions=1] [kill=true] [lockMillis=broker default]}.
 * {@code acquire} is {@code share.acquire.mode:max.poll.records}, e.g. {@code batch_optimized:500}
 * for the client's default batching; {@code lockMillis} sets the broker's {@code
 * group.share.record.lock.duration.ms} (Kafka's default is 30 s, the same as our task lease). The
 * pool benchmark's sizes: {@code 16 2000 2000 200 2000}.
 */
public final class ShareGroupBenchmark {
  private static final String TOPIC = TopicNames.TASKS_BASE;
  private static final String GROUP = "reelflow-share-bench";
  private static final String KILL_TOPIC = "bench.kill.";

  private ShareGroupBenchmark() {}

  public static void main(String[] args) throws Exception {
    int workers = intArg(args, 0, 16);
    int busyTasks = intArg(args, 1, 160);
    long taskMillis = intArg(args, 2, 2000);
    int latencyRequests = intArg(args, 3, 100);
    int fairBulk = intArg(args, 4, 160);
    String[] acquire = (args.length > 5 ? args[5] : "record_limit:1").split(":");
    String acquireMode = acquire[0];
    int maxPollRecords = Integer.parseInt(acquire[1]);
    int partitions = intArg(args, 6, 1);
    boolean kill = args.length <= 7 || Boolean.parseBoolean(args[7]);
    Integer lockMillis = args.length > 8 ? Integer.valueOf(args[8]) : null;

    BenchTable table = new BenchTable();
    String setup =
        String.format(
            Locale.ROOT,
            "EMULATED workers (sleep-based, no rendering): %d share consumers in one share group,"
                + " one task at a time, explicit ACCEPT; share.acquire.mode=%s, max.poll.records=%d;"
                + " topic with %d partition(s); %d cores",
            workers,
            acquireMode,
            maxPollRecords,
            partitions,
            Runtime.getRuntime().availableProcessors());
    System.out.println(setup);
    Path work = Files.createTempDirectory("reelflow-share-bench");
    LocalStack.Builder sb =
        LocalStack.builder().workDir(work).deleteWorkDirOnClose(true).kafka().registry();
    if (lockMillis != null) {
      sb.kafkaProperty("group.share.record.lock.duration.ms", lockMillis.toString());
      sb.kafkaProperty(
          "group.share.min.record.lock.duration.ms", String.valueOf(Math.min(lockMillis, 15_000)));
    }
    try (LocalStack stack = sb.build()) {
      stack.start();
      String bootstrap = stack.bootstrapServers();
      Map<String, String> broker;
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        admin
            .createTopics(
                List.of(
                    new NewTopic(TOPIC, partitions, (short) 1),
                    new NewTopic(KILL_TOPIC + "kill", 1, (short) 1),
                    new NewTopic(KILL_TOPIC + "stop", 1, (short) 1)))
            .all()
            .get();
        startFromEarliest(admin, GROUP);
        broker = brokerSettings(admin);
      }
      System.out.println("broker: " + broker);
      RecordCodec codec = new RegistryRecordCodec(stack.schemaRegistryUrl());
      codec.open();
      try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap);
          ShareGroupWorkers pool =
              new ShareGroupWorkers(
                  bootstrap, codec, TOPIC, GROUP, workers, maxPollRecords, acquireMode, 20)) {
        // Warm up until a task goes through, so the group has formed and every member fetches.
        int warm = 0;
        while (pool.completed.get() == 0) {
          produce(producer, codec, TOPIC, "warm-" + warm++, "demo", 5);
          Thread.sleep(500);
        }
        Thread.sleep(3000);

        latency(table, pool, producer, codec, latencyRequests);
        if (busyTasks > 0) {
          busy(table, pool, producer, codec, workers, busyTasks, taskMillis);
        }
        if (fairBulk > 0) {
          fairness(table, pool, producer, codec, workers, fairBulk, taskMillis);
        }
      }
      if (kill) {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
          startFromEarliest(admin, "kill-sigkill");
          startFromEarliest(admin, "kill-sigstop");
        }
        for (String signal : List.of("KILL", "STOP")) {
          killed(table, bootstrap, codec, signal);
        }
      }
      table.row(
          "settings",
          "group.share.record.lock.duration.ms="
              + broker.get("group.share.record.lock.duration.ms")
              + ", group.share.session.timeout.ms="
              + broker.get("group.share.session.timeout.ms")
              + ", group.share.heartbeat.interval.ms="
              + broker.get("group.share.heartbeat.interval.ms")
              + ", group.share.delivery.count.limit="
              + broker.get("group.share.delivery.count.limit"));
    }
    System.out.println();
    System.out.println("Share group (KIP-932): " + setup);
    table.print();
    System.exit(0);
  }

  private static void latency(
      BenchTable table,
      ShareGroupWorkers pool,
      KafkaProducer<byte[], byte[]> producer,
      RecordCodec codec,
      int n)
      throws Exception {
    if (n <= 0) {
      return;
    }
    pool.taskMillis(20);
    pool.resetCounters();
    for (int i = 0; i < n; i++) {
      produce(producer, codec, TOPIC, "lat-" + i, "demo", 5);
      producer.flush();
      Thread.sleep(50);
    }
    waitFor(() -> pool.completed.get() >= n, 30_000);
    List<Long> lat = new ArrayList<>();
    for (ShareGroupWorkers.Started s : pool.started) {
      lat.add(s.receivedAt() - s.task().getCreatedAt().toEpochMilli());
    }
    Collections.sort(lat);
    table.row(
        "dispatch latency, idle pool (produce → acquired by a worker)",
        String.format(
            Locale.ROOT,
            "n=%d p50=%d ms p99=%d ms max=%d ms",
            lat.size(),
            BenchTable.pct(lat, 0.50),
            BenchTable.pct(lat, 0.99),
            BenchTable.max(lat)));
  }

  private static void busy(
      BenchTable table,
      ShareGroupWorkers pool,
      KafkaProducer<byte[], byte[]> producer,
      RecordCodec codec,
      int workers,
      int tasks,
      long taskMillis)
      throws Exception {
    Thread.sleep(1000);
    pool.resetCounters();
    pool.taskMillis(taskMillis);
    for (int i = 0; i < tasks; i++) {
      produce(producer, codec, TOPIC, "busy-" + i, i % 2 == 0 ? "demo" : "acme", 5);
    }
    producer.flush();
    long ideal = tasks * taskMillis / workers;
    waitFor(() -> pool.completedById.size() >= tasks, ideal * 4 + 120_000);
    long window = pool.lastFinish.get() - pool.firstStart.get();
    double busy = pool.busyMillis.get() / (workers * (double) window);
    List<Long> hol = new ArrayList<>();
    long redelivered = 0;
    for (ShareGroupWorkers.Started s : pool.started) {
      if (s.startedAt() > 0) {
        hol.add(s.startedAt() - s.receivedAt());
      }
      if (s.deliveryCount() > 1) {
        redelivered++;
      }
    }
    Collections.sort(hol);
    long duplicates =
        pool.completedById.values().stream().mapToLong(c -> c.get() - 1).filter(d -> d > 0).sum();
    table.row(
        "busy fraction",
        String.format(
            Locale.ROOT,
            "%d/%d distinct tasks of %d ms on %d workers in %.1f s (ideal %.1f s): busy %.2f%%",
            pool.completedById.size(),
            tasks,
            taskMillis,
            workers,
            window / 1000.0,
            ideal / 1000.0,
            100 * busy));
    table.row(
        "  acquisition batches",
        String.format(
            Locale.ROOT,
            "%d non-empty polls for %d records (mean %.2f, max %d per poll)",
            pool.nonEmptyPolls.get(),
            pool.started.size(),
            pool.started.size() / (double) Math.max(1, pool.nonEmptyPolls.get()),
            pool.maxPollSize.get()));
    table.row(
        "  head-of-line wait (acquired → started)",
        String.format(
            Locale.ROOT,
            "p50=%d ms p99=%d ms max=%d ms",
            BenchTable.pct(hol, 0.50),
            BenchTable.pct(hol, 0.99),
            BenchTable.max(hol)));
    table.row(
        "  lost locks",
        String.format(
            Locale.ROOT,
            "%d redeliveries, %d skipped after their lock expired, %d duplicate runs, %d failed acks",
            redelivered,
            pool.expiredSkipped.get(),
            duplicates,
            pool.ackFailures.get()));
  }

  private static void fairness(
      BenchTable table,
      ShareGroupWorkers pool,
      KafkaProducer<byte[], byte[]> producer,
      RecordCodec codec,
      int workers,
      int bulk,
      long taskMillis)
      throws Exception {
    Thread.sleep(1000);
    pool.resetCounters();
    pool.taskMillis(taskMillis);
    for (int i = 0; i < bulk; i++) {
      produce(producer, codec, TOPIC, "bulk-a-" + i, "tenant-a", 5);
    }
    String b = produce(producer, codec, TOPIC, "single-b", "tenant-b", 5).getTaskId();
    String p = produce(producer, codec, TOPIC, "urgent-a", "tenant-a", 9).getTaskId();
    producer.flush();
    long ideal = bulk * taskMillis / workers;
    waitFor(
        () -> pool.completedById.containsKey(b) && pool.completedById.containsKey(p),
        ideal * 4 + 120_000);
    table.row(
        "fairness: tenant B's 1 task behind tenant A's " + bulk + " (wait until start)",
        waitOf(pool, b) + " (FIFO estimate " + ideal + " ms)");
    table.row(
        "priority: a priority-9 task behind the same backlog (wait until start)",
        waitOf(pool, p) + " (no priorities in a share group)");
    // Let the rest of the bulk drain so a later phase starts on an idle pool.
    waitFor(() -> pool.completedById.size() >= bulk + 2, ideal * 4 + 120_000);
  }

  private static String waitOf(ShareGroupWorkers pool, String taskId) {
    for (ShareGroupWorkers.Started s : pool.started) {
      if (s.task().getTaskId().equals(taskId) && s.startedAt() > 0) {
        return (s.startedAt() - s.task().getCreatedAt().toEpochMilli()) + " ms";
      }
    }
    return "did not start";
  }

  /**
   * A worker JVM acquires a task, then is sent SIGKILL (the OS closes its connections) or SIGSTOP
   * (connections stay open, nothing is sent: a hung or partitioned worker); a second worker in the
   * same group, idle, takes the task over when the broker releases it.
   */
  private static void killed(BenchTable table, String bootstrap, RecordCodec codec, String signal)
      throws Exception {
    String group = signal.equals("KILL") ? "kill-sigkill" : "kill-sigstop";
    // A topic of its own per case, so the victim's only record is the one it is killed holding.
    String topic = KILL_TOPIC + signal.toLowerCase(Locale.ROOT);
    String java = ProcessHandle.current().info().command().orElse("java");
    Process victim =
        new ProcessBuilder(
                java,
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                Victim.class.getName(),
                bootstrap,
                topic,
                group)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    CompletableFuture<Long> acquired = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(victim.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  if (line.startsWith("ACQUIRED")) {
                    acquired.complete(System.currentTimeMillis());
                  }
                }
              } catch (Exception e) {
                acquired.completeExceptionally(e);
              }
            },
            "victim-out");
    reader.setDaemon(true);
    reader.start();
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
      // The victim is alone in the group until it holds the task.
      Thread.sleep(3000);
      RenderTask task = produce(producer, codec, topic, "killed-" + signal, "demo", 5);
      producer.flush();
      long acquiredAt = acquired.get(60, TimeUnit.SECONDS);
      try (ShareGroupWorkers rescuer =
          new ShareGroupWorkers(bootstrap, codec, topic, group, 1, 1, "record_limit", 10)) {
        // Let the rescuer join and sit idle in its poll before the victim goes.
        Thread.sleep(5000);
        long killedAt = System.currentTimeMillis();
        if (signal.equals("KILL")) {
          victim.destroyForcibly();
        } else {
          new ProcessBuilder("kill", "-STOP", String.valueOf(victim.pid()))
              .inheritIO()
              .start()
              .waitFor();
        }
        boolean done = waitFor(() -> rescuer.completed.get() > 0, 180_000);
        String figure = "not redelivered within 180 s";
        if (done) {
          ShareGroupWorkers.Started s = rescuer.started.peek();
          figure =
              String.format(
                  Locale.ROOT,
                  "%d ms after the %s, %d ms after the victim acquired it (task %s, delivery count %d)",
                  s.receivedAt() - killedAt,
                  signal.equals("KILL") ? "kill" : "freeze",
                  s.receivedAt() - acquiredAt,
                  s.task().getTaskId().equals(task.getTaskId()) ? "same" : "OTHER",
                  s.deliveryCount());
        }
        table.row(
            "worker "
                + (signal.equals("KILL") ? "killed (SIGKILL)" : "frozen (SIGSTOP)")
                + " mid-task → task acquired by another worker",
            figure);
      }
    } finally {
      victim.destroyForcibly();
      victim.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The worker JVM that {@link #killed} kills: acquires one task, says so, and holds it. */
  public static final class Victim {
    private Victim() {}

    public static void main(String[] args) throws Exception {
      try (KafkaShareConsumer<byte[], byte[]> c =
          new KafkaShareConsumer<>(
              ShareGroupWorkers.properties(args[0], args[2], 1, "record_limit", "victim"),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer())) {
        c.subscribe(List.of(args[1]));
        while (true) {
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
            System.out.println("ACQUIRED " + r.offset());
            System.out.flush();
            // EMULATED task that never ends: the process is killed or frozen while it runs.
            Thread.sleep(Long.MAX_VALUE);
            c.acknowledge(r, AcknowledgeType.ACCEPT);
          }
        }
      }
    }
  }

  /**
   * Share groups start at the latest offset by default; the benchmark and the IT start their
   * workers before producing, but a late member must still see the first records.
   */
  static void startFromEarliest(Admin admin, String group) throws Exception {
    ConfigResource r = new ConfigResource(ConfigResource.Type.GROUP, group);
    admin
        .incrementalAlterConfigs(
            Map.of(
                r,
                List.of(
                    new AlterConfigOp(
                        new ConfigEntry("share.auto.offset.reset", "earliest"),
                        AlterConfigOp.OpType.SET))))
        .all()
        .get();
  }

  private static Map<String, String> brokerSettings(Admin admin) throws Exception {
    String node = admin.describeCluster().nodes().get().iterator().next().idString();
    ConfigResource r = new ConfigResource(ConfigResource.Type.BROKER, node);
    Config c = admin.describeConfigs(List.of(r)).all().get().get(r);
    Map<String, String> out = new LinkedHashMap<>();
    for (String k :
        List.of(
            "group.share.record.lock.duration.ms",
            "group.share.session.timeout.ms",
            "group.share.heartbeat.interval.ms",
            "group.share.delivery.count.limit",
            "group.share.partition.max.record.locks",
            "group.coordinator.rebalance.protocols")) {
      ConfigEntry e = c.get(k);
      out.put(k, e == null ? "?" : e.value());
    }
    return out;
  }

  static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
    return new KafkaProducer<>(
        Map.of("bootstrap.servers", bootstrap, "linger.ms", "0"),
        new ByteArraySerializer(),
        new ByteArraySerializer());
  }

  /**
   * Produces a BASE task as the orchestrator would dispatch it; {@code createdAt} is the produce
   * time, the start of the dispatch latency.
   */
  static RenderTask produce(
      KafkaProducer<byte[], byte[]> producer,
      RecordCodec codec,
      String topic,
      String requestId,
      String tenant,
      int priority)
      throws Exception {
    Instant now = Instant.now();
    String prefix = tenant + "/2026/11/25/" + requestId + "/";
    RenderTask t =
        RenderTask.newBuilder()
            .setTaskId(RenderLifecycle.taskId(requestId, Stage.BASE, 1))
            .setRequestId(requestId)
            .setTenant(tenant)
            .setStage(Stage.BASE)
            .setAttempt(1)
            .setParams(Fixtures.params(UpscaleTarget.NONE))
            .setPriority(priority)
            .setInputs(new HashMap<>())
            .setOutputPrefix(prefix + "base/attempt-1/")
            .setFinalPrefix(prefix + "final/")
            .setPublishFinal(true)
            .setCreatedAt(now)
            .setDispatchedAt(now)
            .build();
    // The codec's subject is the task topic's, whichever topic the benchmark uses.
    producer.send(
        new ProducerRecord<>(
            topic,
            requestId.getBytes(StandardCharsets.UTF_8),
            codec.encode(TopicNames.TASKS_BASE, t)));
    return t;
  }

  private static boolean waitFor(java.util.function.BooleanSupplier done, long millis)
      throws InterruptedException {
    long until = System.currentTimeMillis() + millis;
    while (!done.getAsBoolean()) {
      if (System.currentTimeMillis() > until) {
        return false;
      }
      Thread.sleep(100);
    }
    return true;
  }

  private static int intArg(String[] args, int i, int def) {
    return args.length > i ? Integer.parseInt(args[i]) : def;
  }
}
