package dev.reelflow.bench;

import dev.reelflow.emulated.EmulatedShareGroupWorkers;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.stack.LocalStack;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code sharegroup}: the {@code pipeline} suite's workload served by a Kafka share group (KIP-932)
 * instead of the orchestrator (ARCHITECTURE.md, decision 3), with EMULATED share-group workers (one
 * task at a time, a sleep, explicit ACCEPT; one record per poll). Same sizes and the same baselines
 * as {@code pipeline}, so the two suites' ratios line up. Each repetition:
 *
 * <ul>
 *   <li>dispatch latency on an idle pool (task produced until a worker's poll returns it) p50/p99,
 *       against a plain Kafka produce-to-consume round trip on the same broker;
 *   <li>busy fraction: N tasks at once, makespan against the ideal {@code N x task / workers};
 *   <li>fairness and priority: tenant B's one task and a priority-9 task behind tenant A's bulk,
 *       their wait until start against the FIFO estimate (a share group knows neither tenants nor
 *       priorities);
 *   <li>(default and full sizes) a worker JVM killed (SIGKILL) and one frozen (SIGSTOP) while it
 *       holds a task: from its acquisition until another worker acquires it, against the broker's
 *       record lock duration (set to the pipeline suite's task lease).
 * </ul>
 */
public final class ShareGroupSuite implements BenchSuite {
  private static final String TOPIC = "bench.share-group.tasks";
  private static final String GROUP = "reelflow-bench-share";
  private static final String HOLD_TOPIC = "bench.share-group.hold.";

  @Override
  public String name() {
    return "sharegroup";
  }

  @Override
  public String description() {
    return "Kafka share group (KIP-932) instead of the orchestrator, EMULATED workers: the"
        + " pipeline suite's latency, busy fraction, fairness, priority, killed/frozen worker";
  }

  private record Params(
      int workers,
      int latencyRequests,
      long latencyGapMillis,
      int busyTasks,
      long taskMillis,
      int fairBulk,
      int lockMillis,
      boolean holdPhases) {}

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    Params p =
        ctx.size()
            .pick(
                new Params(4, 5, 20, 8, 50, 4, 15_000, false),
                new Params(16, 100, 50, 1000, 200, 200, 10_000, true),
                new Params(16, 200, 50, 5000, 200, 2000, 30_000, true));
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .emulated(true)
            .parameter("workers", p.workers())
            .parameter("latencyRequests", p.latencyRequests())
            .parameter("latencyGapMillis", p.latencyGapMillis())
            .parameter("busyTasks", p.busyTasks())
            .parameter("taskMillis", p.taskMillis())
            .parameter("fairBulk", p.fairBulk())
            .parameter("recordLockMillis", p.lockMillis())
            .parameter("acquireMode", "record_limit")
            .parameter("maxPollRecords", 1)
            .parameter("partitions", 1);
    out.note(
        "EMULATED share-group workers (sleep-based task durations, no rendering): one"
            + " KafkaShareConsumer each in one share group, one record per poll (record_limit),"
            + " explicit ACCEPT; the broker, registry and workers share this machine's cores");
    if (!p.holdPhases()) {
      out.note("size tiny skips the killed and frozen worker (each waits out a record lock)");
    }
    PoolFigures f =
        PoolFigures.of("produce to acquired", "task", p.busyTasks(), p.workers(), p.fairBulk());
    Figure.Builder killed =
        new Figure.Builder(
            "worker killed (SIGKILL) holding a task: acquired to acquired by another worker",
            "ms",
            "record lock duration",
            Figure.BaselineKind.IDEAL);
    Figure.Builder frozen =
        new Figure.Builder(
            "worker frozen (SIGSTOP) holding a task: acquired to acquired by another worker",
            "ms",
            "record lock duration",
            Figure.BaselineKind.IDEAL);

    ctx.progress().step("starting broker and registry (record lock " + p.lockMillis() + " ms)");
    LocalStack.Builder sb =
        LocalStack.builder()
            .workDir(ctx.workDir().resolve("stack"))
            .kafka()
            .registry()
            .kafkaProperty("group.share.record.lock.duration.ms", String.valueOf(p.lockMillis()))
            .kafkaProperty(
                "group.share.min.record.lock.duration.ms",
                String.valueOf(Math.min(p.lockMillis(), 15_000)));
    try (LocalStack stack = sb.build().start()) {
      String bootstrap = stack.bootstrapServers();
      String registry = stack.schemaRegistryUrl();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        admin
            .createTopics(
                List.of(
                    new NewTopic(TOPIC, 1, (short) 1),
                    new NewTopic(HOLD_TOPIC + "kill", 1, (short) 1),
                    new NewTopic(HOLD_TOPIC + "stop", 1, (short) 1)))
            .all()
            .get();
        EmulatedShareGroupWorkers.startFromEarliest(admin, GROUP);
        EmulatedShareGroupWorkers.startFromEarliest(admin, GROUP + "-kill");
        EmulatedShareGroupWorkers.startFromEarliest(admin, GROUP + "-stop");
      }
      try (KafkaProducer<String, RenderTask> producer = producer(bootstrap, registry);
          EmulatedShareGroupWorkers pool =
              EmulatedShareGroupWorkers.builder()
                  .bootstrapServers(bootstrap)
                  .registryUrl(registry)
                  .topic(TOPIC)
                  .group(GROUP)
                  .workers(p.workers())
                  .taskMillis(20)
                  .build()) {
        ctx.progress().step("warming up until a task goes through (the group forms)");
        long until = System.currentTimeMillis() + 120_000;
        for (int i = 0; pool.completed() == 0; i++) {
          if (System.currentTimeMillis() > until) {
            throw new IllegalStateException("no task completed within 120 s of warm-up");
          }
          pool.check();
          send(producer, TOPIC, EmulatedShareGroupWorkers.baseTask("warm-" + i, "demo", 5));
          producer.flush();
          Thread.sleep(500);
        }
        Thread.sleep(ctx.size() == BenchSize.TINY ? 500 : 3000);
        for (int rep = 0; rep < ctx.repetitions(); rep++) {
          String tag = "r" + rep;
          ctx.progress().step("repetition " + (rep + 1) + "/" + ctx.repetitions());
          double[] rt =
              PipelineSuite.roundTrip(bootstrap, p.latencyRequests(), p.latencyGapMillis());
          double[] lat = latency(ctx, pool, producer, p, tag);
          f.p50().add(lat[0], rt[0]);
          f.p99().add(lat[1], rt[1]);
          double window = busy(ctx, pool, producer, p, tag, out);
          double ideal = p.busyTasks() * p.taskMillis() / (double) p.workers() / 1000.0;
          f.makespan().add(window, ideal);
          f.busy().add(ideal / window, 1.0);
          long[] waits = fairness(pool, producer, p, tag);
          double fifo = p.fairBulk() * p.taskMillis() / (double) p.workers();
          if (waits[0] >= 0) {
            f.fair().add(waits[0], fifo);
          } else {
            out.note("fairness repetition " + rep + ": tenant B's task did not start in time");
          }
          if (waits[1] >= 0) {
            f.prio().add(waits[1], fifo);
          } else {
            out.note("priority repetition " + rep + ": the priority-9 task did not start in time");
          }
        }
      }
      if (p.holdPhases()) {
        for (int rep = 0; rep < ctx.repetitions(); rep++) {
          for (String signal : List.of("KILL", "STOP")) {
            ctx.progress()
                .step(
                    (signal.equals("KILL") ? "killing" : "freezing")
                        + " a worker holding a task "
                        + (rep + 1)
                        + "/"
                        + ctx.repetitions());
            long ms = held(bootstrap, registry, signal, rep, p.lockMillis());
            if (ms < 0) {
              out.note(signal + " repetition " + rep + ": the task was not acquired again in time");
            } else {
              (signal.equals("KILL") ? killed : frozen).add(ms, p.lockMillis());
            }
          }
        }
      }
    }
    f.addTo(out);
    out.figure(killed).figure(frozen);
    return out.build();
  }

  /** p50 and p99 in ms from a task's produce until a worker's poll returned it. */
  private static double[] latency(
      BenchContext ctx,
      EmulatedShareGroupWorkers pool,
      KafkaProducer<String, RenderTask> producer,
      Params p,
      String tag)
      throws Exception {
    pool.taskMillis(20);
    pool.resetCounters();
    for (int i = 0; i < p.latencyRequests(); i++) {
      send(producer, TOPIC, EmulatedShareGroupWorkers.baseTask("lat-" + tag + "-" + i, "demo", 5));
      producer.flush();
      ctx.progress().bar("latency tasks", i + 1, p.latencyRequests());
      Thread.sleep(p.latencyGapMillis());
    }
    await(() -> pool.completed() >= p.latencyRequests(), 30_000, pool);
    List<Long> lat = new ArrayList<>();
    for (EmulatedShareGroupWorkers.Started s : pool.started()) {
      if (s.deliveryCount() == 1) {
        lat.add(s.receivedAt() - s.task().getCreatedAt().toEpochMilli());
      }
    }
    if (lat.isEmpty()) {
      throw new IllegalStateException("no latency task reached a worker within 30 s");
    }
    Collections.sort(lat);
    return new double[] {Spread.percentile(lat, 0.50), Spread.percentile(lat, 0.99)};
  }

  /**
   * Seconds from the first start to the last completion of N tasks produced at once; notes how they
   * were acquired (batches, head-of-line wait, lost locks).
   */
  private static double busy(
      BenchContext ctx,
      EmulatedShareGroupWorkers pool,
      KafkaProducer<String, RenderTask> producer,
      Params p,
      String tag,
      SuiteResult.Builder out)
      throws Exception {
    Thread.sleep(500);
    pool.resetCounters();
    pool.taskMillis(p.taskMillis());
    for (int i = 0; i < p.busyTasks(); i++) {
      send(
          producer,
          TOPIC,
          EmulatedShareGroupWorkers.baseTask(
              "busy-" + tag + "-" + i, i % 2 == 0 ? "demo" : "acme", 5));
    }
    producer.flush();
    long deadline =
        System.currentTimeMillis() + p.busyTasks() * p.taskMillis() / p.workers() * 3 + 120_000;
    while (pool.distinctCompleted() < p.busyTasks() && System.currentTimeMillis() < deadline) {
      pool.check();
      ctx.progress().bar("busy tasks completed", pool.distinctCompleted(), p.busyTasks());
      Thread.sleep(100);
    }
    ctx.progress().bar("busy tasks completed", pool.distinctCompleted(), p.busyTasks());
    if (pool.distinctCompleted() < p.busyTasks()) {
      throw new IllegalStateException(
          "only " + pool.distinctCompleted() + "/" + p.busyTasks() + " busy tasks completed");
    }
    List<Long> hol = new ArrayList<>();
    long redelivered = 0;
    for (EmulatedShareGroupWorkers.Started s : pool.started()) {
      if (s.startedAt() > 0) {
        hol.add(s.startedAt() - s.receivedAt());
      }
      if (s.deliveryCount() > 1) {
        redelivered++;
      }
    }
    Collections.sort(hol);
    long duplicates =
        pool.completedById().values().stream().mapToLong(n -> n - 1L).filter(d -> d > 0).sum();
    out.note(
        String.format(
            Locale.ROOT,
            "busy %s: %d non-empty polls for %d records (max %d per poll); head-of-line wait"
                + " (acquired to started) p50 %.0f ms, p99 %.0f ms; %d redeliveries, %d skipped"
                + " after their lock expired, %d duplicate runs, %d failed acks",
            tag,
            pool.nonEmptyPolls(),
            pool.started().size(),
            pool.maxPollSize(),
            Spread.percentile(hol, 0.50),
            Spread.percentile(hol, 0.99),
            redelivered,
            pool.expiredSkipped(),
            duplicates,
            pool.ackFailures()));
    return (pool.lastFinish() - pool.firstStart()) / 1000.0;
  }

  /** Waits until start in ms of tenant B's task and of a priority-9 task; -1 if never. */
  private static long[] fairness(
      EmulatedShareGroupWorkers pool,
      KafkaProducer<String, RenderTask> producer,
      Params p,
      String tag)
      throws Exception {
    Thread.sleep(500);
    pool.resetCounters();
    pool.taskMillis(p.taskMillis());
    for (int i = 0; i < p.fairBulk(); i++) {
      send(
          producer,
          TOPIC,
          EmulatedShareGroupWorkers.baseTask("bulk-a-" + tag + "-" + i, "tenant-a", 5));
    }
    RenderTask single = EmulatedShareGroupWorkers.baseTask("single-b-" + tag, "tenant-b", 5);
    send(producer, TOPIC, single);
    RenderTask urgent = EmulatedShareGroupWorkers.baseTask("urgent-a-" + tag, "tenant-a", 9);
    send(producer, TOPIC, urgent);
    producer.flush();
    long ideal = p.fairBulk() * p.taskMillis() / p.workers();
    // Let the whole bulk drain so the next phase starts on an idle pool.
    await(() -> pool.distinctCompleted() >= p.fairBulk() + 2, ideal * 3 + 120_000, pool);
    return new long[] {waitOf(pool, single), waitOf(pool, urgent)};
  }

  private static long waitOf(EmulatedShareGroupWorkers pool, RenderTask t) {
    for (EmulatedShareGroupWorkers.Started s : pool.started()) {
      if (s.task().getTaskId().equals(t.getTaskId()) && s.startedAt() > 0) {
        return s.startedAt() - t.getCreatedAt().toEpochMilli();
      }
    }
    return -1;
  }

  /**
   * A worker JVM acquires a task and is sent SIGKILL (the OS closes its connections) or SIGSTOP
   * (connections stay open, nothing is sent: a hung or partitioned worker); an idle worker in the
   * same group takes the task over when the broker releases it. Returns ms from the first
   * acquisition to the second, -1 if it did not happen within three record locks and a minute.
   */
  private static long held(
      String bootstrap, String registry, String signal, int rep, long lockMillis) throws Exception {
    String suffix = signal.equals("KILL") ? "kill" : "stop";
    // A topic and group per case, so the holder's only record is the one it is stopped holding.
    String topic = HOLD_TOPIC + suffix;
    String group = GROUP + "-" + suffix;
    String java = ProcessHandle.current().info().command().orElse("java");
    Process holder =
        new ProcessBuilder(
                java,
                "-Xmx128m",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                EmulatedShareGroupWorkers.HoldingWorker.class.getName(),
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
                      new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8))) {
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
            "emulated-holding-worker-out");
    reader.setDaemon(true);
    reader.start();
    try (KafkaProducer<String, RenderTask> producer = producer(bootstrap, registry)) {
      // The holder is alone in its group until it holds the task.
      Thread.sleep(3000);
      RenderTask task = EmulatedShareGroupWorkers.baseTask("held-" + suffix + "-" + rep, "demo", 5);
      send(producer, topic, task);
      producer.flush();
      long acquiredAt;
      try {
        acquiredAt = acquired.get(60, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        return -1;
      }
      try (EmulatedShareGroupWorkers rescuer =
          EmulatedShareGroupWorkers.builder()
              .bootstrapServers(bootstrap)
              .registryUrl(registry)
              .topic(topic)
              .group(group)
              .workers(1)
              .taskMillis(10)
              .build()) {
        // Let the rescuer join and sit idle in its poll before the holder goes.
        Thread.sleep(5000);
        if (signal.equals("KILL")) {
          holder.destroyForcibly();
        } else {
          new ProcessBuilder("kill", "-STOP", String.valueOf(holder.pid()))
              .redirectErrorStream(true)
              .start()
              .waitFor();
        }
        if (!await(
            () -> rescuer.hasCompleted(task.getTaskId()), 3 * lockMillis + 60_000, rescuer)) {
          return -1;
        }
        for (EmulatedShareGroupWorkers.Started s : rescuer.started()) {
          if (s.task().getTaskId().equals(task.getTaskId())) {
            return s.receivedAt() - acquiredAt;
          }
        }
        return -1;
      }
    } finally {
      holder.destroyForcibly();
      holder.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static KafkaProducer<String, RenderTask> producer(String bootstrap, String registry) {
    return new KafkaProducer<>(
        Map.of("bootstrap.servers", bootstrap, "linger.ms", "0"),
        new StringSerializer(),
        AvroRecordSerializer.<RenderTask>builder()
            .client(SchemaRegistryClient.create(registry))
            .build());
  }

  private static void send(KafkaProducer<String, RenderTask> producer, String topic, RenderTask t) {
    producer.send(new ProducerRecord<>(topic, t.getRequestId(), t));
  }

  private static boolean await(BooleanSupplier done, long millis, EmulatedShareGroupWorkers workers)
      throws InterruptedException {
    long until = System.currentTimeMillis() + millis;
    while (!done.getAsBoolean()) {
      workers.check();
      if (System.currentTimeMillis() > until) {
        return false;
      }
      Thread.sleep(50);
    }
    return true;
  }
}
