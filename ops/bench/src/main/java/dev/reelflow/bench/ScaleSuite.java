package dev.reelflow.bench;

import dev.reelflow.emulated.EmulatedWorkers;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * {@code scale}: the orchestrator (RocksDB state) with a deep backlog and EMULATED workers. For
 * each size N, a fresh broker, registry and job, then per repetition:
 *
 * <ol>
 *   <li>idle pool: renders produced one at a time, accept-to-dispatch p50/p99 (the baseline of the
 *       dispatch figures); a checkpoint's duration and size and the heap with nothing queued (the
 *       baselines of the state figures);
 *   <li>the workers pause (each holds at most one task unstarted), N renders are accepted and
 *       queued (the orchestrator has published a status for each), two more checkpoints complete:
 *       duration and size at N queued, heap after a GC;
 *   <li>paced probe: the workers resume with long tasks (every worker busy, but the machine far
 *       from saturated), so the time from a worker's READY to its next task (p50/p99) shows what
 *       the backlog's depth alone costs a dispatch, against the idle pool's accept-to-dispatch (the
 *       issue's "within 2x of an idle pool"); then the workers pause again until the probe's tasks
 *       are done;
 *   <li>the workers resume with the short tasks and drain the backlog: dispatches per second
 *       against the ideal {@code workers / task duration}, and per dispatch the READY-to-next-task
 *       time (p50/p99) with the whole machine saturated (broker, orchestrator and workers share its
 *       cores); and the CPU time the scheduler's thread, and all of the orchestrator's threads,
 *       spent per dispatch while draining (against one core per 1,000 dispatches/s), with the
 *       busiest threads of this JVM in a note.
 * </ol>
 *
 * Measurement only: the orchestrator is whatever this build has. The heap is this JVM's, which also
 * holds the embedded broker, the registry and the MiniCluster; RocksDB keeps state off-heap.
 */
public final class ScaleSuite implements BenchSuite {

  @Override
  public String name() {
    return "scale";
  }

  @Override
  public String description() {
    return "orchestrator at 1k/10k/(100k with --scale-sizes) queued renders, EMULATED workers:"
        + " dispatches/s, dispatch overhead at depth vs idle, checkpoint duration and size, heap";
  }

  /**
   * @param probeTaskMillis the paced probe's task duration: {@code workers / probeTaskMillis}
   *     dispatches per second, a fraction of what the machine drains
   * @param probeDispatches how many dispatches the paced probe measures (at most half the backlog)
   */
  private record Params(
      int workers,
      long taskMillis,
      Duration checkpoint,
      int idleRenders,
      List<Integer> sizes,
      long probeTaskMillis,
      int probeDispatches) {}

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    Params p =
        ctx.size()
            .pick(
                new Params(4, 20, Duration.ofMillis(300), 10, List.of(100), 100, 20),
                new Params(
                    200, 50, Duration.ofSeconds(2), 100, List.of(1_000, 10_000), 1_000, 2_000),
                new Params(
                    200,
                    50,
                    Duration.ofSeconds(2),
                    100,
                    List.of(1_000, 10_000, 100_000),
                    1_000,
                    2_000));
    List<Integer> sizes = ctx.scaleSizes().isEmpty() ? p.sizes() : ctx.scaleSizes();
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .emulated(true)
            .parameter("workers", p.workers())
            .parameter("taskMillis", p.taskMillis())
            .parameter("checkpointMillis", p.checkpoint().toMillis())
            .parameter("idleRenders", p.idleRenders())
            .parameter("probeTaskMillis", p.probeTaskMillis())
            .parameter("probeDispatches", p.probeDispatches())
            .parameter("stateBackend", "rocksdb")
            .parameter("delivery", "at-least-once")
            .parameter("queued", sizes.toString())
            .sizeLabel("queued renders")
            .note(
                "EMULATED workers (timers, no rendering), one slot each; broker, registry,"
                    + " MiniCluster and workers share this machine's cores and this JVM's heap")
            .note(
                "checkpoint figures are Flink's lastCheckpointDuration and lastCheckpointSize of"
                    + " the job (RocksDB, incremental as configured by the job)");
    for (int n : sizes) {
      runSize(ctx, p, n, out);
    }
    return out.build();
  }

  private void runSize(BenchContext ctx, Params p, int n, SuiteResult.Builder out)
      throws Exception {
    String at = " at " + n + " queued";
    Figure.Builder rate =
        new Figure.Builder(
            "dispatches/s draining" + at,
            "tasks/s",
            "ideal: workers / task duration",
            Figure.BaselineKind.IDEAL);
    String paced =
        " (READY to next task, paced: "
            + p.workers()
            + " workers x "
            + p.probeTaskMillis()
            + " ms tasks)";
    Figure.Builder paced50 =
        new Figure.Builder(
            "dispatch overhead p50" + at + paced,
            "ms",
            "idle pool accept-to-dispatch p50",
            Figure.BaselineKind.MEASURED);
    Figure.Builder paced99 =
        new Figure.Builder(
            "dispatch overhead p99" + at + paced,
            "ms",
            "idle pool accept-to-dispatch p99",
            Figure.BaselineKind.MEASURED);
    Figure.Builder t50 =
        new Figure.Builder(
            "dispatch overhead p50" + at + " (READY to next task, draining: machine saturated)",
            "ms",
            "idle pool accept-to-dispatch p50",
            Figure.BaselineKind.MEASURED);
    Figure.Builder t99 =
        new Figure.Builder(
            "dispatch overhead p99" + at + " (READY to next task, draining: machine saturated)",
            "ms",
            "idle pool accept-to-dispatch p99",
            Figure.BaselineKind.MEASURED);
    Figure.Builder cpDuration =
        new Figure.Builder(
            "checkpoint duration" + at,
            "ms",
            "checkpoint duration, nothing queued",
            Figure.BaselineKind.MEASURED);
    Figure.Builder cpSize =
        new Figure.Builder(
            "checkpoint size" + at,
            "bytes",
            "checkpoint size, nothing queued",
            Figure.BaselineKind.MEASURED);
    Figure.Builder heap =
        new Figure.Builder(
            "heap used after GC" + at,
            "bytes",
            "heap, nothing queued",
            Figure.BaselineKind.MEASURED);
    Figure.Builder schedulerCpu =
        new Figure.Builder(
            "scheduler thread CPU per dispatch" + at,
            "ms",
            "one core per 1,000 dispatches/s (the target)",
            Figure.BaselineKind.IDEAL);
    Figure.Builder flinkCpu =
        new Figure.Builder(
            "orchestrator CPU per dispatch" + at + " (every Flink task thread and source fetcher)",
            "ms",
            "one core per 1,000 dispatches/s (the target)",
            Figure.BaselineKind.IDEAL);
    ctx.progress().step(n + " queued: starting broker, registry and orchestrator (RocksDB)");
    OrchestratorRig.Settings settings =
        new OrchestratorRig.Settings(
            p.workers(),
            DeliveryGuarantee.AT_LEAST_ONCE,
            "rocksdb",
            p.checkpoint(),
            Duration.ofHours(2),
            Duration.ofSeconds(5));
    try (OrchestratorRig rig = new OrchestratorRig(ctx.workDir().resolve("n" + n), settings);
        EmulatedWorkers workers = rig.emulatedWorkers(p.workers(), p.taskMillis());
        StatusCounter statuses = new StatusCounter(rig.bootstrapServers(), rig.registryUrl())) {
      ctx.progress().step(n + " queued: warming up until a render goes through");
      warmUp(rig, workers);
      for (int rep = 0; rep < ctx.repetitions(); rep++) {
        String tag = "n" + n + "-r" + rep;
        ctx.progress().step(n + " queued: repetition " + (rep + 1) + "/" + ctx.repetitions());
        // 1. idle pool
        workers.resetCounters();
        workers.taskMillis(p.taskMillis());
        Map<String, Long> submitted = new HashMap<>();
        int idle = p.idleRenders();
        for (int i = 0; i < idle; i++) {
          String id = "idle-" + tag + "-" + i;
          submitted.put(id, rig.submit(id, "demo", 5));
          rig.flush();
          Thread.sleep(50);
        }
        awaitCount(
            () -> submitted.keySet().stream().filter(workers.startedAt()::containsKey).count(),
            idle,
            60_000,
            workers);
        Thread.sleep(p.taskMillis() * 2);
        List<Long> idleLat = new ArrayList<>();
        for (EmulatedWorkers.Received r : workers.received()) {
          Long s = submitted.get(r.requestId());
          if (s != null) {
            idleLat.add(r.at() - s);
          }
        }
        Collections.sort(idleLat);
        double[] idleCp = checkpoint(rig, 2);
        long idleHeap = heapAfterGc();

        // 2. workers paused (each holds at most one task unstarted), N accepted and queued
        workers.pause();
        String prefix = "q-" + tag + "-";
        statuses.watch(prefix);
        for (int i = 0; i < n; i++) {
          rig.submit(prefix + i, i % 3 == 0 ? "acme" : "demo", 5);
          if (i % 1000 == 999) {
            rig.flush();
            ctx.progress().bar("accepted", i + 1, n);
          }
        }
        rig.flush();
        ctx.progress().bar("accepted", n, n);
        long queueDeadline = System.currentTimeMillis() + 120_000 + n * 5L;
        while (statuses.count() < n && System.currentTimeMillis() < queueDeadline) {
          ctx.progress().bar("queued (status published)", statuses.count(), n);
          workers.check();
          Thread.sleep(200);
        }
        ctx.progress().bar("queued (status published)", statuses.count(), n);
        double[] deepCp = checkpoint(rig, 2);
        long deepHeap = heapAfterGc();

        // 3. paced probe: long tasks, so depth is the only thing that differs from the idle pool
        workers.resetCounters();
        workers.taskMillis(p.probeTaskMillis());
        workers.resume();
        int probe = Math.max(1, Math.min(p.probeDispatches(), n / 2));
        long probeDeadline = System.currentTimeMillis() + 60_000 + probe * p.probeTaskMillis();
        while (workers.turnarounds().size() < probe && System.currentTimeMillis() < probeDeadline) {
          workers.check();
          ctx.progress().bar("paced probe", workers.turnarounds().size(), probe);
          Thread.sleep(100);
        }
        List<Long> probeTurn = new ArrayList<>(workers.turnarounds());
        Collections.sort(probeTurn);
        ctx.progress().bar("paced probe", probeTurn.size(), probe);
        workers.pause();
        // the probe's tasks finish; each worker then holds one task unstarted, as before the drain
        Thread.sleep(p.probeTaskMillis() * 2 + 500);
        long doneInProbe = workers.completed();

        // 4. drain
        workers.resetCounters();
        workers.taskMillis(p.taskMillis());
        long toDrain = n - doneInProbe;
        ThreadCpu cpu = new ThreadCpu();
        workers.resume();
        // at least 20 ms a task (50 dispatches/s) before giving up, whatever the ideal rate
        long drainDeadline =
            System.currentTimeMillis()
                + Math.max(toDrain * p.taskMillis() * 5 / p.workers(), toDrain * 20L)
                + 180_000;
        while (workers.completed() < toDrain && System.currentTimeMillis() < drainDeadline) {
          workers.check();
          ctx.progress().bar("drained", workers.completed(), toDrain);
          Thread.sleep(200);
        }
        ctx.progress().bar("drained", workers.completed(), toDrain);
        Map<String, Long> cpuByThread = cpu.byName();
        long window = workers.lastFinish() - workers.firstStart();
        long drained = workers.completed();
        List<Long> turn = new ArrayList<>(workers.turnarounds());
        Collections.sort(turn);
        if (drained < toDrain) {
          out.note(
              n
                  + " queued, repetition "
                  + rep
                  + ": only "
                  + drained
                  + " of "
                  + toDrain
                  + " tasks drained in time");
        }
        if (probeTurn.size() < probe) {
          out.note(
              n
                  + " queued, repetition "
                  + rep
                  + ": the paced probe measured "
                  + probeTurn.size()
                  + " of "
                  + probe
                  + " dispatches in time");
        }
        rate.add(drained * 1000.0 / Math.max(1, window), p.workers() * 1000.0 / p.taskMillis());
        if (!probeTurn.isEmpty() && !idleLat.isEmpty()) {
          paced50.add(Spread.percentile(probeTurn, 0.50), Spread.percentile(idleLat, 0.50));
          paced99.add(Spread.percentile(probeTurn, 0.99), Spread.percentile(idleLat, 0.99));
        }
        if (!turn.isEmpty() && !idleLat.isEmpty()) {
          t50.add(Spread.percentile(turn, 0.50), Spread.percentile(idleLat, 0.50));
          t99.add(Spread.percentile(turn, 0.99), Spread.percentile(idleLat, 0.99));
        }
        if (deepCp != null && idleCp != null) {
          cpDuration.add(deepCp[0], idleCp[0]);
          cpSize.add(deepCp[1], idleCp[1]);
        } else {
          out.note(n + " queued, repetition " + rep + ": no checkpoint metrics were reported");
        }
        heap.add(deepHeap, idleHeap);
        if (drained > 0) {
          schedulerCpu.add(
              ThreadCpu.sum(cpuByThread, t -> t.startsWith("dispatch-scheduler")) / 1e6 / drained,
              1.0);
          flinkCpu.add(
              ThreadCpu.sum(
                      cpuByThread, t -> t.contains("(#/#)") || t.startsWith("Source Data Fetcher"))
                  / 1e6
                  / drained,
              1.0);
          StringBuilder top = new StringBuilder();
          cpuByThread.entrySet().stream()
              .limit(8)
              .forEach(
                  e ->
                      top.append(top.length() == 0 ? "" : "; ")
                          .append(e.getKey())
                          .append(String.format(" %.3f", e.getValue() / 1e6 / drained)));
          out.note(
              n
                  + " queued, repetition "
                  + rep
                  + ": CPU ms per dispatch by thread while draining (top 8): "
                  + top);
        }
      }
    }
    out.figureAtSize(rate, "dispatches/s draining", n)
        .figureAtSize(paced50, "paced overhead p50", n)
        .figureAtSize(paced99, "paced overhead p99", n)
        .figureAtSize(t50, "saturated overhead p50", n)
        .figureAtSize(t99, "saturated overhead p99", n)
        .figureAtSize(cpDuration, "checkpoint duration", n)
        .figureAtSize(cpSize, "checkpoint size", n)
        .figureAtSize(heap, "heap used after GC", n)
        .figureAtSize(schedulerCpu, "scheduler CPU per dispatch", n)
        .figureAtSize(flinkCpu, "orchestrator CPU per dispatch", n);
  }

  private static void warmUp(OrchestratorRig rig, EmulatedWorkers workers) throws Exception {
    long until = System.currentTimeMillis() + 120_000;
    for (int i = 0; workers.completed() == 0; i++) {
      if (System.currentTimeMillis() > until) {
        throw new IllegalStateException("no render completed within 120 s of warm-up");
      }
      workers.check();
      rig.submit("warm-" + i, "demo", 5);
      rig.flush();
      Thread.sleep(500);
    }
  }

  interface Count {
    long get();
  }

  private static void awaitCount(Count c, long n, long millis, EmulatedWorkers workers)
      throws InterruptedException {
    long until = System.currentTimeMillis() + millis;
    while (c.get() < n) {
      workers.check();
      if (System.currentTimeMillis() > until) {
        throw new IllegalStateException("waited " + millis + " ms for " + n + ", got " + c.get());
      }
      Thread.sleep(20);
    }
  }

  /**
   * Waits for {@code fresh} more completed checkpoints, then reads the last one's duration (ms) and
   * size (bytes); null when the metrics never appear.
   */
  private static double[] checkpoint(OrchestratorRig rig, int fresh) throws InterruptedException {
    OptionalDouble start = rig.jobMetric("numberOfCompletedCheckpoints");
    double base = start.orElse(0);
    long until = System.currentTimeMillis() + 120_000;
    while (System.currentTimeMillis() < until) {
      OptionalDouble now = rig.jobMetric("numberOfCompletedCheckpoints");
      if (now.isPresent() && now.getAsDouble() >= base + fresh) {
        OptionalDouble d = rig.jobMetric("lastCheckpointDuration");
        OptionalDouble s = rig.jobMetric("lastCheckpointFullSize");
        if (s.isEmpty()) {
          s = rig.jobMetric("lastCheckpointSize");
        }
        if (d.isPresent() && s.isPresent()) {
          return new double[] {d.getAsDouble(), s.getAsDouble()};
        }
        return null;
      }
      Thread.sleep(100);
    }
    return null;
  }

  private static long heapAfterGc() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** Counts the renders under a prefix the orchestrator has published a status for. */
  private static final class StatusCounter implements AutoCloseable {
    private final KafkaConsumer<String, RenderStatus> consumer;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final Thread loop;
    private volatile String prefix = "\u0000";
    private volatile boolean stop;

    StatusCounter(String bootstrap, String registryUrl) {
      consumer =
          new KafkaConsumer<>(
              Map.of(
                  "bootstrap.servers", bootstrap,
                  "isolation.level", "read_committed",
                  "auto.offset.reset", "earliest",
                  "enable.auto.commit", "false",
                  "group.id", "bench-status-counter"),
              new StringDeserializer(),
              AvroRecordDeserializer.builder(RenderStatus.class)
                  .client(SchemaRegistryClient.create(registryUrl))
                  .build());
      consumer.subscribe(List.of(Topics.STATUS));
      loop =
          new Thread(
              () -> {
                while (!stop) {
                  for (ConsumerRecord<String, RenderStatus> r :
                      consumer.poll(Duration.ofMillis(100))) {
                    String id = r.value() == null ? r.key() : r.value().getRequestId();
                    if (id != null && id.startsWith(prefix)) {
                      seen.add(id);
                    }
                  }
                }
              },
              "bench-status-counter");
      loop.setDaemon(true);
      loop.start();
    }

    void watch(String p) {
      seen.clear();
      prefix = p;
    }

    long count() {
      return seen.size();
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      loop.join(5_000);
      consumer.close();
    }
  }
}
