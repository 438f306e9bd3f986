package dev.reelflow.bench;

import dev.reelflow.emulated.EmulatedWorkers;
import dev.reelflow.worker.WorkerConfig;
import dev.reelflow.worker.WorkerProcess;
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
 *       against the task lease;
 *   <li>(at-least-once, first, on the same orchestrator) the worker runtime: a worker process of
 *       gpu-operator with one slot per worker and the EMULATED engine (a sleep per step, then a
 *       synthetic clip encoded and uploaded to the local S3) drains N renders; its makespan and
 *       each worker's gap from a COMPLETED to its next STARTED (p50, p99), against the
 *       protocol-only emulated workers on the same workload (measured after it).
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
        + " both delivery modes vs a Kafka round trip, fairness, priority, killed worker; the"
        + " worker runtime (emulated engine) vs protocol-only emulated workers";
  }

  private record Params(
      int workers,
      int latencyRequests,
      long latencyGapMillis,
      int busyTasks,
      long taskMillis,
      int fairBulk,
      Duration lease,
      List<DeliveryGuarantee> modes,
      int runtimeTasks,
      long runtimeTaskMillis) {}

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
                    List.of(DeliveryGuarantee.AT_LEAST_ONCE),
                    8,
                    400),
                new Params(
                    16,
                    100,
                    50,
                    1000,
                    200,
                    200,
                    Duration.ofSeconds(10),
                    List.of(DeliveryGuarantee.AT_LEAST_ONCE, DeliveryGuarantee.EXACTLY_ONCE),
                    160,
                    2000),
                new Params(
                    16,
                    200,
                    50,
                    5000,
                    200,
                    2000,
                    Duration.ofSeconds(30),
                    List.of(DeliveryGuarantee.AT_LEAST_ONCE, DeliveryGuarantee.EXACTLY_ONCE),
                    800,
                    2000));
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
            .parameter("runtimeTasks", p.runtimeTasks())
            .parameter("runtimeTaskMillis", p.runtimeTaskMillis())
            .parameter("checkpointMillis", 500)
            .parameter("prefetch", false);
    result.note(
        "EMULATED workers (timer-based task durations, no rendering); one slot each, no prefetch;"
            + " the broker, registry, MiniCluster and workers share this machine's cores");
    result.note(
        "worker runtime (at-least-once): one worker process (gpu-operator) with one slot per"
            + " worker and the EMULATED engine (a sleep per step, a synthetic clip that is encoded"
            + " and uploaded to the local S3), on the same orchestrator; its baseline is the"
            + " protocol-only EMULATED workers on the same workload, measured after it");
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
    PoolFigures f = PoolFigures.of(m, "render", p.busyTasks(), p.workers(), p.fairBulk());
    Figure.Builder killed =
        new Figure.Builder(
            "worker killed mid-task: task start to next attempt at another worker",
            "ms",
            "task lease",
            Figure.BaselineKind.IDEAL);
    String runtimeWork =
        p.runtimeTasks()
            + " tasks of "
            + p.runtimeTaskMillis()
            + " ms on "
            + p.workers()
            + " slots";
    Figure.Builder runtimeMakespan =
        new Figure.Builder(
            "worker runtime (emulated engine): makespan, " + runtimeWork,
            "s",
            "protocol-only EMULATED workers' makespan, same tasks and orchestrator",
            Figure.BaselineKind.MEASURED);
    Figure.Builder runtimeGap50 =
        new Figure.Builder(
            "worker runtime gap p50, a worker's COMPLETED to its next STARTED, " + runtimeWork,
            "ms",
            "protocol-only EMULATED workers' gap p50, same tasks and orchestrator",
            Figure.BaselineKind.MEASURED);
    Figure.Builder runtimeGap99 =
        new Figure.Builder(
            "worker runtime gap p99, a worker's COMPLETED to its next STARTED, " + runtimeWork,
            "ms",
            "protocol-only EMULATED workers' gap p99, same tasks and orchestrator",
            Figure.BaselineKind.MEASURED);
    boolean full = mode == DeliveryGuarantee.AT_LEAST_ONCE;
    try (OrchestratorRig rig = new OrchestratorRig(work, settings, full);
        StageEventTap tap = new StageEventTap(rig.bootstrapServers(), rig.registryUrl())) {
      List<double[]> runtime =
          full ? workerRuntime(ctx, rig, tap, p, work.resolve("worker")) : List.of();
      try (EmulatedWorkers workers = rig.emulatedWorkers(p.workers(), 20)) {
        ctx.progress().step(m + ": warming up until a render goes through");
        long until = System.currentTimeMillis() + 120_000;
        for (int i = 0; workers.completed() == 0; i++) {
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
          double[] rt =
              roundTrip(rig.bootstrapServers(), p.latencyRequests(), p.latencyGapMillis());
          double[] lat = latency(ctx, rig, workers, p, tag);
          f.p50().add(lat[0], rt[0]);
          f.p99().add(lat[1], rt[1]);
          if (!full) {
            continue;
          }
          double window = busy(ctx, rig, workers, p, tag);
          double ideal = p.busyTasks() * p.taskMillis() / (double) p.workers() / 1000.0;
          f.makespan().add(window, ideal);
          f.busy().add(ideal / window, 1.0);
          long[] waits = fairness(rig, workers, p, tag);
          double fifo = p.fairBulk() * p.taskMillis() / (double) p.workers();
          if (waits[0] >= 0) {
            f.fair().add(waits[0], fifo);
          }
          if (waits[1] >= 0) {
            f.prio().add(waits[1], fifo);
          }
        }
        for (int rep = 0; rep < runtime.size(); rep++) {
          ctx.progress()
              .step(m + ": the worker runtime's workload on EMULATED workers " + (rep + 1));
          workers.taskMillis(p.runtimeTaskMillis());
          double[] emulated = runtimeWorkload(ctx, rig, tap, p, "rte-" + rep + "-", workers::check);
          workers.taskMillis(p.taskMillis());
          runtimeMakespan.add(runtime.get(rep)[0], emulated[0]);
          runtimeGap50.add(runtime.get(rep)[1], emulated[1]);
          runtimeGap99.add(runtime.get(rep)[2], emulated[2]);
        }
        if (full) {
          for (int rep = 0; rep < ctx.repetitions() && rep < p.workers() - 1; rep++) {
            ctx.progress().step(m + ": killing a worker mid-task " + (rep + 1));
            long ms = killed(rig, workers, p, "killed-" + rep);
            if (ms >= 0) {
              killed.add(ms, p.lease().toMillis());
            } else {
              out.note(
                  "killed worker repetition " + rep + ": the task was not redelivered in time");
            }
          }
        }
      }
    }
    f.addTo(out);
    out.figure(killed).figure(runtimeMakespan).figure(runtimeGap50).figure(runtimeGap99);
  }

  /**
   * The worker runtime's workload on a worker process with the EMULATED engine, one slot per
   * worker, on this rig; per repetition {makespan s, gap p50 ms, gap p99 ms}. The process is closed
   * before returning (its workers announce STOPPED, so the orchestrator forgets them).
   */
  private static List<double[]> workerRuntime(
      BenchContext ctx, OrchestratorRig rig, StageEventTap tap, Params p, Path dir)
      throws Exception {
    ctx.progress().step("at-least-once: starting a worker process (emulated engine)");
    Map<String, String> cfg = rig.workerConfig();
    cfg.put(WorkerConfig.ENGINE.name(), "emulated");
    cfg.put(WorkerConfig.WORKER_ID.name(), "bench-runtime");
    cfg.put(WorkerConfig.SLOTS.name(), Integer.toString(p.workers()));
    cfg.put(WorkerConfig.HEARTBEAT_INTERVAL.name(), p.lease().toMillis() / 4 + "ms");
    cfg.put(WorkerConfig.METRICS_PORT.name(), "-1");
    cfg.put(WorkerConfig.WORK_DIR.name(), dir.toString());
    // the renders have 4 steps
    cfg.put("engine.emulated.step", p.runtimeTaskMillis() / 4 + "ms");
    cfg.put("kafka.session.timeout.ms", "6000");
    cfg.put("kafka.heartbeat.interval.ms", "1000");
    List<double[]> reps = new ArrayList<>();
    try (WorkerProcess pool = WorkerProcess.start(WorkerConfig.of(cfg))) {
      if (!pool.awaitReady(Duration.ofMinutes(2))) {
        throw new IllegalStateException("the worker process did not join its group in 2 minutes");
      }
      ctx.progress().step("at-least-once: warming up the worker process");
      tap.window("rtw-");
      long until = System.currentTimeMillis() + 120_000;
      for (int i = 0; tap.completed() == 0; i++) {
        if (System.currentTimeMillis() > until) {
          throw new IllegalStateException("the worker process completed no render in 120 s");
        }
        rig.submit("rtw-" + i, "demo", 5);
        rig.flush();
        Thread.sleep(1000);
      }
      Thread.sleep(1000);
      for (int rep = 0; rep < ctx.repetitions(); rep++) {
        ctx.progress().step("at-least-once: worker runtime repetition " + (rep + 1));
        reps.add(runtimeWorkload(ctx, rig, tap, p, "rt-" + rep + "-", () -> {}));
      }
    }
    return reps;
  }

  /**
   * Submits the worker runtime's workload at once and waits until every render completed; {makespan
   * s, gap p50 ms, gap p99 ms} from the workers' stage events.
   */
  private static double[] runtimeWorkload(
      BenchContext ctx,
      OrchestratorRig rig,
      StageEventTap tap,
      Params p,
      String prefix,
      Runnable check)
      throws Exception {
    Thread.sleep(500);
    tap.window(prefix);
    for (int i = 0; i < p.runtimeTasks(); i++) {
      rig.submit(prefix + i, i % 2 == 0 ? "demo" : "acme", 5);
    }
    rig.flush();
    long deadline =
        System.currentTimeMillis()
            + p.runtimeTasks() * p.runtimeTaskMillis() / p.workers() * 4
            + 120_000;
    while (tap.completed() < p.runtimeTasks() && System.currentTimeMillis() < deadline) {
      check.run();
      ctx.progress().bar("renders completed", tap.completed(), p.runtimeTasks());
      Thread.sleep(100);
    }
    ctx.progress().bar("renders completed", tap.completed(), p.runtimeTasks());
    if (tap.completed() < p.runtimeTasks()) {
      throw new IllegalStateException(
          "only "
              + tap.completed()
              + "/"
              + p.runtimeTasks()
              + " renders completed ("
              + prefix
              + ")");
    }
    List<Long> gaps = tap.gaps();
    return new double[] {
      tap.makespanSeconds(), Spread.percentile(gaps, 0.50), Spread.percentile(gaps, 0.99)
    };
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
    while (workers.received().size() < p.latencyRequests() && System.currentTimeMillis() < until) {
      workers.check();
      Thread.sleep(50);
    }
    List<Long> lat = new ArrayList<>();
    for (EmulatedWorkers.Received r : workers.received()) {
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
    while (workers.completed() < p.busyTasks() && System.currentTimeMillis() < deadline) {
      workers.check();
      ctx.progress().bar("busy tasks completed", workers.completed(), p.busyTasks());
      Thread.sleep(100);
    }
    ctx.progress().bar("busy tasks completed", workers.completed(), p.busyTasks());
    if (workers.completed() < p.busyTasks()) {
      throw new IllegalStateException(
          "only " + workers.completed() + "/" + p.busyTasks() + " busy tasks completed");
    }
    return (workers.lastFinish() - workers.firstStart()) / 1000.0;
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
    while (workers.completed() < p.fairBulk() + 2 && System.currentTimeMillis() < until) {
      workers.check();
      Thread.sleep(100);
    }
    Long s = workers.startedAt().get(single);
    Long u = workers.startedAt().get(urgent);
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
    while (workers.received().isEmpty() && System.currentTimeMillis() < until) {
      workers.check();
      Thread.sleep(10);
    }
    if (workers.received().isEmpty()) {
      return -1;
    }
    EmulatedWorkers.Received first = workers.received().iterator().next();
    workers.kill(workers.workerOf(first.partition()));
    // The next attempt is an ordinary task: left at 600 s it would run on, silent (emulated
    // workers send no heartbeats), into the next repetition, where LeaseStallGuard would read two
    // silent attempts as a stalled input and hold that repetition's lease up to the stall hold.
    workers.taskMillis(p.taskMillis());
    until = System.currentTimeMillis() + p.lease().toMillis() * 3 + 60_000;
    while (System.currentTimeMillis() < until) {
      for (EmulatedWorkers.Received r : workers.received()) {
        if (r.requestId().equals(id) && r.attempt() > first.attempt()) {
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
