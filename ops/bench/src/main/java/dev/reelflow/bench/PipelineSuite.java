package dev.reelflow.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.LongSerializer;

/**
 * {@code pipeline}: the orchestrator with EMULATED workers (timers, no rendering). Per delivery
 * mode a fresh broker, registry and job; then, each repetition:
 *
 * <ul>
 *   <li>dispatch latency on an idle pool (request produced, as ingest does, until the task reaches
 *       a worker) p50/p99, against a plain Kafka produce-to-consume round trip on the same broker;
 *   <li>(at-least-once) busy fraction: N tasks at once on the workers, makespan against the ideal
 *       {@code N x task / workers};
 *   <li>(at-least-once) fairness and priority: tenant B's one render and a priority-9 render behind
 *       tenant A's bulk, their wait until start against the FIFO estimate of the bulk's makespan;
 *   <li>(at-least-once) a worker killed mid-task: time until the next attempt starts elsewhere,
 *       against the task lease.
 * </ul>
 */
public final class PipelineSuite implements BenchSuite {
  private static final String ROUND_TRIP_TOPIC = "bench.round-trip";

  @Override
  public String name() {
    return "pipeline";
  }

  @Override
  public String description() {
    return "orchestrator, EMULATED workers: busy fraction vs ideal makespan, dispatch latency in"
        + " both delivery modes vs a Kafka round trip, fairness, priority, killed worker";
  }

  private record Params(
      int workers,
      int latencyRequests,
      long latencyGapMillis,
      int busyTasks,
      long taskMillis,
      int fairBulk,
      Duration lease,
      List<DeliveryGuarantee> modes) {}

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    Params p =
        ctx.size()
            .pick(
                new Params(
                    4,
                    5,
                    20,
                    8,
                    50,
                    4,
                    Duration.ofSeconds(1),
                    List.of(DeliveryGuarantee.AT_LEAST_ONCE)),
                new Params(
                    16,
                    100,
                    50,
                    1000,
                    200,
                    200,
                    Duration.ofSeconds(10),
                    List.of(DeliveryGuarantee.AT_LEAST_ONCE, DeliveryGuarantee.EXACTLY_ONCE)),
                new Params(
                    16,
                    200,
                    50,
                    5000,
                    200,
                    2000,
                    Duration.ofSeconds(30),
                    List.of(DeliveryGuarantee.AT_LEAST_ONCE, DeliveryGuarantee.EXACTLY_ONCE)));
    SuiteResult.Builder result =
        new SuiteResult.Builder(name())
            .emulated(true)
            .parameter("workers", p.workers())
            .parameter("latencyRequests", p.latencyRequests())
            .parameter("latencyGapMillis", p.latencyGapMillis())
            .parameter("busyTasks", p.busyTasks())
            .parameter("taskMillis", p.taskMillis())
            .parameter("fairBulk", p.fairBulk())
            .parameter("leaseMillis", p.lease().toMillis())
            .parameter("modes", p.modes().toString())
            .parameter("checkpointMillis", 500)
            .parameter("prefetch", false);
    result.note(
        "EMULATED workers (timer-based task durations, no rendering); one slot each, no prefetch;"
            + " the broker, registry, MiniCluster and workers share this machine's cores");
    if (p.modes().size() == 1) {
      result.note("size tiny measures at-least-once only; the default size adds exactly-once");
    }
    for (DeliveryGuarantee mode : p.modes()) {
      runMode(ctx, p, mode, result);
    }
    return result.build();
  }

  private void runMode(BenchContext ctx, Params p, DeliveryGuarantee mode, SuiteResult.Builder out)
      throws Exception {
    String m = mode == DeliveryGuarantee.AT_LEAST_ONCE ? "at-least-once" : "exactly-once";
    ctx.progress().step(m + ": starting broker, registry and orchestrator");
    Path work = ctx.workDir().resolve(m);
    OrchestratorRig.Settings settings =
        new OrchestratorRig.Settings(
            p.workers(), mode, "hashmap", Duration.ofMillis(500), p.lease(), Duration.ofSeconds(5));
    Figure.Builder p50 =
        new Figure.Builder(
            "dispatch latency p50, idle pool (" + m + ")",
            "ms",
            "Kafka produce-to-consume round trip p50",
            Figure.BaselineKind.MEASURED);
    Figure.Builder p99 =
        new Figure.Builder(
            "dispatch latency p99, idle pool (" + m + ")",
            "ms",
            "Kafka produce-to-consume round trip p99",
            Figure.BaselineKind.MEASURED);
    Figure.Builder makespan =
        new Figure.Builder(
            "makespan, " + p.busyTasks() + " tasks on " + p.workers() + " workers",
            "s",
            "ideal makespan (tasks x duration / workers)",
            Figure.BaselineKind.IDEAL);
    Figure.Builder busy =
        new Figure.Builder(
            "busy fraction, " + p.busyTasks() + " tasks on " + p.workers() + " workers",
            "fraction",
            "every worker busy (1.0)",
            Figure.BaselineKind.IDEAL);
    Figure.Builder fair =
        new Figure.Builder(
            "fairness: tenant B's render behind A's " + p.fairBulk() + ", wait until start",
            "ms",
            "FIFO wait behind the bulk (its ideal makespan)",
            Figure.BaselineKind.IDEAL);
    Figure.Builder prio =
        new Figure.Builder(
            "priority: a priority-9 render behind the bulk, wait until start",
            "ms",
            "FIFO wait behind the bulk (its ideal makespan)",
            Figure.BaselineKind.IDEAL);
    Figure.Builder killed =
        new Figure.Builder(
            "worker killed mid-task: task start to next attempt at another worker",
            "ms",
            "task lease",
            Figure.BaselineKind.IDEAL);
    boolean full = mode == DeliveryGuarantee.AT_LEAST_ONCE;
    try (OrchestratorRig rig = new OrchestratorRig(work, settings);
        EmulatedWorkers workers =
            new EmulatedWorkers(
                rig.bootstrapServers(), rig.registryUrl(), p.workers(), false, 20)) {
      ctx.progress().step(m + ": warming up until a render goes through");
      long until = System.currentTimeMillis() + 120_000;
      for (int i = 0; workers.completed.get() == 0; i++) {
        if (System.currentTimeMillis() > until) {
          throw new IllegalStateException("no render completed within 120 s of warm-up");
        }
        workers.check();
        rig.submit("warm-" + m + "-" + i, "demo", 5);
        rig.flush();
        Thread.sleep(500);
      }
      Thread.sleep(1000);
      for (int rep = 0; rep < ctx.repetitions(); rep++) {
        String tag = m + "-" + rep;
        ctx.progress().step(m + ": repetition " + (rep + 1) + "/" + ctx.repetitions());
        double[] rt = roundTrip(rig.bootstrapServers(), p.latencyRequests(), p.latencyGapMillis());
        double[] lat = latency(ctx, rig, workers, p, tag);
        p50.add(lat[0], rt[0]);
        p99.add(lat[1], rt[1]);
        if (!full) {
          continue;
        }
        double window = busy(ctx, rig, workers, p, tag);
        double ideal = p.busyTasks() * p.taskMillis() / (double) p.workers() / 1000.0;
        makespan.add(window, ideal);
        busy.add(ideal / window, 1.0);
        long[] waits = fairness(rig, workers, p, tag);
        double fifo = p.fairBulk() * p.taskMillis() / (double) p.workers();
        if (waits[0] >= 0) {
          fair.add(waits[0], fifo);
        }
        if (waits[1] >= 0) {
          prio.add(waits[1], fifo);
        }
      }
      if (full) {
        for (int rep = 0; rep < ctx.repetitions() && rep < p.workers() - 1; rep++) {
          ctx.progress().step(m + ": killing a worker mid-task " + (rep + 1));
          long ms = killed(rig, workers, p, "killed-" + rep);
          if (ms >= 0) {
            killed.add(ms, p.lease().toMillis());
          } else {
            out.note("killed worker repetition " + rep + ": the task was not redelivered in time");
          }
        }
      }
    }
    out.figure(p50).figure(p99).figure(makespan).figure(busy).figure(fair).figure(prio);
    out.figure(killed);
  }

  /** p50 and p99 in ms of renders produced one at a time until a worker has the task. */
  private static double[] latency(
      BenchContext ctx, OrchestratorRig rig, EmulatedWorkers workers, Params p, String tag)
      throws Exception {
    workers.resetCounters();
    workers.taskMillis(20);
    Map<String, Long> submitted = new HashMap<>();
    for (int i = 0; i < p.latencyRequests(); i++) {
      String id = "lat-" + tag + "-" + i;
      submitted.put(id, rig.submit(id, i % 2 == 0 ? "demo" : "acme", 5));
      rig.flush();
      ctx.progress().bar("latency requests", i + 1, p.latencyRequests());
      Thread.sleep(p.latencyGapMillis());
    }
    long until = System.currentTimeMillis() + 30_000;
    while (workers.received.size() < p.latencyRequests() && System.currentTimeMillis() < until) {
      workers.check();
      Thread.sleep(50);
    }
    List<Long> lat = new ArrayList<>();
    for (EmulatedWorkers.Received r : workers.received) {
      Long s = submitted.get(r.requestId());
      if (s != null && r.attempt() == 1) {
        lat.add(r.at() - s);
      }
    }
    Collections.sort(lat);
    if (lat.isEmpty()) {
      throw new IllegalStateException("no latency request reached a worker within 30 s");
    }
    return new double[] {Spread.percentile(lat, 0.50), Spread.percentile(lat, 0.99)};
  }

  /** Seconds from the first task start to the last completion of N tasks submitted at once. */
  private static double busy(
      BenchContext ctx, OrchestratorRig rig, EmulatedWorkers workers, Params p, String tag)
      throws Exception {
    Thread.sleep(500);
    workers.resetCounters();
    workers.taskMillis(p.taskMillis());
    for (int i = 0; i < p.busyTasks(); i++) {
      rig.submit("busy-" + tag + "-" + i, i % 2 == 0 ? "demo" : "acme", 5);
    }
    rig.flush();
    long deadline =
        System.currentTimeMillis() + p.busyTasks() * p.taskMillis() / p.workers() * 3 + 120_000;
    while (workers.completed.get() < p.busyTasks() && System.currentTimeMillis() < deadline) {
      workers.check();
      ctx.progress().bar("busy tasks completed", workers.completed.get(), p.busyTasks());
      Thread.sleep(100);
    }
    ctx.progress().bar("busy tasks completed", workers.completed.get(), p.busyTasks());
    if (workers.completed.get() < p.busyTasks()) {
      throw new IllegalStateException(
          "only " + workers.completed.get() + "/" + p.busyTasks() + " busy tasks completed");
    }
    return (workers.lastFinish.get() - workers.firstStart.get()) / 1000.0;
  }

  /** Waits until start in ms of tenant B's render and of a priority-9 render; -1 if never. */
  private static long[] fairness(OrchestratorRig rig, EmulatedWorkers workers, Params p, String tag)
      throws Exception {
    Thread.sleep(500);
    workers.resetCounters();
    workers.taskMillis(p.taskMillis());
    for (int i = 0; i < p.fairBulk(); i++) {
      rig.submit("bulk-a-" + tag + "-" + i, "tenant-a", 5);
    }
    String single = "single-b-" + tag;
    String urgent = "urgent-a-" + tag;
    long singleAt = rig.submit(single, "tenant-b", 5);
    long urgentAt = rig.submit(urgent, "tenant-a", 9);
    rig.flush();
    long ideal = p.fairBulk() * p.taskMillis() / p.workers();
    long until = System.currentTimeMillis() + ideal * 3 + 120_000;
    while (workers.completed.get() < p.fairBulk() + 2 && System.currentTimeMillis() < until) {
      workers.check();
      Thread.sleep(100);
    }
    Long s = workers.startedAt.get(single);
    Long u = workers.startedAt.get(urgent);
    return new long[] {s == null ? -1 : s - singleAt, u == null ? -1 : u - urgentAt};
  }

  /** ms from the killed task's start until its next attempt reaches a worker; -1 if never. */
  private static long killed(OrchestratorRig rig, EmulatedWorkers workers, Params p, String id)
      throws Exception {
    Thread.sleep(500);
    workers.resetCounters();
    workers.taskMillis(600_000);
    rig.submit(id, "demo", 5);
    rig.flush();
    long until = System.currentTimeMillis() + 60_000;
    while (workers.received.isEmpty() && System.currentTimeMillis() < until) {
      workers.check();
      Thread.sleep(10);
    }
    EmulatedWorkers.Received first = workers.received.peek();
    if (first == null) {
      return -1;
    }
    workers.kill(workers.workerOf(first.partition()));
    until = System.currentTimeMillis() + p.lease().toMillis() * 3 + 60_000;
    while (System.currentTimeMillis() < until) {
      for (EmulatedWorkers.Received r : workers.received) {
        if (r.requestId().equals(id) && r.attempt() > first.attempt()) {
          workers.taskMillis(p.taskMillis());
          return r.at() - first.at();
        }
      }
      Thread.sleep(20);
    }
    return -1;
  }

  /**
   * The floor under any dispatch: a plain producer to consumer round trip on the same broker, same
   * producer settings (linger 0), same spacing between messages; p50 and p99 in ms.
   */
  static double[] roundTrip(String bootstrap, int n, long gapMillis) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      if (!admin.listTopics().names().get().contains(ROUND_TRIP_TOPIC)) {
        admin.createTopics(List.of(new NewTopic(ROUND_TRIP_TOPIC, 1, (short) 1))).all().get();
      }
    }
    TopicPartition tp = new TopicPartition(ROUND_TRIP_TOPIC, 0);
    List<Double> lat = new ArrayList<>();
    try (KafkaProducer<Long, Long> producer =
            new KafkaProducer<>(
                Map.of("bootstrap.servers", bootstrap, "linger.ms", "0"),
                new LongSerializer(),
                new LongSerializer());
        KafkaConsumer<Long, Long> consumer =
            new KafkaConsumer<>(
                Map.of(
                    "bootstrap.servers", bootstrap,
                    "enable.auto.commit", "false",
                    "fetch.max.wait.ms", "10"),
                new LongDeserializer(),
                new LongDeserializer())) {
      consumer.assign(List.of(tp));
      consumer.seekToEnd(List.of(tp));
      consumer.position(tp);
      for (int i = 0; i < n; i++) {
        producer.send(new ProducerRecord<>(ROUND_TRIP_TOPIC, 0L, System.nanoTime()));
        producer.flush();
        long until = System.currentTimeMillis() + 10_000;
        boolean got = false;
        while (!got && System.currentTimeMillis() < until) {
          for (ConsumerRecord<Long, Long> r : consumer.poll(Duration.ofMillis(5))) {
            lat.add((System.nanoTime() - r.value()) / 1e6);
            got = true;
          }
        }
        Thread.sleep(gapMillis);
      }
    }
    Collections.sort(lat);
    return new double[] {Spread.percentile(lat, 0.50), Spread.percentile(lat, 0.99)};
  }
}
