package dev.reelflow.worker;

import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.stack.LocalStack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;

/**
 * Busy fraction of a pool of emulated workers fed by a test-as-orchestrator (the pool benchmark):
 * the dispatcher writes the next task to a partition of a worker as soon as that worker announces a
 * free slot (READY after its COMPLETED). Workers hold no prefetched task (one slot, partitions
 * paused while busy). Prints the gap from COMPLETED to the next STARTED on the same worker (median,
 * p99, max), busy fraction and throughput against the ideal.
 *
 * <p>Not a test. Run: {@code mvn -o -q -pl gpu-operator test-compile exec:java
 * -Dexec.classpathScope=test -Dexec.mainClass=dev.reelflow.worker.PoolBusyBenchmark -Dexec.args="16
 * 2000 2000"} (workers, tasks, task millis).
 */
public final class PoolBusyBenchmark {

  private PoolBusyBenchmark() {}

  public static void main(String[] args) throws Exception {
    int workers = args.length > 0 ? Integer.parseInt(args[0]) : 16;
    int tasks = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    long taskMillis = args.length > 2 ? Long.parseLong(args[2]) : 2000;
    int steps = 4;
    Path work = Files.createTempDirectory("pool-benchmark");
    LinkedBlockingQueue<SpecificRecord> events = new LinkedBlockingQueue<>();
    try (LocalStack stack =
            LocalStack.builder()
                .workDir(work.resolve("stack"))
                .kafka()
                .registry()
                .s3()
                .build()
                .start();
        OrchestratorDouble orch =
            new OrchestratorDouble(stack, Math.max(16, workers), events::add)) {
      Map<String, String> cfg = orch.workerConfig("bench", "emulated");
      cfg.put(WorkerConfig.SLOTS.name(), Integer.toString(workers));
      cfg.put(WorkerConfig.HEARTBEAT_INTERVAL.name(), "5s");
      cfg.put(WorkerConfig.WORKER_ID.name(), "bench");
      cfg.put(WorkerConfig.METRICS_PORT.name(), "-1");
      cfg.put(WorkerConfig.DEDUPE_CHECK_STORE.name(), "true");
      cfg.put(WorkerConfig.WORK_DIR.name(), work.resolve("tasks").toString());
      cfg.put("engine.emulated.step", taskMillis / steps + "ms");
      try (WorkerProcess pool = WorkerProcess.start(WorkerConfig.of(cfg))) {
        if (!pool.awaitReady(Duration.ofMinutes(2))) {
          throw new IllegalStateException("workers did not join the group");
        }
        run(orch, events, workers, tasks, steps, taskMillis);
      }
    }
  }

  private static void run(
      OrchestratorDouble orch,
      LinkedBlockingQueue<SpecificRecord> events,
      int workers,
      int tasks,
      int steps,
      long taskMillis)
      throws Exception {
    Map<String, List<Integer>> partitions = new HashMap<>();
    Deque<String> idle = new ArrayDeque<>();
    Map<String, Instant> lastCompleted = new HashMap<>();
    Map<String, Instant> startedAt = new HashMap<>();
    List<Long> gaps = new ArrayList<>();
    long busyMillis = 0;
    int dispatched = 0;
    int completed = 0;
    int failed = 0;
    Instant first = null;
    Instant last = null;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(30);
    // Wait until every worker owns partitions (the group settled) before starting the clock.
    while (partitions.size() < workers || partitions.values().stream().anyMatch(List::isEmpty)) {
      SpecificRecord e = events.poll(60, TimeUnit.SECONDS);
      if (e instanceof WorkerEvent w && w.getType() == WorkerEventType.READY) {
        partitions.put(w.getWorkerId(), w.getOwnedPartitions());
      }
    }
    idle.addAll(partitions.keySet());
    long wallStart = System.nanoTime();
    while (completed + failed < tasks && System.nanoTime() < deadline) {
      while (!idle.isEmpty() && dispatched < tasks) {
        String w = idle.poll();
        RenderTask t = OrchestratorDouble.task("bench-" + dispatched, 1, 17, steps, false, 60_000);
        orch.dispatchAsync(t, partitions.get(w).get(0));
        dispatched++;
      }
      SpecificRecord e = events.poll(10, TimeUnit.SECONDS);
      if (e instanceof WorkerEvent w) {
        if (!w.getOwnedPartitions().isEmpty()) {
          partitions.put(w.getWorkerId(), w.getOwnedPartitions());
        }
        if (w.getType() == WorkerEventType.READY
            && w.getFreeSlots() > 0
            && lastCompleted.containsKey(w.getWorkerId())
            && !idle.contains(w.getWorkerId())) {
          idle.add(w.getWorkerId());
        }
      } else if (e instanceof StageEvent s) {
        if (s.getType() == StageEventType.STARTED) {
          startedAt.put(s.getWorkerId(), s.getAt());
          Instant prev = lastCompleted.get(s.getWorkerId());
          if (prev != null) {
            gaps.add(Duration.between(prev, s.getAt()).toMillis());
          }
          first = first == null || s.getAt().isBefore(first) ? s.getAt() : first;
        } else if (s.getType() == StageEventType.COMPLETED
            || s.getType() == StageEventType.FAILED) {
          if (s.getType() == StageEventType.COMPLETED) {
            completed++;
          } else {
            failed++;
          }
          lastCompleted.put(s.getWorkerId(), s.getAt());
          Instant st = startedAt.get(s.getWorkerId());
          if (st != null) {
            busyMillis += Duration.between(st, s.getAt()).toMillis();
          }
          last = s.getAt();
        }
      }
    }
    long wallMillis = (System.nanoTime() - wallStart) / 1_000_000;
    Collections.sort(gaps);
    long span = Duration.between(first, last).toMillis();
    double ideal = tasks * (double) taskMillis / workers / 1000.0;
    System.out.printf(
        "pool benchmark: %d emulated workers, %d tasks of %d ms (%d steps), no prefetch (1 slot, partitions paused while busy)%n",
        workers, tasks, taskMillis, steps);
    System.out.printf(
        "completed %d, failed %d in %.1f s (first STARTED to last COMPLETED %.1f s; ideal %.1f s)%n",
        completed, failed, wallMillis / 1000.0, span / 1000.0, ideal);
    System.out.printf(
        "gap COMPLETED -> next STARTED per worker: n=%d median %d ms, p99 %d ms, max %d ms%n",
        gaps.size(), pct(gaps, 50), pct(gaps, 99), gaps.isEmpty() ? 0 : gaps.get(gaps.size() - 1));
    System.out.printf(
        "busy fraction (STARTED..final event over workers x span): %.3f; emulated work only: %.3f%n",
        busyMillis / (double) (workers * span),
        tasks * (double) taskMillis / (workers * (double) span));
  }

  private static long pct(List<Long> sorted, int p) {
    if (sorted.isEmpty()) {
      return 0;
    }
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
  }
}
